# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""fusion_node: approximate-time synchronised visible + thermal cameras in, fused image out.

Topics (node-relative, remappable):
  in:  visible/image_raw, thermal/image_raw (sensor_msgs/Image; with input_transport=compressed:
       visible/image_raw/compressed, thermal/image_raw/compressed, sensor_msgs/CompressedImage),
       visible/camera_info (sensor_msgs/CameraInfo, optional), thermal/camera_info (optional: its
       calibration undistorts the thermal frame in the warp, parameter undistort_thermal)
  out: fused/image_raw (header = the visible frame's header), fused/image_raw/compressed (JPEG,
       image_transport naming; encoded only while subscribed), fused/camera_info (the latest
       visible camera_info with the fused stamp, once one was received), /diagnostics

Threads: the executor (subscriptions, parameter services, timers) only records arrivals and pairs
messages; each pair replaces the one waiting for a dedicated fusion worker thread, which decodes,
fuses and publishes. So when frames come faster than the model runs, the node fuses the newest pair
and counts the replaced ones (``frames_skipped``) instead of building a queue, and inference never
blocks the executor. A model switch is checked in the parameter callback (file, card, SHA-256),
loaded on its own thread (ros/model_switch.py) while the running model keeps fusing, then swapped
in under the pipeline lock, so an in-flight frame finishes on the old one (``last_model_load_ms``
in /diagnostics). A load that fails puts the parameters back and leaves a WARN in /diagnostics;
a second switch while one loads is refused. Camera inputs have their own callback group.

Bad input (unsupported encoding, truncated data, empty image, size mismatch with
size_mismatch=reject, undecodable compressed data) never stops the node: the pair is dropped, a
throttled log line and the diagnostics say why, and the next good pair is fused.

