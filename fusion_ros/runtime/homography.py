# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Checks that a thermal -> visible homography is usable before it is put to work.

Why: a homography is nine numbers typed by hand or estimated by a tool;
`[1e200,0,0,0,1e200,0,0,0,1]` used to be accepted (its determinant overflows) and collapsed the
thermal image to a constant. A usable one is finite, well conditioned, keeps every corner of the
thermal frame in front of the camera (positive projective weight, so the picture does not fold
through the horizon) and maps the frame to a convex quadrilateral of sane size. No ROS, no torch.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MAX_CONDITION = 1e7  # beyond this the inverse warp loses all precision in float64
AREA_RANGE = (0.01, 100.0)  # mapped frame area / frame area: 1% (a speck) .. 100x (mostly outside)
NOMINAL_FRAME = (640, 512)  # (width, height) used when the camera size is not known yet


def homography_matrix(values: Sequence[float]) -> np.ndarray:
    """Nine row-major values as a 3x3 float64 matrix normalised to h[2,2] = 1."""
    h = np.asarray(values, dtype=np.float64).reshape(3, 3)
    return h / h[2, 2]


def check_homography(
    values: Sequence[float], frame: tuple[int, int] = NOMINAL_FRAME
) -> np.ndarray:
    """Return the normalised matrix.

    Or ValueError saying what is wrong with it for a `frame` (width, height) thermal image.
    """
    try:
        raw = np.asarray(values, dtype=np.float64).reshape(3, 3)
    except (TypeError, ValueError):
        raise ValueError('homography needs 9 numbers (row-major 3x3)') from None
    if not np.all(np.isfinite(raw)):
        raise ValueError('homography has a non-finite value (inf or NaN)')
    if raw[2, 2] == 0.0:
        raise ValueError('homography h[2][2] is 0: it maps the image origin to infinity')
    with np.errstate(all='ignore'):
        h = raw / raw[2, 2]
        condition = float(np.linalg.cond(h)) if np.all(np.isfinite(h)) else float('inf')
    if not np.isfinite(condition) or condition > MAX_CONDITION:
        raise ValueError(
            f'homography is singular or badly conditioned (condition number {condition:.3g} > '
            f'{MAX_CONDITION:.0e}): check its scale terms'
        )
    with np.errstate(all='ignore'):  # overflow in extreme matrices is caught by the checks below
        return _check_quadrilateral(h, frame)


def _check_quadrilateral(h: np.ndarray, frame: tuple[int, int]) -> np.ndarray:
    """Corners in front of the camera, a convex image of the frame, a sane area."""
    width, height = frame
    corners = np.array(
        [[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], np.float64
    ).T
    mapped = h @ corners
    if np.any(mapped[2] <= 1e-9):
        raise ValueError(
            'homography sends a corner of the thermal image behind the camera (the warped '
            'image would fold through the horizon)'
        )
    quad = (mapped[:2] / mapped[2]).T
    edges = np.roll(quad, -1, axis=0) - quad
    turns = (
        edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1]
        - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    )
    if not (np.all(turns > 0) or np.all(turns < 0)):
        raise ValueError(
            'homography maps the thermal frame to a non-convex (twisted) quadrilateral'
        )
    area = 0.5 * abs(
        float(np.sum(quad[:, 0] * np.roll(quad[:, 1], -1) - np.roll(quad[:, 0], -1) * quad[:, 1]))
    )
    ratio = area / float(width * height)
    if not AREA_RANGE[0] <= ratio <= AREA_RANGE[1]:
        raise ValueError(
            f"homography scales the thermal frame's area by {ratio:.3g}, outside "
            f'{AREA_RANGE[0]:g}..{AREA_RANGE[1]:g}: check its scale terms'
        )
    return h
