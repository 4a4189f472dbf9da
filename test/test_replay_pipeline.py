# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""End to end over a real rclpy graph.

Three processes (unique ROS domain per pytest run, see conftest.py; a namespace per test on top):

    fusion-ros replay BAG -> fusion_node (use_sim_time, /clock from the replay) -> recorder_node

Every synchronised pair of the bag must come out fused, in order, with the visible frame's
original stamp and frame_id; the recorder, stopped with SIGINT, must leave a valid bag. Once with
raw sqlite3 input, once with compressed mcap input (input_transport=compressed).
"""

from __future__ import annotations

from pathlib import Path
import signal
import time

from bag_helpers import (
    bag_topics,
    expected_pairs,
    Proc,
    read_topic,
    sample_bag,
    stamps,
    tiny_model,
)
import pytest

pytestmark = pytest.mark.skipif(
    not (Path(__file__).resolve().parents[1] / 'fusion_ros' / 'nodes' / 'fusion_node.py').exists(),
    reason='fusion node not written yet',
)

RATE = 0.5  # 30 Hz -> 15 Hz: the node (and this 2-core machine) keeps up, nothing is skipped


def _pipeline(tmp_path: Path, bag: Path, ns: str, compressed: bool, storage: str) -> Path:
    from ros_helpers import NodeProcess

    model = tiny_model(tmp_path / 'model')
    out = tmp_path / 'recorded'
    fused = f'/{ns}/fused/image_raw'
    recorder = Proc(
        [
            '-m',
            'fusion_ros.nodes.recorder_node',
            str(out),
            '--storage',
            storage,
            '-t',
            f'{fused}:Image',
            '-t',
            f'/{ns}/fused/camera_info:CameraInfo',
            '-t',
            '/clock:Clock',
            '-t',
            '/diagnostics:DiagnosticArray',
            '--status-period',
            '0',
        ],
        tmp_path / 'recorder.log',
    )
    node = replay = None
    try:
        node = NodeProcess(
            tmp_path / 'node.log',
            {
                'model': str(model),
                'backend': 'cpu',
                'use_sim_time': True,
                'diagnostics_period': 0.2,
                'input_transport': 'compressed' if compressed else 'raw',
            },
            namespace=ns,
        )
        recorder.wait_log(f'{fused} matched 1 publisher(s)', 45, [node])
        suffix = '/compressed' if compressed else ''
        remaps = []
        for topic in (
            f'/visible/image_raw{suffix}',
            f'/thermal/image_raw{suffix}',
            '/visible/camera_info',
        ):
            remaps += ['--remap', f'{topic}:=/{ns}{topic}']
        replay = Proc(
            [
                '-m',
                'fusion_ros.cli.main',
                'replay',
                str(bag),
                '--rate',
                str(RATE),
                '--wait-for-subscribers',
                '30',
                '--delay',
                '1.5',
                '--no-progress',
                *remaps,
            ],
            tmp_path / 'replay.log',
        )
        assert replay.wait(60) == 0, replay.log()
        log = replay.log()
        assert 'publish time vs schedule' in log, log
        time.sleep(1.5)  # the last fused frames
        assert node.alive(), node.log()[-3000:]
        assert recorder.signal(signal.SIGINT, timeout=20) == 0, recorder.log()
        assert 'stopped (SIGINT)' in recorder.log()
    finally:
        for proc in (replay, recorder):
            if proc is not None:
                proc.stop()
        if node is not None:
            node.close()
    return out


def _check(out: Path, bag: Path, ns: str, visible: str, thermal: str) -> None:
    pairs = expected_pairs(bag, visible, thermal)
    assert len(pairs) == 30
    topics = bag_topics(out)  # a valid bag: metadata written, counts match
    fused = read_topic(out, f'/{ns}/fused/image_raw')
    got = stamps(fused)
    assert got == [v for v, _ in pairs], (
        f'{len(got)} fused of {len(pairs)} pairs; missing '
        f'{sorted({v for v, _ in pairs} - set(got))[:5]}'
    )
    assert {m.header.frame_id for _, m in fused} == {'camera_visible_optical_frame'}
    assert {(m.encoding, m.width, m.height) for _, m in fused} == {('bgr8', 160, 128)}
    assert topics[f'/{ns}/fused/camera_info'][1] >= 29
    # /clock carried the recorded (log) time; the node's diagnostics are stamped with it.
    from fusion_ros.bags.io import BagReader

    with BagReader(bag) as reader:
        start, end = reader.start_ns, reader.end_ns
    clock = [m.clock.sec * 10**9 + m.clock.nanosec for _, m in read_topic(out, '/clock')]
    assert clock and clock == sorted(clock) and start <= clock[0] and clock[-1] == end
    diags = [
        m
        for _, m in read_topic(out, '/diagnostics')
        if any(s.name == f'{ns}/fusion_node: fusion' for s in m.status)
    ]
    assert diags, topics
    sim = [d.header.stamp.sec * 10**9 + d.header.stamp.nanosec for d in diags]
    assert all(start <= t <= end for t in sim), (sim, start, end)


def test_replay_fusion_node_recorder_raw(tmp_path):
    bag = sample_bag(tmp_path / 'sample', storage='sqlite3')
    out = _pipeline(tmp_path, bag, 'e2e_raw', compressed=False, storage='sqlite3')
    _check(out, bag, 'e2e_raw', '/visible/image_raw', '/thermal/image_raw')


def test_replay_fusion_node_recorder_compressed(tmp_path):
    bag = sample_bag(tmp_path / 'sample', storage='mcap', compressed=True)
    out = _pipeline(tmp_path, bag, 'e2e_jpeg', compressed=True, storage='mcap')
    _check(out, bag, 'e2e_jpeg', '/visible/image_raw/compressed', '/thermal/image_raw/compressed')
