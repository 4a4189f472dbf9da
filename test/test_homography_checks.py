# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Homographies are checked before use.

Finite, well conditioned, in front of the camera, convex and of sane size
(`[1e200,0,0,0,1e200,0,0,0,1]` once collapsed the thermal image to a constant).
"""

from __future__ import annotations

from fusion_ros.runtime.homography import check_homography
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1]


@pytest.mark.parametrize(
    'values, reason',
    [
        ([1e200, 0, 0, 0, 1e200, 0, 0, 0, 1], 'conditioned|area'),
        ([1, 0, 0, 0, 1, 0, 0, 0, 0], 'infinity'),
        ([1, 0, 0, 0, float('nan'), 0, 0, 0, 1], 'non-finite'),
        ([1, 0, 0, 0, 0, 0, 0, 0, 1], 'singular|conditioned'),
        ([1, 0, 0, 0, 1, 0, -0.01, 0, 1], 'behind the camera'),
        ([0.01, 0, 0, 0, 0.01, 0, 0, 0, 1], 'area'),
        ([1, 0, 0, 0, 1, 0, 0, 0], '9 numbers'),
    ],
)
def test_unusable_homographies_are_refused_with_the_reason(values, reason) -> None:
    with pytest.raises(ValueError, match=reason):
        check_homography(values)


def test_a_typical_rig_passes_and_is_normalised() -> None:
    # thermal at 0.8x, shifted, rotated 2 degrees, mild perspective; written with h22 = 2
    a = np.radians(2.0)
    h = np.array(
        [
            [1.25 * np.cos(a), -np.sin(a), 14.0],
            [np.sin(a), 1.25 * np.cos(a), -9.0],
            [1e-5, 2e-5, 1.0],
        ]
    )
    got = check_homography((2 * h).ravel().tolist())
    np.testing.assert_allclose(got, h)
    np.testing.assert_allclose(check_homography(IDENTITY), np.eye(3))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=9, max_size=9))
def test_any_nine_numbers_either_pass_cleanly_or_raise_value_error(values) -> None:
    try:
        h = check_homography(values)
    except ValueError:
        return
    assert np.all(np.isfinite(h)) and h[2, 2] == 1.0
