# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros register`.

Estimate the thermal->visible homography of a camera rig and write it as fusion_node's `homography`
parameter (a params YAML) plus a check picture.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group('input (a folder pair or a bag)')
    src.add_argument('--ir', type=Path, help='folder of thermal images')
    src.add_argument('--vis', type=Path, help='folder of visible images (same file stems)')
    src.add_argument('--bag', type=Path, help='rosbag2 with a visible and a thermal image topic')
    src.add_argument(
        '--visible-topic', default='/visible/image_raw', help='visible topic in --bag'
    )
    src.add_argument(
        '--thermal-topic', default='/thermal/image_raw', help='thermal topic in --bag'
    )
    src.add_argument(
        '--thermal-info-topic',
        default='auto',
        help="thermal CameraInfo topic in --bag ('auto': camera_info beside --thermal-topic; "
        "'none': do not undistort)",
    )
    src.add_argument('--every', type=int, default=10, help='use every N-th synchronised bag pair')
    src.add_argument(
        '--max-pairs',
        type=int,
        default=24,
        help='use at most this many pairs, spread over the input (target-free)',
    )
    parser.add_argument(
        '--out', type=Path, required=True, help='params YAML to write (fusion_node)'
    )
    parser.add_argument(
        '--picture', type=Path, help='check picture (default: OUT with suffix _check.png)'
    )
    parser.add_argument(
        '--base-params',
        type=Path,
        help='copy this params file (e.g. config/fusion.yaml) with only its homography replaced',
    )
    tgt = parser.add_argument_group('target-based registration (heated/cooled board)')
    tgt.add_argument('--target', choices=['none', 'checkerboard', 'circles'], default='none')
    tgt.add_argument('--pattern', default='9x6', help='COLSxROWS inner corners / circles')
    tgt.add_argument(
        '--square', type=float, help='square (or circle spacing) size in mm, recorded'
    )
    parser.add_argument(
        '--thermal-info',
        type=Path,
        help='thermal camera_info YAML: undistort as the node does (else from the bag)',
    )
    tgt.add_argument(
        '--visible-info', type=Path, help='visible camera_info YAML (undistort points)'
    )
    parser.add_argument(
        '--fov-range',
        type=float,
        nargs=2,
        default=(0.5, 1.1),
        metavar=('LO', 'HI'),
        help='target-free search: thermal field of view as a fraction of the visible width',
    )
    parser.add_argument(
        '--max-width',
        type=int,
        default=1024,
        help='target-free: finest matching level at most this wide (px); larger images '
        'are matched at half or quarter resolution',
    )


def _load(args: argparse.Namespace):
    from fusion_ros.registration.inputs import pairs_from_bag, pairs_from_folders

    limit = args.max_pairs if args.target == 'none' else None
    if args.bag is not None:
        return pairs_from_bag(args.bag, args.visible_topic, args.thermal_topic, args.every, limit)
    if args.ir is None or args.vis is None:
        raise ValueError('give --ir DIR --vis DIR, or --bag BAG')
    return pairs_from_folders(args.ir, args.vis, limit)


def _thermal_lens(args: argparse.Namespace):
    """Return (the thermal lens or None, where it came from): --thermal-info, else the bag's."""
    from fusion_ros.registration.target import load_camera_info

    if args.thermal_info is not None:
        return load_camera_info(args.thermal_info), str(args.thermal_info)
    if args.bag is None or args.thermal_info_topic == 'none':
        return None, None
    from fusion_ros.bags.camera_info import camera_info_topic, first_lens
    from fusion_ros.bags.io import BagReader, resolve_image_topic

    with BagReader(args.bag) as reader:
        topic = args.thermal_info_topic
        if topic == 'auto':
            topic = camera_info_topic(reader, resolve_image_topic(reader, args.thermal_topic))
            if topic is None:
                return None, None
        return first_lens(reader, topic), topic


def _estimate(args: argparse.Namespace, names, thermals, visibles, thermal_lens):
    """Target-free on the undistorted thermal frames, or target points undistorted."""
    from fusion_ros.registration import register_pairs
    from fusion_ros.registration.target import load_camera_info, parse_pattern, register_target

    if args.target == 'none':
        if thermal_lens is not None:
            thermals = [thermal_lens.undistort_image(t) for t in thermals]
        reg = register_pairs(thermals, visibles, names, tuple(args.fov_range), args.max_width)
        return reg, 'visible px (own estimate vs consensus)'
    v_info = load_camera_info(args.visible_info) if args.visible_info else None
    reg = register_target(
        thermals,
        visibles,
        args.target,
        parse_pattern(args.pattern),
        args.square,
        names,
        thermal_lens,
        v_info,
    )
    return reg, 'visible px rms (board points vs fit)'


def run(args: argparse.Namespace) -> int:
    from fusion_ros.images.visuals import save_image
    from fusion_ros.registration.params import write_params
    from fusion_ros.registration.picture import check_picture
    import numpy as np
    import yaml

    try:
        names, thermals, visibles = _load(args)
        lens, lens_source = _thermal_lens(args)
        reg, unit = _estimate(args, names, thermals, visibles, lens)
    except (RuntimeError, ValueError, OSError, yaml.YAMLError) as exc:
        # RegistrationError (the pairs disagree) and BagError (an unreadable bag) are RuntimeErrors
        print(f'fusion-ros register: {exc}\nno params file written', file=sys.stderr)
        return 1
    picture = args.picture or args.out.with_name(args.out.stem + '_check.png')
    best = max(range(len(names)), key=lambda k: (reg.pairs[k].inlier, reg.pairs[k].blocks))
    if lens is not None:  # the homography maps undistorted thermal px: show it on those
        thermals = [lens.undistort_image(t) if k == best else t for k, t in enumerate(thermals)]
    residuals = [p.deviation for p in reg.pairs]
    save_image(
        picture,
        check_picture(
            thermals[best],
            visibles[best],
            reg.homography,
            names,
            residuals,
            [p.inlier for p in reg.pairs],
            unit,
            reg.method,
        ),
    )
    comments = [
        f'method: {reg.method}; thermal {reg.thermal_size[0]}x{reg.thermal_size[1]} -> visible '
        f'{reg.visible_size[0]}x{reg.visible_size[1]}; {reg.inliers} of {len(names)} pairs agree',
        f'median per-pair residual: {np.nanmedian(residuals):.2f} {unit}; check picture: '
        f'{picture}',
    ]
    if lens is not None:
        comments.append(
            f'thermal undistorted with the calibration of {lens_source} ({lens.model}): this '
            'homography maps UNDISTORTED thermal px, as fusion_node uses it with '
            'thermal/camera_info and undistort_thermal true'
        )
    if args.target != 'none' and args.visible_info:
        comments.append('visible points were undistorted too: feed the node rectified visible')
    write_params(args.out, reg.homography, comments, args.base_params)
    for p in reg.pairs:
        state = 'ok ' if p.inlier else 'REJ'
        print(f'  {state} {p.name}: residual {p.deviation:.2f}  {p.error or ""}')
    print(f'{reg.method}: {reg.inliers}/{len(names)} pairs agree; wrote {args.out} and {picture}')
    return 0
