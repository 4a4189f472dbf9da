# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Latency lookup table of the HAF-NAS search space, measured on this device with ONNX Runtime.

HAF-NAS (Liu et al., ACM MM 2021) adds to the search loss the weighted sum of each operator's
latency *measured on the target device*. Here every candidate operator of
`fusion_ros.models.hafnas` is exported alone to ONNX at the size it runs at in the deployed network
(640x512 input -> 1/2, 1/4, 1/8 feature maps) and timed with the execution provider and intra-op
thread count the node would use; so are the element-wise add a cell node pays per extra input, the
bare skeleton (stem, pooling, aggregation, blend head: the net with every edge `zero`), and a
near-empty model whose time is the fixed cost of one ONNX Runtime call. Times are the minimum over
`repeats` runs after a warm-up (the minimum, not the median, because on a shared machine other
processes only ever add time), by default on the inference thread's CPU clock (see
`clock_function`). An operator's entry is its marginal cost inside a network: the time of a chain
of two copies minus the time of one (so the per-call cost and the layout reorders at a graph's
entry and exit, which a network pays once and the skeleton already holds, are not counted per
operator); an add's entry is its time minus the per-call cost. A network then costs

    predicted = skeleton + sum over its edges of op(edge, scale)
                         + sum over its node inputs of add(scale)

(`predict_ms`); during the search the same sum is taken in expectation under the softmax operator
weights (`expected_ms`, differentiable in the architecture parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import datetime as dt
import json
import os
from pathlib import Path
import platform
import tempfile
import time
from typing import Callable, Sequence
import warnings

from fusion_ros.models.hafnas import (
    Architecture,
    DerivedNet,
    FREE_OPS,
    make_op,
    SearchSpace,
    uniform_architecture,
)
import numpy as np
import torch
from torch import nn

TABLE_VERSION = 1
# Every timing is the minimum over ROUNDS interleaved passes, ROUND_PAUSE_S apart: on the shared
# 2-core build machine the same skeleton timed 3.5 ms and 5.9 ms a few seconds apart (2026-12-07),
# so a measurement must span more than one slow spell.
ROUNDS = 6
ROUND_PAUSE_S = 1.0


@dataclass
class LatencyTable:
    """Measured milliseconds.

    `ops["sep3@1"]`, `adds["1"]` (per scale), `skeleton_ms`, `call_ms`.
    """

    space: SearchSpace
    size: tuple[int, int]  # (H, W) of the network input
    ops: dict[str, float]
    adds: dict[str, float]
    skeleton_ms: float
    call_ms: float
    device: dict = field(default_factory=dict)
    models_ms: dict[str, float] = field(
        default_factory=dict
    )  # whole networks timed with the table

    def op_ms(self, op: str, scale: int) -> float:
        return 0.0 if op in FREE_OPS else self.ops[f'{op}@{scale}']

    def add_ms(self, scale: int) -> float:
        return self.adds[str(scale)]

    def to_dict(self) -> dict:
        return {
            'version': TABLE_VERSION,
            'space': self.space.to_dict(),
            'size': list(self.size),
            'ops': self.ops,
            'adds': self.adds,
            'skeleton_ms': self.skeleton_ms,
            'call_ms': self.call_ms,
            'device': self.device,
            'models_ms': self.models_ms,
        }

    @classmethod
    def from_dict(cls, data: dict) -> 'LatencyTable':
        if data.get('version') != TABLE_VERSION:
            raise ValueError(
                f'latency table version {data.get("version")!r}, expected {TABLE_VERSION}'
            )
        return cls(
            SearchSpace.from_dict(data['space']),
            tuple(data['size']),
            dict(data['ops']),
            dict(data['adds']),
            float(data['skeleton_ms']),
            float(data['call_ms']),
            dict(data.get('device', {})),
            dict(data.get('models_ms', {})),
        )

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + '\n')
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> 'LatencyTable':
        return cls.from_dict(json.loads(Path(path).read_text()))


# --- prediction ------------------------------------------------------------------------------


