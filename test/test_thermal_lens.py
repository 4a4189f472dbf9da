# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Thermal undistortion from camera_info (issue 15).

The remap tables against OpenCV's forward lens model, and a pipeline that straightens a
barrel-distorted thermal grid before fusing it.
"""

from __future__ import annotations

import cv2
from fusion_ros.runtime import load_pipeline
from fusion_ros.runtime.lens import CameraLens
from fusion_ros.runtime.options import ProcessingOptions
import numpy as np
import pytest
from ros_helpers import make_onnx_model

K = [300.0, 0.0, 160.0, 0.0, 300.0, 128.0, 0.0, 0.0, 1.0]
LENSES = {
    'plumb_bob': [-0.3, 0.1, 0.001, -0.002, 0.0],
    'rational_polynomial': [-0.3, 0.1, 0.001, -0.002, 0.01, 0.02, 0.0, 0.0],
    'equidistant': [-0.05, 0.01, 0.0, 0.0],
}


@pytest.mark.parametrize('model', sorted(LENSES))
@pytest.mark.parametrize(
    'raw_size', [(320, 256), (160, 128)]
)  # the calibration's size, and binned
def test_warp_maps_follow_the_lens_model(model, raw_size):
    lens = CameraLens.from_camera_info(320, 256, K, LENSES[model], model)
    h = np.array([[1.9, 0.05, 20.0], [-0.03, 1.95, 8.0], [1e-5, 2e-5, 1.0]])
    if raw_size != (320, 256):
        h = h @ np.diag([2.0, 2.0, 1.0])
    map1, map2 = lens.warp_maps(h, raw_size, (640, 512))
    mx, my = cv2.convertMaps(map1, map2, cv2.CV_32FC1)
    out = np.array([[100, 80], [320, 256], [600, 500], [10, 400], [630, 20]], np.float64)
    undistorted = cv2.perspectiveTransform(out.reshape(-1, 1, 2), np.linalg.inv(h)).reshape(-1, 2)
    expected = lens.distort_points(undistorted, raw_size)
    got = np.stack(
        [
            mx[out[:, 1].astype(int), out[:, 0].astype(int)],
            my[out[:, 1].astype(int), out[:, 0].astype(int)],
        ],
        axis=1,
    )
    assert np.abs(got - expected).max() < 0.05  # 1/32 px fixed-point tables


def test_no_calibration_or_no_distortion_means_no_lens():
    assert CameraLens.from_camera_info(320, 256, [0.0] * 9, [0.1, 0, 0, 0, 0], 'plumb_bob') is None
    assert CameraLens.from_camera_info(320, 256, K, [0.0] * 5, 'plumb_bob') is None
    assert CameraLens.from_camera_info(320, 256, K, [], '') is None


@pytest.mark.parametrize(
    'k, d, model, fragment',
    [
        (K, [0.1, 0.0, 0.0, 0.0, 0.0], 'kannala_brandt_v2', 'not supported'),
        (
            [0.0, 0, 160, 0, 300, 128, 0, 0, 1],
            [0.1, 0, 0, 0, 0],
            'plumb_bob',
            'not a usable calibration',
        ),
        (K, [0.1, float('nan'), 0, 0, 0], 'plumb_bob', 'finite'),
        (K, [0.1, 0.0], 'equidistant', 'needs 4'),
    ],
)
def test_unusable_calibrations_are_refused_with_the_reason(k, d, model, fragment):
    with pytest.raises(ValueError, match=fragment):
        CameraLens.from_camera_info(320, 256, k, d, model)


def _grid(w: int, h: int) -> np.ndarray:
    img = np.zeros((h, w), np.uint8)
    img[:, ::32] = 255
    img[::32, :] = 255
    return cv2.GaussianBlur(img, (3, 3), 0)


def _barrel(truth: np.ndarray, lens: CameraLens) -> np.ndarray:
    """Render what the thermal camera records: each raw pixel sees the truth undistorted."""
    h, w = truth.shape
    k = lens.intrinsics_for(w, h)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pts = np.stack([xs.ravel(), ys.ravel()], 1).reshape(-1, 1, 2)
    und = cv2.undistortPoints(pts, k, np.asarray(lens.d), P=k).reshape(h, w, 2).astype(np.float32)
    return cv2.remap(truth, und[..., 0], und[..., 1], cv2.INTER_LINEAR)


def test_pipeline_straightens_a_distorted_thermal_frame(tmp_path):
    """Straighten a distorted thermal frame through the pipeline.

    A thermal-only model (fused = thermal) shows the registered thermal plane: with the lens it
    matches the undistorted truth; with undistort_thermal off the barrel bend stays.
    """
    model = make_onnx_model(tmp_path / 'thermal_only.onnx', 1.0)
    lens = CameraLens.from_camera_info(320, 256, K, LENSES['plumb_bob'], 'plumb_bob')
    truth = _grid(320, 256)
    raw = _barrel(truth, lens)
    visible = np.full((256, 320), 0, np.uint8)
    pipe = load_pipeline(model, backend='cpu', allow_unverified=True)
    pipe.update_options({'thermal_agc_8bit': 'none'})
    before = pipe.fuse(visible, raw).image
    pipe.set_thermal_lens(lens)
    after = pipe.fuse(visible, raw).image
    inner = (slice(24, -24), slice(24, -24))  # the corners leave the frame when undistorted

    def error(img):
        return float(np.abs(img[inner].astype(int) - truth[inner].astype(int)).mean())

    assert error(after) < 0.35 * error(before), (error(after), error(before))
    pipe.update_options(ProcessingOptions(undistort_thermal=False, thermal_agc_8bit='none'))
    assert np.array_equal(pipe.fuse(visible, raw).image, before)
    with pytest.raises(ValueError, match='true or false'):
        ProcessingOptions(undistort_thermal='yes')
