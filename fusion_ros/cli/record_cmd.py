# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros record OUT --topic T ...`: record live topics into a rosbag2.

Closed cleanly on Ctrl-C / SIGTERM.

Examples:
  fusion-ros record fused_run --topic /fused/image_raw --topic /fused/camera_info \
      --topic /diagnostics
  fusion-ros record cams --storage mcap --topic /visible/image_raw:Image \
      --topic /thermal/image_raw:Image
  fusion-ros record fused_run --topic /fused/image_raw --duration 30 --use-sim-time
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fusion_ros.nodes.recorder_node import add_arguments as node_arguments

    node_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from fusion_ros.nodes.recorder_node import config_from_args, run_config

    if not args.output:
        print('fusion-ros record: give the output bag folder')
        return 2
    if not args.topics:
        print('fusion-ros record: give at least one --topic TOPIC[:TYPE]')
        return 2
    return run_config(config_from_args(args), use_sim_time=args.use_sim_time)
