# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""QoS profiles of the fusion node's topics.

Images are RELIABLE + KEEP_LAST with a small depth. Measured between two processes with Fast DDS
(`fusion-ros bench-transport`, docs/transport.md): with the built-in transports best effort lost
almost every 640x512 frame at 30 Hz, because a ~1 MB frame travels as many UDP fragments and losing
one loses the frame; reliable delivered all of them, with or without the shared-memory profile.
KEEP_LAST keeps a publisher from ever blocking on a slow reader (the oldest sample is replaced),
and the small depth bounds how stale a queued frame can get.

Every publisher and subscription is created with :func:`overrides`, so history, depth and
reliability can be changed per topic at start-up without code changes, e.g.
``--ros-args -p "qos_overrides./thermal/image_raw.subscription.reliability:=best_effort"``
(the fully qualified topic name, after namespace and remapping).

The Fast DDS profile choice (the shipped config/fastdds.xml, a 32 MiB shared-memory segment for
~1 MB frames, unless the environment names another) is :func:`use_fastdds_profile`, used by every
process this package starts; launch/fuse.launch.py makes the same choice in launch terms.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping, Optional

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
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def camera_info_qos() -> QoSProfile:
    return image_qos(CAMERA_INFO_DEPTH)


def diagnostics_qos() -> QoSProfile:
    return image_qos(DIAGNOSTICS_DEPTH)


def overrides() -> QoSOverridingOptions:
    """Declare the ``qos_overrides`` parameters of a topic.

    They are ``qos_overrides.<topic>.<publisher|subscription>.{history,depth,reliability}``,
    read-only: set them on the command line or in the params file.
    """
    return QoSOverridingOptions.with_default_policies()


FASTDDS_PROFILE_VARIABLE = 'FASTDDS_DEFAULT_PROFILES_FILE'


def use_fastdds_profile(
    env: Optional[MutableMapping[str, str]] = None, *, replace: bool = False
) -> Optional[Path]:
    """Point ``env`` at the shipped Fast DDS profile unless it already names one (or ``replace``).

    ``env`` defaults to ``os.environ`` (set it before rclpy.init()). Returns the profile in effect,
    None when none is (the shipped file is missing).
    """
    env = os.environ if env is None else env
    if env.get(FASTDDS_PROFILE_VARIABLE) and not replace:
        return Path(env[FASTDDS_PROFILE_VARIABLE])
    from fusion_ros.paths import fastdds_profile

    profile = fastdds_profile()
    if profile is not None:
        env[FASTDDS_PROFILE_VARIABLE] = str(profile)
    return profile


def qos_profile(reliability: str, depth: int) -> QoSProfile:
    """KEEP_LAST/VOLATILE with ``reliability`` "reliable" or "best_effort".

    The replay and record nodes' --qos choice.
    """
    rel = {'reliable': ReliabilityPolicy.RELIABLE, 'best_effort': ReliabilityPolicy.BEST_EFFORT}[
        reliability.replace('-', '_')
    ]
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=int(depth),
        reliability=rel,
        durability=DurabilityPolicy.VOLATILE,
    )
