# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""replay_node: play a rosbag2's camera topics into a live ROS 2 graph.

``ros2 bag play`` for fusion_ros, without rosbag2.

Publishes the bag's sensor_msgs/Image, CompressedImage and CameraInfo topics (or the topics asked
for, of any type rclpy can import) with the recorded timing: message k goes out at
``start + (log_time_k - log_time_0) / rate`` on the monotonic clock. The stored CDR bytes are
published as they are (no deserialisation, like ``ros2 bag play``), so header stamps and payloads
are bit-identical to the recording. /clock (rosgraph_msgs/Clock) carries the recorded log time,
before each message and at ``clock_hz`` in between, so nodes run with ``use_sim_time:=true`` see
the recording's time. A prefetch thread reads the bag ahead, so storage I/O does not disturb
the schedule.

Publishers are RELIABLE / KEEP_LAST(depth) / VOLATILE by default: between processes, best effort
lost almost every 640x512 frame over Fast DDS's built-in transports (`fusion-ros bench-transport`,
docs/transport.md).

Run:
  fusion-ros replay BAG [--rate 0.5] [--loop] [--start-offset 2.0] [--remap /a:=/b] ...
  replay_node BAG [same options] [--ros-args -r __ns:=/robot ...]
  replay_node --ros-args -p bag:=/path/run1 -p rate:=0.5     (parameters, e.g. from a launch file)
