# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Shared training loop pieces used by every recipe.

The main entry point is `fit(...)`: one *stage* of training (a recipe may run several, e.g. the
MMDRFuse teacher then student) over a `PatchDataset`, with

- deterministic seeding: batch order of epoch e is drawn from (cfg.seed, e), patch positions from
  the dataset's seed, so a resumed run sees exactly the batches it would have seen;
- checkpoints in `checkpoint_dir/<stage>.pt` (model, optimizer, LR schedule, step, epoch, torch
  RNG, and the `state` objects a recipe passes, e.g. MMDRFuse's refresh memory). `fit` RESUMES
  whenever that file exists; a stage saved as finished is skipped (weights loaded, no training).
  `fusion_ros.training.runner.run_training` clears the folder unless `--resume` is given.
- a time budget (`TimeBudget`, from cfg.max_minutes): when it runs out, `fit` checkpoints and
  returns `stopped_early=True`; the caller still exports what it has;
- validation at every epoch end on held-out pairs (`evaluate`), via the metrics package's
  `compute_metrics` (guarded: a small built-in fallback when it is not importable).

A recipe's loss function has the signature
    loss_fn(batch: Tensor[N, 2, h, w], indices: LongTensor[N], step: int)
        -> (loss: Tensor, terms: dict[str, float], fused: Tensor[N, 1, h, w])
where `indices` are the dataset's stable sample ids (for per-sample recipe state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import os
from pathlib import Path
import random
import time
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data import full_image_tensor, Pair, PatchDataset
from .hooks import TrainingHooks

LossFn = Callable[
    [torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, dict[str, float], torch.Tensor]
]


class Stateful(Protocol):
    """Anything checkpointed through state_dict / load_state_dict."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


# --- seeding ---------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch.

    (torch.use_deterministic_algorithms is not called: it imports torch's compiler stack, ~3 s, and
    the CPU kernels used here are deterministic already.)
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def configure_threads(cfg: TrainConfig) -> None:
    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))


def rng_state() -> dict[str, Any]:
    """RNG states in types `torch.load(weights_only=True)` accepts (no numpy arrays)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        'python': random.getstate(),
        'numpy': [
            kind,
            torch.from_numpy(keys.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ],
        'torch': torch.get_rng_state(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, cached)
    )
    torch.set_rng_state(state['torch'])


# --- time budget -----------------------------------------------------------------------------


class TimeBudget:
    """Wall-clock budget in minutes (None = unlimited).

    `share(f)` gives a sub-budget of fraction f of what is left now (multi-stage recipes give each
    stage its part).
    """

    def __init__(self, max_minutes: float | None, start: float | None = None) -> None:
        self.max_s = None if max_minutes is None else float(max_minutes) * 60.0
        self.start = time.monotonic() if start is None else start

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.start

    @property
    def remaining_s(self) -> float:
        return math.inf if self.max_s is None else self.max_s - self.elapsed_s

    def expired(self) -> bool:
        return self.remaining_s <= 0

    def share(self, fraction: float) -> 'TimeBudget':
        if self.max_s is None:
            return TimeBudget(None)
        return TimeBudget(max(0.0, self.remaining_s) * fraction / 60.0)


# --- optimiser and schedule ------------------------------------------------------------------


def make_optimizer(params, cfg: TrainConfig, lr: float | None = None) -> torch.optim.Optimizer:
    """Adam (every paper here uses Adam) with cfg.lr and cfg.weight_decay."""
    return torch.optim.Adam(params, lr=cfg.lr if lr is None else lr, weight_decay=cfg.weight_decay)


def make_schedule(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    """LambdaLR: linear warmup over cfg.warmup_steps.

    Then constant / cosine to 1% / step decay by cfg.lr_gamma at each fraction in
    cfg.lr_milestones.
    """
    total = max(1, total_steps)
    warm = max(0, cfg.warmup_steps)

    def factor(step: int) -> float:
        f = 1.0
        if warm and step < warm:
            f = (step + 1) / warm
        progress = min(1.0, step / total)
        if cfg.lr_schedule == 'cosine':
            f *= 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))
        elif cfg.lr_schedule == 'step':
            f *= cfg.lr_gamma ** sum(progress >= m for m in cfg.lr_milestones)
        return f

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, shuffle: bool = True
) -> list[np.ndarray]:
    """Index batches of one epoch, deterministic in (seed, epoch); the last batch may be short."""
    order = (
        np.random.default_rng([int(seed), 7919, int(epoch)]).permutation(n)
        if shuffle
        else np.arange(n)
    )
    return [order[i: i + batch_size] for i in range(0, n, batch_size)]


