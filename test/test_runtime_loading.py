# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Model cards, model lookup, load failures, provider resolution, the runtime's import hygiene."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import fusion_ros.runtime as rt
from fusion_ros.runtime import (
    available_models,
    FusionPipeline,
    load_model_card,
    load_pipeline,
    ModelCard,
    ModelLoadError,
    OnnxEngine,
    ProcessingOptions,
    resolve_providers,
)
import numpy as np
import onnxruntime as ort
import pytest
from test_runtime_support import graph_model, natural_pair, write_model

HAS_CUDA = 'CUDAExecutionProvider' in ort.get_available_providers()
HAS_TRT = 'TensorrtExecutionProvider' in ort.get_available_providers()


# ------------------------------------------------------------------------------------ lookup
def test_registered_names_and_paths(tmp_path):
    write_model(tmp_path, 'alpha', 'max')
    write_model(tmp_path, 'beta', 'vis', size_multiple=8)
    write_model(tmp_path, 'orphan', 'max', card=False)  # no card: not offered
    assert available_models(tmp_path) == ['alpha', 'beta']
    assert available_models(tmp_path / 'nowhere') == []
    by_name = load_pipeline('alpha', weights_dir=tmp_path)
    by_path = load_pipeline(tmp_path / 'beta.onnx')
    by_str = load_pipeline(str(tmp_path / 'beta.onnx'))
    by_card = load_pipeline(tmp_path / 'beta.json')
    assert isinstance(by_name, FusionPipeline)
    assert by_name.name == 'alpha' and by_path.name == 'beta' and by_card.card.size_multiple == 8
    assert by_str.providers == ['CPUExecutionProvider'] and by_name.warnings == []
    assert (
        by_name.onnx_path == tmp_path / 'alpha.onnx'
        and by_name.card_path == tmp_path / 'alpha.json'
    )
    vis, th = natural_pair()
    np.testing.assert_array_equal(by_path.fuse(vis, th).image, by_card.fuse(vis, th).image)


def test_default_weights_dir_is_the_package_folder():
    folder = rt.default_weights_dir()
    assert folder == Path(rt.__file__).resolve().parent.parent / 'weights'
    assert available_models() == available_models(folder)


def test_unknown_name_lists_what_is_available(tmp_path):
    write_model(tmp_path, 'alpha', 'max')
    with pytest.raises(ModelLoadError, match=r"no model named 'mmdrfuse'.*mmdrfuse\.onnx.*alpha"):
        load_pipeline('mmdrfuse', weights_dir=tmp_path)


def test_missing_files_name_the_file(tmp_path):
    with pytest.raises(ModelLoadError, match='nothere.onnx'):
        load_pipeline(tmp_path / 'nothere.onnx')
    onnx_path = write_model(tmp_path, 'nocard', 'max', card=False)
    with pytest.raises(ModelLoadError, match=r'model card not found: .*nocard\.json'):
        load_pipeline(onnx_path)
    card_only = write_model(tmp_path, 'cardonly', 'max')
    card_only.unlink()
    with pytest.raises(ModelLoadError, match=r'cardonly\.onnx'):
        load_pipeline(tmp_path / 'cardonly.json')
    with pytest.raises(ModelLoadError):
        load_pipeline('')


# ------------------------------------------------------------------------------------ integrity
def test_corrupt_onnx_is_a_model_load_error(tmp_path):
    path = write_model(tmp_path, 'broken', 'max')
    path.write_bytes(b'\x08\x07this is not a protobuf' * 10)
    with pytest.raises(ModelLoadError, match=r'broken\.onnx.*SHA-256'):  # caught by the hash first
        load_pipeline(path)
    card = load_model_card(path.with_suffix('.json')).with_onnx(
        path
    )  # a card that matches the junk
    card.save(path.with_suffix('.json'))
    with pytest.raises(ModelLoadError, match=r'broken\.onnx.*cannot load'):
        load_pipeline(path)
    path.write_bytes(b'')
    load_model_card(path.with_suffix('.json')).with_onnx(path).save(path.with_suffix('.json'))
    with pytest.raises(ModelLoadError, match=r'broken\.onnx'):
        load_pipeline(path)


def test_sha_mismatch(tmp_path):
    path = write_model(tmp_path, 'swapped', 'max')
    path.write_bytes(graph_model('vis').SerializeToString())  # a different, valid model
    with pytest.raises(ModelLoadError, match=r'swapped\.onnx.*does not match.*onnx_sha256'):
        load_pipeline(path)


