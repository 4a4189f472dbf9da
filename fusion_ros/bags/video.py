# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MP4 videos of a fused stream.

The fused images, and a labelled side-by-side mosaic (visible | thermal | fused), from a fused bag
(``fusion-ros fuse-bag`` output or a recording of the live node) or from a folder of fused images
(``fusion-ros fuse`` output).

Codec: OpenCV's VideoWriter with fourcc ``mp4v`` (MPEG-4 Part 2). It is the one that works with
the FFmpeg in the opencv-python wheels here: ``avc1``/``H264`` need an H.264 encoder that those
wheels do not ship (only the v4l2m2m hardware one, which fails without a device). Frame sizes are
padded to even numbers (MPEG-4 needs them; odd sizes would be silently cropped). Videos are written
to a temporary name and renamed when complete.

In a bag, the fused frame's stamp is its visible frame's stamp (the fusion node and fuse-bag keep
the visible header); the thermal partner is found with the same synchroniser as the node's.
"""

from __future__ import annotations

from collections import deque, OrderedDict
from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import cv2
from fusion_ros.bags.io import BagError, BagReader, image_frame, resolve_image_topic
from fusion_ros.bags.pairs import synchronized_frames
from fusion_ros.images.folders import IMAGE_SUFFIXES
from fusion_ros.sync import DEFAULT_QUEUE_SIZE, DEFAULT_SLOP_S
import numpy as np

DEFAULT_FOURCC = 'mp4v'
DEFAULT_FPS = 30.0
#: Frames held while waiting for a fused frame's visible/thermal partners before giving up.
MAX_BUFFERED = 120


class VideoError(RuntimeError):
    """The video could not be written (no frames, codec unavailable, unreadable input)."""


@dataclass
class VideoResult:
    path: Optional[Path]
    frames: int
    size: Tuple[int, int]  # (width, height)
    fps: float
    fourcc: str
    mosaic_path: Optional[Path] = None
    mosaic_frames: int = 0
    mosaic_size: Tuple[int, int] = (0, 0)
    missing_partners: int = 0  # mosaic frames drawn with a blank visible/thermal panel

    def summary(self) -> str:
        parts = []
        if self.path:
            parts.append(
                f'{self.path} ({self.frames} frames, {self.size[0]}x{self.size[1]}, '
                f'{self.fps:.2f} fps, {self.fourcc})'
            )
        if self.mosaic_path:
            parts.append(
                f'{self.mosaic_path} ({self.mosaic_frames} frames, '
                f'{self.mosaic_size[0]}x{self.mosaic_size[1]})'
            )
        text = 'wrote ' + ' and '.join(parts)
        if self.missing_partners:
            text += f'; {self.missing_partners} mosaic frames lacked a visible/thermal partner'
        return text


class VideoSink:
    """A VideoWriter opened on the first frame (its size fixes the video's).

    Written to a temporary name and renamed by :meth:`close`; :meth:`abort` deletes it.
    """

    def __init__(self, path: str | os.PathLike, fps: float, fourcc: str = DEFAULT_FOURCC) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else DEFAULT_FPS
        self.fourcc = fourcc
        self.frames = 0
        self.size: Tuple[int, int] = (0, 0)
        self._tmp = self.path.with_name(f'.{self.path.stem}.partial{self.path.suffix or ".mp4"}')
        self._writer: Optional[cv2.VideoWriter] = None

    def write(self, image: np.ndarray) -> None:
        image = _even(_bgr8(image))
        h, w = image.shape[:2]
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(
                str(self._tmp), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h)
            )
            if not self._writer.isOpened():
                self.abort()
                raise VideoError(
                    f'cannot open a {self.fourcc!r} VideoWriter for {self.path} '
                    f'({w}x{h}); try --fourcc mp4v'
                )
            self.size = (w, h)
        elif (w, h) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames += 1

    def close(self) -> Path:
        if self._writer is None:
            raise VideoError(f'no frames to write to {self.path}')
        self._writer.release()
        self._writer = None
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        try:
            self._tmp.unlink()
        except FileNotFoundError:
            pass


def _bgr8(image: np.ndarray) -> np.ndarray:
    from fusion_ros.images.visuals import to_display

    return np.ascontiguousarray(to_display(image))


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    if h % 2 or w % 2:
        image = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return image


def mosaic_frame(
    visible: Optional[np.ndarray],
    thermal: Optional[np.ndarray],
    fused: np.ndarray,
    labels: Tuple[str, str, str] = ('visible', 'thermal', 'fused'),
) -> np.ndarray:
    """Return visible | thermal | fused at the fused image's height, labelled.

    A missing input is a black panel of the fused size.
    """
    from fusion_ros.images.visuals import mosaic

    blank = np.zeros(fused.shape[:2] + (3,), np.uint8)
    images = [blank if visible is None else visible, blank if thermal is None else thermal, fused]
    return mosaic(images, list(labels), height=fused.shape[0])


def _rgb_to_bgr(array: np.ndarray, encoding: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 3 and encoding.lower().startswith('rgb'):
        return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    return array


def _frame_array(frame) -> np.ndarray:
    return _rgb_to_bgr(frame.to_numpy(), 'bgr8' if frame.compressed else frame.encoding)


def _fps_from_stamps(stamps: List[int]) -> float:
    if len(stamps) < 2:
        return DEFAULT_FPS
    diffs = np.diff(np.asarray(stamps, np.int64))
    diffs = diffs[diffs > 0]
    if not len(diffs):
        return DEFAULT_FPS
    return float(np.clip(1e9 / float(np.median(diffs)), 1.0, 240.0))


def mosaic_path_for(out: str | os.PathLike) -> Path:
    out = Path(out)
    return out.with_name(f'{out.stem}_mosaic{out.suffix or ".mp4"}')


class _Outputs:
    """The fused and/or mosaic video being written, with one way out.

    Every sink is closed when the ``with`` block ends normally and aborted (no partial file) when
    it raises.
    """

    def __init__(
        self,
        out: Optional[str | os.PathLike],
        mosaic: Optional[str | os.PathLike],
        rate: float,
        fourcc: str,
        total: int,
        progress: bool,
        fused_label: str,
    ) -> None:
        self.sinks: List[Optional[VideoSink]] = [
            VideoSink(out, rate, fourcc) if out is not None else None,
            VideoSink(mosaic, rate, fourcc) if mosaic is not None else None,
        ]
        self.result = VideoResult(
            self.sinks[0].path if self.sinks[0] else None,
            0,
            (0, 0),
            rate,
            fourcc,
            self.sinks[1].path if self.sinks[1] else None,
        )
        self.labels = ('visible', 'thermal', fused_label)
        self.bar = _bar(progress, total)

    @property
    def wants_mosaic(self) -> bool:
        return self.sinks[1] is not None

    def write(
        self,
        fused: np.ndarray,
        visible: Optional[np.ndarray] = None,
        thermal: Optional[np.ndarray] = None,
    ) -> None:
        """One frame: the fused image, and the mosaic with whichever inputs there are."""
        if self.sinks[0] is not None:
            self.sinks[0].write(fused)
        if self.sinks[1] is not None:
            if visible is None or thermal is None:
                self.result.missing_partners += 1
            self.sinks[1].write(mosaic_frame(visible, thermal, fused, self.labels))
        if self.bar is not None:
            self.bar.update(1)

    def __enter__(self) -> '_Outputs':
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if exc_type is None:
                try:
                    for sink in self.sinks:
                        if sink is not None:
                            sink.close()
                except BaseException:
                    self._abort()
                    raise
            else:
                self._abort()
        finally:
            if self.bar is not None:
                self.bar.close()

    def _abort(self) -> None:
        for sink in self.sinks:
            if sink is not None:
                sink.abort()

    def finished(self) -> VideoResult:
        result, sinks = self.result, self.sinks
        if sinks[0] is not None:
            result.frames, result.size = sinks[0].frames, sinks[0].size
        if sinks[1] is not None:
            result.mosaic_frames, result.mosaic_size = sinks[1].frames, sinks[1].size
        return result


# ----------------------------------------------------------------------------- from a bag
class _BagMosaic:
    """Holds visible/thermal frames until the fused frame they belong to can be written.

    Its partners arrived, or too much is buffered and it goes with black panels.
    """

    def __init__(self, outputs: _Outputs, partner: Dict[int, int]) -> None:
        self.outputs, self.partner = outputs, partner
        self.vis_buf: 'OrderedDict[int, object]' = OrderedDict()
        self.th_buf: 'OrderedDict[int, object]' = OrderedDict()
        self.pending: deque = deque()

    def emit(self, fused_frame: Any, force: bool = False) -> bool:
        """Write ``fused_frame`` (with its partners when a mosaic is wanted); False = wait."""
        stamp = fused_frame.stamp_ns
        vis = th = None
        if self.outputs.wants_mosaic:
            vis = self.vis_buf.get(stamp)
            th_stamp = self.partner.get(stamp)
            th = self.th_buf.get(th_stamp) if th_stamp is not None else None
            complete = vis is not None and (th is not None or th_stamp is None)
            if not complete and not force:
                return False
            for buf, limit in (
                (self.vis_buf, stamp),
                (self.th_buf, th_stamp if th_stamp else stamp),
            ):
                for key in [k for k in buf if k <= limit]:
                    del buf[key]
        self.outputs.write(
            _frame_array(fused_frame),
            None if vis is None else _frame_array(vis),
            None if th is None else _frame_array(th),
        )
        return True

    def add(self, frame: Any, kind: str) -> None:
        """Return a frame of the fused ("fused"), visible or thermal topic, in bag order."""
        if kind == 'fused':
            self.pending.append(frame)
        else:
            (self.vis_buf if kind == 'visible' else self.th_buf)[frame.stamp_ns] = frame
        while self.pending and self.emit(
            self.pending[0], force=len(self.vis_buf) + len(self.th_buf) > MAX_BUFFERED
        ):
            self.pending.popleft()

    def finish(self) -> None:
        while self.pending:
            self.emit(self.pending.popleft(), force=True)


def _mosaic_partners(
    reader: BagReader, visible_topic: str, thermal_topic: str, slop: float, queue_size: int
) -> Tuple[str, str, Dict[int, int]]:
    """(visible topic, thermal topic, visible stamp -> paired thermal stamp)."""
    try:
        vis_t = resolve_image_topic(reader, visible_topic)
        th_t = resolve_image_topic(reader, thermal_topic)
    except BagError as exc:
        raise VideoError(f'a mosaic needs the visible and thermal topics: {exc}') from exc
    partner = {
        v.stamp_ns: t.stamp_ns
        for v, t in synchronized_frames(reader, vis_t, th_t, slop=slop, queue_size=queue_size)
    }
    return vis_t, th_t, partner


def bag_to_video(
    bag: str | os.PathLike,
    out: Optional[str | os.PathLike],
    *,
    mosaic: Optional[str | os.PathLike] = None,
    fused_topic: str = '/fused/image_raw',
    visible_topic: str = '/visible/image_raw',
    thermal_topic: str = '/thermal/image_raw',
    fps: Optional[float] = None,
    fourcc: str = DEFAULT_FOURCC,
    slop: float = DEFAULT_SLOP_S,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    fused_label: str = 'fused',
    progress: bool = False,
) -> VideoResult:
    """Fused video at ``out`` and/or mosaic video at ``mosaic`` from a fused bag."""
    if out is None and mosaic is None:
        raise VideoError('nothing to write: give an output video and/or a mosaic video')
    with BagReader(bag) as reader:
        fused_t = resolve_image_topic(reader, fused_topic)
        stamps = [image_frame(m).stamp_ns for m in reader.messages([fused_t])]
        if not stamps:
            raise VideoError(f'{reader.path}: {fused_t} has no messages')
        rate = float(fps) if fps else _fps_from_stamps(stamps)
        kinds, partner = {fused_t: 'fused'}, {}
        if mosaic is not None:
            vis_t, th_t, partner = _mosaic_partners(
                reader, visible_topic, thermal_topic, slop, queue_size
            )
            kinds.update({vis_t: 'visible', th_t: 'thermal'})
        with _Outputs(out, mosaic, rate, fourcc, len(stamps), progress, fused_label) as outputs:
            frames = _BagMosaic(outputs, partner)
            for m in reader.messages(list(kinds)):
                frames.add(image_frame(m), kinds[m.topic])
            frames.finish()
    return outputs.finished()


def _bar(progress: bool, total: int):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc='video', unit='frame', dynamic_ncols=True)


# ----------------------------------------------------------------------------- from a folder
def _images(folder: Path) -> Dict[str, Path]:
    if not folder.is_dir():
        raise VideoError(f'not a folder: {folder}')
    return {
        p.stem: p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.stem.endswith('_mosaic')
    }


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise VideoError(f'cannot read image {path}')
    return image


def folder_to_video(
    folder: str | os.PathLike,
    out: Optional[str | os.PathLike],
    *,
    mosaic: Optional[str | os.PathLike] = None,
    visible_dir: Optional[str | os.PathLike] = None,
    thermal_dir: Optional[str | os.PathLike] = None,
    fps: Optional[float] = None,
    fourcc: str = DEFAULT_FOURCC,
    fused_label: str = 'fused',
    progress: bool = False,
) -> VideoResult:
    """Fused images of ``folder`` (sorted by name) as a video.

    The mosaic takes the visible and thermal images with the same file stem from
    ``visible_dir``/``thermal_dir``.
    """
    if out is None and mosaic is None:
        raise VideoError('nothing to write: give an output video and/or a mosaic video')
    fused = _images(Path(folder))
    if not fused:
        raise VideoError(f'no images in {folder}')
    vis = th = {}
    if mosaic is not None:
        if visible_dir is None or thermal_dir is None:
            raise VideoError(
                'a mosaic from a folder needs --visible-dir and --thermal-dir '
                "(images with the fused images' file stems)"
            )
        vis, th = _images(Path(visible_dir)), _images(Path(thermal_dir))
    rate = float(fps) if fps else DEFAULT_FPS
    with _Outputs(out, mosaic, rate, fourcc, len(fused), progress, fused_label) as outputs:
        for stem, path in fused.items():
            image = _read(path)
            if outputs.wants_mosaic:
                outputs.write(
                    image,
                    _read(vis[stem]) if stem in vis else None,
                    _read(th[stem]) if stem in th else None,
                )
            else:
                outputs.write(image)
    return outputs.finished()


def read_video_info(path: str | os.PathLike) -> Tuple[int, int, int, float]:
    """(frames decoded, width, height, fps) of a video, by decoding it with cv2.VideoCapture."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f'cannot open {path}')
    try:
        frames, w, h = 0, 0, 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            frames += 1
            h, w = image.shape[:2]
        return frames, w, h, float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
