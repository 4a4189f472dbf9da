# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Latency-constrained fusion architecture search (HAF-NAS at our scale): `fusion-ros search`."""
