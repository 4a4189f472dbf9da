# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros register-bench`.

Target-free registration on simulated rigs built from registered pairs; writes a markdown table
(default docs/registration.md).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys

DEFAULT_SETS = ('msrs/test', 'llvip/test', 'tno')


def _datasets_root() -> Path:
    from fusion_ros.paths import SOURCE_ROOT

    env = os.environ.get('FUSION_ROS_DATASETS')
    return Path(env) if env else (SOURCE_ROOT.parent / 'shared' / 'datasets').resolve()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--sets',
        nargs='+',
        default=list(DEFAULT_SETS),
        help='folders with ir/ and vi/ (relative ones under $FUSION_ROS_DATASETS)',
    )
    parser.add_argument('--rigs', type=int, default=10, help='simulated rigs per set')
    parser.add_argument('--pairs', type=int, default=12, help='pairs per rig')
    parser.add_argument(
        '--counts',
        type=int,
        nargs='+',
        default=[1, 3, 12],
        help="pair counts to score (nested subsets of each rig's pairs)",
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--control-rigs',
        type=int,
        default=3,
        help='run the floor and pseudo-thermal controls on this many rigs (0 = none)',
    )
    parser.add_argument(
        '--out', type=Path, default=Path('docs/registration.md'), help='markdown table'
    )


def run(args: argparse.Namespace) -> int:
    from fusion_ros.registration.bench import bench_set, markdown

    if any(n > args.pairs or n < 1 for n in args.counts):
        print(f'--counts must lie in 1..--pairs ({args.pairs})', file=sys.stderr)
        return 2
    results = []
    for name in args.sets:
        root = Path(name) if Path(name).is_absolute() else _datasets_root() / name
        if not (root / 'ir').is_dir() or not (root / 'vi').is_dir():
            print(f'skipping {name}: no ir/ and vi/ folders in {root}', file=sys.stderr)
            continue
        results.append(
            bench_set(
                name,
                root,
                args.rigs,
                args.pairs,
                args.counts,
                args.seed,
                args.control_rigs,
                progress=lambda s: print(s, flush=True),
            )
        )
    if not results:
        print('no set to benchmark', file=sys.stderr)
        return 1
    command = (
        'fusion-ros register-bench ' + ' '.join(sys.argv[2:])
        if sys.argv[1:2] == ['register-bench']
        else 'fusion-ros register-bench'
    )
    text = markdown(results, command.strip(), args.rigs, args.pairs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0
