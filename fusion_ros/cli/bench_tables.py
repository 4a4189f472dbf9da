# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The extra tables of `fusion-ros bench`.

Where a frame's time goes through the node (per hop), cost per pixel across frame sizes, several
camera pairs on one machine, and the same architecture run the authors' way (PyTorch eager).

Why each: a robot integrator needs to know whether a 1920x1080 camera costs 6x a 640x512 one
(linear in pixels) or more; whether two camera pairs fit on one small computer; and how much the
deployment path (pre/post in OpenCV, the engine chosen at load) gains over running the research
code as published, measured in one run so the ratio is not confounded by machine load.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Sequence

import numpy as np

Progress = Callable[[], None] | None

_HOP_COLUMNS = (
    ('receive', 'camera -> node'),
    ('sync_wait', 'sync wait'),
    ('queue', 'queue'),
    ('decode', 'message -> numpy'),
    ('pipeline', 'pipeline'),
    ('publish', 'numpy -> message + publish'),
)


def hop_table(rows: Sequence[tuple]) -> list[str]:
    """Return Markdown lines: each hop's p50 through the node, per model with a live run.

    ``rows`` are (model, pipeline dict, RunStats or None). The pipeline column is the node's
    pre + inference + post; node -> sink is the sink's end-to-end p50 minus the node's own
    (capture stamp -> published), so the hops add up to about the sink's p50 (a sum of p50s
    is not the p50 of a sum).
    """
    header = (
        '| model | '
        + ' | '.join(label for _, label in _HOP_COLUMNS)
        + ' | node -> sink | **sum of hops** | sink e2e p50 | sink e2e p99 | pipeline p99 '
        '(in-process) |'
    )
    lines = [header, '|---' * (header.count('|') - 1) + '|']
    for model, pipe, node in rows:
        if node is None:
            continue
        stages = dict(node.stages_p50_ms)
        pipeline_parts = [stages.get(k) for k in ('preprocess', 'inference', 'postprocess')]
        if all(v is not None for v in pipeline_parts):
            stages['pipeline'] = sum(pipeline_parts)
        cells = [stages.get(key) for key, _ in _HOP_COLUMNS]
        delivery = node.delivery_hop_ms()
        known = [v for v in (*cells, delivery) if v is not None]
        p99 = node.latency_p99_ms
        lines.append(
            f'| {model} | '
            + ' | '.join(_ms(v) for v in cells)
            + f' | {_ms(delivery)} | **{_ms(sum(known) if known else None)}** | '
            f'{node.latency_p50_ms:.2f} | {_ms(p99)} | {_ms(pipe.get("total_p99"))} |'
        )
    return lines


def _ms(value: float | None) -> str:
    return '-' if value is None else f'{value:.2f}'


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """Parse sizes: '640x512,1280x1024' -> [(640, 512), (1280, 1024)] (width x height)."""
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(','))):
        try:
            w, h = (int(v) for v in part.lower().split('x'))
        except ValueError:
            raise ValueError(f'size {part!r} is not WIDTHxHEIGHT, e.g. 640x512') from None
        if w < 16 or h < 16:
            raise ValueError(f'size {part!r} is too small (16x16 at least)')
        sizes.append((w, h))
    return sizes


def _fuse_times(
    pipeline, width: int, height: int, frames: int, progress: Progress = None
) -> list[float]:
    """Milliseconds of `frames` pipeline.fuse calls on the demo stream at width x height.

    After a warm-up.
    """
    from fusion_ros.images.demo_sequence import DemoSequence

    seq = DemoSequence(width=width, height=height)
    for i in range(5):
        f = seq.frame(i)
        pipeline.fuse(f.visible, f.thermal)
    times = []
    for i in range(frames):
        f = seq.frame(i)
        t0 = time.perf_counter()
        pipeline.fuse(f.visible, f.thermal)
        times.append((time.perf_counter() - t0) * 1e3)
        if progress:
            progress()
    return times


