# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the rosbag2 tests: small sample bags, a tiny model, corrupting bags, processes.

Bags are real rosbag2 folders written by `rosbags` (sqlite3 and mcap), from the bundled demo
sequence at a small size so the tests stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence

ROOT = Path(__file__).resolve().parents[1]
SMALL = {'width': 160, 'height': 128, 'fps': 30.0}


def sample_bag(path: Path, seconds: float = 1.0, **kw) -> Path:
    from fusion_ros.bags.sample import make_sample_bag

    make_sample_bag(path, seconds=seconds, **{**SMALL, **kw})
    return path


def tiny_model(folder: Path) -> Path:
    """Return a 1x1-conv ONNX model + card.

    test/ros_helpers.make_onnx_model, kept in sync with the runtime's model card by the node tests.
    """
    from ros_helpers import make_onnx_model

    folder.mkdir(parents=True, exist_ok=True)
    return make_onnx_model(folder / 'blend.onnx', ir_weight=0.6, name='blend')


def partial_dirs(parent: Path) -> List[str]:
    """Leftover temporary folders of BagWriter (``.NAME.*.partial``)."""
    return sorted(p.name for p in Path(parent).iterdir() if p.name.endswith('.partial'))


def storage_file(bag: Path) -> Path:
    files = [p for p in bag.iterdir() if p.suffix in ('.db3', '.mcap')]
    assert len(files) == 1, files
    return files[0]


def copy_bag(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def truncate(path: Path, fraction: float = 0.5) -> None:
    size = path.stat().st_size
    with open(path, 'r+b') as f:
        f.truncate(int(size * fraction))


def scribble(
    path: Path, offset_fraction: float = 0.0, length: int = 4096, byte: int = 0x5A
) -> None:
    """Overwrite ``length`` bytes at a fraction of the file with garbage."""
    size = path.stat().st_size
    offset = int(size * offset_fraction)
    with open(path, 'r+b') as f:
        f.seek(offset)
        f.write(bytes([byte]) * min(length, size - offset))


def read_topic(bag: Path, topic: str):
    """[(log_time_ns, decoded message)] of one topic."""
    from fusion_ros.bags.io import BagReader

    with BagReader(bag) as reader:
        return [(m.log_time_ns, m.decode()) for m in reader.messages([topic])]


def stamps(messages) -> List[int]:
    return [m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec for _, m in messages]


def expected_pairs(
    bag: Path, visible: str = '/visible/image_raw', thermal: str = '/thermal/image_raw'
) -> List[tuple]:
    """(visible stamp, thermal stamp) of every pair the node's synchroniser makes offline."""
    from fusion_ros.bags.io import BagReader
    from fusion_ros.bags.pairs import synchronized_frames

    with BagReader(bag) as reader:
        return [(v.stamp_ns, t.stamp_ns) for v, t in synchronized_frames(reader, visible, thermal)]


# ----------------------------------------------------------------------------- processes
def ros_env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(ROOT / 'config' / 'fastdds.xml'))
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    env['RCUTILS_COLORIZED_OUTPUT'] = '0'
    env.update(extra)
    return env


