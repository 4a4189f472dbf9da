# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Approximate-time pairing of the visible and thermal messages, behind one small interface.

Where the ROS ``message_filters`` Python package is installed, its ``ApproximateTimeSynchronizer``
does the pairing (fed through two ``SimpleFilter`` inputs, so the node keeps its own subscriptions
and their arrival-time bookkeeping); otherwise, or with ``backend="fusion_ros"``, our
:class:`fusion_ros.sync.ApproximateTimeSynchronizer` does, which implements message_filters' C++
ApproximateTime policy (optimal pairs, output as soon as they are provably final).

The restart when stamps jump back and the counters that span restarts live in
:mod:`fusion_ros.sync` (shared with the bag tools). Differences worth knowing: message_filters'
Python synchronizer pairs greedily (the first partner within ``slop`` wins, output at once) and
ignores ``inter_message_lower_bound``; its dropped messages are derived from its queues (received -
paired - waiting).
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Any, Callable, List, Optional

from fusion_ros.sync import RestartingSynchronizer, StampWatch


@dataclass
class StampedMessage:
    """A received message with its arrival time; ``header`` lets message_filters read the stamp."""

    header: Any
    msg: Any
    stamp_ns: int
    arrival_ns: int


def message_filters_available() -> bool:
    try:
        import message_filters
    except ImportError:
        return False
    return hasattr(message_filters, 'ApproximateTimeSynchronizer')


class PairSynchronizer:
    """``add(index, msg, stamp_ns, arrival_ns)`` with index 0 (visible) or 1 (thermal).

    ``callback(visible: StampedMessage, thermal: StampedMessage)`` per pair.

    backend: ``"auto"`` (message_filters when importable, else ours), ``"message_filters"`` or
    ``"fusion_ros"``. Thread-safe; the callback runs inside ``add()``. The restart on a backwards
    time jump and the counters are :mod:`fusion_ros.sync`'s; this class only adapts.
    """

    def __init__(
        self,
        queue_size: int,
        slop_s: float,
        callback: Callable[[StampedMessage, StampedMessage], None],
        *,
        inter_message_lower_bound_s: float = 0.0,
        backend: str = 'auto',
    ) -> None:
        if backend not in ('auto', 'message_filters', 'fusion_ros'):
            raise ValueError(f"unknown synchronizer backend '{backend}'")
        if backend == 'auto':
            backend = 'message_filters' if message_filters_available() else 'fusion_ros'
        self.backend = backend
        self._callback = callback
        self._lock = threading.Lock()
        self._own: Optional[RestartingSynchronizer] = None
        self._mf = None
        if backend == 'fusion_ros':
            self._own = RestartingSynchronizer(
                queue_size,
                slop_s,
                callback,
                inter_message_lower_bound_s=inter_message_lower_bound_s,
            )
        else:
            self._mf_watch = StampWatch()
            self._mf_resets = 0
            self._mf_pairs_total = 0
            self._mf_dropped_base = [0, 0]
            self._build_mf(queue_size, slop_s)

    def _build_mf(self, queue_size: int, slop_s: float) -> None:
        import message_filters

        self._mf_config = (int(queue_size), float(slop_s))
        self._inputs = [message_filters.SimpleFilter(), message_filters.SimpleFilter()]
        self._mf = message_filters.ApproximateTimeSynchronizer(self._inputs, *self._mf_config)
        self._mf.registerCallback(self._on_mf_pair)
        # Counted since this instance was built; earlier ones are folded into the base.
        self._mf_received = [0, 0]
        self._mf_paired = 0

    def _on_mf_pair(self, visible: StampedMessage, thermal: StampedMessage) -> None:
        self._mf_paired += 1
        self._mf_pairs_total += 1
        self._callback(visible, thermal)

    def add(self, index: int, msg: Any, stamp_ns: int, arrival_ns: int) -> bool:
        """Add one message; returns True when a backwards time jump reset the synchronizer."""
        item = StampedMessage(msg.header, msg, int(stamp_ns), int(arrival_ns))
        with self._lock:
            if self._own is not None:
                return self._own.add(index, item.stamp_ns, item)
            jumped = self._mf_watch.jumped(index, item.stamp_ns)
            if jumped:
                self._mf_resets += 1
                self._rebuild_mf(*self._mf_config)
            self._mf_received[index] += 1
            self._inputs[index].signalMessage(item)
        return jumped

    def reset(self) -> None:
        """Drop everything pending (counted) and forget the last stamps."""
        with self._lock:
            if self._own is not None:
                self._own.reset()
            else:
                self._mf_resets += 1
                self._mf_watch.clear()
                self._rebuild_mf(*self._mf_config)

    def reconfigure(
        self, queue_size: int, slop_s: float, inter_message_lower_bound_s: float
    ) -> None:
        """Return new settings (a parameter change).

        Pending messages are dropped, counters continue.
        """
        with self._lock:
            if self._own is not None:
                self._own.reconfigure(queue_size, slop_s, inter_message_lower_bound_s)
            else:
                self._mf_watch.clear()
                self._rebuild_mf(queue_size, slop_s)

    def _rebuild_mf(self, queue_size: int, slop_s: float) -> None:
        """Everything waiting is dropped; a fresh message_filters synchronizer."""
        for i in range(2):
            self._mf_dropped_base[i] += self._mf_received[i] - self._mf_paired
        self._build_mf(queue_size, slop_s)

    # ------------------------------------------------------------------ counters
    @property
    def resets(self) -> int:
        return self._own.stats.resets if self._own is not None else self._mf_resets

    @property
    def pairs(self) -> int:
        return self._own.stats.pairs if self._own is not None else self._mf_pairs_total

    @property
    def dropped_by_stream(self) -> List[int]:
        """Messages of each input that were never paired (and never will be)."""
        if self._own is not None:
            return self._own.stats.dropped
        waiting = [len(q) for q in self._mf.queues]
        return [
            self._mf_dropped_base[i] + self._mf_received[i] - self._mf_paired - waiting[i]
            for i in range(2)
        ]

    @property
    def dropped(self) -> int:
        return sum(self.dropped_by_stream)
