# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Per-topic diagnostic tasks (diagnostic_updater's TopicDiagnostic layout), driven clock."""

from __future__ import annotations

from fusion_ros.ros.diagnostics import ERROR, level_value, OK, WARN
from fusion_ros.ros.topic_status import TopicStatus


def _values(status) -> dict:
    return {kv.key: kv.value for kv in status.values}


def test_frequency_and_delay_in_diagnostic_updater_keys() -> None:
    task = TopicStatus(window_s=2.0)
    for i in range(61):  # 30 Hz for 2 s, stamps 10..40 ms old
        task.tick(100.0 + i / 30, 0.010 + 0.0005 * i)
    status = task.status('fusion_node', '/visible/image_raw', 'cam', 2.0, 102.0)
    values = _values(status)
    assert status.name == 'fusion_node: /visible/image_raw topic status'
    assert status.hardware_id == 'cam' and level_value(status.level) == OK
    assert abs(float(values['Actual frequency (Hz)']) - 30.0) < 0.5
    assert values['Events since startup'] == '61' and values['Events in window'] == '61'
    assert float(values['Earliest timestamp delay']) == 0.01
    assert float(values['Latest timestamp delay']) == 0.04
    # a window later only the last 2 s count
    task.tick(103.0, 0.02)
    values = _values(task.status('n', 't', '', 2.0, 104.5))
    assert values['Events in window'] == '1' and values['Events since startup'] == '62'


def test_silence_and_bad_stamps_raise_the_level() -> None:
    task = TopicStatus(window_s=5.0)
    fresh = task.status('n', '/thermal/image_raw', '', 2.0, 10.0)
    assert level_value(fresh.level) == WARN and fresh.message == 'no message yet'
    task.tick(10.0, 0.01)
    assert level_value(task.status('n', 't', '', 2.0, 11.0).level) == OK
    silent = task.status('n', 't', '', 2.0, 13.5)
    assert level_value(silent.level) == ERROR and 'no message for 3.5 s' in silent.message
    future = TopicStatus(window_s=5.0)
    future.tick(1.0, -2.5)  # stamped 2.5 s ahead: another machine's clock
    status = future.status('n', 't', '', 2.0, 1.5)
    assert level_value(status.level) == WARN and 'future' in status.message
    old = TopicStatus(window_s=5.0)
    old.tick(1.0, 7.0)
    status = old.status('n', 't', '', 2.0, 1.5)
    assert level_value(status.level) == WARN and 'past' in status.message