def test_card_without_sha_is_refused_unless_allowed(tmp_path):
    path = write_model(tmp_path, 'nosha', 'max')
    card = load_model_card(path.with_suffix('.json'))
    card.onnx_sha256 = ''
    card.save(path.with_suffix('.json'))
    with pytest.raises(ModelLoadError, match='no onnx_sha256.*cannot be verified'):
        load_pipeline(path)
    p = load_pipeline(path, allow_unverified=True)
    assert any('onnx_sha256' in w for w in p.warnings)


@pytest.mark.parametrize(
    'change, message',
    [
        (
            {'input': {'name': 'x', 'channels': ['ir', 'vis_y'], 'range': [0, 1]}},
            "input is named 'input' but the model card says 'x'",
        ),
        ({'output': {'name': 'out', 'range': [0, 1]}}, "no output named 'out'"),
        ({'input': {'name': 'input', 'channels': ['ir', 'vis_y'], 'range': [0, 255]}}, 'range'),
        ({'input': {'name': 'input', 'channels': ['ir', 'rgb']}}, 'input.channels'),
        ({'size_multiple': 0}, 'size_multiple'),
        ({'size_multiple': '8'}, 'size_multiple'),
        ({'parameters': -1}, 'parameters'),
        ({'onnx_sha256': 'xyz'}, 'onnx_sha256'),
        ({'onnx': 'model.pt'}, "'onnx'"),
        ({'training': 'lots'}, "'training' must be an object"),
        ({'runtime': {'disabled_optimizers': 'NchwcTransformer'}}, 'disabled_optimizers'),
    ],
)
def test_card_mismatch_or_invalid_card(tmp_path, change, message):
    path = write_model(tmp_path, 'm', 'max')
    data = json.loads(path.with_suffix('.json').read_text())
    data.update(change)
    path.with_suffix('.json').write_text(json.dumps(data))
    with pytest.raises(ModelLoadError) as info:
        load_pipeline(path)
    assert message in str(info.value)
    assert 'm.json' in str(info.value) or 'm.onnx' in str(info.value)


def test_card_not_json_or_not_an_object(tmp_path):
    path = write_model(tmp_path, 'm', 'max')
    path.with_suffix('.json').write_text('{name: mmdrfuse')
    with pytest.raises(ModelLoadError, match=r'm\.json is not valid JSON'):
        load_pipeline(path)
    path.with_suffix('.json').write_text('[1, 2]')
    with pytest.raises(ModelLoadError, match='expected a JSON object'):
        load_pipeline(path)
    path.with_suffix('.json').write_text('{}')
    with pytest.raises(ModelLoadError, match="missing required key 'name'"):
        load_pipeline(path)


def test_model_not_following_the_convention(tmp_path):
    from onnx import helper, TensorProto

    x = helper.make_tensor_value_info('input', TensorProto.FLOAT, ['n', 3, 'h', 'w'])
    y = helper.make_tensor_value_info('fused', TensorProto.FLOAT, ['n', 3, 'h', 'w'])
    three = helper.make_model(
        helper.make_graph([helper.make_node('Identity', ['input'], ['fused'])], 'g', [x], [y]),
        opset_imports=[helper.make_opsetid('', 17)],
    )
    three.ir_version = 8
    path = write_model(tmp_path, 'three', model=three)
    with pytest.raises(ModelLoadError, match=r'three\.onnx.*\[N, 2, H, W\]'):
        load_pipeline(path)
    x = helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 2, 64, 64])
    y = helper.make_tensor_value_info('fused', TensorProto.FLOAT, [1, 2, 64, 64])
    fixed = helper.make_model(
        helper.make_graph([helper.make_node('Identity', ['input'], ['fused'])], 'g', [x], [y]),
        opset_imports=[helper.make_opsetid('', 17)],
    )
    fixed.ir_version = 8
    path = write_model(tmp_path, 'fixed', model=fixed)
    with pytest.raises(ModelLoadError, match=r'fixed H=64'):
        load_pipeline(path)
    # dynamic but wrong output channels: caught by the test inference
    x = helper.make_tensor_value_info('input', TensorProto.FLOAT, ['n', 2, 'h', 'w'])
    y = helper.make_tensor_value_info('fused', TensorProto.FLOAT, ['n', 'c', 'h', 'w'])
    two = helper.make_model(
        helper.make_graph([helper.make_node('Identity', ['input'], ['fused'])], 'g', [x], [y]),
        opset_imports=[helper.make_opsetid('', 17)],
    )
    two.ir_version = 8
    path = write_model(tmp_path, 'two', model=two)
    with pytest.raises(ModelLoadError, match=r'two\.onnx.*expected \[(N, 1, H, W|1, 1, 32, 32)\]'):
        load_pipeline(path)


