# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Settings of one `fusion-ros search` run.

The search space, the data, the schedule, the latency term.

Two built-in configs: `tiny` (seconds, the bundled demo pairs, for tests; not a useful model) and
`default` (the training sources of the shared datasets, sized for a 2-core CPU). `--config PATH`
reads a YAML/JSON file with the same keys (unknown keys are an error: a typo must not silently
search something else). Test sets (tno, llvip/test, msrs/test, vifb) are refused as sources.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusion_ros.models.hafnas import OPS, SearchSpace
from fusion_ros.runtime.model_card import OUTPUT_STRETCHES
from fusion_ros.training.validation import VALIDATION_FRACTION

TEST_SETS = ('tno', 'llvip/test', 'msrs/test', 'vifb')


@dataclass
class SearchConfig:
    """Everything a search run needs.

    Times are steps, not epochs: the data sets differ in size.
    """

    name: str = 'default'
    width: int = 12
    widths: tuple[int, ...] = ()  # if given, the width is chosen among these for the budget
    skeleton_share: float = 0.6  # ... the widest whose bare skeleton takes <= this share of it
    scales: tuple[int, ...] = (1, 2, 3)
    out_cells: int = 1
    ops: tuple[str, ...] = OPS
    head: str = 'blend'  # object-level aggregation: one of models.hafnas.HEADS
    heads: tuple[str, ...] = ()  # if given, the head is chosen among these with the width
    train_sources: list[Any] = field(default_factory=list)
    val_sources: list[Any] = field(default_factory=list)  # validation only ("standard": the
    # project's held-out validation sets); never trained on
    val_fraction: float = VALIDATION_FRACTION  # of each training source, held out by stem hash
    arch_fraction: float = 0.3  # of the rest: the architecture split of the bilevel search
    max_side: int = 640
    val_max_side: int = 320
    limit_pairs: int | None = None
    crop: int = 64  # HAF-NAS trains on 64x64 patches
    patches_per_pair: int = 16
    batch_size: int = 8
    warmup_steps: int = 60  # weights only, before the architecture moves
    search_steps: int = 240
    retrain_steps: int = 1200
    w_lr: float = 1e-3
    a_lr: float = 3e-3
    retrain_lr: float = 1e-3
    latency_weight: float = 2.0  # lambda of the hinge latency penalty
    budget_margin: float = 0.9  # search and derive for margin x budget (measurement noise)
    w_int: float = 2.0  # the MobileFuse fine-tune loss, for another blending network
    w_grad: float = 6.0
    w_scd: float = 0.08
    repeats: int = 30  # timed runs per latency-table entry (minimum kept)
    val_metrics: list[str] = field(
        default_factory=lambda: ['EN', 'SD', 'SF', 'AG', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM', 'CC']
    )
    output_stretch: str = 'minmax'  # the card's output.stretch, as the shipped models' cards
    seed: int = 0
    num_threads: int = 1  # torch threads: on a loaded 2-core machine two OpenMP threads
    # spin-waited a supernet step from 1.5 s to 34 s

    def space(self, width: int | None = None) -> SearchSpace:
        return SearchSpace(
            width=width or self.width,
            scales=tuple(self.scales),
            out_cells=self.out_cells,
            ops=tuple(self.ops),
            head=self.head,
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d['scales'], d['ops'], d['widths'] = list(self.scales), list(self.ops), list(self.widths)
        d['heads'] = list(self.heads)
        return d


BUILTIN: dict[str, dict[str, Any]] = {
    'tiny': {
        'name': 'tiny',
        'width': 4,
        'train_sources': [{'source': 'demo'}],
        'limit_pairs': 6,
        'max_side': 128,
        'val_max_side': 96,
        'val_fraction': 0.3,  # 1 of the 4 demo pairs
        'arch_fraction': 0.5,
        'crop': 32,
        'patches_per_pair': 2,
        'batch_size': 4,
        'warmup_steps': 2,
        'search_steps': 6,
        'retrain_steps': 4,
        'repeats': 3,
        'val_metrics': ['EN', 'SD', 'SF', 'AG'],
        'num_threads': 1,
        'head': 'weights',
    },
    'default': {
        'name': 'default',
        'widths': (4, 8, 16),
        'train_sources': [
            {'ir': 'llvip/train/ir', 'vis': 'llvip/train/vi'},
            {'ir': 'llvip/extra/ir', 'vis': 'llvip/extra/vi'},
            {'ir': 'msrs/train_128/ir', 'vis': 'msrs/train_128/vi', 'limit': 240},
        ],
        'val_sources': ['standard'],
        # chosen on the search's validation pairs (docs/SEARCH.md, 2026-12-07): the weighted-sum
        # head (rank 2.50-2.80 vs 3.20-3.30 for the blend), its cheaper nearest-upsampled variant
        # where the budget leaves no room for the bilinear one, SCD weight 0.5, a longer retrain
        'head': 'weights',
        'heads': ('weights', 'weights_nearest'),
        'w_scd': 0.5,
        'retrain_steps': 4000,
    },
}


def _check_sources(sources: list[Any]) -> None:
    for spec in sources:
        text = str(spec).replace('\\', '/')
        for test in TEST_SETS:
            if f"'{test}/" in text or f'/{test}/' in text or f"'{test}'" in text:
                raise ValueError(
                    f'{spec!r} is a test set ({test}); search and validate on training sources '
                    'only'
                )


def load_search_config(which: str = 'default', **overrides: Any) -> SearchConfig:
    """Return a built-in config by name, or a YAML/JSON file with SearchConfig keys.

    Then `overrides` are applied.
    """
    if which in BUILTIN:
        data = dict(BUILTIN[which])
    else:
        from fusion_ros.training.config import read_config_file

        path = Path(which)
        if not path.is_file():
            raise FileNotFoundError(
                f'no search config {which!r}: use {" or ".join(BUILTIN)} or a YAML file'
            )
        data = {'name': path.stem, **read_config_file(path)}
    data.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(SearchConfig)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f'unknown search settings {sorted(unknown)}; known: {sorted(known)}')
    cfg = SearchConfig(**data)
    cfg.scales, cfg.ops, cfg.widths = tuple(cfg.scales), tuple(cfg.ops), tuple(cfg.widths)
    cfg.heads = tuple(cfg.heads)
    _check_sources(list(cfg.train_sources) + list(cfg.val_sources))
    if cfg.output_stretch not in OUTPUT_STRETCHES:
        raise ValueError(
            f'output_stretch {cfg.output_stretch!r}: use one of {", ".join(OUTPUT_STRETCHES)}'
        )
    for width in cfg.widths or (cfg.width,):
        for head in cfg.heads or (cfg.head,):
            dataclasses.replace(cfg.space(width), head=head)  # validates the space
    return cfg
