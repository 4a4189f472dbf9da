# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""docs/scripts/blend_oracle.py.

The best convex blend towards a target stays between the sources, equals the target wherever the
target is reachable, and its half-resolution-mask variant too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / 'docs' / 'scripts' / 'blend_oracle.py'


def load_script():
    spec = importlib.util.spec_from_file_location('blend_oracle', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_best_blend_is_the_target_clipped_to_the_sources() -> None:
    oracle = load_script()
    rng = np.random.default_rng(0)
    ir, vis = rng.random((32, 40), dtype=np.float32), rng.random((32, 40), dtype=np.float32)
    target = rng.random((32, 40), dtype=np.float32) * 1.4 - 0.2
    lo, hi = np.minimum(ir, vis), np.maximum(ir, vis)
    full = oracle.best_blend(ir, vis, target, half_resolution=False)
    assert np.all(full >= lo) and np.all(full <= hi)
    inside = (target >= lo) & (target <= hi)
    assert inside.any() and np.allclose(full[inside], target[inside])
    half = oracle.best_blend(ir, vis, target, half_resolution=True)
    assert half.shape == ir.shape
    assert np.all(half >= lo - 1e-6) and np.all(half <= hi + 1e-6)
    # a mask that is constant over 2x2 blocks survives the half-resolution round trip
    const = np.where(np.arange(40)[None, :] < 20, ir, vis)  # left half IR, right half visible
    assert (
        np.abs(oracle.best_blend(ir, vis, const, True) - const)[:, np.r_[0:14, 26:40]].max() < 1e-5
    )  # away from the seam


def test_script_writes_both_variants(tmp_path: Path) -> None:
    import cv2

    oracle = load_script()
    rng = np.random.default_rng(1)
    (tmp_path / 'ir').mkdir(), (tmp_path / 'vi').mkdir()
    cv2.imwrite(str(tmp_path / 'ir' / 'a.png'), rng.integers(0, 256, (24, 32), dtype=np.uint8))
    cv2.imwrite(str(tmp_path / 'vi' / 'a.png'), rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    assert (
        oracle.main([str(tmp_path / 'ir'), str(tmp_path / 'vi'), str(tmp_path / 'out'), 'max'])
        == 0
    )
    for tag in ('max_clip', 'max_clip_half'):
        image = cv2.imread(str(tmp_path / 'out' / tag / 'a.png'), cv2.IMREAD_UNCHANGED)
        assert image is not None and image.shape == (24, 32)
