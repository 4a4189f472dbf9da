# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Training hooks: how a training run reports progress without knowing who listens.

`TrainingHooks` is a no-op base class; override what you need. The trainer calls, in order:
`on_start(info)`, then per stage `on_stage(stage, info)`, `on_step(step, losses)` every
`cfg.log_every` steps, `on_sample(step, ir, vis, fused)` every `cfg.sample_every` steps (numpy
float32 HxW in [0, 1], the first patch of the batch), `on_epoch_end(epoch, val_metrics)`, and
finally `on_end(summary)`. `should_stop()` is polled every step: return True to stop cleanly
(checkpoint + export still happen), e.g. on Ctrl-C in the ROS train node.

Implementations: `ProgressHooks` (console, tqdm), `HistoryHooks` (keeps everything in memory;
tests and model cards use it), `CompositeHooks` (fan out to several), and the ROS train node's
publisher hooks in `fusion_ros/nodes/train_node.py`.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Iterable

import numpy as np


class TrainingHooks:
    """Base class: every method is a no-op.

    Hooks run in the training thread; keep them cheap.
    """

    def on_start(self, info: dict[str, Any]) -> None:
        """Once, before anything trains (`info`: model, recipe, config name, pair counts)."""

    def on_stage(self, stage: str, info: dict[str, Any]) -> None:
        """When a stage starts (e.g. "teacher", "student"; single-stage recipes use "train").

        `info` has total_steps, steps_per_epoch, epochs, start_step.
        """

    def on_step(self, step: int, losses: dict[str, float]) -> None:
        """Every `cfg.log_every` optimiser steps: loss terms by name (plus "total" and "lr")."""

    def on_sample(self, step: int, ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> None:
        """Every `cfg.sample_every` steps: one training patch and the current output.

        HxW float32.
        """

    def on_epoch_end(self, epoch: int, val_metrics: dict[str, float]) -> None:
        """After each epoch (1-based `epoch`), with validation metrics (may be empty)."""

    def on_end(self, summary: dict[str, Any]) -> None:
        """Once, after training (and before export)."""

    def should_stop(self) -> bool:
        """Report whether to stop (polled every step); True stops training cleanly."""
        return False


class CompositeHooks(TrainingHooks):
    """Calls several hooks in order; stops when any of them asks to."""

    def __init__(self, hooks: Iterable[TrainingHooks | None]) -> None:
        self.hooks = [h for h in hooks if h is not None]

    def on_start(self, info):
        for h in self.hooks:
            h.on_start(info)

    def on_stage(self, stage, info):
        for h in self.hooks:
            h.on_stage(stage, info)

    def on_step(self, step, losses):
        for h in self.hooks:
            h.on_step(step, losses)

    def on_sample(self, step, ir, vis, fused):
        for h in self.hooks:
            h.on_sample(step, ir, vis, fused)

    def on_epoch_end(self, epoch, val_metrics):
        for h in self.hooks:
            h.on_epoch_end(epoch, val_metrics)

    def on_end(self, summary):
        for h in self.hooks:
            h.on_end(summary)

    def should_stop(self) -> bool:
        return any(h.should_stop() for h in self.hooks)


class HistoryHooks(TrainingHooks):
    """Keeps every reported value.

    `losses` [(stage, step, dict)], `epochs` [(stage, epoch, dict)], `samples` count. `stop_event`
    (a threading.Event) can stop a run from another thread.
    """

    def __init__(self) -> None:
        self.stage = ''
        self.losses: list[tuple[str, int, dict[str, float]]] = []
        self.epochs: list[tuple[str, int, dict[str, float]]] = []
        self.samples = 0
        self.summary: dict[str, Any] = {}
        self.stop_event = threading.Event()

    def on_stage(self, stage, info):
        self.stage = stage

    def on_step(self, step, losses):
        self.losses.append((self.stage, step, dict(losses)))

    def on_sample(self, step, ir, vis, fused):
        self.samples += 1

    def on_epoch_end(self, epoch, val_metrics):
        self.epochs.append((self.stage, epoch, dict(val_metrics)))

    def on_end(self, summary):
        self.summary = dict(summary)

    def should_stop(self) -> bool:
        return self.stop_event.is_set()

    def series(self, key: str = 'total', stage: str | None = None) -> list[float]:
        return [d[key] for s, _, d in self.losses if key in d and (stage is None or s == stage)]


class ProgressHooks(TrainingHooks):
    """Console progress: a tqdm bar per stage with the latest losses, one line per epoch."""

    def __init__(self, stream=None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._bar = None
        self._last = 0
        self.stage = ''

    def _write(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def on_start(self, info):
        desc = ', '.join(f'{k}={v}' for k, v in info.items() if not isinstance(v, (dict, list)))
        self._write(f'training: {desc}')

    def on_stage(self, stage, info):
        self._close()
        self.stage = stage
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=info.get('total_steps'),
                initial=info.get('start_step', 0),
                desc=stage,
                file=self.stream,
                dynamic_ncols=True,
                leave=True,
            )
            self._last = info.get('start_step', 0)

    def on_step(self, step, losses):
        if self._bar is not None:
            self._bar.update(max(0, step - self._last))
            self._last = step
            shown = {
                k: f'{v:.4g}'
                for k, v in losses.items()
                if k in ('total', 'lr') or len(losses) <= 6
            }
            self._bar.set_postfix(shown, refresh=False)

    def on_epoch_end(self, epoch, val_metrics):
        vals = ' '.join(f'{k}={v:.4g}' for k, v in val_metrics.items())
        self._write(f'[{self.stage}] epoch {epoch} done{": " + vals if vals else ""}')

    def on_end(self, summary):
        self._close()
        minutes = summary.get('duration_s', 0.0) / 60.0
        self._write(
            f'training finished in {minutes:.1f} min'
            + (' (stopped early)' if summary.get('stopped_early') else '')
        )

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