def patch_batch(dataset, indices) -> torch.Tensor:
    """Return the (B, 2, crop, crop) training batch of these patch indices."""
    return torch.stack([torch.from_numpy(dataset.patch(int(i))) for i in indices])


# --- checkpoints -----------------------------------------------------------------------------


class Checkpointer:
    """`<dir>/<stage>.pt` files.

    Writes atomically (tmp + rename) so Ctrl-C never corrupts one.
    """

    def __init__(self, directory: str | os.PathLike | None) -> None:
        self.dir = Path(directory) if directory else None
        if self.dir:
            self.dir.mkdir(parents=True, exist_ok=True)

    def path(self, stage: str) -> Path | None:
        return self.dir / f'{stage}.pt' if self.dir else None

    def save(self, stage: str, payload: dict[str, Any]) -> Path | None:
        path = self.path(stage)
        if path is None:
            return None
        tmp = path.with_suffix('.pt.tmp')
        torch.save(payload, tmp)
        os.replace(tmp, path)
        return path

    def load(self, stage: str) -> dict[str, Any] | None:
        path = self.path(stage)
        if path is None or not path.exists():
            return None
        return torch.load(path, map_location='cpu', weights_only=True)

    def clear(self) -> None:
        if self.dir:
            for p in self.dir.glob('*.pt'):
                p.unlink()


def load_model_weights(
    model: nn.Module, checkpoint: str | os.PathLike, stage: str | None = None
) -> dict[str, Any]:
    """Load a model's weights from a stage checkpoint file.

    Or a folder + stage, or a bare state_dict file. Returns the checkpoint payload (empty dict for
    a bare state_dict).
    """
    path = Path(checkpoint)
    if path.is_dir():
        if stage is None:
            raise ValueError('give the stage name when loading from a checkpoint folder')
        path = path / f'{stage}.pt'
    payload = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(payload, dict) and 'model' in payload:
        model.load_state_dict(payload['model'])
        return payload
    model.load_state_dict(payload)
    return {}


# --- validation ------------------------------------------------------------------------------


