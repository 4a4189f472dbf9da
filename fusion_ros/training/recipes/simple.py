# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The "simple" recipe.

Any registry model trained on fixed LLVIP patches with w_int * L1(O, max(IR, VIS)) + w_grad *
L1(|grad O|, max(|grad IR|, |grad VIS|)) (+ optional w_ssim * (2 - SSIM(O, IR) - SSIM(O, VIS))),
Adam. Used for the quick "first version" shipped weights of every model before their papers'
recipes were written; not any paper's recipe.

cfg.extra: w_int (1.0), w_grad (1.0), w_ssim (0.0).
"""

from __future__ import annotations

from pathlib import Path

from fusion_ros.models import build_model, count_parameters, get_spec
import torch

from ..config import TrainConfig
from ..data import Pair, PatchDataset
from ..hooks import TrainingHooks
from ..losses import fusion_ssim, intensity_gradient_loss
from ..trainer import fit


def train(
    cfg: TrainConfig,
    train_pairs: list[Pair],
    val_pairs: list[Pair],
    hooks: TrainingHooks,
    checkpoint_dir: Path | None,
) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    w_int = float(cfg.extra.get('w_int', 1.0))
    w_grad = float(cfg.extra.get('w_grad', 1.0))
    w_ssim = float(cfg.extra.get('w_ssim', 0.0))
    dataset = PatchDataset(
        train_pairs,
        cfg.crop,
        cfg.patches_per_pair,
        cfg.augment,
        cfg.seed,
        photometric=cfg.photometric,
    )

    def loss_fn(batch, indices, step):
        ir, vis = batch[:, 0:1], batch[:, 1:2]
        out = model(batch)
        loss, terms = intensity_gradient_loss(out, ir, vis, w_int, w_grad)
        if w_ssim:
            s = fusion_ssim(out, ir, vis).mean()
            loss = loss + w_ssim * (2.0 - s)
            terms['ssim'] = float(s.detach())
        return loss, terms, out

    result = fit(
        model,
        dataset,
        loss_fn,
        cfg,
        hooks,
        checkpoint_dir,
        stage='train',
        val_pairs=val_pairs,
        size_multiple=get_spec(cfg.model).size_multiple,
        resample_each_epoch=True,
    )
    model.eval()
    summary = {
        'recipe_description': "simple intensity + max-gradient loss (not the paper's recipe)",
        'parameters': count_parameters(model),
        'stages': [result.summary()],
        'stopped_early': result.stopped_early,
        'val_metrics': result.val_metrics,
        'loss_weights': {'w_int': w_int, 'w_grad': w_grad, 'w_ssim': w_ssim},
    }
    return model, summary
