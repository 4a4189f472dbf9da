# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Modality-neutral edge images.

What thermal and visible have in common is *where* the edges are, not their sign or strength (a
person is bright in thermal and dark in visible, a painted line is invisible in thermal). So both
images become normalised gradient magnitudes, compressed so that the few very strong visible
texture edges do not dominate the correlation.
"""

from __future__ import annotations

import cv2
import numpy as np


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8/uint16 grey or BGR -> float32 in [0, 1].

    16-bit (radiometric) and low-contrast 8-bit thermal are stretched between their 0.5th and
    99.5th percentiles.
    """
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., 0] if img.shape[2] == 1 else cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)
    img = img.astype(np.float32)
    step = max(1, int(np.sqrt(img.size / 65536)))  # percentiles of a ~64k-pixel subsample: fast
    lo, hi = (float(v) for v in np.percentile(img[::step, ::step], (0.5, 99.5)))
    if hi - lo < 1e-6:
        return np.zeros(img.shape, np.float32)
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def edge_image(gray: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gradient magnitude after a Gaussian blur of `sigma` px.

    Divided by its mean and compressed with g / (1 + g) (float32, 0 where the image is flat).
    """
    g = cv2.GaussianBlur(gray, (0, 0), sigma) if sigma > 0 else gray
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    mean = float(mag.mean())
    if mean < 1e-6:
        return np.zeros_like(mag)
    mag /= 2.0 * mean
    return mag / (1.0 + mag)


def downscale(image: np.ndarray, factor: float) -> tuple[np.ndarray, tuple[int, int]]:
    """Area-resize by `factor` (<= 1); returns the image and its (w, h)."""
    h, w = image.shape[:2]
    size = (max(8, round(w * factor)), max(8, round(h * factor)))
    if size == (w, h):
        return image, size
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), size


def is_textured(edges: np.ndarray, min_fraction: float = 0.01) -> bool:
    """Return True if at least `min_fraction` of the pixels carry an edge.

    Flat or blank images do not.
    """
    return bool(np.count_nonzero(edges > 0.25) >= min_fraction * edges.size)
