# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Several training sources through one loader, per-source patch counts.

The stem-hash validation split and `fusion-ros eval --set validation`, on generated pairs in a
temporary datasets root (FUSION_ROS_DATASETS), so none of it needs ../shared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
from fusion_ros.training.config import load_config
from fusion_ros.training.data import PatchDataset
from fusion_ros.training.runner import load_data, load_val_sets
from fusion_ros.training.validation import (
    HELD_OUT_VALIDATION,
    split_by_stem,
    stem_fraction,
    TRAINING_SOURCES,
    validation_sets,
)
import numpy as np
import pytest


def _write_pairs(folder: Path, count: int, shape: tuple[int, int], prefix: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    (folder / 'ir').mkdir(parents=True, exist_ok=True)
    (folder / 'vi').mkdir(parents=True, exist_ok=True)
    for i in range(count):
        base = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 3) * 255
        ir = np.clip(base + rng.normal(0, 20, shape), 0, 255).astype(np.uint8)
        vis = np.clip(255 - base[..., None] + rng.normal(0, 20, shape + (3,)), 0, 255).astype(
            np.uint8
        )
        cv2.imwrite(str(folder / 'ir' / f'{prefix}{i:04d}.png'), ir)
        cv2.imwrite(str(folder / 'vi' / f'{prefix}{i:04d}.png'), vis)


@pytest.fixture()
def datasets(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / 'datasets'
    _write_pairs(root / 'llvip' / 'train', 6, (96, 120), '01', 0)
    _write_pairs(root / 'msrs' / 'train_128', 40, (32, 32), 'M', 1)
    _write_pairs(root / 'mixed_day' / 'm3fd', 3, (64, 80), 'D', 2)
    monkeypatch.setenv('FUSION_ROS_DATASETS', str(root))
    return root


def test_split_by_stem_is_deterministic_order_free_and_never_empty() -> None:
    names = [f'{i:05d}D' for i in range(200)]
    train, val = split_by_stem(names, names, 0.1)
    assert 8 <= len(val) <= 35 and set(train).isdisjoint(val) and len(train) + len(val) == 200
    rev_train, rev_val = split_by_stem(names[::-1], names[::-1], 0.1)
    assert sorted(rev_val) == sorted(val)  # a pair's side depends on its stem only
    assert all(stem_fraction(n) < 0.1 for n in val) and all(stem_fraction(n) >= 0.1 for n in train)
    few_train, few_val = split_by_stem(['a', 'b'], ['a', 'b'], 0.1)
    assert len(few_val) == 1 and len(few_train) == 1  # a tiny source still validates
    assert split_by_stem(['a', 'b'], ['a', 'b'], 0.0) == (['a', 'b'], [])
    small_train, small_val = split_by_stem(list('abc'), list('abc'), 0.34)
    assert (
        len(small_val) == 1 and len(small_train) == 2
    )  # a small source holds out what it asks, no more


def test_several_sources_one_loader_with_per_source_patch_counts(datasets: Path) -> None:
    cfg = load_config('mmdrfuse', 'tiny').replace(
        limit_pairs=None,
        max_side=None,
        patches_per_pair=4,
        train_sources=[
            {'name': 'llvip', 'ir': 'llvip/train/ir', 'vis': 'llvip/train/vi'},
            {
                'name': 'msrs',
                'ir': 'msrs/train_128/ir',
                'vis': 'msrs/train_128/vi',
                'patches_per_pair': 1,
                'val_fraction': 0.2,
            },
        ],
        val_sets=[
            {'name': 'm3fd', 'ir': 'mixed_day/m3fd/ir', 'vis': 'mixed_day/m3fd/vi'},
            {'name': 'absent', 'ir': 'nowhere/ir', 'vis': 'nowhere/vi'},
        ],
    )
    train, val = load_data(cfg)
    assert {p.source for p in train} == {'llvip', 'msrs'} and {p.source for p in val} == {
        'llvip',
        'msrs',
    }
    assert len(train) + len(val) == 46
    assert {p.name for p in train}.isdisjoint({p.name for p in val})
    n_llvip = sum(p.source == 'llvip' for p in train)
    n_msrs = sum(p.source == 'msrs' for p in train)
    ds = PatchDataset(train, crop=24, patches_per_pair=4, augment=False, seed=0)
    assert len(ds) == 4 * n_llvip + n_msrs  # MSRS pairs give one patch each, LLVIP pairs four
    assert ds[len(ds) - 1].shape == (2, 24, 24)
    assert list(load_val_sets(cfg)) == ['m3fd']  # a missing folder is skipped, not an error
    standard = load_val_sets(cfg.replace(val_sets=['standard']))
    assert list(standard) == ['mixed_day_m3fd'] and len(standard['mixed_day_m3fd']) == 3
    again_train, again_val = load_data(cfg.replace(seed=5))
    assert [p.name for p in again_val] == [
        p.name for p in val
    ]  # the split does not depend on the seed


def test_eval_set_validation_scores_only_validation_sets(
    datasets: Path, tmp_path: Path, capsys
) -> None:
    from fusion_ros.cli import eval_cmd

    sets, missing = validation_sets(datasets)
    assert [s.name for s in sets] == ['llvip_train_val', 'msrs_train_val', 'mixed_day_m3fd']
    assert len(missing) == len(TRAINING_SOURCES) + len(HELD_OUT_VALIDATION) - 3
    parser = argparse.ArgumentParser()
    eval_cmd.add_arguments(parser)
    out = tmp_path / 'validation'
    args = parser.parse_args(
        [
            '--set',
            'validation',
            '--baselines',
            '--classic',
            'laplacian',
            '--out',
            str(out),
            '--mosaic-rows',
            '1',
            '--metrics',
            'quality',
        ]
    )
    assert eval_cmd.run(args) == 0
    summary = (out / 'leaderboard.md').read_text()
    for name in ('llvip_train_val', 'msrs_train_val', 'mixed_day_m3fd'):
        assert (out / name / 'leaderboard.md').is_file() and f'[{name}]' in summary
    assert 'laplacian' in summary and 'pixel-max' in summary
    assert 'llvip_extra' in summary  # reported as missing
    per_image = (out / 'msrs_train_val' / 'per_image.csv').read_text()
    val_stems = {p[0] for p in sets[1].pairs}
    assert val_stems and all(stem in per_image for stem in val_stems)
