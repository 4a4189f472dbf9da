# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Training configuration: one `TrainConfig` dataclass, loaded from YAML (or JSON) files.

Shipped configs live in `fusion_ros/training/configs/<model>_<variant>.yaml`, variants `default`
(the real recipe, sized for a 2-core CPU) and `tiny` (seconds; for tests). Select one with
`load_config(model, "default" | "tiny" | PATH, **overrides)`. Unknown top-level keys are an error
(typos must not silently train something else); recipe-specific settings go under `extra:`.

Data: `train_sources` is a list of source specs understood by
`fusion_ros.training.data.load_pairs_from_source` (the default is `{"ir": "llvip/train/ir",
"vis": "llvip/train/vi"}`); relative folders are resolved against `$FUSION_ROS_DATASETS`. Each
source gives up `val_fraction` of its pairs to validation (by stem hash, the same pairs for every
config and seed); `val_sets` are whole validation sets (mixed_day, m3svd) scored on the final
model. The test sets (`fusion_ros.training.validation.TEST_SETS`) are never trained or tuned on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent / 'configs'


def _default_sources() -> list[dict[str, Any]]:
    return [{'ir': 'llvip/train/ir', 'vis': 'llvip/train/vi'}]


@dataclass
class TrainConfig:
    """Everything one training run needs.

    Times are wall clock on the training machine.
    """

    model: str  # registry name of the network to train and export (e.g. "mmdrfuse")
    recipe: str = ''  # RECIPES key; empty = same as `model`
    name: str = ''  # config name for the card (e.g. "mmdrfuse_default")
    # schedule
    epochs: int = 1
    steps: int | None = None  # hard cap on optimiser steps per stage (None = epochs decide)
    batch_size: int = 16
    crop: int = 64  # square training patch side (pixels, after `max_side` resizing)
    patches_per_pair: int = 32
    augment: bool = True  # flips / transposes
    photometric: float = (
        0.0  # per-sample per-modality gamma 2**U(-x, x) (0 = off), see PatchDataset
    )
    lr: float = 1e-3
    lr_schedule: str = 'constant'  # "constant" | "cosine" | "step"
    lr_milestones: list[float] = field(default_factory=list)  # "step": fractions of the run
    lr_gamma: float = 0.1
    warmup_steps: int = 0
    weight_decay: float = 0.0
    grad_clip: float | None = None
    seed: int = 0
    # data
    train_sources: list[Any] = field(default_factory=_default_sources)
    val_sources: list[Any] = field(default_factory=list)  # explicit validation pairs (else split)
    val_fraction: float = 0.1  # per source, by stem hash (fusion_ros.training.validation)
    # named whole validation sets never trained on (specs with a `name`), scored on the final model
    val_sets: list[Any] = field(default_factory=list)
    limit_pairs: int | None = None  # per source, first N by stem
    max_side: int | None = 640  # resize pairs so the longer side is at most this (None = keep)
    val_max_side: int | None = 320  # validation images are scored at this size (speed)
    # the exported card's output.stretch: how the runtime makes the fused plane 8-bit (none |
    # minmax); validation scores the image that way too
    output_stretch: str = 'none'
    val_metrics: list[str] = field(
        default_factory=lambda: ['EN', 'SD', 'SF', 'AG', 'SSIM', 'Qabf', 'VIF', 'SCD', 'CC']
    )
    # run control
    max_minutes: float | None = None  # whole run budget; stops cleanly, checkpoints, still exports
    num_threads: int | None = None  # torch intra-op threads (None = leave torch's default)
    log_every: int = 10  # steps between on_step hook calls
    sample_every: int = 50  # steps between on_sample hook calls
    checkpoint_every: int = 100  # steps between checkpoints (and at every epoch end / stop)
    validate_every_epoch: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # recipe-specific settings

    def __post_init__(self) -> None:
        if not self.recipe:
            self.recipe = self.model
        if self.output_stretch not in ('none', 'minmax'):
            raise ValueError(f'output_stretch must be none or minmax, not {self.output_stretch!r}')
        if self.lr_schedule not in ('constant', 'cosine', 'step'):
            raise ValueError(
                f'lr_schedule must be constant, cosine or step, not {self.lr_schedule!r}'
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> 'TrainConfig':
        """Return a copy with some fields changed (`extra` keys are merged, not replaced)."""
        if 'extra' in changes:
            changes['extra'] = {**self.extra, **changes['extra']}
        return dataclasses.replace(self, **changes)


FIELD_NAMES = {f.name for f in dataclasses.fields(TrainConfig)}


def config_from_dict(data: dict[str, Any], **overrides: Any) -> TrainConfig:
    """Build a TrainConfig, rejecting unknown keys; `overrides` win (extra is merged)."""
    data = dict(data)
    extra = {**data.pop('extra', {}), **overrides.pop('extra', {})}
    data.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(data) - FIELD_NAMES
    if unknown:
        raise ValueError(f'unknown training config keys: {", ".join(sorted(unknown))}')
    if 'model' not in data:
        raise ValueError('a training config needs `model`')
    return TrainConfig(**data, extra=extra)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a .yaml/.yml (PyYAML, a dependency of rclpy) or .json config file."""
    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() == '.json':
        return json.loads(text)
    import yaml

    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError(f'{path}: a training config must be a mapping')
    return data


def config_path(model: str, which: str = 'default') -> Path:
    """`which` is a variant name (default, tiny, ...) or a path to a YAML/JSON file."""
    candidate = Path(which)
    if candidate.suffix.lower() in ('.yaml', '.yml', '.json') or candidate.exists():
        if not candidate.exists():
            raise FileNotFoundError(f'no training config file {candidate}')
        return candidate
    for suffix in ('.yaml', '.yml', '.json'):
        p = CONFIG_DIR / f'{model}_{which}{suffix}'
        if p.exists():
            return p
    known = sorted(p.stem for p in CONFIG_DIR.glob(f'{model}_*'))
    raise FileNotFoundError(
        f'no config {which!r} for model {model!r} in {CONFIG_DIR}; known: {known}'
    )


def load_config(model: str, which: str = 'default', **overrides: Any) -> TrainConfig:
    """Load `<model>_<which>.yaml` (or the file `which`) and apply overrides (None = keep)."""
    path = config_path(model, which)
    data = read_config_file(path)
    data.setdefault('model', model)
    data.setdefault('name', path.stem)
    cfg = config_from_dict(data, **overrides)
    if cfg.model != model and model:
        cfg = cfg.replace(model=model)
    return cfg


def available_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob('*.y*ml')) + sorted(
        p.stem for p in CONFIG_DIR.glob('*.json')
    )
