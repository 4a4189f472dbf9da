# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Approximate-time pairing of message streams, without ROS.

This is the ApproximateTime policy of ROS ``message_filters`` (the C++ one; the Python package
ships a simpler greedy matcher) re-implemented on integer-nanosecond stamps, so the fusion node and
the offline bag tools pair visible and thermal frames the same way.

Semantics (for each of the ``num_streams`` inputs, stamps are expected in non-decreasing order):

* A *set* takes exactly one message per stream. Each message is output at most once.
* Sets are chosen by the policy's pivot search: the stream whose oldest pending message is the
  latest becomes the pivot, and the other streams' messages around it are scanned for the set with
  the smallest spread (stamp max - stamp min), with ``age_penalty`` favouring older sets on ties.
  A set is output as soon as it is *provably* optimal: every message that may still arrive (stamps
  are monotonic per stream, and at least ``inter_message_lower_bound_ns`` apart when a bound is
  given) could only make a worse set. With a zero bound this means waiting for the next message of
  the other stream; a bound close to the camera period lets the pair out as soon as its second
  message arrives.
* Sets whose spread exceeds ``slop_ns`` (message_filters' ``max_interval_duration``) are never
  output: the older message is dropped.
* Each stream holds at most ``queue_size`` pending messages; on overflow its oldest one is dropped.
* Messages that turn out to be older than an output set are dropped. ``flush()`` (end of a
  recording) outputs the remaining best sets and drops the rest.
* A message older than the previous one of its stream is dropped and counted in ``out_of_order``
  (the C++ policy only warns; dropping keeps the output in stamp order).

Counters: ``pairs`` (sets output), ``dropped`` (messages never output),
``dropped_by_stream``, ``received``, ``out_of_order``; at any time
``sum(received) == num_streams * pairs + dropped + pending``.

The callback runs synchronously inside ``add()``/``flush()`` with the lock held and receives one
item per stream (``callback(item0, item1)``); it must not call back into the synchronizer.
"""

from __future__ import annotations

from collections import deque
import threading
from typing import Any, Callable, Deque, List, Optional, Sequence, Tuple, Union

_Entry = Tuple[int, Any]  # (stamp_ns, item)


class ApproximateTimeSynchronizer:
    """Pair messages of ``num_streams`` streams by approximate stamp (see module docstring)."""

    def __init__(
        self,
        queue_size: int,
        slop_ns: int,
        callback: Callable[..., Any],
        *,
        num_streams: int = 2,
        age_penalty: float = 0.1,
        inter_message_lower_bound_ns: Union[int, Sequence[int]] = 0,
    ) -> None:
        if int(queue_size) < 1:
            raise ValueError(f'queue_size must be >= 1, got {queue_size}')
        if int(slop_ns) < 0:
            raise ValueError(f'slop_ns must be >= 0, got {slop_ns}')
        if int(num_streams) < 2:
            raise ValueError(f'num_streams must be >= 2, got {num_streams}')
        if age_penalty < 0:
            raise ValueError(f'age_penalty must be >= 0, got {age_penalty}')
        self.queue_size = int(queue_size)
        self.slop_ns = int(slop_ns)
        self.num_streams = int(num_streams)
        self.age_penalty = float(age_penalty)
        self._callback = callback
        if isinstance(inter_message_lower_bound_ns, (int, float)):
            bounds = [int(inter_message_lower_bound_ns)] * self.num_streams
        else:
            bounds = [int(b) for b in inter_message_lower_bound_ns]
        if len(bounds) != self.num_streams or any(b < 0 for b in bounds):
            raise ValueError('inter_message_lower_bound_ns: one value >= 0 per stream')
        self.inter_message_lower_bound_ns: List[int] = bounds

        self._lock = threading.Lock()
        n = self.num_streams
        self._deques: List[Deque[_Entry]] = [deque() for _ in range(n)]
        self._past: List[List[_Entry]] = [[] for _ in range(n)]
        self._has_dropped = [False] * n
        self._last_stamp: List[Optional[int]] = [None] * n
        self._candidate: Optional[Tuple[_Entry, ...]] = None
        self._candidate_start = 0
        self._candidate_end = 0
        self._pivot: Optional[int] = None
        self._pivot_time = 0

        self.pairs = 0
        self.dropped = 0
        self.out_of_order = 0
        self.received = [0] * n
        self.dropped_by_stream = [0] * n

    # ------------------------------------------------------------------ public API
    @property
    def pending(self) -> int:
        """Messages held (waiting for a partner or for proof of optimality)."""
        with self._lock:
            return sum(len(d) + len(p) for d, p in zip(self._deques, self._past))

    def add(self, index: int, stamp_ns: int, item: Any) -> None:
        """Add ``item`` stamped ``stamp_ns`` (integer nanoseconds) to stream ``index``."""
        if not 0 <= index < self.num_streams:
            raise IndexError(f'stream index {index} out of range 0..{self.num_streams - 1}')
        stamp = int(stamp_ns)
        with self._lock:
            self.received[index] += 1
            last = self._last_stamp[index]
            if last is not None and stamp < last:
                self.out_of_order += 1
                self._count_drop(index)
                return
            self._last_stamp[index] = stamp
            dq = self._deques[index]
            dq.append((stamp, item))
            if len(dq) == 1 and self._all_nonempty():
                self._process()
            # During _process() a deque may transiently hold queue_size + 1 messages.
            if len(dq) + len(self._past[index]) > self.queue_size:
                self._recover_all()  # cancel any ongoing candidate search
                dq.popleft()
                self._count_drop(index)
                self._has_dropped[index] = True
                if self._pivot is not None:
                    self._candidate = None
                    self._pivot = None
                    self._process()

    def flush(self) -> int:
        """End of input: output every set that is still possible, drop the rest.

        Returns the number of sets output by this call. The synchronizer is then empty (stamp
        order checks restart) and can be reused.
        """
        with self._lock:
            before = self.pairs
            # With no more input, a candidate waiting for proof of optimality is optimal.
            while self._pivot is not None:
                self._publish()
                self._process()
            self._drop_all_pending()
            return self.pairs - before

    def reset(self) -> None:
        """Drop everything pending (counted) and forget the last stamps, e.g. after a time jump."""
        with self._lock:
            self._drop_all_pending()

    # ------------------------------------------------------------------ internals
    def _count_drop(self, index: int, count: int = 1) -> None:
        self.dropped += count
        self.dropped_by_stream[index] += count

    def _drop_all_pending(self) -> None:
        for i in range(self.num_streams):
            self._count_drop(i, len(self._deques[i]) + len(self._past[i]))
            self._deques[i].clear()
            self._past[i].clear()
        self._candidate = None
        self._pivot = None
        self._has_dropped = [False] * self.num_streams
        self._last_stamp = [None] * self.num_streams

    def _all_nonempty(self) -> bool:
        return all(self._deques)

    def _fronts_boundary(self, times: Sequence[int]) -> Tuple[int, int, int, int]:
        """(end_index, end_time, start_index, start_time).

        Latest (last on ties) and earliest (first on ties), as the C++ policy breaks ties.
        """
        end_i, end_t = 0, times[0]
        start_i, start_t = 0, times[0]
        for i in range(1, len(times)):
            t = times[i]
            if t >= end_t:
                end_i, end_t = i, t
            if t < start_t:
                start_i, start_t = i, t
        return end_i, end_t, start_i, start_t

    def _delete_front(self, i: int) -> None:
        self._deques[i].popleft()
        self._count_drop(i)

    def _move_front_to_past(self, i: int) -> None:
        self._past[i].append(self._deques[i].popleft())

    def _make_candidate(self) -> None:
        self._candidate = tuple(d[0] for d in self._deques)
        # Everything hidden in the past is older than the new candidate: it can never be output.
        for i, past in enumerate(self._past):
            if past:
                self._count_drop(i, len(past))
                past.clear()

    def _recover(self, i: int, count: Optional[int] = None) -> None:
        past, dq = self._past[i], self._deques[i]
        n = len(past) if count is None else count
        for _ in range(n):
            dq.appendleft(past.pop())

    def _recover_all(self) -> None:
        for i in range(self.num_streams):
            self._recover(i)

    def _publish(self) -> None:
        candidate = self._candidate
        assert candidate is not None
        self._candidate = None
        self._pivot = None
        # Put hidden messages back and delete the candidate's ones (each is its stream's oldest).
        for i in range(self.num_streams):
            self._recover(i)
            entry = self._deques[i].popleft()
            assert entry is candidate[i]
        self.pairs += 1
        self._callback(*(entry[1] for entry in candidate))

    def _penalised(self, end_time: int) -> float:
        return (end_time - self._candidate_end) * (1.0 + self.age_penalty)

    def _virtual_time(self, i: int) -> int:
        dq = self._deques[i]
        if dq:
            return dq[0][0]
        # Optimistic stamp of the next message of stream i.
        return max(self._past[i][-1][0] + self.inter_message_lower_bound_ns[i], self._pivot_time)

    def _process(self) -> None:
        n = self.num_streams
        while self._all_nonempty():
            end_i, end_t, start_i, start_t = self._fronts_boundary([d[0][0] for d in self._deques])
            for i in range(n):
                if i != end_i:
                    # No dropped message of stream i could have been better than the ones we have.
                    self._has_dropped[i] = False
            if self._pivot is None:
                if end_t - start_t > self.slop_ns or self._has_dropped[end_i]:
                    # Too far apart to pair, or the would-be pivot lost messages to overflow.
                    self._delete_front(start_i)
                    continue
                self._make_candidate()
                self._candidate_start, self._candidate_end = start_t, end_t
                self._pivot, self._pivot_time = end_i, end_t
                self._move_front_to_past(start_i)
            else:
                if self._penalised(end_t) < start_t - self._candidate_start:
                    self._make_candidate()  # a better candidate; same pivot
                    self._candidate_start, self._candidate_end = start_t, end_t
                self._move_front_to_past(start_i)

            if start_i == self._pivot:
                # Exhausted the candidates for this pivot: the best one is final.
                self._publish()
            elif self._penalised(end_t) >= self._pivot_time - self._candidate_start:
                # Any later set contains [pivot_time, end_t], already too wide.
                self._publish()
            elif not self._all_nonempty():
                self._virtual_search()

    def _virtual_search(self) -> None:
        """Use the inter-message lower bounds to try to prove the candidate optimal now."""
        moves = [0] * self.num_streams
        while True:
            times = [self._virtual_time(i) for i in range(self.num_streams)]
            _, end_t, start_i, start_t = self._fronts_boundary(times)
            if self._penalised(end_t) >= self._pivot_time - self._candidate_start:
                self._publish()  # proved optimal; also undoes the virtual moves
                return
            if self._penalised(end_t) < start_t - self._candidate_start:
                # An optimistic future set would beat the candidate: wait for more messages.
                for i, m in enumerate(moves):
                    self._recover(i, m)
                return
            # start_t < pivot_time here, so stream start_i has a real message at its front.
            self._move_front_to_past(start_i)
            moves[start_i] += 1
