# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ROS 2 train node: runs one training run (recipe + export) and publishes its progress.

    python -m fusion_ros.nodes.train_node --ros-args -p model:=mmdrfuse -p config:=tiny
    fusion-ros train --model mmdrfuse --ros            # the same, from the CLI

Training runs in a worker thread; the node spins in the main thread and exits when the run has
finished (weights exported). Ctrl-C stops training cleanly at the next step: a checkpoint is
written and what was trained so far is still exported (`resume:=true` continues later).

Published (node name `train_node`, so topics are `/train_node/...` unless remapped):

- `~/loss/<name>` (`std_msgs/Float32`), one topic per loss term (`total`, `intensity`, ...,
  `lr`) every `log_every` steps. Why: rqt_plot and PlotJuggler plot a numeric field of any topic
  (`/train_node/loss/total/data`) with no custom message package, and each curve can be picked on
  its own; an array or a KeyValue list cannot be plotted by rqt_plot.
- `/diagnostics` (`diagnostic_msgs/DiagnosticArray`, status name `train_node: training`): stage,
  step, total steps, epoch, every loss term and the latest validation metrics as KeyValues, for
  rqt_robot_monitor / `ros2 topic echo` and log files; level WARN when stopped early, ERROR on a
  failure.
- `~/sample/image` (`sensor_msgs/Image`, mono8): a visible | thermal | fused mosaic of one
  training patch every `sample_period_steps` steps (upscaled with nearest neighbour to >= 192 px
  high), for rqt_image_view / rviz.
