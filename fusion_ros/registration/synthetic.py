# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic renders with an exactly known thermal->visible homography.

For tests and the bench's control row: a calibration board seen by both cameras, and a
pseudo-thermal image made from a visible one (inverted, gamma-curved, blurred, noisy: a different
appearance, the same geometry).
"""

from __future__ import annotations

import cv2
from fusion_ros.registration.geometry import pixel_scale
import numpy as np

SUPERSAMPLE = 4


def board_image(
    pattern: tuple[int, int],
    square_px: int = 40,
    margin: int = 60,
    canvas: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Return a checkerboard with `pattern` inner corners (cols, rows) and a white margin.

    Placed at `offset` on a mid-grey plane of size `canvas` (w, h) (uint8): the same board held at
    several places of one plane.
    """
    cols, rows = pattern[0] + 1, pattern[1] + 1
    board = np.full((rows * square_px + 2 * margin, cols * square_px + 2 * margin), 255, np.uint8)
    for r in range(rows):
        for c in range(cols):
            if (r + c) % 2 == 0:
                y, x = margin + r * square_px, margin + c * square_px
                board[y: y + square_px, x: x + square_px] = 0
    return _on_plane(board, canvas, offset)


def circles_image(
    pattern: tuple[int, int],
    spacing_px: int = 60,
    radius_px: int = 16,
    canvas: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Return a symmetric grid of `pattern` (cols, rows) dark circles on white.

    Optionally on a plane.
    """
    board = np.full(((pattern[1] + 1) * spacing_px, (pattern[0] + 1) * spacing_px), 255, np.uint8)
    for j in range(pattern[1]):
        for i in range(pattern[0]):
            cv2.circle(
                board,
                ((i + 1) * spacing_px, (j + 1) * spacing_px),
                radius_px,
                0,
                -1,
                lineType=cv2.LINE_AA,
            )
    return _on_plane(board, canvas, offset)


def _on_plane(
    board: np.ndarray, canvas: tuple[int, int] | None, offset: tuple[int, int]
) -> np.ndarray:
    if canvas is None:
        return board
    plane = np.full((canvas[1], canvas[0]), 128, np.uint8)
    x, y = offset
    plane[y: y + board.shape[0], x: x + board.shape[1]] = board
    return plane


def render_view(
    plane: np.ndarray, h: np.ndarray, size: tuple[int, int], background: int = 128
) -> np.ndarray:
    """Return the plane image seen through homography h (plane px -> view px).

    Anti-aliased by supersampling (uint8).
    """
    s = SUPERSAMPLE
    big = cv2.warpPerspective(
        plane,
        pixel_scale(s) @ h,
        (size[0] * s, size[1] * s),
        flags=cv2.INTER_LINEAR,
        borderValue=background,
    )
    return cv2.resize(big, size, interpolation=cv2.INTER_AREA)


def as_thermal(
    image: np.ndarray,
    rng: np.random.Generator,
    contrast: float = 0.35,
    blur: float = 1.2,
    noise: float = 2.0,
) -> np.ndarray:
    """Return a visible-looking grey or BGR image restyled as a thermal one.

    Inverted, low contrast, gamma-curved, blurred and noisy (uint8).
    """
    g = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    g = 1.0 - (g.astype(np.float32) / 255.0) ** 0.6
    g = cv2.GaussianBlur(g, (0, 0), blur) if blur > 0 else g
    g = 40.0 + 255.0 * contrast * g + rng.normal(0.0, noise, g.shape).astype(np.float32)
    return np.clip(g, 0, 255).astype(np.uint8)
