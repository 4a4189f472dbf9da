# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The check picture of a registration.

The edges of both cameras overlaid before (thermal just resized to the visible frame, what the node
does with the identity homography) and after the estimated warp, plus each pair's residual, so a
user sees at a glance whether it worked.
"""

from __future__ import annotations

from typing import Sequence

import cv2
from fusion_ros.images.visuals import label
from fusion_ros.registration.features import edge_image, to_gray
import numpy as np

PANEL_WIDTH = 560


def strong_edges(gray: np.ndarray, keep: float = 0.12) -> np.ndarray:
    """Return the strongest `keep` fraction of an image's edges (float32 0/1).

    Thin enough to see.
    """
    e = edge_image(gray, 1.5)
    return (e >= np.quantile(e, 1.0 - keep)).astype(np.float32)


def edge_overlay(visible_edges: np.ndarray, thermal_edges: np.ndarray) -> np.ndarray:
    """Visible edges green, thermal edges magenta; where they coincide, white."""
    return (np.dstack([thermal_edges, visible_edges, thermal_edges]) * 255).astype(np.uint8)


def _panel(image: np.ndarray, text: str) -> np.ndarray:
    h, w = image.shape[:2]
    size = (PANEL_WIDTH, max(1, round(h * PANEL_WIDTH / w)))
    return label(cv2.resize(image, size, interpolation=cv2.INTER_AREA), text)


def residual_chart(
    names: Sequence[str], values: Sequence[float], inliers: Sequence[bool], unit: str, width: int
) -> np.ndarray:
    """Horizontal bars, one per pair (red: rejected)."""
    row, pad = 18, 150
    chart = np.full((row * len(names) + 28, width, 3), 24, np.uint8)
    finite = [v for v in values if np.isfinite(v)]
    top = max(finite + [1e-9])
    cv2.putText(
        chart,
        f'per-pair residual ({unit}; red = rejected)',
        (6, 16),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    for k, (name, value, ok) in enumerate(zip(names, values, inliers)):
        y = 28 + k * row
        colour = (90, 200, 90) if ok else (60, 60, 230)
        text = f'{name[:14]} {value:.2f}' if np.isfinite(value) else f'{name[:14]} n/a'
        cv2.putText(
            chart, text, (6, y + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA
        )
        if np.isfinite(value):
            cv2.rectangle(
                chart,
                (pad, y + 3),
                (pad + int((width - pad - 10) * value / top), y + row - 3),
                colour,
                -1,
            )
    return chart


def check_picture(
    thermal: np.ndarray,
    visible: np.ndarray,
    h: np.ndarray,
    names: Sequence[str],
    residuals: Sequence[float],
    inliers: Sequence[bool],
    unit: str,
    title: str,
) -> np.ndarray:
    """Before | after edge overlays of one pair, the residual chart below (BGR uint8)."""
    vh, vw = visible.shape[:2]
    v_edges, t_edges = strong_edges(to_gray(visible)), strong_edges(to_gray(thermal))
    before = cv2.resize(t_edges, (vw, vh), interpolation=cv2.INTER_LINEAR)
    after = cv2.warpPerspective(t_edges, h, (vw, vh), flags=cv2.INTER_LINEAR)
    row = np.hstack(
        [
            _panel(edge_overlay(v_edges, before), 'before: thermal resized'),
            _panel(edge_overlay(v_edges, after), f'after: {title}'),
        ]
    )
    chart = residual_chart(names, residuals, inliers, unit, row.shape[1])
    return np.vstack([row, chart])
