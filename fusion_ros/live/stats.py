# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Numbers from a live run: per-model delivery, rate and latency, from the sink's record."""

from __future__ import annotations

from dataclasses import asdict, dataclass
import re
from typing import TYPE_CHECKING

from fusion_ros.runtime.frame import NODE_HOPS
import numpy as np

if TYPE_CHECKING:  # numbers only: no rclpy at run time
    from fusion_ros.nodes.demo_sink_node import SinkRecord

_P50_KEY = re.compile(r'^(?P<stage>.+?)[ _]*p50', re.IGNORECASE)
# A frame's way through the node, in order (fusion_ros.ros.diagnostics.STAGES without end_to_end,
# which spans them all): the camera's DDS hop, pairing, waiting for the worker, message -> arrays,
# the pipeline, arrays -> message + publish.
HOPS = NODE_HOPS


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
    stages_p50_ms: dict[str, float]  # HOPS present in the node's diagnostics, in that order
    node_peak_memory_mb: float | None = None
    alignment_residual_px: float | None = None  # the node's online check (None: not judged)
    alignment_correlation: float | None = None
    node_end_to_end_p50_ms: float | None = None  # capture stamp -> the node has published
    latency_p99_ms: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def delivery_hop_ms(self) -> float | None:
        """Node publish -> sink receive, as the difference of the two p50s (None: not known)."""
        if self.node_end_to_end_p50_ms is None:
            return None
        return self.latency_p50_ms - self.node_end_to_end_p50_ms


def stage_p50s(diagnostics: dict[str, str], stages: tuple[str, ...] = HOPS) -> dict[str, float]:
    """Per-stage p50 latencies from one fusion-node diagnostic status, in ``stages`` order.

    Keys like 'inference_p50_ms' (or 'inference p50 ms').
    """
    found: dict[str, float] = {}
    for key, value in diagnostics.items():
        match = _P50_KEY.match(key)
        if not match:
            continue
        stage = match.group('stage').strip(' _:').replace('_ms', '')
        if stage not in stages:
            continue
        try:
            found[stage] = float(value)
        except ValueError:
            continue
    return {stage: found[stage] for stage in stages if stage in found}


def summarise(model: str, published: int, record: 'SinkRecord') -> RunStats:
    """Delivery and latency of one model's run; stages from its latest diagnostics."""
    arrivals = record.arrivals
    lat = np.array([a.latency_ms for a in arrivals]) if arrivals else np.array([np.nan])
    span_s = (arrivals[-1].receive_ns - arrivals[0].receive_ns) / 1e9 if len(arrivals) > 1 else 0.0
    fps = (len(arrivals) - 1) / span_s if span_s > 0 else 0.0
    own = [d for d in record.diagnostics if d.get('model', '') == model] or record.diagnostics
    stages = stage_p50s(own[-1]) if own else {}
    node_e2e = stage_p50s(own[-1], ('end_to_end',)).get('end_to_end') if own else None
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
        node_end_to_end_p50_ms=node_e2e,
        latency_p99_ms=float(np.nanpercentile(lat, 99)),
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
