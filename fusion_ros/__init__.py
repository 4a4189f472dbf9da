# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""fusion_ros: real-time visible + thermal image fusion for ROS 2."""

__version__ = '0.1.0'
