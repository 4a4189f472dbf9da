# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`colcon build` of this package into a temporary workspace (shared by the install-tree tests)."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import sys
from typing import Dict

import pytest

REPO = Path(__file__).resolve().parents[1]
COLCON = shutil.which('colcon') or str(Path(sys.executable).with_name('colcon'))


def colcon_install(ws: Path) -> Path:
    """Build the package in ``ws``; returns ``ws/install/fusion_ros``.

    Skips without colcon.
    """
    if not Path(COLCON).exists():
        pytest.skip(
            'colcon is not installed (pip install colcon-core colcon-ros colcon-python-setup-py)'
        )
    result = subprocess.run(
        [
            COLCON,
            '--log-base',
            str(ws / 'log'),
            'build',
            '--base-paths',
            str(REPO),
            '--build-base',
            str(ws / 'build'),
            '--install-base',
            str(ws / 'install'),
        ],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return ws / 'install' / 'fusion_ros'


def install_env(install: Path, *prefixes: Path, **extra: str) -> Dict[str, str]:
    """Return the environment `source install/setup.bash` gives.

    The venv prefix is added for launch's ament resources, with this package only from the install
    tree.
    """
    site = next((install / 'lib').glob('python3*/site-packages'))
    ament = [str(p) for p in (install, *prefixes)] + [sys.prefix]
    env = dict(
        os.environ,
        PYTHONPATH=str(site),
        AMENT_PREFIX_PATH=os.pathsep.join(ament),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')]),
    )
    env.update(extra)
    return env