def cell_terms(
    arch: Architecture, cell: str, scale: int, table: LatencyTable
) -> list[tuple[str, float]]:
    """Return (what, ms) for every cost one derived cell adds to the skeleton."""
    c = arch.cell_choice(cell)
    terms: list[tuple[str, float]] = []
    if c['e2'] != 'zero':
        terms += [
            (f'{cell}.e2 {c["e2"]}@{scale}', table.op_ms(c['e2'], scale)),
            (f'{cell} add@{scale}', table.add_ms(scale)),
        ]
    if c['e1'] != 'zero':  # then e3 is not zero either (Architecture normalises the n1 path)
        terms += [
            (f'{cell}.e1 {c["e1"]}@{scale}', table.op_ms(c['e1'], scale)),
            (f'{cell}.e3 {c["e3"]}@{scale}', table.op_ms(c['e3'], scale)),
            (f'{cell} add@{scale}', table.add_ms(scale)),
        ]
    return terms


def predict_terms(arch: Architecture, table: LatencyTable) -> list[tuple[str, float]]:
    """Every term of the predicted latency of a derived net, skeleton first."""
    terms = [
        ('skeleton (stem, pooling, aggregation, blend head, one ORT call)', table.skeleton_ms)
    ]
    for cell, scale in arch.space.cells():
        terms += cell_terms(arch, cell, scale, table)
    return terms


def predict_ms(arch: Architecture, table: LatencyTable) -> float:
    """Predicted latency of the derived net: skeleton + sum of its operators and adds."""
    return float(sum(ms for _, ms in predict_terms(arch, table)))


def edge_cost_matrix(table: LatencyTable) -> tuple[torch.Tensor, torch.Tensor]:
    """([edges, ops] op ms, [edges] add ms at the edge's scale) in the SearchSpace edge order."""
    space = table.space
    ops = torch.tensor(
        [[table.op_ms(o, s) for o in space.ops] for _, s in space.edges()], dtype=torch.float32
    )
    adds = torch.tensor([table.add_ms(s) for _, s in space.edges()], dtype=torch.float32)
    return ops, adds


def expected_ms(
    probs: torch.Tensor,
    table: LatencyTable,
    costs: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Return the expected latency under per-edge operator probabilities [edges, ops].

    Differentiable. Per cell, with z_e = P(edge e is zero) and c_e = sum_o P(o) ms(o): e2 costs c2
    plus an add with probability 1 - z2; the n1 path costs c1 (1 - z3) + c3 (1 - z1) plus an add
    with probability (1 - z1)(1 - z3). Equals `predict_ms` for one-hot probabilities.
    """
    op_ms, add_ms = costs if costs is not None else edge_cost_matrix(table)
    zero = table.space.ops.index('zero') if 'zero' in table.space.ops else None
    c = (probs * op_ms).sum(-1).view(-1, 3)
    nz = (1.0 - probs[:, zero]) if zero is not None else torch.ones(probs.shape[0])
    nz = nz.view(-1, 3)
    add = add_ms.view(-1, 3)[:, 0]
    path = nz[:, 0] * nz[:, 2]
    per_cell = c[:, 1] + nz[:, 1] * add + c[:, 0] * nz[:, 2] + c[:, 2] * nz[:, 0] + path * add
    return table.skeleton_ms + per_cell.sum()


# --- measurement -----------------------------------------------------------------------------


class _Add(nn.Module):
    """An element-wise add as a module, so it can be exported and timed alone."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


def _export(module: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path) -> None:
    names = [f'x{i}' for i in range(len(inputs))]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            module.eval(),
            inputs,
            str(path),
            input_names=names,
            output_names=['y'],
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


CLOCKS = ('auto', 'cpu', 'wall')


def clock_function(clock: str, threads: int) -> tuple[str, Callable[[], float]]:
    """("cpu" | "wall", seconds function).

    "cpu" is the CPU time of the calling thread, which with one intra-op thread is the thread that
    runs the whole graph: on a machine shared with other busy processes it leaves out the time they
    hold the core, so it estimates what the run takes with a core to itself (measured here under
    load: 24 ms CPU time for a 69-90 ms wall-clock run; on an idle core the two agree). "auto" =
    "cpu" with one thread, else "wall".
    """
    if clock not in CLOCKS:
        raise ValueError(f'clock must be one of {CLOCKS}, got {clock!r}')
    if clock == 'auto':
        clock = 'cpu' if threads == 1 else 'wall'
    if clock == 'cpu' and threads != 1:
        raise ValueError(
            "the cpu clock times one inference thread: use it with threads=1 (or clock 'wall')"
        )
    return clock, (time.thread_time if clock == 'cpu' else time.perf_counter)


class TimedSession:
    """One ONNX Runtime session with its inputs and output bound once.

    As the runtime's `OnnxEngine.run_into` does; `best(n)` runs it n times and keeps the fastest
    run seen so far.
    """

    def __init__(
        self,
        path: Path,
        feeds: dict[str, np.ndarray],
        providers: list,
        threads: int,
        clock: str = 'auto',
    ) -> None:
        from fusion_ros.runtime.engine import _session_options  # the node's session settings
        import onnxruntime as ort

        self.session = ort.InferenceSession(
            str(path), _session_options(threads), providers=providers
        )
        self.binding = self.session.io_binding()
        self._keep = dict(feeds)
        for name, value in feeds.items():
            self.binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(value))
        out_meta = self.session.get_outputs()[0]
        self._keep['__out'] = np.empty_like(self.session.run([out_meta.name], feeds)[0])
        self.binding.bind_ortvalue_output(
            out_meta.name, ort.OrtValue.ortvalue_from_numpy(self._keep['__out'])
        )
        self.session.run_with_iobinding(self.binding)  # warm-up
        self.clock, self._now = clock_function(clock, threads)
        self.min_ms = float('inf')

    def best(self, repeats: int) -> float:
        for _ in range(repeats):
            t0 = self._now()
            self.session.run_with_iobinding(self.binding)
            self.min_ms = min(self.min_ms, (self._now() - t0) * 1e3)
        return self.min_ms


