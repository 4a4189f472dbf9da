# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Coarse global search for the thermal->visible homography.

Scale, rotation and offset by normalised cross-correlation of edge images, summed over all pairs (a
rig is fixed, so every pair votes for the same answer; one textureless pair cannot pull the peak
away).
"""

from __future__ import annotations

from typing import Sequence

import cv2
from fusion_ros.registration.features import downscale, edge_image
from fusion_ros.registration.geometry import RegistrationError, resize_scale
import numpy as np

#: Visible width of the search level (px): coarse enough to be fast, fine enough to lock on.
SEARCH_WIDTH = 200
#: The template is at most this fraction of the visible search image, leaving room to slide.
TEMPLATE_FRACTION = 0.8


def _template(
    edges: np.ndarray, scale: float, angle_deg: float, max_wh: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Thermal edges scaled and rotated about their centre, centre-cropped to at most max_wh.

    Returns the template and the 3x3 affine from thermal-level pixels to template pixels.
    """
    h, w = edges.shape
    tw = min(max_wh[0], max(8, int(round(w * scale))))
    th = min(max_wh[1], max(8, int(round(h * scale))))
    a = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, scale)
    a[:, 2] += ((tw - 1) / 2.0 - (w - 1) / 2.0, (th - 1) / 2.0 - (h - 1) / 2.0)
    tmpl = cv2.warpAffine(
        edges, a, (tw, th), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return tmpl, np.vstack([a, (0.0, 0.0, 1.0)])


def scale_candidates(
    thermal_w: int, visible_w: int, fov_range: tuple[float, float], step: float = 0.025
) -> np.ndarray:
    """Return visible px per thermal px for thermal fields of view fov_range, on a geometric grid.

    The fields of view are fractions of the visible width.
    """
    lo, hi = (f * visible_w / thermal_w for f in fov_range)
    if not 0 < lo <= hi:
        raise ValueError(f'bad field-of-view range {fov_range}')
    n = max(1, int(np.ceil(np.log(hi / lo) / np.log1p(step))) + 1)
    return np.geomspace(lo, hi, n)


def coarse_search(
    thermals: Sequence[np.ndarray],
    visibles: Sequence[np.ndarray],
    fov_range: tuple[float, float] = (0.5, 1.1),
    angles: Sequence[float] = (-2.5, 0.0, 2.5),
) -> tuple[np.ndarray, float]:
    """Best similarity homography (full-resolution thermal px -> visible px) and its mean NCC.

    thermals / visibles: float32 grey images in [0, 1], all thermals one size, all visibles one
    size.
    """
    vh, vw = visibles[0].shape
    th, tw = thermals[0].shape
    factor = min(1.0, SEARCH_WIDTH / vw)
    vis_edges, t_edges, v_size, t_size = [], [], (vw, vh), (tw, th)
    for vis, ir in zip(visibles, thermals):
        v_small, v_size = downscale(vis, factor)
        t_small, t_size = downscale(ir, factor)
        vis_edges.append(edge_image(v_small, 1.5))
        t_edges.append(edge_image(t_small, 1.5))
    max_wh = (int(v_size[0] * TEMPLATE_FRACTION), int(v_size[1] * TEMPLATE_FRACTION))
    best = (-np.inf, None)
    for scale in scale_candidates(t_size[0], v_size[0], fov_range):
        for angle in angles:
            total, affine = None, None
            for te, ve in zip(t_edges, vis_edges):
                tmpl, affine = _template(te, scale, angle, max_wh)
                if float(tmpl.std()) < 1e-6 or float(ve.std()) < 1e-6:
                    continue
                ncc = cv2.matchTemplate(ve, tmpl, cv2.TM_CCOEFF_NORMED)
                total = ncc if total is None else total + ncc
            if total is None:
                continue
            _, peak, _, loc = cv2.minMaxLoc(total)
            if peak > best[0]:
                shift = np.array([[1.0, 0.0, loc[0]], [0.0, 1.0, loc[1]], [0.0, 0.0, 1.0]])
                best = (peak, shift @ affine)
    if best[1] is None:
        raise RegistrationError('no pair has edges to register (blank or flat images)')
    h = np.linalg.inv(resize_scale((vw, vh), v_size)) @ best[1] @ resize_scale((tw, th), t_size)
    return h / h[2, 2], float(best[0]) / len(thermals)
