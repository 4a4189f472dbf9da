# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros train`: train a model with its recipe, then export ONNX + model card.

    fusion-ros train --model mmdrfuse                       # configs/mmdrfuse_default.yaml
    fusion-ros train --model mmdrfuse --config tiny --out runs/t
    fusion-ros train --model mmdrfuse --ir A/ir --vis A/vi --ir B/ir --vis B/vi   # other data
    fusion-ros train --model mmdrfuse --bag flight1 --bag flight2 --every-n 10  # pairs from a bag
    fusion-ros train --model mmdrfuse --resume --out runs/mmdrfuse               # continue a run
    fusion-ros train --model mmdrfuse --export fusion_ros/weights                # ship it
    # through the ROS train node (losses + samples topics):
    fusion-ros train --model mmdrfuse --ros

The run folder (`--out`, default runs/<model>) holds checkpoints, the final weights and
summary.json; the ONNX + card go to `--export` (default <out>/export).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusion_ros.sync import DEFAULT_SLOP_S

    parser.add_argument('--model', required=True, help='mmdrfuse | mobilefuse | aenetv2')
    parser.add_argument(
        '--config',
        default='default',
        help='config variant (default, tiny) or a YAML/JSON file (default: default)',
    )
    parser.add_argument(
        '--recipe', default=None, help="override the config's recipe (e.g. simple)"
    )
    parser.add_argument(
        '--ir',
        action='append',
        default=[],
        metavar='DIR',
        help="infrared folder (repeat with --vis for several sources; replaces the config's data)",
    )
    parser.add_argument(
        '--vis', action='append', default=[], metavar='DIR', help='visible folder matching --ir'
    )
    parser.add_argument(
        '--bag',
        action='append',
        default=[],
        metavar='BAG',
        help='rosbag2 (sqlite3 or mcap) to take synchronised pairs from (repeatable; with '
        '--ir/--vis '
        "adds to them, alone replaces the config's data)",
    )
    parser.add_argument(
        '--visible-topic', default='/visible/image_raw', help='visible image topic in --bag'
    )
    parser.add_argument(
        '--thermal-topic', default='/thermal/image_raw', help='thermal image topic in --bag'
    )
    parser.add_argument(
        '--every-n',
        type=int,
        default=5,
        help='keep every n-th synchronised pair of a bag (video frames are nearly identical)',
    )
    parser.add_argument(
        '--slop',
        type=float,
        default=DEFAULT_SLOP_S,
        help='largest visible/thermal stamp difference (s) to pair in --bag (node: sync_slop)',
    )
    parser.add_argument(
        '--out', default=None, metavar='RUN_DIR', help='run folder (default runs/<model>)'
    )
    parser.add_argument(
        '--export', default=None, metavar='DIR', help='where to write <model>.onnx/.json'
    )
    parser.add_argument(
        '--resume', action='store_true', help="continue from the run folder's checkpoints"
    )
    parser.add_argument('--max-minutes', type=float, default=None, help='override the time budget')
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument(
        '--threads', type=int, default=None, help='torch threads (default: config)'
    )
    parser.add_argument(
        '--vgg19-weights',
        default=None,
        metavar='PATH',
        help='local torchvision VGG-19 state_dict for perception losses (else $FUSION_ROS_VGG19, '
        'else the filter-bank substitute)',
    )
    parser.add_argument(
        '--ros',
        action='store_true',
        help='run inside the ROS train node: publishes ~/loss/<name> and ~/sample/image',
    )
    parser.add_argument('--quiet', action='store_true', help='no progress bar')


def build_config(args: argparse.Namespace):
    from fusion_ros.training.config import load_config

    if len(args.ir) != len(args.vis):
        raise SystemExit('fusion-ros train: give --ir and --vis the same number of times')
    overrides: dict = {
        'max_minutes': args.max_minutes,
        'seed': args.seed,
        'num_threads': args.threads,
        'recipe': args.recipe,
    }
    sources: list = [{'ir': i, 'vis': v} for i, v in zip(args.ir, args.vis)]
    sources += [
        {
            'source': 'bag',
            'bag': bag,
            'visible_topic': args.visible_topic,
            'thermal_topic': args.thermal_topic,
            'every_n': args.every_n,
            'slop': args.slop,
        }
        for bag in args.bag
    ]
    if sources:
        overrides['train_sources'] = sources
    extra = {}
    if getattr(args, 'vgg19_weights', None):
        extra['vgg19_weights'] = args.vgg19_weights
    return load_config(args.model, args.config, extra=extra, **overrides)


def run(args: argparse.Namespace) -> int:
    cfg = build_config(args)
    out = Path(args.out or f'runs/{cfg.model}')
    if args.ros:
        from fusion_ros.nodes.train_node import run_train_node

        return run_train_node(cfg, out_dir=out, export_dir=args.export, resume=args.resume)
    from fusion_ros.training.hooks import ProgressHooks
    from fusion_ros.training.runner import run_training

    result = run_training(
        cfg,
        ProgressHooks(enabled=not args.quiet),
        out_dir=out,
        export_dir=args.export,
        resume=args.resume,
    )
    summary = result['summary']
    metrics = summary.get('val_metrics', {})
    print(
        f'trained {cfg.model} ({cfg.name}) in {result["duration_s"] / 60:.1f} min'
        + (
            ' (stopped early by the time budget; --resume continues)'
            if summary.get('stopped_early')
            else ''
        )
    )
    if metrics:
        print('validation: ' + ' '.join(f'{k}={v:.4g}' for k, v in metrics.items()))
    for name, values in summary.get('validation_sets', {}).items():
        print(f'validation {name}: ' + ' '.join(f'{k}={v:.4g}' for k, v in values.items()))
    print(f'weights: {result["weights"]}\nonnx:    {result["onnx"]}\ncard:    {result["card"]}')
    return 0


if __name__ == '__main__':  # pragma: no cover
    p = argparse.ArgumentParser(prog='fusion-ros train')
    add_arguments(p)
    sys.exit(run(p.parse_args()))
