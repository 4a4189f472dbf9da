# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""One training run end to end: data -> recipe -> weights file -> ONNX + model card.

Used by `fusion-ros train` and the ROS train node. Layout of `out_dir` (the run folder):

    out_dir/checkpoints/<stage>.pt   resumable checkpoints (cleared unless resume=True)
    out_dir/<model>.pt               final weights (state_dict) of the exported network
    out_dir/summary.json             the recipe's summary + timings + validation metrics
    export_dir/<model>.onnx/.json    when export_dir is given (else out_dir/export/)
"""

from __future__ import annotations

from datetime import datetime, timezone
import json
import os
from pathlib import Path
import time
from typing import Any, Sequence

import torch

from .config import TrainConfig
from .data import load_pairs_from_source, load_sources, Pair, source_name
from .hooks import TrainingHooks
from .recipes import get_recipe
from .trainer import Checkpointer, configure_threads, evaluate, seed_everything
from .validation import expand_val_sets, split_by_stem, TEST_SETS


def describe_sources(sources: list[Any]) -> list[Any]:
    return [s if isinstance(s, (str, dict, list, tuple)) else repr(s) for s in sources]


def split_sources_by_stem(
    specs: Sequence[Any], fraction: float, **defaults: Any
) -> tuple[list[Pair], list[Pair]]:
    """(train, validation) pairs: each source split by stem hash (the validation discipline).

    A dict spec's own `val_fraction` overrides `fraction`. Shared by training and the search, so
    both hold out exactly the pairs `fusion-ros eval --set validation` scores.
    """
    train: list[Pair] = []
    val: list[Pair] = []
    for spec in specs:
        pairs = load_pairs_from_source(spec, **defaults)
        frac = spec.get('val_fraction', fraction) if isinstance(spec, dict) else fraction
        t, v = split_by_stem(pairs, [p.name for p in pairs], float(frac))
        train += t
        val += v
    if not train:
        raise ValueError('no training pairs were loaded')
    return train, val


def load_data(cfg: TrainConfig) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs for a config.

    Explicit `val_sources`, else each training source split by stem hash (its own `val_fraction` or
    cfg's), so every source is validated.
    """
    defaults = {'max_side': cfg.max_side, 'limit': cfg.limit_pairs}
    if cfg.val_sources:
        return load_sources(cfg.train_sources, **defaults), load_sources(
            cfg.val_sources, **defaults
        )
    return split_sources_by_stem(cfg.train_sources, cfg.val_fraction, **defaults)


def load_named_val_sets(specs: Sequence[Any], max_side: int | None) -> dict[str, list[Pair]]:
    """Return validation set specs ("standard" = mixed_day + m3svd) as {name: pairs}.

    A set whose folder is missing is skipped. A dict spec's `every` keeps every n-th pair (video
    frames).
    """
    out: dict[str, list[Pair]] = {}
    for spec in expand_val_sets(specs):
        spec = dict(spec) if isinstance(spec, dict) else spec
        every = int(spec.pop('every', 1)) if isinstance(spec, dict) else 1
        try:
            out[source_name(spec)] = load_pairs_from_source(spec, max_side=max_side)[::every]
        except FileNotFoundError:
            continue
    return out


def load_val_sets(cfg: TrainConfig) -> dict[str, list[Pair]]:
    """cfg.val_sets as {name: pairs} (see `load_named_val_sets`)."""
    return load_named_val_sets(cfg.val_sets, cfg.max_side)


def validation_report(
    model: torch.nn.Module,
    val_pairs: list[Pair],
    val_sets: dict[str, list[Pair]],
    cfg: TrainConfig,
    size_multiple: int = 1,
) -> dict[str, dict[str, float]]:
    """Return the validation metrics of the final model per set.

    Each training source's split, then each whole validation set (scored at cfg.val_max_side).
    """
    groups: dict[str, list[Pair]] = {}
    for p in val_pairs:
        groups.setdefault(f'{p.source or "train"}_val', []).append(p)
    groups.update(val_sets)
    return {
        name: evaluate(model, pairs, cfg, size_multiple) for name, pairs in groups.items() if pairs
    }


