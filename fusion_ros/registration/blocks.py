# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Block matching of edge images, summed over pairs, and the homography fitted to it.

The thermal edges are warped into the visible frame by the current estimate and cut into blocks;
each block is matched (normalised cross-correlation, +-radius px) against the visible edges.
Because the rig is fixed, a block's correlation maps of all pairs are *summed* before the peak is
taken: a pair where that block shows sky adds a flat map, a pair with a pole adds a sharp peak. The
sub-pixel peaks are point correspondences; a robust least-squares homography through them is the
update. The same correspondences per pair give each pair's own estimate (for the consistency
check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

#: A block's summed map must peak at a mean NCC of at least this to be used.
MIN_BLOCK_NCC = 0.08
#: Blocks per visible width.
BLOCKS_ACROSS = 8


@dataclass
class Matches:
    """Correspondences of one round.

    Thermal points (full-res px), visible points, weights, and per-pair visible points (NaN where
    that pair's own peak was unusable).
    """

    thermal: np.ndarray  # N x 2
    visible: np.ndarray  # N x 2
    score: np.ndarray  # N, mean NCC at the summed peak
    per_pair: np.ndarray  # P x N x 2


def subpixel_peak(scores: np.ndarray) -> tuple[float, float, float]:
    """(x, y, value) of the maximum of a score map, refined by a parabola per axis."""
    _, peak, _, (x, y) = cv2.minMaxLoc(scores)
    fx, fy = float(x), float(y)
    if 0 < x < scores.shape[1] - 1:
        a, b, c = scores[y, x - 1], scores[y, x], scores[y, x + 1]
        fx += 0.5 * (a - c) / (a - 2 * b + c) if abs(a - 2 * b + c) > 1e-12 else 0.0
    if 0 < y < scores.shape[0] - 1:
        a, b, c = scores[y - 1, x], scores[y, x], scores[y + 1, x]
        fy += 0.5 * (a - c) / (a - 2 * b + c) if abs(a - 2 * b + c) > 1e-12 else 0.0
    return fx, fy, float(peak)


def _block_grid(mask: np.ndarray, block: int, radius: int) -> list[tuple[int, int]]:
    """Top-left corners of blocks whose whole search window lies inside the valid mask."""
    h, w = mask.shape
    stride = max(4, block // 2)
    integral = cv2.integral(mask.astype(np.uint8))
    out = []
    for y in range(radius, h - block - radius + 1, stride):
        for x in range(radius, w - block - radius + 1, stride):
            y0, y1, x0, x1 = y - radius, y + block + radius, x - radius, x + block + radius
            inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
            if inside == (y1 - y0) * (x1 - x0):
                out.append((x, y))
    return out


def match_blocks(
    thermal_edges: Sequence[np.ndarray],
    visible_edges: Sequence[np.ndarray],
    h: np.ndarray,
    radius: int,
) -> Matches:
    """Block correspondences of all pairs at warp h (all images at one pyramid level, h in it)."""
    vh, vw = visible_edges[0].shape
    block = max(24, vw // BLOCKS_ACROSS)
    warped = [cv2.warpPerspective(t, h, (vw, vh), flags=cv2.INTER_LINEAR) for t in thermal_edges]
    mask = (
        cv2.warpPerspective(np.ones_like(thermal_edges[0]), h, (vw, vh), flags=cv2.INTER_LINEAR)
        > 0.999
    )
    th_pts, vis_pts, scores, per_pair = [], [], [], []
    for x, y in _block_grid(mask, block, radius):
        total, maps = None, []
        for wt, ve in zip(warped, visible_edges):
            tmpl = wt[y: y + block, x: x + block]
            window = ve[y - radius: y + block + radius, x - radius: x + block + radius]
            ok = float(tmpl.std()) > 1e-4 and float(window.std()) > 1e-4
            m = cv2.matchTemplate(window, tmpl, cv2.TM_CCOEFF_NORMED) if ok else None
            maps.append(m)
            if m is not None:
                total = m if total is None else total + m
        if total is None:
            continue
        px, py, peak = subpixel_peak(total)
        if peak / len(warped) < MIN_BLOCK_NCC or not (0 < px < 2 * radius and 0 < py < 2 * radius):
            continue
        centre = np.array([x + (block - 1) / 2.0, y + (block - 1) / 2.0])
        th_pts.append(centre)
        vis_pts.append(centre + (px - radius, py - radius))
        scores.append(peak / len(warped))
        per_pair.append([_own_peak(m, centre, radius) for m in maps])
    inv = np.linalg.inv(h)
    th = np.array(th_pts).reshape(-1, 2)
    if len(th):
        q = np.c_[th, np.ones(len(th))] @ inv.T
        th = q[:, :2] / q[:, 2:3]
    return Matches(
        th,
        np.array(vis_pts).reshape(-1, 2),
        np.array(scores),
        np.array(per_pair).reshape(len(th_pts), len(warped), 2).transpose(1, 0, 2),
    )


def _own_peak(m: np.ndarray | None, centre: np.ndarray, radius: int) -> tuple[float, float]:
    if m is None:
        return (np.nan, np.nan)
    px, py, peak = subpixel_peak(m)
    if peak < 2 * MIN_BLOCK_NCC or not (0 < px < 2 * radius and 0 < py < 2 * radius):
        return (np.nan, np.nan)
    return (centre[0] + px - radius, centre[1] + py - radius)


def fit_homography(
    thermal: np.ndarray, visible: np.ndarray, threshold: float
) -> np.ndarray | None:
    """Robust (RANSAC, then least squares on the inliers) homography; None if under-determined."""
    if len(thermal) < 6:
        return None
    h, inliers = cv2.findHomography(
        thermal, visible, cv2.RANSAC, threshold, maxIters=2000, confidence=0.999
    )
    if h is None:
        return None
    keep = inliers.ravel().astype(bool)
    if keep.sum() < 6:
        return None
    h, _ = cv2.findHomography(thermal[keep], visible[keep], 0)
    return None if h is None else h / h[2, 2]
