# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The image -> network-input conversion shared by the folder loader.

The bag reader and the trainer.
"""

from __future__ import annotations

import cv2
from fusion_ros.images.folders import thermal_to_unit, visible_to_luminance
import numpy as np
import pytest


def test_8bit_thermal_is_scaled_not_stretched():
    image = np.array([[10, 20], [30, 40]], np.uint8)
    np.testing.assert_allclose(thermal_to_unit(image), image / 255.0, rtol=0, atol=1e-7)


def test_16bit_thermal_is_stretched_per_frame():
    image = np.array([[20000, 21000], [22000, 24000]], np.uint16)
    out = thermal_to_unit(image)
    assert out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == pytest.approx(1.0)
    assert out[0, 1] == pytest.approx(0.25)


def test_flat_16bit_frame_does_not_divide_by_zero():
    out = thermal_to_unit(np.full((4, 4), 30000, np.uint16))
    assert np.isfinite(out).all() and (out == 0).all()


def test_colour_visible_becomes_ycrcb_luma_and_gray_passes_through():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    expected = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)[..., 0] / 255.0
    np.testing.assert_allclose(visible_to_luminance(bgr), expected, atol=1e-7)
    gray = bgr[..., 0]
    np.testing.assert_allclose(visible_to_luminance(gray), gray / 255.0, atol=1e-7)


def test_bag_reader_and_trainer_use_the_same_conversion():
    from fusion_ros.bags import pairs as bag_pairs
    from fusion_ros.training import data as training_data

    assert bag_pairs.thermal_to_unit is training_data.thermal_to_unit is thermal_to_unit
    assert (
        bag_pairs.visible_to_luminance
        is training_data.visible_to_luminance
        is visible_to_luminance
    )
