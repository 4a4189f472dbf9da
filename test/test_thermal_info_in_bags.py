# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""A thermal camera_info recorded in a bag is used offline as the node uses it live.

`fusion-ros register --bag` undistorts the thermal frames with it before estimating the
homography (so the homography maps undistorted thermal pixels, the node's convention), and
`fuse-bag` undistorts before the warp exactly as the node's pipeline does. Real rosbag2 files, the
real estimator and a real ONNX Runtime session.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from fusion_ros.bags.io import (
    BagWriter,
    CAMERA_INFO,
    camera_info,
    IMAGE,
    numpy_to_image,
    serialize,
)
from fusion_ros.cli.main import main
from fusion_ros.registration import corner_error
from fusion_ros.registration.params import read_homography
from fusion_ros.registration.rigs import random_rig, render_thermal
from fusion_ros.registration.synthetic import as_thermal
from fusion_ros.runtime.lens import CameraLens
import numpy as np
import pytest

DEMO = Path(__file__).resolve().parents[1] / 'fusion_ros' / 'data' / 'demo'
STEMS = ('01', '04', '14', '21')
VIS, THERM, THERM_INFO = (
    '/rig/visible/image_raw',
    '/rig/thermal/image_raw',
    '/rig/thermal/camera_info',
)
T0 = 1_735_689_600 * 1_000_000_000


@pytest.fixture(scope='module')
def demo():
    vis = [cv2.imread(str(DEMO / f'vi_{s}.png'), cv2.IMREAD_COLOR) for s in STEMS]
    ir = [cv2.imread(str(DEMO / f'ir_{s}.png'), cv2.IMREAD_UNCHANGED) for s in STEMS]
    return [i[..., 0] if i.ndim == 3 else i for i in ir], vis


def _lens(width: int, height: int) -> CameraLens:
    """Return a wide thermal lens with strong barrel distortion (tens of px at the corners)."""
    f = 0.9 * width
    k = (f, 0.0, (width - 1) / 2, 0.0, f, (height - 1) / 2, 0.0, 0.0, 1.0)
    return CameraLens.from_camera_info(width, height, k, (-0.3, 0.08, 0.0, 0.0, 0.0), 'plumb_bob')


def _distort(image: np.ndarray, lens: CameraLens) -> np.ndarray:
    """Return what the raw (distorted) camera records of an ideal pinhole image."""
    h, w = image.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    ideal = lens.undistort_points(np.stack([xs.ravel(), ys.ravel()], 1), (w, h))
    ideal = ideal.reshape(h, w, 2).astype(np.float32)
    return cv2.remap(image, ideal[..., 0], ideal[..., 1], cv2.INTER_LINEAR, cv2.BORDER_REFLECT)


def _write_rig_bag(path: Path, visibles, raw_thermals, lens: CameraLens) -> Path:
    with BagWriter(path) as bag:
        for topic, msgtype in ((VIS, IMAGE), (THERM, IMAGE), (THERM_INFO, CAMERA_INFO)):
            bag.add_topic(topic, msgtype)
        for k, (vis, th) in enumerate(zip(visibles, raw_thermals)):
            stamp = T0 + k * 100_000_000
            info = camera_info(lens.width, lens.height, stamp + 2_000_000, 'th', fx=lens.k[0])
            info.k, info.d = np.array(lens.k, np.float64), np.array(lens.d, np.float64)
            bag.write_raw(THERM_INFO, stamp + 2_000_000, serialize(info))
            bag.write_raw(VIS, stamp, serialize(numpy_to_image(vis, 'bgr8', stamp, 'vis')))
            encoding = 'mono8' if th.dtype == np.uint8 else 'mono16'
            bag.write_raw(
                THERM,
                stamp + 2_000_000,
                serialize(numpy_to_image(th, encoding, stamp + 2_000_000, 'th')),
            )
    return path


def _register(bag: Path, out: Path, *extra: str) -> int:
    return main(
        [
            'register',
            '--bag',
            str(bag),
            '--visible-topic',
            VIS,
            '--thermal-topic',
            THERM,
            '--every',
            '1',
            '--out',
            str(out),
            *extra,
        ]
    )


def test_register_undistorts_thermal_with_the_bags_camera_info(demo, tmp_path):
    vis = demo[1]
    rig = random_rig(np.random.default_rng(7), (vis[0].shape[1], vis[0].shape[0]))
    rng = np.random.default_rng(1)
    ideal = [render_thermal(as_thermal(v, rng), rig) for v in vis]  # exact truth: rig.homography
    lens = _lens(*rig.thermal_size)
    bag = _write_rig_bag(tmp_path / 'rig', vis, [_distort(t, lens) for t in ideal], lens)

    out = tmp_path / 'with_info.yaml'
    assert _register(bag, out) == 0
    assert corner_error(read_homography(out), rig.homography, rig.thermal_size) < 0.5
    assert 'UNDISTORTED thermal px' in out.read_text() and THERM_INFO in out.read_text()

    # Ignoring the calibration: no single homography fits the bent thermal frames.
    plain = tmp_path / 'without_info.yaml'
    rc = _register(bag, plain, '--thermal-info-topic', 'none')
    if rc == 0:
        assert corner_error(read_homography(plain), rig.homography, rig.thermal_size) > 2.0
    else:
        assert not plain.exists()


def test_fuse_bag_undistorts_thermal_like_the_node(demo, tmp_path):
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.io import BagReader
    from fusion_ros.runtime import load_pipeline

    vis = [cv2.resize(v, (320, 256), interpolation=cv2.INTER_AREA) for v in demo[1][:2]]
    lens = _lens(320, 256)
    raw = [
        _distort(cv2.resize(t, (320, 256), interpolation=cv2.INTER_AREA), lens)
        for t in demo[0][:2]
    ]
    bag = _write_rig_bag(tmp_path / 'rig', vis, raw, lens)
    result = fuse_bag(
        bag,
        tmp_path / 'fused',
        'mmdrfuse',
        visible_topic=VIS,
        thermal_topic=THERM,
        copy_topics=False,
        diagnostics=False,
    )
    assert result.fused == 2 and result.thermal_lens == f'plumb_bob from {THERM_INFO}'
    assert 'thermal lens: plumb_bob' in result.summary()
    with BagReader(tmp_path / 'fused') as reader:
        fused = [f.to_numpy() for f in reader.image_frames(['/fused/image_raw'])]

    node_like = load_pipeline('mmdrfuse', backend='cpu')
    node_like.set_thermal_lens(lens)
    plain = load_pipeline('mmdrfuse', backend='cpu')
    for v, t, f in zip(vis, raw, fused):
        assert np.array_equal(f, node_like.fuse(v, t).image)
        assert np.abs(f.astype(int) - plain.fuse(v, t).image.astype(int)).max() > 20  # it mattered
