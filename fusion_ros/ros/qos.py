"""QoS profiles of the fusion node's topics.

Images are RELIABLE + KEEP_LAST with a small depth. Measured between two processes with Fast DDS
(`fusion-ros bench-transport`, docs/transport.md): with the built-in transports best effort lost
almost every 640x512 frame at 30 Hz, because a ~1 MB frame travels as many UDP fragments and losing
one loses the frame; reliable delivered all of them, with or without the shared-memory profile. KEEP_LAST keeps a publisher from ever blocking on a slow reader (the oldest sample is
replaced), and the small depth bounds how stale a queued frame can get.

Every publisher and subscription is created with :func:`overrides`, so history, depth and
reliability can be changed per topic at start-up without code changes, e.g.
``--ros-args -p "qos_overrides./thermal/image_raw.subscription.reliability:=best_effort"``
(the fully qualified topic name, after namespace and remapping).
"""
from __future__ import annotations

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

#: Images in and out: small enough to stay fresh, big enough for the two cameras' jitter.
IMAGE_DEPTH = 2
#: camera_info is tiny; a deeper queue costs nothing.
CAMERA_INFO_DEPTH = 5
#: /diagnostics: the usual depth of diagnostic_updater publishers and aggregators.
DIAGNOSTICS_DEPTH = 10


def image_qos(depth: int = IMAGE_DEPTH) -> QoSProfile:
    """Reliable, volatile, keep-last ``depth``: images in and out."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


def camera_info_qos() -> QoSProfile:
    return image_qos(CAMERA_INFO_DEPTH)


def diagnostics_qos() -> QoSProfile:
    return image_qos(DIAGNOSTICS_DEPTH)


def overrides() -> QoSOverridingOptions:
    """Declare the ``qos_overrides.<topic>.<publisher|subscription>.{history,depth,reliability}``
    parameters (read-only: set them on the command line or in the params file)."""
    return QoSOverridingOptions.with_default_policies()
