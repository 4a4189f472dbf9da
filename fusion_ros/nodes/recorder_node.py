# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""recorder_node: record live topics into a rosbag2.

``ros2 bag record`` for fusion_ros, without rosbag2.

Subscribes to the given topics (sensor_msgs/Image, CompressedImage, CameraInfo,
diagnostic_msgs/DiagnosticArray, rosgraph_msgs/Clock, or any type rclpy can import) with raw
(serialised) subscriptions and stores the CDR bytes as received, with the receive time on the
node's clock as log time (wall time, or /clock time with ``use_sim_time:=true``), like
``ros2 bag record``. A topic's type is taken from ``TOPIC:TYPE`` when given (subscribed at once),
else discovered from the graph as soon as a publisher appears.

QoS: ``--qos auto`` (default) subscribes RELIABLE unless a publisher of the topic offers only
best-effort (a reliable subscription would never match it), as rosbag2 does; the history depth is
large (100) so a burst is not lost while the bag is written.

Stopping: Ctrl-C, SIGINT or SIGTERM (or ``--duration``/``--max-messages``) closes the bag cleanly:
metadata.yaml is written and the folder appears under its final name only then (until then it is
a hidden ``.NAME.*.partial`` folder next to it), so a bag at the output path is always valid.

Run:
  fusion-ros record OUT --topic /fused/image_raw --topic /diagnostics [--storage mcap]
  recorder_node OUT --topic /fused/image_raw:sensor_msgs/msg/Image \
      [--ros-args -p use_sim_time:=true]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import signal
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple

from fusion_ros.bags.io import BagError, BagWriter, normalize_type, STORAGES
from fusion_ros.ros.process import log_line, ros_message_class, run_in_process, split_ros_args
from fusion_ros.ros.qos import qos_profile


@dataclass
class RecordConfig:
    output: str
    topics: List[str] = field(default_factory=list)  # "TOPIC" or "TOPIC:TYPE"
    storage: str = 'sqlite3'
    qos: str = 'auto'  # auto | reliable | best_effort
    depth: int = 100
    duration: float = 0.0  # seconds; 0 = until stopped
    max_messages: int = 0  # stop after this many messages in all; 0 = no limit
    overwrite: bool = False
    status_period: float = 0.0  # seconds between status lines; 0 = none


def parse_topic_spec(spec: str) -> Tuple[str, Optional[str]]:
    """'/a/b' -> ('/a/b', None); '/a/b:Image' -> ('/a/b', 'sensor_msgs/msg/Image')."""
    topic, _, msgtype = spec.partition(':')
    topic = topic.strip()
    if not topic:
        raise ValueError(f'empty topic in {spec!r}')
    if not topic.startswith('/'):
        topic = '/' + topic
    return topic, (normalize_type(msgtype) if msgtype.strip() else None)


class Recorder:
    """Subscriptions of one rclpy node writing into a :class:`BagWriter` (executor thread only)."""

    def __init__(self, node, writer: BagWriter, config: RecordConfig, log=print) -> None:
        self.node = node
        self.writer = writer
        self.config = config
        self.log = log
        self.pending: Dict[str, Optional[str]] = {}
        self.subscriptions: Dict[str, object] = {}
        self.matched: Dict[str, int] = {}
        self.first_ns: Optional[int] = None
        self.count = 0
        self.lock = threading.Lock()
        for spec in config.topics:
            topic, msgtype = parse_topic_spec(spec)
            self.pending[topic] = msgtype
        self._discover()
        self.timer = node.create_timer(0.1, self._discover)

    def _reliability(self, topic: str) -> str:
        if self.config.qos != 'auto':
            return self.config.qos
        from rclpy.qos import ReliabilityPolicy

        infos = self.node.get_publishers_info_by_topic(topic)
        if infos and all(
            i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos
        ):
            return 'best_effort'
        return 'reliable'

    def _discover(self) -> None:
        if self.pending:
            graph = dict(self.node.get_topic_names_and_types())
            for topic, msgtype in list(self.pending.items()):
                if msgtype is None:
                    types = graph.get(topic)
                    if not types:
                        continue
                    if len(types) > 1:
                        self.log(f'record: {topic} has several types {types}; using {types[0]}')
                    msgtype = types[0]
                self._subscribe(topic, msgtype)
                del self.pending[topic]
        for topic, sub in self.subscriptions.items():
            n = sub.get_publisher_count()
            if n != self.matched.get(topic, 0):
                self.matched[topic] = n
                self.log(f'record: {topic} matched {n} publisher(s)')

    def _subscribe(self, topic: str, msgtype: str) -> None:
        cls = ros_message_class(msgtype)
        self.writer.add_topic(topic, msgtype)
        reliability = self._reliability(topic)
        self.subscriptions[topic] = self.node.create_subscription(
            cls,
            topic,
            lambda data, t=topic: self._on_message(t, data),
            qos_profile(reliability, self.config.depth),
            raw=True,
        )
        self.log(f'record: subscribed to {topic} ({msgtype}, {reliability})')

    def _on_message(self, topic: str, data: bytes) -> None:
        now = self.node.get_clock().now().nanoseconds
        with self.lock:
            if not self.writer.is_open:
                return
            if self.config.max_messages and self.count >= self.config.max_messages:
                return
            self.writer.write_raw(topic, now, data)
            self.count += 1
            if self.first_ns is None:
                self.first_ns = now

    def status(self) -> str:
        counts = ', '.join(f'{t} {self.writer.counts.get(t, 0)}' for t in self.subscriptions)
        waiting = f'; waiting for {", ".join(self.pending)}' if self.pending else ''
        return f'record: {self.count} messages ({counts or "none yet"}){waiting}'


