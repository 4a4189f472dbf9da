# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros soak`: run the live graph for a long time and watch for leaks and drift.

Why: a node on a robot runs for hours; a slow leak, a creeping latency or a falling output rate
only shows over time. The bundled 30 Hz stream goes through a real fusion_node process for
`--minutes`; each interval records the node's resident memory, the fused output rate, the
latency percentiles and the node's error counter, and the run ends with a table, a plot and the
verdict the hardening issue asks for: RSS growth after the first interval, errors, delivery.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
import json
from pathlib import Path

from fusion_ros.runtime.engine_choice import BACKEND_NAMES
import numpy as np

FPS = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--model', default='mmdrfuse', help='mmdrfuse | mobilefuse | aenetv2 | path/to/model.onnx'
    )
    parser.add_argument('--backend', default='auto', choices=BACKEND_NAMES)
    parser.add_argument('--minutes', type=float, default=30.0, help='how long to stream (30 Hz)')
    parser.add_argument(
        '--interval-s', type=float, default=60.0, help='one table row per this many seconds'
    )
    parser.add_argument(
        '--out',
        type=Path,
        default=Path('out/soak'),
        help='folder for soak.md, soak.json, soak.png',
    )


@dataclass
class Interval:
    """One row: what the node did during one interval."""

    end_s: float
    rss_mb: float
    published: int
    received: int
    rate_hz: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    errors_total: int


def _interval(
    live, end_s: float, published: int, seen: int, seconds: float
) -> tuple[Interval, int]:
    from fusion_ros.live.session import process_memory_mb

    with live.sink.lock:
        arrivals = live.sink.record.arrivals[seen:]
        diagnostics = live.sink.record.diagnostics[-1] if live.sink.record.diagnostics else {}
    lat = np.array([a.latency_ms for a in arrivals]) if arrivals else np.array([np.nan])
    row = Interval(
        round(end_s, 1),
        round(process_memory_mb(live.process.pid, 'VmRSS') or 0.0, 1),
        published,
        len(arrivals),
        round(len(arrivals) / seconds, 2),
        *(round(float(np.nanpercentile(lat, q)), 2) for q in (50, 95, 99)),
        int(diagnostics.get('errors_total', 0)),
    )
    return row, seen + len(arrivals)


def soak(args: argparse.Namespace, on_progress=None) -> list[Interval]:
    """Stream for args.minutes through a fresh node; one Interval per args.interval_s."""
    from fusion_ros.live.session import LiveSession

    total = max(1, int(round(args.minutes * 60 * FPS)))
    chunk = max(1, int(round(args.interval_s * FPS)))
    rows: list[Interval] = []
    with LiveSession(args.model, args.backend, log_path=args.out / 'soak_node.log') as live:
        live.wait_ready()
        live.stream(FPS, drain_s=1.0)  # discovery and warm-up, not counted
        with live.sink.lock:
            seen = len(live.sink.record.arrivals)
        sent = 0
        while sent < total:
            frames = min(chunk, total - sent)
            live.stream(frames, on_progress=on_progress, drain_s=0.3)
            sent += frames
            row, seen = _interval(live, sent / FPS, frames, seen, frames / FPS)
            rows.append(row)
    return rows


def verdict(rows: list[Interval]) -> dict:
    """RSS growth after the first interval, delivery and errors over the whole run."""
    base = rows[0].rss_mb if rows else 0.0
    growth = (rows[-1].rss_mb / base - 1.0) * 100 if base else 0.0
    sent, got = sum(r.published for r in rows), sum(r.received for r in rows)
    return {
        'rss_growth_after_first_interval_pct': round(growth, 2),
        'published': sent,
        'received': got,
        'delivered_pct': round(100.0 * got / sent, 2) if sent else 0.0,
        'errors_total': rows[-1].errors_total if rows else 0,
    }


def plot(rows: list[Interval], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    t = [r.end_s / 60 for r in rows]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    axes[0].plot(t, [r.rss_mb for r in rows], 'o-')
    axes[0].set_ylabel('node RSS (MB)')
    axes[1].plot(t, [r.rate_hz for r in rows], 'o-')
    axes[1].axhline(FPS, color='grey', ls=':')
    axes[1].set_ylabel('fused output (Hz)')
    for q, style in (
        ('latency_p50_ms', 'o-'),
        ('latency_p95_ms', 's--'),
        ('latency_p99_ms', '^:'),
    ):
        axes[2].plot(t, [getattr(r, q) for r in rows], style, label=q.split('_')[1])
    axes[2].set_ylabel('end-to-end latency (ms)')
    axes[2].set_xlabel('minutes')
    axes[2].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report(rows: list[Interval], summary: dict, args: argparse.Namespace) -> str:
    head = '| end s | node RSS MB | sent | fused | rate Hz | p50 ms | p95 ms | p99 ms | errors |'
    lines = [head, '|---' * 9 + '|']
    lines += [
        f'| {r.end_s:g} | {r.rss_mb:g} | {r.published} | {r.received} | {r.rate_hz:g} | '
        f'{r.latency_p50_ms:g} | '
        f'{r.latency_p95_ms:g} | {r.latency_p99_ms:g} | {r.errors_total} |'
        for r in rows
    ]
    return (
        f'# Soak: {args.model}, {args.minutes:g} min at {FPS} Hz\n\nCommand: `fusion-ros soak '
        f'--model {args.model} '
        f'--minutes {args.minutes:g}`. RSS growth after the first interval '
        f'{summary["rss_growth_after_first_interval_pct"]:+.1f}%, delivered '
        f'{summary["delivered_pct"]:.1f}% '
        f'({summary["received"]}/{summary["published"]}), errors {summary["errors_total"]}.\n\n'
        + '\n'.join(lines)
        + '\n\n![soak](soak.png)\n'
    )


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    args.out.mkdir(parents=True, exist_ok=True)
    with Progress() as progress:
        task = progress.add_task(f'soak {args.model}', total=int(round(args.minutes * 60 * FPS)))
        rows = soak(args, lambda n: progress.advance(task, n))
    summary = verdict(rows)
    (args.out / 'soak.json').write_text(
        json.dumps({'summary': summary, 'intervals': [asdict(r) for r in rows]}, indent=1)
    )
    plot(rows, args.out / 'soak.png', f'fusion-ros soak: {args.model}, {args.minutes:g} min')
    text = report(rows, summary, args)
    (args.out / 'soak.md').write_text(text)
    print(text)
    return 0
