# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""fusion_node --lifecycle on a live node (separate process).

Driven through its lifecycle services as `ros2 lifecycle set` or a lifecycle manager would:
configure loads the model, activate subscribes and fuses, deactivate stops fusing with the model
kept, cleanup unloads it.
"""

from __future__ import annotations

import time
import uuid

from ros_helpers import Harness, NodeProcess, pattern_pair


def _call(h: Harness, srv_type, name: str, request, timeout: float = 30.0):
    client = h.node.create_client(srv_type, name)
    try:
        assert client.wait_for_service(timeout_sec=timeout), f'{name} not available'
        future = client.call_async(request)
        deadline = time.monotonic() + timeout
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert future.done(), f'{name} timed out'
        return future.result()
    finally:
        h.node.destroy_client(client)


def _transition(h: Harness, transition_id: int) -> bool:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    request = ChangeState.Request(transition=Transition(id=transition_id))
    return _call(h, ChangeState, f'{h.node_name}/change_state', request).success


def _state(h: Harness) -> str:
    from lifecycle_msgs.srv import GetState

    return _call(h, GetState, f'{h.node_name}/get_state', GetState.Request()).current_state.label


def _fuses(h: Harness, node: NodeProcess) -> None:
    vis, thermal = pattern_pair(64, 80)
    h.wait_connected(node)
    h.prime(node, vis, thermal)


def test_lifecycle_transitions_on_a_live_node(tmp_path):
    from lifecycle_msgs.msg import Transition

    namespace = f'lc_{uuid.uuid4().hex[:6]}'
    node = NodeProcess(
        tmp_path / 'node.log',
        {'backend': 'cpu', 'diagnostics_period': 0.3},
        namespace=namespace,
        node_args=['--lifecycle'],
    )
    h = Harness(namespace=namespace)
    try:
        assert _state(h) == 'unconfigured'
        assert h.node.count_publishers('fused/image_raw') == 0
        assert 'loaded model' not in node.log()

        assert _transition(h, Transition.TRANSITION_CONFIGURE)
        assert _state(h) == 'inactive'
        assert node.log().count('loaded model') == 1
        h.wait_for(lambda: h.node.count_publishers('fused/image_raw') == 1, 10, 'outputs', node)
        assert h.visible_pub.get_subscription_count() == 0  # not fusing yet

        assert _transition(h, Transition.TRANSITION_ACTIVATE)
        assert _state(h) == 'active'
        _fuses(h, node)

        assert _transition(h, Transition.TRANSITION_DEACTIVATE)
        assert _state(h) == 'inactive'
        h.wait_for(lambda: h.visible_pub.get_subscription_count() == 0, 10, 'unsubscribed', node)
        before = h.fused_count()
        vis, thermal = pattern_pair(64, 80)
        for _ in range(10):
            h.publish_pair(vis, thermal, h.now_ns())
            time.sleep(0.05)
        time.sleep(0.5)
        assert h.fused_count() == before  # deactivated: nothing fused

        assert _transition(h, Transition.TRANSITION_ACTIVATE)
        _fuses(h, node)
        assert node.log().count('loaded model') == 1  # the model stayed loaded

        assert _transition(h, Transition.TRANSITION_DEACTIVATE)
        assert _transition(h, Transition.TRANSITION_CLEANUP)
        assert _state(h) == 'unconfigured'
        assert 'model unloaded' in node.log()
        h.wait_for(lambda: h.node.count_publishers('fused/image_raw') == 0, 10, 'no outputs', node)
    finally:
        h.close()
        code = node.interrupt()
        node.close()
    log = node.log()
    assert code == 0, log[-3000:]
    assert 'Traceback' not in log, log[-3000:]


def test_configure_fails_when_the_model_does_not_load(tmp_path):
    from lifecycle_msgs.msg import Transition

    namespace = f'lc_{uuid.uuid4().hex[:6]}'
    node = NodeProcess(
        tmp_path / 'node.log',
        {'model': str(tmp_path / 'missing.onnx')},
        namespace=namespace,
        node_args=['--lifecycle'],
    )
    h = Harness(namespace=namespace)
    try:
        assert not _transition(h, Transition.TRANSITION_CONFIGURE)
        assert _state(h) == 'unconfigured'
        assert 'cannot load model' in node.log()
    finally:
        h.close()
        node.close()
