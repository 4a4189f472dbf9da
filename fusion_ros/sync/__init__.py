"""ROS-free approximate-time pairing (message_filters' ApproximateTime policy on integer stamps).

Used by the fusion node (through :mod:`fusion_ros.ros.synchronizer`) and by the offline bag tools.
"""
from fusion_ros.sync.approximate_time import ApproximateTimeSynchronizer

__all__ = ["ApproximateTimeSynchronizer"]
