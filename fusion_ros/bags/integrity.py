# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Bag integrity: CRCs in the MCAP chunks we write, and a check of every bag before it is used.

Why: rosbags writes MCAP chunks with CRC 0 ("not computed"), so 64 kB overwritten in the middle of
a bag still read as valid messages with garbage pixels. We fill in each chunk's CRC-32 when a bag
is closed (the MCAP spec's `uncompressed_crc`), and on opening verify every chunk that has one,
and run SQLite's own `PRAGMA integrity_check` on .db3 files, so a corrupt bag is refused before
anything is published or written.
"""

from __future__ import annotations

from binascii import crc32
from pathlib import Path
import sqlite3
from typing import BinaryIO, Iterator, NamedTuple

MCAP_MAGIC = b'\x89MCAP0\r\n'
_CHUNK, _FOOTER = 0x06, 0x02


class IntegrityError(ValueError):
    """A storage file fails its checks; the message says which file and where."""

    def __init__(self, message: str, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


class _Chunk(NamedTuple):
    crc_offset: int  # file offset of the uncompressed_crc field
    crc: int
    compression: str
    records: bytes  # the (possibly compressed) records
    uncompressed_size: int


def _u64(data: bytes, at: int = 0) -> int:
    return int.from_bytes(data[at: at + 8], 'little')


def _chunks(f: BinaryIO, name: str) -> Iterator[_Chunk]:
    """Every Chunk record of an MCAP file, read one at a time.

    Bags may be far bigger than memory.
    """
    size = f.seek(0, 2)
    f.seek(0)
    if f.read(8) != MCAP_MAGIC:
        raise IntegrityError(f'{name}: not an MCAP file (bad magic)')
    pos = len(MCAP_MAGIC)
    while pos + 9 <= size:
        f.seek(pos)
        head = f.read(9)
        op, length, body = head[0], _u64(head, 1), pos + 9
        if body + length > size:
            raise IntegrityError(
                f'{name}: record at byte {pos} runs past the end of the file', truncated=True
            )
        if op == _FOOTER:
            return
        if op == _CHUNK:
            record = f.read(length)
            name_len = int.from_bytes(record[28:32], 'little')
            records_at = 32 + name_len
            records_len = _u64(record, records_at)
            if records_at + 8 + records_len > length:
                raise IntegrityError(f'{name}: chunk at byte {pos} is malformed')
            yield _Chunk(
                body + 24,
                int.from_bytes(record[24:28], 'little'),
                record[32:records_at].decode('ascii', 'replace'),
                record[records_at + 8: records_at + 8 + records_len],
                _u64(record, 16),
            )
        pos = body + length
    raise IntegrityError(f'{name}: no footer', truncated=True)


def _uncompressed(chunk: _Chunk, name: str) -> bytes:
    if not chunk.compression:
        return chunk.records
    try:
        from rosbags.rosbag2.storage_mcap import DECOMPRESSORS

        return DECOMPRESSORS[chunk.compression](chunk.records, chunk.uncompressed_size)
    except Exception as exc:  # noqa: BLE001 - any decompressor failure means corrupt data
        raise IntegrityError(
            f'{name}: chunk at byte {chunk.crc_offset} does not decompress '
            f'({chunk.compression}: {exc})'
        ) from None


def add_mcap_crcs(path: Path) -> int:
    """Fill in the CRC-32 of every chunk of an MCAP file that has none; returns how many."""
    with open(path, 'r+b') as f:
        patches = [
            (c.crc_offset, crc32(_uncompressed(c, path.name)))
            for c in _chunks(f, path.name)
            if c.crc == 0
        ]
        for offset, crc in patches:
            f.seek(offset)
            f.write(crc.to_bytes(4, 'little'))
    return len(patches)


def check_mcap(path: Path) -> int:
    """Verify the structure and every chunk CRC of an MCAP file.

    Returns the number of chunks checked.
    """
    checked = 0
    with open(path, 'rb') as f:
        for chunk in _chunks(f, path.name):
            if chunk.crc and crc32(_uncompressed(chunk, path.name)) != chunk.crc:
                raise IntegrityError(
                    f'{path.name}: chunk at byte {chunk.crc_offset} fails its CRC '
                    f'(the data was changed after recording)'
                )
            checked += 1
    return checked


def check_sqlite(path: Path) -> None:
    """Return SQLite's own integrity check of a .db3 file, opened read-only."""
    try:
        with sqlite3.connect(f'file:{path}?mode=ro', uri=True) as db:
            rows = db.execute('PRAGMA integrity_check').fetchall()
    except sqlite3.DatabaseError as exc:
        raise IntegrityError(f'{path.name}: {exc}') from None
    problems = [r[0] for r in rows if r[0] != 'ok']
    if problems:
        raise IntegrityError(
            f'{path.name}: SQLite integrity check failed: {"; ".join(problems[:3])}'
        )


def storage_files(bag: Path) -> list[Path]:
    """Return the .mcap / .db3 files of a bag folder, or the file itself."""
    if bag.is_dir():
        return sorted(p for p in bag.iterdir() if p.suffix in ('.mcap', '.db3'))
    return [bag]


def check_bag(bag: Path) -> None:
    """Raise IntegrityError when any storage file of the bag fails its checks."""
    for f in storage_files(bag):
        if f.stat().st_size == 0:
            raise IntegrityError(f'{f.name} is empty', truncated=True)
        if f.suffix == '.mcap':
            check_mcap(f)
        elif f.suffix == '.db3':
            check_sqlite(f)