Camera QoS: the input subscriptions take their publishers' reliability (``input_reliability``,
ros/input_qos.py), so best-effort camera drivers are heard. ``fusion_node --lifecycle`` runs the
same node as a managed node (:class:`LifecycleFusionNode`).
"""

from __future__ import annotations

import copy
from functools import partial
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from fusion_ros.registration.alignment import alignment_check, AlignmentMonitor
from fusion_ros.ros import parameters as P
from fusion_ros.ros.diagnostics import diagnostic_array, FusionDiagnostics, HealthConfig, OK, WARN
from fusion_ros.ros.image_msgs import (
    compressed_image,
    input_error_kind,
    message_encoding,
    message_to_numpy,
    numpy_to_image,
    stamp_to_ns,
)
from fusion_ros.ros.input_qos import InputSubscription, update_all
from fusion_ros.ros.model_switch import ModelSwitch
from fusion_ros.ros.process import stop_once_on_signals
from fusion_ros.ros.qos import camera_info_qos, diagnostics_qos, image_qos, overrides
from fusion_ros.ros.synchronizer import PairSynchronizer, StampedMessage
from fusion_ros.ros.topic_status import TopicStatus
from fusion_ros.runtime import (
    fuse_frame,
    FusionInputError,
    load_pipeline,
    UnsupportedEncodingError,
)
from fusion_ros.runtime.lens import CameraLens
from fusion_ros.runtime.loader import check_model_files
from rcl_interfaces.msg import SetParametersResult
import rclpy
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNodeMixin, LifecyclePublisher, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

INPUTS = ('visible', 'thermal')
#: How often (s) the camera subscriptions are checked against their publishers' QoS.
QOS_POLL_S = 0.5
LOG_THROTTLE_S = 2.0


class FusionNode(Node):
    """Visible + thermal fusion (see the module docstring).

    ``start=False`` only declares the parameters and builds the state; the steps
    :meth:`load_model`, :meth:`create_outputs` and :meth:`start_fusing` are then the
    lifecycle transitions of :class:`LifecycleFusionNode`.
    """

    def __init__(self, *, start: bool = True, **kwargs: Any) -> None:
        super().__init__('fusion_node', **kwargs)
        self._values: Dict[str, Any] = P.declare_all(self)
        self.diag = FusionDiagnostics(INPUTS, window_s=self._values['diagnostics_window'])
        # diagnostic_updater-style "<topic> topic status" tasks: each camera, and the fused output
        self._input_status = [TopicStatus(self._values['diagnostics_window']) for _ in INPUTS]
        self._output_status = TopicStatus(self._values['diagnostics_window'])
        self._log_times: Dict[str, float] = {}
        self._suppressed: Dict[str, int] = {}

        # The pipeline; swapped under _pipe_lock (held by the worker while it fuses).
        self._pipe_lock = threading.Lock()
        self._pipeline = None
        self._pipeline_model = self._values['model']
        self._load_error = ''

        # Synchronisation and the single-slot hand-over to the worker.
        self._sync_lock = threading.Lock()
        self._sync = PairSynchronizer(
            self._values['sync_queue_size'],
            self._values['sync_slop'],
            self._on_pair,
            inter_message_lower_bound_s=self._values['sync_inter_message_lower_bound'],
        )
        self._slot_cv = threading.Condition()
        # (visible, thermal, sync wait ms, perf_counter when paired): the newest pair, newest wins
        self._slot: Optional[Tuple[StampedMessage, StampedMessage, float, float]] = None
        self._stopping = False
        self._camera_info: Optional[CameraInfo] = None
        self._info_lock = threading.Lock()
        self._frame_ids = ['' for _ in INPUTS]  # the cameras' frame ids: diagnostics hardware_id
        suffix = '/compressed' if self._values['input_transport'] == 'compressed' else ''
        self.input_topics: List[str] = [  # image_transport naming: <base topic>/compressed
            self.resolve_topic_name(f'{name}/image_raw') + suffix for name in INPUTS
        ]
        self.inputs: List[InputSubscription] = []
        self._qos_timer = None  # polls the cameras' publishers (InputSubscription.update)
        self._info_sub = None
        self._thermal_info_sub = None
        self._thermal_lens: Optional[CameraLens] = None
        self._thermal_lens_key: Optional[tuple] = None
        self._outputs: List[Any] = []
        self._diag_timer = None
        self._worker: Optional[threading.Thread] = None
        self._last_load_ms = 0.0
        # Model switches load on their own thread; a failed one puts its parameters back on the
        # executor thread (woken by the guard condition).
        self._switch = ModelSwitch(self._load, self._install_switched, self._switch_failed)
        self._put_back: Dict[str, Any] = {}
        self._put_back_lock = threading.Lock()
        self._putting_back = False
        self._put_back_guard = self.create_guard_condition(self._put_back_failed_switch)
        self._input_group = MutuallyExclusiveCallbackGroup()
        self._alignment = AlignmentWatch(self)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if start:
            self.load_model()
            self.create_outputs(self.create_publisher)
            self.start_fusing()

    # ------------------------------------------------------------------ steps (lifecycle)
    def load_model(self) -> bool:
        """Load the configured model; on failure the node runs without one (diagnostics ERROR)."""
        started = time.perf_counter()
        try:
            pipeline = self._load(self._values)
        except Exception as exc:  # missing file, corrupt ONNX, unknown backend ...
            self._load_error = f'{self._values["model"]}: {exc}'
            self.diag.set_pipeline_error(self._load_error)
            self.diag.record_error('model_load', self._load_error, bad_input=False)
            self.get_logger().error(
                f"cannot load model '{self._values['model']}' ({self._values['backend']}): {exc}. "
                'Running without a model; set a valid one with '
                '`ros2 param set /fusion_node model <name|path.onnx>`.'
            )
            return False
        pipeline.set_thermal_lens(self._thermal_lens)
        with self._pipe_lock:
            self._pipeline, self._pipeline_model = pipeline, self._values['model']
        self._last_load_ms = (time.perf_counter() - started) * 1e3
        self._load_error = ''
        self.diag.set_pipeline_error('')
        self._log_pipeline('loaded')
        return True

    def create_outputs(self, make_publisher: Callable[..., Any]) -> None:
        """Fused image + camera_info publishers (``make_publisher``: plain or lifecycle).

        Also /diagnostics with its timer.
        """
        self.fused_pub = make_publisher(
            Image, 'fused/image_raw', image_qos(), qos_overriding_options=overrides()
        )
        self.compressed_pub = make_publisher(
            CompressedImage,
            'fused/image_raw/compressed',
            image_qos(),
            qos_overriding_options=overrides(),
        )
        self.info_pub = make_publisher(
            CameraInfo, 'fused/camera_info', camera_info_qos(), qos_overriding_options=overrides()
        )
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', diagnostics_qos())
        self._outputs = [self.fused_pub, self.compressed_pub, self.info_pub, self.diag_pub]
        self._diag_timer = self.create_timer(
            self._values['diagnostics_period'], self._publish_diagnostics
        )

    def destroy_outputs(self) -> None:
        for publisher in self._outputs:
            if isinstance(publisher, LifecyclePublisher):
                self.destroy_lifecycle_publisher(publisher)
            else:
                self.destroy_publisher(publisher)
        self._outputs = []
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None

    def start_fusing(self) -> None:
        """Subscribe to the cameras and start the fusion worker."""
        msg_type = CompressedImage if self._values['input_transport'] == 'compressed' else Image
        self.inputs = [
            InputSubscription(
                self,
                msg_type,
                topic,
                partial(self._on_image, index),
                image_qos(),
                self._values['input_reliability'],
                name,
                overriding_options=overrides(),
                callback_group=self._input_group,
            )
            for index, (name, topic) in enumerate(zip(INPUTS, self.input_topics))
        ]
        # In the inputs' (mutually exclusive) group: under the multi-threaded executor a
        # subscription is never recreated while its own callback runs on the other thread.
        self._qos_timer = self.create_timer(
            QOS_POLL_S,
            lambda: update_all(self.inputs, self.get_logger().info),
            callback_group=self._input_group,
        )
        self._info_sub = self.create_subscription(
            CameraInfo,
            'visible/camera_info',
            self._on_camera_info,
            camera_info_qos(),
            qos_overriding_options=overrides(),
            callback_group=self._input_group,
        )
        self._thermal_info_sub = self.create_subscription(
            CameraInfo,
            'thermal/camera_info',
            self._on_thermal_camera_info,
            camera_info_qos(),
            qos_overriding_options=overrides(),
            callback_group=self._input_group,
        )
        with self._slot_cv:
            self._stopping = False
        self._worker = threading.Thread(target=self._work_loop, name='fusion_worker', daemon=True)
        self._worker.start()
        self.get_logger().info(
            f'fusing {self.input_topics[0]} + {self.input_topics[1]} -> '
            f'{self.resolve_topic_name("fused/image_raw")} (sync slop '
            f'{self._values["sync_slop"] * 1e3:.0f} ms, {self._sync.backend} synchronizer)'
        )

    # ------------------------------------------------------------------ helpers
    def _load(self, values: Dict[str, Any]):
        options = P.processing_options(values)
        return load_pipeline(
            values['model'],
            backend=values['backend'],
            weights_dir=values['weights_dir'] or None,
            options=options,
            allow_unverified=values['allow_unverified_model'],
        )

    def _install_switched(self, pipeline, values: Dict[str, Any], load_ms: float) -> None:
        """(loader thread) The new model loaded: swap it in after the frame in flight."""
        pipeline.set_thermal_lens(self._thermal_lens)
        with self._pipe_lock:
            self._pipeline, self._pipeline_model = pipeline, values['model']
        self._last_load_ms = load_ms
        self._load_error = ''
        self.diag.set_pipeline_error('')
        self.diag.set_condition('model_switch', OK)
        self._log_pipeline(f'switched ({load_ms:.0f} ms load) to')

    def _switch_failed(self, values: Dict[str, Any], previous: Dict[str, Any], error: str) -> None:
        """(loader thread) The new model did not load.

        Keep the running one, put the parameters back (on the executor thread) and say so in
        /diagnostics until the next good switch.
        """
        reason = (
            f"cannot load model '{values['model']}' with backend '{values['backend']}': {error}"
        )
        running = self._pipeline_model if self._pipeline is not None else 'none'
        self.get_logger().error(f"{reason}; still running model '{running}', parameters put back")
        self.diag.record_error('model_load', reason, bad_input=False)
        self.diag.set_condition(
            'model_switch', WARN, f"last model switch failed ({reason}); running '{running}'"
        )
        with self._put_back_lock:
            self._put_back = {
                name: previous[name]
                for name in P.PARAMETERS
                if P.PARAMETERS[name].group == P.PIPELINE and values[name] != previous[name]
            }
        self._put_back_guard.trigger()

    def _put_back_failed_switch(self) -> None:
        with self._put_back_lock:
            values, self._put_back = self._put_back, {}
        if not values:
            return
        self._putting_back = True
        try:
            self.set_parameters([Parameter(name, value=value) for name, value in values.items()])
        finally:
            self._putting_back = False

    def _log_pipeline(self, verb: str) -> None:
        pipe = self._pipeline
        providers = ', '.join(getattr(pipe, 'providers', []) or [])
        self.get_logger().info(
            f"{verb} model '{self._pipeline_model}' "
            f'(backend {self._values["backend"]}: {providers})'
        )
        for warning in getattr(pipe, 'warnings', []) or []:
            self.get_logger().warning(str(warning))

    def _throttled(self, kind: str, level: str, text: str) -> None:
        """At most one log line per kind every LOG_THROTTLE_S, saying how many were suppressed."""
        now = time.monotonic()
        last = self._log_times.get(kind)
        if last is not None and now - last < LOG_THROTTLE_S:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._log_times[kind] = now
        more = self._suppressed.pop(kind, 0)
        if more:
            text += f' ({more} more since the last report)'
        getattr(self.get_logger(), level)(text)

    def _bad_input(self, kind: str, text: str) -> None:
        self.diag.record_error(kind, text)
        self._throttled(kind, 'error', f'dropped frame pair: {text}')

    # ------------------------------------------------------------------ executor side
    def _on_image(self, index: int, msg) -> None:
        arrival_ns = time.monotonic_ns()
        self._frame_ids[index] = msg.header.frame_id
        stamp_ns = stamp_to_ns(msg.header.stamp)
        self.diag.record_input(INPUTS[index], stamp_s=stamp_ns * 1e-9)
        clock_ns = self.get_clock().now().nanoseconds  # 0: simulated time has not started
        delay_ms = (clock_ns - stamp_ns) / 1e6 if clock_ns > 0 else None
        self._input_status[index].tick(
            self.diag.now(), None if delay_ms is None else delay_ms / 1e3
        )
        if index == 0 and delay_ms is not None:  # the camera's hop, from end_to_end's stamp
            self.diag.record_stage('receive', delay_ms)
        with self._sync_lock:
            if self._sync.add(index, msg, stamp_ns, arrival_ns):
                self.get_logger().warning(
                    f'{INPUTS[index]} stamp jumped back in time: synchronizer reset'
                )
            self.diag.record_sync(self._sync.pairs, self._sync.dropped_by_stream)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        with self._info_lock:
            self._camera_info = msg

    def _on_thermal_camera_info(self, msg: CameraInfo) -> None:
        """Put the thermal calibration's lens into the warp (only when it changes)."""
        key = (msg.width, msg.height, tuple(msg.k), tuple(msg.d), msg.distortion_model)
        if key == self._thermal_lens_key:
            return
        self._thermal_lens_key = key
        try:
            lens = CameraLens.from_camera_info(
                msg.width, msg.height, msg.k, msg.d, msg.distortion_model
            )
        except ValueError as exc:
            lens = None
            self.diag.set_condition('thermal_camera_info', WARN, f'thermal not undistorted: {exc}')
            self.get_logger().warning(f'thermal/camera_info ignored: {exc}')
        else:
            self.diag.set_condition('thermal_camera_info', OK)
            if lens is not None:
                self.get_logger().info(
                    f'thermal lens from camera_info ({lens.model}): undistorted in '
                    'the warp'
                    + (
                        ''
                        if self._values['undistort_thermal']
                        else ' once undistort_thermal is true'
                    )
                )
        self._thermal_lens = lens
        with self._pipe_lock:
            if self._pipeline is not None:
                self._pipeline.set_thermal_lens(lens)

    def _on_pair(self, visible: StampedMessage, thermal: StampedMessage) -> None:
        """Hand a synchronizer pair to the worker, newest wins (executor thread)."""
        sync_wait_ms = abs(visible.arrival_ns - thermal.arrival_ns) / 1e6
        with self._slot_cv:
            if self._slot is not None:
                self.diag.record_skipped()
            self._slot = (visible, thermal, sync_wait_ms, time.perf_counter())
            self._slot_cv.notify()

    # ------------------------------------------------------------------ worker side
    def _work_loop(self) -> None:
        while True:
            with self._slot_cv:
                while self._slot is None and not self._stopping:
                    self._slot_cv.wait()
                if self._stopping:
                    return
                visible, thermal, sync_wait_ms, paired_at = self._slot
                self._slot = None
            self.diag.record_stage('queue', (time.perf_counter() - paired_at) * 1e3)
            try:
                self._fuse_and_publish(visible, thermal, sync_wait_ms)
            except Exception as exc:  # never let the worker die
                if self._stopping or not self.context.ok():
                    return
                self.diag.record_error('internal', f'{type(exc).__name__}: {exc}')
                self._throttled('internal', 'error', f'fusion failed: {type(exc).__name__}: {exc}')
            finally:
                self.diag.end_stage()

    def _fuse_and_publish(
        self, visible: StampedMessage, thermal: StampedMessage, sync_wait_ms: float
    ) -> None:
        t0 = time.perf_counter()
        self.diag.begin_stage('decode')  # a stall report names the stage a frame is stuck in
        arrays = []
        for name, item in zip(INPUTS, (visible, thermal)):
            try:
                arrays.append(
                    message_to_numpy(item.msg, name, max_pixels=self._values['max_image_pixels'])
                )
            except FusionInputError as exc:
                self._bad_input(input_error_kind(item.msg, exc), str(exc))
                return
        t1 = time.perf_counter()
        self.diag.begin_stage('model lock + inference')
        with self._pipe_lock:  # a model swap waits for this frame
            pipe = self._pipeline
            if pipe is None:
                return  # no model: the diagnostics already say ERROR
            try:
                frame = fuse_frame(
                    pipe,
                    arrays[0],
                    message_encoding(visible.msg, arrays[0]),
                    arrays[1],
                    default_order=self._values['visible_order'],
                    decode_ms=(t1 - t0) * 1e3,
                )
            except UnsupportedEncodingError as exc:
                self._bad_input('unsupported_encoding', str(exc))
                return
            except FusionInputError as exc:
                text = str(exc)
                self._bad_input('size_mismatch' if 'size_mismatch' in text else 'bad_input', text)
                return
            except Exception as exc:  # inference failure: report, keep running
                self.diag.record_error('inference', f'{type(exc).__name__}: {exc}')
                self._throttled(
                    'inference', 'error', f'inference failed: {type(exc).__name__}: {exc}'
                )
                return
        t2 = time.perf_counter()
        self._alignment.keep(arrays[0], arrays[1])
        self.diag.begin_stage('publish')
        out = numpy_to_image(frame.image, frame.encoding, header=visible.msg.header)
        self.fused_pub.publish(out)
        self._publish_compressed(frame, visible.msg.header)
        with self._info_lock:
            info = self._camera_info
        if info is not None:
            info = copy.copy(info)
            info.header = copy.copy(info.header)
            info.header.stamp = visible.msg.header.stamp
            self.info_pub.publish(info)
        t3 = time.perf_counter()
        now = self.diag.now()
        clock_ns = self.get_clock().now().nanoseconds  # ROS time: /clock with use_sim_time
        stages = [
            ('sync_wait', sync_wait_ms),
            *frame.stage_ms.items(),
            ('publish', (t3 - t2) * 1e3),
        ]
        if clock_ns > 0:  # 0: simulated time has not started (no /clock yet)
            stages.append(('end_to_end', (clock_ns - visible.stamp_ns) / 1e6))
        self._output_status.tick(now, stages[-1][1] / 1e3 if clock_ns > 0 else None)
        for stage, ms in stages:
            self.diag.record_stage(stage, ms, now)
        self.diag.record_output(now)

    def _publish_compressed(self, frame, header) -> None:
        """JPEG on fused/image_raw/compressed, only while someone listens (as image_transport)."""
        publisher = getattr(self, 'compressed_pub', None)
        if publisher is None or publisher.get_subscription_count() == 0:
            return
        publisher.publish(
            compressed_image(
                frame.image, frame.encoding, header, self._values['fused_jpeg_quality']
            )
        )

    # ------------------------------------------------------------------ diagnostics
    def _health(self) -> HealthConfig:
        v = self._values
        return HealthConfig(
            latency_budget_ms=v['latency_budget_ms'],
            input_timeout_s=v['input_timeout'],
            bad_input_hold_s=v['bad_input_hold'],
            sync_slop_s=v['sync_slop'],
        )

    def _publish_diagnostics(self) -> None:
        pipe = self._pipeline
        extra = [
            ('model', str(self._pipeline_model if pipe is not None else self._values['model'])),
            ('backend', str(self._values['backend'])),
            ('providers', ', '.join(getattr(pipe, 'providers', []) or []) if pipe else 'none'),
            ('engine', pipe.engine_choice.describe() if pipe else 'none'),
            ('last_model_load_ms', f'{self._last_load_ms:.0f}'),
            ('model_loading', self._switch.loading or 'none'),
            ('process_scale', _scale_text(pipe)),
            ('thermal_undistort', self._undistort_text()),
            *self._alignment.values(),
            ('input_transport', self._values['input_transport']),
            ('synchronizer', self._sync.backend),
            ('visible_topic', self.input_topics[0]),
            ('thermal_topic', self.input_topics[1]),
        ]
        for camera in self.inputs:  # reliability in use, publishers, incompatible-QoS events
            level, message, values = camera.report()
            extra += values
            self.diag.set_condition(f'qos_{camera.label}', level, message)
        # "fusion_node: fusion" in the root namespace, "ns/fusion_node: fusion" elsewhere.
        # hardware_id: the cameras' frame ids ("" until a frame arrives).
        status = self.diag.status(
            f'{self.get_fully_qualified_name().lstrip("/")}: fusion',
            ', '.join(f for f in self._frame_ids if f),
            self._health(),
            extra,
        )
        self.diag_pub.publish(
            diagnostic_array(self.get_clock().now().to_msg(), [status, *self._topic_statuses()])
        )

    def _topic_statuses(self) -> List[DiagnosticStatus]:
        """One diagnostic_updater-style task per camera input and one for the fused output."""
        node_name = self.get_fully_qualified_name().lstrip('/')
        timeout, now = self._values['input_timeout'], self.diag.now()
        tasks = [
            task.status(node_name, topic, frame_id, timeout, now)
            for task, topic, frame_id in zip(
                self._input_status, self.input_topics, self._frame_ids
            )
        ]
        fused_topic = self.resolve_topic_name('fused/image_raw')
        tasks.append(
            self._output_status.status(node_name, fused_topic, self._frame_ids[0], timeout, now)
        )
        return tasks

    def _undistort_text(self) -> str:
        lens = self._thermal_lens
        if lens is None:
            return 'off (no thermal/camera_info with distortion)'
        return f'{"on" if self._values["undistort_thermal"] else "off (parameter)"} ({lens.model})'

    # ------------------------------------------------------------------ parameters
    def _on_set_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params if p.name in P.PARAMETERS}
        if not changes:
            return SetParametersResult(successful=True)
        if self._putting_back:  # a failed switch restores the running model's values: no reload
            self._values.update(changes)
            return SetParametersResult(successful=True)
        if 'homography' in changes and changes['homography'] is not None:
            changes['homography'] = list(changes['homography'])
        reason = P.validate(changes, self._values)
        if reason:
            self.get_logger().warning(f'rejected parameter change: {reason}')
            return SetParametersResult(successful=False, reason=reason)
        merged = dict(self._values)
        merged.update(changes)
        options = P.processing_options(merged)  # valid: P.validate built it
        groups = {P.PARAMETERS[n].group for n in changes}

        if groups & {P.PIPELINE, P.PROCESSING} and self._switch.busy:
            reason = (
                f"model '{self._switch.loading}' is still loading: set this again once "
                '/diagnostics names it as the running model'
            )
            self.get_logger().warning(f'rejected parameter change: {reason}')
            return SetParametersResult(successful=False, reason=reason)
        if P.PIPELINE in groups:
            try:  # a missing or altered file is refused now; the session builds in the background
                check_model_files(
                    merged['model'],
                    merged['weights_dir'] or None,
                    merged['allow_unverified_model'],
                )
            except Exception as exc:
                reason = (
                    f"cannot load model '{merged['model']}' with backend "
                    f"'{merged['backend']}': {exc}"
                )
                self.get_logger().error(f'{reason}; keeping the running model')
                return SetParametersResult(successful=False, reason=reason)
            self._switch.start(merged, previous=dict(self._values))
            meanwhile = (
                f"'{self._pipeline_model}' fuses meanwhile"
                if self._pipeline is not None
                else 'nothing fuses until it is ready'
            )
            self.get_logger().info(
                f"loading model '{merged['model']}' ({merged['backend']}); {meanwhile}"
            )
        elif P.PROCESSING in groups and self._pipeline is not None:
            try:  # a new `threads` value rebuilds the engine first, then swaps it (frames go on)
                self._pipeline.update_options(options)
            except Exception as exc:
                return SetParametersResult(
                    successful=False, reason=f'cannot apply processing options: {exc}'
                )
        self._values = merged

        if P.SYNC in groups:
            with self._sync_lock:  # pending messages are dropped (and counted)
                self._sync.reconfigure(
                    merged['sync_queue_size'],
                    merged['sync_slop'],
                    merged['sync_inter_message_lower_bound'],
                )
        if 'diagnostics_period' in changes and self._diag_timer is not None:
            self._diag_timer.cancel()
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                merged['diagnostics_period'], self._publish_diagnostics
            )
        self.get_logger().info(
            'parameters set: ' + ', '.join(f'{k}={v}' for k, v in changes.items())
        )
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ shutdown
    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (the frame in flight finishes)."""
        with self._slot_cv:
            self._stopping = True
            self._slot = None
            self._slot_cv.notify_all()
        worker = self._worker
        if worker is not None and worker.is_alive() and worker is not threading.current_thread():
            worker.join(timeout)

    def stop_fusing(self) -> None:
        """Unsubscribe from the cameras and stop the worker; the model stays loaded."""
        for camera in self.inputs:
            camera.destroy()
            self.diag.set_condition(f'qos_{camera.label}', OK)  # no longer subscribed
        self.inputs = []
        if self._qos_timer is not None:
            self.destroy_timer(self._qos_timer)
            self.destroy_subscription(self._info_sub)
            self.destroy_subscription(self._thermal_info_sub)
            self._qos_timer = self._info_sub = self._thermal_info_sub = None
        self.stop()

    def destroy_node(self) -> None:
        self._switch.cancel()
        self.stop()
        super().destroy_node()


class AlignmentWatch:
    """The online alignment check (fusion_ros.registration.alignment).

    The worker keeps the last fused raw pair; a timer in its own callback group scores it under the
    running homography and the verdict (WARN: re-run fusion-ros register) joins the node's
    diagnostics.
    """

    def __init__(self, node: 'FusionNode') -> None:
        self.node = node
        self.monitor = AlignmentMonitor(
            node._values['alignment_warn_px'], node._values['alignment_hold']
        )
        self._lock = threading.Lock()
        self._pair: Optional[Tuple[Any, Any]] = None
        period = node._values['alignment_check_period']
        if period > 0:
            node.create_timer(period, self.check, callback_group=MutuallyExclusiveCallbackGroup())

    def keep(self, visible, thermal) -> None:
        with self._lock:
            self._pair = (visible, thermal)

    def check(self) -> None:
        with self._lock:
            pair, self._pair = self._pair, None
        pipe = self.node._pipeline
        if pair is None or pipe is None:
            return
        v = self.node._values
        self.monitor.threshold_px, self.monitor.hold_s = (
            v['alignment_warn_px'],
            v['alignment_hold'],
        )
        now = time.monotonic()
        self.monitor.update(alignment_check(pair[0], pair[1], pipe.options.homography_matrix), now)
        level, message = self.monitor.status(now)
        self.node.diag.set_condition('alignment', WARN if level == 'WARN' else OK, message)

    def values(self) -> List[Tuple[str, str]]:
        last, median = self.monitor.last, self.monitor.median_px
        return [
            ('alignment_residual_px', 'not judged' if median is None else f'{median:.2f}'),
            ('alignment_correlation', '-' if last is None else f'{last.correlation:.2f}'),
        ]


def _scale_text(pipe) -> str:
    """Return the processing scale in force, e.g. "0.5 (auto, budget 33 ms)"."""
    if pipe is None:
        return 'none'
    scale = pipe.options.process_scale
    return (
        f'{scale:g}'
        if scale
        else f'{pipe.auto_scale:g} (auto, budget {pipe.options.scale_budget_ms:g} ms)'
    )


class LifecycleFusionNode(LifecycleNodeMixin, FusionNode):
    """fusion_node as a managed node (``fusion_node --lifecycle``, launch ``lifecycle:=true``).

    configure loads the model and creates the outputs; activate subscribes to the cameras and
    fuses; deactivate stops fusing, the model stays loaded; cleanup unloads it. A model that
    does not load fails configure (the node stays unconfigured).
    """

    def __init__(self, **kwargs: Any) -> None:
        FusionNode.__init__(self, start=False, **kwargs)
        LifecycleNodeMixin.__init__(self)

    def on_configure(self, state) -> TransitionCallbackReturn:
        if not self.load_model():
            return TransitionCallbackReturn.FAILURE
        self.create_outputs(self.create_lifecycle_publisher)
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        self.start_fusing()
        return super().on_activate(state)  # enables the lifecycle publishers

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self.stop_fusing()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self.destroy_outputs()
        self._switch.cancel()  # a switch still loading would bring a model back
        with self._pipe_lock:
            self._pipeline = None
        self.get_logger().info('model unloaded')
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self.stop_fusing()
        self.destroy_outputs()
        return TransitionCallbackReturn.SUCCESS


def main(args: Optional[List[str]] = None) -> None:
    stop_once_on_signals()  # the first SIGINT/SIGTERM stops spin; later ones cannot interrupt
    rclpy.init(args=args)
    ours = remove_ros_args(sys.argv if args is None else args)[1:]
    node = None
    try:
        node = LifecycleFusionNode() if '--lifecycle' in ours else FusionNode()
        # One executor thread: a two-thread executor cost throughput (at 30 Hz 640x512 it fused
        # 69-84% of pairs where one thread fuses 99-100%, test_fusion_node_qos). Model switches
        # load on their own thread instead (ros/model_switch.py), so frames flow meanwhile.
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise  # a real error; otherwise a signal shut rclpy down while the node was starting
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
