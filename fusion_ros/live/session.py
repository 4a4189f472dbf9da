# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""A live ROS 2 graph for the demo and the benchmark: fusion node process + source + sink.

The fusion node runs as its own process, exactly as `ros2 run fusion_ros fusion_node` would
start it, so the measured latency includes real inter-process DDS transport. The source and the
sink run in this process on a multi-threaded executor.
"""

from __future__ import annotations

import os
from pathlib import Path
import random
import signal
import subprocess
import sys
import threading
import time
from typing import Sequence


def prepare_ros_environment(domain_id: int | None = None) -> dict[str, str]:
    """Localhost-only discovery, a private domain and the shipped DDS profile.

    Before rclpy.init.
    """
    if domain_id is not None:
        os.environ['ROS_DOMAIN_ID'] = str(domain_id)
    else:
        # 102..200: test runs pick 1..101 (test/conftest.py), so a soak or demo beside a test run
        # never shares its graph (a test once switched a soak's node to another model)
        os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(102, 200)))
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    from fusion_ros.ros.qos import use_fastdds_profile

    use_fastdds_profile()
    return dict(os.environ)


def process_memory_mb(pid: int, field: str = 'VmHWM') -> float | None:
    """Return a memory field of a process's /proc status in MB, None where /proc is absent.

    VmHWM: peak resident, VmRSS: resident now.
    """
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith(f'{field}:'):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def node_peak_memory_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a process, from /proc; None where /proc is absent."""
    return process_memory_mb(pid, 'VmHWM')


class LiveSession:
    """Context manager owning the fusion node process and the in-process source and sink."""

    def __init__(
        self,
        model: str,
        backend: str = 'cpu',
        params: dict[str, object] | None = None,
        log_path: Path | None = None,
        thermal_encoding: str = 'mono16',
        extra_node_args: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.backend = backend
        self.params = dict(params or {})
        self.log_path = log_path
        self.thermal_encoding = thermal_encoding
        self.extra_node_args = list(extra_node_args)
        self.process: subprocess.Popen | None = None
        self._log_file = None
        self._executor = None
        self._context = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> 'LiveSession':
        env = prepare_ros_environment()
        from fusion_ros.nodes.demo_sink_node import DemoSinkNode
        from fusion_ros.nodes.demo_source_node import DemoSourceNode
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import MultiThreadedExecutor

        args = [
            sys.executable,
            '-m',
            'fusion_ros.nodes.fusion_node',
            '--ros-args',
            '-p',
            f'model:={self.model}',
            '-p',
            f'backend:={self.backend}',
        ]
        for key, value in self.params.items():
            args += ['-p', f'{key}:={value}']
        args += self.extra_node_args
        self._log_file = open(self.log_path, 'w') if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            args, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

        self._context = Context()
        rclpy.init(context=self._context)
        self.source = DemoSourceNode(
            context=self._context,
            parameter_overrides=[
                rclpy.parameter.Parameter('thermal_encoding', value=self.thermal_encoding)
            ],
        )
        self.source.pause(True)
        self.sink = DemoSinkNode(context=self._context)
        self._param_node = rclpy.create_node('fusion_demo_control', context=self._context)
        self._executor = MultiThreadedExecutor(num_threads=3, context=self._context)
        for node in (self.source, self.sink, self._param_node):
            self._executor.add_node(node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        return self

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except Exception:  # executor shut down under us at exit
            pass

    def __exit__(self, *exc) -> None:
        self.stop_node()
        if self._executor is not None:
            self._executor.shutdown(timeout_sec=2.0)
        for node in (
            getattr(self, 'source', None),
            getattr(self, 'sink', None),
            getattr(self, '_param_node', None),
        ):
            if node is not None:
                node.destroy_node()
        if self._context is not None:
            import rclpy

            rclpy.try_shutdown(context=self._context)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._log_file not in (None, subprocess.DEVNULL):
            self._log_file.close()

    def stop_node(self) -> int | None:
        """SIGINT the fusion node (as Ctrl-C would) and wait; kill only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    # -- control ---------------------------------------------------------------------------
    def node_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the fusion node subscribes to both cameras and the sink hears it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.node_alive():
                raise RuntimeError(
                    f'fusion node exited with code {self.process.returncode}; see {self.log_path}'
                )
            if (
                self.source.visible_pub.get_subscription_count() > 0
                and self.source.thermal_pub.get_subscription_count() > 0
                and self.sink.count_publishers('fused/image_raw') > 0
            ):
                return
            time.sleep(0.1)
        raise TimeoutError(f'fusion node not ready after {timeout:.0f} s; see {self.log_path}')

    def set_parameters(self, **values: object) -> tuple[bool, str]:
        """Set fusion node parameters at run time (what `ros2 param set` does)."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self._param_node.create_client(SetParameters, '/fusion_node/set_parameters')
        try:
            if not client.wait_for_service(timeout_sec=10.0):
                return False, 'set_parameters service not available'
            request = SetParameters.Request()
            request.parameters = [
                Parameter(k, value=v).to_parameter_msg() for k, v in values.items()
            ]
            future = client.call_async(request)
            deadline = time.monotonic() + 30.0
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.01)
            if not future.done():
                return False, 'set_parameters timed out'
            results = future.result().results
            reasons = '; '.join(r.reason for r in results if not r.successful)
            return all(r.successful for r in results), reasons
        finally:
            self._param_node.destroy_client(client)

    def stream(self, frames: int, on_progress=None, drain_s: float = 1.0) -> None:
        """Publish `frames` frames at the source's rate, then wait for the pipeline to drain."""
        start = self.source.published
        from rclpy.parameter import Parameter

        self.source.set_parameters([Parameter('max_frames', value=start + frames)])
        self.source.finished.clear()
        self.source.pause(False)
        last = start
        while self.source.published < start + frames:
            if not self.node_alive():
                raise RuntimeError(
                    f'fusion node died with code {self.process.returncode}; see {self.log_path}'
                )
            time.sleep(0.05)
            if on_progress is not None and self.source.published != last:
                on_progress(self.source.published - last)
                last = self.source.published
        if on_progress is not None and self.source.published != last:
            on_progress(self.source.published - last)
        self.source.pause(True)
        time.sleep(drain_s)
