# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Test isolation: each pytest run gets its own ROS domain and localhost-only discovery.

Set before rclpy is imported anywhere, so parallel runs on one machine never see each other.
The test process's own participants (the cameras and consumers of the harness) use the shipped
Fast DDS profile, as the node processes do (ros_helpers.ros_env): Fast DDS reads it once, at the
first participant, and a ~1 MB best-effort frame sent without it travels as UDP fragments.
"""

import os
from pathlib import Path
import random

os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(1, 101)))
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('RCUTILS_COLORIZED_OUTPUT', '0')
os.environ.setdefault(
    'FASTDDS_DEFAULT_PROFILES_FILE',
    str(Path(__file__).resolve().parents[1] / 'config' / 'fastdds.xml'),
)
