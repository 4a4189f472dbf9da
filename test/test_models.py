# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The networks: parameter counts against the papers, forward shapes, ONNX export agreement."""

from __future__ import annotations

import json

from fusion_ros.models import aenetv2_gcb, build_model, count_parameters, get_spec, SHIPPED_MODELS
import numpy as np
import pytest
import torch


def test_mmdrfuse_student_has_113_parameters():
    assert count_parameters(build_model('mmdrfuse')) == 113


def test_aenetv2_parameter_counts():
    assert count_parameters(build_model('aenetv2')) == 3137
    six = count_parameters(aenetv2_gcb(in_channels=6))
    assert abs(six - 5378) / 5378 < 0.02, six  # the paper's 6-channel (two RGB images) setting


def test_mobilefuse_about_33k_parameters():
    n = count_parameters(build_model('mobilefuse'))
    assert abs(n - 33_000) / 33_000 < 0.05, n


def test_teacher_is_bigger_and_mirrors_the_student_tail():
    teacher = build_model('mmdrfuse_teacher')
    assert count_parameters(teacher) > 10 * 113
    x = torch.rand(2, 2, 24, 20)
    ft, ot = teacher.forward_features(x)
    fs, os_ = build_model('mmdrfuse').forward_features(x)
    assert ft.shape == fs.shape == (2, 4, 24, 20)
    assert ot.shape == os_.shape == (2, 1, 24, 20)


@pytest.mark.parametrize('name', [*SHIPPED_MODELS, 'mmdrfuse_teacher'])
def test_forward_shape_and_range(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    m = get_spec(name).size_multiple
    for n, h, w in ((1, 8 * m * 3, 8 * m * 5), (3, 8 * m * 2, 8 * m * 2)):
        with torch.no_grad():
            out = model(torch.rand(n, 2, h, w))
        assert out.shape == (n, 1, h, w)
        assert torch.isfinite(out).all()
        assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_aenetv2_rejects_wrong_channel_count():
    with pytest.raises(ValueError):
        build_model('aenetv2')(torch.rand(1, 6, 8, 8))


@pytest.mark.parametrize('name', SHIPPED_MODELS)
def test_onnx_export_agrees_with_torch(name, tmp_path):
    from fusion_ros.training.export import ClampedOutput, export_onnx
    import onnxruntime as ort

    torch.manual_seed(1)
    model = build_model(name).eval()
    onnx_path, card_path = export_onnx(model, name, tmp_path, {'version': 'test'})
    assert onnx_path.stat().st_size < 500_000
    sess = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    assert [i.name for i in sess.get_inputs()] == ['input']
    assert [o.name for o in sess.get_outputs()] == ['fused']
    m = get_spec(name).size_multiple
    rng = np.random.default_rng(0)
    for n, h, w in ((1, 8 * m * 4, 8 * m * 6), (2, 8 * m * 3, 8 * m * 3)):  # dynamic N, H, W
        x = rng.random((n, 2, h, w), dtype=np.float32)
        (got,) = sess.run(['fused'], {'input': x})
        with torch.no_grad():
            want = ClampedOutput(model)(torch.from_numpy(x)).numpy()
        assert got.shape == (n, 1, h, w)
        assert np.abs(got - want).max() < 1e-4
    card = json.loads(card_path.read_text())
    assert card['name'] == name
    assert card['parameters'] == count_parameters(model)
    assert card['size_multiple'] == m
    assert card.get('onnx_sha256')


def test_runtime_knows_the_registered_shipped_models():
    """The torch-free side (node, CLI defaults) names the same shipped models as the registry."""
    from fusion_ros.runtime.loader import available_models
    from fusion_ros.runtime.loader import SHIPPED_MODELS as RUNTIME_SHIPPED

    assert RUNTIME_SHIPPED == SHIPPED_MODELS
    assert set(RUNTIME_SHIPPED) <= set(available_models())


def test_mobilefuse_full_resolution_mask():
    """The paper's layout.

    Same parameters, the mask at the input resolution, output a convex blend.
    """
    from fusion_ros.models.mobilefuse import mobilefuse

    half, full = mobilefuse(), mobilefuse(full_res_mask=True)
    assert count_parameters(half) == count_parameters(full)
    x = torch.rand(2, 2, 32, 48)
    with torch.no_grad():
        assert half.eval().forward_mask(x).shape[-2:] == (16, 24)
        mask = full.eval().forward_mask(x)
        out = full(x)
    assert mask.shape == (2, 1, 32, 48)
    torch.testing.assert_close(out, x[:, 1:2] * mask + x[:, 0:1] * (1 - mask))
