# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros video IN OUT.mp4 [--mosaic]`.

MP4 of a fused stream, and a labelled visible | thermal | fused mosaic video.

IN is a fused bag (fuse-bag output, or a recording of the fusion node with the camera topics) or a
folder of fused images (`fusion-ros fuse` output; the mosaic then needs
--visible-dir/--thermal-dir).

Examples:
  fusion-ros video run1_fused run1.mp4 --mosaic            # run1.mp4 + run1_mosaic.mp4
  fusion-ros video run1_fused run1.mp4 --mosaic side.mp4 --fps 15
  fusion-ros video out/fused fused.mp4 --mosaic --visible-dir data/vi --thermal-dir data/ir
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        'input', type=Path, help='fused rosbag2 folder / .db3 / .mcap, or image folder'
    )
    parser.add_argument('output', type=Path, help='output video of the fused stream (.mp4)')
    parser.add_argument(
        '--mosaic',
        nargs='?',
        const='',
        default=None,
        metavar='PATH',
        help='also write the visible | thermal | fused mosaic video '
        '(default path: OUTPUT_mosaic.mp4)',
    )
    parser.add_argument(
        '--mosaic-only', action='store_true', help='write only the mosaic video (at OUTPUT)'
    )
    parser.add_argument('--fused-topic', default='/fused/image_raw')
    parser.add_argument('--visible-topic', default='/visible/image_raw')
    parser.add_argument('--thermal-topic', default='/thermal/image_raw')
    parser.add_argument(
        '--visible-dir', type=Path, help='folder input: visible images (same stems)'
    )
    parser.add_argument(
        '--thermal-dir', type=Path, help='folder input: thermal images (same stems)'
    )
    parser.add_argument(
        '--fps',
        type=float,
        default=None,
        help='frame rate (default: from the stamps; 30 for folders)',
    )
    parser.add_argument(
        '--fourcc',
        default='mp4v',
        help='OpenCV fourcc (mp4v works with the pip OpenCV; avc1 needs an H.264 encoder)',
    )
    parser.add_argument('--label', default='fused', help='caption of the fused panel')
    parser.add_argument('--no-progress', dest='progress', action='store_false')


def _is_bag(path: Path) -> bool:
    """Return a rosbag2 folder (metadata.yaml or storage files inside) or a .db3/.mcap file."""
    if path.is_dir():
        return (
            (path / 'metadata.yaml').exists()
            or any(path.glob('*.db3'))
            or any(path.glob('*.mcap'))
        )
    return path.suffix in ('.db3', '.mcap')


def run(args: argparse.Namespace) -> int:
    from fusion_ros.bags.io import BagError
    from fusion_ros.bags.video import bag_to_video, folder_to_video, mosaic_path_for, VideoError

    if args.mosaic_only:
        out, mosaic = None, args.output
    else:
        out = args.output
        mosaic = (
            None
            if args.mosaic is None
            else (Path(args.mosaic) if args.mosaic else mosaic_path_for(args.output))
        )
    try:
        if _is_bag(args.input):
            result = bag_to_video(
                args.input,
                out,
                mosaic=mosaic,
                fused_topic=args.fused_topic,
                visible_topic=args.visible_topic,
                thermal_topic=args.thermal_topic,
                fps=args.fps,
                fourcc=args.fourcc,
                fused_label=args.label,
                progress=args.progress,
            )
        else:
            result = folder_to_video(
                args.input,
                out,
                mosaic=mosaic,
                visible_dir=args.visible_dir,
                thermal_dir=args.thermal_dir,
                fps=args.fps,
                fourcc=args.fourcc,
                fused_label=args.label,
                progress=args.progress,
            )
    except (BagError, VideoError, OSError) as exc:
        print(f'fusion-ros video: {exc}')
        return 1
    print(result.summary())
    return 0
