# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The rviz config for a launch: the shipped config/fusion.rviz with its image topics resolved.

rviz shows what it subscribes to, so a namespaced or remapped launch needs the topics the node
really uses. ``ros2 launch fusion_ros fuse.launch.py rviz:=true`` writes such a config from the
launch arguments (namespace, visible_topic, thermal_topic, input_reliability) and starts rviz2
with it. No rclpy here: the launch process only needs PyYAML.
"""

from __future__ import annotations

from pathlib import Path
import tempfile
from typing import Dict, Mapping

import yaml

#: rviz Image display name -> the node's topic name before namespace and remapping.
DISPLAY_TOPICS = {
    'Visible': 'visible/image_raw',
    'Thermal': 'thermal/image_raw',
    'Fused': 'fused/image_raw',
}
#: Displays of camera topics: their QoS must match the camera driver, not our node.
CAMERA_DISPLAYS = ('Visible', 'Thermal')
#: input_reliability -> rviz "Reliability Policy". A best-effort reader matches either kind of
#: publisher, so "auto" shows the cameras whatever QoS their drivers use.
RVIZ_RELIABILITY = {'auto': 'Best Effort', 'best_effort': 'Best Effort', 'reliable': 'Reliable'}


def join_namespace(base: str, namespace: str) -> str:
    """Return the node's namespace as launch_ros forms it.

    ``namespace`` under ``base`` unless absolute (``base`` is the namespace pushed by an including
    launch file).
    """
    if namespace.startswith('/'):
        parts = namespace.split('/')
    else:
        parts = base.split('/') + namespace.split('/')
    return '/' + '/'.join(p for p in parts if p)


def resolve_topic(name: str, namespace: str, node_name: str = 'fusion_node') -> str:
    """Expand a topic name the way rcl does: absolute stays, ``~`` is the node, else namespaced."""
    namespace = join_namespace('', namespace)
    if name.startswith('/'):
        return name
    if name == '~' or name.startswith('~/'):
        node = namespace.rstrip('/') + '/' + node_name
        return node + name[1:]
    return namespace.rstrip('/') + '/' + name


def topics_for_launch(namespace: str, remaps: Mapping[str, str]) -> Dict[str, str]:
    """Display name -> fully qualified topic, for the node in ``namespace`` with ``remaps``."""
    return {
        display: resolve_topic(remaps.get(topic, topic), namespace)
        for display, topic in DISPLAY_TOPICS.items()
    }


def render(template: str, topics: Mapping[str, str], input_reliability: str = 'auto') -> str:
    """``template`` (rviz YAML) with each Image display's topic (and camera QoS) replaced."""
    if input_reliability not in RVIZ_RELIABILITY:
        raise ValueError(
            f'input_reliability must be one of {sorted(RVIZ_RELIABILITY)}, '
            f'not {input_reliability!r}'
        )
    data = yaml.safe_load(template)
    seen = set()
    for display in data['Visualization Manager']['Displays']:
        name = display.get('Name')
        if name not in topics:
            continue
        display['Topic']['Value'] = topics[name]
        if name in CAMERA_DISPLAYS:
            display['Topic']['Reliability Policy'] = RVIZ_RELIABILITY[input_reliability]
        seen.add(name)
    missing = set(topics) - seen
    if missing:
        raise ValueError(f'rviz config has no display named {sorted(missing)}')
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def write_rviz_config(
    template_path: str, namespace: str, remaps: Mapping[str, str], input_reliability: str = 'auto'
) -> Path:
    """Render the template for this launch into a new temporary file and return its path."""
    text = render(
        Path(template_path).read_text(), topics_for_launch(namespace, remaps), input_reliability
    )
    with tempfile.NamedTemporaryFile(
        'w', prefix='fusion_ros_', suffix='.rviz', delete=False
    ) as out:
        out.write(text)
    return Path(out.name)
