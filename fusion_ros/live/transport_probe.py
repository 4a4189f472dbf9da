# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""One side of the image-transport measurement (`fusion-ros bench-transport`).

Run as its own process.

    python -m fusion_ros.live.transport_probe pub --qos reliable --rate 30 --seconds 5 \
        --out pub.json
    python -m fusion_ros.live.transport_probe sub --qos reliable --seconds 5 --out sub.json

Why separate processes: inside one process Fast DDS hands messages over without a transport, so
only two processes show what the fusion node meets between a camera driver and itself (fragmented
UDP for ~1 MB frames unless a big shared-memory segment is configured). The transport profile is
whatever FASTDDS_DEFAULT_PROFILES_FILE says in the environment the caller gives each process.

The publisher waits until the subscriber is matched, then sends `rate * seconds` 640x512 bgr8
frames stamped with the wall clock; the subscriber records receive time minus stamp (same machine,
same clock) for every frame it gets. Each side writes a JSON summary to --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import time

import numpy as np

TOPIC = '/fusion_ros_transport_probe/image'
QOS_CHOICES = ('reliable', 'best_effort')


def probe_qos(name: str):
    """`reliable`: the fusion node's image QoS; `best_effort`: ROS's sensor-data profile."""
    from fusion_ros.ros.qos import image_qos
    from rclpy.qos import qos_profile_sensor_data

    return image_qos() if name == 'reliable' else qos_profile_sensor_data


def publish(
    qos: str, rate: float, seconds: float, width: int, height: int, match_timeout: float
) -> dict:
    from fusion_ros.ros.image_msgs import ns_to_stamp, numpy_to_image
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    rclpy.init()
    node = Node('transport_probe_pub')
    try:
        pub = node.create_publisher(Image, TOPIC, probe_qos(qos))
        deadline = time.monotonic() + match_timeout
        while pub.get_subscription_count() < 1:
            if time.monotonic() > deadline:
                return {'sent': 0, 'error': f'no subscriber matched within {match_timeout:.0f} s'}
            rclpy.spin_once(node, timeout_sec=0.05)
        time.sleep(0.5)  # let the reader's side of the match settle as well
        frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        msg = numpy_to_image(frame, 'bgr8')
        frames = int(round(rate * seconds))
        start = time.monotonic()
        for i in range(frames):
            wait = start + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            msg.header.stamp = ns_to_stamp(time.time_ns())
            msg.header.frame_id = str(i)
            pub.publish(msg)
        time.sleep(1.0)  # reliable: give the last frames time to be acknowledged
        return {'sent': frames, 'frame_bytes': int(frame.nbytes)}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def subscribe(qos: str, seconds: float, wait_first: float) -> dict:
    from fusion_ros.ros.image_msgs import stamp_to_ns
    import rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    latencies: list[float] = []
    frames: set[str] = set()

    def on_image(msg: Image) -> None:
        latencies.append((time.time_ns() - stamp_to_ns(msg.header.stamp)) / 1e6)
        frames.add(msg.header.frame_id)

    rclpy.init()
    node = Node('transport_probe_sub')
    try:
        node.create_subscription(Image, TOPIC, on_image, probe_qos(qos))
        deadline = time.monotonic() + wait_first
        while not latencies and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        end = time.monotonic() + seconds + 2.0
        while latencies and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.05)
        return {'received': len(latencies), 'unique': len(frames), 'latencies_ms': latencies}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m fusion_ros.live.transport_probe', description=__doc__.splitlines()[0]
    )
    parser.add_argument('role', choices=['pub', 'sub'])
    parser.add_argument('--qos', choices=QOS_CHOICES, default='reliable')
    parser.add_argument('--rate', type=float, default=30.0)
    parser.add_argument('--seconds', type=float, default=5.0)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument(
        '--timeout', type=float, default=20.0, help='seconds to wait for the other side'
    )
    parser.add_argument('--out', type=Path, required=True)
    args = parser.parse_args(argv)
    if args.role == 'pub':
        result = publish(args.qos, args.rate, args.seconds, args.width, args.height, args.timeout)
    else:
        result = subscribe(args.qos, args.seconds, args.timeout)
    args.out.write_text(json.dumps(result))
    return 0 if 'error' not in result else 1


if __name__ == '__main__':
    sys.exit(main())
