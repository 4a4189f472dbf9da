# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the tests that run the real fusion node as a separate process.

* :func:`make_onnx_model` writes a tiny model that follows the ONNX convention of
  docs/ARCHITECTURE.md (input ``input`` [N,2,H,W] -> output ``fused`` [N,1,H,W]) with a model card
  beside it, so the node tests do not depend on the shipped weights.
* :class:`NodeProcess` starts ``python -m fusion_ros.nodes.fusion_node`` with the test's ROS
  domain and the shipped Fast DDS profile, keeps its output in a log file and always stops it.
* :class:`Harness` is the test's side of the graph: camera publishers, subscribers for the node's
  outputs, and the node's set_parameters service, spun on a background executor.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FASTDDS_PROFILE = ROOT / 'config' / 'fastdds.xml'
VISIBLE_FRAME_ID = 'camera_visible_optical_frame'


# ----------------------------------------------------------------------------- models
def make_onnx_model(path: Path, ir_weight: float = 0.5, *, name: Optional[str] = None) -> Path:
    """Return a 1x1-conv 'fusion' model.

    fused = clip(ir_weight * ir + (1 - ir_weight) * vis, 0, 1).
    """
    import onnx
    from onnx import helper, numpy_helper, TensorProto

    path = Path(path)
    weights = np.array([ir_weight, 1.0 - ir_weight], np.float32).reshape(1, 2, 1, 1)
    graph = helper.make_graph(
        [
            helper.make_node('Conv', ['input', 'w'], ['conv'], kernel_shape=[1, 1]),
            helper.make_node('Clip', ['conv', 'lo', 'hi'], ['fused']),
        ],
        'test_fusion',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 2, 'H', 'W'])],
        [helper.make_tensor_value_info('fused', TensorProto.FLOAT, ['N', 1, 'H', 'W'])],
        [
            numpy_helper.from_array(weights, 'w'),
            numpy_helper.from_array(np.array(0.0, np.float32), 'lo'),
            numpy_helper.from_array(np.array(1.0, np.float32), 'hi'),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    write_card(path, name or path.stem)
    return path


def write_card(onnx_path: Path, name: str) -> Path:
    """Return a model card beside the model, in the shape of the shipped ones.

    Like fusion_ros/weights/*.json.
    """
    import hashlib

    onnx_path = Path(onnx_path)
    card = {
        'name': name,
        'architecture': 'test model (1x1 convolution blend)',
        'version': 'test',
        'onnx': onnx_path.name,
        'input': {
            'name': 'input',
            'shape': ['N', 2, 'H', 'W'],
            'dtype': 'float32',
            'channels': ['ir', 'vis_y'],
            'range': [0.0, 1.0],
        },
        'output': {
            'name': 'fused',
            'shape': ['N', 1, 'H', 'W'],
            'dtype': 'float32',
            'range': [0.0, 1.0],
        },
        'size_multiple': 1,
        'parameters': 2,
        'training': {'recipe': 'none (written by the tests)'},
        'metrics': {},
        'onnx_sha256': hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
    }
    card_path = onnx_path.with_suffix('.json')
    card_path.write_text(json.dumps(card, indent=2))
    return card_path


# ----------------------------------------------------------------------------- the node process
def ros_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(FASTDDS_PROFILE))
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    env['RCUTILS_COLORIZED_OUTPUT'] = '0'
    env.update(extra)
    return env


