# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""launch/fuse.launch.py and config/: static checks (test_launch_live.py runs it for real).

The launch file is parsed with `ast`: it must compile, name only executables that setup.py
installs, reference only files that exist, and set only parameters the node declares. The params
file and the rviz config are checked against the node's parameter table and topics, and the rviz
config the launch writes for a namespace and remaps against the topics the node resolves.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
import re
import xml.etree.ElementTree as ET

from fusion_ros.ros.parameters import BUILTIN_PARAMETERS, PARAMETERS
from fusion_ros.ros.rviz_config import (
    DISPLAY_TOPICS,
    join_namespace,
    render,
    resolve_topic,
    write_rviz_config,
)
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / 'launch' / 'fuse.launch.py'
PARAMS = ROOT / 'config' / 'fusion.yaml'
RVIZ = ROOT / 'config' / 'fusion.rviz'
FASTDDS = ROOT / 'config' / 'fastdds.xml'
DECLARED = set(PARAMETERS) | set(BUILTIN_PARAMETERS)


def _tree():
    return ast.parse(LAUNCH.read_text(), filename=str(LAUNCH))


def _calls(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else getattr(func, 'attr', None)
            if fname == name:
                yield node


def _kw(call, name):
    """Return the value of keyword `name` of a call, or of key `name` of a dict literal."""
    if isinstance(call, ast.Dict):
        for key, value in zip(call.keys, call.values):
            if isinstance(key, ast.Constant) and key.value == name:
                return value
        return None
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _fusion_nodes(tree):
    """Return the keyword arguments shared by the Node and LifecycleNode actions of fusion_node.

    They are a dict literal ``{'package': 'fusion_ros', ...}``.
    """
    return [
        d
        for d in ast.walk(tree)
        if isinstance(d, ast.Dict)
        and _kw(d, 'package') is not None
        and ast.literal_eval(_kw(d, 'package')) == 'fusion_ros'
    ]


def _console_scripts():
    """setup.py's console_scripts {name: "module:function"}, read with ast.

    Running it would build.
    """
    tree = ast.parse((ROOT / 'setup.py').read_text())
    scripts = {}
    for call in _calls(tree, 'setup'):
        entry_points = ast.literal_eval(_kw(call, 'entry_points'))
        for line in entry_points['console_scripts']:
            name, target = (part.strip() for part in line.split('='))
            scripts[name] = target
    return scripts


def test_launch_file_compiles_and_defines_generate_launch_description():
    source = LAUNCH.read_text()
    compile(source, str(LAUNCH), 'exec')
    funcs = [n.name for n in _tree().body if isinstance(n, ast.FunctionDef)]
    assert 'generate_launch_description' in funcs


def test_launch_arguments():
    names = {ast.literal_eval(c.args[0]) for c in _calls(_tree(), 'DeclareLaunchArgument')}
    assert {
        'model',
        'backend',
        'visible_topic',
        'thermal_topic',
        'params_file',
        'use_sim_time',
        'namespace',
        'rviz',
        'input_reliability',
        'lifecycle',
    } <= names
    # Every LaunchConfiguration used is declared.
    used = {ast.literal_eval(c.args[0]) for c in _calls(_tree(), 'LaunchConfiguration')}
    assert used <= names, used - names


def test_executables_exist_in_setup_entry_points():
    scripts = _console_scripts()
    assert scripts.get('fusion_node') == 'fusion_ros.nodes.fusion_node:main'
    nodes = _fusion_nodes(_tree())
    assert nodes, 'no Node action'
    packages = {
        ast.literal_eval(_kw(c, 'package'))
        for c in _calls(_tree(), 'Node')
        if _kw(c, 'package') is not None
    }
    assert packages == {'rviz2'}  # fusion_node's actions take their arguments from the dict
    actions = {c.func.id for c in _calls(_tree(), 'Node') if _kw(c, 'package') is None}
    actions |= {c.func.id for c in _calls(_tree(), 'LifecycleNode')}
    assert actions == {'Node', 'LifecycleNode'}
    for call in nodes:
        executable = ast.literal_eval(_kw(call, 'executable'))
        assert executable in scripts, f'{executable} is not a console script in setup.py'
        module, func = scripts[executable].split(':')
        assert importlib.util.find_spec(module) is not None
        assert f'def {func}(' in (ROOT / (module.replace('.', '/') + '.py')).read_text()
        assert ast.literal_eval(_kw(call, 'name')) == 'fusion_node'


def _share_paths(tree):
    """Files named by PathJoinSubstitution([FindPackageShare("fusion_ros"), "config", "x"])."""
    for call in _calls(tree, 'PathJoinSubstitution'):
        parts = call.args[0].elts
        head = parts[0]
        if isinstance(head, ast.Name) and head.id == 'SHARE':  # SHARE = FindPackageShare(...)
            yield Path(*(ast.literal_eval(a) for a in parts[1:]))


def test_referenced_files_exist_and_are_installed():
    tree = _tree()
    assert not list(_calls(tree, 'join')), 'use PathJoinSubstitution, not os.path.join'
    assert not list(_calls(tree, 'get_package_share_directory')), 'use FindPackageShare'
    shares = [ast.literal_eval(c.args[0]) for c in _calls(tree, 'FindPackageShare')]
    assert shares == ['fusion_ros']
    joined = list(_share_paths(tree))
    assert {
        Path('config/fusion.yaml'),
        Path('config/fastdds.xml'),
        Path('config/fusion.rviz'),
    } <= set(joined)
    setup_text = (ROOT / 'setup.py').read_text()
    for rel in joined:
        assert (ROOT / rel).is_file(), f'{rel} referenced by the launch file does not exist'
        # setup.py installs config/*.yaml|*.rviz|*.xml and launch/*.launch.py into share/
        assert f"glob('{rel.parent}/*{rel.suffix}')" in setup_text, f'{rel} not installed'
    assert "glob('launch/*.launch.py')" in setup_text


def test_fastdds_profile_variable_is_set_unless_already_set():
    calls = list(_calls(_tree(), 'SetEnvironmentVariable'))
    assert calls
    call = calls[0]
    assert ast.literal_eval(call.args[0]) == 'FASTDDS_DEFAULT_PROFILES_FILE'
    value = call.args[1]
    assert isinstance(value, ast.Call) and value.func.id == 'EnvironmentVariable'
    assert ast.literal_eval(value.args[0]) == 'FASTDDS_DEFAULT_PROFILES_FILE'
    assert _kw(value, 'default_value') is not None


def test_parameters_set_by_launch_are_declared_by_node():
    for call in _fusion_nodes(_tree()):
        params = _kw(call, 'parameters')
        for element in params.elts:
            if isinstance(element, ast.Dict):
                for key in element.keys:
                    assert ast.literal_eval(key) in DECLARED, ast.literal_eval(key)


def test_remappings_cover_the_node_inputs():
    for call in _fusion_nodes(_tree()):
        sources = {ast.literal_eval(t.elts[0]) for t in _kw(call, 'remappings').elts}
        assert {'visible/image_raw', 'thermal/image_raw'} <= sources
        # The node's relative input names, as the node creates them.
        # (quotes made single: the quote style is the formatter's business, not this test's)
        text = (ROOT / 'fusion_ros/nodes/fusion_node.py').read_text().replace('"', "'")
        for src in sources:
            base = src.split('/')[0]
            if src.endswith('/compressed'):  # image_transport: the node appends "/compressed"
                assert "suffix = '/compressed' if" in text
                src = src[: -len('/compressed')]
            assert f"'{src}'" in text or (
                src.endswith('image_raw')
                and '{name}/image_raw' in text
                and base in ('visible', 'thermal')
            )


def _flatten(d, prefix=''):
    for key, value in d.items():
        if isinstance(value, dict):
            yield from _flatten(value, f'{prefix}{key}.')
        else:
            yield f'{prefix}{key}', value


def test_params_file_keys_are_declared_with_valid_values():
    data = yaml.safe_load(PARAMS.read_text())
    assert len(data) == 1
    ((node_key, body),) = data.items()
    assert node_key in ('fusion_node', '/fusion_node', '/**', '/**/fusion_node')
    params = dict(_flatten(body['ros__parameters']))
    for name, value in params.items():
        assert name in DECLARED, f'{name} in fusion.yaml is not declared by the node'
        if name in PARAMETERS:
            spec = PARAMETERS[name]
            assert spec.validate(value) is None, spec.validate(value)
            expected = spec.default
            assert value == expected, (
                f'fusion.yaml {name}={value!r} differs from the default {expected!r}'
            )
    # Every node parameter is in the file, each with a comment.
    assert set(PARAMETERS) <= set(params), set(PARAMETERS) - set(params)
    lines = PARAMS.read_text().splitlines()
    for name in PARAMETERS:
        idx = next(i for i, l in enumerate(lines) if re.match(rf'\s+{name}:', l))
        assert lines[idx - 1].strip().startswith('#'), f'{name} has no comment above it'


def test_rviz_config():
    """The shipped config names the node's topics relative; the launch file rewrites them.

    rviz started in the node's namespace shows them; the launch file rewrites them for its
    namespace and remaps.
    """
    data = yaml.safe_load(RVIZ.read_text())
    manager = data['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'camera_visible_optical_frame'
    images = {
        d['Name']: d for d in manager['Displays'] if d['Class'] == 'rviz_default_plugins/Image'
    }
    assert {name: d['Topic']['Value'] for name, d in images.items()} == DISPLAY_TOPICS
    from fusion_ros.images.demo_sequence import VISIBLE_FRAME_ID  # the demo source's frame

    assert VISIBLE_FRAME_ID == manager['Global Options']['Fixed Frame']


@pytest.mark.parametrize(
    'namespace, remaps, reliability, expected, camera_qos',
    [
        (
            '',
            {},
            'auto',
            ['/visible/image_raw', '/thermal/image_raw', '/fused/image_raw'],
            'Best Effort',
        ),
        (
            'drone1',
            {'visible/image_raw': '/camera/color/image_raw'},
            'reliable',
            ['/camera/color/image_raw', '/drone1/thermal/image_raw', '/drone1/fused/image_raw'],
            'Reliable',
        ),
        (
            '/fleet/drone2',
            {'thermal/image_raw': 'boson/image_raw'},
            'best_effort',
            [
                '/fleet/drone2/visible/image_raw',
                '/fleet/drone2/boson/image_raw',
                '/fleet/drone2/fused/image_raw',
            ],
            'Best Effort',
        ),
    ],
)
def test_rviz_config_generated_for_the_launch(
    namespace, remaps, reliability, expected, camera_qos
):
    path = write_rviz_config(str(RVIZ), namespace, remaps, reliability)
    try:
        data = yaml.safe_load(path.read_text())
    finally:
        path.unlink()
    displays = {d['Name']: d['Topic'] for d in data['Visualization Manager']['Displays']}
    assert [displays[n]['Value'] for n in ('Visible', 'Thermal', 'Fused')] == expected
    assert displays['Visible']['Reliability Policy'] == camera_qos
    assert displays['Thermal']['Reliability Policy'] == camera_qos
    assert displays['Fused']['Reliability Policy'] == 'Reliable'  # the node publishes reliable
    # everything else is the shipped config unchanged
    shipped = yaml.safe_load(RVIZ.read_text())
    assert data['Window Geometry'] == shipped['Window Geometry']
    assert (
        data['Visualization Manager']['Global Options']
        == shipped['Visualization Manager']['Global Options']
    )


def test_topic_names_resolve_like_rcl():
    assert resolve_topic('a/b', '') == '/a/b'
    assert resolve_topic('a/b', '/ns/') == '/ns/a/b'
    assert resolve_topic('/abs', 'ns') == '/abs'
    assert resolve_topic('~/x', 'ns') == '/ns/fusion_node/x'
    assert join_namespace('/outer', 'inner') == '/outer/inner'
    assert join_namespace('/outer', '/abs') == '/abs'
    assert join_namespace('', '') == '/'
    with pytest.raises(ValueError, match='input_reliability'):
        render(RVIZ.read_text(), {}, 'sometimes')


def test_fastdds_profile():
    ns = {'d': 'http://www.eprosima.com'}
    root = ET.parse(FASTDDS).getroot()
    descriptors = {
        d.find('d:transport_id', ns).text: d
        for d in root.iter(f'{{{ns["d"]}}}transport_descriptor')
    }
    kinds = {d.find('d:type', ns).text for d in descriptors.values()}
    assert kinds == {'SHM', 'UDPv4'}
    shm = next(d for d in descriptors.values() if d.find('d:type', ns).text == 'SHM')
    assert int(shm.find('d:segment_size', ns).text) == 32 * 1024 * 1024
    participant = root.find('.//d:participant', ns)
    assert participant.get('is_default_profile') == 'true'
    rtps = participant.find('d:rtps', ns)
    assert rtps.find('d:useBuiltinTransports', ns).text == 'false'
    used = {t.text for t in rtps.find('d:userTransports', ns)}
    assert used == set(descriptors)


@pytest.mark.skipif(
    importlib.util.find_spec('launch_ros') is None,
    reason='launch_ros not installed (make .venv/.dev installs it from '
    '../shared/ros2-cli-wheels where that folder exists)',
)
def test_generate_launch_description_with_launch_ros():
    """Substitutions are lazy: the description builds without an ament index."""
    spec = importlib.util.spec_from_file_location('fuse_launch', LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    names = {a.name for a in description.get_launch_arguments()}
    declared = {ast.literal_eval(c.args[0]) for c in _calls(_tree(), 'DeclareLaunchArgument')}
    assert names == declared
