# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 nodes of fusion_ros, one per module.

Each with ``main(args=None)`` (console scripts in setup.py): fusion_node, demo_source_node,
demo_sink_node, replay_node, recorder_node, train_node.
"""
