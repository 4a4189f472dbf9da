# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Numbers from a live run: per-model delivery, rate and latency, from the sink's record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numbers only: no rclpy at run time
    from fusion_ros.nodes.demo_sink_node import SinkRecord

_P50_KEY = re.compile(r'^(?P<stage>.+?)[ _]*p50', re.IGNORECASE)
_STAGE_WORDS = ('sync', 'pre', 'infer', 'post')


@dataclass
class RunStats:
    """What one model delivered during a live run."""

    model: str
    published: int
    received: int
    fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    stages_p50_ms: dict[str, float]
    node_peak_memory_mb: float | None = None
    alignment_residual_px: float | None = None  # the node's online check (None: not judged)
    alignment_correlation: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def stage_p50s(diagnostics: dict[str, str]) -> dict[str, float]:
    """Per-stage p50 latencies from one fusion-node diagnostic status.

    Keys like 'inference p50 ms'.
    """
    stages: dict[str, float] = {}
    for key, value in diagnostics.items():
        match = _P50_KEY.match(key)
        if not match or not any(w in key.lower() for w in _STAGE_WORDS):
            continue
        try:
            stages[match.group('stage').strip(' _:').replace('_ms', '')] = float(value)
        except ValueError:
            continue
    return stages


def summarise(model: str, published: int, record: 'SinkRecord') -> RunStats:
    """Delivery and latency of one model's run; stages from its latest diagnostics."""
    arrivals = record.arrivals
    lat = np.array([a.latency_ms for a in arrivals]) if arrivals else np.array([np.nan])
    span_s = (arrivals[-1].receive_ns - arrivals[0].receive_ns) / 1e9 if len(arrivals) > 1 else 0.0
    fps = (len(arrivals) - 1) / span_s if span_s > 0 else 0.0
    own = [d for d in record.diagnostics if d.get('model', '') == model] or record.diagnostics
    stages = stage_p50s(own[-1]) if own else {}
    residual, correlation = _alignment(own[-1]) if own else (None, None)
    return RunStats(
        model,
        published,
        len(arrivals),
        round(fps, 2),
        float(np.nanpercentile(lat, 50)),
        float(np.nanpercentile(lat, 95)),
        float(np.nanmax(lat)),
        stages,
        alignment_residual_px=residual,
        alignment_correlation=correlation,
    )


def _alignment(diagnostics: dict[str, str]) -> tuple[float | None, float | None]:
    """Read the node's online alignment check as (residual px, correlation); None if not judged."""

    def number(key: str) -> float | None:
        try:
            return float(diagnostics.get(key, ''))
        except ValueError:  # 'not judged', '-'
            return None

    return number('alignment_residual_px'), number('alignment_correlation')


def alignment_text(stats: RunStats) -> str:
    """'0.42 px (edge correlation 0.31)', or why it was not judged."""
    if stats.alignment_residual_px is None:
        return 'not judged (too little common structure, or no check yet)'
    corr = stats.alignment_correlation
    corr_text = f' (edge correlation {corr:.2f})' if corr is not None else ''
    return f'{stats.alignment_residual_px:.2f} px{corr_text}'
