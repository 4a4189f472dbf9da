# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Measured latency and validation quality of the searched net next to the shipped models.

Latency is measured with the runtime (`fusion_ros.runtime.load_pipeline`, the node's loader):
`inference_min_ms`, the minimum over `repeats` IO-bound runs on one [1, 2, H, W] frame with the
latency table's thread count and clock (`fusion_ros.nas.latency.clock_function`: the table's own
statistic, so predicted and measured compare like with like), the same runs by the wall clock, and
optionally `bench_p50_ms`, the median ONNX Runtime time per frame
of the demo stream through the full pipeline, the `inference ms` column of `fusion-ros bench`
(threads as the node picks them). Quality: the project metrics (`fusion_ros.metrics`) of each
method's output on the validation pairs, aggregated as the average rank over metrics (MobileFuse's
aggregate; 1 = best) among the searched net, the shipped models and the pixel max/mean baselines.
"""

from __future__ import annotations

from pathlib import Path
import time
from typing import Callable, Sequence

from fusion_ros.images.folders import resize_max_side
from fusion_ros.training.data import Pair
import numpy as np

BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    'pixel_max': np.maximum,
    'pixel_mean': lambda a, b: 0.5 * (a + b),
}


def measure_model(
    model: str | Path,
    backend: str,
    threads: int,
    size: tuple[int, int] = (512, 640),
    repeats: int = 30,
    bench_frames: int = 0,
    clock: str = 'auto',
) -> dict[str, float]:
    """Latency of a model name or ONNX path loaded by the runtime.

    "inference_min_ms" (the latency table's statistic and clock), "wall_min_ms"/"wall_p50_ms" (wall
    clock), and with `bench_frames` "bench_p50_ms" (as `fusion-ros bench`).
    """
    from fusion_ros.runtime import load_pipeline

    from .latency import clock_function

    name, now = clock_function(clock, threads)
    pipeline = load_pipeline(model, backend=backend, threads=threads)
    m = pipeline.card.size_multiple
    h, w = (-(-s // m) * m for s in size)
    x = np.random.default_rng(0).random((1, 2, h, w), dtype=np.float32)
    out = np.empty((1, 1, h, w), np.float32)
    engine = pipeline.engine
    for _ in range(2):
        engine.run_into(x, out)
    clocked, wall = [], []
    for _ in range(repeats):
        c0, t0 = now(), time.perf_counter()
        engine.run_into(x, out)
        wall.append((time.perf_counter() - t0) * 1e3)
        clocked.append((now() - c0) * 1e3)
    engine.release_binding()
    result = {
        'inference_min_ms': float(np.min(clocked)),
        'clock': name,
        'wall_min_ms': float(np.min(wall)),
        'wall_p50_ms': float(np.median(wall)),
        'threads': engine.threads,
        'repeats': repeats,
    }
    if bench_frames:
        from fusion_ros.cli.bench_cmd import bench_pipeline

        result['bench_p50_ms'] = bench_pipeline(str(model), backend, bench_frames)['inference_p50']
    return result


def baseline_ms(name: str, size: tuple[int, int] = (512, 640), repeats: int = 30) -> float:
    """Minimum CPU time of a pixel baseline (numpy, one thread) on float32 planes of `size`."""
    rng = np.random.default_rng(0)
    a, b = rng.random(size, dtype=np.float32), rng.random(size, dtype=np.float32)
    best = float('inf')
    for _ in range(repeats):
        t0 = time.thread_time()
        BASELINES[name](a, b)
        best = min(best, (time.thread_time() - t0) * 1e3)
    return best


def _fuse_onnx(model: str | Path, pairs: Sequence[Pair]) -> list[np.ndarray]:
    """Return the 8-bit images the runtime makes (the output with the card's output stretch)."""
    from fusion_ros.runtime import load_pipeline
    from fusion_ros.training.trainer import fused_to_uint8

    pipeline = load_pipeline(model, backend='cpu', threads=1)
    m = pipeline.card.size_multiple
    outs = []
    for p in pairs:
        h, w = p.shape[0] - p.shape[0] % m, p.shape[1] - p.shape[1] % m
        x = np.ascontiguousarray(p.stacked()[None, :, :h, :w])
        outs.append(fused_to_uint8(pipeline.engine.run(x)[0, 0], pipeline.card.output_stretch))
    return outs


def validation_rows(
    models: dict[str, str | Path], pairs: Sequence[Pair], metrics: Sequence[str], max_side: int
) -> list[dict]:
    """Per (scene, method) metric rows.

    Every model (name -> registered name or ONNX path) and the pixel baselines, scored on the pairs
    downsized to `max_side` and cropped to a multiple of 8.
    """
    from fusion_ros.training.trainer import score_images, to_uint8

    small = [
        Pair(p.name, resize_max_side(p.ir, max_side), resize_max_side(p.vis, max_side))
        for p in pairs
    ]
    small = [
        Pair(
            p.name,
            p.ir[: p.shape[0] // 8 * 8, : p.shape[1] // 8 * 8],
            p.vis[: p.shape[0] // 8 * 8, : p.shape[1] // 8 * 8],
        )
        for p in small
    ]
    fused: dict[str, list[np.ndarray]] = {
        name: _fuse_onnx(src, small) for name, src in models.items()
    }
    for name, fn in BASELINES.items():
        fused[name] = [to_uint8(fn(p.ir, p.vis)) for p in small]
    rows = []
    for method, images in fused.items():
        for p, f in zip(small, images):
            h, w = f.shape
            scores = score_images(to_uint8(p.ir[:h, :w]), to_uint8(p.vis[:h, :w]), f, metrics)
            rows.append({'scene': p.name, 'method': method, **scores})
    return rows


def leaderboard(rows: list[dict], metrics: Sequence[str]):
    from fusion_ros.metrics.evaluation import build_leaderboard

    present = [m for m in metrics if all(m in r for r in rows)]
    return build_leaderboard(rows, present)


def pareto_plot(
    points: dict[str, tuple[float, float]],
    budget_ms: float | None,
    path: Path,
    title: str,
    highlight: Sequence[str] = (),
) -> Path:
    """Measured latency (x) vs validation average rank (y, best at the top) per method."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for name, (ms, rank) in points.items():
        hi = name in highlight
        ax.scatter(
            [max(ms, 1e-2)],
            [rank],
            s=70 if hi else 40,
            c='tab:red' if hi else 'tab:blue',
            marker='*' if hi else 'o',
            zorder=3,
        )
        ax.annotate(
            name, (max(ms, 1e-2), rank), textcoords='offset points', xytext=(5, 4), fontsize=8
        )
    if budget_ms:
        ax.axvline(budget_ms, color='tab:red', ls='--', lw=1, label=f'budget {budget_ms:g} ms')
        ax.legend(loc='lower right', fontsize=8)
    ax.set_xscale('log')
    ax.invert_yaxis()
    ax.set_xlabel('measured inference latency at 640x512 (ms, log scale)')
    ax.set_ylabel('validation average rank (1 = best)')
    ax.set_title(title, fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
