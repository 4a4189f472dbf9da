# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""fusion_ros.sync: approximate-time pairing (message_filters' ApproximateTime policy), no ROS."""

from __future__ import annotations

import random

from fusion_ros.sync import ApproximateTimeSynchronizer
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

MS = 1_000_000


class Recorder:
    """Feeds a synchronizer and records what comes out (items are (stream, seq, stamp))."""

    def __init__(self, queue_size=1000, slop_ns=10 * MS, **kw):
        self.out = []
        self.sync = ApproximateTimeSynchronizer(queue_size, slop_ns, self._cb, **kw)
        self.added = []

    def _cb(self, a, b):
        self.out.append((a, b))

    def add(self, stream, seq, stamp):
        item = (stream, seq, stamp)
        self.added.append(item)
        self.sync.add(stream, stamp, item)

    def feed(self, streams, order):
        """streams: two stamp lists; order: sequence of stream indices (arrival order)."""
        pos = [0, 0]
        for s in order:
            if pos[s] < len(streams[s]):
                self.add(s, pos[s], streams[s][pos[s]])
                pos[s] += 1
        for s in (0, 1):  # whatever the order did not cover
            while pos[s] < len(streams[s]):
                self.add(s, pos[s], streams[s][pos[s]])
                pos[s] += 1


def reference_pairs(a, b, slop, age_penalty):
    """Batch reference for two streams with all stamps distinct (within and across streams)."""
    streams = [list(a), list(b)]
    idx = [0, 0]
    pairs = []
    while idx[0] < len(streams[0]) and idx[1] < len(streams[1]):
        heads = [streams[0][idx[0]], streams[1][idx[1]]]
        piv = 0 if heads[0] > heads[1] else 1
        oth = 1 - piv
        p = heads[piv]
        if p - heads[oth] > slop:
            idx[oth] += 1
            continue
        other = streams[oth]
        cand = idx[oth]
        cs, ce = other[cand], p
        j = cand + 1
        while j < len(other):
            s = other[j]
            if s < p:  # same end, later start: strictly better
                cand, cs = j, s
                j += 1
                continue
            if (s - ce) * (1 + age_penalty) < (p - cs):
                cand = j
            break
        pair = [None, None]
        pair[piv] = (piv, idx[piv], p)
        pair[oth] = (oth, cand, other[cand])
        pairs.append(tuple(pair))
        idx[piv] += 1
        idx[oth] = cand + 1
    return pairs


def check_invariants(rec: Recorder, slop, flushed):
    sync = rec.sync
    used = set()
    last = [None, None]
    for a, b in rec.out:
        assert a[0] == 0 and b[0] == 1
        assert abs(a[2] - b[2]) <= slop, (a, b)
        for it in (a, b):
            assert it not in used, f'{it} used twice'
            used.add(it)
            s = it[0]
            if last[s] is not None:  # output in stamp (and arrival) order per stream
                assert it[2] >= last[s][2] and it[1] > last[s][1]
            last[s] = it
    assert sync.pairs == len(rec.out)
    assert sum(sync.received) == len(rec.added)
    assert sum(sync.received) == 2 * sync.pairs + sync.dropped + sync.pending
    assert sum(sync.dropped_by_stream) == sync.dropped
    if flushed:
        assert sync.pending == 0