def pooled_split_metrics(
    report: dict[str, dict[str, float]], val_pairs: list[Pair]
) -> dict[str, float]:
    """Mean over all split validation pairs, from the per-source means of `validation_report`."""
    counts: dict[str, int] = {}
    for p in val_pairs:
        counts[f'{p.source or "train"}_val'] = counts.get(f'{p.source or "train"}_val', 0) + 1
    total = sum(counts.values())
    keys = set.intersection(*(set(report[g]) for g in counts if g in report)) if counts else set()
    return {k: sum(report[g][k] * n for g, n in counts.items()) / total for k in sorted(keys)}


def run_training(
    cfg: TrainConfig,
    hooks: TrainingHooks | None = None,
    out_dir: str | os.PathLike = 'runs/train',
    export_dir: str | os.PathLike | None = None,
    resume: bool = False,
    train_pairs: list[Pair] | None = None,
    val_pairs: list[Pair] | None = None,
    card_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train `cfg.model` with `cfg.recipe`, save weights, export ONNX + card.

    Returns a dict with the summary and the paths (onnx, card, weights, summary).
    """
    hooks = hooks or TrainingHooks()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_threads(cfg)
    seed_everything(cfg.seed)
    ckpt_dir = out_dir / 'checkpoints'
    if not resume:
        Checkpointer(ckpt_dir).clear()
    if train_pairs is None:
        train_pairs, loaded_val = load_data(cfg)
        val_pairs = loaded_val if val_pairs is None else val_pairs
    val_pairs = val_pairs or []
    train = get_recipe(cfg.recipe)
    hooks.on_start(
        {
            'model': cfg.model,
            'recipe': cfg.recipe,
            'config': cfg.name,
            'train_pairs': len(train_pairs),
            'val_pairs': len(val_pairs),
            'max_minutes': cfg.max_minutes,
        }
    )
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    model, summary = train(cfg, train_pairs, val_pairs, hooks, ckpt_dir)
    duration = time.monotonic() - t0
    summary = dict(summary)
    summary.setdefault('duration_s', round(duration, 1))
    from fusion_ros.models import get_spec

    summary['validation_sets'] = validation_report(
        model, val_pairs, load_val_sets(cfg), cfg, get_spec(cfg.model).size_multiple
    )
    if not summary.get('val_metrics') and val_pairs:
        summary['val_metrics'] = pooled_split_metrics(summary['validation_sets'], val_pairs)
    weights = out_dir / f'{cfg.model}.pt'
    torch.save(model.state_dict(), weights)
    hooks.on_end({**summary, 'duration_s': duration})

    from .export import export_onnx, git_commit, OUTPUT_DESC

    training = {
        'recipe': cfg.recipe,
        'config': cfg.name or 'custom',
        'config_values': cfg.to_dict(),
        'data': {
            'train_sources': describe_sources(cfg.train_sources),
            'train_pairs': [p.name for p in train_pairs],
            'val_pairs': [p.name for p in val_pairs],
            'max_side': cfg.max_side,
            'held_out_never_trained_on': list(TEST_SETS),
            'validation_sets': [source_name(spec) for spec in expand_val_sets(cfg.val_sets)],
        },
        'started_utc': started.isoformat(timespec='seconds'),
        'duration_s': round(duration, 1),
        'git_commit': git_commit(),
        'torch': torch.__version__,
        'summary': {k: v for k, v in summary.items() if k != 'val_metrics'},
    }
    fields = {
        'output': {**OUTPUT_DESC, 'stretch': cfg.output_stretch},
        'training': training,
        'metrics': {
            'validation': summary.get('val_metrics', {}),
            'validation_sets': summary['validation_sets'],
            'validation_pairs': len(val_pairs),
            'scored_at_max_side': cfg.val_max_side,
        },
    }
    fields.update(card_fields or {})
    result = {
        'summary': summary,
        'weights': str(weights),
        'duration_s': duration,
        'card_fields': fields,
    }
    summary_path = out_dir / 'summary.json'
    # written before the export so `fusion-ros export --checkpoint <out>/<model>.pt` can redo it
    summary_path.write_text(
        json.dumps({**result, 'training': training}, indent=2, default=str) + '\n'
    )
    export_to = Path(export_dir) if export_dir else out_dir / 'export'
    onnx_path, card_path = export_onnx(model, cfg.model, export_to, fields)
    result.update(onnx=str(onnx_path), card=str(card_path))
    summary_path.write_text(
        json.dumps({**result, 'training': training}, indent=2, default=str) + '\n'
    )
    return result