def record(
    config: RecordConfig, *, context=None, stop: Optional[threading.Event] = None, log=print
) -> Dict[str, int]:
    """Record until ``stop`` is set (or duration / max_messages); returns counts per topic.

    Needs ``rclpy.init(context=context)`` done by the caller. The bag is closed cleanly whatever
    ends the recording (stop, limit, or an exception in the graph code).
    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    if not config.topics:
        raise ValueError('record: no topics given (--topic TOPIC[:TYPE])')
    if config.storage not in STORAGES:
        raise ValueError(f'storage must be one of {", ".join(STORAGES)}')
    for spec in config.topics:
        parse_topic_spec(spec)  # errors before anything is created
    stop = stop or threading.Event()
    writer = BagWriter(config.output, storage=config.storage, overwrite=config.overwrite).open()
    node = rclpy.create_node('recorder', context=context)
    executor = SingleThreadedExecutor(context=context)
    recorder = None
    try:
        recorder = Recorder(node, writer, config, log)
        executor.add_node(node)
        t0 = time.monotonic()
        next_status = t0 + config.status_period if config.status_period > 0 else None
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)
            now = time.monotonic()
            if config.duration > 0 and now - t0 >= config.duration:
                break
            if config.max_messages and recorder.count >= config.max_messages:
                break
            if next_status is not None and now >= next_status:
                log(recorder.status())
                next_status = now + config.status_period
    finally:
        counts = dict(writer.counts)
        try:
            executor.shutdown(timeout_sec=1.0)
        except Exception:
            pass
        node.destroy_node()
        if recorder is not None:
            with recorder.lock:
                writer.close()
        else:
            writer.abort()
    return counts


# ----------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('output', nargs='?', help='output rosbag2 folder (must not exist)')
    parser.add_argument(
        '--topic',
        '-t',
        dest='topics',
        action='append',
        default=[],
        metavar='TOPIC[:TYPE]',
        help='topic to record (repeatable); TYPE like Image, CompressedImage, '
        'CameraInfo, DiagnosticArray or sensor_msgs/msg/Image subscribes '
        'at once, otherwise the type is discovered from the graph',
    )
    parser.add_argument('--storage', '-s', choices=STORAGES, default='sqlite3')
    parser.add_argument(
        '--qos',
        choices=('auto', 'reliable', 'best_effort'),
        default='auto',
        help='subscription reliability (auto: follow the publishers)',
    )
    parser.add_argument('--depth', type=int, default=100, help='subscription history depth')
    parser.add_argument(
        '--duration',
        type=float,
        default=0.0,
        metavar='SECONDS',
        help='stop after this long (default: until Ctrl-C / SIGTERM)',
    )
    parser.add_argument('--max-messages', type=int, default=0, help='stop after N messages')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    parser.add_argument(
        '--use-sim-time', action='store_true', help='log times from /clock (use_sim_time:=true)'
    )
    parser.add_argument(
        '--status-period',
        type=float,
        default=5.0,
        metavar='SECONDS',
        help='print a status line this often (0: never)',
    )


def config_from_args(args: argparse.Namespace) -> RecordConfig:
    return RecordConfig(
        output=args.output,
        topics=list(args.topics),
        storage=args.storage,
        qos=args.qos,
        depth=args.depth,
        duration=args.duration,
        max_messages=args.max_messages,
        overwrite=args.overwrite,
        status_period=args.status_period,
    )


def run_config(
    config: RecordConfig, ros_args: Sequence[str] = (), use_sim_time: bool = False
) -> int:
    """Init rclpy, record with Ctrl-C/SIGTERM handling, print the summary.

    Returns the exit code.
    """
    if not config.output:
        print('record: no output bag given', file=sys.stderr)
        return 2
    ros_args = list(ros_args) + (['-p', 'use_sim_time:=true'] if use_sim_time else [])
    counts, stopped_by = run_in_process(
        'recorder_node',
        'record',
        ros_args,
        lambda stop: record(config, stop=stop, log=log_line),
        (BagError, ValueError),
    )
    if counts is None:
        return 1
    why = {signal.SIGINT: 'SIGINT', signal.SIGTERM: 'SIGTERM'}.get(stopped_by, 'limit reached')
    per_topic = ', '.join(f'{t} {n}' for t, n in counts.items()) or 'no topics'
    log_line(
        f'record: stopped ({why}); wrote {sum(counts.values())} messages ({per_topic}) to '
        f'{config.output}'
    )
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """``recorder_node OUT --topic T [...] [--ros-args ...]`` (console script)."""
    argv, ros_args = split_ros_args(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog='recorder_node', description=__doc__.split('\n')[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_config(config_from_args(args), ros_args, use_sim_time=args.use_sim_time)


if __name__ == '__main__':
    sys.exit(main())
