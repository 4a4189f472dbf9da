# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Bad input never stops the real fusion node.

Each bad frame is dropped with a log line and a diagnostic, and the next good pair is fused. Also:
a silent camera, and a bad model at start-up and at run time.
"""

from __future__ import annotations

from pathlib import Path
import shutil
import time

import pytest
from ros_helpers import (
    Harness,
    image_msg,
    make_onnx_model,
    NodeProcess,
    pattern_pair,
    stream_pairs,
    VISIBLE_FRAME_ID,
)

H, W = 48, 64


@pytest.fixture(scope='module')
def good_model(tmp_path_factory):
    return make_onnx_model(tmp_path_factory.mktemp('models') / 'good.onnx', 0.5)


@pytest.fixture(scope='module')
def graph(good_model, tmp_path_factory):
    log = tmp_path_factory.mktemp('node') / 'fusion_node.log'
    node = NodeProcess(
        log,
        {
            'model': str(good_model),
            'backend': 'cpu',
            'size_mismatch': 'reject',
            'diagnostics_period': 0.2,
            'input_timeout': 1.0,
            'bad_input_hold': 30.0,
        },
    )
    harness = Harness()
    try:
        harness.wait_connected(node)
        harness.prime(node, *pattern_pair(H, W))
        yield harness, node
    finally:
        harness.close()
        node.close()


def _good_pair_still_fused(h: Harness, node: NodeProcess) -> None:
    vis, thermal = pattern_pair(H, W)
    start = h.fused_count()
    stamps = stream_pairs(h, vis, thermal, 3)
    h.wait_for(lambda: len(h.fused) > start, 10, 'a fused image after the bad input', node)
    assert set(h.fused_stamps()[start:]) <= set(stamps)


def _bad_frames(kind: str):
    """(visible message, thermal message) for one kind of bad input."""
    vis, thermal = pattern_pair(H, W)
    t = time.time_ns()
    good_v = image_msg(vis, 'bgr8', t, VISIBLE_FRAME_ID)
    good_t = image_msg(thermal, 'mono16', t + 2_000_000, 'camera_thermal_optical_frame')
    if kind == 'unsupported_encoding':
        return image_msg(vis, 'nonsense8', t, VISIBLE_FRAME_ID), good_t
    if kind == 'size_mismatch':
        small, _ = pattern_pair(H // 2, W // 2)
        _, small_t = pattern_pair(H // 2, W // 2)
        return good_v, image_msg(small_t, 'mono16', t + 2_000_000, 'camera_thermal_optical_frame')
    if kind == 'truncated_visible':
        raw = vis.tobytes()
        return image_msg(vis, 'bgr8', t, VISIBLE_FRAME_ID, data=raw[: len(raw) // 2]), good_t
    if kind == 'truncated_thermal':
        raw = thermal.tobytes()
        return good_v, image_msg(
            thermal, 'mono16', t + 2_000_000, 'camera_thermal_optical_frame', data=raw[:-10]
        )
    if kind == 'zero_size':
        empty = image_msg(vis[:0, :0], 'bgr8', t, VISIBLE_FRAME_ID)
        empty.height = empty.width = empty.step = 0
        return empty, good_t
    if kind == 'step_too_small':
        return image_msg(vis, 'bgr8', t, VISIBLE_FRAME_ID, step=W), good_t
    if kind == 'too_large':  # the header claims 8000x8000: refused before any allocation
        bomb = image_msg(thermal, 'mono16', t + 2_000_000, 'camera_thermal_optical_frame')
        bomb.height = bomb.width = 8000
        bomb.step = 16000
        return good_v, bomb
    if kind == 'huge_encoding':
        return image_msg(vis, 'x' * 100_000, t, VISIBLE_FRAME_ID), good_t
    raise ValueError(kind)


@pytest.mark.parametrize(
    'kind, counter, text',
    [
        ('unsupported_encoding', 'unsupported_encoding', 'nonsense8'),
        ('size_mismatch', 'size_mismatch', 'thermal'),
        ('truncated_visible', 'truncated_data', 'visible'),
        ('truncated_thermal', 'truncated_data', 'thermal'),
        ('zero_size', 'empty_image', 'visible'),
        ('step_too_small', 'invalid_step', 'step'),
        ('too_large', 'too_large', 'above the limit'),
        ('huge_encoding', 'unsupported_encoding', '100000 characters'),
    ],
)
def test_bad_frame_is_dropped_and_reported(graph, kind, counter, text):
    h, node = graph
    _good_pair_still_fused(h, node)
    before = h.latest_diag(lambda d: 'errors_total' in d)
    errors_before = int(before['errors_total']) if before else 0
    start = h.fused_count()
    vis, thermal = pattern_pair(H, W)
    bad_v, bad_t = _bad_frames(kind)
    h.publish_pair(vis, thermal, 0, visible_msg=bad_v, thermal_msg=bad_t)
    d = h.wait_diag(
        lambda d: int(d.get('errors_total', 0)) > errors_before,
        10,
        f'an error in the diagnostics for {kind}',
        node,
    )
    assert node.alive()
    assert d['last_error'], d
    assert text in d['last_error']
    assert d['_level'] >= 1 and 'bad input' in d['_message'], d['_message']
    bad_stamp = bad_v.header.stamp.sec * 10**9 + bad_v.header.stamp.nanosec
    _good_pair_still_fused(h, node)
    assert bad_stamp not in h.fused_stamps()[start:]
    assert int(d.get(f'errors_{counter}', 0)) >= 1, d
    assert f'({counter})' in d['_message'], d['_message']
    assert 'dropped frame pair' in node.log()
    assert len(d['last_error']) < 400 and len(d['_message']) < 1000  # echoed strings are cut


def test_bad_input_log_is_throttled(graph):
    h, node = graph
    vis, thermal = pattern_pair(H, W)
    lines_before = node.log().count('nonsense8')
    for _ in range(15):
        bad_v, bad_t = _bad_frames('unsupported_encoding')
        h.publish_pair(vis, thermal, 0, visible_msg=bad_v, thermal_msg=bad_t)
        time.sleep(0.02)
    time.sleep(1.0)
    assert node.alive()
    assert node.log().count('nonsense8') - lines_before <= 3  # not one line per frame
    _good_pair_still_fused(h, node)


def test_silent_camera_is_named_in_an_error(graph):
    h, node = graph
    vis, _ = pattern_pair(H, W)
    from ros_helpers import image_msg as mk

    deadline = time.monotonic() + 2.0
    while (
        time.monotonic() < deadline
    ):  # only the visible camera talks for 2 s (> input_timeout 1 s)
        h.visible_pub.publish(mk(vis, 'bgr8', h.now_ns(), VISIBLE_FRAME_ID))
        time.sleep(1 / 30)
    d = h.wait_diag(
        lambda d: 'thermal camera silent' in d['_message'],
        5,
        'ERROR naming the thermal camera',
        node,
    )
    assert d['_level'] == 2
    assert 'visible camera silent' not in d['_message']
    _good_pair_still_fused(h, node)


def _corrupt_model(path):
    path.write_bytes(b'this is not an onnx file' * 10)
    from ros_helpers import write_card

    write_card(path, path.stem)
    return path


def test_bad_model_at_startup_and_at_run_time(good_model, tmp_path):
    corrupt = _corrupt_model(tmp_path / 'corrupt.onnx')
    node = NodeProcess(
        tmp_path / 'node.log',
        {
            'model': str(corrupt),
            'backend': 'cpu',
            'diagnostics_period': 0.2,
            'input_timeout': 30.0,
        },
        namespace='bad_model',
    )
    h = Harness(namespace='bad_model')
    try:
        h.wait_connected(node)  # the node runs without a model
        d = h.wait_diag(lambda d: 'no model loaded' in d['_message'], 10, 'ERROR: no model', node)
        assert d['_level'] == 2
        vis, thermal = pattern_pair(H, W)
        stream_pairs(h, vis, thermal, 3)
        time.sleep(0.5)
        assert h.fused_count() == 0 and node.alive()

        # Missing file at run time: rejected with a reason, still no model.
        res = h.set_parameters(model=str(tmp_path / 'missing.onnx'))
        assert not res[0].successful and 'cannot load' in res[0].reason
        # A good model is accepted and fusion starts.
        res = h.set_parameters(model=str(good_model))
        assert res[0].successful, res[0].reason
        # The session builds in the background: frames sent before it is ready are not fused.
        h.wait_diag(
            lambda d: (
                d['model'] == str(good_model)
                and d['model_loading'] == 'none'
                and 'no model' not in d['_message']
            ),
            10,
            'diagnostics without the model error',
            node,
        )
        stream_pairs(h, vis, thermal, 4)
        h.wait_for(lambda: len(h.fused) >= 2, 10, 'fusion after loading a good model', node)
        # Corrupt file (card and hash fine) at run time: it loads in the background, fails, the
        # parameter is put back, /diagnostics warns, and the good model keeps running throughout.
        res = h.set_parameters(model=str(corrupt))
        assert res[0].successful, res[0].reason
        h.wait_diag(
            lambda d: (
                'last model switch failed' in d['_message']
                and 'corrupt.onnx' in d['_message']
                and d['model'] == str(good_model)
            ),
            10,
            'WARN: the switch failed',
            node,
        )
        # Polled outside wait_for: it holds the harness lock, which the service reply needs.
        deadline = time.monotonic() + 10
        while h.get_parameters('model')[0] != str(good_model) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert h.get_parameters('model')[0] == str(good_model), 'model parameter not put back'
        # A file that does not match its card's SHA-256 is refused at once.
        tampered = tmp_path / 'tampered.onnx'
        tampered.write_bytes(Path(good_model).read_bytes() + b'\0')
        shutil.copy(Path(good_model).with_suffix('.json'), tampered.with_suffix('.json'))
        res = h.set_parameters(model=str(tampered))
        assert (
            not res[0].successful and 'cannot load' in res[0].reason and 'SHA-256' in res[0].reason
        ), res[0].reason
        start = h.fused_count()
        stream_pairs(h, vis, thermal, 3)
        h.wait_for(
            lambda: len(h.fused) > start, 10, 'fusion after rejecting the corrupt model', node
        )
        log = node.log()
        assert 'cannot load model' in log and 'Traceback' not in log
    finally:
        h.close()
        rc = node.interrupt()
        node.close()
    assert rc == 0


def test_missing_model_file_at_startup(tmp_path):
    node = NodeProcess(
        tmp_path / 'node.log',
        {'model': str(tmp_path / 'nowhere.onnx'), 'backend': 'cpu', 'diagnostics_period': 0.2},
        namespace='missing_model',
    )
    h = Harness(namespace='missing_model')
    try:
        h.wait_connected(node)
        d = h.wait_diag(lambda d: 'no model loaded' in d['_message'], 10, 'ERROR: no model', node)
        assert 'nowhere.onnx' in d['_message'] and d['_level'] == 2
        assert int(d['errors_model_load']) == 1
    finally:
        h.close()
        rc = node.interrupt()
        node.close()
    assert rc == 0
