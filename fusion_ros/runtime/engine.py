# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime engine.

Provider selection, session set-up tuned for small fusion networks, IO binding.

No ROS, no torch: only numpy and onnxruntime.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import onnxruntime as ort

from .errors import ModelLoadError

CPU = 'CPUExecutionProvider'
CUDA = 'CUDAExecutionProvider'
TENSORRT = 'TensorrtExecutionProvider'

BACKENDS: dict[str, tuple[str, ...]] = {
    'auto': (TENSORRT, CUDA, CPU),
    'cpu': (CPU,),
    'cuda': (CUDA, CPU),
    'tensorrt': (TENSORRT, CUDA, CPU),
}

# NCHWc blocks channels by 8 (AVX2) or 16 (AVX-512): for networks whose convolutions have only a
# handful of channels (the 113-parameter MMDRFuse student: 2->4->1) it multiplies the work, and
# measured on a 2-core EPYC it makes such a model ~1.6x slower; wide networks (MobileFuse) gain
# from it. A card may say so explicitly (runtime.disabled_optimizers); otherwise models below this
# many parameters (no conv can then be 8 channels in and out) run without it.
SMALL_MODEL_PARAMETERS = 576


def trt_cache_dir() -> Path:
    """Where TensorRT engines are cached between runs.

    $FUSION_ROS_TRT_CACHE or ~/.cache/fusion_ros/tensorrt.
    """
    env = os.environ.get('FUSION_ROS_TRT_CACHE')
    return Path(env) if env else Path.home() / '.cache' / 'fusion_ros' / 'tensorrt'


def _resolve(backend: str) -> tuple[list[str], list[str]]:
    """Return (providers in priority order that this onnxruntime build has, warnings)."""
    key = str(backend).strip().lower()
    if key not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; expected one of {", ".join(BACKENDS)}')
    available = set(ort.get_available_providers())
    wanted = BACKENDS[key]
    chosen = [p for p in wanted if p in available]
    if CPU not in chosen:  # every build has it; keep the guarantee anyway
        chosen.append(CPU)
    warnings: list[str] = []
    if key != 'auto' and chosen[0] != wanted[0]:
        warnings.append(
            f'backend {key!r} asked for {wanted[0]}, which this onnxruntime build does not '
            'provide '
            f'(available: {", ".join(sorted(available))}); running on {chosen[0]} instead. '
            'Install onnxruntime-gpu (with '
            f'CUDA/cuDNN{" and TensorRT" if key == "tensorrt" else ""}) '
            f'for GPU inference.'
        )
    return chosen, warnings


def resolve_providers(backend: str) -> list[str]:
    """ORT providers for a backend name, in priority order, keeping only those this build has.

    "tensorrt" -> [Tensorrt, CUDA, CPU], "cuda" -> [CUDA, CPU], "cpu" -> [CPU], "auto" -> the best
    available. Missing GPU providers are dropped (CPU always remains). Unknown names raise
    ValueError.
    """
    return _resolve(backend)[0]


def _provider_entries(providers: Sequence[str]) -> list[Any]:
    """Attach sensible options: TensorRT engine cache.

    Building an engine takes seconds to minutes.
    """
    entries: list[Any] = []
    for p in providers:
        if p == TENSORRT:
            cache = trt_cache_dir()
            try:
                cache.mkdir(parents=True, exist_ok=True)
                entries.append(
                    (
                        p,
                        {
                            'trt_engine_cache_enable': 'True',
                            'trt_engine_cache_path': str(cache),
                            'trt_timing_cache_enable': 'True',
                            'trt_timing_cache_path': str(cache),
                        },
                    )
                )
            except OSError:
                entries.append(p)
        elif p == CUDA:
            # Heuristic algorithm choice: the exhaustive default re-benchmarks for every new frame
            # size.
            entries.append((p, {'cudnn_conv_algo_search': 'HEURISTIC'}))
        else:
            entries.append(p)
    return entries


def _session_options(threads: int) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # errors only: ORT's warnings are noise on a robot's console
    return so


