# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""package.xml: every key resolves with rosdep; the declared dependencies are the imported ones.

The rosdep check runs the README's install step (`rosdep install --from-paths . --ignore-src`,
simulated) and `rosdep check` against the rosdistro snapshot in ../shared/rosdistro (no network):
a temporary sources list and ROS_HOME, ROSDISTRO_INDEX_URL pointing at the snapshot's index.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
import subprocess
import sys
from typing import Dict, Set
import xml.etree.ElementTree as ET

import pytest

REPO = Path(__file__).resolve().parents[1]
ROSDISTRO = REPO.parent / 'shared' / 'rosdistro'
ROSDEP = str(Path(sys.executable).with_name('rosdep'))

#: Imported top-level module -> the rosdep key that provides it.
KEYS = {
    'numpy': 'python3-numpy',
    'cv2': 'python3-opencv',
    'onnxruntime': 'python3-onnxruntime-pip',
    'rosbags': 'python3-rosbags-pip',
    'tqdm': 'python3-tqdm',
    'rich': 'python3-rich',
    'matplotlib': 'python3-matplotlib',
    'yaml': 'python3-yaml',
    **{
        name: name
        for name in (
            'rclpy',
            'sensor_msgs',
            'std_msgs',
            'diagnostic_msgs',
            'rosgraph_msgs',
            'rcl_interfaces',
            'builtin_interfaces',
            'lifecycle_msgs',
            'ament_index_python',
            'message_filters',
            'launch',
            'launch_ros',
        )
    },
}
#: Imported but deliberately not an exec_depend (package.xml says why in a comment).
NOT_EXEC = {
    'onnx': 'no rosdep key; optional (OpenCV fast path), ONNX Runtime runs graphs without it',
    'torch': 'training and export only: a test_depend',
    'apsw': "rosbags' sqlite3 storage plugin, installed with rosbags",
    'ruamel': "rosbags' YAML library, installed with rosbags",
}
#: exec_depends that provide a tool, or that a ROS package imports for us, rather than an import.
TOOLS = {
    'ros2launch': '`ros2 launch fusion_ros fuse.launch.py`',
    'lifecycle_msgs': 'rclpy.lifecycle (fusion_node --lifecycle, launch lifecycle:=true)',
}


def _depends(kind: str) -> Set[str]:
    root = ET.parse(REPO / 'package.xml').getroot()
    return {e.text.strip() for e in root.iter(kind)}


def _imported_modules() -> Dict[str, Path]:
    """Top-level third-party modules imported anywhere in fusion_ros/ and launch/ -> one file."""
    found: Dict[str, Path] = {}
    files = list((REPO / 'fusion_ros').rglob('*.py')) + list((REPO / 'launch').glob('*.py'))
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split('.')[0]
                if top not in sys.stdlib_module_names and top not in ('fusion_ros', '__future__'):
                    found.setdefault(top, path.relative_to(REPO))
    return found


def test_every_import_is_declared_and_every_exec_depend_is_used() -> None:
    imported = _imported_modules()
    unknown = {m: str(p) for m, p in imported.items() if m not in KEYS and m not in NOT_EXEC}
    assert not unknown, f'imports with no rosdep key mapped in this test (add it): {unknown}'
    exec_depends = _depends('exec_depend')
    needed = {KEYS[m] for m in imported if m in KEYS}
    assert needed <= exec_depends, f'imported but not an exec_depend: {needed - exec_depends}'
    unused = exec_depends - needed - set(TOOLS)
    assert not unused, f'exec_depends nothing imports: {unused}'
    assert 'torch' in imported and 'python3-torch' in _depends('test_depend')
    for gui_or_unused in ('rviz2', 'cv_bridge'):
        assert gui_or_unused not in exec_depends | _depends('depend')


@pytest.fixture(scope='module')
def rosdep_env(tmp_path_factory) -> Dict[str, str]:
    """Return a rosdep cache built from the snapshot only, in a temporary ROS_HOME."""
    if not ROSDISTRO.is_dir():
        pytest.skip(f'no rosdistro snapshot at {ROSDISTRO}')
    tmp = tmp_path_factory.mktemp('rosdep')
    sources = tmp / 'sources.list.d'
    sources.mkdir()
    (sources / '10-snapshot.list').write_text(
        ''.join(f'yaml file://{ROSDISTRO}/rosdep/{name}.yaml\n' for name in ('base', 'python'))
    )
    env = dict(
        os.environ,
        ROSDEP_SOURCE_PATH=str(sources),
        ROS_HOME=str(tmp / 'home'),
        ROSDISTRO_INDEX_URL=f'file://{ROSDISTRO}/index-v4.yaml',
        ROS_PYTHON_VERSION='3',
    )
    update = subprocess.run(
        [ROSDEP, 'update', '--rosdistro', 'kilted'],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert update.returncode == 0, update.stdout[-2000:] + update.stderr[-2000:]
    return env


def _rosdep(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ROSDEP, *args], env=env, capture_output=True, text=True, timeout=180, cwd=REPO
    )


def test_rosdep_install_resolves_every_key_on_kilted_noble(rosdep_env, tmp_path) -> None:
    """The README's install step in a workspace whose src/ holds this package.

    Simulated for Ubuntu Noble (Kilted's platform).
    """
    (tmp_path / 'src').mkdir()
    (tmp_path / 'src' / 'fusion_ros').symlink_to(REPO)
    result = subprocess.run(
        [
            ROSDEP,
            'install',
            '--from-paths',
            'src',
            '-y',
            '--ignore-src',
            '--rosdistro',
            'kilted',
            '--os',
            'ubuntu:noble',
            '--simulate',
            '--reinstall',
        ],
        env=rosdep_env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for command in (
        'ros-kilted-rclpy',
        'ros-kilted-ros2launch',
        'pip3 install -U -I onnxruntime',
        'pip3 install -U -I rosbags',
        'python3-yaml',
        'python3-torch',
    ):
        assert command in out, f'{command!r} not in the install plan:\n{out}'
    assert 'rviz2' not in out and 'cv-bridge' not in out


def test_rosdep_check_resolves_every_key_here(rosdep_env) -> None:
    """`rosdep check` on this machine's OS: keys may be uninstalled, never unresolved."""
    result = _rosdep(
        rosdep_env, 'check', '--from-paths', '.', '--ignore-src', '--rosdistro', 'kilted'
    )
    out = result.stdout + result.stderr
    assert 'could not have their rosdep keys resolved' not in out, out
    assert 'Cannot locate rosdep definition' not in out, out
    keys = _rosdep(rosdep_env, 'keys', '--from-paths', '.', '--ignore-src').stdout.split()
    declared = _depends('exec_depend') | _depends('test_depend')
    assert set(keys) == declared


def test_rosdep_rejects_an_unknown_key(rosdep_env) -> None:
    """The old key python3-torch-pip does not exist: the snapshot check can fail."""
    result = _rosdep(
        rosdep_env, 'resolve', 'python3-torch-pip', '--rosdistro', 'kilted', '--os', 'ubuntu:noble'
    )
    assert result.returncode != 0
    assert (
        'python3-torch'
        in _rosdep(
            rosdep_env, 'resolve', 'python3-torch', '--rosdistro', 'kilted', '--os', 'ubuntu:noble'
        ).stdout
    )
