# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Per-topic diagnostic tasks in the form of diagnostic_updater's ``TopicDiagnostic``.

diagnostic_updater (C++ and Python) is not on PyPI, so it cannot be imported where this package is
installed from wheels; robot monitors (rqt_robot_monitor, diagnostic_aggregator analyzers) still
expect its task layout: one ``DiagnosticStatus`` per topic named ``<node>: <topic> topic status``
with a frequency part (``Events in window``, ``Actual frequency (Hz)``, ...) and a timestamp part
(``Earliest/Latest timestamp delay``). This module keeps those key names so existing analyzers and
dashboards read our statuses unchanged; the fusion node publishes one task per camera input and
one for the fused output next to its own ``<node>: fusion`` status.
"""

from __future__ import annotations

from collections import deque
import threading
from typing import Deque, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from .diagnostics import ERROR, OK, RateMeter, status_level, WARN

# diagnostic_updater's TimeStampStatusParam defaults: stamps more than 1 s ahead of the receiving
# clock, or more than 5 s behind it, are flagged.
MIN_DELAY_S = -1.0
MAX_DELAY_S = 5.0


class TopicStatus:
    """Frequency (a RateMeter) and timestamp delay of one topic over a window (thread-safe)."""

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = float(window_s)
        self._lock = threading.Lock()
        self._meter = RateMeter(window_s)
        self._delays: Deque[Tuple[float, float]] = deque(maxlen=100_000)

    def tick(self, now: float, stamp_delay_s: Optional[float] = None) -> None:
        """Record one message at monotonic ``now``; ``stamp_delay_s`` = receive time - stamp."""
        with self._lock:
            self._meter.tick(now)
            if stamp_delay_s is not None:
                self._delays.append((now, stamp_delay_s))

    def status(
        self, node_name: str, topic: str, hardware_id: str, timeout_s: float, now: float
    ) -> DiagnosticStatus:
        """Return this task's DiagnosticStatus as of monotonic ``now``."""
        with self._lock:
            while self._delays and self._delays[0][0] < now - self.window_s:
                self._delays.popleft()
            delays = [d for _, d in self._delays]
            meter = self._meter
            in_window, rate = meter.in_window(now), meter.rate(now)
            total, first, last = meter.count, meter.first, meter.last
        span = min(self.window_s, now - first) if first is not None else 0.0
        values = [
            ('Events in window', str(in_window)),
            ('Events since startup', str(total)),
            ('Duration of window (s)', f'{span:.2f}'),
            ('Actual frequency (Hz)', f'{rate:.2f}'),
        ]
        if delays:
            values += [
                ('Earliest timestamp delay', f'{min(delays):.6f}'),
                ('Latest timestamp delay', f'{max(delays):.6f}'),
            ]
        level, message = self._verdict(last, now, timeout_s, rate, delays)
        status = DiagnosticStatus()
        status.level = status_level(level)
        status.name = f'{node_name}: {topic} topic status'
        status.message = message
        status.hardware_id = hardware_id
        status.values = [KeyValue(key=k, value=v) for k, v in values]
        return status

    @staticmethod
    def _verdict(
        last: Optional[float], now: float, timeout_s: float, rate: float, delays: list
    ) -> Tuple[int, str]:
        if last is None:
            return WARN, 'no message yet'
        if now - last > timeout_s:
            return ERROR, f'no message for {now - last:.1f} s'
        if delays and min(delays) < MIN_DELAY_S:
            return WARN, (
                f'timestamps too far in future seen ({-min(delays):.1f} s ahead of this '
                "node's clock: are the machines' clocks synchronised?)"
            )
        if delays and max(delays) > MAX_DELAY_S:
            return WARN, f'timestamps too far in past seen ({max(delays):.1f} s old)'
        return OK, f'{rate:.1f} Hz'
