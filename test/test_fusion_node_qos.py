# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The fusion node against cameras with the QoS real drivers use (issue 17).

The node runs as a separate process with its default parameters and the shipped Fast DDS profile
(ros_helpers.ros_env); the cameras publish 640x512 frames at 30 Hz with the sensor-data QoS
(BEST_EFFORT, as most camera drivers), with reliable QoS, and mixed. Also: an incompatible camera
is named in /diagnostics, hardware_id carries the camera frame ids, and SIGINT to the whole process
group (Ctrl-C in a terminal, then launch forwarding another) ends without a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from ros_helpers import Harness, NodeProcess, pattern_pair, ROOT, ros_env, VISIBLE_FRAME_ID

H, W = 512, 640
RATE_HZ = 30.0
STREAM_S = 3.5
THERMAL_FRAME = 'camera_thermal_optical_frame'


def _qos(kind: str):
    from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy

    if kind == 'sensor_data':
        return qos_profile_sensor_data
    return QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


def _wait_until_quiet(h: Harness, quiet_s: float = 1.0, timeout: float = 20.0) -> None:
    """Until no fused frame has arrived for ``quiet_s``: the node has worked off the stream."""
    deadline = time.monotonic() + timeout
    count, since = h.fused_count(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(0.1)
        if h.fused_count() != count:
            count, since = h.fused_count(), time.monotonic()


def _stream(h: Harness, vis, thermal, seconds: float, rate: float) -> list:
    """Publish pairs on a fixed 30 Hz schedule (not sleep-after-publish, which drifts slower)."""
    period = 1.0 / rate
    start = time.monotonic()
    stamps = []
    for i in range(int(seconds * rate)):
        delay = start + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        stamps.append(h.publish_pair(vis, thermal, h.now_ns()))
    return stamps


@pytest.mark.parametrize(
    'visible_qos, thermal_qos',
    [
        ('sensor_data', 'sensor_data'),
        ('reliable', 'reliable'),
        ('sensor_data', 'reliable'),
    ],
)
def test_default_node_fuses_95_percent_at_30hz(tmp_path, visible_qos, thermal_qos):
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 2 * cores:  # the figure would measure the other jobs, not the node
        pytest.skip(
            f'load average {load:.1f} on {cores} cores (over 2 per core): a 30 Hz '
            'delivery measurement needs a machine that is not saturated'
        )
    namespace = f'qos_{uuid.uuid4().hex[:6]}'
    node = NodeProcess(tmp_path / 'node.log', {}, namespace=namespace)  # default parameters
    h = Harness(namespace=namespace, visible_qos=_qos(visible_qos), thermal_qos=_qos(thermal_qos))
    try:
        h.wait_connected(node, timeout=60.0)  # a best-effort camera matches once auto adapts
        vis, thermal = pattern_pair(H, W)
        h.prime(node, vis, thermal, timeout=60.0)
        time.sleep(1.0)  # the prime frames are all counted in the next report
        # Two tries at most: on a shared 2-core machine one hiccup of another process (a test's
        # node still exiting) can stall a few pairs; the node must reach 95% in a clean run.
        for attempt in (1, 2):
            before = h.wait_diag(lambda d: True, 10.0, 'diagnostics before the stream', node)
            received_before = set(h.fused_stamps())
            stamps = _stream(h, vis, thermal, STREAM_S, RATE_HZ)
            _wait_until_quiet(h)  # best effort may drop the last pair: wait for output to stop
            after = h.wait_diag(lambda d: True, 10.0, 'diagnostics after the stream', node)
            counts = {
                key: int(after[key]) - int(before[key])
                for key in ('pairs_synced', 'frames_published', 'frames_skipped')
            }
            received = len((set(h.fused_stamps()) - received_before) & set(stamps))
            share = counts['frames_published'] / len(stamps)
            print(
                f'{visible_qos}/{thermal_qos} try {attempt}: {len(stamps)} pairs sent at '
                f'{RATE_HZ:.0f} Hz {W}x{H}, node {counts}, fused share {share:.1%}, test '
                f'received {received}'
            )
            if share >= 0.95:
                break
        assert share >= 0.95, f'{counts} of {len(stamps)}\n{node.log()[-3000:]}'
        diag = h.wait_diag(lambda d: 'visible_reliability' in d, 10.0, 'QoS in diagnostics', node)
        expected = {'sensor_data': 'best_effort (auto)', 'reliable': 'reliable (auto)'}
        assert diag['visible_reliability'] == expected[visible_qos]
        assert diag['thermal_reliability'] == expected[thermal_qos]
        assert diag['_hardware_id'] == f'{VISIBLE_FRAME_ID}, {THERMAL_FRAME}'
    finally:
        h.close()
        node.close()


def test_incompatible_camera_is_named_in_diagnostics(tmp_path):
    """input_reliability:=reliable against a best-effort camera.

    Zero frames (the old default), and /diagnostics says which input and which QoS policy, not just
    a silent camera.
    """
    namespace = f'qos_{uuid.uuid4().hex[:6]}'
    node = NodeProcess(
        tmp_path / 'node.log',
        {'input_reliability': 'reliable', 'diagnostics_period': 0.3},
        namespace=namespace,
    )
    h = Harness(namespace=namespace, thermal_qos=_qos('sensor_data'))
    try:
        first = h.wait_diag(lambda d: True, 30.0, 'first diagnostics', node)
        assert first['_level'] < 2, first  # no ERROR before any camera publishes
        assert first['_hardware_id'] == ''  # no camera frame id known yet
        vis, thermal = pattern_pair(64, 80)
        deadline = time.monotonic() + 20.0
        diag = None
        while time.monotonic() < deadline:
            h.publish_pair(vis, thermal, h.now_ns())
            time.sleep(0.05)
            diag = h.latest_diag(lambda d: 'RELIABILITY' in d['_message'])
            if diag is not None:
                break
        assert diag is not None, f'{h.latest_diag()}\n{node.log()[-3000:]}'
        assert 'thermal' in diag['_message'] and diag['_level'] >= 1
        assert int(diag['thermal_qos_incompatible_events']) >= 1
        assert diag['thermal_reliability'] == 'reliable (pinned)'
        assert h.fused_count() == 0
    finally:
        h.close()
        node.close()


def test_sigint_to_the_process_group_twice_exits_cleanly(tmp_path):
    """Ctrl-C reaches every process of the group.

    Launch then forwards another SIGINT while the node shuts down. Exit code 0, no
    KeyboardInterrupt traceback.
    """
    log = tmp_path / 'node.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'fusion_ros.nodes.fusion_node',
                '--ros-args',
                '-r',
                f'__ns:=/sig_{uuid.uuid4().hex[:6]}',
                '-p',
                'backend:=cpu',
            ],
            env=ros_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while 'fusing' not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        for _ in range(3):
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.05)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert 'Traceback' not in text and 'KeyboardInterrupt' not in text, text[-3000:]
