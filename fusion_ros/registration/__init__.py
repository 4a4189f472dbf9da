# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Thermal -> visible registration of a fixed camera rig (numpy + OpenCV only: no torch, no ROS).

`register_pairs` (target-free, from scene pairs) and `register_target` (from a heated/cooled
calibration board) estimate the homography the fusion node's `homography` parameter takes (raw
thermal pixel -> visible pixel, row-major); `write_params` writes it as a ROS 2 params file,
`check_picture` draws the before/after edge overlay; `alignment_score` scores a warped pair.
"""

from fusion_ros.registration.geometry import corner_error, RegistrationError
from fusion_ros.registration.targetfree import PairEstimate, register_pairs, Registration

__all__ = ['RegistrationError', 'Registration', 'PairEstimate', 'register_pairs', 'corner_error']