def test_failed_load_leaves_no_half_built_state(tmp_path):
    good = load_pipeline(write_model(tmp_path, 'good', 'max'))
    bad = write_model(tmp_path, 'bad', 'max')
    bad.write_bytes(b'junk')
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ModelLoadError):
        load_pipeline(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    vis, th = natural_pair()
    assert good.fuse(vis, th).image.shape == vis.shape  # other pipelines unaffected
    assert load_pipeline(tmp_path / 'good.onnx').fuse(vis, th).image.shape == vis.shape


def test_invalid_options_and_threads(tmp_path):
    path = write_model(tmp_path, 'm', 'max')
    with pytest.raises(ValueError, match='threads'):
        load_pipeline(path, threads=-2)
    p = load_pipeline(path, threads=1, options=ProcessingOptions(threads=3))
    assert p.engine.threads == 1 and p.options.threads == 1
    auto = load_pipeline(path)  # threads 0: timed among 1..cores
    cores = ProcessingOptions().resolved_threads
    assert 1 <= auto.engine.threads <= cores
    assert len(auto.engine_choice.timings_ms) == (cores if cores > 1 else 0)


# ------------------------------------------------------------------------------------ cards
def test_card_round_trip_keeps_unknown_keys(tmp_path):
    path = write_model(tmp_path, 'm', 'max', metrics={'tno': {'SD': 41.5}})
    data = json.loads(path.with_suffix('.json').read_text())
    data['paper'] = 'Deng et al. 2024'
    path.with_suffix('.json').write_text(json.dumps(data))
    card = load_model_card(path.with_suffix('.json'))
    assert card.extra == {'paper': 'Deng et al. 2024'} and card.metrics['tno']['SD'] == 41.5
    again = ModelCard.from_dict(json.loads(card.to_json()))
    assert again == card
    saved = card.save(tmp_path / 'copy.json')
    assert load_model_card(saved) == card
    assert (
        card.input_name == 'input'
        and card.output_name == 'fused'
        and (card.ir_channel, card.vis_channel) == (0, 1)
    )
    assert len(card.onnx_sha256) == 64 and card.onnx == 'm.onnx'


def test_card_channel_order_is_honoured(tmp_path):
    path = write_model(
        tmp_path,
        'swap',
        'ir',
        input={'name': 'input', 'channels': ['vis_y', 'ir'], 'range': [0, 1]},
    )
    vis, th = natural_pair()
    gray = vis[..., 0].copy()
    # the graph outputs plane 0, which this card says is the visible luminance
    np.testing.assert_array_equal(load_pipeline(path).fuse(gray, th).image, gray)


def test_small_models_run_without_nchwc(tmp_path):
    tiny = load_pipeline(write_model(tmp_path, 'tiny', 'max', parameters=113))
    assert tiny.engine.disabled_optimizers == ['NchwcTransformer']
    big = load_pipeline(write_model(tmp_path, 'big', 'max', parameters=33000))
    assert big.engine.disabled_optimizers == []
    explicit = load_pipeline(
        write_model(tmp_path, 'ex', 'max', parameters=113, runtime={'disabled_optimizers': []})
    )
    assert explicit.engine.disabled_optimizers == []


# ------------------------------------------------------------------------------------ providers
def test_resolve_providers():
    assert resolve_providers('cpu') == ['CPUExecutionProvider']
    for backend in ('cuda', 'tensorrt', 'auto', 'CUDA'):
        providers = resolve_providers(backend)
        assert providers[-1] == 'CPUExecutionProvider'
        assert set(providers) <= set(ort.get_available_providers())
    if not HAS_CUDA:
        assert resolve_providers('cuda') == ['CPUExecutionProvider']
    if not (HAS_CUDA or HAS_TRT):
        assert resolve_providers('tensorrt') == ['CPUExecutionProvider']
        assert resolve_providers('auto') == ['CPUExecutionProvider']
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        resolve_providers('gpu')


@pytest.mark.skipif(HAS_CUDA or HAS_TRT, reason='this machine has GPU providers')
@pytest.mark.parametrize(
    'backend, provider',
    [('cuda', 'CUDAExecutionProvider'), ('tensorrt', 'TensorrtExecutionProvider')],
)
def test_missing_gpu_provider_falls_back_to_cpu_with_a_warning(tmp_path, backend, provider):
    p = load_pipeline(write_model(tmp_path, 'm', 'max'), backend=backend)
    assert p.providers == ['CPUExecutionProvider']
    assert any(provider in w and 'CPU' in w for w in p.warnings)
    vis, th = natural_pair()
    assert p.fuse(vis, th).image.shape == vis.shape


def test_auto_backend_does_not_warn(tmp_path):
    p = load_pipeline(write_model(tmp_path, 'm', 'max'), backend='auto')
    assert not any('not provide' in w for w in p.warnings)
    with pytest.raises(ModelLoadError, match='unknown backend'):
        load_pipeline(tmp_path / 'm.onnx', backend='gpu')


def test_engine_directly(tmp_path):
    path = write_model(tmp_path, 'm', 'max')
    engine = OnnxEngine(path, ['CPUExecutionProvider'], threads=1)
    x = np.random.default_rng(0).random((1, 2, 8, 12), dtype=np.float32)
    expected = np.maximum(x[:, :1], x[:, 1:])
    np.testing.assert_array_equal(engine.run(x), expected)
    out = np.empty((1, 1, 8, 12), np.float32)
    assert engine.run_into(x, out) is out
    np.testing.assert_array_equal(out, expected)
    x[:] = 1 - x  # same buffers: binding reused
    engine.run_into(x, out)
    np.testing.assert_array_equal(out, np.maximum(x[:, :1], x[:, 1:]))
    with pytest.raises(ModelLoadError, match='nope.onnx'):
        OnnxEngine(tmp_path / 'nope.onnx')


# ------------------------------------------------------------------------------- real architecture
@pytest.mark.filterwarnings('ignore::DeprecationWarning', 'ignore::UserWarning')
def test_exported_mmdrfuse_student_matches_torch(tmp_path):
    torch = pytest.importorskip('torch')
    from fusion_ros.models import build_model, count_parameters

    net = build_model('mmdrfuse').eval()

    class Export(torch.nn.Module):
        """The network with its output clamped to [0, 1], as exported."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return torch.clamp(self.m(x), 0.0, 1.0)

    path = tmp_path / 'student.onnx'
    torch.onnx.export(
        Export(net),
        torch.rand(1, 2, 32, 32),
        str(path),
        input_names=['input'],
        output_names=['fused'],
        opset_version=17,
        dynamo=False,
        dynamic_axes={'input': {0: 'n', 2: 'h', 3: 'w'}, 'fused': {0: 'n', 2: 'h', 3: 'w'}},
    )
    ModelCard(
        name='student',
        architecture='MMDRFuse student',
        version='test',
        parameters=count_parameters(net),
        size_multiple=1,
    ).with_onnx(path).save(path.with_suffix('.json'))
    p = load_pipeline(path)
    assert p.engine.disabled_optimizers == ['NchwcTransformer']
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (120, 160), dtype=np.uint8)
    th16 = rng.integers(20000, 30000, (120, 160)).astype(np.uint16)
    res = p.fuse(gray, th16)
    lo, hi = res.thermal_range
    ir = np.clip((th16.astype(np.float32) - lo) / (hi - lo), 0, 1)
    x = torch.from_numpy(np.stack([ir, gray.astype(np.float32) / 255])[None])
    with torch.no_grad():
        ref = torch.clamp(net(x), 0, 1)[0, 0].numpy()
    assert np.abs(res.image.astype(np.float32) - ref * 255).max() <= 0.51


# ---------------------------------------------------------------------------------- import hygiene
def test_runtime_imports_neither_ros_nor_torch():
    code = (
        'import sys, fusion_ros.runtime as rt\n'
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'rclpy', 'rosbags', 'sensor_msgs', 'std_msgs', 'rcl_interfaces', 'onnx'))\n"
        'assert not bad, bad\n'
        'assert all(hasattr(rt, n) for n in rt.__all__)\n'
    )
    subprocess.run(
        [sys.executable, '-c', code], check=True, cwd=Path(rt.__file__).resolve().parents[2]
    )
    # onnx (the graph reader of the optional OpenCV fast path) is imported lazily there and only
    # there
    sources = {p.name: p.read_text() for p in Path(rt.__file__).parent.glob('*.py')}
    for name, source in sources.items():
        for forbidden in (
            'import torch',
            'import rclpy',
            'from rclpy',
            'from torch',
            'import onnx\n',
            'from onnx ',
        ):
            if name == 'opencv_engine.py' and 'onnx' in forbidden:
                assert (
                    '\nimport onnx' not in source and '\nfrom onnx' not in source
                )  # not at module level
                continue
            assert forbidden not in source, (name, forbidden)
