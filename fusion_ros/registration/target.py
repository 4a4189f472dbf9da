# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Target-based registration: a calibration board both cameras see.

Heated/cooled so the thermal camera sees it: aluminium squares or holes on a dark board, a printed
board warmed by a lamp.

OpenCV's detectors run on the visible grey image and on the thermal image after contrast
normalisation (percentile stretch + CLAHE; both polarities, since a cooled board is inverted).
With camera_info intrinsics the points are undistorted first, and the homography then maps
*rectified* thermal pixels to rectified visible pixels. A homography is exact for the board's
plane only: hold the board at the working distance, or far away (parallax shrinks with distance).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import cv2
from fusion_ros.registration.blocks import fit_homography
from fusion_ros.registration.geometry import check_plausible, RegistrationError, transform
from fusion_ros.registration.targetfree import PairEstimate, Registration
from fusion_ros.runtime.lens import CameraLens
import numpy as np

KINDS = ('checkerboard', 'circles')


def parse_pattern(text: str) -> tuple[int, int]:
    """Parse 'COLSxROWS' -> (cols, rows).

    Inner corners of a checkerboard, or circles of a grid.
    """
    try:
        cols, rows = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise ValueError(f'pattern {text!r} is not COLSxROWS, e.g. 9x6') from None
    if cols < 2 or rows < 2:
        raise ValueError(f'pattern {text!r} needs at least 2x2 points')
    return cols, rows


def load_camera_info(path: Path) -> CameraLens | None:
    """Read a camera_info YAML (camera_calibration's file, or a sensor_msgs/CameraInfo dump).

    None when the calibration has no distortion (nothing to undistort); the lens is the same
    :class:`CameraLens` the fusion node builds from a CameraInfo message, so both undistort alike.
    """
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    k = _matrix_data(data, 'camera_matrix', ('k', 'K'))
    if k is None or len(k) != 9:
        raise ValueError(f'{path}: no 3x3 camera_matrix / k in this camera_info YAML')
    d = _matrix_data(data, 'distortion_coefficients', ('d', 'D')) or []
    width = int(data.get('image_width', data.get('width', 0)))
    height = int(data.get('image_height', data.get('height', 0)))
    try:
        return CameraLens.from_camera_info(
            width, height, k, d, str(data.get('distortion_model', 'plumb_bob'))
        )
    except ValueError as exc:
        raise ValueError(f'{path}: {exc} (image_width / image_height are needed too)') from exc


def _matrix_data(data: dict, calibration_key: str, message_keys: tuple[str, ...]) -> list | None:
    """Return a camera_calibration ``{rows, cols, data}`` block, else the CameraInfo field."""
    block = data.get(calibration_key)
    if isinstance(block, dict) and block.get('data') is not None:
        return list(block['data'])
    for key in message_keys:
        if data.get(key) is not None:
            return list(data[key])
    return None


def _undistort(lens: CameraLens | None, points: np.ndarray, image: np.ndarray) -> np.ndarray:
    return lens.undistort_points(points, (image.shape[1], image.shape[0])) if lens else points


