# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Process plumbing shared by the stand-alone nodes (replay, record).

Ctrl-C handling, remap arguments and message classes by type name. Nodes import this, never each
other.
"""

from __future__ import annotations

from contextlib import contextmanager
import importlib
import signal
import sys
import threading
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple


def ros_message_class(msgtype: str):
    """'sensor_msgs/msg/Image' -> the rclpy message class sensor_msgs.msg.Image."""
    parts = msgtype.split('/')
    if len(parts) != 3:
        raise ValueError(f'not a ROS 2 message type: {msgtype!r}')
    try:
        return getattr(importlib.import_module(f'{parts[0]}.{parts[1]}'), parts[2])
    except (ImportError, AttributeError) as exc:
        raise ValueError(f'message type {msgtype} is not importable here ({exc})') from exc


def parse_remaps(items: Sequence[str]) -> Dict[str, str]:
    """['/old:=/new', ...] -> {'/old': '/new'}."""
    out: Dict[str, str] = {}
    for item in items or ():
        if ':=' not in item:
            raise ValueError(f'remap {item!r}: expected /old:=/new')
        old, new = (s.strip() for s in item.split(':=', 1))
        if not old or not new:
            raise ValueError(f'remap {item!r}: expected /old:=/new')
        out[_absolute(old)] = _absolute(new)
    return out


def _absolute(topic: str) -> str:
    return topic if topic.startswith('/') else '/' + topic


class StopFlag:
    """SIGINT/SIGTERM -> a threading.Event (installed only in the main thread; restored after)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: Optional[int] = None
        self._old: Dict[int, Any] = {}

    def __enter__(self) -> 'StopFlag':
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: stop now
        self.signal = signum
        self.event.set()

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def stop_once_on_signals() -> None:
    """Call before rclpy.init() in a node spun with rclpy's own signal handling.

    rclpy.init installs a handler that shuts rclpy down on SIGINT/SIGTERM and then calls the
    Python handler set here, which ignores every later signal. Why: Ctrl-C reaches the whole
    process group and ``ros2 launch`` forwards another SIGINT while the node is already in
    destroy_node(), where Python's default handler raises KeyboardInterrupt (a traceback).
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def _first(signum, frame) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _first)


def split_ros_args(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(our arguments, the ROS arguments after ``--ros-args``)."""
    argv = list(argv)
    if '--ros-args' in argv:
        i = argv.index('--ros-args')
        return argv[:i], argv[i + 1:]
    return argv, []


@contextmanager
def ros_process(name: str, ros_args: Sequence[str] = ()) -> Iterator[StopFlag]:
    """Return rclpy for a stand-alone node process.

    The shipped Fast DDS profile, rclpy.init with only ``ros_args`` (never sys.argv: rcl would take
    our '--remap /a:=/b' for deprecated ROS remap rules), our own SIGINT/SIGTERM handling (the
    StopFlag it yields), rclpy shut down at the end.
    """
    from fusion_ros.ros.qos import use_fastdds_profile
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    use_fastdds_profile()
    ros_args = list(ros_args)
    rclpy.init(
        args=[name, '--ros-args', *ros_args] if ros_args else [name],
        signal_handler_options=SignalHandlerOptions.NO,
    )
    try:
        with StopFlag() as flag:
            yield flag
    finally:
        rclpy.try_shutdown()


def log_line(text: str) -> None:
    """Return a node's progress line on stdout, flushed (a parent process may be reading it)."""
    print(text, flush=True)


def run_in_process(
    node_name: str,
    label: str,
    ros_args: Sequence[str],
    work: Callable[[threading.Event], Any],
    errors: Tuple[type, ...],
) -> Tuple[Any, Optional[int]]:
    """``work(stop_event)`` inside :func:`ros_process`: (its result, the signal that stopped it).

    An exception of ``errors`` (bad input) is printed as ``label: message`` and gives (None, None).
    """
    with ros_process(node_name, ros_args) as flag:
        try:
            return work(flag.event), flag.signal
        except errors as exc:
            print(f'{label}: {exc}', file=sys.stderr)
            return None, None
