# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The training's differentiable SCD is the evaluator's SCD and stays finite on flat patches."""

from __future__ import annotations

import importlib

from fusion_ros.metrics.statistics import scd
import numpy as np
import pytest

torch = pytest.importorskip('torch')
# Imported once torch is known to be there (import_module: an import statement here would break
# the import order that flake8 checks, and an ImportError of fusion_ros itself still fails).
fusion_scd = importlib.import_module('fusion_ros.training.losses').fusion_scd
unsupervised_loss = importlib.import_module(
    'fusion_ros.training.recipes.mobilefuse'
).unsupervised_loss


def test_fusion_scd_matches_the_evaluator():
    rng = np.random.default_rng(3)
    ir, vis = rng.random((2, 48, 64)).astype(np.float32)
    for fused in (
        0.5 * (ir + vis),
        np.maximum(ir, vis),
        0.3 * ir + 0.7 * vis + 0.05 * rng.random((48, 64)),
    ):
        fused = fused.astype(np.float32)
        t = [torch.from_numpy(a)[None, None] for a in (fused, ir, vis)]
        expected = scd(ir * 255.0, vis * 255.0, fused * 255.0)
        assert float(fusion_scd(*t)[0]) == pytest.approx(expected, abs=1e-4)


def test_sum_of_sources_scores_two_and_mean_scores_less():
    rng = np.random.default_rng(4)
    ir, vis = (torch.from_numpy(a)[None, None] for a in rng.random((2, 32, 32)).astype(np.float32))
    assert float(fusion_scd(ir + vis, ir, vis)[0]) == pytest.approx(2.0, abs=1e-5)
    assert float(fusion_scd(0.5 * (ir + vis), ir, vis)[0]) < 1.5


def test_scd_term_has_finite_gradients_on_a_flat_patch():
    flat = torch.full((2, 1, 16, 16), 0.4)
    out = flat.clone().requires_grad_(True)
    loss, terms = unsupervised_loss(out, flat, flat, w_int=1.0, w_grad=1.0, w_scd=0.5)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(out.grad).all()
    assert terms['scd'] == pytest.approx(0.0)
