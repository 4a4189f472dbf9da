# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The camera_info beside an image topic in a bag, and the thermal lens it describes.

A driver publishes ``<camera>/camera_info`` next to ``<camera>/image_raw``; offline tools that read
a bag (``register``, ``fuse-bag``) find it the same way and undistort the thermal camera exactly as
the fusion node does from its ``thermal/camera_info`` subscription.
"""

from __future__ import annotations

import posixpath
from typing import Any, Optional

from fusion_ros.bags.io import BagReader, CAMERA_INFO
from fusion_ros.runtime.lens import CameraLens


def sibling_topic(topic: str, name: str) -> str:
    """Return ``name`` in the namespace of ``topic`` (``/cam/image_raw`` -> ``/cam/<name>``)."""
    return posixpath.join(posixpath.dirname(topic.rstrip('/')) or '/', name)


def camera_info_topic(reader: BagReader, image_topic: str) -> Optional[str]:
    """Return ``<dir of image_topic>/camera_info`` if the bag has it as a CameraInfo topic."""
    base = (
        image_topic[: -len('/compressed')] if image_topic.endswith('/compressed') else image_topic
    )
    topic = sibling_topic(base, 'camera_info')
    info = reader.topics.get(topic)
    return topic if info is not None and info.msgtype == CAMERA_INFO else None


def lens_from_message(msg: Any) -> Optional[CameraLens]:
    """Build the lens of a decoded CameraInfo (None: no distortion; ValueError: unusable)."""
    return CameraLens.from_camera_info(
        int(msg.width), int(msg.height), list(msg.k), list(msg.d), str(msg.distortion_model)
    )


def first_lens(reader: BagReader, topic: str) -> Optional[CameraLens]:
    """Return the lens of the first CameraInfo on ``topic`` (a fixed rig's calibration)."""
    for m in reader.messages([topic], start_ns=reader.start_ns):
        return lens_from_message(m.decode())
    return None