distinct_streams = st.lists(
    st.tuples(st.integers(0, 2000), st.integers(0, 1)),
    min_size=0,
    max_size=60,
    unique_by=lambda t: t[0],
).map(lambda xs: [sorted(t * MS // 10 for t, s in xs if s == k) for k in (0, 1)])
orders = st.lists(st.integers(0, 1), max_size=120)


@settings(max_examples=300, deadline=None)
@given(
    streams=distinct_streams,
    order=orders,
    slop=st.integers(0, 40),
    penalty=st.sampled_from([0.0, 0.1, 0.5]),
)
def test_matches_batch_reference_for_any_arrival_interleaving(streams, order, slop, penalty):
    slop_ns = slop * MS
    rec = Recorder(slop_ns=slop_ns, age_penalty=penalty)
    rec.feed(streams, order)
    online = list(rec.out)
    rec.sync.flush()
    expected = reference_pairs(streams[0], streams[1], slop_ns, penalty)
    assert rec.out == expected
    # Nothing emitted online is ever retracted: the online output is a prefix of the final one.
    assert rec.out[: len(online)] == online
    check_invariants(rec, slop_ns, flushed=True)


def gapped(draw_gaps, lb):
    out, t = [], 0
    for g in draw_gaps:
        t += lb + g
        out.append(t)
    return out


@settings(max_examples=200, deadline=None)
@given(
    gaps0=st.lists(st.integers(1, 30 * MS), max_size=40),
    gaps1=st.lists(st.integers(1, 30 * MS), max_size=40),
    offset=st.integers(-50 * MS, 50 * MS),
    order=orders,
    lb_ms=st.sampled_from([0, 5, 20]),
)
def test_lower_bound_does_not_change_result_when_respected(gaps0, gaps1, offset, order, lb_ms):
    lb = lb_ms * MS
    a = gapped(gaps0, lb)
    b = [t + offset for t in gapped(gaps1, lb)]
    if set(a) & set(b):
        return  # the reference needs distinct stamps
    rec = Recorder(slop_ns=15 * MS, inter_message_lower_bound_ns=lb)
    rec.feed([a, b], order)
    rec.sync.flush()
    assert rec.out == reference_pairs(a, b, 15 * MS, 0.1)
    check_invariants(rec, 15 * MS, flushed=True)


any_streams = st.lists(
    st.lists(st.integers(0, 300), max_size=50).map(sorted), min_size=2, max_size=2
)


@settings(max_examples=300, deadline=None)
@given(
    streams=any_streams,
    order=orders,
    slop=st.integers(0, 30),
    queue=st.integers(1, 6),
    lb=st.sampled_from([0, 3, 10]),
)
def test_invariants_with_ties_and_small_queues(streams, order, slop, queue, lb):
    """Equal stamps, tiny queues (overflow drops), bounds that may be violated: still sound."""
    streams = [[t * MS for t in s] for s in streams]
    rec = Recorder(queue_size=queue, slop_ns=slop * MS, inter_message_lower_bound_ns=lb * MS)
    rec.feed(streams, order)
    check_invariants(rec, slop * MS, flushed=False)
    for s in (0, 1):  # a stream never holds more than queue_size messages between calls
        assert len(rec.sync._deques[s]) + len(rec.sync._past[s]) <= queue
    rec.sync.flush()
    check_invariants(rec, slop * MS, flushed=True)


@settings(max_examples=100, deadline=None)
@given(streams=any_streams, order=orders)
def test_out_of_order_messages_are_dropped_and_counted(streams, order):
    """Shuffle one stream: backwards stamps are dropped, the rest still satisfies everything."""
    a = list(streams[0])
    random.Random(len(a)).shuffle(a)
    rec = Recorder(slop_ns=5 * MS)
    rec.feed([[t * MS for t in a], [t * MS for t in streams[1]]], order)
    rec.sync.flush()
    check_invariants(rec, 5 * MS, flushed=True)
    expected_ooo, last = 0, None
    for t in a:
        if last is not None and t < last:
            expected_ooo += 1
        else:
            last = t
    assert rec.sync.out_of_order == expected_ooo


def camera(n, period, offset, jitter, miss, rng):
    out = []
    for k in range(n):
        if rng.random() < miss:
            continue
        out.append(offset + k * period + rng.randint(-jitter, jitter))
    return out


@pytest.mark.parametrize('seed', range(5))
def test_realistic_30hz_cameras_with_transport_delays(seed):
    """Two 30 Hz cameras, a few ms apart, frames lost, arrival order set by transport delay."""
    rng = random.Random(seed)
    period = 33_333_333
    vis = camera(300, period, 0, 200_000, 0.05, rng)
    thr = camera(300, period, 4 * MS, 200_000, 0.05, rng)
    events = [(t + rng.randint(1, 15) * MS, 0, t) for t in vis] + [
        (t + rng.randint(1, 15) * MS, 1, t) for t in thr
    ]
    events.sort()
    rec = Recorder(queue_size=10, slop_ns=15 * MS, inter_message_lower_bound_ns=20 * MS)
    for seq, (_, s, t) in enumerate(events):
        rec.add(s, seq, t)
    rec.sync.flush()
    check_invariants(rec, 15 * MS, flushed=True)
    both = {round(t / period) for t in vis} & {round((t - 4 * MS) / period) for t in thr}
    assert rec.sync.pairs == len(both)  # every frame whose partner exists is paired
    for a, b in rec.out:
        assert 3 * MS <= b[2] - a[2] <= 5 * MS


@pytest.mark.parametrize('lb_ms, emitted_on', [(20, 'second message'), (0, 'next message')])
def test_pair_emitted_as_soon_as_it_is_certain(lb_ms, emitted_on):
    rec = Recorder(slop_ns=10 * MS, inter_message_lower_bound_ns=lb_ms * MS)
    rec.add(0, 0, 1000 * MS)
    rec.add(1, 0, 1003 * MS)
    if emitted_on == 'second message':
        # The next visible frame is >= 1020 ms: it cannot beat the 3 ms pair.
        assert len(rec.out) == 1
    else:
        # Without a bound a visible frame at 1003.5 ms could still arrive.
        assert rec.out == []
        rec.add(1, 1, 1036 * MS)  # thermal frames alone prove nothing
        assert rec.out == []
        rec.add(0, 1, 1033 * MS)
        assert len(rec.out) == 1
    assert rec.out[0] == ((0, 0, 1000 * MS), (1, 0, 1003 * MS))


def test_exact_stamps_pair_immediately_and_best_partner_is_chosen():
    rec = Recorder(slop_ns=10 * MS)
    rec.add(0, 0, 100 * MS)
    rec.add(1, 0, 100 * MS)
    assert rec.out == [((0, 0, 100 * MS), (1, 0, 100 * MS))]
    # Thermal 200, 205, 209 waiting; visible 208: best partner 209 (1 ms), 200/205 dropped.
    for k, t in enumerate((200, 205, 209)):
        rec.add(1, k + 1, t * MS)
    rec.add(0, 1, 208 * MS)
    rec.add(0, 2, 241 * MS)
    assert rec.out[-1] == ((0, 1, 208 * MS), (1, 3, 209 * MS))
    assert rec.sync.dropped == 2


def test_slop_rejects_far_pairs_and_counts_drops():
    rec = Recorder(slop_ns=5 * MS)
    rec.add(0, 0, 0)
    rec.add(1, 0, 20 * MS)  # 20 ms apart: visible 0 is dropped
    assert rec.out == [] and rec.sync.dropped == 1
    rec.add(0, 1, 22 * MS)
    rec.add(0, 2, 60 * MS)  # pivot is visible 22: only a thermal frame can settle it
    assert rec.out == []
    rec.add(1, 1, 55 * MS)
    assert rec.out == [((0, 1, 22 * MS), (1, 0, 20 * MS))]


def test_silent_stream_is_bounded_by_queue_size():
    rec = Recorder(queue_size=3, slop_ns=5 * MS)
    for k in range(10):
        rec.add(0, k, k * 33 * MS)
    assert rec.sync.pending == 3
    assert rec.sync.dropped == 7 and rec.sync.dropped_by_stream == [7, 0]
    rec.add(1, 0, 9 * 33 * MS + MS)
    rec.sync.flush()
    assert rec.out == [((0, 9, 9 * 33 * MS), (1, 0, 9 * 33 * MS + MS))]
    assert rec.sync.dropped == 9


def test_reset_and_validation():
    rec = Recorder(slop_ns=5 * MS)
    rec.add(0, 0, 10 * MS)
    rec.sync.reset()
    assert rec.sync.pending == 0 and rec.sync.dropped == 1
    rec.add(0, 1, 1 * MS)  # older than before the reset: accepted (stamp history forgotten)
    assert rec.sync.out_of_order == 0
    with pytest.raises(IndexError):
        rec.sync.add(2, 0, None)
    for bad in ({'queue_size': 0, 'slop_ns': 1}, {'queue_size': 1, 'slop_ns': -1}):
        with pytest.raises(ValueError):
            ApproximateTimeSynchronizer(callback=print, **bad)
    with pytest.raises(ValueError):
        ApproximateTimeSynchronizer(1, 1, print, inter_message_lower_bound_ns=[1, 2, 3])


def test_three_streams():
    out = []
    sync = ApproximateTimeSynchronizer(
        10, 5 * MS, lambda *xs: out.append(xs), num_streams=3, inter_message_lower_bound_ns=20 * MS
    )
    sync.add(0, 100 * MS, 'a')
    sync.add(1, 101 * MS, 'b')
    assert out == []
    sync.add(2, 102 * MS, 'c')
    assert out == [('a', 'b', 'c')]


def test_equal_distance_prefers_the_older_partner_and_slop_is_inclusive():
    rec = Recorder(slop_ns=5 * MS, age_penalty=0.0)
    rec.add(0, 0, 10 * MS)
    rec.add(1, 0, 15 * MS)  # 5 ms: exactly the slop, accepted
    rec.add(0, 1, 20 * MS)  # also 5 ms from thermal 15: not better, the older pair wins
    assert rec.out == [((0, 0, 10 * MS), (1, 0, 15 * MS))]
    rec.add(1, 1, 26 * MS)  # 6 ms from visible 20: beyond the slop, visible 20 is dropped
    rec.sync.flush()
    assert len(rec.out) == 1 and rec.sync.dropped == 2


def test_restarting_synchronizer_counts_across_jumps_and_reconfiguration():
    """The one restart rule (node and bag tools).

    A stamp > 1 s back restarts the pairing; offline (flush_on_jump) the pending frames are paired
    first, live they are dropped; counters go on.
    """
    from fusion_ros.sync import RestartingSynchronizer

    for flush, pairs_before_jump, total in ((True, 2, 4), (False, 2, 3)):
        out = []
        sync = RestartingSynchronizer(
            5, 0.005, lambda a, b: out.append((a, b)), flush_on_jump=flush
        )
        for k, t in enumerate((0, 33, 66)):
            sync.add(0, 10**10 + t * MS, ('v', k))
            sync.add(1, 10**10 + t * MS + MS, ('t', k))
        assert len(out) == pairs_before_jump
        assert sync.add(0, 0, ('v', 9)) and not sync.add(1, MS, ('t', 9))
        sync.flush()
        stats = sync.stats
        assert stats.resets == 1 and stats.pairs == len(out) == total
        assert stats.received == [4, 4] and sum(stats.dropped) == 8 - 2 * stats.pairs
        sync.reconfigure(3, 0.01, 0.0)
        assert sync.stats.pairs == stats.pairs and sync.stats.received == [4, 4]