def size_table(
    models: Sequence[str],
    backend: str,
    sizes: Sequence[tuple[int, int]],
    frames: int,
    progress: Progress = None,
) -> list[str]:
    """Pipeline p50 per size and ms per megapixel.

    The last column is the spread of ms/MP across sizes relative to the first size (linear cost in
    pixels means ~0%).
    """
    from fusion_ros.runtime import load_pipeline

    head = ' | '.join(f'{w}x{h} ms (ms/MP)' for w, h in sizes)
    lines = [
        f'| model | {head} | ms/MP change vs {sizes[0][0]}x{sizes[0][1]} |',
        '|---' * (len(sizes) + 2) + '|',
    ]
    for model in models:
        pipeline = load_pipeline(model, backend=backend)
        cells, per_mp = [], []
        for w, h in sizes:
            p50 = float(np.median(_fuse_times(pipeline, w, h, frames, progress)))
            per_mp.append(p50 / (w * h / 1e6))
            cells.append(f'{p50:.2f} ({per_mp[-1]:.2f})')
        change = max((v / per_mp[0] - 1.0 for v in per_mp[1:]), key=abs, default=0.0)
        lines.append(f'| {model} | {" | ".join(cells)} | {change * 100:+.0f}% |')
    return lines


def pairs_table(model: str, backend: str, pairs: int, seconds: float) -> list[str]:
    """`pairs` pipelines of `model` fusing 640x512 demo frames in `pairs` threads at once.

    As fast as they can for `seconds`: frames per second each and p50/p95 ms (can each keep 30
    Hz?).
    """
    from fusion_ros.runtime import load_pipeline

    pipelines = [load_pipeline(model, backend=backend) for _ in range(pairs)]
    results: list[list[float]] = [[] for _ in range(pairs)]
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        from fusion_ros.images.demo_sequence import DemoSequence

        seq, i = DemoSequence(), 0
        while time.perf_counter() < deadline:
            f = seq.frame(i)
            t0 = time.perf_counter()
            pipelines[index].fuse(f.visible, f.thermal)
            results[index].append((time.perf_counter() - t0) * 1e3)
            i += 1

    threads = [threading.Thread(target=work, args=(k,)) for k in range(pairs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [
        '| camera pair | engine | frames/s | p50 ms | p95 ms | keeps 30 Hz |',
        '|---|---|---|---|---|---|',
    ]
    for k, times in enumerate(results):
        fps = len(times) / seconds
        engine = f'{pipelines[k].providers[0]} x{pipelines[k].engine.threads}'
        lines.append(
            f'| {k + 1} | {engine} | {fps:.1f} | {np.median(times):.2f} | '
            f'{np.percentile(times, 95):.2f} | '
            f'{"yes" if fps >= 30 else "no"} |'
        )
    return lines


def torch_eager_ms(model: str, width: int, height: int, frames: int, threads: int) -> float:
    """Return the p50 ms of the same architecture as a PyTorch eager forward pass.

    No grad, float32, `threads` intra-op threads: how the authors run it. Weights do not change the
    time, so the network is built from the registry with its initial weights.
    """
    try:
        import torch
    except ImportError:
        raise RuntimeError('--reference torch needs PyTorch (pip install torch==2.13.0)') from None
    from fusion_ros.models import build_model

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        net = build_model(model).eval()
        x = torch.rand(1, 2, height, width)
        times = []
        with torch.no_grad():
            for i in range(frames + 3):
                t0 = time.perf_counter()
                net(x)
                if i >= 3:
                    times.append((time.perf_counter() - t0) * 1e3)
    finally:
        torch.set_num_threads(previous)
    return float(np.median(times))


def torch_reference_table(
    rows: Sequence[tuple[str, dict]], frames: int, threads: int
) -> list[str]:
    """Pipeline p50 (from the main table's run) next to PyTorch eager on the same 640x512 input."""
    lines = [
        '| model | pipeline p50 ms (pre + inference + post) | PyTorch eager p50 ms (inference '
        'only) | ratio |',
        '|---|---|---|---|',
    ]
    for model, pipe in rows:
        eager = torch_eager_ms(model, 640, 512, frames, threads)
        lines.append(
            f'| {model} | {pipe["total_p50"]:.2f} | {eager:.2f} | '
            f'{pipe["total_p50"] / eager:.2f}x |'
        )
    return lines
