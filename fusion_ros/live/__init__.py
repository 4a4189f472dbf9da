# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The live harness of `fusion-ros demo`, `bench` and `bench-transport`.

A fusion node process with the demo source and sink on a private ROS domain, and the numbers taken
from it.
"""