class OnnxEngine:
    """One onnxruntime.InferenceSession with the project's I/O convention.

    `run(x)` returns a new array; `run_into(x, out)` writes into a preallocated output through IO
    binding (no per-frame allocation; the binding is cached while `x`/`out` stay the same buffers).
    Not thread-safe by itself: `FusionPipeline` serialises calls.
    """

    def __init__(
        self,
        onnx_path: str | Path,
        providers: Sequence[str] | None = None,
        threads: int = 1,
        input_name: str = 'input',
        output_name: str = 'fused',
        disabled_optimizers: Sequence[str] | None = None,
    ) -> None:
        self.path = Path(onnx_path)
        self.threads = max(1, int(threads))
        self.requested_providers = list(providers) if providers else [CPU]
        self.disabled_optimizers = list(disabled_optimizers or [])
        self.warnings: list[str] = []
        if not self.path.is_file():
            raise ModelLoadError(f'ONNX model not found: {self.path}')
        self.session = self._create_session()
        self.providers: list[str] = list(self.session.get_providers())
        if (
            self.providers
            and self.providers[0] != self.requested_providers[0]
            and not self.warnings
        ):
            self.warnings.append(
                f'{self.requested_providers[0]} could not be initialised for {self.path.name}; '
                f'running on {self.providers[0]}'
            )
        self.input_name, self.output_name = self._check_io(input_name, output_name)
        self._binding: ort.IOBinding | None = None
        self._bound: tuple[int, tuple[int, ...], int, tuple[int, ...]] | None = None
        self._bound_arrays: tuple[np.ndarray, np.ndarray] | None = None

    def with_threads(self, threads: int) -> 'OnnxEngine':
        """Return a new session of the same model with another intra-op thread count."""
        return OnnxEngine(
            self.path,
            self.requested_providers,
            threads=threads,
            input_name=self.input_name,
            output_name=self.output_name,
            disabled_optimizers=self.disabled_optimizers,
        )

    def _create_session(self) -> ort.InferenceSession:
        so = _session_options(self.threads)
        kwargs: dict[str, Any] = {'enable_fallback': 0}
        if self.disabled_optimizers:
            kwargs['disabled_optimizers'] = self.disabled_optimizers
        try:
            return ort.InferenceSession(
                str(self.path), so, providers=_provider_entries(self.requested_providers), **kwargs
            )
        except Exception as first:  # noqa: BLE001 - onnxruntime raises several unrelated types
            if self.requested_providers == [CPU]:
                raise ModelLoadError(
                    f'{self.path}: onnxruntime cannot load this model '
                    f'(corrupt or not an ONNX file?): {_short(first)}'
                ) from None
            try:
                session = ort.InferenceSession(
                    str(self.path), _session_options(self.threads), providers=[CPU], **kwargs
                )
            except Exception as second:  # noqa: BLE001
                raise ModelLoadError(
                    f'{self.path}: onnxruntime cannot load this model '
                    f'(corrupt or not an ONNX file?): {_short(second)}'
                ) from None
            self.warnings.append(
                f'{self.requested_providers[0]} failed to start ({_short(first)}); '
                f'running {self.path.name} on {CPU}'
            )
            return session

    def _check_io(self, input_name: str, output_name: str) -> tuple[str, str]:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        where = f'{self.path}'
        if len(inputs) != 1:
            raise ModelLoadError(
                f'{where}: expected exactly one input ({input_name!r} [N,2,H,W] float32), '
                f'the model has {[i.name for i in inputs]}'
            )
        inp = inputs[0]
        if inp.name != input_name:
            raise ModelLoadError(
                f'{where}: input is named {inp.name!r} but the model card says {input_name!r}'
            )
        if inp.type != 'tensor(float)':
            raise ModelLoadError(
                f'{where}: input {inp.name!r} is {inp.type}; expected tensor(float) (float32)'
            )
        if len(inp.shape) != 4 or (isinstance(inp.shape[1], int) and inp.shape[1] != 2):
            raise ModelLoadError(
                f'{where}: input {inp.name!r} has shape {inp.shape}; expected [N, 2, H, W]'
            )
        for dim, label in ((inp.shape[2], 'H'), (inp.shape[3], 'W')):
            if isinstance(dim, int):
                raise ModelLoadError(
                    f'{where}: input {inp.name!r} has a fixed {label}={dim} ({inp.shape}); '
                    f'export with dynamic H and W'
                )
        by_name = {o.name: o for o in outputs}
        if output_name not in by_name:
            raise ModelLoadError(
                f"{where}: no output named {output_name!r} (model card); the model's outputs are "
                f'{list(by_name)}'
            )
        out = by_name[output_name]
        if out.type != 'tensor(float)':
            raise ModelLoadError(
                f'{where}: output {out.name!r} is {out.type}; expected tensor(float)'
            )
        if len(out.shape) != 4 or (isinstance(out.shape[1], int) and out.shape[1] != 1):
            raise ModelLoadError(
                f'{where}: output {out.name!r} has shape {out.shape}; expected [N, 1, H, W]'
            )
        return inp.name, out.name

    # ------------------------------------------------------------------ inference
    def run(self, x: np.ndarray) -> np.ndarray:
        """Run on a float32 [N, 2, H, W] array; return the [N, 1, H, W] output (new array)."""
        return self.session.run([self.output_name], {self.input_name: x})[0]

    def run_into(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Run writing the output into `out` (float32, C-contiguous, [N, 1, H, W]); returns `out`.

        Both arrays are bound once and re-used while the same buffers come back (the pipeline keeps
        them per frame size), so a frame costs one `run_with_iobinding` call.
        """
        key = (
            x.__array_interface__['data'][0],
            x.shape,
            out.__array_interface__['data'][0],
            out.shape,
        )
        if self._bound != key:
            if not (
                x.flags.c_contiguous
                and out.flags.c_contiguous
                and x.dtype == np.float32
                and out.dtype == np.float32
            ):
                raise ValueError('run_into needs C-contiguous float32 input and output buffers')
            binding = self.session.io_binding()
            binding.bind_ortvalue_input(self.input_name, ort.OrtValue.ortvalue_from_numpy(x))
            binding.bind_ortvalue_output(self.output_name, ort.OrtValue.ortvalue_from_numpy(out))
            self._binding, self._bound, self._bound_arrays = binding, key, (x, out)
        self.session.run_with_iobinding(self._binding)
        return out

    def release_binding(self) -> None:
        """Forget the cached IO binding (called when the pipeline drops its buffers)."""
        self._binding = self._bound = self._bound_arrays = None

    def __repr__(self) -> str:
        return (
            f'OnnxEngine({self.path.name!r}, providers={self.providers}, threads={self.threads})'
        )


def _short(exc: BaseException, limit: int = 300) -> str:
    text = ' '.join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + '...'