def time_onnx(
    path: Path,
    feeds: dict[str, np.ndarray],
    providers: list,
    threads: int,
    repeats: int,
    clock: str = 'auto',
) -> float:
    """Minimum milliseconds of one IO-bound run over `repeats` runs after a warm-up."""
    return TimedSession(path, feeds, providers, threads, clock).best(repeats)


def _sessions(
    space: SearchSpace,
    size: tuple[int, int],
    providers: list,
    threads: int,
    clock: str,
    workdir: Path,
    progress: Callable[[str], None] | None,
    models: dict[str, Path] | None = None,
) -> dict[str, TimedSession]:
    """Export and open every table entry.

    "call", "<op>@<scale>", "add@<scale>", "skeleton", and "model:<name>" for each finished network
    in `models` (ONNX with the project's I/O).
    """
    rng = np.random.default_rng(0)
    h, w = size
    todo: list[tuple[str, nn.Module, tuple]] = [('call', nn.ReLU(), ((1, space.width, 8, 8),))]
    for scale in sorted({s for _, s in space.edges()}):
        shape = (1, space.width, h >> scale, w >> scale)
        for op in (o for o in space.ops if o not in FREE_OPS):
            todo.append((f'{op}@{scale}', make_op(op, space.width), (shape,)))
            todo.append(
                (
                    f'{op}x2@{scale}',
                    nn.Sequential(make_op(op, space.width), make_op(op, space.width)),
                    (shape,),
                )
            )
        todo.append((f'add@{scale}', _Add(), (shape, shape)))
    todo.append(('skeleton', DerivedNet(uniform_architecture(space, 'zero')), ((1, 2, h, w),)))
    sessions = {}
    for key, module, shapes in todo:
        inputs = tuple(torch.from_numpy(rng.random(s, dtype=np.float32)) for s in shapes)
        path = workdir / f'{key.replace("@", "_at_")}.onnx'
        _export(module, inputs, path)
        feeds = {f'x{i}': t.numpy() for i, t in enumerate(inputs)}
        sessions[key] = TimedSession(path, feeds, providers, threads, clock)
        if progress:
            progress(key)
    x = rng.random((1, 2, h, w), dtype=np.float32)
    for name, path in (models or {}).items():
        sessions[f'model:{name}'] = TimedSession(
            Path(path), {'input': x}, providers, threads, clock
        )
    return sessions


def device_description(backend: str, providers: list, threads: int) -> dict:
    from fusion_ros.cli.bench_cmd import cpu_name
    import onnxruntime as ort

    return {
        'cpu': cpu_name(),
        'cores': os.cpu_count(),
        'machine': platform.machine(),
        'backend': backend,
        'providers': [p if isinstance(p, str) else p[0] for p in providers],
        'threads': threads,
        'onnxruntime': ort.__version__,
        'torch': torch.__version__,
        'measured': dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds'),
        'load_average': os.getloadavg() if hasattr(os, 'getloadavg') else None,
    }


