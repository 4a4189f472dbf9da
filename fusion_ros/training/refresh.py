# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MMDRFuse's dynamic refresh: per-sample memory of the best historical outputs.

For every training sample id (a fixed patch of `PatchDataset`) two historical outputs are kept:

- `B_ssim[i]`: the output with the highest S = SSIM(O, IR) + SSIM(O, VIS) seen so far;
- `B_gmsd[i]`: the output with the lowest  G = GMSD(O, IR) + GMSD(O, VIS) seen so far.

At each step, for the current output O_i with scores (S_i, G_i):

1. memory update: if S_i > S_best_i the SSIM-best is replaced by O_i (likewise G_i < G_best_i);
   a sample seen for the first time just stores O_i;
2. adaptive gap coefficients, measured against the memory BEFORE the update, so they are 0 when
   the current output is the best so far (nothing to pull towards):
       gap="raw" (the paper and the authors' code, kappa 10):
           alpha_i = clip(kappa (S_best_i - S_i), 0, 1),
           beta_i = clip(kappa (G_i - G_best_i), 0, 1);
       gap="normalised" (ours, earlier default): the same gaps divided by S_best_i and G_i;
3. refresh loss (`RefreshMemory.loss`):
       L_refresh = mean_i [ alpha_i * (P_deep(O_i, B_ssim_i) + L1(O_i, B_ssim_i))
                          + beta_i  * (P_shallow(O_i, B_gmsd_i) + L_grad(O_i, B_gmsd_i)) ]
   where P_deep / P_shallow are perception losses over the deep / shallow feature layers (the
   SSIM gap pulls deep features, the GMSD gap shallow ones, as the paper; default deep = the last
   three, shallow = the first two; the authors' code: deep = layers 4-5, shallow = 1-3) and L_grad
   is L1 between Sobel gradient magnitudes (grad="l1") or the MSE between `laplacian`s (grad="mse",
   the authors').

Memories are float16 tensors [n_samples, 1, crop, crop] (about 16 KB per 64x64 sample for both)
and are checkpointed with the model (`state_dict`/`load_state_dict`).
"""

from __future__ import annotations

from typing import Any

import torch

from .losses import fusion_gmsd, fusion_ssim, laplacian, sobel_gradient
from .perception import DEEP_LAYERS, perception_loss, SHALLOW_LAYERS


class RefreshMemory:
    """Per-sample best-by-SSIM and best-by-GMSD outputs and their scores."""

    def __init__(
        self,
        n_samples: int,
        crop: int,
        kappa: float = 10.0,
        deep_layers=DEEP_LAYERS,
        shallow_layers=SHALLOW_LAYERS,
        gap: str = 'normalised',
        grad: str = 'l1',
    ) -> None:
        if gap not in ('normalised', 'raw') or grad not in ('l1', 'mse'):
            raise ValueError(
                f'refresh gap must be normalised|raw and grad l1|mse, not {gap!r}, {grad!r}'
            )
        self.n, self.crop, self.kappa = int(n_samples), int(crop), float(kappa)
        self.deep_layers, self.shallow_layers = tuple(deep_layers), tuple(shallow_layers)
        self.gap, self.grad = gap, grad
        self.ssim_img = torch.zeros(self.n, 1, self.crop, self.crop, dtype=torch.float16)
        self.gmsd_img = torch.zeros_like(self.ssim_img)
        self.ssim_best = torch.full((self.n,), -float('inf'))
        self.gmsd_best = torch.full((self.n,), float('inf'))
        self.replacements = {'ssim': 0, 'gmsd': 0}

    # --- checkpointing ---
    def state_dict(self) -> dict[str, Any]:
        return {
            'n': self.n,
            'crop': self.crop,
            'kappa': self.kappa,
            'ssim_img': self.ssim_img,
            'gmsd_img': self.gmsd_img,
            'ssim_best': self.ssim_best,
            'gmsd_best': self.gmsd_best,
            'replacements': dict(self.replacements),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if (state['n'], state['crop']) != (self.n, self.crop):
            raise ValueError('refresh memory shape does not match the dataset')
        self.kappa = state['kappa']
        self.ssim_img, self.gmsd_img = state['ssim_img'], state['gmsd_img']
        self.ssim_best, self.gmsd_best = state['ssim_best'], state['gmsd_best']
        self.replacements = dict(state['replacements'])

    @property
    def filled(self) -> int:
        return int(torch.isfinite(self.ssim_best).sum())

    # --- one step ---
    @torch.no_grad()
    def update(
        self, indices: torch.Tensor, o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Score the current outputs, compute gap coefficients against the memory, then update it.

        Returns tensors for the batch: alpha, beta [N]; ssim_target, gmsd_target [N,1,h,w]
        (float32, the bests BEFORE this update); seen [N] bool (the sample had a memory); s, g [N]
        scores.
        """
        s = fusion_ssim(o, ir, vis)
        g = fusion_gmsd(o, ir, vis)
        s_best, g_best = self.ssim_best[indices], self.gmsd_best[indices]
        seen = torch.isfinite(s_best)
        s_norm = s_best.abs().clamp_min(1e-6) if self.gap == 'normalised' else torch.ones_like(s)
        g_norm = g.clamp_min(1e-6) if self.gap == 'normalised' else torch.ones_like(g)
        alpha = torch.where(
            seen, ((s_best - s) / s_norm * self.kappa).clamp(0, 1), torch.zeros_like(s)
        )
        beta = torch.where(
            seen, ((g - g_best) / g_norm * self.kappa).clamp(0, 1), torch.zeros_like(g)
        )
        ssim_target = self.ssim_img[indices].float()
        gmsd_target = self.gmsd_img[indices].float()
        better_s = s > s_best
        better_g = g < g_best
        oh = o.detach().to(torch.float16)
        if better_s.any():
            idx = indices[better_s]
            self.ssim_img[idx] = oh[better_s]
            self.ssim_best[idx] = s[better_s]
            self.replacements['ssim'] += int((better_s & seen).sum())
        if better_g.any():
            idx = indices[better_g]
            self.gmsd_img[idx] = oh[better_g]
            self.gmsd_best[idx] = g[better_g]
            self.replacements['gmsd'] += int((better_g & seen).sum())
        return {
            'alpha': alpha,
            'beta': beta,
            'ssim_target': ssim_target,
            'gmsd_target': gmsd_target,
            'seen': seen,
            's': s,
            'g': g,
        }

    def loss(
        self,
        o: torch.Tensor,
        info: dict[str, torch.Tensor],
        extractor: torch.nn.Module,
        o_feats: list[torch.Tensor] | None = None,
        scale_feats: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """L_refresh for the batch (0 where both coefficients are 0).

        `o_feats` reuses the perception features of o if already computed (all five layers);
        `scale_feats` (the sources' max features) normalise the perception terms, so a nearly flat
        historical best cannot blow the loss up.
        """
        alpha, beta = info['alpha'], info['beta']
        active_a, active_b = alpha > 0, beta > 0
        zero = o.sum() * 0.0
        terms = {'refresh_alpha': float(alpha.mean()), 'refresh_beta': float(beta.mean())}
        if not (active_a.any() or active_b.any()):
            return zero, terms
        if o_feats is None:
            o_feats = extractor(o)
        total = zero
        if active_a.any():
            bs = info['ssim_target']
            with torch.no_grad():
                t_feats = extractor(bs)
            p_deep = perception_loss(
                extractor,
                o,
                t_feats,
                self.deep_layers,
                o_feats=o_feats,
                per_sample=True,
                scale_feats=scale_feats,
            )
            l1 = (o - bs).abs().flatten(1).mean(1)
            total = total + (alpha * (p_deep + l1)).mean()
        if active_b.any():
            bg = info['gmsd_target']
            with torch.no_grad():
                t_feats = extractor(bg, upto=max(self.shallow_layers))
            p_shallow = perception_loss(
                extractor,
                o,
                t_feats,
                self.shallow_layers,
                o_feats=o_feats,
                per_sample=True,
                scale_feats=scale_feats,
            )
            lg = (
                (sobel_gradient(o) - sobel_gradient(bg)).abs().flatten(1).mean(1)
                if self.grad == 'l1'
                else (laplacian(o) - laplacian(bg)).pow(2).flatten(1).mean(1)
            )
            total = total + (beta * (p_shallow + lg)).mean()
        return total, terms
