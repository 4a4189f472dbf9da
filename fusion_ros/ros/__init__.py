# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Small ROS 2 helpers shared by the nodes.

Message <-> numpy (:mod:`.image_msgs`), QoS profiles (:mod:`.qos`), the visible/thermal
synchronizer (:mod:`.synchronizer`), rolling latency diagnostics (:mod:`.diagnostics`) and the
fusion node's parameter table (:mod:`.parameters`).

Submodules import rclpy and message packages; import them explicitly (nothing is imported here,
so ``import fusion_ros.ros.parameters`` stays cheap).
"""
