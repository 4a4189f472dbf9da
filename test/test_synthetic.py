# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MobileFuse's synthetic multi-lighting / multi-focus pairs (fusion_ros.training.synthetic)."""

from __future__ import annotations

from fusion_ros.training import synthetic as syn
from fusion_ros.training.synthetic import (
    KINDS,
    load_natural_images,
    make_pair,
    MASK_KINDS,
    multi_focus_pair,
    multi_lighting_pair,
    random_mask,
    split_units,
    SyntheticFusionDataset,
)
import numpy as np
import pytest
import torch


def _images(n: int = 3, h: int = 120, w: int = 150) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        yy, xx = np.mgrid[0:h, 0:w]
        img = 0.5 + 0.3 * np.sin(xx / rng.uniform(3, 9)) * np.cos(yy / rng.uniform(3, 9))
        out.append(np.clip(img + 0.1 * rng.random((h, w)), 0, 1).astype(np.float32))
    return out


@pytest.fixture(scope='module')
def dataset() -> SyntheticFusionDataset:
    return SyntheticFusionDataset(_images(), crop=64, units=12, seed=3)


def test_patch_layout_and_ground_truth_is_the_original(dataset):
    light, focus = dataset.pairs(0)
    assert light.kind == 'lighting' and focus.kind == 'focus'
    for pair in (light, focus):
        assert pair.x.shape == (2, 64, 64) and pair.x.dtype == np.float32
        assert pair.gt.shape == (64, 64)
        assert 0.0 <= pair.x.min() and pair.x.max() <= 1.0
        assert 0.0 <= pair.mask.min() and pair.mask.max() <= 1.0
    # the ground truth is the untouched crop of a source image: rebuild it from the same rng stream
    rng = dataset._rng(0, 0)
    image = dataset.images[int(rng.integers(len(dataset.images)))]
    np.testing.assert_array_equal(syn.random_crop(rng, image, 64, dataset.scale), light.gt)
    patch = dataset.patch(0)
    assert patch.shape == (6, 64, 64)
    np.testing.assert_array_equal(patch[2], light.gt)
    np.testing.assert_array_equal(patch[5], focus.gt)


def test_multi_focus_pair_sharp_where_the_mask_says():
    rng = np.random.default_rng(1)
    img = _images(1)[0][:64, :64]
    mask = random_mask(rng, img)
    fg, bg = multi_focus_pair(rng, img, mask)
    # where the mask is 1 the foreground-sharp copy is the original; where it is 0, the other one
    hard = mask > 0.999
    np.testing.assert_allclose(fg[hard], img[hard], atol=2e-3)
    np.testing.assert_allclose(bg[mask < 1e-3], img[mask < 1e-3], atol=2e-3)
    # and blurred elsewhere: less high-frequency energy than the original
    assert np.abs(np.diff(bg[hard])).mean() < np.abs(np.diff(img[hard])).mean()


def test_multi_lighting_brackets_the_original():
    rng = np.random.default_rng(2)
    img = _images(1)[0]
    bright, dark = multi_lighting_pair(rng, img)
    assert (bright >= img - 1e-6).all() and (dark <= img + 1e-6).all()
    assert bright.mean() > img.mean() > dark.mean()
    # over-saturated: a part of the bright copy clips at 1
    bright2, _ = multi_lighting_pair(np.random.default_rng(5), np.clip(img * 1.5, 0, 1))
    assert (bright2 >= 0.999).mean() > 0.05


@pytest.mark.parametrize('kind', MASK_KINDS)
def test_masks_in_unit_range_and_nontrivial(kind):
    img = _images(1)[0][:64, :64]
    for seed in range(5):
        m = random_mask(np.random.default_rng(seed), img, kind)
        assert m.shape == img.shape and m.dtype == np.float32
        assert 0.0 <= m.min() and m.max() <= 1.0
        assert 0.05 <= m.mean() <= 0.95


def test_batches_balance_the_two_kinds_and_channels_are_randomised(dataset):
    x, gt = dataset.batch(range(6))
    assert x.shape == (12, 2, 64, 64) and gt.shape == (12, 1, 64, 64)
    assert x.dtype == torch.float32
    kinds = [dataset.pairs(i)[k].kind for k in (0, 1) for i in range(6)]
    assert kinds[:6] == ['lighting'] * 6 and kinds[6:] == ['focus'] * 6
    swaps = [dataset.pairs(i)[k].swapped for i in range(12) for k in (0, 1)]
    assert 0 < sum(swaps) < len(swaps)
    # split_units is the inverse of the unit layout
    units = torch.stack([dataset[i] for i in range(6)])
    x2, gt2 = split_units(units)
    assert torch.equal(x, x2) and torch.equal(gt, gt2)
    with pytest.raises(ValueError):
        split_units(torch.zeros(2, 3, 8, 8))


def test_deterministic_and_resampled(dataset):
    a = dataset.patch(4)
    np.testing.assert_array_equal(a, dataset.patch(4))
    dataset.resample(1)
    b = dataset.patch(4)
    dataset.resample(0)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, dataset.patch(4))


def test_ground_truth_is_reachable_by_a_blend():
    """Some per-pixel blend weight in [0, 1] reproduces the ground truth.

    So MobileFuse's blending module can reach its target: everywhere for global multi-lighting
    pairs, and away from the feathered mask edges for the others (inside a soft edge both focus
    copies are partly blurred).
    """
    for seed in range(6):
        for kind in KINDS:
            p = make_pair(np.random.default_rng(seed), _images(1)[0][:48, :48], kind)
            lo = np.minimum(p.x[0], p.x[1])
            hi = np.maximum(p.x[0], p.x[1])
            inside = (p.gt >= lo - 1e-3) & (p.gt <= hi + 1e-3)
            hard = (p.mask < 1e-3) | (p.mask > 1 - 1e-3)
            if kind == 'lighting' and not p.mask.any():
                assert inside.all()
            assert inside[hard].mean() > 0.99, (kind, seed, inside[hard].mean())


def test_held_out_sets_are_refused():
    with pytest.raises(ValueError, match='held-out'):
        load_natural_images(['tno/vi'])
    with pytest.raises(ValueError, match='held-out'):
        load_natural_images(['llvip/test/vi'])


def test_loads_llvip_train_visible_images():
    from fusion_ros.training.data import datasets_root

    if not (datasets_root() / 'llvip' / 'train' / 'vi').is_dir():
        pytest.skip('datasets not available')
    images = load_natural_images(max_side=200, limit=2)
    assert len(images) == 2
    for img in images:
        assert img.ndim == 2 and img.dtype == np.float32 and max(img.shape) == 200
        assert 0.0 <= img.min() and img.max() <= 1.0
    ds = SyntheticFusionDataset(images, crop=64, units=2)
    assert ds.patch(0).shape == (6, 64, 64)


def test_small_images_are_padded():
    ds = SyntheticFusionDataset(
        [np.random.default_rng(0).random((20, 30), dtype=np.float32)], crop=32, units=2
    )
    assert ds.patch(1).shape == (6, 32, 32)
