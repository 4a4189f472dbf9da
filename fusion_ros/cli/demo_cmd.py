# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros demo`: the whole product on this machine in one minute.

A real ROS 2 graph: the demo camera pair publishes the bundled TNO sequence at 30 Hz, the fusion
node (its own process, as `ros2 run` would start it) fuses it, a sink measures what arrives. The
model is switched at run time between passes, as `ros2 param set` would. It ends with a summary
and writes a mosaic (visible | thermal | fused) per model plus a latency plot.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import threading

from fusion_ros.runtime.engine_choice import BACKEND_NAMES
import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusion_ros.runtime.loader import SHIPPED_MODELS as SHIPPED

    parser.add_argument(
        '--models', nargs='+', default=list(SHIPPED), help='models to run, in order'
    )
    parser.add_argument('--backend', default='cpu', choices=BACKEND_NAMES)
    parser.add_argument('--seconds', type=float, default=8.0, help='stream length per model (s)')
    parser.add_argument('--thermal-encoding', default='mono16', choices=['mono16', 'mono8'])
    parser.add_argument('--latency-budget-ms', type=float, default=50.0)
    parser.add_argument(
        '--out', type=Path, default=Path('out/demo'), help='folder for pictures and summary'
    )


class _Keeper:
    """Remember the source's middle frame of each scene (visible, thermal) for the mosaics.

    The sink is asked to keep the fused frame with the same stamp.
    """

    def __init__(self, live) -> None:
        self.live = live
        self.per_scene = live.source.sequence.frames_per_scene
        self.frames: dict[int, tuple] = {}
        self.lock = threading.Lock()

    def __call__(self, frame, stamp_ns: int) -> None:
        if frame.index % self.per_scene == self.per_scene // 2:
            with self.lock:
                self.frames[stamp_ns] = (frame.scene, frame.visible.copy(), frame.thermal.copy())
            with self.live.sink.lock:
                self.live.sink.keep_stamps.add(stamp_ns)

    def clear(self) -> None:
        with self.lock:
            self.frames.clear()

    def mosaics(self, model: str, kept_images: dict) -> list[tuple]:
        """(model, scene, visible | thermal | fused picture) of every kept frame that arrived."""
        from fusion_ros.images.visuals import mosaic

        with self.lock:
            kept = sorted(self.frames.items())
        return [
            (
                model,
                scene,
                mosaic(
                    [vis, thermal, kept_images[stamp]],
                    ['visible', 'thermal', f'fused: {model}'],
                    height=256,
                ),
            )
            for stamp, (scene, vis, thermal) in kept
            if stamp in kept_images
        ]


def _run_models(args: argparse.Namespace, console, live, keeper: _Keeper, frames_per_model: int):
    """Stream each model in turn (switched at run time, as `ros2 param set` would).

    Returns (stats per model, latency series per model, mosaic rows).
    """
    from fusion_ros.live.session import node_peak_memory_mb
    from fusion_ros.live.stats import summarise
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    results, series, rows = [], {}, []
    progress = Progress(
        TextColumn('{task.description}'),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        for i, model in enumerate(args.models):
            task = progress.add_task(f'{model:<11}', total=frames_per_model)
            if i > 0:
                ok, reason = live.set_parameters(model=model)
                if not ok:
                    console.print(f'[red]switching to {model} was rejected: {reason}[/]')
                    continue
            live.sink.reset()
            keeper.clear()
            live.stream(
                frames_per_model, on_progress=lambda n, t=task: progress.advance(t, n), drain_s=1.5
            )
            record = live.sink.snapshot()
            stats = summarise(model, frames_per_model, record)
            stats.node_peak_memory_mb = node_peak_memory_mb(live.process.pid)
            results.append(stats)
            series[model] = np.array([a.latency_ms for a in record.arrivals])
            rows += keeper.mosaics(model, record.kept_images)
    return results, series, rows


def _print_summary(console, results: list) -> None:
    from fusion_ros.live.stats import alignment_text
    from rich.table import Table

    table = Table(title='fusion_ros demo: 640x512 @ 30 Hz, fusion node in its own process')
    for col in (
        'model',
        'in',
        'out',
        'fps',
        'e2e p50',
        'e2e p95',
        'e2e max',
        'infer p50',
        'peak MB',
    ):
        table.add_column(col, justify='right' if col != 'model' else 'left', no_wrap=True)
    for s in results:
        mem = f'{s.node_peak_memory_mb:.0f}' if s.node_peak_memory_mb else '-'
        infer = s.stages_p50_ms.get('inference')
        table.add_row(
            s.model,
            str(s.published),
            str(s.received),
            f'{s.fps:.1f}',
            f'{s.latency_p50_ms:.1f}',
            f'{s.latency_p95_ms:.1f}',
            f'{s.latency_max_ms:.1f}',
            f'{infer:.1f}' if infer is not None else '-',
            mem,
        )
    console.print(table)
    console.print('latencies in ms; e2e = fused frame received minus the visible capture stamp')
    for s in results:
        stages = ', '.join(f'{k} {v:.1f}' for k, v in s.stages_p50_ms.items()) or '-'
        console.print(f'  {s.model}: node stage p50 ms: {stages}')
    console.print("thermal/visible alignment (the node's online check, median residual):")
    for s in results:
        console.print(f'  {s.model}: {alignment_text(s)}')


def _write_pictures(args: argparse.Namespace, results: list, series: dict, rows: list) -> list:
    """mosaic_<model>.png, latency.png and summary.json in --out; returns the pictures' paths."""
    from fusion_ros.images.visuals import latency_plot, save_image, stack_rows

    pictures = []
    for model in args.models:
        model_rows = [r for m, _, r in rows if m == model]
        if model_rows:
            pictures.append(save_image(args.out / f'mosaic_{model}.png', stack_rows(model_rows)))
    if series:
        pictures.append(
            latency_plot(
                args.out / 'latency.png',
                series,
                {s.model: s.stages_p50_ms for s in results},
                args.latency_budget_ms,
            )
        )
    (args.out / 'summary.json').write_text(json.dumps([s.as_dict() for s in results], indent=2))
    return pictures


def run(args: argparse.Namespace) -> int:
    from fusion_ros.cli import table_console
    from fusion_ros.live.session import LiveSession

    console = table_console()
    args.out.mkdir(parents=True, exist_ok=True)
    frames_per_model = int(round(args.seconds * 30))
    console.print(
        f'[bold]fusion_ros demo[/]: TNO sequence, 640x512 @ 30 Hz, models {", ".join(args.models)}'
    )
    with LiveSession(
        args.models[0],
        args.backend,
        {'latency_budget_ms': args.latency_budget_ms},
        log_path=args.out / 'fusion_node.log',
        thermal_encoding=args.thermal_encoding,
    ) as live:
        keeper = _Keeper(live)
        live.source.on_frame = keeper
        with console.status('starting the fusion node...'):
            live.wait_ready()
        results, series, rows = _run_models(args, console, live, keeper, frames_per_model)
        exit_code = live.stop_node()

    _print_summary(console, results)
    pictures = _write_pictures(args, results, series, rows)
    console.print('pictures: ' + ', '.join(str(p) for p in pictures))
    console.print(
        f'fusion node exited with code {exit_code} (log: {args.out / "fusion_node.log"})'
    )
    lost = [s.model for s in results if s.received == 0]
    if lost or len(results) != len(args.models):
        console.print(f'[red]no fused output for: {", ".join(lost) or "a rejected model"}[/]')
        return 1
    return 0
