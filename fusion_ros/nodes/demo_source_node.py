# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Demo camera pair: publishes the bundled TNO sequence as a 30 Hz visible + thermal stream.

Each tick models two free-running cameras: the visible frame is captured at t, the thermal frame
`thermal_offset_ms` later, and both are published once the later one exists, stamped with their
own capture times, so the fusion node's synchroniser and end-to-end latency see realistic input.
"""

from __future__ import annotations

import threading
from typing import Callable

from fusion_ros.images.demo_sequence import (
    DemoFrame,
    DemoSequence,
    THERMAL_FRAME_ID,
    VISIBLE_FRAME_ID,
)
from fusion_ros.runtime import encode_image
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image


def make_image_msg(array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str) -> Image:
    """Fill a sensor_msgs/Image from a numpy array (one copy, into the message buffer)."""
    msg = Image()
    msg.header.stamp = Time(nanoseconds=stamp_ns).to_msg()
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding, msg.step, msg.data = encode_image(array, encoding)
    return msg


def pinhole_camera_info(width: int, height: int, hfov_deg: float = 50.0) -> CameraInfo:
    """Return a plausible calibrated pinhole model so rviz and consumers get a real camera_info."""
    fx = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    info = CameraInfo()
    info.width, info.height = width, height
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [fx, 0.0, width / 2.0, 0.0, fx, height / 2.0, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [fx, 0.0, width / 2.0, 0.0, 0.0, fx, height / 2.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


class DemoSourceNode(Node):
    """Publishes `visible/image_raw`, `visible/camera_info` and `thermal/image_raw`."""

    def __init__(self, **kwargs) -> None:
        super().__init__('demo_source', **kwargs)
        self.declare_parameter(
            'fps',
            30.0,
            ParameterDescriptor(
                description='frame rate of both cameras (Hz)',
                floating_point_range=[
                    FloatingPointRange(from_value=1.0, to_value=120.0, step=0.0)
                ],
            ),
        )
        self.declare_parameter(
            'thermal_offset_ms',
            4.0,
            ParameterDescriptor(
                description='thermal capture delay after the visible capture (ms)',
                floating_point_range=[
                    FloatingPointRange(from_value=0.0, to_value=100.0, step=0.0)
                ],
            ),
        )
        self.declare_parameter(
            'thermal_encoding',
            'mono16',
            ParameterDescriptor(
                description='mono16 (radiometric counts) or mono8', read_only=True
            ),
        )
        self.declare_parameter(
            'seconds_per_scene',
            2.0,
            ParameterDescriptor(
                description='how long the camera pans over each bundled scene (s)', read_only=True
            ),
        )
        self.declare_parameter(
            'max_frames',
            0,
            ParameterDescriptor(
                description='stop after this many frames (0 = loop forever)',
                integer_range=[IntegerRange(from_value=0, to_value=10_000_000, step=1)],
            ),
        )
        self.sequence = DemoSequence(
            fps=self.get_parameter('fps').value,
            thermal_offset_ms=self.get_parameter('thermal_offset_ms').value,
            thermal_encoding=self.get_parameter('thermal_encoding').value,
            seconds_per_scene=self.get_parameter('seconds_per_scene').value,
        )
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        overrides = QoSOverridingOptions.with_default_policies()
        self.visible_pub = self.create_publisher(
            Image, 'visible/image_raw', qos, qos_overriding_options=overrides
        )
        self.info_pub = self.create_publisher(
            CameraInfo, 'visible/camera_info', qos, qos_overriding_options=overrides
        )
        self.thermal_pub = self.create_publisher(
            Image, 'thermal/image_raw', qos, qos_overriding_options=overrides
        )
        self.camera_info = pinhole_camera_info(self.sequence.width, self.sequence.height)
        self.camera_info.header.frame_id = VISIBLE_FRAME_ID
        self.published = 0
        self.on_frame: Callable[[DemoFrame, int], None] | None = None  # hook for the demo's sink
        self.finished = threading.Event()
        self._paused = threading.Event()
        self._timer = self.create_timer(1.0 / self.sequence.fps, self._tick)

    def pause(self, paused: bool) -> None:
        """Hold the stream (the demo pauses it while switching models)."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    def _tick(self) -> None:
        limit = self.get_parameter('max_frames').value
        if self._paused.is_set() or (limit and self.published >= limit):
            if limit and self.published >= limit:
                self.finished.set()
            return
        frame = self.sequence.frame(self.published)
        now_ns = self.get_clock().now().nanoseconds
        offset_ns = int((frame.thermal_time - frame.visible_time) * 1e9)
        visible_stamp = now_ns - offset_ns
        if self.on_frame is not None:
            self.on_frame(frame, visible_stamp)
        encoding = self.sequence.thermal_encoding
        self.visible_pub.publish(
            make_image_msg(frame.visible, 'bgr8', visible_stamp, VISIBLE_FRAME_ID)
        )
        self.camera_info.header.stamp = Time(nanoseconds=visible_stamp).to_msg()
        self.info_pub.publish(self.camera_info)
        self.thermal_pub.publish(make_image_msg(frame.thermal, encoding, now_ns, THERMAL_FRAME_ID))
        self.published += 1


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = DemoSourceNode()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
