# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Folders of registered IR/visible pairs and the conversion of their images for the networks.

Pairs are matched by file stem; images become the networks' [0, 1] single-channel inputs (no ROS,
no torch: the bag reader and the trainer share it).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {'.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff'}


def image_files(folder: Path) -> dict[str, Path]:
    """Map file stem -> path for every image in a folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f'not a folder: {folder}')
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}


def matched_pairs(ir_dir: Path, vis_dir: Path) -> list[tuple[str, Path, Path]]:
    """(stem, ir_path, vis_path) for every stem present in both folders, sorted by stem."""
    ir, vis = image_files(Path(ir_dir)), image_files(Path(vis_dir))
    common = sorted(ir.keys() & vis.keys())
    if not common:
        raise FileNotFoundError(
            f'no pairs: no file stem is present in both {ir_dir} and {vis_dir}'
        )
    return [(stem, ir[stem], vis[stem]) for stem in common]


def read_thermal(path: Path) -> np.ndarray:
    """Thermal as HxW uint8 or uint16 (16-bit PNG/TIFF kept radiometric)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OSError(f'cannot read image {path}')
    return image[..., 0] if image.ndim == 3 else image


def read_visible(path: Path) -> np.ndarray:
    """Visible as HxW uint8 or HxWx3 uint8 BGR."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OSError(f'cannot read image {path}')
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def thermal_to_unit(image: np.ndarray) -> np.ndarray:
    """uint8 -> /255; 16-bit radiometric -> min-max stretch of the frame (float32 in [0, 1])."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    image = image.astype(np.float32)
    lo, hi = float(image.min()), float(image.max())
    return (image - lo) / max(hi - lo, 1e-6)


def visible_to_luminance(image: np.ndarray) -> np.ndarray:
    """uint8 gray or BGR -> float32 luminance in [0, 1] (Y of YCrCb for colour)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb)[..., 0]
    return image.astype(np.float32) / 255.0


def resize_max_side(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downsize (area interpolation) so the longer side is at most ``max_side``; None/0 = as is."""
    if not max_side or max(image.shape[:2]) <= max_side:
        return image
    scale = max_side / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
