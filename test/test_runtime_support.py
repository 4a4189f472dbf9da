# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Tiny real ONNX models + model cards for the runtime tests (imported by test_runtime_*.py).

Each builder writes NAME.onnx with the project convention (input `input` [N,2,H,W], output
`fused` [N,1,H,W], dynamic N/H/W) and, unless asked not to, a valid NAME.json card beside it.
"""

from __future__ import annotations

from pathlib import Path

from fusion_ros.runtime import ModelCard
import numpy as np
import onnx
from onnx import helper, TensorProto
import onnxruntime as ort

OPSET = 17


def _io(
    in_channels=2,
    out_channels=1,
    h='h',
    w='w',
    in_name='input',
    out_name='fused',
    in_type=TensorProto.FLOAT,
):
    x = helper.make_tensor_value_info(in_name, in_type, ['n', in_channels, h, w])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ['n', out_channels, h, w])
    return x, y


def _slices(src='input'):
    inits = [
        helper.make_tensor(n, TensorProto.INT64, [1], [v])
        for n, v in (('c0', 0), ('c1', 1), ('c2', 2), ('ax1', 1))
    ]
    nodes = [
        helper.make_node('Slice', [src, 'c0', 'c1', 'ax1'], ['ir']),
        helper.make_node('Slice', [src, 'c1', 'c2', 'ax1'], ['vis']),
    ]
    return nodes, inits


def graph_model(kind: str, in_name='input', out_name='fused') -> onnx.ModelProto:
    """kind: 'max' (max(ir, vis)), 'ir' (output = ir plane), 'vis' (output = visible plane).

    'mult8' (vis, but only runs when H and W are multiples of 8).
    """
    nodes, inits = _slices(in_name)
    if kind == 'max':
        nodes.append(helper.make_node('Max', ['ir', 'vis'], [out_name]))
    elif kind in ('ir', 'vis'):
        nodes.append(helper.make_node('Identity', [kind], [out_name]))
    elif kind == 'mult8':
        inits += [
            helper.make_tensor('scales', TensorProto.FLOAT, [4], [1, 1, 8, 8]),
            helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0]),
        ]
        nodes += [
            helper.make_node(
                'AveragePool', ['vis'], ['pooled'], kernel_shape=[8, 8], strides=[8, 8]
            ),
            helper.make_node('Resize', ['pooled', '', 'scales'], ['up'], mode='nearest'),
            helper.make_node('Mul', ['up', 'zero'], ['nothing']),
            helper.make_node('Add', ['vis', 'nothing'], [out_name]),
        ]  # shape error unless H, W % 8 == 0
    else:
        raise ValueError(kind)
    x, y = _io(in_name=in_name, out_name=out_name)
    graph = helper.make_graph(nodes, f'test_{kind}', [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_model(
    folder: Path,
    name: str,
    kind: str = 'max',
    size_multiple: int = 1,
    card: bool = True,
    model: onnx.ModelProto | None = None,
    **card_fields,
) -> Path:
    """Write folder/NAME.onnx (+ NAME.json) and return the .onnx path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f'{name}.onnx'
    onnx.save(model if model is not None else graph_model(kind), str(path))
    if card:
        fields = {
            'name': name,
            'architecture': f'test graph ({kind})',
            'version': '0.0.1',
            'size_multiple': size_multiple,
            'parameters': 0,
            'training': {'recipe': 'none', 'data': 'none', 'config': {}},
            'metrics': {},
        }
        fields.update(card_fields)
        ModelCard(**fields).with_onnx(path).save(path.with_suffix('.json'))
    return path


def reference_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def natural_pair(h: int = 96, w: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return a smooth colourful BGR visible image (mid-range, no saturation), a uint8 thermal."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    b = 90 + 60 * np.sin(xx / 17.0)
    g = 110 + 50 * np.cos(yy / 11.0)
    r = 120 + 40 * np.sin((xx + yy) / 23.0)
    vis = np.stack([b, g, r], axis=-1) + rng.normal(0, 3, (h, w, 3))
    th = 100 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 2, (h, w))
    return np.clip(vis, 0, 255).astype(np.uint8), np.clip(th, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------ the builders themselves
def test_graph_models_follow_the_convention(tmp_path):
    x = np.random.default_rng(1).random((1, 2, 16, 24), dtype=np.float32)
    for kind, expected in (
        ('max', np.maximum(x[:, :1], x[:, 1:])),
        ('ir', x[:, :1]),
        ('vis', x[:, 1:]),
        ('mult8', x[:, 1:]),
    ):
        path = write_model(tmp_path, f'm_{kind}', kind)
        np.testing.assert_allclose(reference_outputs(path, x), expected, atol=1e-6)
        assert path.with_suffix('.json').is_file()


def test_mult8_model_rejects_other_sizes(tmp_path):
    path = write_model(tmp_path, 'm8', 'mult8')
    x = np.zeros((1, 2, 12, 16), np.float32)
    try:
        reference_outputs(path, x)
    except Exception:  # noqa: BLE001 - any ORT error proves the point
        return
    raise AssertionError('the mult8 test model should fail on a 12x16 input')
