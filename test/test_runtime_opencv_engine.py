# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The OpenCV fast path for tiny convolution chains and the timed engine choice.

The fast path is backend "opencv", the choice "auto" with threads 0: same pictures as ONNX Runtime
to <= 1 grey level, and only graphs it can run.
"""

from __future__ import annotations

from pathlib import Path

from fusion_ros.images.demo_sequence import load_demo_pair
from fusion_ros.runtime import load_pipeline, ModelLoadError
from fusion_ros.runtime.opencv_engine import OpenCVEngine, read_conv_chain, UnsupportedGraph
from fusion_ros.runtime.options import available_cores
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import pytest
from test_runtime_support import reference_outputs, write_model


def _chain_model(kind: str, seed: int = 0) -> onnx.ModelProto:
    """Return a 2 -> 3 -> 1 chain exercising what the fast path claims.

    Zero-padded 3x3 conv + LeakyRelu, reflect-padded 5x5 conv + Sigmoid, scalar Mul/Add, Clip;
    `branch` adds a skip connection it must refuse.
    """
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array(rng.normal(0, 0.5, (3, 2, 3, 3)).astype(np.float32), 'w1')
    b1 = numpy_helper.from_array(rng.normal(0, 0.1, 3).astype(np.float32), 'b1')
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (1, 3, 5, 5)).astype(np.float32), 'w2')
    pads = numpy_helper.from_array(np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64), 'pads')
    consts = [
        numpy_helper.from_array(np.array(v, np.float32), n)
        for n, v in (('k', 0.9), ('c', 0.05), ('lo', 0.0), ('hi', 1.0))
    ]
    nodes = [
        helper.make_node(
            'Conv', ['input', 'w1', 'b1'], ['c1'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]
        ),
        helper.make_node('LeakyRelu', ['c1'], ['a1'], alpha=0.1),
        helper.make_node('Pad', ['a1', 'pads'], ['p2'], mode='reflect'),
        helper.make_node('Conv', ['p2', 'w2'], ['c2'], kernel_shape=[5, 5]),
        helper.make_node('Sigmoid', ['c2'], ['s2']),
        helper.make_node('Mul', ['s2', 'k'], ['m2']),
        helper.make_node('Add', ['m2', 'c'], ['d2']),
        helper.make_node('Clip', ['d2', 'lo', 'hi'], ['fused']),
    ]
    if kind == 'branch':  # the output adds the inputs' mean back: a skip connection
        nodes[-1:] = [
            helper.make_node('ReduceMean', ['input'], ['mean'], axes=[1], keepdims=1),
            helper.make_node('Add', ['d2', 'mean'], ['fused']),
        ]
    graph = helper.make_graph(
        nodes,
        'chain',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 2, 'H', 'W'])],
        [helper.make_tensor_value_info('fused', TensorProto.FLOAT, [1, 1, 'H', 'W'])],
        [w1, b1, w2, pads, *consts],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])


def test_chain_matches_onnxruntime(tmp_path: Path) -> None:
    path = write_model(tmp_path, 'chain', model=_chain_model('chain'))
    x = np.random.default_rng(1).random((1, 2, 37, 53), dtype=np.float32)
    want = reference_outputs(path, x)
    for threads in (1, 2):
        got = OpenCVEngine(path, threads=threads).run(x)
        np.testing.assert_allclose(got, want, atol=2e-5)


def test_branching_graph_is_refused(tmp_path: Path) -> None:
    path = write_model(tmp_path, 'branch', model=_chain_model('branch'))
    with pytest.raises(UnsupportedGraph, match='chain'):
        read_conv_chain(path)
    with pytest.raises(ModelLoadError, match='opencv'):
        load_pipeline(path, backend='opencv')
    assert load_pipeline(path, backend='auto', threads=1).providers == ['CPUExecutionProvider']


def test_shipped_student_fuses_like_onnxruntime() -> None:
    """The acceptance check of the fast path.

    The shipped 113-parameter student, a real pair, <= 1 grey level.
    """
    visible, thermal = load_demo_pair('14')
    ort_image = load_pipeline('mmdrfuse', backend='cpu', threads=1).fuse(visible, thermal).image
    fast = load_pipeline('mmdrfuse', backend='opencv', threads=1)
    assert fast.providers == ['OpenCV']
    diff = np.abs(fast.fuse(visible, thermal).image.astype(int) - ort_image.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())


@pytest.mark.parametrize('model', ['mobilefuse', 'aenetv2'])
def test_wide_models_stay_on_onnxruntime(model: str) -> None:
    with pytest.raises(ModelLoadError, match='tiny plain convolution chains'):
        load_pipeline(model, backend='opencv')


def test_auto_times_every_candidate_and_keeps_the_fastest() -> None:
    p = load_pipeline('mmdrfuse', backend='auto')
    timings = p.engine_choice.timings_ms
    cores = available_cores()
    assert len(timings) == 2 * cores
    assert {k.split(' x')[0] for k in timings} == {'OpenCV', 'CPUExecutionProvider'}
    best = min(timings, key=timings.get)
    assert best == f'{p.providers[0]} x{p.engine.threads}'
    assert 'fastest at 640x512' in p.engine_choice.describe()
    # a new thread count re-chooses among the engines at that count
    p.update_options({'threads': 1})
    assert p.engine.threads == 1 and set(p.engine_choice.timings_ms) == {
        'OpenCV x1',
        'CPUExecutionProvider x1',
    }


def test_thread_counts_that_would_stall_are_refused() -> None:
    """256 threads on a 2-core machine stopped fusion for seconds.

    Refused at load and at run time, the running engine untouched.
    """
    cores = available_cores()
    with pytest.raises(ValueError, match='stall fusion'):
        load_pipeline('mmdrfuse', backend='cpu', threads=2 * cores + 1)
    p = load_pipeline('mmdrfuse', backend='cpu', threads=1)
    engine = p.engine
    with pytest.raises(ValueError, match='stall fusion'):
        p.update_options({'threads': 256})
    assert p.engine is engine and p.options.threads == 1
