# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The online alignment check on a live node.

A homography perturbed by 5 px turns /diagnostics WARN ("re-run fusion-ros register") within 5 s;
restoring it turns it back to OK.
"""

from __future__ import annotations

import threading
import time

import cv2
from fusion_ros.images.demo_sequence import load_demo_pair
import numpy as np
import pytest
from ros_helpers import Harness, make_onnx_model, NodeProcess

IDENTITY = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def _pseudo_pair() -> tuple[np.ndarray, np.ndarray]:
    """Return a demo visible frame and a thermal rendered from it (inverted, blurred).

    Registered exactly.
    """
    visible, _ = load_demo_pair('14')
    visible = np.ascontiguousarray(visible[:256, :320])
    thermal = cv2.GaussianBlur(255 - visible, (0, 0), 1.2)
    return cv2.cvtColor(visible, cv2.COLOR_GRAY2BGR), thermal


@pytest.fixture(scope='module')
def live(tmp_path_factory):
    model = make_onnx_model(tmp_path_factory.mktemp('models') / 'm.onnx', 0.5)
    node = NodeProcess(
        tmp_path_factory.mktemp('node') / 'fusion_node.log',
        {
            'model': str(model),
            'backend': 'cpu',
            'diagnostics_period': 0.25,
            'alignment_check_period': 0.5,
            'alignment_hold': 1.5,
            'input_timeout': 30.0,
        },
    )
    h = Harness()
    stop = threading.Event()
    vis, th = _pseudo_pair()

    def stream():
        while not stop.is_set():
            h.publish_pair(vis, th, h.now_ns(), thermal_encoding='mono8')
            time.sleep(1 / 15)

    try:
        h.wait_connected(node)
        h.prime(node, vis, th, thermal_encoding='mono8')
        thread = threading.Thread(target=stream, daemon=True)
        thread.start()
        yield h, node
    finally:
        stop.set()
        h.close()
        node.close()


def test_perturbed_homography_warns_and_restoring_clears_it(live):
    h, node = live
    h.wait_diag(
        lambda d: (
            d.get('alignment_residual_px', 'not judged') != 'not judged'
            and float(d['alignment_residual_px']) < 1.0
        ),
        15,
        'a small residual when registered',
        node,
    )
    assert h.set_parameters(homography=[1.0, 0.0, 5.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])[0].successful
    t0 = time.monotonic()
    d = h.wait_diag(
        lambda d: 're-run fusion-ros register' in d['_message'], 10, 'the alignment WARN', node
    )
    assert time.monotonic() - t0 < 5.0 and d['_level'] == 1
    assert 3.5 < float(d['alignment_residual_px']) < 6.5
    assert h.set_parameters(homography=IDENTITY)[0].successful
    h.wait_diag(
        lambda d: (
            're-run fusion-ros register' not in d['_message']
            and float(d['alignment_residual_px']) < 1.0
        ),
        10,
        'the WARN gone once the homography is restored',
        node,
    )
