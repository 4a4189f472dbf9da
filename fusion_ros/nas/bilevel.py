# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Differentiable, latency-constrained bilevel search; derivation under the budget; short retrain.

HAF-NAS (Liu et al., ACM MM 2021) alternates, DARTS-style (first order), a step on the network
weights w with the fusion loss on a *training* split and a step on the architecture parameters
alpha on a separate *architecture* split with

    L_alpha = fusion loss + lambda * max(0, E[latency](alpha) - target) / target

where E[latency] is the lookup-table latency in expectation under softmax(alpha)
(`fusion_ros.nas.latency.expected_ms`) and target = budget_margin x budget (ours: the paper
weights the latency linearly with no budget; a hinge above the user's budget lets quality decide
below it). The fusion loss is the one the project trains its other blending network with
(MobileFuse's fine-tune loss from `fusion_ros.training.losses`: intensity towards max(IR, VIS),
max-gradient, SCD). Derivation takes the arg-max *computing* operator per edge (`derive_from`:
zero and skip took every edge in our first searches, DARTS' collapse); if the derived net is
predicted above the target, edges are downgraded greedily, zero and skip allowed (each time the
swap that saves the most milliseconds per unit of lost alpha) until it fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Callable, Iterator, Sequence

from fusion_ros.models.hafnas import (
    Architecture,
    derive,
    derive_from,
    DerivedNet,
    inherit_weights,
    SearchSpace,
    SuperNet,
)
from fusion_ros.training.data import Pair, PatchDataset
from fusion_ros.training.losses import fusion_scd, intensity_gradient_loss
import numpy as np
import torch

from .config import SearchConfig
from .latency import edge_cost_matrix, expected_ms, LatencyTable, predict_ms

Progress = Callable[[str, int, dict], None]


def fusion_loss(out: torch.Tensor, batch: torch.Tensor, cfg: SearchConfig) -> torch.Tensor:
    """w_int * L_int + w_grad * L_grad + w_scd * (2 - SCD), all from the shared losses."""
    ir, vis = batch[:, 0:1], batch[:, 1:2]
    loss, _ = intensity_gradient_loss(out, ir, vis, cfg.w_int, cfg.w_grad)
    if cfg.w_scd:
        loss = loss + cfg.w_scd * (2.0 - fusion_scd(out, ir, vis)).mean()
    return loss


def batches(pairs: Sequence[Pair], cfg: SearchConfig, seed: int) -> Iterator[torch.Tensor]:
    """Endless shuffled batches of fixed patches (fresh positions each pass)."""
    ds = PatchDataset(pairs, cfg.crop, cfg.patches_per_pair, augment=True, seed=seed)
    rng = np.random.default_rng(seed)
    epoch = 0
    while True:
        order = rng.permutation(len(ds))
        for i in range(
            0,
            len(order) - cfg.batch_size + 1 if len(order) >= cfg.batch_size else 1,
            cfg.batch_size,
        ):
            yield torch.stack([ds[int(j)] for j in order[i: i + cfg.batch_size]])
        epoch += 1
        ds.resample(epoch)


@dataclass
class SearchResult:
    """What the search found and how it got there."""

    arch: Architecture
    argmax_arch: Architecture
    supernet: SuperNet
    history: list[dict] = field(default_factory=list)
    downgrades: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def probabilities(self) -> dict[str, dict[str, float]]:
        p = self.supernet.probabilities().detach()
        ops = self.supernet.space.ops
        return {
            k: {o: round(float(v), 4) for o, v in zip(ops, row)}
            for (k, _), row in zip(self.supernet.space.edges(), p)
        }


def search(
    cfg: SearchConfig,
    w_pairs: Sequence[Pair],
    a_pairs: Sequence[Pair],
    table: LatencyTable,
    budget_ms: float,
    progress: Progress | None = None,
) -> SearchResult:
    """Bilevel search.

    Weights on `w_pairs`, architecture on `a_pairs`, expected latency from `table`.
    """
    torch.manual_seed(cfg.seed)
    t0 = time.monotonic()
    net = SuperNet(cfg.space())
    w_opt = torch.optim.Adam(net.weight_parameters(), lr=cfg.w_lr)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=cfg.a_lr, betas=(0.5, 0.999))
    costs = edge_cost_matrix(table)
    target = cfg.budget_margin * budget_ms
    w_iter, a_iter = batches(w_pairs, cfg, cfg.seed), batches(a_pairs, cfg, cfg.seed + 1)
    history: list[dict] = []
    total = cfg.warmup_steps + cfg.search_steps
    for step in range(total):
        net.train()
        w_opt.zero_grad()
        xb = next(w_iter)
        w_loss = fusion_loss(net(xb), xb, cfg)
        w_loss.backward()
        w_opt.step()
        row = {'step': step, 'w_loss': float(w_loss.detach())}
        if step >= cfg.warmup_steps:
            row.update(_arch_step(net, a_opt, next(a_iter), cfg, table, costs, target))
        else:
            row['expected_ms'] = float(expected_ms(net.probabilities().detach(), table, costs))
        history.append(row)
        if progress:
            progress('search', step + 1, row)
    arch, downgrades = fit_budget(net.space, net.alphas, table, target)
    return SearchResult(arch, derive(net), net, history, downgrades, time.monotonic() - t0)


