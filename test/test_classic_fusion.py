# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Classic fusion methods (fusion_ros.training.classic) and the AE-Netv2 quality evaluator."""

from __future__ import annotations

from pathlib import Path
import time

import cv2
from fusion_ros.training.classic import (
    CLASSIC_METHODS,
    fuse_all,
    fuse_batch,
    fuse_laplacian,
    fuse_max,
    fuse_mean,
    laplacian_pyramid,
    reconstruct_laplacian,
)
from fusion_ros.training.quality import COMPONENTS, DEFAULT_WEIGHTS, QualityEvaluator, raw_metrics
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _rng_image(seed: int, h: int = 64, w: int = 80) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2.0)
    return np.clip((img - img.min()) / (np.ptp(img) + 1e-6), 0, 1).astype(np.float32)


def _tno_pair(name: str = '01', size: int = 160) -> tuple[np.ndarray, np.ndarray]:
    from fusion_ros.training.data import datasets_root

    root = datasets_root() / 'tno'
    ir = cv2.imread(str(root / 'ir' / f'{name}.png'), cv2.IMREAD_GRAYSCALE)
    vi = cv2.imread(str(root / 'vi' / f'{name}.png'), cv2.IMREAD_GRAYSCALE)
    if ir is None or vi is None:
        pytest.skip('TNO images not available')
    return (
        ir[:size, :size].astype(np.float32) / 255.0,
        vi[:size, :size].astype(np.float32) / 255.0,
    )


def test_registry_has_required_methods_with_docstrings():
    for name in ('mean', 'max', 'laplacian'):
        assert name in CLASSIC_METHODS
    assert len(CLASSIC_METHODS) >= 4
    for name, fn in CLASSIC_METHODS.items():
        assert fn.__doc__ and len(fn.__doc__) > 60, name


@pytest.mark.parametrize('name', sorted(CLASSIC_METHODS))
def test_output_shape_dtype_range(name):
    a, b = _rng_image(1), _rng_image(2)
    out = CLASSIC_METHODS[name](a, b)
    assert out.shape == a.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize('name', sorted(CLASSIC_METHODS))
def test_fusing_an_image_with_itself_returns_it(name):
    a = _rng_image(3)
    np.testing.assert_allclose(CLASSIC_METHODS[name](a, a), a, atol=2e-3)


