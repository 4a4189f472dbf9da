# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros soak`, shortened.

A real node process, one row per interval, the verdict and the plot.
"""

from __future__ import annotations

import json
from pathlib import Path

from fusion_ros.cli.main import main


def test_short_soak_writes_rows_verdict_and_plot(tmp_path: Path) -> None:
    out = tmp_path / 'soak'
    assert (
        main(
            [
                'soak',
                '--model',
                'mmdrfuse',
                '--backend',
                'cpu',
                '--minutes',
                '0.1',
                '--interval-s',
                '3',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    data = json.loads((out / 'soak.json').read_text())
    rows, summary = data['intervals'], data['summary']
    assert len(rows) == 2 and [r['published'] for r in rows] == [90, 90]
    assert all(r['rss_mb'] > 50 and r['received'] > 0 for r in rows)
    assert summary['published'] == 180 and 0 < summary['received'] <= 180
    assert summary['errors_total'] == 0
    assert (out / 'soak.png').stat().st_size > 10_000
    assert '| end s | node RSS MB |' in (out / 'soak.md').read_text()
