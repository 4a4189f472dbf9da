# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros bench-transport`: how 640x512 frames travel between two ROS 2 processes.

    fusion-ros bench-transport [--seconds 5] [--rate 30] [--repeat 1] [--out docs/transport.md]

For each QoS (reliable, best effort) and each Fast DDS transport setup (the built-in transports,
and the shipped config/fastdds.xml with its 32 MiB shared-memory segment) a publisher process sends
`rate * seconds` bgr8 frames to a subscriber process (`fusion_ros.live.transport_probe`), on a
private domain with localhost-only discovery. Reports frames delivered and latency p50 / p99
(receive time minus stamp). This is the measurement behind the node's choice of RELIABLE images and
the DDS profile the launch file sets.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
import os
from pathlib import Path
import random
import subprocess
import sys
import tempfile
import time

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--seconds', type=float, default=5.0, help='stream length per configuration (default 5)'
    )
    parser.add_argument('--rate', type=float, default=30.0, help='frames per second (default 30)')
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument('--repeat', type=int, default=1, help='runs per configuration (default 1)')
    parser.add_argument(
        '--out', type=Path, default=None, help='also write the Markdown table here'
    )


@dataclass
class TransportResult:
    qos: str
    profile: str
    sent: int
    received: int
    p50_ms: float | None
    p99_ms: float | None
    error: str = ''


CONFIGS: list[tuple[str, str]] = [
    ('best_effort', 'builtin'),
    ('best_effort', 'fastdds.xml'),
    ('reliable', 'builtin'),
    ('reliable', 'fastdds.xml'),
]


def probe_environment(profile: str, domain_id: int) -> dict[str, str]:
    """Return a private domain, localhost discovery, and no DDS profile or the shipped one."""
    from fusion_ros.ros.qos import FASTDDS_PROFILE_VARIABLE, use_fastdds_profile

    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    env.pop(FASTDDS_PROFILE_VARIABLE, None)
    if profile == 'fastdds.xml' and use_fastdds_profile(env) is None:
        raise SystemExit('fusion-ros bench-transport: config/fastdds.xml not found')
    return env


def measure(qos: str, profile: str, args: argparse.Namespace, workdir: Path) -> TransportResult:
    """One publisher process -> one subscriber process; returns what arrived and how late."""
    env = probe_environment(profile, random.SystemRandom().randint(1, 101))
    common = ['--qos', qos, '--seconds', str(args.seconds)]
    sub_out, pub_out = workdir / f'sub_{qos}_{profile}.json', workdir / f'pub_{qos}_{profile}.json'
    probe = [sys.executable, '-m', 'fusion_ros.live.transport_probe']
    with open(workdir / f'probe_{qos}_{profile}.log', 'w') as log:
        sub = subprocess.Popen(
            [*probe, 'sub', *common, '--out', str(sub_out)], env=env, stdout=log, stderr=log
        )
        time.sleep(0.5)
        pub = subprocess.Popen(
            [
                *probe,
                'pub',
                *common,
                '--rate',
                str(args.rate),
                '--width',
                str(args.width),
                '--height',
                str(args.height),
                '--out',
                str(pub_out),
            ],
            env=env,
            stdout=log,
            stderr=log,
        )
        limit = args.seconds + 60
        try:
            pub.wait(timeout=limit)
            sub.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            for p in (pub, sub):
                p.kill()
            return TransportResult(qos, profile, 0, 0, None, None, 'timed out')
    if not pub_out.is_file() or not sub_out.is_file():
        return TransportResult(qos, profile, 0, 0, None, None, f'a probe failed (see {log.name})')
    sent, got = json.loads(pub_out.read_text()), json.loads(sub_out.read_text())
    lat = np.asarray(got['latencies_ms'], dtype=float)
    return TransportResult(
        qos,
        profile,
        int(sent.get('sent', 0)),
        int(got['unique']),
        float(np.percentile(lat, 50)) if lat.size else None,
        float(np.percentile(lat, 99)) if lat.size else None,
        sent.get('error', ''),
    )


def to_markdown(results: list[TransportResult], args: argparse.Namespace) -> str:
    from fusion_ros.cli.bench_cmd import cpu_name

    lines = [
        f'Measured {time.strftime("%Y-%m-%d")} on {cpu_name()} ({os.cpu_count()} cores), '
        f'{args.width}x{args.height} bgr8 at '
        f'{args.rate:g} Hz for {args.seconds:g} s per run, publisher and subscriber in separate '
        'processes, '
        "Fast DDS, localhost discovery. The node takes its publishers' reliability "
        '(`input_reliability` auto), so both rows are what a camera driver of that QoS gets.',
        'Command: `fusion-ros bench-transport'
        + (f' --repeat {args.repeat}' if args.repeat > 1 else '')
        + '`',
        '',
        '| QoS | transports | frames delivered | latency p50 / p99 |',
        '|---|---|---|---|',
    ]
    for r in results:
        qos = 'reliable' if r.qos == 'reliable' else 'best effort (sensor data)'
        transports = (
            'config/fastdds.xml (32 MiB SHM + UDPv4)'
            if r.profile == 'fastdds.xml'
            else 'Fast DDS built-in'
        )
        latency = f'{r.p50_ms:.1f} ms / {r.p99_ms:.1f} ms' if r.p50_ms is not None else '-'
        delivered = f'{r.received} of {r.sent}' + (f' ({r.error})' if r.error else '')
        lines.append(f'| {qos} | {transports} | {delivered} | {latency} |')
    return '\n'.join(lines) + '\n'


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    results: list[TransportResult] = []
    with (
        tempfile.TemporaryDirectory(prefix='fusion_ros_transport_') as tmp,
        Progress() as progress,
    ):
        task = progress.add_task('transport', total=len(CONFIGS) * args.repeat)
        for qos, profile in CONFIGS:
            for _ in range(args.repeat):
                progress.update(task, description=f'{qos} / {profile}')
                results.append(measure(qos, profile, args, Path(tmp)))
                progress.advance(task)
    table = to_markdown(results, args)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
        print(f'wrote {args.out}')
    return 0 if all(not r.error for r in results) else 1
