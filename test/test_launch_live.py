# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`ros2 launch fusion_ros fuse.launch.py` for real, from a colcon install tree.

Needs the launch system and the ros2 CLI (not on PyPI: `make .venv/.dev` installs them from
../shared/ros2-cli-wheels where that folder exists). rviz2 cannot run here (no GUI stack), so a
stand-in `rviz2` executable in its own ament prefix records the config file it is given; launch
finds and starts it exactly as it would start rviz2.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
import uuid

from colcon_helpers import colcon_install, install_env
import pytest
import yaml

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ('ros2launch', 'launch_ros')),
    reason='ros2launch/launch_ros not installed (make .venv/.dev installs them from '
    '../shared/ros2-cli-wheels where that folder exists)',
)

ROS2 = str(Path(sys.executable).with_name('ros2'))
RVIZ_STANDIN = """#!/bin/sh
# stand-in for rviz2: keep the config it was given (-d FILE), then idle like a GUI would. It
# leaves SIGINT to launch's escalation and exits 0 on the SIGTERM that follows: a shell child
# exiting at the very moment of the group SIGINT sometimes made launch report it as died (255).
trap '' INT
trap 'kill $! 2>/dev/null; exit 0' TERM
cp "$2" "$RVIZ_RECORD"
sleep 600 &
wait
"""


@pytest.fixture(scope='module')
def install(tmp_path_factory) -> Path:
    return colcon_install(tmp_path_factory.mktemp('ws'))


@pytest.fixture(scope='module')
def rviz_prefix(tmp_path_factory) -> Path:
    prefix = tmp_path_factory.mktemp('rviz_prefix')
    marker = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / 'rviz2'
    marker.parent.mkdir(parents=True)
    marker.touch()
    exe = prefix / 'lib' / 'rviz2' / 'rviz2'
    exe.parent.mkdir(parents=True)
    exe.write_text(RVIZ_STANDIN)
    exe.chmod(0o755)
    return prefix


def test_show_args_lists_the_new_arguments(install: Path) -> None:
    out = subprocess.run(
        [ROS2, 'launch', 'fusion_ros', 'fuse.launch.py', '--show-args'],
        env=install_env(install),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("'rviz'", "'input_reliability'", "'namespace'", "'visible_topic'"):
        assert name in out.stdout, out.stdout
    assert 'auto' in out.stdout and 'best_effort' in out.stdout


def _wait_for_subscribers(node, topics, proc, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(node.count_subscribers(t) > 0 for t in topics):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    counts = {t: node.count_subscribers(t) for t in topics}
    raise AssertionError(f'subscribers {counts} after {timeout} s\n{log.read_text()[-4000:]}')


def _default_sigint() -> None:
    """As in a terminal.

    SIGINT not ignored, even when pytest itself was started in the background by a non-interactive
    shell (its children would inherit SIGINT ignored).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Launched:
    """A running `ros2 launch` in its own process group (as a terminal runs it)."""

    def __init__(self, tmp: Path, install: Path, rviz_prefix: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.namespace, self.camera = f'drone_{tag}', f'/cam_{tag}/color/image_raw'
        self.record, self.log = tmp / 'rviz_config.rviz', tmp / 'launch.log'
        env = install_env(install, rviz_prefix, RVIZ_RECORD=str(self.record), PYTHONUNBUFFERED='1')
        with open(self.log, 'w') as out:
            self.proc = subprocess.Popen(
                [
                    ROS2,
                    'launch',
                    'fusion_ros',
                    'fuse.launch.py',
                    f'namespace:={self.namespace}',
                    f'visible_topic:={self.camera}',
                    'backend:=cpu',
                    'rviz:=true',
                    'input_reliability:=best_effort',
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_default_sigint,
            )

    def text(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope='module')
def launched(install: Path, rviz_prefix: Path, tmp_path_factory):
    run = Launched(tmp_path_factory.mktemp('launch'), install, rviz_prefix)
    yield run
    run.stop()


def test_node_subscribes_to_the_namespaced_and_remapped_topics(launched: Launched) -> None:
    import rclpy

    context = rclpy.context.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node(f'launch_probe_{launched.namespace}', context=context)
        try:
            ns = launched.namespace
            topics = [launched.camera, f'/{ns}/thermal/image_raw', f'/{ns}/visible/camera_info']
            _wait_for_subscribers(node, topics, launched.proc, launched.log)
            # input_reliability:=best_effort reached the node as its parameter
            from rclpy.qos import ReliabilityPolicy

            infos = node.get_subscriptions_info_by_topic(launched.camera)
            assert [i.qos_profile.reliability for i in infos] == [ReliabilityPolicy.BEST_EFFORT]
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_rviz_gets_a_config_with_the_topics_of_the_launch(launched: Launched) -> None:
    deadline = time.monotonic() + 60
    while not launched.record.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert launched.record.exists(), launched.text()[-4000:]
    displays = {
        d['Name']: d['Topic']
        for d in yaml.safe_load(launched.record.read_text())['Visualization Manager']['Displays']
    }
    assert displays['Visible']['Value'] == launched.camera
    assert displays['Thermal']['Value'] == f'/{launched.namespace}/thermal/image_raw'
    assert displays['Fused']['Value'] == f'/{launched.namespace}/fused/image_raw'
    assert displays['Thermal']['Reliability Policy'] == 'Best Effort'


def test_sigint_to_the_process_group_stops_cleanly(launched: Launched) -> None:
    """Ctrl-C in a terminal: SIGINT to launch and every process it started, at once.

    Launch then sends the node another SIGINT while it shuts down.
    """
    assert 'fusing' in launched.text(), launched.text()[-4000:]  # the node is up
    os.killpg(launched.proc.pid, signal.SIGINT)
    try:
        code = launched.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'launch did not stop on SIGINT\n{launched.text()[-4000:]}')
    text = launched.text()
    assert code == 0, text[-4000:]
    assert 'Traceback' not in text and 'KeyboardInterrupt' not in text, text[-4000:]
    assert 'process has died' not in text, text[-4000:]


def test_lifecycle_launch_starts_an_unconfigured_managed_node(
    install: Path, tmp_path: Path
) -> None:
    """lifecycle:=true.

    fusion_node comes up unconfigured (no model, no camera subscription) and answers the lifecycle
    services; configure loads the model.
    """
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    import rclpy

    namespace = f'lc_{uuid.uuid4().hex[:8]}'
    log = tmp_path / 'launch.log'
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [
                ROS2,
                'launch',
                'fusion_ros',
                'fuse.launch.py',
                f'namespace:={namespace}',
                'backend:=cpu',
                'lifecycle:=true',
            ],
            env=install_env(install, PYTHONUNBUFFERED='1'),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f'lc_probe_{namespace}', context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:

        def call(srv_type, service, request):
            client = node.create_client(srv_type, f'/{namespace}/fusion_node/{service}')
            assert client.wait_for_service(timeout_sec=60), log.read_text()[-3000:]
            future = client.call_async(request)
            executor.spin_until_future_complete(future, timeout_sec=60)
            return future.result()

        state = call(GetState, 'get_state', GetState.Request()).current_state.label
        assert state == 'unconfigured'
        assert node.count_subscribers(f'/{namespace}/visible/image_raw') == 0
        assert 'loaded model' not in log.read_text()
        configure = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
        assert call(ChangeState, 'change_state', configure).success
        deadline = time.monotonic() + 20  # launch relays the node's output a little later
        while 'loaded model' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 'loaded model' in log.read_text(), log.read_text()[-3000:]
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
    text = log.read_text()
    assert code == 0 and 'Traceback' not in text, text[-3000:]