def _interleaved(timed: Sequence['TimedSession'], repeats: int, rounds: int) -> None:
    """Run `rounds` passes over all sessions, `repeats // rounds` runs each, pausing between."""
    for r in range(max(1, rounds)):
        if r:
            time.sleep(ROUND_PAUSE_S)
        for t in timed:
            t.best(max(1, repeats // max(1, rounds)))


def measure_table(
    space: SearchSpace,
    size: tuple[int, int] = (512, 640),
    backend: str = 'cpu',
    threads: int = 1,
    repeats: int = 30,
    progress: Callable[[str], None] | None = None,
    rounds: int = ROUNDS,
    clock: str = 'auto',
    models: dict[str, Path] | None = None,
) -> LatencyTable:
    """Time every operator, the add and the skeleton at the deploy size `size` (H, W).

    `rounds` passes over all entries of `repeats // rounds` runs each, so that a burst of load from
    other processes cannot hit one entry's every run; each entry keeps its minimum. `clock`: see
    `clock_function` (with GPU providers only "wall" is meaningful). `models` (name -> ONNX path)
    are timed in the same rounds, so their measured latency and the table's prediction of them see
    the same load; their times land in `table.models_ms`.
    """
    from fusion_ros.runtime.engine import _provider_entries, _resolve

    h, w = size
    m = space.size_multiple
    if h % m or w % m:
        raise ValueError(
            f"size {w}x{h} must be a multiple of {m} (the search space's size multiple)"
        )
    providers, _ = _resolve(backend)
    entries = _provider_entries(providers)
    with tempfile.TemporaryDirectory(prefix='hafnas_lut_') as tmp:
        sessions = _sessions(space, size, entries, threads, clock, Path(tmp), progress, models)
        _interleaved(list(sessions.values()), repeats, rounds)
        ms = {key: s.min_ms for key, s in sessions.items()}
    models_ms = {k.split(':', 1)[1]: ms.pop(k) for k in list(ms) if k.startswith('model:')}
    call = ms.pop('call')
    skeleton = ms.pop('skeleton')
    adds = {k.split('@')[1]: max(0.0, v - call) for k, v in ms.items() if k.startswith('add@')}
    # an operator's cost inside a network: the second copy of a chain of two (the first one also
    # pays the graph's entry and exit: the call and any layout reorders a network pays once)
    ops = {
        k: max(0.0, ms[k.replace('@', 'x2@')] - v)
        for k, v in ms.items()
        if 'x2@' not in k and not k.startswith('add@')
    }
    device = device_description(backend, entries, threads) | {
        'repeats': repeats,
        'rounds': rounds,
        'clock': sessions['call'].clock,
        'statistic': 'min over all runs; per-call cost subtracted from ops/adds',
    }
    return LatencyTable(space, (h, w), ops, adds, skeleton, call, device, models_ms)


def skeleton_times(
    spaces: Sequence[SearchSpace],
    size: tuple[int, int] = (512, 640),
    backend: str = 'cpu',
    threads: int = 1,
    repeats: int = 30,
    rounds: int = ROUNDS,
    clock: str = 'auto',
) -> list[float]:
    """Minimum time of the bare skeleton (every edge zero) of each space at `size`.

    What any network of that width costs before its searched operators. All skeletons are timed in
    the same interleaved rounds, spread over time like the table's (`ROUND_PAUSE_S`): on a shared
    machine a slow spell of a few seconds must not decide between two widths.
    """
    from fusion_ros.runtime.engine import _provider_entries, _resolve

    x = np.random.default_rng(0).random((1, 2, *size), dtype=np.float32)
    entries = _provider_entries(_resolve(backend)[0])
    with tempfile.TemporaryDirectory(prefix='hafnas_skel_') as tmp:
        timed = []
        for i, space in enumerate(spaces):
            path = Path(tmp) / f'skeleton{i}.onnx'
            _export(DerivedNet(uniform_architecture(space, 'zero')), (torch.from_numpy(x),), path)
            timed.append(TimedSession(path, {'x0': x}, entries, threads, clock))
        _interleaved(timed, repeats, rounds)
        return [t.min_ms for t in timed]
