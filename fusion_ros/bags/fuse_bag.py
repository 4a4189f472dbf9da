# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Offline fusion of a rosbag2.

A new bag with the original topics, the fused stream and per-frame latency diagnostics.

The two camera topics (raw ``sensor_msgs/Image`` or ``CompressedImage``; ``T`` falls back to
``T/compressed``) are paired with the fusion node's synchroniser (:class:`FramePairer`), each pair
is fused as fast as the pipeline goes, and the output bag gets, besides a copy of every input
message (same log times):

* ``fused_topic`` (sensor_msgs/Image): header = the visible frame's header (stamp and frame_id),
  encoding as the node's (bgr8 for colour visible, rgb8 for rgb8 visible, mono8 for mono);
  log time = the later of the two input log times (when a live node could have fused it);
* ``<fused namespace>/camera_info``: the latest visible camera_info restamped, when the bag has
  one;
* ``/diagnostics`` (DiagnosticArray, one status per fused frame): decode / preprocess / inference /
  postprocess / encode / total milliseconds, the pair's stamps and stamp difference.

As the node does with ``thermal/camera_info``, a thermal camera_info beside the thermal topic
undistorts the thermal frames before the homography (``undistort_thermal`` option).

The fused image data is deterministic (same input and model -> byte-identical fused images), which
``test_bags`` checks. The output appears only when complete (see :class:`BagWriter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from pathlib import Path
import time
from typing import Any, Callable, Dict, List, Optional

from fusion_ros.bags.camera_info import camera_info_topic, lens_from_message, sibling_topic
from fusion_ros.bags.io import (
    BagError,
    BagReader,
    BagWriter,
    CAMERA_INFO,
    DIAGNOSTIC_ARRAY,
    diagnostic_array,
    IMAGE,
    image_frame,
    numpy_to_image,
    resolve_image_topic,
    serialize,
)
from fusion_ros.bags.pairs import FramePairer
from fusion_ros.runtime.frame import FRAME_STAGES
from fusion_ros.sync import DEFAULT_QUEUE_SIZE, DEFAULT_SLOP_S, OFFLINE_INTER_MESSAGE_LOWER_BOUND_S

DEFAULT_VISIBLE_TOPIC = '/visible/image_raw'
DEFAULT_THERMAL_TOPIC = '/thermal/image_raw'
DEFAULT_FUSED_TOPIC = '/fused/image_raw'
DIAGNOSTICS_TOPIC = '/diagnostics'
STATUS_NAME = 'fuse_bag: fusion'
STAGES = (*FRAME_STAGES, 'encode', 'total')  # per fused frame in /diagnostics


@dataclass
class FuseBagResult:
    output: Path
    model: str
    visible_topic: str
    thermal_topic: str
    fused_topic: str
    received: List[int] = field(default_factory=lambda: [0, 0])
    pairs: int = 0
    fused: int = 0
    failed: int = 0
    dropped: List[int] = field(default_factory=lambda: [0, 0])
    copied: int = 0
    elapsed_s: float = 0.0  # wall time of the whole run (read, fuse, write)
    fuse_s: float = 0.0  # time spent decoding + fusing + encoding the pairs
    stage_ms: Dict[str, float] = field(default_factory=dict)  # mean per stage
    errors: List[str] = field(default_factory=list)
    thermal_lens: str = ''  # e.g. 'plumb_bob from /thermal/camera_info', or why it was not used

    @property
    def fps(self) -> float:
        """Fused frames per second of wall time (the whole job, I/O included)."""
        return self.fused / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def fusion_fps(self) -> float:
        """Fused frames per second of decode + fuse + encode time (the pipeline alone)."""
        return self.fused / self.fuse_s if self.fuse_s > 0 else 0.0

    def summary(self) -> str:
        stages = ', '.join(f'{k} {self.stage_ms[k]:.2f}' for k in STAGES if k in self.stage_ms)
        text = (
            f'fused {self.fused}/{self.pairs} pairs of {self.visible_topic} + '
            f'{self.thermal_topic} with {self.model} -> {self.output} ({self.fused_topic}): '
            f'{self.fps:.1f} frames/s overall, {self.fusion_fps:.1f} frames/s fusion '
            f'(mean ms: {stages}); unpaired visible {self.dropped[0]}, thermal {self.dropped[1]}'
        )
        if self.thermal_lens:
            text += f'; thermal lens: {self.thermal_lens}'
        if self.failed:
            text += f'; {self.failed} pairs failed (first: {self.errors[0]})'
        return text


@dataclass(frozen=True)
class _Topics:
    """Where fuse_bag reads and writes (None: not read / not written)."""

    visible: str
    thermal: str
    fused: str
    info_in: Optional[str]
    info_out: Optional[str]
    thermal_info: Optional[str]
    diagnostics: Optional[str]


def _plan_topics(
    reader: BagReader, visible_topic: str, thermal_topic: str, fused_topic: str, diagnostics: bool
) -> _Topics:
    """Resolve the input topics (``T`` or ``T/compressed``) and choose the output ones."""
    vis_topic = resolve_image_topic(reader, visible_topic)
    th_topic = resolve_image_topic(reader, thermal_topic)
    topics = reader.topics
    if fused_topic in topics:
        raise BagError(
            f'{reader.path} already has a topic {fused_topic}; choose another --fused-topic'
        )
    info_in = camera_info_topic(reader, vis_topic)
    info_out = sibling_topic(fused_topic, 'camera_info') if info_in else None
    if info_out in topics:
        info_out = None
    return _Topics(
        vis_topic,
        th_topic,
        fused_topic,
        info_in,
        info_out,
        camera_info_topic(reader, th_topic),
        DIAGNOSTICS_TOPIC if diagnostics else None,
    )


class _PairFuser:
    """Fuse one pair and write the fused image, the restamped camera_info and the diagnostics.

    This is the node's per-frame step (:func:`fusion_ros.runtime.fuse_frame`); the diagnostics are
    per frame.
    """

    def __init__(
        self,
        out: BagWriter,
        pipeline: Any,
        topics: _Topics,
        result: FuseBagResult,
        on_frame: Optional[Callable[[int], None]],
    ) -> None:
        self.out, self.pipeline, self.topics, self.result = out, pipeline, topics, result
        self.on_frame = on_frame
        self.latest_info: Any = None
        self.sums = dict.fromkeys(STAGES, 0.0)

    def set_thermal_lens(self, message: Any) -> None:
        """Undistort the thermal frames with this CameraInfo, as the node does."""
        try:
            lens = lens_from_message(message.decode())
        except ValueError as exc:  # unusable calibration: fuse without it, say why
            lens, text = None, f'not used ({exc})'
        else:
            text = (
                f'{lens.model} from {message.topic}'
                if lens is not None
                else f'none ({message.topic} has no distortion)'
            )
        self.pipeline.set_thermal_lens(lens)
        self.result.thermal_lens = text

    def __call__(self, vis: Any, th: Any) -> None:
        from fusion_ros.runtime import fuse_frame, FusionInputError
        from fusion_ros.runtime.frame import decoded_encoding

        result = self.result
        result.pairs += 1
        t0 = time.perf_counter()
        try:
            vis_arr = vis.to_numpy()
            vis_encoding = decoded_encoding(vis_arr) if vis.compressed else vis.encoding
            th_arr = th.to_numpy()
            frame = fuse_frame(
                self.pipeline,
                vis_arr,
                vis_encoding,
                th_arr,
                decode_ms=(time.perf_counter() - t0) * 1e3,
            )
        except FusionInputError as exc:
            result.failed += 1
            if len(result.errors) < 10:
                result.errors.append(f'stamp {vis.stamp_ns}: {exc}')
            return
        t2 = time.perf_counter()
        msg = numpy_to_image(frame.image, frame.encoding, vis.stamp_ns, vis.frame_id)
        data = serialize(msg)
        t3 = time.perf_counter()
        log_time = max(vis.log_time_ns, th.log_time_ns)
        self.out.write_raw(self.topics.fused, log_time, data)
        if self.topics.info_out and self.latest_info is not None:
            self.latest_info.header.stamp = msg.header.stamp
            self.out.write_raw(self.topics.info_out, log_time, serialize(self.latest_info))
        stage = {**frame.stage_ms, 'encode': (t3 - t2) * 1e3, 'total': (t3 - t0) * 1e3}
        for k, v in stage.items():
            self.sums[k] += v
        result.fuse_s += t3 - t0
        result.fused += 1
        if self.topics.diagnostics:
            self._write_diagnostics(vis, th, stage, log_time)
        if self.on_frame is not None:
            self.on_frame(result.fused)

    def _write_diagnostics(
        self, vis: Any, th: Any, stage: Dict[str, float], log_time: int
    ) -> None:
        model = self.result.model
        values = [(f'{k}_ms', f'{v:.3f}') for k, v in stage.items()]
        values += [
            ('model', model),
            ('visible_stamp', str(vis.stamp_ns)),
            ('thermal_stamp', str(th.stamp_ns)),
            ('stamp_delta_ms', f'{(th.stamp_ns - vis.stamp_ns) / 1e6:.3f}'),
            ('frame', str(self.result.fused)),
        ]
        self.out.write_raw(
            self.topics.diagnostics,
            log_time,
            serialize(diagnostic_array(vis.stamp_ns, [(STATUS_NAME, 'fused', model, 0, values)])),
        )

    def mean_stage_ms(self) -> Dict[str, float]:
        n = self.result.fused
        return {k: (v / n if n else 0.0) for k, v in self.sums.items()}


def _declare_outputs(
    out: BagWriter, reader: BagReader, topics: _Topics, copy_topics: bool
) -> None:
    if copy_topics:
        for topic in reader.topics:
            out.copy_topic(reader, topic)
    out.add_topic(topics.fused, IMAGE)
    if topics.info_out:
        out.add_topic(topics.info_out, CAMERA_INFO)
    if topics.diagnostics and topics.diagnostics not in out.counts:
        out.add_topic(topics.diagnostics, DIAGNOSTIC_ARRAY)


def _stream(
    reader: BagReader,
    out: BagWriter,
    topics: _Topics,
    pairer: FramePairer,
    fuse: _PairFuser,
    copy_topics: bool,
    bar: Any,
) -> None:
    """Copy (optionally) every message, pair the camera frames and fuse each pair, in bag order."""
    result = fuse.result
    wanted = (
        None
        if copy_topics
        else [
            t for t in (topics.visible, topics.thermal, topics.info_in, topics.thermal_info) if t
        ]
    )
    for m in reader.messages(wanted):
        if copy_topics:
            out.write_raw(m.topic, m.log_time_ns, m.data)
            result.copied += 1
        if m.topic == topics.info_in:
            fuse.latest_info = m.decode()
            continue
        if m.topic == topics.thermal_info:
            fuse.set_thermal_lens(m)
            continue
        if m.topic not in (topics.visible, topics.thermal):
            continue
        frame = image_frame(m)
        index = 0 if m.topic == topics.visible else 1
        result.received[index] += 1
        for vis, th in pairer.add(index, frame.stamp_ns, frame):
            fuse(vis, th)
        if bar is not None and index == 0:
            bar.update(1)
    for vis, th in pairer.flush():
        fuse(vis, th)


def fuse_bag(
    in_bag: str | os.PathLike,
    out_bag: str | os.PathLike,
    model: str = 'mmdrfuse',
    *,
    visible_topic: str = DEFAULT_VISIBLE_TOPIC,
    thermal_topic: str = DEFAULT_THERMAL_TOPIC,
    fused_topic: str = DEFAULT_FUSED_TOPIC,
    slop: float = DEFAULT_SLOP_S,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    inter_message_lower_bound: float = OFFLINE_INTER_MESSAGE_LOWER_BOUND_S,
    backend: str = 'cpu',
    weights_dir: Optional[str] = None,
    options: Any = None,
    pipeline: Any = None,
    storage: Optional[str] = None,
    copy_topics: bool = True,
    diagnostics: bool = True,
    overwrite: bool = False,
    progress: bool = False,
    on_frame: Optional[Callable[[int], None]] = None,
) -> FuseBagResult:
    """Fuse ``in_bag`` into a new bag ``out_bag`` (see the module docstring).

    ``pipeline`` (a loaded FusionPipeline) overrides ``model``/``backend``/``weights_dir``/
    ``options``. ``storage`` defaults to the input's. A pair that cannot be decoded or fused
    (``FusionInputError``) is skipped and counted in ``failed``; any other error aborts and
    leaves no output.
    """
    from fusion_ros.runtime import load_pipeline

    t_start = time.perf_counter()
    with BagReader(in_bag) as reader:
        topics = _plan_topics(reader, visible_topic, thermal_topic, fused_topic, diagnostics)
        if pipeline is None:
            pipeline = load_pipeline(
                model, backend=backend, weights_dir=weights_dir, options=options
            )
        model_name = str(getattr(pipeline, 'name', None) or model)
        result = FuseBagResult(
            Path(out_bag), model_name, topics.visible, topics.thermal, fused_topic
        )
        pairer = FramePairer(slop, queue_size, inter_message_lower_bound)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=reader.topics[topics.visible].count,
                desc='fuse-bag',
                unit='frame',
                dynamic_ncols=True,
            )
        with BagWriter(out_bag, storage=storage or reader.storage, overwrite=overwrite) as out:
            _declare_outputs(out, reader, topics, copy_topics)
            fuse = _PairFuser(out, pipeline, topics, result, on_frame)
            try:
                _stream(reader, out, topics, pairer, fuse, copy_topics, bar)
            finally:
                if bar is not None:
                    bar.close()
            result.dropped = pairer.stats.dropped
    result.elapsed_s = time.perf_counter() - t_start
    result.stage_ms = fuse.mean_stage_ms()
    return result