"""

from __future__ import annotations

from pathlib import Path
import threading
import time
import traceback
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float32

NODE_NAME = 'train_node'
SAMPLE_MIN_HEIGHT = 192


def _mosaic(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """Return visible | thermal | fused, uint8.

    Upscaled by an integer factor to >= SAMPLE_MIN_HEIGHT.
    """
    tiles = [
        np.clip(np.rint(np.asarray(a, np.float32) * 255.0), 0, 255).astype(np.uint8)
        for a in (vis, ir, fused)
    ]
    gap = np.full((tiles[0].shape[0], 2), 255, np.uint8)
    m = np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], axis=1)
    k = max(1, -(-SAMPLE_MIN_HEIGHT // m.shape[0]))
    return np.ascontiguousarray(np.repeat(np.repeat(m, k, axis=0), k, axis=1))


class TrainNode(Node):
    """Owns one training run; `finished` is set when it has ended (successfully or not)."""

    def __init__(
        self,
        cfg=None,
        *,
        out_dir: str | Path | None = None,
        export_dir: str | Path | None = None,
        resume: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(NODE_NAME, **kwargs)
        ro = {'read_only': True}
        self.declare_parameter(
            'model',
            'mmdrfuse',
            ParameterDescriptor(
                description='network to train: mmdrfuse, mobilefuse or aenetv2', **ro
            ),
        )
        self.declare_parameter(
            'config',
            'default',
            ParameterDescriptor(
                description='training config: default, tiny, or a YAML/JSON file path', **ro
            ),
        )
        self.declare_parameter(
            'ir_dir',
            '',
            ParameterDescriptor(
                description="infrared training folder (with vis_dir; empty = the config's data)",
                **ro,
            ),
        )
        self.declare_parameter(
            'vis_dir',
            '',
            ParameterDescriptor(
                description='visible training folder matching ir_dir (file stems pair the images)',
                **ro,
            ),
        )
        self.declare_parameter(
            'out_dir',
            '',
            ParameterDescriptor(
                description='run folder for checkpoints, weights and summary (empty = '
                'runs/<model>)',
                **ro,
            ),
        )
        self.declare_parameter(
            'export_dir',
            '',
            ParameterDescriptor(
                description='where <model>.onnx and its card go (empty = <out_dir>/export)', **ro
            ),
        )
        self.declare_parameter(
            'resume',
            False,
            ParameterDescriptor(description="continue from the run folder's checkpoints", **ro),
        )
        self.declare_parameter(
            'max_minutes',
            0.0,
            ParameterDescriptor(
                description="time budget in minutes (0 = the config's)",
                floating_point_range=[
                    FloatingPointRange(from_value=0.0, to_value=10080.0, step=0.0)
                ],
                **ro,
            ),
        )
        self.declare_parameter(
            'sample_period_steps',
            25,
            ParameterDescriptor(
                description='publish a sample mosaic every N optimiser steps (0 = never)',
                integer_range=[IntegerRange(from_value=0, to_value=1_000_000, step=1)],
                **ro,
            ),
        )
        self.declare_parameter(
            'wait_for_subscribers_s',
            0.0,
            ParameterDescriptor(
                description='before training, wait up to this long for a subscriber of '
                '~/loss/total',
                floating_point_range=[
                    FloatingPointRange(from_value=0.0, to_value=600.0, step=0.0)
                ],
                **ro,
            ),
        )
        p = {
            name: self.get_parameter(name).value
            for name in (
                'model',
                'config',
                'ir_dir',
                'vis_dir',
                'out_dir',
                'export_dir',
                'resume',
                'max_minutes',
                'sample_period_steps',
                'wait_for_subscribers_s',
            )
        }
        if cfg is None:
            from fusion_ros.training.config import load_config

            overrides: dict[str, Any] = {'max_minutes': p['max_minutes'] or None}
            if p['ir_dir'] or p['vis_dir']:
                if not (p['ir_dir'] and p['vis_dir']):
                    raise ValueError('set both ir_dir and vis_dir')
                overrides['train_sources'] = [{'ir': p['ir_dir'], 'vis': p['vis_dir']}]
            cfg = load_config(p['model'], p['config'], **overrides)
        cfg = cfg.replace(sample_every=int(p['sample_period_steps']))
        self.cfg = cfg
        self.out_dir = Path(out_dir or p['out_dir'] or f'runs/{cfg.model}')
        self.export_dir = export_dir or p['export_dir'] or None
        self.resume = bool(p['resume'] if resume is None else resume)
        self.wait_for_subscribers_s = float(p['wait_for_subscribers_s'])

        self.qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.loss_pubs: dict[str, Any] = {}
        self.loss_pubs['total'] = self.create_publisher(Float32, '~/loss/total', self.qos)
        self.sample_pub = self.create_publisher(
            Image, '~/sample/image', QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
        )
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self._lock = threading.Lock()
        self.stop_requested = threading.Event()
        self.finished = threading.Event()
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.stage = ''
        self.step = 0
        self.total_steps = 0
        self.epoch = 0
        self.last_losses: dict[str, float] = {}
        self.val_metrics: dict[str, float] = {}
        self.samples_published = 0
        self._worker: threading.Thread | None = None

    # ------------------------------------------------------------------ publishing
    def _safe(self, fn, *args) -> None:
        """Publish, unless the context is shut down (Ctrl-C): training must not fail then."""
        try:
            if rclpy.ok(context=self.context):
                fn(*args)
        except Exception:
            pass

    def publish_losses(self, step: int, losses: dict[str, float]) -> None:
        with self._lock:
            self.step, self.last_losses = step, dict(losses)
        for name, value in losses.items():
            key = ''.join(c if c.isalnum() or c == '_' else '_' for c in name)
            pub = self.loss_pubs.get(key)
            if pub is None:
                try:
                    pub = self.loss_pubs[key] = self.create_publisher(
                        Float32, f'~/loss/{key}', self.qos
                    )
                except Exception:
                    continue
            self._safe(pub.publish, Float32(data=float(value)))
        self.publish_status()

    def publish_sample(
        self, step: int, ir: np.ndarray, vis: np.ndarray, fused: np.ndarray
    ) -> None:
        mosaic = _mosaic(ir, vis, fused)
        msg = Image()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = 'train_sample'
        msg.height, msg.width = int(mosaic.shape[0]), int(mosaic.shape[1])
        msg.encoding, msg.is_bigendian, msg.step = 'mono8', 0, int(mosaic.shape[1])
        msg.data = mosaic.tobytes()
        self._safe(self.sample_pub.publish, msg)
        self.samples_published += 1

    def publish_status(self, level: int = 0, message: str | None = None) -> None:
        with self._lock:
            values = {
                'model': self.cfg.model,
                'recipe': self.cfg.recipe,
                'config': self.cfg.name,
                'stage': self.stage,
                'step': self.step,
                'total_steps': self.total_steps,
                'epoch': self.epoch,
                **{f'loss_{k}': f'{v:.6g}' for k, v in self.last_losses.items()},
                **{f'val_{k}': f'{v:.6g}' for k, v in self.val_metrics.items()},
            }
        status = DiagnosticStatus(
            name=f'{NODE_NAME}: training',
            hardware_id=self.get_fully_qualified_name(),
            message=message or f'{self.stage} step {self.step}/{self.total_steps}',
        )
        status.level = bytes([level])
        status.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
        arr = DiagnosticArray()
        arr.header.stamp = self.get_clock().now().to_msg()
        arr.status = [status]
        self._safe(self.diag_pub.publish, arr)

    # ------------------------------------------------------------------ the run
    def hooks(self):
        from fusion_ros.training.hooks import TrainingHooks

        node = self

        class RosHooks(TrainingHooks):
            """Training events to the node's state and topics."""

            def on_stage(self, stage, info):
                with node._lock:
                    node.stage, node.total_steps, node.epoch = (
                        stage,
                        int(info.get('total_steps', 0)),
                        0,
                    )
                node.get_logger().info(
                    f'stage {stage}: {info.get("total_steps")} steps '
                    f'({info.get("samples")} patches, batch {info.get("batch_size")})'
                )

            def on_step(self, step, losses):
                node.publish_losses(step, losses)

            def on_sample(self, step, ir, vis, fused):
                node.publish_sample(step, ir, vis, fused)

            def on_epoch_end(self, epoch, val_metrics):
                with node._lock:
                    node.epoch, node.val_metrics = epoch, dict(val_metrics)
                shown = ' '.join(f'{k}={v:.4g}' for k, v in val_metrics.items())
                node.get_logger().info(f'{node.stage} epoch {epoch} done {shown}')
                node.publish_status()

            def should_stop(self):
                return node.stop_requested.is_set()

        return RosHooks()

    def start(self) -> None:
        """Start training in a worker thread (returns at once)."""
        self._worker = threading.Thread(target=self._run, name='training', daemon=True)
        self._worker.start()

    def request_stop(self) -> None:
        self.stop_requested.set()

    def _wait_for_subscribers(self) -> None:
        deadline = time.monotonic() + self.wait_for_subscribers_s
        while time.monotonic() < deadline and not self.stop_requested.is_set():
            if self.loss_pubs['total'].get_subscription_count() > 0:
                time.sleep(0.3)  # let the remaining subscriptions match too
                return
            time.sleep(0.05)

    def _run(self) -> None:
        from fusion_ros.training.runner import run_training

        try:
            if self.wait_for_subscribers_s > 0:
                self._wait_for_subscribers()
            self.get_logger().info(
                f'training {self.cfg.model} with {self.cfg.name or "a custom config"} '
                f'-> {self.out_dir}'
            )
            self.result = run_training(
                self.cfg,
                self.hooks(),
                out_dir=self.out_dir,
                export_dir=self.export_dir,
                resume=self.resume,
            )
            stopped = bool(self.result['summary'].get('stopped_early'))
            self.publish_status(
                1 if stopped else 0, 'stopped early; exported' if stopped else 'finished; exported'
            )
            self.get_logger().info(f'exported {self.result["onnx"]}')
        except Exception as exc:  # report, never hang the node
            self.error = f'{type(exc).__name__}: {exc}'
            self.get_logger().error('training failed:\n' + traceback.format_exc())
            self.publish_status(2, self.error)
        finally:
            self.finished.set()

    def join(self, timeout: float | None = None) -> None:
        if self._worker is not None:
            self._worker.join(timeout)


def spin_until_finished(
    node: TrainNode, executor: SingleThreadedExecutor, grace_s: float = 120.0
) -> int:
    """Spin until training ends; Ctrl-C stops it cleanly (checkpoint + export).

    Exit code.
    """
    node.start()
    try:
        while not node.finished.is_set():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        node.request_stop()
        node.finished.wait(grace_s)
    return 0 if node.error is None and node.finished.is_set() else 1


def run_train_node(
    cfg, out_dir=None, export_dir=None, resume: bool = False, args: list[str] | None = None
) -> int:
    """`fusion-ros train --ros`: one training run inside a TrainNode (owns rclpy.init)."""
    rclpy.init(args=args)
    node = TrainNode(cfg, out_dir=out_dir, export_dir=export_dir, resume=resume)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        return spin_until_finished(node, executor)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    code = 1
    node = None
    try:
        node = TrainNode()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        code = spin_until_finished(node, executor)
        executor.shutdown()
    except (KeyboardInterrupt, ExternalShutdownException):
        if node is not None:
            node.request_stop()
            node.finished.wait(120.0)
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    import sys

    sys.exit(main())
