# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Thermal lens distortion from a camera calibration, folded into the thermal -> visible warp.

Why: thermal cores behind wide germanium lenses bend straight lines by several pixels at the
edges, and a homography alone cannot map a bent image onto the visible one. With the thermal
camera's calibration (the numbers of its sensor_msgs/CameraInfo: K, D and the distortion model,
passed in here as plain values, no ROS import), :meth:`CameraLens.warp_maps` builds one remap table
that undistorts and applies the homography in a single resampling pass, as cheap per frame as the
plain perspective warp it replaces. The homography then maps *undistorted* thermal pixels (in the
calibration's pixel frame) to visible pixels.

Supported models are ROS's: ``plumb_bob`` (k1 k2 p1 p2 k3), ``rational_polynomial`` (8
coefficients) and ``equidistant`` (fisheye k1..k4), all through OpenCV's undistortion maps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import cv2
import numpy as np

#: ROS distortion model names -> number of coefficients OpenCV takes.
MODELS = {'plumb_bob': 5, 'rational_polynomial': 8, 'equidistant': 4}


@dataclass(frozen=True)
class CameraLens:
    """A calibrated camera: image size, intrinsics K (row-major 3x3) and distortion D."""

    width: int
    height: int
    k: tuple[float, ...]
    d: tuple[float, ...]
    model: str = 'plumb_bob'

    @classmethod
    def from_camera_info(
        cls, width: int, height: int, k: Sequence[float], d: Sequence[float], distortion_model: str
    ) -> Optional['CameraLens']:
        """Build the lens of a CameraInfo's fields.

        None when there is nothing to undistort (no calibration: K all zero, or zero
        distortion). Raises ValueError for what cannot be used.
        """
        k = tuple(float(v) for v in k)
        d = tuple(float(v) for v in d)
        if len(k) != 9 or not all(np.isfinite(k)) or not all(np.isfinite(d)):
            raise ValueError('camera_info K must hold 9 finite numbers and D finite ones')
        if not any(k) or not any(abs(v) > 1e-12 for v in d):
            return None  # uncalibrated, or a calibration without distortion
        model = str(distortion_model).strip().lower()
        if model not in MODELS:
            raise ValueError(
                f'thermal camera_info distortion model {distortion_model!r} is not '
                f'supported; expected one of {", ".join(MODELS)}'
            )
        if k[0] <= 0 or k[4] <= 0 or k[8] == 0 or width <= 0 or height <= 0:
            raise ValueError(
                f'thermal camera_info is not a usable calibration (fx {k[0]:g}, '
                f'fy {k[4]:g}, size {width}x{height})'
            )
        need = MODELS[model]
        if len(d) < need and model != 'plumb_bob':
            raise ValueError(
                f'{model} needs {need} distortion coefficients, camera_info has {len(d)}'
            )
        d = (d + (0.0,) * need)[:need]
        return cls(int(width), int(height), k, d, model)

    def intrinsics_for(self, width: int, height: int) -> np.ndarray:
        """K for frames of another size than the calibration's (binning, a scaled stream)."""
        sx, sy = width / self.width, height / self.height
        k = np.asarray(self.k, dtype=np.float64).reshape(3, 3) / self.k[8]
        scale = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
        return scale @ k if (sx, sy) != (1.0, 1.0) else k

    def warp_maps(
        self, homography: np.ndarray, raw_size: tuple[int, int], out_size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Build cv2.remap tables for the undistortion and the homography.

        For each output pixel: where to sample the raw (distorted) thermal frame of ``raw_size``
        (w, h), when ``homography`` maps undistorted thermal pixels to output pixels of
        ``out_size`` (w, h).
        """
        k = self.intrinsics_for(*raw_size)
        # OpenCV inverts (new camera matrix @ R) per output pixel, divides by the third
        # coordinate, then distorts and projects with K: new camera matrix = H @ K does both steps.
        new_camera = np.asarray(homography, dtype=np.float64) @ k
        d = np.asarray(self.d, dtype=np.float64)
        if self.model == 'equidistant':
            return cv2.fisheye.initUndistortRectifyMap(
                k, d, np.eye(3), new_camera, out_size, cv2.CV_16SC2
            )
        return cv2.initUndistortRectifyMap(k, d, None, new_camera, out_size, cv2.CV_16SC2)

    def undistort_points(self, points: np.ndarray, raw_size: tuple[int, int]) -> np.ndarray:
        """Map raw (distorted) pixel coordinates (N x 2) to undistorted ones (the same K frame).

        What target-based registration does to board corners before fitting the homography.
        """
        k = self.intrinsics_for(*raw_size)
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        d = np.asarray(self.d, dtype=np.float64)
        if self.model == 'equidistant':
            return cv2.fisheye.undistortPoints(pts, k, d, P=k).reshape(-1, 2)
        return cv2.undistortPoints(pts, k, d, P=k).reshape(-1, 2)

    def undistort_image(self, image: np.ndarray) -> np.ndarray:
        """Return the frame as the node sees it before the homography (undistorted, same size).

        Target-free registration estimates the homography on these frames, so it maps
        undistorted thermal pixels, the node's convention when it undistorts.
        """
        h, w = image.shape[:2]
        maps = self.warp_maps(np.eye(3), (w, h), (w, h))
        return cv2.remap(image, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def distort_points(self, points: np.ndarray, raw_size: tuple[int, int]) -> np.ndarray:
        """Map undistorted pixel coordinates (N x 2) to raw (distorted) ones.

        The forward model, for tests and checks.
        """
        k = self.intrinsics_for(*raw_size)
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        normalised = cv2.undistortPoints(pts, k, None)  # K^-1 only: no distortion given
        d = np.asarray(self.d, dtype=np.float64)
        if self.model == 'equidistant':
            return cv2.fisheye.distortPoints(normalised, k, d).reshape(-1, 2)
        rays = cv2.convertPointsToHomogeneous(normalised).reshape(-1, 3)
        projected, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), k, d)
        return projected.reshape(-1, 2)
