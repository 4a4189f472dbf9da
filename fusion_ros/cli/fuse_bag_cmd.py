# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
r"""`fusion-ros fuse-bag IN OUT --model M`.

Fuse a rosbag2 offline into a new bag holding the original topics, the fused stream and per-frame
latency diagnostics.

Examples:
  fusion-ros fuse-bag run1 run1_fused --model mmdrfuse
  fusion-ros fuse-bag run1 run1_fused --model aenetv2 --visible-topic /cam0/image_raw \
      --thermal-topic /lwir/image_raw --fused-topic /fused/image_raw --slop 0.02 --storage mcap
"""

from __future__ import annotations

import argparse

from fusion_ros.runtime.engine_choice import BACKEND_NAMES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusion_ros.sync import DEFAULT_QUEUE_SIZE, DEFAULT_SLOP_S

    parser.add_argument('input', help='input rosbag2 folder (or .db3/.mcap file)')
    parser.add_argument('output', help='output rosbag2 folder (must not exist)')
    parser.add_argument(
        '--model', default='mmdrfuse', help='mmdrfuse | mobilefuse | aenetv2 | path/to/model.onnx'
    )
    parser.add_argument('--backend', default='cpu', choices=BACKEND_NAMES)
    parser.add_argument('--weights-dir', default=None, help='folder with NAME.onnx + NAME.json')
    parser.add_argument(
        '--visible-topic',
        default='/visible/image_raw',
        help='visible Image topic (TOPIC/compressed is used when only that exists)',
    )
    parser.add_argument(
        '--thermal-topic', default='/thermal/image_raw', help='thermal Image topic'
    )
    parser.add_argument('--fused-topic', default='/fused/image_raw', help='output topic')
    parser.add_argument(
        '--slop',
        type=float,
        default=DEFAULT_SLOP_S,
        help='largest visible/thermal stamp difference (s) to pair (node: sync_slop)',
    )
    parser.add_argument(
        '--queue-size',
        type=int,
        default=DEFAULT_QUEUE_SIZE,
        help='synchroniser queue per camera (node: sync_queue_size)',
    )
    parser.add_argument(
        '--storage',
        choices=('sqlite3', 'mcap'),
        default=None,
        help="output storage (default: the input's)",
    )
    parser.add_argument(
        '--no-copy',
        dest='copy_topics',
        action='store_false',
        help='write only the fused topics and diagnostics, not the input topics',
    )
    parser.add_argument(
        '--no-diagnostics',
        dest='diagnostics',
        action='store_false',
        help='no per-frame /diagnostics',
    )
    parser.add_argument(
        '--threads', type=int, default=0, help='ONNX Runtime threads (0 = all cores)'
    )
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')
    parser.add_argument('--no-progress', dest='progress', action='store_false')


def run(args: argparse.Namespace) -> int:
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.io import BagError
    from fusion_ros.runtime import ModelLoadError, ProcessingOptions

    try:
        result = fuse_bag(
            args.input,
            args.output,
            args.model,
            visible_topic=args.visible_topic,
            thermal_topic=args.thermal_topic,
            fused_topic=args.fused_topic,
            slop=args.slop,
            queue_size=args.queue_size,
            backend=args.backend,
            weights_dir=args.weights_dir,
            options=ProcessingOptions(threads=args.threads),
            storage=args.storage,
            copy_topics=args.copy_topics,
            diagnostics=args.diagnostics,
            overwrite=args.overwrite,
            progress=args.progress,
        )
    except (BagError, ModelLoadError, ValueError) as exc:
        print(f'fusion-ros fuse-bag: {exc}')
        return 1
    print(result.summary())
    return 0 if result.fused else 1
