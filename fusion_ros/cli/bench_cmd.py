# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros bench`: measured speed and memory of every model on this machine.

Two numbers per model, because users ask two questions: how long does one frame take in the
pipeline (pre-processing + inference + post-processing, in-process, no transport), and what
latency does a consumer see through the running node (capture stamp -> fused frame received,
inter-process DDS included). Peak resident memory of the node process is reported too.
Targets (issue 2): MMDRFuse student <= 5 ms and MobileFuse <= 30 ms per frame at 640x512.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
import platform
import time

from fusion_ros.runtime.engine_choice import BACKEND_NAMES
from fusion_ros.runtime.options import available_cores
import numpy as np

TARGET_MS = {'mmdrfuse': 5.0, 'mobilefuse': 30.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusion_ros.runtime.loader import SHIPPED_MODELS as SHIPPED

    parser.add_argument('--models', nargs='+', default=list(SHIPPED))
    parser.add_argument(
        '--backend',
        default='auto',
        choices=BACKEND_NAMES,
        help="as the node's backend parameter (default auto, as the node)",
    )
    parser.add_argument(
        '--frames', type=int, default=200, help='timed frames per model (pipeline)'
    )
    parser.add_argument(
        '--node-seconds', type=float, default=6.0, help='live stream per model (0 = skip)'
    )
    parser.add_argument(
        '--process-scale',
        type=float,
        default=1.0,
        help="fuse at this fraction of 640x512 (the node's process_scale parameter)",
    )
    parser.add_argument(
        '--sizes',
        default='',
        metavar='WxH,...',
        help='also time the pipeline at these sizes, e.g. 640x512,1280x1024,1920x1080 (cost per '
        'MP)',
    )
    parser.add_argument(
        '--pairs',
        type=int,
        default=1,
        help='also run this many camera pairs at once (threads, first model) for 5 s each',
    )
    parser.add_argument(
        '--reference',
        choices=['none', 'torch'],
        default='none',
        help="torch: add the same architectures' PyTorch eager time and the ratio",
    )
    parser.add_argument(
        '--out', type=Path, default=None, help='also write the table to this Markdown file'
    )


def cpu_name() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bench_pipeline(
    model: str, backend: str, frames: int, progress=None, process_scale: float = 1.0
) -> dict[str, float]:
    """Per-frame pipeline times on the demo stream (640x512 bgr8 visible, mono16 thermal)."""
    from fusion_ros.images.demo_sequence import DemoSequence
    from fusion_ros.runtime import load_pipeline
    from fusion_ros.runtime.options import ProcessingOptions

    pipeline = load_pipeline(
        model, backend=backend, options=ProcessingOptions(process_scale=process_scale)
    )
    seq = DemoSequence()
    for i in range(10):  # warm-up: allocator, ORT kernels, AGC smoothing
        f = seq.frame(i)
        pipeline.fuse(f.visible, f.thermal)
    pre, inf, post, total = [], [], [], []
    for i in range(frames):
        f = seq.frame(i)
        t0 = time.perf_counter()
        res = pipeline.fuse(f.visible, f.thermal)
        total.append((time.perf_counter() - t0) * 1e3)
        pre.append(res.times.preprocess_ms)
        inf.append(res.times.inference_ms)
        post.append(res.times.postprocess_ms)
        if progress:
            progress()
    return {
        'pre_p50': float(np.median(pre)),
        'inference_p50': float(np.median(inf)),
        'post_p50': float(np.median(post)),
        'total_p50': float(np.median(total)),
        'total_p95': float(np.percentile(total, 95)),
        'total_p99': float(np.percentile(total, 99)),
        'providers': ','.join(pipeline.providers),
        'engine': f'{pipeline.providers[0]} x{pipeline.engine.threads}',
    }


def bench_node(
    model: str,
    backend: str,
    seconds: float,
    log_dir: Path,
    progress=None,
    process_scale: float = 1.0,
):
    """Stream the demo through a fresh node process for this model; return RunStats."""
    from fusion_ros.live.session import LiveSession, node_peak_memory_mb
    from fusion_ros.live.stats import summarise

    frames = int(round(seconds * 30))
    with LiveSession(
        model,
        backend,
        params={'process_scale': process_scale},
        log_path=log_dir / f'bench_node_{model}.log',
    ) as live:
        live.wait_ready()
        live.stream(frames, on_progress=progress, drain_s=1.5)
        stats = summarise(model, frames, live.sink.snapshot())
        stats.node_peak_memory_mb = node_peak_memory_mb(live.process.pid)
    return stats


def run(args: argparse.Namespace) -> int:
    from fusion_ros.cli import table_console
    from fusion_ros.runtime.loader import SHIPPED_MODELS
    from rich.progress import Progress

    console = table_console()
    rows = []
    log_dir = Path(os.environ.get('TMPDIR', '/tmp'))
    with Progress(console=console) as progress:
        for model in args.models:
            task = progress.add_task(f'{model} pipeline', total=args.frames)
            pipe = bench_pipeline(
                model,
                args.backend,
                args.frames,
                lambda: progress.advance(task),
                process_scale=args.process_scale,
            )
            node = None
            if args.node_seconds > 0:
                task2 = progress.add_task(
                    f'{model} node', total=int(round(args.node_seconds * 30))
                )
                node = bench_node(
                    model,
                    args.backend,
                    args.node_seconds,
                    log_dir,
                    lambda n, t=task2: progress.advance(t, n),
                    process_scale=args.process_scale,
                )
            rows.append((model, pipe, node))

    header = (
        '| model | engine | pre ms | inference ms | post ms | **pipeline p50 ms** | pipeline p95 '
        'ms | target | '
        'node e2e p50 ms | node e2e p95 ms | delivered | node peak RSS MB |'
    )
    lines = [header, '|---' * (header.count('|') - 1) + '|']
    for model, p, n in rows:
        target = f'<= {TARGET_MS[model]:.0f} ms' if model in TARGET_MS else 'as measured'
        node_cols = (
            f'{n.latency_p50_ms:.1f} | {n.latency_p95_ms:.1f} | {n.received}/{n.published} | '
            f'{n.node_peak_memory_mb:.0f}'
            if n
            else '- | - | - | -'
        )
        lines.append(
            f'| {model} | {p["engine"]} | {p["pre_p50"]:.2f} | {p["inference_p50"]:.2f} | '
            f'{p["post_p50"]:.2f} | '
            f'**{p["total_p50"]:.2f}** | {p["total_p95"]:.2f} | {target} | {node_cols} |'
        )
    scaled = args.process_scale != 1.0
    models_arg = (
        ' --models ' + ' '.join(args.models) if list(args.models) != list(SHIPPED_MODELS) else ''
    )
    meta = (
        f'Measured {dt.date.today().isoformat()} on {cpu_name()} ({os.cpu_count()} cores), '
        'backend '
        f'{args.backend} ({rows[0][1]["providers"] if rows else "-"}), 640x512 bgr8 visible + '
        'mono16 thermal'
        f'{f" fused at process_scale {args.process_scale:g}" if scaled else ""}, '
        f'{args.frames} frames per model; node: {args.node_seconds:.0f} s at 30 Hz through a '
        'separate fusion_node '
        f'process with config/fastdds.xml.\nCommand: `fusion-ros bench'
        f'{f" --process-scale {args.process_scale:g}" if scaled else ""}'
        f'{models_arg}'
        f'{" --out " + str(args.out) if args.out else ""}`'
    )
    text = (
        meta
        + '\n\n'
        + '\n'.join(lines)
        + '\n'
        + alignment_lines(rows)
        + hop_lines(rows)
        + extra_tables(args, [(m, p) for m, p, _ in rows])
    )
    console.print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text('# Benchmark\n\n' + text)
    return 0


def alignment_lines(rows: list[tuple]) -> str:
    """Report the node's online thermal/visible alignment check per model (empty: no node run)."""
    from fusion_ros.live.stats import alignment_text

    judged = [(model, node) for model, _, node in rows if node is not None]
    if not judged:
        return ''
    items = '; '.join(f'{model} {alignment_text(node)}' for model, node in judged)
    return f"\nThermal/visible alignment (the node's online check, median residual): {items}.\n"


def hop_lines(rows: list[tuple]) -> str:
    """Return the per-hop section (empty when no model ran through the node)."""
    from fusion_ros.cli.bench_tables import hop_table

    if not any(node is not None for _, _, node in rows):
        return ''
    return (
        '\n### Where the time goes through the node (p50 ms per hop)\n\n'
        "From the node's own /diagnostics (camera -> node: visible capture stamp -> arrival; "
        'sync wait: first -> second message of the pair; queue: pair complete -> the fusion '
        'worker takes it) and the sink (node -> sink: its end-to-end p50 minus the '
        "node's).\n\n" + '\n'.join(hop_table(rows)) + '\n'
    )


def extra_tables(args: argparse.Namespace, rows: list[tuple[str, dict]]) -> str:
    """Return the optional scaling / several-pairs / PyTorch-reference tables.

    As Markdown sections.
    """
    from fusion_ros.cli import bench_tables as tables

    parts = []
    if args.sizes:
        sizes = tables.parse_sizes(args.sizes)
        parts.append(
            f'### Cost per pixel ({args.frames // 2} frames per size)\n\n'
            + '\n'.join(
                tables.size_table(args.models, args.backend, sizes, max(5, args.frames // 2))
            )
        )
    if args.pairs > 1:
        parts.append(
            f'### {args.pairs} camera pairs at once ({args.models[0]}, 640x512, 5 s)\n\n'
            + '\n'.join(tables.pairs_table(args.models[0], args.backend, args.pairs, 5.0))
        )
    if args.reference == 'torch':
        threads = available_cores()
        parts.append(
            f'### Against PyTorch eager ({threads} threads, same run)\n\n'
            + '\n'.join(tables.torch_reference_table(rows, max(5, args.frames // 4), threads))
        )
    return ''.join(f'\n{part}\n' for part in parts)
