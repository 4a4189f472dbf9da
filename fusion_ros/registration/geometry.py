# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Homography helpers in OpenCV's pixel-centre convention.

Pixel (0, 0) is the centre of the top-left pixel. Shared by the estimators, the bench and the check
picture.

Every homography here maps thermal pixel coordinates to visible pixel coordinates, the fusion
node's `homography` parameter convention (`cv2.warpPerspective(thermal, H, visible_size)`).
"""

from __future__ import annotations

import numpy as np


class RegistrationError(RuntimeError):
    """The pairs do not give a trustworthy homography (the message says why).

    Nothing is written.
    """


def pixel_scale(sx: float, sy: float | None = None) -> np.ndarray:
    """Homography of a resize by (sx, sy) in the pixel-centre convention that cv2.resize uses."""
    sy = sx if sy is None else sy
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def resize_scale(old_wh: tuple[int, int], new_wh: tuple[int, int]) -> np.ndarray:
    """`pixel_scale` of a resize from old (w, h) to new (w, h) (the exact per-axis ratios)."""
    return pixel_scale(new_wh[0] / old_wh[0], new_wh[1] / old_wh[1])


def normalized(h: np.ndarray) -> np.ndarray:
    """H scaled so that H[2, 2] == 1 (float64 copy)."""
    h = np.asarray(h, dtype=np.float64).reshape(3, 3)
    return h / h[2, 2] if abs(h[2, 2]) > 1e-15 else h.copy()


def corners(width: int, height: int) -> np.ndarray:
    """Return the four outer pixel centres (4x2 float64), clockwise from top-left."""
    w, h = float(width - 1), float(height - 1)
    return np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])


def transform(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply homography h to Nx2 points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    q = np.c_[pts, np.ones(len(pts))] @ np.asarray(h, dtype=np.float64).T
    return q[:, :2] / q[:, 2:3]


def from_corners(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Return the homography taking the 4 src points to the 4 dst points."""
    import cv2

    return normalized(cv2.getPerspectiveTransform(np.float32(src), np.float32(dst)))


def corner_error(h_est: np.ndarray, h_true: np.ndarray, thermal_wh: tuple[int, int]) -> float:
    """Return the mean distance (visible px) between the two homographies' thermal corners.

    That is, between where each homography puts the thermal image corners.
    """
    c = corners(*thermal_wh)
    return float(np.linalg.norm(transform(h_est, c) - transform(h_true, c), axis=1).mean())


def scale_spread(h: np.ndarray, thermal_wh: tuple[int, int]) -> float:
    """Largest / smallest linear magnification of h over the thermal frame's corners.

    1 = affine.
    """
    h = normalized(h)
    c = corners(*thermal_wh)
    w = np.abs(c @ h[2, :2] + 1.0)
    # |det J(p)| = |det H| / w(p)^3, so the linear scale goes with w(p)^-1.5
    return float((w.max() / max(w.min(), 1e-12)) ** 1.5)


def check_plausible(
    h: np.ndarray,
    thermal_wh: tuple[int, int],
    visible_wh: tuple[int, int],
    max_scale_spread: float | None = None,
) -> None:
    """Raise RegistrationError unless h maps the thermal frame to a sane quadrilateral.

    Sane: it overlaps the visible frame (finite, convex, same handedness, area 1/25..25x the
    visible frame) and, with `max_scale_spread`, magnifies no corner more than that many times
    another (side-by-side cameras looking the same way give a nearly affine homography).
    """
    h = np.asarray(h, dtype=np.float64)
    if not np.all(np.isfinite(h)) or abs(np.linalg.det(h)) < 1e-12:
        raise RegistrationError('estimate is degenerate (non-finite or singular homography)')
    q = transform(h, corners(*thermal_wh))
    if not np.all(np.isfinite(q)):
        raise RegistrationError(
            'estimate sends a thermal corner to infinity (degenerate perspective)'
        )
    edges = np.roll(q, -1, axis=0) - q
    turns = (
        edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1]
        - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    )
    if not (np.all(turns > 0) or np.all(turns < 0)) or turns[0] < 0:
        raise RegistrationError(
            'estimate folds or mirrors the thermal frame (not a convex, '
            'same-handedness quadrilateral)'
        )
    area = 0.5 * abs(
        float(np.dot(q[:, 0], np.roll(q[:, 1], -1)) - np.dot(q[:, 1], np.roll(q[:, 0], -1)))
    )
    vis_area = float(visible_wh[0] * visible_wh[1])
    if not vis_area / 25.0 <= area <= vis_area * 25.0:
        raise RegistrationError(
            f'estimate maps the thermal frame to {area / vis_area:.3g}x the visible '
            'area (outside 1/25..25): not a plausible rig'
        )
    if max_scale_spread is not None and scale_spread(h, thermal_wh) > max_scale_spread:
        raise RegistrationError(
            f'estimate bends the thermal frame strongly (magnification varies '
            f'{scale_spread(h, thermal_wh):.2f}x across it, more than '
            f'{max_scale_spread:g}x): not a plausible side-by-side rig'
        )
    lo, hi = q.min(axis=0), q.max(axis=0)
    if hi[0] < 0 or hi[1] < 0 or lo[0] > visible_wh[0] - 1 or lo[1] > visible_wh[1] - 1:
        raise RegistrationError(
            'estimate puts the thermal frame entirely outside the visible frame'
        )
