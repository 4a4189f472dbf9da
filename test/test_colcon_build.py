# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`colcon build` of the package installs what `ros2 run` and `ros2 launch` look for."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

from colcon_helpers import colcon_install, REPO
import pytest


@pytest.fixture(scope='module')
def install(tmp_path_factory) -> Path:
    return colcon_install(tmp_path_factory.mktemp('ws'))


def test_executables_installed_where_ros2_run_looks(install: Path) -> None:
    lib = install / 'lib' / 'fusion_ros'
    for exe in (
        'fusion_node',
        'train_node',
        'replay_node',
        'recorder_node',
        'demo_source_node',
        'demo_sink_node',
        'fusion-ros',
    ):
        assert (lib / exe).is_file(), f'{exe} missing from {lib}'
        assert os.access(lib / exe, os.X_OK)


def test_share_files_installed_for_ros2_launch(install: Path) -> None:
    share = install / 'share' / 'fusion_ros'
    for rel in (
        'package.xml',
        'launch/fuse.launch.py',
        'config/fusion.yaml',
        'config/fusion.rviz',
        'config/fastdds.xml',
    ):
        assert (share / rel).is_file(), f'{rel} missing from {share}'
    assert (
        install.parent
        / 'fusion_ros'
        / 'share'
        / 'ament_index'
        / 'resource_index'
        / 'packages'
        / 'fusion_ros'
    ).is_file()


def test_installed_package_carries_weights_and_demo_data(install: Path) -> None:
    site = next((install / 'lib').glob('python3*/site-packages/fusion_ros'))
    for name in ('mmdrfuse', 'mobilefuse', 'aenetv2'):
        assert (site / 'weights' / f'{name}.onnx').is_file()
        assert (site / 'weights' / f'{name}.json').is_file()
    assert len(list((site / 'data' / 'demo').glob('*.png'))) >= 4


def test_installed_cli_runs(install: Path) -> None:
    site = next((install / 'lib').glob('python3*/site-packages'))
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run(
        [sys.executable, str(install / 'lib' / 'fusion_ros' / 'fusion-ros'), '--help'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=install,
    )
    assert out.returncode == 0, out.stderr
    assert 'demo' in out.stdout and 'fuse-bag' in out.stdout


def _source_data_files() -> list:
    """Files of the source package that are not Python modules.

    What the package reads at run time.
    """
    listed = subprocess.run(
        ['git', 'ls-files', 'fusion_ros'], cwd=REPO, capture_output=True, text=True
    ).stdout.split()
    paths = [REPO / p for p in listed] or list((REPO / 'fusion_ros').rglob('*'))
    return sorted(
        p.relative_to(REPO / 'fusion_ros')
        for p in paths
        if p.is_file() and p.suffix not in ('.py', '.pyc') and '__pycache__' not in p.parts
    )


def test_installed_package_carries_every_data_file(install: Path) -> None:
    site = next((install / 'lib').glob('python3*/site-packages/fusion_ros'))
    data = _source_data_files()
    assert any(p.parts[:2] == ('training', 'configs') for p in data)
    missing = [str(p) for p in data if not (site / p).is_file()]
    assert not missing, f'not installed by setup.py: {missing}'
    assert (install / 'share' / 'fusion_ros' / 'LICENSE').is_file()


def test_train_tiny_from_install_tree(install: Path, tmp_path: Path) -> None:
    """`fusion-ros train --config tiny` from the install tree.

    Its configs and demo pairs, no source checkout on the path, no dataset folder.
    """
    site = next((install / 'lib').glob('python3*/site-packages'))
    empty = tmp_path / 'no_datasets'
    empty.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site), FUSION_ROS_DATASETS=str(empty))
    where = subprocess.run(
        [sys.executable, '-c', 'import fusion_ros; print(fusion_ros.__file__)'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    out = subprocess.run(
        [
            sys.executable,
            str(install / 'lib' / 'fusion_ros' / 'fusion-ros'),
            'train',
            '--model',
            'mmdrfuse',
            '--config',
            'tiny',
            '--out',
            str(tmp_path / 'run'),
            '--quiet',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (tmp_path / 'run' / 'export' / 'mmdrfuse.onnx').is_file()
    assert (tmp_path / 'run' / 'export' / 'mmdrfuse.json').is_file()