class Proc:
    """A child process with its output in a log file; always stopped by :meth:`stop`."""

    def __init__(self, args: Sequence[str], log_path: Path) -> None:
        self.log_path = Path(log_path)
        self._log = open(self.log_path, 'w')
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            env=ros_env(),
            cwd=str(ROOT),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def wait_log(self, text: str, timeout: float, others: Sequence['Proc'] = ()) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if not self.alive():
                raise AssertionError(
                    f'process exited ({self.proc.returncode}) before '
                    f'printing {text!r}:\n{self.log()[-3000:]}'
                )
            for other in others:
                if hasattr(other, 'alive') and not other.alive():
                    raise AssertionError(f'a process exited early:\n{_log_of(other)[-3000:]}')
            time.sleep(0.05)
        raise AssertionError(f'timed out waiting for {text!r}:\n{self.log()[-3000:]}')

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f'process still running after {timeout} s:\n{self.log()[-3000:]}')

    def signal(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        if self.alive():
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()


def _log_of(proc) -> str:
    return proc.log() if hasattr(proc, 'log') else ''


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, poll: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


def cli(*args: str) -> int:
    """Run `fusion-ros ARGS` in this process (the real dispatcher)."""
    from fusion_ros.cli.main import main

    return main(list(args))


def bag_topics(bag: Path) -> Dict[str, tuple]:
    from fusion_ros.bags.io import BagReader

    with BagReader(bag) as reader:
        return {t: (i.msgtype, i.count) for t, i in reader.topics.items()}


HUMBLE_QOS = (
    '- history: 3\n  depth: 0\n  reliability: 1\n  durability: 2\n  deadline:\n    sec: '
    '2147483647\n'
    '    nsec: 4294967295\n  lifespan:\n    sec: 2147483647\n    nsec: 4294967295\n  liveliness: '
    '1\n'
    '  liveliness_lease_duration:\n    sec: 2147483647\n    nsec: 4294967295\n'
    '  avoid_ros_namespace_conventions: false'
)


def humble_style_bag(src: Path, dst: Path) -> Path:
    """Rewrite a sqlite3 bag the way ROS 2 Humble's `ros2 bag record` lays it out.

    Metadata version 5 (no type hashes, no ros_distro, QoS as a YAML string), sqlite schema 3 (no
    message_definitions table), storage file ``<name>_0.db3``.
    """
    import sqlite3

    import yaml

    dst.mkdir(parents=True)
    old = sqlite3.connect(str(storage_file(src)))
    db_name = f'{dst.name}_0.db3'
    new = sqlite3.connect(str(dst / db_name))
    new.executescript("""
        CREATE TABLE schema(schema_version INTEGER PRIMARY KEY, ros_distro TEXT NOT NULL);
        INSERT INTO schema VALUES (3, 'humble');
        CREATE TABLE metadata(id INTEGER PRIMARY KEY, metadata_version INTEGER NOT NULL,
                              metadata TEXT NOT NULL);
        CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
                            serialization_format TEXT NOT NULL,
                            offered_qos_profiles TEXT NOT NULL);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
                              timestamp INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX timestamp_idx ON messages (timestamp ASC);
    """)
    topics = old.execute('SELECT id, name, type FROM topics').fetchall()
    for tid, name, typ in topics:
        new.execute("INSERT INTO topics VALUES (?, ?, ?, 'cdr', ?)", (tid, name, typ, HUMBLE_QOS))
    new.executemany(
        'INSERT INTO messages(topic_id, timestamp, data) VALUES (?, ?, ?)',
        old.execute('SELECT topic_id, timestamp, data FROM messages ORDER BY id'),
    )
    new.commit()
    counts = dict(
        new.execute('SELECT topic_id, count(*) FROM messages GROUP BY topic_id').fetchall()
    )
    start, end, total = new.execute(
        'SELECT MIN(timestamp), MAX(timestamp), COUNT(*) FROM messages'
    ).fetchone()
    new.close()
    old.close()
    info = {
        'version': 5,
        'storage_identifier': 'sqlite3',
        'duration': {'nanoseconds': end - start},
        'starting_time': {'nanoseconds_since_epoch': start},
        'message_count': total,
        'topics_with_message_count': [
            {
                'topic_metadata': {
                    'name': name,
                    'type': typ,
                    'serialization_format': 'cdr',
                    'offered_qos_profiles': HUMBLE_QOS,
                },
                'message_count': counts.get(tid, 0),
            }
            for tid, name, typ in topics
        ],
        'compression_format': '',
        'compression_mode': '',
        'relative_file_paths': [db_name],
        'files': [
            {
                'path': db_name,
                'starting_time': {'nanoseconds_since_epoch': start},
                'duration': {'nanoseconds': end - start},
                'message_count': total,
            }
        ],
    }
    (dst / 'metadata.yaml').write_text(yaml.safe_dump({'rosbag2_bagfile_information': info}))
    return dst
