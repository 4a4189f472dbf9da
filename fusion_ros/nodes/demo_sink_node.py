# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Demo sink: measures what the fusion node delivers (latency from capture stamp, rate, losses).

It is the demo's stand-in for a downstream consumer (a detector, a ground station link). It keeps
every arrival's capture stamp and receive time, the latest `/diagnostics` from the fusion node, and
the fused images whose stamps the demo asked for (to draw mosaics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import threading

from diagnostic_msgs.msg import DiagnosticArray
from fusion_ros.runtime import decode_image
import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image


@dataclass
class Arrival:
    """One fused frame as seen by the consumer."""

    stamp_ns: int
    receive_ns: int
    frame_id: str
    encoding: str
    width: int
    height: int

    @property
    def latency_ms(self) -> float:
        return (self.receive_ns - self.stamp_ns) / 1e6


@dataclass
class SinkRecord:
    """Everything the sink saw, guarded by the sink's lock."""

    arrivals: list[Arrival] = field(default_factory=list)
    camera_infos: int = 0
    kept_images: dict[int, np.ndarray] = field(default_factory=dict)
    diagnostics: list[dict[str, str]] = field(default_factory=list)


class DemoSinkNode(Node):
    """Subscribes to `fused/image_raw`, `fused/camera_info` and `/diagnostics`."""

    def __init__(self, **kwargs) -> None:
        super().__init__('demo_sink', **kwargs)
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        overrides = QoSOverridingOptions.with_default_policies()
        self.record = SinkRecord()
        self.lock = threading.Lock()
        self.keep_stamps: set[int] = set()
        self.create_subscription(
            Image, 'fused/image_raw', self._on_image, qos, qos_overriding_options=overrides
        )
        self.create_subscription(CameraInfo, 'fused/camera_info', self._on_info, qos)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)

    def _on_image(self, msg: Image) -> None:
        receive_ns = self.get_clock().now().nanoseconds
        stamp_ns = Time.from_msg(msg.header.stamp).nanoseconds
        arrival = Arrival(
            stamp_ns, receive_ns, msg.header.frame_id, msg.encoding, msg.width, msg.height
        )
        with self.lock:
            self.record.arrivals.append(arrival)
            if stamp_ns in self.keep_stamps:
                image = decode_image(
                    msg.encoding, msg.height, msg.width, msg.step, msg.data, msg.is_bigendian
                )
                self.record.kept_images[stamp_ns] = image.copy()

    def _on_info(self, msg: CameraInfo) -> None:
        with self.lock:
            self.record.camera_infos += 1

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if not status.name.endswith(': fusion'):  # not the per-topic tasks
                continue
            entry = {kv.key: kv.value for kv in status.values}
            entry.update(
                {
                    '_name': status.name,
                    '_level': str(
                        int.from_bytes(bytes(status.level), 'little')
                        if isinstance(status.level, bytes)
                        else status.level
                    ),
                    '_message': status.message,
                    '_hardware_id': status.hardware_id,
                }
            )
            with self.lock:
                self.record.diagnostics.append(entry)

    def snapshot(self) -> SinkRecord:
        """Return a consistent copy of what has been recorded so far."""
        with self.lock:
            return SinkRecord(
                list(self.record.arrivals),
                self.record.camera_infos,
                dict(self.record.kept_images),
                list(self.record.diagnostics),
            )

    def reset(self) -> None:
        with self.lock:
            self.record = SinkRecord()


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    node = DemoSinkNode()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        arrivals = node.snapshot().arrivals
        if arrivals:
            lat = np.array([a.latency_ms for a in arrivals])
            print(
                f'received {len(arrivals)} fused frames, latency p50 {np.percentile(lat, 50):.1f} '
                'ms, '
                f'p95 {np.percentile(lat, 95):.1f} ms'
            )
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
