# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Pairs to register: a folder pair matched by file stem, or a rosbag2 with two image topics.

Paired by header stamp exactly as the fusion node pairs them. Images stay raw: thermal at its own
size and bit depth, visible as recorded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

Pairs = tuple[list[str], list[np.ndarray], list[np.ndarray]]  # names, thermals, visibles


def _spread(n: int, limit: int | None) -> list[int]:
    """Up to `limit` indices spread evenly over range(n) (scenes differ more than neighbours)."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, limit)})


def pairs_from_folders(ir_dir: Path, vis_dir: Path, limit: int | None = None) -> Pairs:
    from fusion_ros.images.folders import matched_pairs, read_thermal, read_visible

    found = matched_pairs(Path(ir_dir), Path(vis_dir))
    chosen = [found[k] for k in _spread(len(found), limit)]
    return (
        [s for s, _, _ in chosen],
        [read_thermal(p) for _, p, _ in chosen],
        [read_visible(p) for _, _, p in chosen],
    )


def pairs_from_bag(
    bag: str | os.PathLike,
    visible_topic: str,
    thermal_topic: str,
    every: int = 10,
    limit: int | None = None,
) -> Pairs:
    """Every `every`-th synchronised pair of the bag, at most `limit` of them."""
    from fusion_ros.bags.io import BagReader
    from fusion_ros.bags.pairs import synchronized_frames

    if every < 1:
        raise ValueError(f'--every must be >= 1, got {every}')
    names, thermals, visibles = [], [], []
    with BagReader(bag) as reader:
        for k, (vis, th) in enumerate(synchronized_frames(reader, visible_topic, thermal_topic)):
            if k % every:
                continue
            t = th.to_numpy()
            thermals.append(t[..., 0] if t.ndim == 3 else t)
            visibles.append(vis.to_numpy())
            names.append(f't{vis.stamp_ns / 1e9:.3f}')
            if limit is not None and len(names) >= limit:
                break
    if not names:
        raise ValueError(f'{bag}: no synchronised {visible_topic} / {thermal_topic} pairs')
    return names, thermals, visibles