"""

from __future__ import annotations

import argparse
from collections import deque
from dataclasses import dataclass, field
import queue
import signal
import sys
import threading
import time
from typing import Deque, Dict, List, Optional, Sequence

from fusion_ros.bags.io import BagError, BagReader, CAMERA_INFO, CLOCK, COMPRESSED_IMAGE, IMAGE
from fusion_ros.ros.process import (
    log_line,
    parse_remaps,
    ros_message_class,
    run_in_process,
    split_ros_args,
)
from fusion_ros.ros.qos import qos_profile

DEFAULT_TOPIC_TYPES = (IMAGE, COMPRESSED_IMAGE, CAMERA_INFO)


# ----------------------------------------------------------------------------- replay
@dataclass
class ReplayConfig:
    bag: str
    rate: float = 1.0
    loop: bool = False
    start_offset: float = 0.0  # seconds from the start of the bag
    topics: Optional[List[str]] = None  # None: every Image/CompressedImage/CameraInfo topic
    all_topics: bool = False  # every topic of an importable type
    remap: Dict[str, str] = field(default_factory=dict)
    clock: bool = True
    clock_hz: float = 100.0
    reliability: str = 'reliable'
    depth: int = 10
    wait_for_subscribers: float = 0.0  # seconds to wait for a subscriber on every topic
    delay: float = 0.0  # seconds between discovery and the first message
    progress: bool = True
    prefetch: int = 32  # messages read ahead of the schedule


@dataclass
class ReplayStats:
    published: Dict[str, int] = field(default_factory=dict)  # by output topic
    clock_messages: int = 0
    loops: int = 0
    wall_s: float = 0.0
    bag_span_s: float = 0.0  # log-time span replayed (one pass)
    # actual - scheduled publish time of the latest (up to 100k) messages
    lateness_ms: Deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    interrupted: bool = False

    @property
    def total(self) -> int:
        return sum(self.published.values())

    def timing(self) -> Dict[str, float]:
        if not self.lateness_ms:
            return {}
        import numpy as np

        late = np.asarray(list(self.lateness_ms))
        return {
            'p50_ms': float(np.percentile(late, 50)),
            'p99_ms': float(np.percentile(late, 99)),
            'max_ms': float(late.max()),
            'mean_ms': float(late.mean()),
        }

    def summary(self, rate: float) -> str:
        t = self.timing()
        timing = (
            f'; publish time vs schedule: p50 {t["p50_ms"]:.2f} ms, p99 {t["p99_ms"]:.2f} ms, '
            f'max {t["max_ms"]:.2f} ms'
            if t
            else ''
        )
        per_topic = ', '.join(f'{k} {v}' for k, v in sorted(self.published.items()))
        return (
            f'{"interrupted: " if self.interrupted else ""}published {self.total} messages '
            f'({per_topic}) in {self.wall_s:.2f} s (bag span {self.bag_span_s:.2f} s at rate '
            f'{rate:g}{", " + str(self.loops) + " loops" if self.loops > 1 else ""}), '
            f'{self.clock_messages} /clock{timing}'
        )


def select_topics(bag: BagReader, config: ReplayConfig) -> Dict[str, str]:
    """{bag topic: msgtype} to publish."""
    topics = bag.topics
    if config.topics:
        missing = [t for t in config.topics if t not in topics]
        if missing:
            raise BagError(
                f'{bag.path}: no topic {", ".join(missing)} (topics: {", ".join(topics)})'
            )
        chosen = {t: topics[t].msgtype for t in config.topics}
    elif config.all_topics:
        chosen = {t: i.msgtype for t, i in topics.items()}
    else:
        chosen = {t: i.msgtype for t, i in topics.items() if i.msgtype in DEFAULT_TOPIC_TYPES}
    if config.clock:
        chosen = {t: ty for t, ty in chosen.items() if not (ty == CLOCK and t == '/clock')}
    if not chosen:
        raise BagError(
            f'{bag.path}: nothing to replay (no Image/CompressedImage/CameraInfo topic; '
            'name topics with --topics or use --all-topics)'
        )
    return chosen


class _Prefetch(threading.Thread):
    """Reads (topic, log_time, data) ahead into a bounded queue; None marks the end of a pass."""

    END = object()

    def __init__(
        self,
        bag: BagReader,
        topics: List[str],
        start_ns: int,
        loop: bool,
        size: int,
        stop: threading.Event,
    ) -> None:
        super().__init__(name='replay_prefetch', daemon=True)
        self.bag, self.topics, self.start_ns, self.loop = bag, topics, start_ns, loop
        self.queue: 'queue.Queue' = queue.Queue(maxsize=max(1, size))
        self.stop = stop
        self.error: Optional[BaseException] = None

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                count = 0
                for m in self.bag.messages(self.topics, start_ns=self.start_ns):
                    if not self._put((m.topic, m.log_time_ns, m.data)):
                        return
                    count += 1
                if not self._put(None) or not self.loop or not count:
                    break
        except BaseException as exc:  # reported by the publishing loop
            self.error = exc
        finally:
            try:
                self.queue.put_nowait(self.END)
            except queue.Full:
                pass

    def get(self):
        while True:
            if self.error is not None:
                raise self.error
            try:
                return self.queue.get(timeout=0.1)
            except queue.Empty:
                if not self.is_alive() and self.queue.empty():
                    if self.error is not None:
                        raise self.error
                    return self.END
                if self.stop.is_set():
                    return self.END


def make_replay_node(
    config: ReplayConfig, topics: Dict[str, str], context=None, node_name='replay'
):
    """Return the rclpy node with one publisher per (remapped) topic, plus /clock."""
    import rclpy

    node = rclpy.create_node(node_name, context=context)
    qos = qos_profile(config.reliability, config.depth)
    publishers = {}
    for topic, msgtype in topics.items():
        try:
            cls = ros_message_class(msgtype)
        except ValueError as exc:
            node.get_logger().warning(f'skipping {topic}: {exc}')
            continue
        publishers[topic] = node.create_publisher(cls, config.remap.get(topic, topic), qos)
    clock_pub = None
    if config.clock:
        from rosgraph_msgs.msg import Clock

        clock_pub = node.create_publisher(Clock, '/clock', qos_profile('reliable', 10))
    return node, publishers, clock_pub


class _Pacer:
    """Hold each message until it is due and tick /clock meanwhile.

    A message is due at its log time, scaled by the rate, after the pass's first message. Counts
    passes and the bag span.
    """

    def __init__(self, clock_pub, config: ReplayConfig, stats: ReplayStats) -> None:
        from rosgraph_msgs.msg import Clock

        self.clock_pub, self.rate, self.stats = clock_pub, config.rate, stats
        self.period = 1.0 / config.clock_hz if (clock_pub and config.clock_hz > 0) else None
        self.clock_msg = Clock()
        self.first_ns: Optional[int] = None
        self.last_ns: Optional[int] = None
        self.wall0 = 0.0
        self.next_clock = 0.0

    def publish_clock(self, ns: int) -> None:
        self.clock_msg.clock.sec, self.clock_msg.clock.nanosec = divmod(int(ns), 1_000_000_000)
        self.clock_pub.publish(self.clock_msg)
        self.stats.clock_messages += 1

    def new_pass(self) -> None:
        """Return the end of one pass through the bag (looping)."""
        self.stats.loops += 1
        if self.first_ns is not None and self.last_ns is not None:
            self.stats.bag_span_s = (self.last_ns - self.first_ns) / 1e9
        self.first_ns = None

    def wait(self, log_ns: int, stop: threading.Event) -> Optional[float]:
        """Sleep until the message logged at ``log_ns`` is due.

        Its due time (monotonic), or None when ``stop`` was set meanwhile.
        """
        if self.first_ns is None:
            self.first_ns, self.wall0 = log_ns, time.monotonic()
        self.last_ns = log_ns
        target = self.wall0 + (log_ns - self.first_ns) / 1e9 / self.rate
        while True:  # sleep until the message is due, ticking /clock meanwhile
            now = time.monotonic()
            if now >= target or stop.is_set():
                break
            if self.period is not None and now >= self.next_clock:
                self.publish_clock(self.first_ns + int((now - self.wall0) * self.rate * 1e9))
                self.next_clock = now + self.period
            wake = target if self.period is None else min(target, self.next_clock)
            stop.wait(max(0.0, wake - now))
        if stop.is_set():
            return None
        if self.clock_pub is not None:
            self.publish_clock(log_ns)
            self.next_clock = time.monotonic() + (self.period or 0.0)
        return target

    def finish(self) -> None:
        if self.first_ns is not None and self.last_ns is not None and not self.stats.bag_span_s:
            self.stats.bag_span_s = (self.last_ns - self.first_ns) / 1e9


def _publish_all(
    prefetch: '_Prefetch',
    publishers: dict,
    pacer: _Pacer,
    stats: ReplayStats,
    stop: threading.Event,
    bar,
    loop: bool,
) -> None:
    """Publish the prefetched messages, each when it is due, until the end or ``stop``."""
    while not stop.is_set():
        item = prefetch.get()
        if item is _Prefetch.END:
            break
        if item is None:  # end of one pass
            pacer.new_pass()
            if bar is not None and loop:
                bar.reset()
            continue
        topic, log_ns, data = item
        target = pacer.wait(log_ns, stop)
        if target is None:
            break
        pub = publishers[topic]
        pub.publish(data)
        stats.lateness_ms.append((time.monotonic() - target) * 1e3)
        stats.published[pub.topic_name] += 1
        if bar is not None:
            bar.update(1)


def _progress_bar(config: ReplayConfig, count: int):
    if not config.progress:
        return None
    from tqdm import tqdm

    return tqdm(
        total=count,
        desc=f'replay x{config.rate:g}',
        unit='msg',
        dynamic_ncols=True,
        file=sys.stderr,
    )


def _start_offset_ns(bag: BagReader, config: ReplayConfig) -> int:
    if not bag.message_count:
        raise BagError(f'{bag.path}: the bag is empty')
    start_ns = bag.start_ns + int(round(config.start_offset * 1e9))
    if start_ns > bag.end_ns:
        raise BagError(
            f'{bag.path}: --start-offset {config.start_offset} s is past the end of '
            f'the bag ({bag.duration_ns / 1e9:.2f} s)'
        )
    return start_ns


def replay(
    config: ReplayConfig, *, context=None, stop: Optional[threading.Event] = None, log=print
) -> ReplayStats:
    """Replay ``config.bag`` until it ends (or forever with ``loop``) or ``stop`` is set.

    Needs ``rclpy.init(context=context)`` done by the caller; creates and destroys its node.
    """
    if config.rate <= 0:
        raise ValueError(f'rate must be > 0, got {config.rate}')
    stop = stop or threading.Event()
    stats = ReplayStats()
    with BagReader(config.bag) as bag:
        topics = select_topics(bag, config)
        start_ns = _start_offset_ns(bag, config)
        node, publishers, clock_pub = make_replay_node(config, topics, context)
        every_pub = [*publishers.values(), *([clock_pub] if clock_pub else [])]
        try:
            for topic, pub in publishers.items():
                log(
                    f'replay: {topic} ({topics[topic]}, {bag.topics[topic].count} msgs) -> '
                    f'{pub.topic_name}'
                )
            _wait_for_subscribers(config, every_pub, stop, log)
            if config.delay > 0:
                stop.wait(config.delay)
            if stop.is_set():
                stats.interrupted = True
                return stats
            stats.published = {pub.topic_name: 0 for pub in publishers.values()}
            bar = _progress_bar(config, sum(bag.topics[t].count for t in publishers))
            prefetch = _Prefetch(
                bag, list(publishers), start_ns, config.loop, config.prefetch, stop
            )
            prefetch.start()
            pacer = _Pacer(clock_pub, config, stats)
            t_start = time.monotonic()
            try:
                _publish_all(prefetch, publishers, pacer, stats, stop, bar, config.loop)
            finally:
                stats.interrupted = stop.is_set()
                stop.set()  # ends the prefetch thread
                prefetch.join(timeout=2.0)
                if bar is not None:
                    bar.close()
                stats.wall_s = time.monotonic() - t_start
                pacer.finish()
            if not stats.interrupted:
                _wait_for_acks(every_pub, log)
        finally:
            node.destroy_node()
    return stats


#: After the last message, how long to wait for reliable subscribers to acknowledge it.
ACK_TIMEOUT_S = 2.0


def _wait_for_acks(publishers: list, log) -> None:
    """Let reliable subscribers receive the last messages.

    Destroying a writer right after its last publish can drop samples that are still in flight
    (`ros2 bag play --wait-for-all-acked` does the same).
    """
    from rclpy.duration import Duration

    deadline = time.monotonic() + ACK_TIMEOUT_S
    for pub in publishers:
        left = max(0.0, deadline - time.monotonic())
        if not pub.wait_for_all_acked(Duration(nanoseconds=int(left * 1e9))):
            log(
                f'replay: {pub.topic_name}: not every subscriber acknowledged the last messages '
                f'within {ACK_TIMEOUT_S:g} s'
            )


def _wait_for_subscribers(
    config: ReplayConfig, publishers: list, stop: threading.Event, log
) -> None:
    """Wait until every topic, /clock included, has a subscriber (or the timeout passes)."""
    if config.wait_for_subscribers <= 0:
        return
    deadline = time.monotonic() + config.wait_for_subscribers
    while not stop.is_set():
        waiting = [p.topic_name for p in publishers if p.get_subscription_count() == 0]
        if not waiting:
            return
        if time.monotonic() > deadline:
            log(
                f'replay: no subscriber on {", ".join(waiting)} after '
                f'{config.wait_for_subscribers:g} s; starting anyway'
            )
            return
        stop.wait(0.05)


# ----------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('bag', nargs='?', help='rosbag2 folder (or .db3/.mcap file)')
    parser.add_argument(
        '--rate', '-r', type=float, default=1.0, help='playback speed factor (0.5 = half speed)'
    )
    parser.add_argument('--loop', '-l', action='store_true', help='replay forever')
    parser.add_argument(
        '--start-offset',
        type=float,
        default=0.0,
        metavar='SECONDS',
        help='start this many seconds into the bag',
    )
    parser.add_argument(
        '--topics',
        nargs='+',
        metavar='TOPIC',
        help='topics to publish (default: every Image, CompressedImage and CameraInfo topic)',
    )
    parser.add_argument(
        '--all-topics', action='store_true', help='publish every topic whose type is importable'
    )
    parser.add_argument(
        '--remap',
        action='append',
        default=[],
        metavar='/OLD:=/NEW',
        help='publish bag topic /OLD as /NEW (repeatable)',
    )
    parser.add_argument(
        '--no-clock', dest='clock', action='store_false', help='do not publish /clock'
    )
    parser.add_argument(
        '--clock-hz',
        type=float,
        default=100.0,
        help='/clock rate between messages (a /clock also precedes each message)',
    )
    parser.add_argument(
        '--qos',
        choices=('reliable', 'best_effort'),
        default='reliable',
        help='publisher reliability (reliable: no frame lost between processes)',
    )
    parser.add_argument('--depth', type=int, default=10, help='publisher history depth')
    parser.add_argument(
        '--wait-for-subscribers',
        type=float,
        default=0.0,
        metavar='SECONDS',
        help='wait up to this long for a subscriber on every topic before starting',
    )
    parser.add_argument(
        '--delay',
        type=float,
        default=0.0,
        metavar='SECONDS',
        help='sleep this long before the first message',
    )
    parser.add_argument(
        '--no-progress', dest='progress', action='store_false', help='no progress bar'
    )


def config_from_args(args: argparse.Namespace) -> ReplayConfig:
    return ReplayConfig(
        bag=args.bag,
        rate=args.rate,
        loop=args.loop,
        start_offset=args.start_offset,
        topics=args.topics,
        all_topics=args.all_topics,
        remap=parse_remaps(args.remap),
        clock=args.clock,
        clock_hz=args.clock_hz,
        reliability=args.qos,
        depth=args.depth,
        wait_for_subscribers=args.wait_for_subscribers,
        delay=args.delay,
        progress=args.progress,
    )


def _apply_parameters(config: ReplayConfig, ros_args: List[str]) -> ReplayConfig:
    """Read the ``-p name:=value`` parameters with a throwaway node.

    They are bag, rate, loop, start_offset, topics, remap, clock, clock_hz, qos, depth,
    wait_for_subscribers and delay.
    """
    if not any(a in ('-p', '--param', '--params-file') for a in ros_args):
        return config
    import rclpy
    from rclpy.context import Context

    ctx = Context()
    rclpy.init(
        args=['replay_node', '--ros-args', *ros_args],
        context=ctx,
        signal_handler_options=rclpy.signals.SignalHandlerOptions.NO,
    )
    try:
        node = rclpy.create_node(
            'replay',
            context=ctx,
            allow_undeclared_parameters=True,
            automatically_declare_parameters_from_overrides=True,
        )
        values = (
            {p.name: p.value for p in node.get_parameters_by_prefix('').values()}
            if hasattr(node, 'get_parameters_by_prefix')
            else {}
        )
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)
    simple = {
        'bag': str,
        'rate': float,
        'loop': bool,
        'start_offset': float,
        'clock': bool,
        'clock_hz': float,
        'depth': int,
        'wait_for_subscribers': float,
        'delay': float,
    }
    for name, cast in simple.items():
        if name in values and values[name] is not None:
            setattr(config, name, cast(values[name]))
    if values.get('qos'):
        config.reliability = str(values['qos'])
    if values.get('topics'):
        config.topics = list(values['topics'])
    if values.get('remap'):
        config.remap.update(parse_remaps(list(values['remap'])))
    return config


def run_config(config: ReplayConfig, ros_args: Sequence[str] = ()) -> int:
    """Init rclpy, replay with Ctrl-C/SIGTERM handling, print the summary.

    Returns the exit code.
    """
    if not config.bag:
        print('replay: no bag given (positional BAG or -p bag:=PATH)', file=sys.stderr)
        return 2
    stats, stopped_by = run_in_process(
        'replay_node',
        'replay',
        ros_args,
        lambda stop: replay(config, stop=stop, log=log_line),
        (BagError, ValueError),
    )
    if stats is None:
        return 1
    log_line(stats.summary(config.rate))
    return 130 if stats.interrupted and stopped_by == signal.SIGINT else 0


def main(argv: Optional[List[str]] = None) -> int:
    """``replay_node BAG [options] [--ros-args ...]`` (console script)."""
    argv, ros_args = split_ros_args(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog='replay_node', description=__doc__.split('\n')[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = _apply_parameters(config_from_args(args), ros_args)
    except ValueError as exc:
        parser.error(str(exc))
    return run_config(config, ros_args)


if __name__ == '__main__':
    sys.exit(main())
