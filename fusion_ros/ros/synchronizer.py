"""Approximate-time pairing of the visible and thermal messages, behind one small interface.

Where the ROS ``message_filters`` Python package is installed, its ``ApproximateTimeSynchronizer``
does the pairing (fed through two ``SimpleFilter`` inputs, so the node keeps its own subscriptions
and their arrival-time bookkeeping); otherwise, or with ``backend="fusion_ros"``, our
:class:`fusion_ros.sync.ApproximateTimeSynchronizer` does, which implements message_filters' C++
ApproximateTime policy (optimal pairs, output as soon as they are provably final).

Differences worth knowing: message_filters' Python synchronizer pairs greedily (the first partner
within ``slop`` wins, output at once) and ignores ``inter_message_lower_bound``; its dropped
messages are derived from its queues (received - paired - waiting).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from fusion_ros.sync import ApproximateTimeSynchronizer as _OwnSynchronizer

#: A stamp this far behind the previous one of the same input means time restarted (a bag
#: looping, a simulator reset): the synchronizer is reset instead of dropping everything after it.
TIME_JUMP_BACK_NS = 1_000_000_000


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
    return hasattr(message_filters, "ApproximateTimeSynchronizer")


class PairSynchronizer:
    """``add(index, msg, stamp_ns, arrival_ns)`` with index 0 (visible) or 1 (thermal);
    ``callback(visible: StampedMessage, thermal: StampedMessage)`` per pair.

    backend: ``"auto"`` (message_filters when importable, else ours), ``"message_filters"`` or
    ``"fusion_ros"``. Thread-safe; the callback runs inside ``add()``.
    """

    def __init__(self, queue_size: int, slop_s: float,
                 callback: Callable[[StampedMessage, StampedMessage], None], *,
                 inter_message_lower_bound_s: float = 0.0, backend: str = "auto") -> None:
        if backend not in ("auto", "message_filters", "fusion_ros"):
            raise ValueError(f"unknown synchronizer backend '{backend}'")
        if backend == "auto":
            backend = "message_filters" if message_filters_available() else "fusion_ros"
        self.backend = backend
        self.queue_size = int(queue_size)
        self.slop_s = float(slop_s)
        self.inter_message_lower_bound_s = float(inter_message_lower_bound_s)
        self._callback = callback
        self._lock = threading.Lock()
        self._last_stamp: List[Optional[int]] = [None, None]
        self.resets = 0
        self._mf_pairs_total = 0
        self._mf_dropped_base = [0, 0]
        self._build()

    def _build(self) -> None:
        if self.backend == "message_filters":
            import message_filters

            self._inputs = [message_filters.SimpleFilter(), message_filters.SimpleFilter()]
            self._mf = message_filters.ApproximateTimeSynchronizer(
                self._inputs, self.queue_size, self.slop_s)
            self._mf.registerCallback(self._on_pair)
            # Counted since this instance was built; earlier ones are folded into the base.
            self._mf_received = [0, 0]
            self._mf_paired = 0
            self._own = None
        else:
            self._own = _OwnSynchronizer(
                self.queue_size, int(round(self.slop_s * 1e9)), self._on_pair,
                inter_message_lower_bound_ns=int(round(self.inter_message_lower_bound_s * 1e9)))
            self._mf = None

    def _on_pair(self, visible: StampedMessage, thermal: StampedMessage) -> None:
        if self._mf is not None:
            self._mf_paired += 1
            self._mf_pairs_total += 1
        self._callback(visible, thermal)

    def add(self, index: int, msg: Any, stamp_ns: int, arrival_ns: int) -> bool:
        """Add one message; returns True when a backwards time jump reset the synchronizer."""
        item = StampedMessage(msg.header, msg, int(stamp_ns), int(arrival_ns))
        jumped = False
        with self._lock:
            last = self._last_stamp[index]
            if last is not None and item.stamp_ns < last - TIME_JUMP_BACK_NS:
                self._reset_locked()
                jumped = True
            self._last_stamp[index] = item.stamp_ns
            if self._own is not None:
                self._own.add(index, item.stamp_ns, item)
            else:
                self._mf_received[index] += 1
                self._inputs[index].signalMessage(item)
        return jumped

    def reset(self) -> None:
        with self._lock:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self.resets += 1
        self._last_stamp = [None, None]
        if self._own is not None:
            self._own.reset()
        else:  # everything waiting is dropped; a fresh message_filters synchronizer
            for i in range(2):
                self._mf_dropped_base[i] += self._mf_received[i] - self._mf_paired
            self._build()

    # ------------------------------------------------------------------ counters
    @property
    def pairs(self) -> int:
        return self._own.pairs if self._own is not None else self._mf_pairs_total

    @property
    def dropped_by_stream(self) -> List[int]:
        """Messages of each input that were never paired (and never will be)."""
        if self._own is not None:
            return list(self._own.dropped_by_stream)
        waiting = [len(q) for q in self._mf.queues]
        return [self._mf_dropped_base[i] + self._mf_received[i] - self._mf_paired - waiting[i]
                for i in range(2)]

    @property
    def dropped(self) -> int:
        return sum(self.dropped_by_stream)
