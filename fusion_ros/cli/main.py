# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros VERB ...`: one verb per job, each in its own module, imported only when used.

Lazy imports keep `fusion-ros --help` instant and let the runtime-only install (no torch) run
every verb that does not train.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# verb -> (module under fusion_ros.cli, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    'demo': (
        'demo_cmd',
        'run the live ROS 2 demo: source -> fusion node -> sink, with mosaics and a latency plot',
    ),
    'fuse': ('fuse_cmd', 'fuse a folder of IR/visible pairs into a folder of fused images'),
    'bench': ('bench_cmd', 'benchmark every model: pipeline time per frame, node latency, memory'),
    'bench-transport': (
        'bench_transport_cmd',
        'measure 640x512 image transport between two processes per QoS and DDS profile',
    ),
    'export': ('export_cmd', 'export a model (trained checkpoint or fresh) to ONNX + model card'),
    'train': ('train_cmd', "train a model with its paper's recipe and export it"),
    'search': (
        'search_cmd',
        'search a fusion network for a latency budget on this device (HAF-NAS) and export it',
    ),
    'eval': (
        'eval_cmd',
        'score fused results with VIFB / MMDRFuse metrics and write a leaderboard',
    ),
    'replay': ('replay_cmd', "publish a rosbag2's image topics with recorded timing and /clock"),
    'record': ('record_cmd', 'record live topics (e.g. the fused stream) into a rosbag2'),
    'fuse-bag': ('fuse_bag_cmd', 'fuse a rosbag2 offline into a new bag with the fused topic'),
    'make-sample-bag': (
        'make_sample_bag_cmd',
        'write a sample rosbag2 from the bundled demo sequence',
    ),
    'video': ('video_cmd', 'export a fused bag or folder to MP4 and a side-by-side mosaic video'),
    'soak': (
        'soak_cmd',
        'stream through the node for a long time: memory, rate and latency per interval, a plot',
    ),
    'register': (
        'register_cmd',
        'estimate the thermal->visible homography of a rig (scene pairs or a heated board) as a '
        'params YAML',
    ),
    'register-bench': (
        'register_bench_cmd',
        'score target-free registration on simulated rigs built from registered pairs',
    ),
}


def build_parser(verbs: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser; only the chosen verb's module is imported."""
    parser = argparse.ArgumentParser(
        prog='fusion-ros', description='Visible + thermal image fusion for ROS 2.'
    )
    sub = parser.add_subparsers(dest='verb', metavar='VERB')
    for verb, (_, help_text) in VERBS.items():
        sub.add_parser(verb, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help') or argv[0] not in VERBS:
        parser = build_parser()
        if argv and argv[0] not in ('-h', '--help'):
            parser.print_usage(sys.stderr)
            print(
                f'fusion-ros: unknown verb {argv[0]!r}; choose from {", ".join(VERBS)}',
                file=sys.stderr,
            )
            return 2
        parser.print_help()
        return 0
    verb, rest = argv[0], argv[1:]
    module_name, help_text = VERBS[verb]
    module = importlib.import_module(f'fusion_ros.cli.{module_name}')
    parser = argparse.ArgumentParser(prog=f'fusion-ros {verb}', description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
