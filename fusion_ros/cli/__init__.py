# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros` command line: one verb per job."""

from __future__ import annotations

import sys


def table_console():
    """Return a rich Console for the verbs' summary tables.

    The terminal's width when there is one, else 120 columns, so a table written to a log or CI is
    not truncated at rich's default 80.
    """
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120)
