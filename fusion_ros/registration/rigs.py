# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Simulated thermal/visible rigs.

Resample a registered pair's thermal image through a known homography (smaller thermal sensor,
narrower field of view, a small roll, a mounting offset, mild perspective), so the estimators can
be scored against the truth (tests and `register-bench`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Rig:
    """A simulated rig: thermal sensor size and the true thermal px -> visible px homography."""

    homography: np.ndarray
    thermal_size: tuple[int, int]
    fov: float
    angle_deg: float


def random_rig(
    rng: np.random.Generator,
    visible_wh: tuple[int, int],
    *,
    resolution: float = 0.8,
    fov: tuple[float, float] = (0.75, 0.9),
    max_angle_deg: float = 3.0,
    max_perspective: float = 0.02,
) -> Rig:
    """Return a random rig for a visible camera of size visible_wh.

    resolution: thermal sensor size as a fraction of the visible size; fov: range of the fraction
    of the visible width the thermal camera sees; max_perspective: largest relative scale change
    between opposite thermal edges from the perspective terms; the offset keeps the thermal frame
    inside the visible frame.
    """
    vw, vh = visible_wh
    tw, th = max(8, round(vw * resolution)), max(8, round(vh * resolution))
    f = float(rng.uniform(*fov))
    s = f * vw / tw
    angle = float(rng.uniform(-max_angle_deg, max_angle_deg))
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    px, py = rng.uniform(-1, 1, 2) * max_perspective / np.array([tw, th])
    persp = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [px, py, 1.0]])
    room = 0.5 * (1.0 - f) * np.array([vw, vh]) * 0.6
    dx, dy = rng.uniform(-1, 1, 2) * room
    to_centre = np.array([[1.0, 0.0, -(tw - 1) / 2], [0.0, 1.0, -(th - 1) / 2], [0.0, 0.0, 1.0]])
    place = np.array(
        [[1.0, 0.0, (vw - 1) / 2 + dx], [0.0, 1.0, (vh - 1) / 2 + dy], [0.0, 0.0, 1.0]]
    )
    h = place @ rot @ np.diag([s, s, 1.0]) @ persp @ to_centre
    return Rig(h / h[2, 2], (tw, th), f, angle)


def render_thermal(
    registered_ir: np.ndarray, rig: Rig, noise: float = 0.0, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Return what the rig's thermal camera sees.

    Given a thermal image registered to the visible frame.
    """
    out = cv2.warpPerspective(
        registered_ir,
        rig.homography,
        rig.thermal_size,
        flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    if noise > 0:
        rng = rng or np.random.default_rng(0)
        noisy = out.astype(np.float32) + rng.normal(0.0, noise, out.shape).astype(np.float32)
        out = np.clip(noisy, 0, np.iinfo(out.dtype).max).astype(out.dtype)
    return out