class NodeProcess:
    """``python -m fusion_ros.nodes.fusion_node --ros-args -p k:=v ...``; always stopped."""

    def __init__(
        self,
        log_path: Path,
        params: Dict[str, object],
        extra_args: Sequence[str] = (),
        namespace: str = '',
        node_args: Sequence[str] = (),
    ) -> None:
        """``extra_args`` follow ``--ros-args``.

        ``node_args`` (e.g. ``--lifecycle``) precede it.
        """
        self.log_path = Path(log_path)
        self.namespace = namespace
        args = [sys.executable, '-m', 'fusion_ros.nodes.fusion_node', *node_args, '--ros-args']
        if namespace:  # keeps nodes of different tests apart on the same domain
            args += ['-r', f'__ns:=/{namespace.strip("/")}']
        for key, value in params.items():
            if isinstance(value, bool):
                value = 'true' if value else 'false'
            elif isinstance(value, (list, tuple)):
                value = '[' + ','.join(repr(float(v)) for v in value) + ']'
            args += ['-p', f'{key}:={value}']
        args += list(extra_args)
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(
            args, env=ros_env(), stdout=self._log, stderr=subprocess.STDOUT, cwd=str(ROOT)
        )
        self.returncode: Optional[int] = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def interrupt(self, timeout: float = 15.0) -> int:
        """SIGINT (Ctrl-C) and wait; SIGKILL only if it hangs (then the test fails on the code)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        if not self._log.closed:
            self._log.flush()
        return self.returncode

    def close(self) -> None:
        try:
            self.interrupt(timeout=10.0)
        finally:
            if not self._log.closed:
                self._log.close()


# ----------------------------------------------------------------------------- images
def pattern_pair(height: int, width: int, seed: int = 0) -> tuple:
    """Return a visible BGR frame and a thermal mono16 frame with some structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    vis = np.stack(
        [
            (xx * 255 // max(width - 1, 1)),
            (yy * 255 // max(height - 1, 1)),
            rng.integers(0, 256, (height, width)),
        ],
        axis=2,
    ).astype(np.uint8)
    thermal = (20000 + 3000 * np.sin(xx / 9.0) * np.cos(yy / 7.0)).astype(np.uint16)
    return vis, thermal


def image_msg(
    array: np.ndarray,
    encoding: str,
    stamp_ns: int,
    frame_id: str,
    *,
    step: Optional[int] = None,
    data: Optional[bytes] = None,
):
    from sensor_msgs.msg import Image

    msg = Image()
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding = encoding
    raw = np.ascontiguousarray(array)
    msg.step = int(raw.strides[0]) if step is None else step
    msg.data = raw.tobytes() if data is None else data
    return msg


def camera_info_msg(width: int, height: int, stamp_ns: int, frame_id: str = VISIBLE_FRAME_ID):
    from sensor_msgs.msg import CameraInfo

    info = CameraInfo()
    info.header.stamp.sec, info.header.stamp.nanosec = divmod(int(stamp_ns), 1_000_000_000)
    info.header.frame_id = frame_id
    info.width, info.height = width, height
    info.distortion_model = 'plumb_bob'
    info.d = [0.0] * 5
    info.k = [500.0, 0.0, width / 2, 0.0, 500.0, height / 2, 0.0, 0.0, 1.0]
    return info


# ----------------------------------------------------------------------------- the test's graph
def diag_entry(status) -> dict:
    from fusion_ros.ros.diagnostics import level_value

    entry = {kv.key: kv.value for kv in status.values}
    entry.update(
        _name=status.name,
        _level=level_value(status.level),
        _message=status.message,
        _hardware_id=status.hardware_id,
    )
    return entry


class Harness:
    """The cameras and the consumer, in the test process, on their own rclpy context."""

    def __init__(
        self,
        namespace: str = '',
        compressed: bool = False,
        sim_time_offset_ns: Optional[int] = None,
        visible_qos=None,
        thermal_qos=None,
    ) -> None:
        """Topics relative to ``namespace``; keeps only the diagnostics of the fusion node in it.

        With ``sim_time_offset_ns``, publishes /clock (wall time minus the offset) at 100 Hz and
        stamps frames with that simulated time. ``visible_qos``/``thermal_qos``: the cameras' QoS
        profiles (default reliable, depth 5; e.g. rclpy's qos_profile_sensor_data as most camera
        drivers use).
        """
        from diagnostic_msgs.msg import DiagnosticArray
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        self.namespace = namespace.strip('/')
        self.status_name = (f'{self.namespace}/' if self.namespace else '') + 'fusion_node: fusion'
        self.node_name = (f'/{self.namespace}' if self.namespace else '') + '/fusion_node'
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(
            'fusion_test_harness', namespace=namespace, context=self.context
        )
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        img_type = CompressedImage if compressed else Image
        suffix = '/compressed' if compressed else ''
        self.visible_pub = self.node.create_publisher(
            img_type, 'visible/image_raw' + suffix, visible_qos or qos
        )
        self.thermal_pub = self.node.create_publisher(
            img_type, 'thermal/image_raw' + suffix, thermal_qos or qos
        )
        self.info_pub = self.node.create_publisher(CameraInfo, 'visible/camera_info', qos)
        self.lock = threading.Lock()
        self.fused: List = []
        self.fused_infos: List = []
        self.diagnostics: List[dict] = []
        self.topic_tasks: dict = {}  # the node's latest '<topic> topic status' entries by name
        self.node.create_subscription(Image, 'fused/image_raw', self._on_fused, qos)
        self.node.create_subscription(CameraInfo, 'fused/camera_info', self._on_info, qos)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diag, 10)
        self.sim_time_offset_ns = sim_time_offset_ns
        if sim_time_offset_ns is not None:
            from rosgraph_msgs.msg import Clock

            clock_pub = self.node.create_publisher(Clock, '/clock', 1)

            def tick():
                msg = Clock()
                msg.clock.sec, msg.clock.nanosec = divmod(self.now_ns(), 1_000_000_000)
                clock_pub.publish(msg)

            self.node.create_timer(0.01, tick)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:
            pass

    def _on_fused(self, msg) -> None:
        with self.lock:
            self.fused.append((time.time_ns(), msg))

    def _on_info(self, msg) -> None:
        with self.lock:
            self.fused_infos.append(msg)

    def _on_diag(self, msg) -> None:
        with self.lock:
            for status in msg.status:
                if status.name == self.status_name:
                    self.diagnostics.append(diag_entry(status))
                elif status.name.endswith(' topic status'):
                    self.topic_tasks[status.name] = diag_entry(status)

    # -- waiting ---------------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        what: str,
        node: Optional[NodeProcess] = None,
        poll: float = 0.05,
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate():
                    return
            if node is not None and not node.alive():
                raise AssertionError(
                    f'fusion node exited ({node.proc.returncode}) while waiting for '
                    f'{what}:\n{node.log()[-4000:]}'
                )
            time.sleep(poll)
        log = node.log()[-4000:] if node is not None else ''
        raise AssertionError(f'timed out after {timeout} s waiting for {what}\n{log}')

    def wait_connected(self, node: NodeProcess, timeout: float = 30.0) -> None:
        """Wait until the node subscribes to both cameras and publishes images and diagnostics."""

        def ready():
            return (
                self.visible_pub.get_subscription_count() > 0
                and self.thermal_pub.get_subscription_count() > 0
                and self.node.count_publishers('fused/image_raw') > 0
            )

        self.wait_for(ready, timeout, "the fusion node's topics", node)

    def prime(
        self,
        node: NodeProcess,
        visible: np.ndarray,
        thermal: np.ndarray,
        timeout: float = 30.0,
        **kw,
    ) -> None:
        """Publish pairs until the first fused image comes back: discovery is complete both ways.

        A reliable writer drops what it publishes before it has matched a reader.
        """
        deadline = time.monotonic() + timeout
        start = self.fused_count()
        while time.monotonic() < deadline:
            self.publish_pair(visible, thermal, self.now_ns(), **kw)
            time.sleep(0.1)
            if self.fused_count() > start:
                time.sleep(0.2)
                return
            if not node.alive():
                break
        raise AssertionError(f'no fused image within {timeout} s\n{node.log()[-4000:]}')

    def latest_diag(self, predicate: Callable[[dict], bool] = lambda d: True) -> Optional[dict]:
        with self.lock:
            for entry in reversed(self.diagnostics):
                if predicate(entry):
                    return entry
        return None

    def wait_diag(
        self,
        predicate: Callable[[dict], bool],
        timeout: float,
        what: str,
        node: Optional[NodeProcess] = None,
    ) -> dict:
        start = len(self.diagnostics)
        self.wait_for(
            lambda: any(predicate(d) for d in self.diagnostics[start:]), timeout, what, node
        )
        with self.lock:
            return next(d for d in reversed(self.diagnostics[start:]) if predicate(d))

    # -- publishing ------------------------------------------------------------------------
    def publish_pair(
        self,
        visible: np.ndarray,
        thermal: np.ndarray,
        stamp_ns: int,
        *,
        visible_encoding: str = 'bgr8',
        thermal_encoding: str = 'mono16',
        thermal_offset_ns: int = 3_000_000,
        camera_info: bool = True,
        visible_msg=None,
        thermal_msg=None,
    ) -> int:
        """Publish one synchronised pair (thermal stamped a few ms after the visible frame)."""
        vmsg = visible_msg or image_msg(visible, visible_encoding, stamp_ns, VISIBLE_FRAME_ID)
        tmsg = thermal_msg or image_msg(
            thermal, thermal_encoding, stamp_ns + thermal_offset_ns, 'camera_thermal_optical_frame'
        )
        if camera_info:
            self.info_pub.publish(camera_info_msg(visible.shape[1], visible.shape[0], stamp_ns))
        self.visible_pub.publish(vmsg)
        self.thermal_pub.publish(tmsg)
        return stamp_ns

    def now_ns(self) -> int:
        if self.sim_time_offset_ns is not None:
            return time.time_ns() - self.sim_time_offset_ns
        return self.node.get_clock().now().nanoseconds

    def fused_count(self) -> int:
        with self.lock:
            return len(self.fused)

    def fused_stamps(self) -> List[int]:
        with self.lock:
            return [
                m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec for _, m in self.fused
            ]

    # -- parameters ------------------------------------------------------------------------
    def set_parameters(
        self, node_name: Optional[str] = None, timeout: float = 30.0, **values
    ) -> List:
        """Call <node>/set_parameters like `ros2 param set`; returns the SetParametersResults."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self.node.create_client(
            SetParameters, f'{node_name or self.node_name}/set_parameters'
        )
        try:
            assert client.wait_for_service(timeout_sec=timeout), 'set_parameters not available'
            request = SetParameters.Request()
            request.parameters = [
                Parameter(k, value=v).to_parameter_msg() for k, v in values.items()
            ]
            future = client.call_async(request)
            deadline = time.monotonic() + timeout
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert future.done(), 'set_parameters timed out'
            return list(future.result().results)
        finally:
            self.node.destroy_client(client)

    def get_parameters(
        self, *names: str, node_name: Optional[str] = None, timeout: float = 10.0
    ) -> List:
        """Call <node>/get_parameters; returns the values (rclpy Parameter values)."""
        from rcl_interfaces.srv import GetParameters
        from rclpy.parameter import parameter_value_to_python

        client = self.node.create_client(
            GetParameters, f'{node_name or self.node_name}/get_parameters'
        )
        try:
            assert client.wait_for_service(timeout_sec=timeout), 'get_parameters not available'
            future = client.call_async(GetParameters.Request(names=list(names)))
            deadline = time.monotonic() + timeout
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert future.done(), 'get_parameters timed out'
            return [parameter_value_to_python(v) for v in future.result().values]
        finally:
            self.node.destroy_client(client)

    def close(self) -> None:
        import rclpy

        try:
            self.executor.shutdown(timeout_sec=2.0)
        except Exception:
            pass
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=2.0)


def stream_pairs(
    h: Harness, visible: np.ndarray, thermal: np.ndarray, n: int, period_s: float = 1 / 30, **kw
) -> List[int]:
    """Publish n pairs at the given period; returns their visible stamps."""
    stamps = []
    for _ in range(n):
        stamps.append(h.publish_pair(visible, thermal, h.now_ns(), **kw))
        time.sleep(period_s)
    return stamps
