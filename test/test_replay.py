# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Replay and recording over a real rclpy graph (unique ROS domain per pytest run, see conftest).

Recorded timing and rate, /clock, start offset, remapping, loop, ROS parameters, Ctrl-C, and the
recorder's clean close on SIGTERM.
"""

from __future__ import annotations

from pathlib import Path
import signal
import threading
import time

from bag_helpers import bag_topics, Proc, read_topic, sample_bag, stamps, wait_until
import numpy as np
import pytest

VIS, THERM, INFO = '/visible/image_raw', '/thermal/image_raw', '/visible/camera_info'


class Graph:
    """Subscribers in this process, on their own rclpy context, spun in a thread."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('replay_test', context=self.context)
        self.received = {}
        self.lock = threading.Lock()
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:
            pass

    def subscribe(self, topic: str, msg_type) -> None:
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        self.received[topic] = []

        def on_msg(msg, topic=topic):
            with self.lock:
                self.received[topic].append((time.monotonic(), msg))

        self.node.create_subscription(
            msg_type, topic, on_msg, QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        )

    def count(self, topic: str) -> int:
        with self.lock:
            return len(self.received[topic])

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=2.0)


@pytest.fixture(scope='module')
def bag(tmp_path_factory) -> Path:
    return sample_bag(tmp_path_factory.mktemp('replay') / 'sample', storage='sqlite3')


@pytest.fixture
def graph():
    g = Graph()
    yield g
    g.close()


