# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Images without ROS or torch.

Folders of IR/visible pairs (`folders`), the bundled demo sequence (`demo_sequence`) and pictures
for people (`visuals`: mosaics, plots).
"""
