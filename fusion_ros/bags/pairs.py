# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Visible/thermal pairs out of a bag, with the synchroniser the fusion node uses.

:class:`FramePairer` feeds image frames to :class:`fusion_ros.sync.RestartingSynchronizer`
(message_filters' ApproximateTime policy with the node's restart on time jumps and counters) by
header stamp and hands back the pairs it outputs.

:func:`pairs_from_bag` is the training data source (``{"source": "bag", "bag": ..., ...}`` in
``fusion_ros.training.data.load_pairs_from_source``).
"""

from __future__ import annotations

import os
from typing import Any, Iterator, List, NamedTuple, Optional, Tuple

from fusion_ros.bags.io import BagReader, image_frame, ImageFrame, resolve_image_topic
from fusion_ros.images.folders import resize_max_side, thermal_to_unit, visible_to_luminance
from fusion_ros.sync import (
    DEFAULT_QUEUE_SIZE,
    DEFAULT_SLOP_S,
    OFFLINE_INTER_MESSAGE_LOWER_BOUND_S,
    PairStats,
    RestartingSynchronizer,
)
import numpy as np


class FramePairer:
    """Pair visible (index 0) and thermal (index 1) frames by header stamp.

    The offline adapter of :class:`fusion_ros.sync.RestartingSynchronizer` (pairs are returned
    instead of called back; on a time jump the frames before it are still paired).
    """

    def __init__(
        self,
        slop_s: float = DEFAULT_SLOP_S,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        inter_message_lower_bound_s: float = OFFLINE_INTER_MESSAGE_LOWER_BOUND_S,
    ) -> None:
        self._ready: List[Tuple[Any, Any]] = []
        self._sync = RestartingSynchronizer(
            queue_size,
            slop_s,
            self._on_pair,
            flush_on_jump=True,
            inter_message_lower_bound_s=inter_message_lower_bound_s,
        )

    def _on_pair(self, visible: Any, thermal: Any) -> None:
        self._ready.append((visible, thermal))

    def _take(self) -> List[Tuple[Any, Any]]:
        ready, self._ready = self._ready, []
        return ready

    def add(self, index: int, stamp_ns: int, item: Any) -> List[Tuple[Any, Any]]:
        """Add one frame; returns the pairs that became final (oldest first)."""
        self._sync.add(index, stamp_ns, item)
        return self._take()

    def flush(self) -> List[Tuple[Any, Any]]:
        """End of input: the remaining best pairs."""
        self._sync.flush()
        return self._take()

    @property
    def stats(self) -> PairStats:
        return self._sync.stats


def synchronized_frames(
    bag: BagReader,
    visible_topic: str,
    thermal_topic: str,
    *,
    slop: float = DEFAULT_SLOP_S,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    inter_message_lower_bound: float = OFFLINE_INTER_MESSAGE_LOWER_BOUND_S,
    stats: Optional[PairStats] = None,
) -> Iterator[Tuple[ImageFrame, ImageFrame]]:
    """(visible, thermal) ImageFrames of an open bag, paired as the node pairs them, in order.

    Topics are resolved with :func:`resolve_image_topic` (``T`` or ``T/compressed``). ``stats``
    (optional) is filled in when the iteration ends.
    """
    vis_topic = resolve_image_topic(bag, visible_topic)
    th_topic = resolve_image_topic(bag, thermal_topic)
    pairer = FramePairer(slop, queue_size, inter_message_lower_bound)
    for m in bag.messages([vis_topic, th_topic]):
        frame = image_frame(m)
        yield from pairer.add(0 if m.topic == vis_topic else 1, frame.stamp_ns, frame)
    yield from pairer.flush()
    if stats is not None:
        final = pairer.stats
        stats.received, stats.pairs, stats.dropped = final.received, final.pairs, final.dropped
        stats.out_of_order, stats.resets = final.out_of_order, final.resets


# ----------------------------------------------------------------------------- training pairs
class BagPair(NamedTuple):
    """One training pair from a bag.

    A tuple ``(name, ir, vis, vis_bgr)`` that also reads like ``fusion_ros.training.data.Pair``
    (``.name .ir .vis .vis_bgr .shape .stacked()``).
    """

    name: str
    ir: np.ndarray  # float32 HxW in [0, 1]
    vis: np.ndarray  # float32 HxW in [0, 1] (luminance)
    vis_bgr: Optional[np.ndarray]  # uint8 HxWx3 for colour visible, else None

    @property
    def shape(self) -> Tuple[int, int]:
        return int(self.ir.shape[0]), int(self.ir.shape[1])

    def stacked(self) -> np.ndarray:
        return np.stack([self.ir, self.vis]).astype(np.float32, copy=False)


def _to_bgr(array: np.ndarray, encoding: str) -> np.ndarray:
    import cv2

    if array.ndim == 3 and array.shape[2] == 3 and encoding.lower().startswith('rgb'):
        return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if array.ndim == 3 and array.shape[2] == 4:
        code = cv2.COLOR_RGBA2BGR if encoding.lower().startswith('rgba') else cv2.COLOR_BGRA2BGR
        return cv2.cvtColor(array, code)
    if array.dtype != np.uint8:
        array = cv2.convertScaleAbs(array, alpha=255.0 / max(float(array.max()), 1.0))
    return array


def pairs_from_bag(
    bag: str | os.PathLike,
    visible_topic: str = '/visible/image_raw',
    thermal_topic: str = '/thermal/image_raw',
    slop: float = DEFAULT_SLOP_S,
    every_n: int = 1,
    limit: Optional[int] = None,
    *,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    max_side: Optional[int] = None,
    keep_color: bool = True,
) -> List[BagPair]:
    """Return the synchronised pairs of a bag as training pairs.

    Returns a list of :class:`BagPair` ``(name, ir, vis, vis_bgr)``: ``ir`` float32 HxW in
    [0, 1] (8-bit /255, 16-bit min-max stretched per frame), ``vis`` float32 HxW luminance in
    [0, 1] (Y of YCrCb), ``vis_bgr`` the uint8 BGR visible frame (None for mono visible or with
    ``keep_color=False``). The thermal frame is resized to the visible size when they differ
    (cameras assumed registered). ``every_n`` keeps every n-th pair (consecutive video frames are
    nearly identical), ``limit`` stops after that many pairs, ``max_side`` downsizes (area).
    ``name`` is ``<bag folder>_<visible stamp in ns>``, unique and sortable.
    """
    import cv2

    if every_n < 1:
        raise ValueError(f'every_n must be >= 1, got {every_n}')
    out: List[BagPair] = []
    with BagReader(bag) as reader:
        base = reader.path.name or 'bag'
        for k, (vis, th) in enumerate(
            synchronized_frames(
                reader, visible_topic, thermal_topic, slop=slop, queue_size=queue_size
            )
        ):
            if k % every_n:
                continue
            vis_img = _to_bgr(vis.to_numpy(), vis.encoding)
            th_img = th.to_numpy()
            if th_img.ndim == 3:
                th_img = th_img[..., 0]
            if th_img.shape[:2] != vis_img.shape[:2]:
                th_img = cv2.resize(
                    th_img, (vis_img.shape[1], vis_img.shape[0]), interpolation=cv2.INTER_AREA
                )
            th_img = resize_max_side(th_img, max_side)
            vis_img = resize_max_side(vis_img, max_side)
            colour = vis_img.ndim == 3
            out.append(
                BagPair(
                    f'{base}_{vis.stamp_ns}',
                    np.ascontiguousarray(thermal_to_unit(th_img)),
                    np.ascontiguousarray(visible_to_luminance(vis_img)),
                    vis_img if (keep_color and colour) else None,
                )
            )
            if limit is not None and len(out) >= limit:
                break
    return out