@pytest.mark.parametrize('name', sorted(CLASSIC_METHODS))
@pytest.mark.parametrize('shape', [(1, 1), (3, 5), (17, 9), (128, 128)])
def test_odd_and_tiny_sizes(name, shape):
    rng = np.random.default_rng(0)
    a, b = rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)
    out = CLASSIC_METHODS[name](a, b)
    assert out.shape == shape and np.isfinite(out).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_mean_and_max_properties(h, w, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random((h, w), dtype=np.float32), rng.random((h, w), dtype=np.float32)
    np.testing.assert_allclose(fuse_mean(a, a), a, atol=1e-7)  # mean of identical images: identity
    m = fuse_max(a, b)
    assert (m >= a).all() and (m >= b).all()  # max >= both
    assert np.isin(m, np.stack([a, b])).all()
    mean = fuse_mean(a, b)
    assert (mean >= np.minimum(a, b) - 1e-6).all() and (mean <= np.maximum(a, b) + 1e-6).all()


@settings(max_examples=15, deadline=None)
@given(st.integers(8, 96), st.integers(8, 96), st.integers(0, 5), st.integers(0, 2**31 - 1))
def test_laplacian_pyramid_reconstructs(h, w, levels, seed):
    a = np.random.default_rng(seed).random((h, w), dtype=np.float32)
    np.testing.assert_allclose(reconstruct_laplacian(laplacian_pyramid(a, levels)), a, atol=1e-5)
    # an image fused with itself through the pyramid comes back unchanged
    np.testing.assert_allclose(fuse_laplacian(a, a, levels=levels), a, atol=1e-5)


def test_laplacian_keeps_detail_of_both_sources():
    """A texture present only in one source survives in the pyramid fusion.

    At more contrast than in the average.
    """
    h = w = 64
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = (0.5 + 0.4 * np.sin(xx / 1.5)).astype(np.float32)
    flat = np.full((h, w), 0.5, np.float32)
    a = np.where(xx < w // 2, stripes, flat).astype(np.float32)
    b = np.where(xx >= w // 2, stripes, flat).astype(np.float32)
    lap = fuse_laplacian(a, b)
    mean = fuse_mean(a, b)
    assert lap[:, 8:24].std() > 1.5 * mean[:, 8:24].std()
    assert lap[:, 40:56].std() > 1.5 * mean[:, 40:56].std()


def test_fuse_all_and_batch():
    a, b = _rng_image(4, 32, 32), _rng_image(5, 32, 32)
    out = fuse_all(a, b)
    assert set(out) == set(CLASSIC_METHODS)
    batch = np.stack([np.stack([a, b])] * 3)
    fused = fuse_batch('laplacian', batch)
    assert fused.shape == (3, 1, 32, 32)
    np.testing.assert_allclose(fused[1, 0], out['laplacian'])
    with pytest.raises(KeyError):
        fuse_all(a, b, ['nope'])
    with pytest.raises(ValueError):
        fuse_mean(a, b[:10])


def test_classic_methods_are_fast_on_a_vga_frame():
    a, b = _rng_image(6, 480, 640), _rng_image(7, 480, 640)
    for name, fn in CLASSIC_METHODS.items():
        fn(a, b)
        t = time.perf_counter()
        fn(a, b)
        assert time.perf_counter() - t < 1.0, name  # generous: 2 shared cores


# --- quality evaluator --------------------------------------------------------------------------


def test_quality_weights_documented_and_normalised():
    assert set(DEFAULT_WEIGHTS) <= set(COMPONENTS)
    assert abs(sum(DEFAULT_WEIGHTS.values()) - 1.0) < 1e-9
    assert 'MI' not in DEFAULT_WEIGHTS  # documented: MI rewards copying one source
    with pytest.raises(KeyError):
        QualityEvaluator(weights={'BOGUS': 1.0})


def test_quality_ranks_fusion_above_degraded_outputs():
    ir, vi = _tno_pair()
    ev = QualityEvaluator()
    good = fuse_laplacian(ir, vi)
    blurred = cv2.GaussianBlur(good, (0, 0), 3.0)
    constant = np.full_like(ir, 0.5)
    noisy = np.clip(
        good + np.random.default_rng(0).normal(0, 0.15, good.shape).astype(np.float32), 0, 1
    )
    scores = ev.score_many(ir, vi, [good, blurred, constant, noisy])
    assert scores[0] > scores[1] and scores[0] > scores[2] and scores[0] > scores[3]
    # score_many agrees with score
    assert abs(ev.score(ir, vi, blurred) - scores[1]) < 1e-5
    best, _, all_scores = ev.best(ir, vi, {'good': good, 'blurred': blurred})
    assert best == 'good' and set(all_scores) == {'good', 'blurred'}


def test_quality_components_are_bounded():
    ir, vi = _tno_pair()
    ev = QualityEvaluator()
    for fused in fuse_all(ir, vi).values():
        comps = ev.components(ir, vi, fused)
        assert set(comps) == set(DEFAULT_WEIGHTS)
        comps.update(QualityEvaluator(weights={'MI': 1.0}).components(ir, vi, fused))
        for k in ('EN', 'SD', 'AG', 'VIF'):
            assert 0.0 <= comps[k] <= ev.cap + 1e-6
        assert (
            0.0 <= comps['Qabf'] <= 1.0
            and -1.0 <= comps['SSIM'] <= 1.0
            and 0.0 <= comps['MI'] <= 1.0 + 1e-9
        )


def test_quality_is_fast_enough_for_several_candidates_per_patch():
    ir, vi = _tno_pair(size=128)
    cands = np.stack(list(fuse_all(ir, vi).values()))
    ev = QualityEvaluator()
    ev.score_many(ir, vi, cands)
    t = time.perf_counter()
    for _ in range(5):
        ev.score_many(ir, vi, cands)
    per_candidate = (time.perf_counter() - t) / (5 * len(cands))
    assert per_candidate < 0.05  # ~3 ms unloaded; generous for shared cores


def test_raw_metrics_match_textbook_values():
    ir, vi = _tno_pair()
    # SSIM of an image with itself is 1 (x2 for the sum)
    m = raw_metrics(ir, ir, ir)
    assert abs(m['SSIM'] - 2.0) < 1e-4
    # identical edges: both sigmoids at their maximum, Tg/(1+e^{kg/2}) * Ta/(1+e^{0.2 ka}) = 0.9748
    assert abs(m['Qabf'] - 0.9994 / (1 + np.exp(-7.5)) * 0.9879 / (1 + np.exp(-4.4))) < 1e-3
    # entropy of a two-level image is 1 bit
    half = np.zeros_like(ir)
    half[:, : ir.shape[1] // 2] = 1.0
    assert abs(raw_metrics(ir, vi, half)['EN'] - 1.0) < 1e-6


def test_quality_agrees_with_project_metrics_when_available():
    pytest.importorskip('fusion_ros.metrics')
    from fusion_ros.training.quality import compare_with_project_metrics

    ir, vi = _tno_pair(size=200)
    result = compare_with_project_metrics(ir, vi, fuse_laplacian(ir, vi))
    if not result:
        pytest.skip('fusion_ros.metrics has no compute_metrics yet')
    for name, (ours, theirs) in result.items():
        assert abs(ours - theirs) <= 0.05 * max(abs(theirs), 1e-3) + 0.02, (name, ours, theirs)
