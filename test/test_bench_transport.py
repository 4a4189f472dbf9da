# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros bench-transport`: a real publisher process and a real subscriber process per run."""

from __future__ import annotations

import argparse
from pathlib import Path

from fusion_ros.cli import bench_transport_cmd as bt


def small_args(**kw) -> argparse.Namespace:
    base = {'seconds': 1.0, 'rate': 20.0, 'width': 64, 'height': 48, 'repeat': 1, 'out': None}
    return argparse.Namespace(**{**base, **kw})


def test_reliable_small_frames_all_arrive_through_the_shipped_profile(tmp_path: Path) -> None:
    args = small_args()
    result = bt.measure('reliable', 'fastdds.xml', args, tmp_path)
    assert result.error == ''
    assert result.sent == 20 and result.received == 20
    assert result.p50_ms is not None and 0.0 < result.p50_ms <= result.p99_ms < 1000.0
    md = bt.to_markdown([result], args)
    assert '| reliable | config/fastdds.xml (32 MiB SHM + UDPv4) | 20 of 20 |' in md
    assert 'Command: `fusion-ros bench-transport`' in md


def test_probe_environment_sets_or_clears_the_profile(monkeypatch) -> None:
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', '/elsewhere.xml')
    builtin = bt.probe_environment('builtin', 7)
    assert 'FASTDDS_DEFAULT_PROFILES_FILE' not in builtin
    assert (
        builtin['ROS_DOMAIN_ID'] == '7' and builtin['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    )
    shipped = bt.probe_environment('fastdds.xml', 7)
    assert shipped['FASTDDS_DEFAULT_PROFILES_FILE'].endswith('fastdds.xml')
    assert Path(shipped['FASTDDS_DEFAULT_PROFILES_FILE']).is_file()


def test_publisher_without_a_subscriber_reports_an_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = bt.probe_environment('builtin', 93)
    out = tmp_path / 'pub.json'
    rc = subprocess.run(
        [
            sys.executable,
            '-m',
            'fusion_ros.live.transport_probe',
            'pub',
            '--timeout',
            '1',
            '--out',
            str(out),
        ],
        env=env,
        timeout=60,
    ).returncode
    assert rc == 1 and 'no subscriber matched' in out.read_text()