def _arch_step(
    net: SuperNet,
    a_opt: torch.optim.Optimizer,
    xv: torch.Tensor,
    cfg: SearchConfig,
    table: LatencyTable,
    costs,
    target: float,
) -> dict[str, float]:
    """One architecture step: fusion loss on the architecture split + the hinge latency penalty."""
    a_opt.zero_grad()
    net.zero_grad(set_to_none=True)
    quality = fusion_loss(net(xv), xv, cfg)
    lat = expected_ms(net.probabilities(), table, costs)
    penalty = cfg.latency_weight * torch.relu(lat - target) / target
    (quality + penalty).backward()
    for p in net.weight_parameters():  # only alpha moves in this step
        p.grad = None
    a_opt.step()
    return {
        'a_loss': float(quality.detach()),
        'expected_ms': float(lat.detach()),
        'penalty': float(penalty.detach()),
    }


def fit_budget(
    space: SearchSpace, alphas: torch.Tensor, table: LatencyTable, target_ms: float
) -> tuple[Architecture, list[str]]:
    """Return the arg-max architecture (`derive_from`).

    Downgraded edge by edge (zero allowed) until its predicted latency <= target.
    """
    arch = derive_from(space, alphas)
    alphas = alphas.detach()
    ops = space.ops
    rows = {k: i for i, (k, _) in enumerate(space.edges())}
    log: list[str] = []
    while predict_ms(arch, table) > target_ms:
        best = None
        for key, op in arch.choice.items():
            i = rows[key]
            for j, cand in enumerate(ops):
                trial = Architecture(arch.space, {**arch.choice, key: cand})
                saved = predict_ms(arch, table) - predict_ms(trial, table)
                if cand == op or saved <= 0:
                    continue
                lost = float(alphas[i, ops.index(op)] - alphas[i, j])
                score = saved / (max(lost, 0.0) + 1e-3)
                if best is None or score > best[0]:
                    best = (score, key, op, cand)
        if best is None:
            log.append(
                f'cannot reach {target_ms:.2f} ms: the bare skeleton is predicted at '
                f'{table.skeleton_ms:.2f} ms'
            )
            break
        _, key, op, cand = best
        arch = Architecture(arch.space, {**arch.choice, key: cand})
        log.append(f'{key}: {op} -> {cand} (predicted {predict_ms(arch, table):.2f} ms)')
    return arch, log


def retrain(
    arch: Architecture,
    supernet: SuperNet | None,
    pairs: Sequence[Pair],
    cfg: SearchConfig,
    progress: Progress | None = None,
) -> tuple[DerivedNet, list[dict]]:
    """Train the derived net for `retrain_steps` on all search pairs with the same fusion loss.

    It starts from the supernet's weights of its operators.
    """
    torch.manual_seed(cfg.seed)
    net = DerivedNet(arch)
    if supernet is not None:
        inherit_weights(net, supernet)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.retrain_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, cfg.retrain_steps))
    it = batches(pairs, cfg, cfg.seed + 2)
    history = []
    net.train()
    for step in range(cfg.retrain_steps):
        xb = next(it)
        opt.zero_grad()
        loss = fusion_loss(net(xb), xb, cfg)
        loss.backward()
        opt.step()
        sched.step()
        history.append({'step': step, 'loss': float(loss.detach())})
        if progress:
            progress('retrain', step + 1, history[-1])
    return net.eval(), history
