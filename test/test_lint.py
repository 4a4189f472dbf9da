# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Lint as tests, the way an ament_python package runs them (issue 17).

flake8 with ament_flake8's configuration (the [flake8] section of setup.cfg), pydocstyle with the
pep257 convention as ament_pep257 runs it, and a copyright/licence header check in the spirit of
ament_copyright. tools/lint_fix.sh re-applies the mechanical fixes (formatting, import order).
"""

from pathlib import Path
import re
import subprocess
import sys

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What is linted: the package, its launch files, setup.py, the tests and the tools.
LINTED = ['fusion_ros', 'launch', 'setup.py', 'test', 'tools']
# ament_pep257's default ignores on top of the pep257 convention.
PEP257_IGNORE = 'D100,D101,D102,D103,D104,D105,D106,D107,D203,D212,D404'
COPYRIGHT = re.compile(r'^# Copyright \d{4}(-\d{4})? \S.*$')
SPDX = '# SPDX-License-Identifier: Apache-2.0'
SKIP_DIRS = {'.venv', 'build', 'install', 'log', '__pycache__', '.git', 'out', 'runs'}


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-m', *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def _python_files() -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob('*.py')):
        parts = set(path.relative_to(ROOT).parts[:-1])
        if not parts & SKIP_DIRS and not any(p.endswith('.egg-info') for p in parts):
            files.append(path)
    return files


def test_flake8():
    """No flake8 finding with ament_flake8's configuration and plugins (setup.cfg [flake8])."""
    pytest.importorskip('flake8')
    pytest.importorskip('flake8_quotes')
    proc = _run(['flake8', '--config', 'setup.cfg', *LINTED])
    findings = proc.stdout.strip()
    assert proc.returncode == 0 and not findings, f'flake8 findings:\n{findings}\n{proc.stderr}'


def test_pep257():
    """No pydocstyle finding with the pep257 convention and ament_pep257's ignores."""
    pytest.importorskip('pydocstyle')
    proc = _run(
        [
            'pydocstyle',
            '--convention=pep257',
            f'--add-ignore={PEP257_IGNORE}',
            '--match=.*\\.py',  # every file, tests included (pydocstyle skips test_* by default)
            *LINTED,
        ]
    )
    findings = proc.stdout.strip()
    assert proc.returncode == 0 and not findings, f'pydocstyle:\n{findings}\n{proc.stderr}'


def test_licence_is_apache_2():
    """LICENSE, package.xml and setup.py agree on Apache-2.0, the licence the headers name."""
    assert 'Apache License' in (ROOT / 'LICENSE').read_text()
    assert 'Version 2.0, January 2004' in (ROOT / 'LICENSE').read_text()
    assert '<license>Apache-2.0</license>' in (ROOT / 'package.xml').read_text()
    assert "license='Apache-2.0'" in (ROOT / 'setup.py').read_text()


def test_every_python_file_has_copyright_and_spdx_header():
    """Every .py file opens with a copyright line and the SPDX licence identifier."""
    files = _python_files()
    assert len(files) > 100  # the walk found the package, not an empty folder
    missing = []
    for path in files:
        head = path.read_text(encoding='utf-8').splitlines()[:5]
        if not any(COPYRIGHT.match(line) for line in head) or SPDX not in head:
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, 'no copyright / SPDX header in the first 5 lines:\n' + '\n'.join(missing)
