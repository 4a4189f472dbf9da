# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros make-sample-bag OUT`: a rosbag2 of the bundled demo sequence.

Visible bgr8 + camera info + thermal mono16, each with its camera's capture stamps.

Examples:
  fusion-ros make-sample-bag sample                 # sqlite3, 4 s, 640x512 @ 30 Hz
  fusion-ros make-sample-bag sample_mcap --storage mcap --seconds 8
  fusion-ros make-sample-bag sample_jpeg --compressed  # .../image_raw/compressed (JPEG/16-bit PNG)
"""

from __future__ import annotations

import argparse
import time


def _size(text: str) -> tuple:
    try:
        w, h = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be WIDTHxHEIGHT, got {text!r}') from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError('size must be at least 16x16')
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('output', help='output rosbag2 folder (must not exist)')
    parser.add_argument('--storage', choices=('sqlite3', 'mcap'), default='sqlite3')
    parser.add_argument(
        '--compressed',
        action='store_true',
        help='write <topic>/compressed CompressedImage topics (JPEG visible, 16-bit '
        'PNG thermal) instead of raw images',
    )
    parser.add_argument(
        '--with-raw', action='store_true', help='with --compressed: keep the raw image topics too'
    )
    parser.add_argument('--seconds', type=float, default=4.0, help='length of the recording')
    parser.add_argument('--fps', type=float, default=30.0, help='camera frame rate')
    parser.add_argument(
        '--size',
        type=_size,
        default=(640, 512),
        metavar='WxH',
        help='image size (default 640x512)',
    )
    parser.add_argument('--thermal-encoding', choices=('mono16', 'mono8'), default='mono16')
    parser.add_argument(
        '--thermal-offset-ms',
        type=float,
        default=4.0,
        help='thermal capture delay after the visible one',
    )
    parser.add_argument('--jpeg-quality', type=int, default=90)
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output')


def run(args: argparse.Namespace) -> int:
    from fusion_ros.bags.io import BagError
    from fusion_ros.bags.sample import make_sample_bag

    t0 = time.perf_counter()
    try:
        bag = make_sample_bag(
            args.output,
            storage=args.storage,
            compressed=args.compressed,
            with_raw=args.with_raw,
            seconds=args.seconds,
            fps=args.fps,
            width=args.size[0],
            height=args.size[1],
            thermal_encoding=args.thermal_encoding,
            thermal_offset_ms=args.thermal_offset_ms,
            jpeg_quality=args.jpeg_quality,
            overwrite=args.overwrite,
            progress=True,
        )
    except (BagError, ValueError) as exc:
        print(f'fusion-ros make-sample-bag: {exc}')
        return 1
    topics = ', '.join(f'{t} ({n})' for t, n in bag.topics.items())
    print(
        f'wrote {bag.path} ({bag.storage}, {bag.frames} frame pairs, '
        f'{args.size[0]}x{args.size[1]} '
        f'@ {args.fps:g} Hz) in {time.perf_counter() - t0:.1f} s: {topics}'
    )
    return 0
