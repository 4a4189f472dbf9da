"""Process plumbing shared by the stand-alone nodes (replay, record): Ctrl-C handling, remap
arguments and message classes by type name. Nodes import this, never each other."""
from __future__ import annotations

import importlib
import signal
import threading
from typing import Any, Dict, Optional, Sequence


def ros_message_class(msgtype: str):
    """'sensor_msgs/msg/Image' -> the rclpy message class sensor_msgs.msg.Image."""
    parts = msgtype.split("/")
    if len(parts) != 3:
        raise ValueError(f"not a ROS 2 message type: {msgtype!r}")
    try:
        return getattr(importlib.import_module(f"{parts[0]}.{parts[1]}"), parts[2])
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"message type {msgtype} is not importable here ({exc})") from exc


def parse_remaps(items: Sequence[str]) -> Dict[str, str]:
    """['/old:=/new', ...] -> {'/old': '/new'}."""
    out: Dict[str, str] = {}
    for item in items or ():
        if ":=" not in item:
            raise ValueError(f"remap {item!r}: expected /old:=/new")
        old, new = (s.strip() for s in item.split(":=", 1))
        if not old or not new:
            raise ValueError(f"remap {item!r}: expected /old:=/new")
        out[_absolute(old)] = _absolute(new)
    return out


def _absolute(topic: str) -> str:
    return topic if topic.startswith("/") else "/" + topic


class StopFlag:
    """SIGINT/SIGTERM -> a threading.Event (installed only in the main thread; restored after)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: Optional[int] = None
        self._old: Dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
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
