# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""InputSubscription: the camera subscription's reliability follows the publishers.

Real rclpy graph: publishers and the subscriber are separate DDS participants in this process.
"""

from __future__ import annotations

import threading
import time
from typing import List
import uuid

from fusion_ros.ros.input_qos import (
    choose_reliability,
    InputSubscription,
    reliability_name,
    update_all,
)
import pytest
from rclpy.qos import qos_profile_sensor_data, QoSProfile, ReliabilityPolicy

BE, REL = ReliabilityPolicy.BEST_EFFORT, ReliabilityPolicy.RELIABLE


@pytest.mark.parametrize(
    'mode, offered, expected',
    [
        ('auto', [], REL),
        ('auto', [REL], REL),
        ('auto', [BE], BE),
        ('auto', [REL, BE], BE),
        ('reliable', [BE], REL),
        ('best_effort', [REL], BE),
        ('best_effort', [], BE),
    ],
)
def test_choose_reliability(mode, offered, expected):
    assert choose_reliability(mode, offered) == expected


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match='input_reliability'):
        choose_reliability('sometimes', [])


def new_topic() -> str:
    return f'/qos_{uuid.uuid4().hex[:8]}/image_raw'


class Graph:
    """A subscriber node (with InputSubscription polled by a timer) and publisher participants."""

    def __init__(self, mode: str, parameter_overrides=None, topic: str = '') -> None:
        from fusion_ros.ros.qos import image_qos, overrides
        import rclpy
        from rclpy.executors import MultiThreadedExecutor
        from std_msgs.msg import String

        self.rclpy, self.String = rclpy, String
        self.topic = topic or new_topic()
        self.contexts: List = []
        self.received: List[str] = []
        self.lock = threading.Lock()
        self.executor = MultiThreadedExecutor(context=self._context())
        self.node = rclpy.create_node(
            'input_qos_sub',
            context=self.contexts[0],
            parameter_overrides=parameter_overrides or [],
        )
        self.sub = InputSubscription(
            self.node,
            String,
            self.topic,
            self._on_msg,
            image_qos(),
            mode,
            'thermal',
            overriding_options=overrides(),
        )
        self.node.create_timer(0.2, lambda: update_all([self.sub]))
        self.executor.add_node(self.node)
        self.publishers = []
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _context(self):
        context = self.rclpy.context.Context()
        self.rclpy.init(context=context)
        self.contexts.append(context)
        return context

    def _on_msg(self, msg) -> None:
        with self.lock:
            self.received.append(msg.data)

    def add_publisher(self, qos: QoSProfile, name: str):
        node = self.rclpy.create_node(f'camera_{name}', context=self._context())
        self.publishers.append((node, node.create_publisher(self.String, self.topic, qos), name))

    def publish_for(self, seconds: float, rate: float = 50.0) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _, pub, name in self.publishers:
                pub.publish(self.String(data=name))
            time.sleep(1 / rate)

    def wait(self, predicate, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    def names_received(self) -> set:
        with self.lock:
            return set(self.received)

    def close(self) -> None:
        self.executor.shutdown(timeout_sec=2.0)
        for node, _, _ in self.publishers:
            node.destroy_node()
        self.node.destroy_node()
        for context in self.contexts:
            self.rclpy.try_shutdown(context=context)


@pytest.fixture
def graph_factory():
    made = []

    def make(mode, **kw):
        made.append(Graph(mode, **kw))
        return made[-1]

    yield make
    for graph in made:
        graph.close()


def test_auto_switches_to_best_effort_for_a_sensor_data_camera(graph_factory):
    g = graph_factory('auto')
    assert g.sub.reliability == REL  # nobody publishes yet
    g.add_publisher(qos_profile_sensor_data, 'be')
    assert g.wait(lambda: g.sub.reliability == BE), 'did not adapt to the best-effort publisher'
    g.publish_for(1.0)
    assert 'be' in g.names_received()
    assert g.sub.recreated == 1
    level, message, values = g.sub.report()
    assert level == 0 and message == ''
    assert ('thermal_reliability', 'best_effort (auto)') in values


def test_auto_stays_reliable_for_reliable_cameras(graph_factory):
    g = graph_factory('auto')
    g.add_publisher(QoSProfile(depth=5, reliability=REL), 'rel')
    assert g.wait(lambda: len(g.sub.offered()) == 1)
    g.publish_for(1.0)
    assert g.sub.reliability == REL and g.sub.recreated == 0
    assert 'rel' in g.names_received()


def test_auto_with_mixed_publishers_hears_both(graph_factory):
    g = graph_factory('auto')
    g.add_publisher(QoSProfile(depth=5, reliability=REL), 'rel')
    g.add_publisher(qos_profile_sensor_data, 'be')
    assert g.wait(lambda: g.sub.reliability == BE)
    assert g.wait(lambda: g.publish_for(0.3) or g.names_received() == {'rel', 'be'}, 10.0)


def test_pinned_reliable_reports_the_incompatible_camera_by_policy_name(graph_factory):
    g = graph_factory('reliable')
    g.add_publisher(qos_profile_sensor_data, 'be')
    assert g.wait(lambda: g.sub.events > 0), 'no incompatible-QoS event'
    g.publish_for(0.5)
    assert g.names_received() == set()  # the bug this module fixes: zero frames
    level, message, values = g.sub.report()
    assert level == 1
    assert 'RELIABILITY' in message and 'thermal' in message and g.topic in message
    assert ('thermal_qos_incompatible_policy', 'RELIABILITY') in values
    assert reliability_name(g.sub.reliability) == 'reliable'


def test_explicit_reliability_override_pins_the_input(graph_factory):
    from rclpy.parameter import Parameter

    topic = new_topic()
    override = Parameter(f'qos_overrides.{topic}.subscription.reliability', value='best_effort')
    g = graph_factory('auto', topic=topic, parameter_overrides=[override])
    assert g.sub.pinned and g.sub.reliability == BE
    g.add_publisher(QoSProfile(depth=5, reliability=REL), 'rel')
    assert g.wait(lambda: g.publish_for(0.3) or 'rel' in g.names_received())
    assert g.sub.reliability == BE and g.sub.recreated == 0
    assert ('thermal_reliability', 'best_effort (pinned)') in g.sub.report()[2]
