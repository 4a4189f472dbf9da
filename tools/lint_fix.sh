#!/usr/bin/env bash
# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
#
# Re-applies the mechanical part of the ament lint clean-up (issue 17) to the given files or folders
# (default: the package, the launch files, setup.py and the tests):
#   ruff format (ruff.toml: 99 columns, single quotes) and ruff check --fix (google import order,
#   quotes), then tools/lint_fix_e203.py takes out the space ruff puts before ':' in complex slices
#   (pycodestyle E203, which ament_flake8 keeps).
# What it cannot fix (docstring wording, long strings and comments) test/test_lint.py lists:
#   .venv/bin/python -m pytest -q test/test_lint.py
# Needs the dev requirements (requirements/dev.txt pins ruff and flake8): make .venv/.dev
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_BIN="${VENV_BIN:-.venv/bin}"
if [ "$#" -eq 0 ]; then set -- fusion_ros launch setup.py test; fi
"$VENV_BIN/ruff" format --config ruff.toml "$@"
"$VENV_BIN/ruff" check --config ruff.toml --fix --exit-zero --quiet "$@"
"$VENV_BIN/python" tools/lint_fix_e203.py "$VENV_BIN/flake8" "$@"
