# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The MMDRFuse `paper` recipe pieces and a seconds-long run of the paper settings.

The pieces: Eq. 1 digestible distillation, the authors' gradient term, raw refresh gaps, the dense
teacher; the run is on generated pairs (no ../shared needed).
"""

from __future__ import annotations

import dataclasses

from fusion_ros.training.config import load_config
from fusion_ros.training.data import Pair
from fusion_ros.training.hooks import HistoryHooks
from fusion_ros.training.losses import digestible_loss, gradient_mse_loss, laplacian
from fusion_ros.training.refresh import RefreshMemory
from fusion_ros.training.runner import run_training
from fusion_ros.training.teachers import build_teacher, DenseTeacher
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.timeout(300)  # seconds alone; minutes on a shared, busy 2-core CPU


def test_digestible_loss_is_scale_free_and_zero_only_for_proportional_maps() -> None:
    torch.manual_seed(0)
    a = torch.rand(3, 4, 9, 9)
    assert float(digestible_loss(a, 7.0 * a)) < 1e-10  # the L2 normalisation removes the scale
    b = torch.rand(3, 6, 9, 9)
    assert float(digestible_loss(a, b)) > 1e-4  # channel counts may differ (sum over channels)
    assert float(digestible_loss(a, a.flip(-1))) > 1e-4


def test_gradient_mse_term_is_zero_on_the_max_and_penalises_a_flat_output() -> None:
    rng = torch.Generator().manual_seed(1)
    ir, vis = torch.rand(2, 1, 16, 16, generator=rng), torch.rand(2, 1, 16, 16, generator=rng)
    target = torch.maximum(ir, vis)
    assert float(gradient_mse_loss(target, ir, vis)) == pytest.approx(0.0, abs=1e-12)
    assert float(gradient_mse_loss(torch.full_like(ir, 0.5), ir, vis)) > 1e-3
    assert float(laplacian(torch.full_like(ir, 0.3)).abs().max()) < 1e-6  # flat -> no gradient


def test_raw_refresh_gap_is_kappa_times_the_gap() -> None:
    torch.manual_seed(2)
    ir, vis = torch.rand(2, 1, 24, 24), torch.rand(2, 1, 24, 24)
    good = torch.maximum(ir, vis)
    mem = RefreshMemory(
        2, 24, kappa=10.0, deep_layers=(3, 4), shallow_layers=(0, 1, 2), gap='raw', grad='mse'
    )
    first = mem.update(torch.tensor([0, 1]), good, ir, vis)
    worse = good * 0.5
    info = mem.update(torch.tensor([0, 1]), worse, ir, vis)
    expected = (10.0 * (first['s'] - info['s'])).clamp(0, 1)
    assert torch.allclose(info['alpha'], expected)
    assert float(info['alpha'].min()) > 0 and float(info['beta'].min()) > 0
    with pytest.raises(ValueError):
        RefreshMemory(2, 24, gap='relative')


def test_dense_teacher_has_the_authors_size_and_any_image_size() -> None:
    teacher = build_teacher('dense')
    assert isinstance(teacher, DenseTeacher)
    assert 500_000 < sum(p.numel() for p in teacher.parameters()) < 600_000
    feat, out = teacher.forward_features(torch.rand(1, 2, 33, 46))
    assert feat.shape == (1, 4, 33, 46) and out.shape == (1, 1, 33, 46)
    with pytest.raises(ValueError):
        build_teacher('huge')


def test_paper_settings_train_end_to_end_on_generated_pairs(tmp_path) -> None:
    """The paper config's recipe settings, shrunk to seconds.

    Dense teacher, digestible distillation, gradient MSE, raw-gap refresh; trains, exports, and the
    student's loss falls.
    """
    paper = load_config('mmdrfuse', 'paper')
    assert paper.extra['teacher'] == 'dense' and paper.lr == pytest.approx(1e-4)
    assert (paper.extra['teacher_w_per'], paper.extra['teacher_w_grad']) == (2.0, 0.1)
    assert (paper.extra['w_per'], paper.extra['w_grad'], paper.extra['lambda']) == (0.5, 0.05, 1.0)
    rng = np.random.default_rng(3)
    pairs = [
        Pair(
            f'g{i}', rng.random((40, 40), dtype=np.float32), rng.random((40, 40), dtype=np.float32)
        )
        for i in range(3)
    ]
    cfg = dataclasses.replace(
        paper,
        crop=16,
        patches_per_pair=8,
        lr=3e-3,
        max_minutes=2.0,
        num_threads=1,
        sample_every=0,
        checkpoint_every=0,
        log_every=1,
        val_sets=[],
        extra={
            **paper.extra,
            'teacher_epochs': 2,
            'teacher_batch': 8,
            'student_epochs': 4,
            'student_batch': 8,
        },
    )
    hooks = HistoryHooks()
    result = run_training(
        cfg,
        hooks,
        out_dir=tmp_path / 'run',
        export_dir=tmp_path / 'export',
        train_pairs=pairs[:2],
        val_pairs=pairs[2:],
    )
    summary = result['summary']
    assert (
        summary['stages'][0]['architecture'] == 'dense'
        and summary['stages'][0]['parameters'] > 500_000
    )
    assert summary['validation_sets']['train_val']['SD'] > 0
    losses = hooks.series('distill_feature', 'student')
    assert np.mean(losses[-3:]) < np.mean(losses[:3]), losses


def test_ssim_gap_drives_deep_layers_and_gmsd_gap_shallow_ones() -> None:
    """The refresh split as the paper.

    An SSIM gap alone pulls through the deep feature layers, a GMSD gap alone through the shallow
    ones only (the extractor is asked for no deeper level).
    """
    from fusion_ros.training.perception import FilterBankFeatures

    class Recording(FilterBankFeatures):
        """The filter bank, recording how deep each call goes."""

        def __init__(self) -> None:
            super().__init__()
            self.calls: list[int] = []

        def forward(self, x, upto: int = 4):
            self.calls.append(upto)
            return super().forward(x, upto)

    torch.manual_seed(4)
    torch.rand(2, 2, 1, 24, 24)  # unused draw (was ir, vis): o and target stay as they were
    o = torch.rand(2, 1, 24, 24)
    target = torch.rand(2, 1, 24, 24)
    mem = RefreshMemory(2, 24, deep_layers=(3, 4), shallow_layers=(0, 1, 2), gap='raw', grad='mse')
    zero, one = torch.zeros(2), torch.ones(2)
    base = {'ssim_target': target, 'gmsd_target': target}
    for alpha, beta, expected in ((one, zero, [4]), (zero, one, [2])):
        ext = Recording()
        o_feats = ext(o)
        ext.calls.clear()
        loss, _ = mem.loss(o, {**base, 'alpha': alpha, 'beta': beta}, ext, o_feats=o_feats)
        assert ext.calls == expected and float(loss) > 0
