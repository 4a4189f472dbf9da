# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Rolling latency/rate statistics of the fusion node and their `/diagnostics` message.

All bookkeeping is thread-safe (the node records from its subscription callbacks and from its
fusion worker) and time-windowed: statistics cover the last ``window_s`` seconds, measured on a
monotonic clock passed in by the caller (so tests can drive it).

Published as one ``diagnostic_msgs/DiagnosticStatus`` (standard messages only, no
diagnostic_updater needed) whose KeyValues are machine-friendly:

* ``<stage>_p50_ms``, ``<stage>_p95_ms``, ``<stage>_max_ms`` for the stages, in a frame's order:
  ``receive`` (visible capture stamp -> its arrival at the node: the camera's DDS hop),
  ``sync_wait`` (arrival of the pair's first message to arrival of its second), ``queue`` (pair
  complete -> the fusion worker takes it), ``decode`` (messages -> arrays), ``preprocess``,
  ``inference``, ``postprocess`` (from the runtime), ``publish`` (array -> message + publish)
  and ``end_to_end`` (publish time minus the visible capture stamp);
* ``rate_<input>_hz`` per input topic and ``rate_output_hz``;
* counters: ``frames_published``, ``pairs_synced``, ``sync_dropped_<input>``, ``frames_skipped``
  (pairs replaced by a newer one while the model was busy), ``errors_total``,
  ``errors_<kind>`` and ``last_error``;
* ``<input>_age_s``: seconds since the last message of each input.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import threading
import time
from typing import Deque, Dict, Iterable, List, Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from fusion_ros.runtime.frame import NODE_HOPS
import numpy as np

OK = 0
WARN = 1
ERROR = 2
STALE = 3
_LEVEL_BYTES = {
    OK: DiagnosticStatus.OK,
    WARN: DiagnosticStatus.WARN,
    ERROR: DiagnosticStatus.ERROR,
    STALE: DiagnosticStatus.STALE,
}

STAGES = (*NODE_HOPS, 'end_to_end')
_MAX_SAMPLES = 100_000  # hard cap per window, whatever the rate


def status_level(level: int) -> bytes:
    """Return OK/WARN/ERROR/STALE as the byte a DiagnosticStatus.level holds."""
    return _LEVEL_BYTES[level]


def level_value(level) -> int:
    """Return a DiagnosticStatus.level (bytes in rclpy, int elsewhere) as an int."""
    if isinstance(level, (bytes, bytearray)):
        return int(level[0]) if level else 0
    return int(level)


class RollingStat:
    """Samples of one quantity over the last ``window_s`` seconds: p50 / p95 / max."""

    def __init__(self, window_s: float) -> None:
        self.window_s = float(window_s)
        self._samples: Deque[Tuple[float, float]] = deque(maxlen=_MAX_SAMPLES)

    def add(self, value: float, now: float) -> None:
        self._samples.append((now, float(value)))

    def _evict(self, now: float) -> None:
        limit = now - self.window_s
        while self._samples and self._samples[0][0] < limit:
            self._samples.popleft()

    def summary(self, now: float) -> Optional[Tuple[int, float, float, float]]:
        """(count, p50, p95, max) over the window, or None without samples."""
        self._evict(now)
        if not self._samples:
            return None
        values = np.fromiter((v for _, v in self._samples), dtype=np.float64)
        p50, p95 = np.percentile(values, [50, 95])
        return len(values), float(p50), float(p95), float(values.max())


class RateMeter:
    """Events per second over the last ``window_s`` seconds.

    Or since the first event, if that is more recent: a stream that started 2 s ago at 30 Hz reads
    30 Hz, not 6.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = float(window_s)
        self._events: Deque[float] = deque(maxlen=_MAX_SAMPLES)
        self.first: Optional[float] = None
        self.last: Optional[float] = None
        self.count = 0

    def tick(self, now: float) -> None:
        self._events.append(now)
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1

    def in_window(self, now: float) -> int:
        """Return how many events fall in the last ``window_s`` seconds."""
        limit = now - self.window_s
        while self._events and self._events[0] < limit:
            self._events.popleft()
        return len(self._events)

    def rate(self, now: float) -> float:
        self.in_window(now)
        if self.first is None or len(self._events) < 2:
            return 0.0
        span = min(self.window_s, now - self.first)
        if span <= 0:
            return 0.0
        # Events since the first one counted in the window: n events span n - 1 intervals when
        # the window has not filled yet.
        n = len(self._events) - (1 if now - self.first <= self.window_s else 0)
        return n / span


@dataclass
class HealthConfig:
    """Thresholds for the status level (from the node's parameters)."""

    latency_budget_ms: float = 50.0
    input_timeout_s: float = 2.0
    bad_input_hold_s: float = 5.0
    sync_slop_s: float = 0.0  # named in the "nothing pairs" error (0: not known)
    stall_s: float = 1.0  # no output for this long while pairs arrive: a stall
    rate_tolerance: float = 0.2  # OK needs output >= (1 - this) x the pair rate


@dataclass
class _ErrorLog:
    counts: Dict[str, int] = field(default_factory=dict)
    total: int = 0
    last_kind: str = ''
    last_message: str = ''
    last_time: Optional[float] = None  # of the last bad-input error
    last_bad_input: str = ''


class FusionDiagnostics:
    """Everything the fusion node measures, and its DiagnosticStatus."""

    def __init__(
        self, inputs: Sequence[str], window_s: float = 10.0, clock=time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.inputs = list(inputs)
        self.window_s = float(window_s)
        self.start = clock()
        self.stages: Dict[str, RollingStat] = {s: RollingStat(window_s) for s in STAGES}
        self.input_rates: Dict[str, RateMeter] = {i: RateMeter(window_s) for i in self.inputs}
        self.output_rate = RateMeter(window_s)
        self.errors = _ErrorLog()
        self.frames_skipped = 0
        self.pairs_synced = 0
        self.sync_dropped: Dict[str, int] = dict.fromkeys(self.inputs, 0)
        self.pair_rate = RateMeter(window_s)
        self.last_stamp_s: Dict[str, float] = {}
        self.busy: Optional[Tuple[str, float]] = None  # (stage, since) while a frame is in a stage
        self.conditions: Dict[
            str, Tuple[int, str]
        ] = {}  # other monitors' verdicts, e.g. alignment
        self.pipeline_error: str = ''

    def now(self) -> float:
        return self._clock()

    # ---------------------------------------------------------------- recording
    def record_input(
        self, name: str, now: Optional[float] = None, stamp_s: Optional[float] = None
    ) -> None:
        """Return a message arrived on input ``name``.

        Its header stamp, if given, names the offset between the cameras when nothing pairs.
        """
        with self._lock:
            self.input_rates[name].tick(self.now() if now is None else now)
            if stamp_s is not None:
                self.last_stamp_s[name] = float(stamp_s)

    def begin_stage(self, stage: str, now: Optional[float] = None) -> None:
        """Return the worker entered ``stage`` for a frame (a stall report names it)."""
        with self._lock:
            self.busy = (stage, self.now() if now is None else now)

    def end_stage(self) -> None:
        with self._lock:
            self.busy = None

    def set_condition(self, name: str, level: int, message: str = '') -> None:
        """Another monitor's verdict (e.g. the alignment check).

        WARN/ERROR add their message to the status; OK clears it.
        """
        with self._lock:
            if level == OK:
                self.conditions.pop(name, None)
            else:
                self.conditions[name] = (level, message)

    def record_stage(self, stage: str, ms: float, now: Optional[float] = None) -> None:
        with self._lock:
            self.stages[stage].add(ms, self.now() if now is None else now)

    def record_output(self, now: Optional[float] = None) -> None:
        with self._lock:
            self.output_rate.tick(self.now() if now is None else now)

    def record_skipped(self, count: int = 1) -> None:
        with self._lock:
            self.frames_skipped += count

    def record_sync(self, pairs: int, dropped_by_input: Iterable[int]) -> None:
        """Record the synchronizer counters (absolute values)."""
        with self._lock:
            now = self.now()
            for _ in range(max(0, min(int(pairs) - self.pairs_synced, 1000))):
                self.pair_rate.tick(now)
            self.pairs_synced = int(pairs)
            for name, n in zip(self.inputs, dropped_by_input):
                self.sync_dropped[name] = int(n)

    def record_error(
        self, kind: str, message: str, now: Optional[float] = None, bad_input: bool = True
    ) -> None:
        """Count an error of ``kind``.

        ``bad_input`` errors (a dropped frame pair) raise the level for ``bad_input_hold_s``;
        others (e.g. a model that failed to load, which has its own ERROR through
        set_pipeline_error) are only counted and shown in ``last_error``.
        """
        with self._lock:
            log = self.errors
            log.counts[kind] = log.counts.get(kind, 0) + 1
            log.total += 1
            log.last_kind, log.last_message = kind, message
            if bad_input:
                log.last_time = self.now() if now is None else now
                log.last_bad_input = f'bad input ({kind}): {message}'

    def set_pipeline_error(self, message: str) -> None:
        """Non-empty: no model is loaded (reason); empty: a model is running."""
        with self._lock:
            self.pipeline_error = message

    # ---------------------------------------------------------------- reporting
    def _input_problems(
        self, config: HealthConfig, now: float, values: List[Tuple[str, str]]
    ) -> List[Tuple[int, str]]:
        """WARN while no camera has spoken yet (start-up); ERROR for a camera silent > timeout."""
        problems: List[Tuple[int, str]] = []
        if all(m.last is None for m in self.input_rates.values()):
            values += [(f'{name}_age_s', 'never') for name in self.input_rates]
            return [(WARN, f'waiting for cameras ({", ".join(self.input_rates)}): no message yet')]
        for name, meter in self.input_rates.items():
            age = now - (meter.last if meter.last is not None else self.start)
            values.append((f'{name}_age_s', f'{age:.2f}' if meter.last is not None else 'never'))
            if age > config.input_timeout_s:
                what = 'no message yet' if meter.last is None else f'no message for {age:.1f} s'
                problems.append((ERROR, f'{name} camera silent ({what})'))
        return problems

    def _flow_problems(
        self, config: HealthConfig, now: float, out_rate: float
    ) -> List[Tuple[int, str]]:
        """Report whether both cameras talk, yet the pairing or the fusion loses frames.

        That is: nothing pairs / nothing comes out / less comes out than pairs in.
        """
        meters = list(self.input_rates.values())
        if any(m.last is None or now - m.last > config.input_timeout_s for m in meters):
            return []  # a silent camera is reported on its own
        both_since = max(m.first for m in meters)  # type: ignore[type-var]
        last_pair = self.pair_rate.last if self.pair_rate.last is not None else both_since
        if now - max(last_pair, both_since) > config.input_timeout_s:
            return [(ERROR, self._no_pair_text(config, now - max(last_pair, both_since)))]
        last_out = self.output_rate.last if self.output_rate.last is not None else both_since
        if (
            now - last_pair < config.stall_s
            and now - last_out > config.stall_s
            and now - both_since > config.input_timeout_s
        ):
            busy = f': {self.busy[0]} running for {now - self.busy[1]:.1f} s' if self.busy else ''
            return [
                (
                    ERROR,
                    f'stalled: pairs arrive but no fused frame for {now - last_out:.1f} s{busy}',
                )
            ]
        pair_rate = self.pair_rate.rate(now)
        if pair_rate > 1.0 and out_rate < (1.0 - config.rate_tolerance) * pair_rate:
            return [
                (
                    WARN,
                    f'fusing {out_rate:.1f} of {pair_rate:.1f} pairs/s: the model is slower than '
                    'the '
                    f'cameras (frames skipped; try a lighter model or process_scale)',
                )
            ]
        return []

    def _no_pair_text(self, config: HealthConfig, for_s: float) -> str:
        names = list(self.input_rates)
        text = f'both cameras publish but nothing pairs for {for_s:.1f} s'
        if all(n in self.last_stamp_s for n in names[:2]):
            offset_ms = (self.last_stamp_s[names[1]] - self.last_stamp_s[names[0]]) * 1e3
            text += f': {names[1]} stamps are {offset_ms:+.0f} ms from {names[0]}'
        if config.sync_slop_s > 0:
            text += (
                f', sync_slop is {config.sync_slop_s * 1e3:.0f} ms '
                '(raise sync_slop if the cameras are not synchronised)'
            )
        return text

    def _stage_values(
        self, config: HealthConfig, now: float, values: List[Tuple[str, str]]
    ) -> List[Tuple[int, str]]:
        e2e = None
        for stage, stat in self.stages.items():
            summary = stat.summary(now)
            if summary is None:
                continue
            _, p50, p95, mx = summary
            values += [
                (f'{stage}_p50_ms', f'{p50:.2f}'),
                (f'{stage}_p95_ms', f'{p95:.2f}'),
                (f'{stage}_max_ms', f'{mx:.2f}'),
            ]
            if stage == 'end_to_end':
                e2e = p95
        if e2e is not None and e2e > config.latency_budget_ms:
            return [
                (
                    WARN,
                    f'p95 end-to-end latency {e2e:.1f} ms over budget '
                    f'{config.latency_budget_ms:.1f} ms',
                )
            ]
        return []

    def _error_values(
        self, config: HealthConfig, now: float, values: List[Tuple[str, str]]
    ) -> List[Tuple[int, str]]:
        log = self.errors
        values.append(('errors_total', str(log.total)))
        values += [(f'errors_{kind}', str(n)) for kind, n in sorted(log.counts.items())]
        values.append(('last_error', log.last_message))
        if log.last_time is None or now - log.last_time > config.bad_input_hold_s:
            return []
        # Some frames bad but output continues: WARN; nothing fused for input_timeout: ERROR.
        out_recent = (
            self.output_rate.last is not None
            and self.output_rate.last >= now - config.input_timeout_s
        )
        return [(WARN if out_recent else ERROR, log.last_bad_input)]

    def evaluate(
        self, config: HealthConfig, now: Optional[float] = None
    ) -> Tuple[int, str, List[Tuple[str, str]]]:
        """(level, message, key/values) describing the node right now."""
        with self._lock:
            now = self.now() if now is None else now
            values: List[Tuple[str, str]] = []
            problems: List[Tuple[int, str]] = []
            if self.pipeline_error:
                problems.append((ERROR, f'no model loaded: {self.pipeline_error}'))
            problems += self._input_problems(config, now, values)
            problems += self._stage_values(config, now, values)
            for name, meter in self.input_rates.items():
                values.append((f'rate_{name}_hz', f'{meter.rate(now):.2f}'))
            out_rate = self.output_rate.rate(now)
            problems += self._flow_problems(config, now, out_rate)
            values += [
                ('rate_output_hz', f'{out_rate:.2f}'),
                ('rate_pairs_hz', f'{self.pair_rate.rate(now):.2f}'),
                ('frames_published', str(self.output_rate.count)),
                ('pairs_synced', str(self.pairs_synced)),
            ]
            values += [(f'sync_dropped_{name}', str(n)) for name, n in self.sync_dropped.items()]
            values.append(('frames_skipped', str(self.frames_skipped)))
            problems += self._error_values(config, now, values)
            problems += list(self.conditions.values())
            if problems:
                level = max(p[0] for p in problems)
                message = '; '.join(m for _, m in sorted(problems, key=lambda p: -p[0]))
            else:
                level, message = OK, f'fusing at {out_rate:.1f} Hz'
            return level, message, values

    def status(
        self,
        name: str,
        hardware_id: str,
        config: HealthConfig,
        extra: Sequence[Tuple[str, str]] = (),
        now: Optional[float] = None,
    ) -> DiagnosticStatus:
        level, message, values = self.evaluate(config, now)
        status = DiagnosticStatus()
        status.level = _LEVEL_BYTES[level]
        status.name = name
        status.message = message
        status.hardware_id = hardware_id
        status.values = [KeyValue(key=k, value=v) for k, v in list(extra) + values]
        return status


def diagnostic_array(stamp, statuses: Sequence[DiagnosticStatus]) -> DiagnosticArray:
    msg = DiagnosticArray()
    msg.header.stamp = stamp
    msg.status = list(statuses)
    return msg
