# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The validation discipline: which pairs every recipe choice is made on.

No torch; `fusion-ros eval --set validation` uses it too.

Validation = (a) a split carved from each training source, by whole pair, decided by a hash of the
pair's file stem (`is_validation_stem`): the same pairs are held out whatever the config, seed or
model, so seeds and recipes are compared on the same images and the split needs no state; plus
(b) whole sets never trained on: `mixed_day/m3fd`, `mixed_day/fmb` (daytime rigs) and the two
`m3svd` sequences (every 2nd frame: neighbouring video frames are near duplicates).

The test sets (`TEST_SETS`) are scored only after a choice is made (`make eval`).
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import os
from pathlib import Path
from typing import Sequence, TypeVar

# Fraction of each training source held out for validation (by stem hash).
VALIDATION_FRACTION = 0.1
# The training sources: (name, ir folder, visible folder), relative to the datasets root.
TRAINING_SOURCES: tuple[tuple[str, str, str], ...] = (
    ('llvip_train', 'llvip/train/ir', 'llvip/train/vi'),
    ('llvip_extra', 'llvip/extra/ir', 'llvip/extra/vi'),
    ('msrs_train', 'msrs/train_128/ir', 'msrs/train_128/vi'),
)
# Whole validation sets (never trained on):
# (name, ir folder, visible folder, keep every n-th pair).
HELD_OUT_VALIDATION: tuple[tuple[str, str, str, int], ...] = (
    ('mixed_day_m3fd', 'mixed_day/m3fd/ir', 'mixed_day/m3fd/vi', 1),
    ('mixed_day_fmb', 'mixed_day/fmb/ir', 'mixed_day/fmb/vi', 1),
    ('m3svd_0114_1551_day', 'm3svd/0114_1551/ir', 'm3svd/0114_1551/vi', 2),
    ('m3svd_0115_1847_night', 'm3svd/0115_1847/ir', 'm3svd/0115_1847/vi', 2),
)
# Scored once, after the choice: never used to pick a setting.
TEST_SETS = ('tno', 'llvip/test', 'msrs/test', 'vifb_conformance/input')

T = TypeVar('T')


def datasets_root() -> Path:
    """`$FUSION_ROS_DATASETS`, or `<repo>/../shared/datasets` in a source checkout."""
    from fusion_ros.paths import SOURCE_ROOT

    env = os.environ.get('FUSION_ROS_DATASETS')
    return Path(env) if env else (SOURCE_ROOT.parent / 'shared' / 'datasets').resolve()


def expand_val_sets(specs: Sequence[object]) -> list[object]:
    """Return a config's `val_sets` with the entry "standard" replaced by the validation sets.

    Those are the whole held-out validation sets above (as named folder specs).
    """
    out: list[object] = []
    for spec in specs:
        if spec == 'standard':
            out += [
                {'name': name, 'ir': ir, 'vis': vis, 'every': every}
                for name, ir, vis, every in HELD_OUT_VALIDATION
            ]
        else:
            out.append(spec)
    return out


def stem_fraction(stem: str) -> float:
    """Return a stable number in [0, 1) from a file stem (SHA-1).

    Independent of Python's hash seed.
    """
    return int(hashlib.sha1(stem.encode('utf-8')).hexdigest()[:12], 16) / float(16**12)


def is_validation_stem(stem: str, fraction: float = VALIDATION_FRACTION) -> bool:
    return stem_fraction(stem) < fraction


def split_by_stem(
    items: Sequence[T], names: Sequence[str], fraction: float = VALIDATION_FRACTION
) -> tuple[list[T], list[T]]:
    """(train, val) by `is_validation_stem(name)`.

    A small source (fraction * n < 2, where the hash draw could hold out far more or fewer than
    asked) holds out exactly max(1, round(fraction * n)) items, those with the lowest hashes; at
    least one item is always kept for training.
    """
    items = list(items)
    if fraction <= 0 or len(items) < 2:
        return items, []
    scores = [stem_fraction(n) for n in names]
    order = sorted(range(len(items)), key=scores.__getitem__)
    if fraction * len(items) < 2:
        val_idx = set(order[: max(1, round(fraction * len(items)))])
    else:
        val_idx = {i for i, s in enumerate(scores) if s < fraction}
    val_idx.discard(order[-1])  # never hold out everything
    return (
        [x for i, x in enumerate(items) if i not in val_idx],
        [x for i, x in enumerate(items) if i in val_idx],
    )


@dataclass
class ValidationSet:
    """One validation set as (stem, ir_path, vis_path) triples."""

    name: str
    pairs: list[tuple[str, Path, Path]]
    kind: str  # "split" (held-out part of a training source) or "held-out" (never trained on)


def validation_sets(
    root: Path, fraction: float = VALIDATION_FRACTION
) -> tuple[list[ValidationSet], list[str]]:
    """Every validation set found under the datasets `root`, and the names of those missing."""
    from fusion_ros.images.folders import matched_pairs

    found: list[ValidationSet] = []
    missing: list[str] = []
    for name, ir, vis in TRAINING_SOURCES:
        if not (root / ir).is_dir():
            missing.append(name)
            continue
        pairs = matched_pairs(root / ir, root / vis)
        found.append(
            ValidationSet(
                f'{name}_val', split_by_stem(pairs, [p[0] for p in pairs], fraction)[1], 'split'
            )
        )
    for name, ir, vis, every in HELD_OUT_VALIDATION:
        if not (root / ir).is_dir():
            missing.append(name)
            continue
        found.append(
            ValidationSet(name, matched_pairs(root / ir, root / vis)[::every], 'held-out')
        )
    return found, missing
