# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Pairing policy shared by the fusion node and the bag tools.

Defaults, the restart when a camera's stamps jump back, and counters that survive restarts and
reconfiguration.

Why here and not in the node: a bag recorded while a simulator looped, and a live camera after a
restart, both send stamps that jump back; the node (``fusion_ros.ros.synchronizer``) and the
offline tools (``fusion_ros.bags.pairs``) must restart the same way and count the same things.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from fusion_ros.sync.approximate_time import ApproximateTimeSynchronizer

#: The fusion node's defaults (its sync_slop, sync_queue_size, sync_inter_message_lower_bound).
DEFAULT_SLOP_S = 0.015
DEFAULT_QUEUE_SIZE = 5
DEFAULT_INTER_MESSAGE_LOWER_BOUND_S = 0.02
#: Offline there is no latency to save, so no inter-message bound: every pair is provably optimal
#: (with a correct bound the node outputs the same pairs, only sooner).
OFFLINE_INTER_MESSAGE_LOWER_BOUND_S = 0.0
#: A stamp this far behind the previous one of the same input means time restarted (a bag
#: looping, a simulator reset): the synchronizer restarts instead of dropping everything after it.
TIME_JUMP_BACK_NS = 1_000_000_000


@dataclass
class PairStats:
    """Counters of a pairing run (all restarts and reconfigurations included)."""

    received: List[int] = field(default_factory=lambda: [0, 0])
    pairs: int = 0
    dropped: List[int] = field(default_factory=lambda: [0, 0])
    out_of_order: int = 0
    resets: int = 0


class StampWatch:
    """The last stamp of each input; tells when one jumps back by more than TIME_JUMP_BACK_NS."""

    def __init__(self, inputs: int = 2) -> None:
        self._last: List[Optional[int]] = [None] * inputs

    def jumped(self, index: int, stamp_ns: int) -> bool:
        """Record ``stamp_ns``; True (and every input forgotten) when time jumped back."""
        last = self._last[index]
        jumped = last is not None and stamp_ns < last - TIME_JUMP_BACK_NS
        if jumped:
            self.clear()
        self._last[index] = stamp_ns
        return jumped

    def clear(self) -> None:
        self._last = [None] * len(self._last)


class RestartingSynchronizer:
    """Pair two inputs (0 visible, 1 thermal), restarting when an input's stamps jump back.

    An :class:`ApproximateTimeSynchronizer` whose counters (:attr:`stats`) span restarts and
    :meth:`reconfigure`. On a jump the pending messages are dropped (live: they wait for
    partners that will never come) or, with ``flush_on_jump`` (offline: they are all there), paired
    first. Not thread-safe: callers hold their own lock.
    """

    def __init__(
        self,
        queue_size: int,
        slop_s: float,
        callback: Callable[[Any, Any], None],
        *,
        inter_message_lower_bound_s: float = 0.0,
        flush_on_jump: bool = False,
    ) -> None:
        self._callback = callback
        self._flush_on_jump = flush_on_jump
        self._watch = StampWatch()
        self._base = PairStats()
        self._sync = self._build(queue_size, slop_s, inter_message_lower_bound_s)

    def _build(
        self, queue_size: int, slop_s: float, bound_s: float
    ) -> ApproximateTimeSynchronizer:
        self._config = (queue_size, slop_s, bound_s)
        return ApproximateTimeSynchronizer(
            int(queue_size),
            int(round(float(slop_s) * 1e9)),
            self._callback,
            inter_message_lower_bound_ns=int(round(float(bound_s) * 1e9)),
        )

    def add(self, index: int, stamp_ns: int, item: Any) -> bool:
        """Add one item; True when a backwards time jump restarted the synchronizer first."""
        jumped = self._watch.jumped(index, int(stamp_ns))
        if jumped:
            self._restart(flush=self._flush_on_jump)
            self._base.resets += 1
        self._sync.add(index, int(stamp_ns), item)
        return jumped

    def flush(self) -> None:
        """End of input: the remaining best pairs go to the callback."""
        self._sync.flush()

    def reset(self) -> None:
        """Drop everything pending (counted) and forget the last stamps (counted in resets)."""
        self._restart(flush=False)
        self._watch.clear()
        self._base.resets += 1

    def reconfigure(
        self, queue_size: int, slop_s: float, inter_message_lower_bound_s: float
    ) -> None:
        """Return new settings; pending messages are dropped (counted), counters continue."""
        self._restart(flush=False)
        self._watch.clear()
        self._sync = self._build(queue_size, slop_s, inter_message_lower_bound_s)

    def _restart(self, flush: bool) -> None:
        if flush:
            self._sync.flush()
        else:
            self._sync.reset()
        s, b = self._sync, self._base
        b.pairs += s.pairs
        b.dropped = [x + y for x, y in zip(b.dropped, s.dropped_by_stream)]
        b.received = [x + y for x, y in zip(b.received, s.received)]
        b.out_of_order += s.out_of_order
        self._sync = self._build(*self._config)

    @property
    def stats(self) -> PairStats:
        s, b = self._sync, self._base
        return PairStats(
            received=[x + y for x, y in zip(b.received, s.received)],
            pairs=b.pairs + s.pairs,
            dropped=[x + y for x, y in zip(b.dropped, s.dropped_by_stream)],
            out_of_order=b.out_of_order + s.out_of_order,
            resets=b.resets,
        )