def _fallback_metrics(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> dict[str, float]:
    """EN, SD, SF, AG on uint8 images: used only when fusion_ros.metrics is not importable."""
    f = fused.astype(np.float64)
    hist = np.bincount(fused.ravel(), minlength=256) / fused.size
    nz = hist[hist > 0]
    rf = np.diff(f, axis=1)
    cf = np.diff(f, axis=0)
    gx, gy = rf[:-1, :], cf[:, :-1]
    return {
        'EN': float(-(nz * np.log2(nz)).sum()),
        'SD': float(f.std()),
        'SF': float(np.sqrt((rf**2).mean() + (cf**2).mean())),
        'AG': float(np.sqrt((gx**2 + gy**2) / 2.0).mean()),
    }


def metric_function() -> Callable[..., dict[str, float]] | None:
    """`fusion_ros.metrics.compute_metrics` when importable, else None."""
    try:
        from fusion_ros.metrics import compute_metrics

        return compute_metrics
    except Exception:
        return None


def score_images(
    ir: np.ndarray, vis: np.ndarray, fused: np.ndarray, names: Sequence[str] | None
) -> dict[str, float]:
    """Score one fused image (uint8 HxW) with the project metrics.

    Names filtered to those known.
    """
    compute = metric_function()
    if compute is None:
        return _fallback_metrics(ir, vis, fused)
    try:
        return {
            k: float(v)
            for k, v in compute(ir, vis, fused, names=list(names) if names else None).items()
        }
    except (KeyError, ValueError):
        # some names unknown to this version of the metrics package: score what it knows
        out: dict[str, float] = {}
        for name in names or []:
            try:
                out.update({k: float(v) for k, v in compute(ir, vis, fused, names=[name]).items()})
            except (KeyError, ValueError):
                pass
        return out or _fallback_metrics(ir, vis, fused)


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def fused_to_uint8(fused: np.ndarray, stretch: str = 'none') -> np.ndarray:
    """Return the 8-bit image the runtime makes of a fused [0, 1] plane (its output_stretch)."""
    import cv2
    from fusion_ros.runtime.pipeline import output_gain

    plane = np.maximum(np.asarray(fused, np.float32), 0.0)
    alpha, beta = output_gain(plane, stretch)
    return cv2.convertScaleAbs(plane, alpha=alpha, beta=beta)


@torch.no_grad()
def fuse_pair(model: nn.Module, pair: Pair, size_multiple: int = 1) -> np.ndarray:
    """Fused float32 HxW in [0, 1] for a whole pair (cropped to the size multiple)."""
    was_training = model.training
    model.eval()
    out = model(full_image_tensor(pair, size_multiple)).clamp(0, 1)[0, 0].numpy()
    model.train(was_training)
    return out


def evaluate(
    model: nn.Module, val_pairs: Sequence[Pair], cfg: TrainConfig, size_multiple: int = 1
) -> dict[str, float]:
    """Mean of each metric over the validation pairs, scored at `cfg.val_max_side`."""
    if not val_pairs:
        return {}
    from fusion_ros.images.folders import resize_max_side

    totals: dict[str, list[float]] = {}
    for pair in val_pairs:
        small = Pair(
            pair.name,
            resize_max_side(pair.ir, cfg.val_max_side),
            resize_max_side(pair.vis, cfg.val_max_side),
        )
        fused = fuse_pair(model, small, size_multiple)
        h, w = fused.shape
        scores = score_images(
            to_uint8(small.ir[:h, :w]),
            to_uint8(small.vis[:h, :w]),
            fused_to_uint8(fused, cfg.output_stretch),
            cfg.val_metrics,
        )
        for k, v in scores.items():
            if np.isfinite(v):
                totals.setdefault(k, []).append(v)
    return {k: float(np.mean(v)) for k, v in totals.items()}


# --- the loop --------------------------------------------------------------------------------


@dataclass
class FitResult:
    stage: str
    step: int  # optimiser steps done in this stage (including before a resume)
    total_steps: int
    epochs_done: int
    stopped_early: bool
    duration_s: float  # wall time of this call (not counting earlier, resumed runs)
    resumed_from: int = 0
    last_losses: dict[str, float] = field(default_factory=dict)
    val_metrics: dict[str, float] = field(default_factory=dict)
    loss_curve: list[tuple[int, float]] = field(
        default_factory=list
    )  # (step, total) every log_every

    def summary(self) -> dict[str, Any]:
        return {
            'stage': self.stage,
            'steps': self.step,
            'total_steps': self.total_steps,
            'epochs_done': self.epochs_done,
            'stopped_early': self.stopped_early,
            'duration_s': round(self.duration_s, 2),
            'resumed_from_step': self.resumed_from,
            'final_losses': {k: round(v, 6) for k, v in self.last_losses.items()},
            'val_metrics': self.val_metrics,
        }


def fit(
    model: nn.Module,
    dataset: PatchDataset,
    loss_fn: LossFn,
    cfg: TrainConfig,
    hooks: TrainingHooks | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    *,
    stage: str = 'train',
    optimizer: torch.optim.Optimizer | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    max_steps: int | None = None,
    lr: float | None = None,
    val_pairs: Sequence[Pair] = (),
    val_model: nn.Module | None = None,
    size_multiple: int = 1,
    budget: TimeBudget | None = None,
    state: dict[str, Stateful] | None = None,
    resample_each_epoch: bool = False,
    trainable: nn.Module | None = None,
) -> FitResult:
    """Train one stage.

    `model` is what gets checkpointed; `trainable` (default `model`) is what the optimizer updates
    and what is put in train mode; `val_model` (default `model`) is scored on `val_pairs` after
    each epoch. `epochs`/`batch_size`/`max_steps`/`lr` default to cfg's (cfg.steps caps steps).
    `state` maps names to objects with state_dict()/load_state_dict() that are checkpointed with
    the model (per-sample recipe memory).
    """
    trainable = trainable or model
    run = _StageRun(
        model=model,
        trainable=trainable,
        val_model=val_model or model,
        dataset=dataset,
        loss_fn=loss_fn,
        cfg=cfg,
        hooks=hooks or TrainingHooks(),
        stage=stage,
        state=state or {},
        ckpt=Checkpointer(checkpoint_dir),
        budget=budget or TimeBudget(cfg.max_minutes),
        batch_size=cfg.batch_size if batch_size is None else batch_size,
        size_multiple=size_multiple,
        val_pairs=val_pairs,
        resample_each_epoch=resample_each_epoch,
    )
    run.plan(
        cfg.epochs if epochs is None else epochs,
        cfg.steps if max_steps is None else max_steps,
        optimizer
        or make_optimizer([p for p in trainable.parameters() if p.requires_grad], cfg, lr),
    )
    finished = run.resume()
    if finished is not None:
        return finished
    return run.train()


@dataclass
class _StageRun:
    """The moving parts of one `fit` call, split along its steps: plan, resume, train, finish."""

    model: nn.Module
    trainable: nn.Module
    val_model: nn.Module
    dataset: PatchDataset
    loss_fn: LossFn
    cfg: TrainConfig
    hooks: TrainingHooks
    stage: str
    state: dict[str, Stateful]
    ckpt: Checkpointer
    budget: TimeBudget
    batch_size: int
    size_multiple: int
    val_pairs: Sequence[Pair]
    resample_each_epoch: bool
    step: int = 0
    start_step: int = 0
    epoch: int = 0
    val_metrics: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    curve: list[tuple[int, float]] = field(default_factory=list)

    def plan(self, epochs: int, max_steps: int | None, optimizer: torch.optim.Optimizer) -> None:
        self.epochs, self.optimizer = epochs, optimizer
        self.n = len(self.dataset)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        self.total_steps = epochs * self.steps_per_epoch
        if max_steps:
            self.total_steps = min(self.total_steps, int(max_steps))
        self.schedule = make_schedule(optimizer, self.cfg, self.total_steps)

    def resume(self) -> FitResult | None:
        """Load the stage checkpoint if there is one; a finished stage's result, else None."""
        saved = self.ckpt.load(self.stage)
        if saved is None:
            return None
        self.model.load_state_dict(saved['model'])
        self.optimizer.load_state_dict(saved['optimizer'])
        self.schedule.load_state_dict(saved['schedule'])
        set_rng_state(saved['rng'])
        for key, obj in self.state.items():
            if key in saved.get('state', {}):
                obj.load_state_dict(saved['state'][key])
        self.step = self.start_step = int(saved['step'])
        self.val_metrics = dict(saved.get('val_metrics', {}))
        if not saved.get('done'):
            return None
        return FitResult(
            self.stage,
            self.step,
            saved.get('total_steps', self.step),
            saved.get('epochs_done', 0),
            False,
            0.0,
            resumed_from=self.step,
            last_losses=saved.get('last_losses', {}),
            val_metrics=self.val_metrics,
        )

    def save(self, done: bool) -> None:
        self.ckpt.save(
            self.stage,
            {
                'stage': self.stage,
                'model': self.model.state_dict(),
                'optimizer': self.optimizer.state_dict(),
                'schedule': self.schedule.state_dict(),
                'rng': rng_state(),
                'step': self.step,
                'total_steps': self.total_steps,
                'epochs_done': self.epoch,
                'done': done,
                'last_losses': self.last,
                'val_metrics': self.val_metrics,
                'state': {k: obj.state_dict() for k, obj in self.state.items()},
                'config': self.cfg.to_dict(),
            },
        )

    def one_step(self, idx: np.ndarray) -> None:
        """Forward, backward, optimiser and schedule step on one batch; hooks and checkpoints."""
        cfg = self.cfg
        batch = patch_batch(self.dataset, idx)
        loss, terms, fused = self.loss_fn(batch, torch.as_tensor(idx, dtype=torch.long), self.step)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.trainable.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.schedule.step()
        self.step += 1
        self.last = {
            'total': float(loss.detach()),
            **{k: float(v) for k, v in terms.items()},
            'lr': float(self.optimizer.param_groups[0]['lr']),
        }
        if self.step % max(1, cfg.log_every) == 0 or self.step == self.total_steps:
            self.hooks.on_step(self.step, self.last)
            self.curve.append((self.step, self.last['total']))
        if cfg.sample_every and (self.step % cfg.sample_every == 0 or self.step == 1):
            f = fused.detach()
            self.hooks.on_sample(
                self.step, batch[0, 0].numpy(), batch[0, 1].numpy(), f[0, 0].clamp(0, 1).numpy()
            )
        if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
            self.save(False)

    def run_epoch(self) -> bool:
        """Return the rest of the current epoch.

        False when stopped (hooks or time budget) or the step cap fell mid-epoch, True when the
        epoch was completed (then validated and saved).
        """
        if self.resample_each_epoch:
            self.dataset.resample(self.epoch)
        batches = epoch_batches(self.n, self.batch_size, self.cfg.seed, self.epoch)
        for b in range(self.step - self.epoch * self.steps_per_epoch, self.steps_per_epoch):
            if self.step >= self.total_steps:
                return False
            if self.hooks.should_stop() or self.budget.expired():
                self.stopped = True
                return False
            self.one_step(batches[b])
        self.epoch += 1
        if self.cfg.validate_every_epoch and self.val_pairs:
            self.val_metrics = evaluate(
                self.val_model, self.val_pairs, self.cfg, self.size_multiple
            )
        self.hooks.on_epoch_end(self.epoch, self.val_metrics)
        if self.step < self.total_steps:
            self.save(False)
        return True

    def train(self) -> FitResult:
        self.hooks.on_stage(
            self.stage,
            {
                'total_steps': self.total_steps,
                'steps_per_epoch': self.steps_per_epoch,
                'epochs': self.epochs,
                'start_step': self.start_step,
                'samples': self.n,
                'batch_size': self.batch_size,
            },
        )
        t0 = time.monotonic()
        self.trainable.train()
        self.stopped = False
        self.epoch = self.step // self.steps_per_epoch
        while self.step < self.total_steps:
            if not self.run_epoch():
                if not self.stopped:  # total_steps reached mid-epoch
                    self.epoch += 1 if self.step % self.steps_per_epoch == 0 else 0
                break
        if (
            self.val_pairs
            and self.step > self.start_step
            and (self.stopped or not self.val_metrics or self.step % self.steps_per_epoch != 0)
        ):
            self.val_metrics = evaluate(
                self.val_model, self.val_pairs, self.cfg, self.size_multiple
            )  # final weights
        self.save(not self.stopped)
        return FitResult(
            self.stage,
            self.step,
            self.total_steps,
            self.epoch,
            self.stopped,
            time.monotonic() - t0,
            resumed_from=self.start_step,
            last_losses=self.last,
            val_metrics=self.val_metrics,
            loss_curve=self.curve,
        )
