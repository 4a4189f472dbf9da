# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Choosing the engine and its thread count at load time, by timing them on this machine.

Why measure instead of rules: on a 2-core CPU the 113-parameter student runs fastest as OpenCV
filters, wider nets on ONNX Runtime; one intra-op thread beats two for tiny nets (thread
synchronisation costs more than the work) while wide nets gain from every core. Which wins depends
on the CPU, its load and the frame size, so the loader times each candidate on a frame of the
deployment size and keeps the fastest. Only done when there is a choice: an explicit `threads`
and a backend with one engine skip it.

No ROS, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import time
from typing import Any, Callable, Sequence

import numpy as np

from .engine import _resolve, CPU, OnnxEngine
from .errors import ModelLoadError
from .model_card import ModelCard
from .opencv_engine import OpenCVEngine, read_conv_chain, UnsupportedGraph
from .options import available_cores

OPENCV_BACKEND = 'opencv'
# Every backend name the loader takes: the node parameter and the CLI verbs offer exactly these.
BACKEND_NAMES = ('auto', 'cpu', 'cuda', 'tensorrt', OPENCV_BACKEND)
TIMING_SIZE = (512, 640)  # (H, W) of the timing frame: the common 640x512 thermal camera
MAX_THREADS_PER_CORE = 2  # more threads than this only contend (256 on 2 cores stopped fusion)
TIMING_RUNS = 3  # timed runs per candidate (after one warm-up); the minimum counts

EngineFactory = Callable[[int], Any]


@dataclass(frozen=True)
class EngineChoice:
    """The engine in use and how it was picked.

    {"OpenCV x1": ms, "CPUExecutionProvider x2": ms, ...}.
    """

    engine: Any
    timings_ms: dict[str, float]
    warnings: list[str]

    def describe(self) -> str:
        if not self.timings_ms:
            return f'{self.engine.providers[0]} x{self.engine.threads} (not timed)'
        parts = ', '.join(
            f'{k} {v:.2f} ms' for k, v in sorted(self.timings_ms.items(), key=lambda kv: kv[1])
        )
        return f'{self.engine.providers[0]} x{self.engine.threads} (fastest at 640x512: {parts})'


def time_engine(
    engine: Any, size_multiple: int, size: tuple[int, int] = TIMING_SIZE, runs: int = TIMING_RUNS
) -> float:
    """Best-of-`runs` milliseconds of one `run_into` on a random frame of `size`.

    Padded to the multiple.
    """
    h, w = (-(-s // size_multiple) * size_multiple for s in size)
    x = np.random.default_rng(0).random((1, 2, h, w), dtype=np.float32)
    out = np.empty((1, 1, h, w), np.float32)
    engine.run_into(x, out)  # warm-up: allocations, ORT's first-run planning
    best = float('inf')
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.run_into(x, out)
        best = min(best, (time.perf_counter() - t0) * 1e3)
    engine.release_binding()
    return best


def _opencv_factory(onnx_path: Path, card: ModelCard) -> EngineFactory:
    layers = read_conv_chain(onnx_path, card.input_name, card.output_name)
    return lambda n: OpenCVEngine(onnx_path, n, card.input_name, card.output_name, layers)


def _candidates(
    onnx_path: Path, card: ModelCard, backend: str, disabled: Sequence[str]
) -> tuple[list[EngineFactory], bool, list[str]]:
    """(engine factories, whether they run on the CPU, warnings) for a backend name."""
    key = str(backend).strip().lower()
    if key == OPENCV_BACKEND:
        try:
            return [_opencv_factory(onnx_path, card)], True, []
        except UnsupportedGraph as exc:
            raise ModelLoadError(
                f"backend 'opencv' runs only tiny plain convolution chains; {onnx_path.name}: "
                f"{exc}. Use backend 'cpu' or 'auto'."
            ) from None
    try:
        providers, warnings = _resolve(key)
    except ValueError as exc:
        raise ModelLoadError(f"{exc} or '{OPENCV_BACKEND}'") from None
    factories: list[EngineFactory] = [
        lambda n: OnnxEngine(
            onnx_path,
            providers,
            threads=n,
            input_name=card.input_name,
            output_name=card.output_name,
            disabled_optimizers=disabled,
        )
    ]
    on_cpu = providers[0] == CPU
    if key == 'auto' and on_cpu:
        try:
            factories.append(_opencv_factory(onnx_path, card))
        except UnsupportedGraph:
            pass  # not a tiny chain: ONNX Runtime only
    return factories, on_cpu, warnings


def choose_engine(
    onnx_path: Path,
    card: ModelCard,
    backend: str,
    threads: int,
    disabled_optimizers: Sequence[str] = (),
) -> EngineChoice:
    """Return the engine for `backend` ("cpu" | "cuda" | "tensorrt" | "opencv" | "auto").

    `threads` > 0 fixed or 0 = timed among 1..cores. "auto" on a machine without a GPU also times
    the OpenCV path for tiny convolution chains. GPU sessions are not timed (TensorRT builds an
    engine per session: seconds each); they get all cores. More than MAX_THREADS_PER_CORE threads
    per core raises ValueError (nothing is built).
    """
    cores = available_cores()
    if threads > MAX_THREADS_PER_CORE * cores:
        raise ValueError(
            f'threads {threads} is more than {MAX_THREADS_PER_CORE}x the {cores} core(s) this '
            'process '
            f'may use: the threads would only wait for each other and stall fusion; use 0 '
            f'(timed at load) or 1..{MAX_THREADS_PER_CORE * cores}'
        )
    factories, on_cpu, warnings = _candidates(onnx_path, card, backend, disabled_optimizers)
    counts = [threads] if threads > 0 else list(range(1, cores + 1))
    if not on_cpu:
        counts = [threads if threads > 0 else cores]
    if len(factories) * len(counts) == 1:
        return EngineChoice(factories[0](counts[0]), {}, warnings)
    best, best_ms, timings = None, float('inf'), {}
    for factory in factories:
        for n in counts:
            engine = factory(n)
            ms = time_engine(engine, card.size_multiple)
            timings[f'{engine.providers[0]} x{n}'] = round(ms, 3)
            if ms < best_ms:
                best, best_ms = engine, ms
    return EngineChoice(best, timings, warnings)
