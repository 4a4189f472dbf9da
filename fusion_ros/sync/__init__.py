# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ROS-free approximate-time pairing and the pairing policy around it.

The pairing is message_filters' ApproximateTime policy on integer stamps; the policy around it
gives defaults, restart on time jumps and counters.

Used by the fusion node (through :mod:`fusion_ros.ros.synchronizer`) and by the offline bag tools.
"""

from fusion_ros.sync.approximate_time import ApproximateTimeSynchronizer
from fusion_ros.sync.restarting import (
    DEFAULT_INTER_MESSAGE_LOWER_BOUND_S,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_SLOP_S,
    OFFLINE_INTER_MESSAGE_LOWER_BOUND_S,
    PairStats,
    RestartingSynchronizer,
    StampWatch,
    TIME_JUMP_BACK_NS,
)

__all__ = [
    'ApproximateTimeSynchronizer',
    'RestartingSynchronizer',
    'StampWatch',
    'PairStats',
    'DEFAULT_SLOP_S',
    'DEFAULT_QUEUE_SIZE',
    'DEFAULT_INTER_MESSAGE_LOWER_BOUND_S',
    'OFFLINE_INTER_MESSAGE_LOWER_BOUND_S',
    'TIME_JUMP_BACK_NS',
]