def normalise_contrast(image: np.ndarray) -> np.ndarray:
    """Any grey/BGR image (8 or 16 bit) -> uint8 stretched between its 1st and 99th percentile.

    Then CLAHE, so a faint heated board gets full contrast.
    """
    from fusion_ros.registration.features import to_gray

    gray = to_gray(image)
    lo, hi = (float(v) for v in np.percentile(gray, (1, 99)))
    u8 = np.clip((gray - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(u8)


def detect_board(image: np.ndarray, kind: str, pattern: tuple[int, int]) -> np.ndarray | None:
    """Sub-pixel board points (N x 2, row-major) or None; tries both polarities."""
    gray = normalise_contrast(image)
    for img in (gray, 255 - gray):
        if kind == 'checkerboard':
            ok, pts = cv2.findChessboardCornersSB(
                img,
                pattern,
                flags=cv2.CALIB_CB_NORMALIZE_IMAGE
                | cv2.CALIB_CB_EXHAUSTIVE
                | cv2.CALIB_CB_ACCURACY,
            )
            if not ok:
                ok, pts = cv2.findChessboardCorners(
                    img, pattern, flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
                )
                if ok:
                    pts = cv2.cornerSubPix(
                        img,
                        pts,
                        (5, 5),
                        (-1, -1),
                        (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-3),
                    )
        elif kind == 'circles':
            ok, pts = cv2.findCirclesGrid(img, pattern, flags=cv2.CALIB_CB_SYMMETRIC_GRID)
        else:
            raise ValueError(f'target kind {kind!r} is not one of {", ".join(KINDS)}')
        if ok and pts is not None:
            return np.asarray(pts, np.float64).reshape(-1, 2)
    return None


def _same_order(thermal: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Detectors may start a symmetric board at either end.

    The cameras are mounted the same way up, so the first-to-last direction must agree.
    """
    if np.dot(thermal[-1] - thermal[0], visible[-1] - visible[0]) < 0:
        return thermal[::-1].copy()
    return thermal


def register_target(
    thermals: Sequence[np.ndarray],
    visibles: Sequence[np.ndarray],
    kind: str,
    pattern: tuple[int, int],
    square_mm: float | None = None,
    names: Sequence[str] | None = None,
    thermal_info: CameraLens | None = None,
    visible_info: CameraLens | None = None,
) -> Registration:
    """Homography from board points found in both images of each pair (all pairs together)."""
    names = list(names) if names is not None else [f'pair{k:03d}' for k in range(len(thermals))]
    estimates, th_all, vis_all, owners = [], [], [], []
    for name, ir, vis in zip(names, thermals, visibles):
        e = PairEstimate(name)
        t_pts, v_pts = detect_board(ir, kind, pattern), detect_board(vis, kind, pattern)
        if t_pts is None or v_pts is None:
            e.error = (
                f'{kind} {pattern[0]}x{pattern[1]} not found in the '
                + ('thermal' if t_pts is None else 'visible')
                + ' image'
            )
        else:
            t_pts = _undistort(thermal_info, t_pts, ir)
            v_pts = _undistort(visible_info, v_pts, vis)
            t_pts = _same_order(t_pts, v_pts)
            th_all.append(t_pts)
            vis_all.append(v_pts)
            owners.append(e)
            e.blocks = len(t_pts)
        estimates.append(e)
    if not owners:
        raise RegistrationError(
            'the board was found in no pair: '
            + '; '.join(f'{e.name}: {e.error}' for e in estimates)[:500]
        )
    h = fit_homography(np.vstack(th_all), np.vstack(vis_all), threshold=3.0)
    if h is None:
        raise RegistrationError('board points do not fit one homography')
    t_wh = (thermals[0].shape[1], thermals[0].shape[0])
    v_wh = (visibles[0].shape[1], visibles[0].shape[0])
    for e, t_pts, v_pts in zip(owners, th_all, vis_all):
        e.homography = fit_homography(t_pts, v_pts, threshold=3.0)
        e.deviation = float(np.sqrt(np.mean(np.sum((transform(h, t_pts) - v_pts) ** 2, axis=1))))
        e.inlier = e.deviation <= 2.0
        e.error = (
            None if e.inlier else f'board points {e.deviation:.2f} px rms off the fit (parallax?)'
        )
    if sum(e.inlier for e in owners) < math.ceil(0.5 * len(owners)):
        raise RegistrationError(
            'board views disagree (rms residuals '
            + ', '.join(f'{e.deviation:.1f}' for e in owners)
            + ' px): boards at '
            'very different distances cannot share one homography'
        )
    check_plausible(h, t_wh, v_wh)
    size = f', {square_mm:g} mm squares' if square_mm else ''
    return Registration(
        h,
        t_wh,
        v_wh,
        f'target ({kind} {pattern[0]}x{pattern[1]}{size})',
        estimates,
        sum(len(t) for t in th_all),
    )