def _stamp(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def test_replay_timing_stamps_and_clock(bag, graph):
    from fusion_ros.nodes.replay_node import replay, ReplayConfig
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image

    for topic, kind in ((VIS, Image), (THERM, Image), (INFO, CameraInfo), ('/clock', Clock)):
        graph.subscribe(topic, kind)
    rate = 2.0
    stats = replay(
        ReplayConfig(str(bag), rate=rate, wait_for_subscribers=20, progress=False),
        context=graph.context,
        log=lambda s: None,
    )
    wait_until(lambda: all(graph.count(t) == 30 for t in (VIS, THERM, INFO)), 10, 'all messages')
    assert stats.published == {VIS: 30, THERM: 30, INFO: 30} and not stats.interrupted
    recorded = {t: read_topic(bag, t) for t in (VIS, THERM)}
    for topic in (VIS, THERM):  # same messages, same order, bit-identical
        got = [m for _, m in graph.received[topic]]
        assert [_stamp(m) for m in got] == stamps(recorded[topic])
        assert bytes(got[-1].data) == bytes(recorded[topic][-1][1].data)
    # Timing: arrival intervals follow the recorded (log-time) intervals divided by the rate.
    logs = np.array([t for t, _ in recorded[VIS]], np.float64) / 1e9
    arrivals = np.array([t for t, _ in graph.received[VIS]])
    error_ms = ((arrivals - arrivals[0]) - (logs - logs[0]) / rate) * 1e3
    assert np.median(np.abs(error_ms)) < 10, error_ms
    assert stats.wall_s == pytest.approx((logs[-1] - logs[0]) / rate + 0.004, abs=0.25)
    timing = stats.timing()
    assert timing['p50_ms'] < 10, timing
    # /clock: the recorded log time, monotonic, ending at the last message's log time.
    clock = [m.clock.sec * 10**9 + m.clock.nanosec for _, m in graph.received['/clock']]
    with_info = [t for t, _ in read_topic(bag, INFO)]
    assert clock == sorted(clock) and len(clock) >= 90
    assert clock[0] >= min(with_info) and clock[-1] == max(t for t, _ in recorded[THERM])


def test_replay_offset_remap_topics_loop(bag, graph):
    from fusion_ros.nodes.replay_node import parse_remaps, replay, ReplayConfig
    from sensor_msgs.msg import Image

    graph.subscribe('/cam0/image', Image)
    config = ReplayConfig(
        str(bag),
        rate=4.0,
        loop=True,
        start_offset=0.5,
        topics=[VIS],
        remap=parse_remaps(['/visible/image_raw:=/cam0/image']),
        clock=False,
        wait_for_subscribers=20,
        progress=False,
    )
    stop = threading.Event()
    out = {}
    thread = threading.Thread(
        target=lambda: out.update(
            stats=replay(config, context=graph.context, stop=stop, log=lambda s: None)
        )
    )
    thread.start()
    try:
        wait_until(lambda: graph.count('/cam0/image') >= 32, 20, 'two passes of the bag')
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    stats = out['stats']
    assert stats.interrupted and stats.loops >= 2
    got = [_stamp(m) for _, m in graph.received['/cam0/image']]
    want = stamps(read_topic(bag, VIS))[15:]  # log times from 0.5 s on: frames 15..29
    assert got[:15] == want and got[15:30] == want
    with pytest.raises(ValueError, match='expected /old:=/new'):
        parse_remaps(['/a=/b'])


def test_replay_node_parameters_and_ctrl_c(bag, graph, tmp_path):
    from sensor_msgs.msg import Image

    graph.subscribe('/p/thermal', Image)
    proc = Proc(
        [
            '-m',
            'fusion_ros.nodes.replay_node',
            '--loop',
            '--no-progress',
            '--ros-args',
            '-p',
            f'bag:={bag}',
            '-p',
            'rate:=3.0',
            '-p',
            'wait_for_subscribers:=20.0',
            '-p',
            "topics:=['/thermal/image_raw']",
            '-r',
            '/thermal/image_raw:=/p/thermal',
        ],
        tmp_path / 'replay.log',
    )
    try:
        wait_until(lambda: graph.count('/p/thermal') >= 35 or not proc.alive(), 30, 'a loop')
        assert proc.alive(), proc.log()
        assert proc.signal(signal.SIGINT, timeout=10) == 130
    finally:
        proc.stop()
    log = proc.log()
    assert 'interrupted: published' in log and 'Traceback' not in log, log
    got = [_stamp(m) for _, m in graph.received['/p/thermal']]
    assert got[:30] == stamps(read_topic(bag, THERM)) and got[30] == got[0]


def test_recorder_discovers_types_and_closes_on_sigterm(bag, tmp_path):
    from fusion_ros.nodes.replay_node import replay, ReplayConfig
    import rclpy
    from rclpy.context import Context

    out = tmp_path / 'rec'
    rec = Proc(
        [
            '-m',
            'fusion_ros.nodes.recorder_node',
            str(out),
            '--storage',
            'mcap',
            '-t',
            '/r/visible',
            '-t',
            '/r/thermal:sensor_msgs/msg/Image',
            '--status-period',
            '0',
        ],
        tmp_path / 'recorder.log',
    )
    ctx = Context()
    rclpy.init(context=ctx)
    try:
        rec.wait_log('subscribed to /r/thermal (sensor_msgs/msg/Image, reliable)', 30)
        t0 = time.time_ns()
        replay(
            ReplayConfig(
                str(bag),
                topics=[VIS, THERM],
                rate=2.0,
                wait_for_subscribers=30,
                remap={VIS: '/r/visible', THERM: '/r/thermal'},
                clock=False,
                progress=False,
            ),
            context=ctx,
            log=lambda s: None,
        )
        time.sleep(1.0)
        t1 = time.time_ns()
        assert rec.signal(signal.SIGTERM, timeout=20) == 0, rec.log()
    finally:
        rec.stop()
        rclpy.try_shutdown(context=ctx)
    assert 'subscribed to /r/visible (sensor_msgs/msg/Image, reliable)' in rec.log()  # discovered
    assert 'stopped (SIGTERM)' in rec.log()
    assert bag_topics(out) == {
        '/r/visible': ('sensor_msgs/msg/Image', 30),
        '/r/thermal': ('sensor_msgs/msg/Image', 30),
    }
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.partial')]
    recorded = read_topic(out, '/r/visible')
    assert stamps(recorded) == stamps(read_topic(bag, VIS))  # original header stamps kept
    logs = [t for t, _ in recorded]  # receive times on the wall clock
    assert logs == sorted(logs) and t0 <= logs[0] and logs[-1] <= t1
