# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The ROS 2 train node on a real graph.

A separate process trains a tiny MMDRFuse, this test subscribes to its loss and sample topics, and
the node exits by itself once it has exported.
"""

from __future__ import annotations

import json
from pathlib import Path
import signal
import subprocess
import sys
import threading
import time

from fusion_ros.training.config import CONFIG_DIR, read_config_file
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(90)


def node_env():
    import os

    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    env['RCUTILS_COLORIZED_OUTPUT'] = '0'
    return env


def tiny_config(tmp_path: Path, **changes) -> Path:
    """Return the tiny MMDRFuse config, made smaller still (the node is what is under test)."""
    data = read_config_file(CONFIG_DIR / 'mmdrfuse_tiny.yaml')
    data.update({'name': 'node_test', 'limit_pairs': 3, 'val_fraction': 0.34, 'max_minutes': 1.0})
    data['extra'] = {**data.get('extra', {}), 'teacher_epochs': 1, 'student_epochs': 2}
    data.update(changes)
    path = tmp_path / 'node_test.json'
    path.write_text(json.dumps(data))
    return path


class Listener:
    """The test's side of the graph: subscribers on their own rclpy context."""

    def __init__(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from std_msgs.msg import Float32

        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('train_node_listener', context=self.context)
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.lock = threading.Lock()
        self.losses: list[float] = []
        self.intensity: list[float] = []
        self.samples: list = []
        self.statuses: list[dict] = []
        self.node.create_subscription(Float32, '/train_node/loss/total', self._loss, qos)
        self.node.create_subscription(Float32, '/train_node/loss/intensity', self._intensity, qos)
        self.node.create_subscription(Image, '/train_node/sample/image', self._sample, qos)
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._diag, qos)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:
            pass

    def _loss(self, msg):
        with self.lock:
            self.losses.append(msg.data)

    def _intensity(self, msg):
        with self.lock:
            self.intensity.append(msg.data)

    def _sample(self, msg):
        with self.lock:
            self.samples.append(msg)

    def _diag(self, msg):
        with self.lock:
            for s in msg.status:
                if s.name.startswith('train_node'):
                    self.statuses.append(
                        {'message': s.message, **{kv.key: kv.value for kv in s.values}}
                    )

    def close(self):
        import rclpy

        self.executor.shutdown(timeout_sec=2.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self.thread.join(timeout=2.0)


def start_node(tmp_path: Path, config: Path, **params) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / 'train_node.log'
    args = [
        sys.executable,
        '-m',
        'fusion_ros.nodes.train_node',
        '--ros-args',
        '-p',
        f'config:={config}',
        '-p',
        f'out_dir:={tmp_path / "run"}',
        '-p',
        f'export_dir:={tmp_path / "export"}',
        '-p',
        'sample_period_steps:=2',
        '-p',
        'wait_for_subscribers_s:=30.0',
    ]
    for k, v in params.items():
        args += ['-p', f'{k}:={v}']
    proc = subprocess.Popen(
        args, env=node_env(), cwd=str(ROOT), stdout=open(log, 'w'), stderr=subprocess.STDOUT
    )
    return proc, log


def test_train_node_publishes_losses_and_samples_then_exits(tmp_path):
    listener = Listener()
    proc, log = start_node(tmp_path, tiny_config(tmp_path))
    try:
        rc = proc.wait(timeout=80)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        pytest.fail('train node did not finish:\n' + log.read_text()[-3000:])
    finally:
        time.sleep(0.3)
        listener.close()
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert len(listener.losses) >= 5, text[-2000:]
    assert all(v == v and v >= 0 for v in listener.losses)  # finite, non-negative
    assert listener.intensity, 'per-term topics (~/loss/<name>) are published'
    assert listener.samples, text[-2000:]
    img = listener.samples[-1]
    assert img.encoding == 'mono8' and img.height >= 192
    assert img.width > 3 * img.height * 0.9  # visible | thermal | fused side by side
    assert len(img.data) == img.step * img.height
    assert any(s.get('stage') == 'student' for s in listener.statuses)
    assert any('exported' in s['message'] for s in listener.statuses)
    assert (tmp_path / 'export' / 'mmdrfuse.onnx').exists()
    assert (tmp_path / 'export' / 'mmdrfuse.json').exists()
    assert 'exported' in text


def test_train_node_ctrl_c_stops_cleanly_and_still_exports(tmp_path):
    listener = Listener()
    config = tiny_config(tmp_path, max_minutes=5.0)
    data = json.loads(config.read_text())
    data['extra'].update({'teacher_epochs': 50, 'student_epochs': 50})  # far longer than the test
    config.write_text(json.dumps(data))
    proc, log = start_node(tmp_path, config)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(listener.losses) < 3 and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert len(listener.losses) >= 3, log.read_text()[-3000:]
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
        listener.close()
    text = log.read_text()
    assert rc == 0, text[-3000:]
    assert (tmp_path / 'export' / 'mmdrfuse.onnx').exists(), text[-3000:]
    summary = json.loads((tmp_path / 'run' / 'summary.json').read_text())
    assert summary['summary']['stopped_early'] is True
    assert (tmp_path / 'run' / 'checkpoints' / 'teacher.pt').exists()
