# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""A small memo for per-source intermediate results.

Edge maps, local statistics, CSF-filtered images.

A leaderboard scores many fused images against the same infrared/visible pair, and the costly part
of Qabf, SSIM, Qcb and Qcv on the source side does not depend on the fused image. Entries are keyed
by the array's content (a SHA-1 digest, ~1 ms for a 640x512 float image), never by identity, so a
stale hit is impossible; the memo is bounded by bytes and evicts least-recently-used entries.
"""

from __future__ import annotations

from collections import OrderedDict
import hashlib
import threading
from typing import Any, Callable

import numpy as np

MAX_BYTES = 192 * 1024 * 1024


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 64


def _freeze(value: Any) -> None:
    """Make a cached array read-only: cached arrays are shared between callers.

    Accidental in-place edits then fail loudly.
    """
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _freeze(v)


class SourceMemo:
    """Content-keyed LRU memo: `memo(tag, image, compute)` returns `compute(image)`, cached."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, tag: str, image: np.ndarray, compute: Callable[[np.ndarray], Any]) -> Any:
        data = np.ascontiguousarray(image)
        key = (tag, data.shape, data.dtype.str, hashlib.sha1(data.data).digest())
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[0]
        value = compute(data)
        _freeze(value)
        size = _nbytes(value)
        if size > self.max_bytes:
            return value
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, old) = self._entries.popitem(last=False)
                self._bytes -= old
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


source_memo = SourceMemo()
