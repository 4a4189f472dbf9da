# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros search`: find the best fusion network for a latency budget on this device (HAF-NAS).

    fusion-ros search --budget-ms 8 --out runs/search8              # 640x512, CPU, default config
    fusion-ros search --budget-ms 8 --config tiny --size 128x96 --out /tmp/s   # seconds (tests)
    fusion-ros search --budget-ms 15 --table runs/search8/latency_table.json --out runs/search15

Writes OUT/searched.onnx + searched.json (load it anywhere a model is taken:
`model:=OUT/searched.onnx`, `fusion-ros fuse --model OUT/searched.onnx`, `fusion-ros bench --models
OUT/searched.onnx`), OUT/latency_table.json, OUT/search.log, OUT/search_log.json and
OUT/pareto.png. The budget is the ONNX Runtime inference time per frame at --size (the `inference
ms` column of `fusion-ros bench`); pre- and post-processing (about 1.5-2 ms at 640x512 on a 2-core
CPU) come on top for every model.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_size(text: str) -> tuple[int, int]:
    """'640x512' (W x H) -> (H, W)."""
    try:
        w, h = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'size must look like 640x512 (width x height), got {text!r}'
        ) from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f'size must be positive, got {text!r}')
    return h, w


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--budget-ms',
        type=float,
        default=None,
        help='latency budget per frame (inference ms; required)',
    )
    parser.add_argument(
        '--size',
        type=parse_size,
        default=(512, 640),
        help='deploy frame size WxH (default 640x512)',
    )
    parser.add_argument(
        '--backend',
        default='cpu',
        choices=('cpu', 'cuda', 'tensorrt'),
        help='ONNX Runtime execution provider to measure and deploy on (default cpu)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='ONNX Runtime intra-op threads for the table and the measurements (default 1: '
        "on a 2-core CPU the node picks 1 for small nets; pass the node's `threads`)",
    )
    parser.add_argument(
        '--config', default='default', help='tiny | default | a YAML/JSON file of search settings'
    )
    parser.add_argument(
        '--table',
        type=Path,
        default=None,
        help='reuse this latency_table.json (same space and size) instead of measuring again',
    )
    parser.add_argument(
        '--from-search',
        type=Path,
        default=None,
        metavar='DIR',
        help="skip the search: derive for this budget from DIR's operator weights and latency "
        'table (same size), then retrain, export and evaluate as usual',
    )
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument(
        '--no-shipped', action='store_true', help='do not measure/score the shipped models'
    )
    parser.add_argument(
        '--bench-frames',
        type=int,
        default=0,
        help='also time the searched net through the full pipeline on N demo frames (as bench)',
    )
    parser.add_argument('--out', type=Path, required=True, help='output folder')
    parser.add_argument(
        '--verify',
        action='store_true',
        help="only re-time OUT's latency table and OUT/searched.onnx together and print "
        'predicted vs measured (no search)',
    )


def run(args: argparse.Namespace) -> int:
    from fusion_ros.cli import table_console
    from fusion_ros.nas.config import load_search_config
    from fusion_ros.nas.run import run_search, SearchRequest
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if args.verify:
        from fusion_ros.nas.run import verify_dir

        if not (args.out / 'searched.json').is_file():
            raise SystemExit(f'fusion-ros search --verify: no searched.json in {args.out}')
        r = verify_dir(args.out)
        print(
            f'{args.out}: predicted {r["predicted_ms"]:.2f} ms, measured {r["measured_ms"]:.2f} '
            'ms '
            f'({100 * r["error"]:+.0f}%), {r["table"]["device"]["clock"]} clock, min of '
            f'{r["table"]["device"]["repeats"]}'
        )
        return 0
    if args.budget_ms is None or args.budget_ms <= 0:
        raise SystemExit('fusion-ros search: --budget-ms must be positive')
    if args.threads < 1:
        raise SystemExit('fusion-ros search: --threads must be >= 1')
    cfg = load_search_config(args.config, seed=args.seed)
    req = SearchRequest(
        budget_ms=args.budget_ms,
        out=args.out,
        size=args.size,
        backend=args.backend,
        threads=args.threads,
        table=args.table,
        compare_shipped=not args.no_shipped,
        bench_frames=args.bench_frames,
        from_search=args.from_search,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    console = table_console()
    log_file = (args.out / 'search.log').open('w')

    def log(line: str) -> None:
        console.print(line, markup=False, highlight=False)
        log_file.write(line + '\n')
        log_file.flush()

    totals = {
        'table': None,
        'search': cfg.warmup_steps + cfg.search_steps,
        'retrain': cfg.retrain_steps,
    }
    with Progress(
        TextColumn('{task.description}'),
        BarColumn(),
        TextColumn('{task.completed}/{task.total}'),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, int] = {}

        def on_progress(phase: str, done: int, row: dict) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=totals.get(phase))
            extra = f' E[lat] {row["expected_ms"]:.2f} ms' if 'expected_ms' in row else ''
            progress.update(tasks[phase], completed=done, description=f'{phase}{extra}')
            if phase != 'table' and done % 50 == 0:
                loss = row.get('w_loss', row.get('loss', float('nan')))
                log(f'  {phase} step {done}: loss {loss:.4f}{extra}')

        log(
            f'fusion-ros search --budget-ms {args.budget_ms:g} --size '
            f'{args.size[1]}x{args.size[0]} '
            f'--backend {args.backend} --threads {args.threads} --config {args.config} --out '
            f'{args.out}'
        )
        try:
            run_search(cfg, req, log, on_progress)
        finally:
            log_file.close()
    return 0
