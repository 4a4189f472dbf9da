# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros replay BAG`: publish a rosbag2's camera topics with the recorded timing and /clock.

Examples:
  fusion-ros replay run1                       # Image/CompressedImage/CameraInfo topics, 1x speed
  fusion-ros replay run1 --rate 0.5 --loop     # half speed, forever
  fusion-ros replay run1 --start-offset 10 --remap /visible/image_raw:=/cam0/image_raw
  fusion-ros replay run1 --wait-for-subscribers 30   # start once the fusion node is listening
Run the fusion node with ``-p use_sim_time:=true`` to give it the recording's time.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusion_ros.nodes.replay_node import add_arguments as node_arguments

    node_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from fusion_ros.nodes.replay_node import config_from_args, run_config

    if not args.bag:
        print('fusion-ros replay: give the bag to replay', flush=True)
        return 2
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f'fusion-ros replay: {exc}')
        return 2
    return run_config(config)
