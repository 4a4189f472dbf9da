# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""A sample rosbag2 from the bundled demo sequence (what a two-camera rig would record).

Topics (the layout of ``ros2 bag record`` on a visible + thermal rig):

* ``/visible/image_raw`` sensor_msgs/Image bgr8, frame_id ``camera_visible_optical_frame``
* ``/visible/camera_info`` sensor_msgs/CameraInfo (same stamp as the visible frame)
* ``/thermal/image_raw`` sensor_msgs/Image mono16 (radiometric counts) or mono8,
  frame_id ``camera_thermal_optical_frame``
* with ``compressed=True``: ``/visible/image_raw/compressed`` (JPEG) and
  ``/thermal/image_raw/compressed`` (PNG, 16-bit kept) instead of the raw image topics
  (``with_raw=True`` keeps both), as image_transport's ``compressed`` plugin names them.

Header stamps are each camera's capture time (thermal ``thermal_offset_ms`` after visible, as two
free-running cameras would be); log times are the capture times plus a small fixed transport delay,
like receive times in a real recording. Everything is deterministic: the same arguments give the
same bag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path
from typing import Dict, List

from fusion_ros.bags.io import (
    BagWriter,
    CAMERA_INFO,
    camera_info,
    COMPRESSED_IMAGE,
    IMAGE,
    numpy_to_compressed,
    numpy_to_image,
    serialize,
)

VISIBLE_TOPIC = '/visible/image_raw'
VISIBLE_INFO_TOPIC = '/visible/camera_info'
THERMAL_TOPIC = '/thermal/image_raw'
#: 2025-01-01T00:00:00Z: a fixed, realistic epoch so sample bags are reproducible.
DEFAULT_START_NS = 1_735_689_600 * 1_000_000_000
#: Receive delay after capture (log time - stamp) of each camera's messages.
VISIBLE_DELAY_NS = 8_000_000
THERMAL_DELAY_NS = 6_000_000


@dataclass
class SampleBag:
    path: Path
    storage: str
    frames: int
    topics: Dict[str, int] = field(default_factory=dict)  # topic -> message count
    visible_stamps: List[int] = field(default_factory=list)
    thermal_stamps: List[int] = field(default_factory=list)


def make_sample_bag(
    out: str | os.PathLike,
    *,
    storage: str = 'sqlite3',
    compressed: bool = False,
    with_raw: bool = False,
    seconds: float = 4.0,
    fps: float = 30.0,
    width: int = 640,
    height: int = 512,
    thermal_encoding: str = 'mono16',
    thermal_offset_ms: float = 4.0,
    start_ns: int = DEFAULT_START_NS,
    jpeg_quality: int = 90,
    overwrite: bool = False,
    progress: bool = False,
) -> SampleBag:
    """Write ``seconds`` of the demo stream to a new bag at ``out`` (see the module docstring)."""
    from fusion_ros.images.demo_sequence import DemoSequence, THERMAL_FRAME_ID, VISIBLE_FRAME_ID

    if seconds <= 0 or fps <= 0:
        raise ValueError('seconds and fps must be > 0')
    seq = DemoSequence(
        width=width,
        height=height,
        fps=fps,
        thermal_offset_ms=thermal_offset_ms,
        thermal_encoding=thermal_encoding,
    )
    n = max(1, int(round(seconds * fps)))
    raw = (not compressed) or with_raw
    result = SampleBag(Path(out), storage, n)
    frames = range(n)
    if progress:
        from tqdm import tqdm

        frames = tqdm(frames, desc='sample bag', unit='frame', leave=False)
    with BagWriter(out, storage=storage, overwrite=overwrite) as bag:
        if raw:
            bag.add_topic(VISIBLE_TOPIC, IMAGE)
        bag.add_topic(VISIBLE_INFO_TOPIC, CAMERA_INFO)
        if raw:
            bag.add_topic(THERMAL_TOPIC, IMAGE)
        if compressed:
            bag.add_topic(VISIBLE_TOPIC + '/compressed', COMPRESSED_IMAGE)
            bag.add_topic(THERMAL_TOPIC + '/compressed', COMPRESSED_IMAGE)
        for i in frames:
            frame = seq.frame(i)
            vis_stamp = start_ns + int(round(frame.visible_time * 1e9))
            th_stamp = start_ns + int(round(frame.thermal_time * 1e9))
            vis_log, th_log = vis_stamp + VISIBLE_DELAY_NS, th_stamp + THERMAL_DELAY_NS
            result.visible_stamps.append(vis_stamp)
            result.thermal_stamps.append(th_stamp)
            bag.write_raw(
                VISIBLE_INFO_TOPIC,
                vis_log,
                serialize(camera_info(width, height, vis_stamp, VISIBLE_FRAME_ID)),
            )
            if raw:
                bag.write_raw(
                    VISIBLE_TOPIC,
                    vis_log,
                    serialize(numpy_to_image(frame.visible, 'bgr8', vis_stamp, VISIBLE_FRAME_ID)),
                )
                bag.write_raw(
                    THERMAL_TOPIC,
                    th_log,
                    serialize(
                        numpy_to_image(frame.thermal, thermal_encoding, th_stamp, THERMAL_FRAME_ID)
                    ),
                )
            if compressed:
                bag.write_raw(
                    VISIBLE_TOPIC + '/compressed',
                    vis_log,
                    serialize(
                        numpy_to_compressed(
                            frame.visible, vis_stamp, VISIBLE_FRAME_ID, 'jpeg', jpeg_quality
                        )
                    ),
                )
                bag.write_raw(
                    THERMAL_TOPIC + '/compressed',
                    th_log,
                    serialize(
                        numpy_to_compressed(frame.thermal, th_stamp, THERMAL_FRAME_ID, 'png')
                    ),
                )
        result.topics = dict(bag.counts)
    return result
