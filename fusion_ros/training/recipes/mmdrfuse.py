# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MMDRFuse recipe (Deng et al., ACM MM 2024).

Teacher -> digestible distillation -> 113-param student.

Stage 1, "teacher" (`teacher`: compact = registry `mmdrfuse_teacher`, dense = the authors' size,
`fusion_ros.training.teachers`), Adam, trained with
    L_teacher = L_comp(teacher weights) + L_refresh
Stage 2, "student" (`mmdrfuse`), Adam, teacher frozen, trained with
    L_student = theta * L_distill + lambda * L_comp(student weights) + L_refresh

- Comprehensive loss
  L_comp = w_int * L1(O, max(IR, VIS)) + w_grad * L_grad + w_per * P(O; max(phi(IR), phi(VIS)))
  over five feature layers; L_grad = L1(|grad O|, max(|grad IR|, |grad VIS|)) (Sobel, grad_loss
  max_l1, ours) or ||lap O - lap max(IR, VIS)||^2 (grad_loss mse: the paper's term with the
  authors' operator). The paper weighs per stage: teacher w_per 2 / w_grad 0.1, student 0.5 / 0.05
  (teacher_w_per / teacher_w_grad; None = the student's). phi = VGG-19 (local weights:
  cfg.extra["vgg19_weights"], `--vgg19-weights` or $FUSION_ROS_VGG19) or the documented
  filter-bank substitute (`fusion_ros.training.perception`).
- Dynamic refresh (`fusion_ros.training.refresh`): per training sample (a fixed patch; the dataset
  keeps the same patches all run) the best historical output by SSIM and by GMSD, each stage with
  its own memory; the SSIM gap pulls deep features + L1, the GMSD gap shallow features + gradient
  (refresh_deep / refresh_shallow layers, refresh_gap raw = the paper's 10 x gap, normalised =
  ours).
- Digestible distillation L_distill = w_feat * D_feat + w_resp * D_resp at the 4-channel layer and
  the output: distill digestible = the paper's Eq. 1 for both (sum over channels, vectorised,
  L2-normalised, squared distance); distill attention (ours, earlier default) = sum_c |f|^p
  attention maps for the features and a plain L1 for the response.

configs/mmdrfuse_paper.yaml sets the paper's choices; configs/mmdrfuse_default.yaml is the shipped
recipe, which differs where validation said so (docs/TRAINING.md has the numbers). The whole run
is capped by `max_minutes` (the teacher gets `teacher_time_fraction` of it).

cfg.extra keys (defaults): teacher (compact), teacher_epochs (8), teacher_batch (36), teacher_lr
(cfg.lr), student_epochs (10), student_batch (26), student_lr (cfg.lr), w_int (1.0), w_grad (2.0),
w_per (0.2), teacher_w_grad / teacher_w_per (None), grad_loss (max_l1), lambda (1.0), theta (1.0),
distill (attention), w_feat (1.0), w_resp (1.0), attention_p (2.0), refresh (true), refresh_weight
(1.0), refresh_kappa (10.0), refresh_gap (normalised), refresh_grad (l1), refresh_deep ([2, 3, 4]),
refresh_shallow ([0, 1]), refresh_warmup_epochs (1: no refresh loss while the memory fills in the
first epoch), vgg19_weights (null), teacher_checkpoint (null: a teacher.pt checkpoint or state_dict
to reuse instead of training one), teacher_time_fraction (0.6), cache_teacher (true: the frozen
teacher's outputs on the fixed patches are computed once), student_inits (1: with K > 1, K student
initialisations each train `student_init_steps` steps on the same batches with theta * L_distill +
lambda * L_comp and the one with the lowest loss over the second half is trained for real; uses
training data only; a 113-parameter ReLU network's outcome depends on its initialisation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fusion_ros.models import build_model, count_parameters
import torch
from torch import nn
from torch.nn import functional as F

from ..config import TrainConfig
from ..data import Pair, PatchDataset
from ..hooks import TrainingHooks
from ..losses import (
    attention_distill_loss,
    digestible_loss,
    gradient_mse_loss,
    intensity_loss,
    max_gradient_loss,
)
from ..perception import ALL_LAYERS, make_perception, max_features, perception_loss
from ..refresh import RefreshMemory
from ..teachers import build_teacher
from ..trainer import epoch_batches, fit, load_model_weights, patch_batch, TimeBudget

DEFAULTS: dict[str, Any] = {
    'teacher_epochs': 8,
    'teacher_batch': 36,
    'teacher_lr': None,
    'student_epochs': 10,
    'student_batch': 26,
    'student_lr': None,
    'w_int': 1.0,
    'w_grad': 2.0,
    'w_per': 0.2,
    'lambda': 1.0,
    'theta': 1.0,
    'teacher_w_grad': None,
    'teacher_w_per': None,  # None = w_grad / w_per (the paper weighs them per stage)
    # max_l1: L1(|grad O|, max |grad|) (Sobel); mse: ||lap O - lap max(IR, VIS)||^2 (paper)
    'grad_loss': 'max_l1',
    # compact (17K params, registry mmdrfuse_teacher) | dense (the authors' ~0.56M)
    'teacher': 'compact',
    # attention: |f|^p maps + L1 response; digestible: Eq. 1 for features and response
    'distill': 'attention',
    'w_feat': 1.0,
    'w_resp': 1.0,
    'attention_p': 2.0,
    'refresh': True,
    'refresh_weight': 1.0,
    'refresh_kappa': 10.0,
    'refresh_warmup_epochs': 1,
    'refresh_gap': 'normalised',
    'refresh_grad': 'l1',
    'refresh_deep': [2, 3, 4],
    'refresh_shallow': [0, 1],
    'vgg19_weights': None,
    'teacher_checkpoint': None,
    'teacher_time_fraction': 0.6,
    'cache_teacher': True,
    'student_inits': 1,
    'student_init_steps': 200,
}


def recipe_settings(cfg: TrainConfig) -> dict[str, Any]:
    unknown = set(cfg.extra) - set(DEFAULTS)
    if unknown:
        raise ValueError(f'unknown mmdrfuse settings in extra: {", ".join(sorted(unknown))}')
    s = {**DEFAULTS, **cfg.extra}
    s['teacher_lr'] = s['teacher_lr'] or cfg.lr
    s['student_lr'] = s['student_lr'] or cfg.lr
    s['teacher_w_grad'] = s['w_grad'] if s['teacher_w_grad'] is None else s['teacher_w_grad']
    s['teacher_w_per'] = s['w_per'] if s['teacher_w_per'] is None else s['teacher_w_per']
    if s['grad_loss'] not in ('max_l1', 'mse') or s['distill'] not in ('attention', 'digestible'):
        raise ValueError('mmdrfuse: grad_loss must be max_l1|mse and distill attention|digestible')
    return s


class ComprehensiveLoss(nn.Module):
    """w_int * L_int + w_grad * L_grad + w_per * L_per.

    Also returns O's perception features so the refresh loss can reuse them.
    """

    def __init__(
        self,
        extractor: nn.Module,
        w_int: float,
        w_grad: float,
        w_per: float,
        grad_loss: str = 'max_l1',
    ) -> None:
        super().__init__()
        self.extractor, self.w_int, self.w_grad, self.w_per = extractor, w_int, w_grad, w_per
        self.grad_fn = max_gradient_loss if grad_loss == 'max_l1' else gradient_mse_loss

    def forward(self, o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor):
        li = intensity_loss(o, ir, vis)
        lg = self.grad_fn(o, ir, vis)
        o_feats = self.extractor(o)
        with torch.no_grad():
            target = max_features(self.extractor(ir), self.extractor(vis))
        lp = perception_loss(self.extractor, o, target, ALL_LAYERS, o_feats=o_feats)
        total = self.w_int * li + self.w_grad * lg + self.w_per * lp
        terms = {
            'intensity': float(li.detach()),
            'gradient': float(lg.detach()),
            'perception': float(lp.detach()),
        }
        return total, terms, o_feats, target


def _make_memory(s: dict[str, Any], n: int, crop: int) -> RefreshMemory | None:
    if not s['refresh']:
        return None
    return RefreshMemory(
        n,
        crop,
        s['refresh_kappa'],
        deep_layers=s['refresh_deep'],
        shallow_layers=s['refresh_shallow'],
        gap=s['refresh_gap'],
        grad='l1' if s['refresh_grad'] == 'l1' else 'mse',
    )


def _refresh_term(
    memory: RefreshMemory | None,
    s: dict[str, Any],
    steps_per_epoch: int,
    step: int,
    indices: torch.Tensor,
    o: torch.Tensor,
    ir: torch.Tensor,
    vis: torch.Tensor,
    extractor: nn.Module,
    o_feats,
    scale_feats,
) -> tuple[torch.Tensor, dict[str, float]]:
    if memory is None:
        return o.sum() * 0.0, {}
    info = memory.update(indices, o.detach(), ir, vis)
    if step < s['refresh_warmup_epochs'] * steps_per_epoch:
        return o.sum() * 0.0, {
            'refresh': 0.0,
            'ssim_score': float(info['s'].mean()),
            'gmsd_score': float(info['g'].mean()),
        }
    loss, terms = memory.loss(o, info, extractor, o_feats, scale_feats)
    terms.update(
        {
            'refresh': float(loss.detach()),
            'ssim_score': float(info['s'].mean()),
            'gmsd_score': float(info['g'].mean()),
        }
    )
    return s['refresh_weight'] * loss, terms


class TeacherCache:
    """The frozen teacher's (4-channel feature, output) per fixed patch.

    Computed the first time a sample is seen: the teacher runs once per patch instead of once per
    student epoch. float32 (float16 when it would exceed 512 MB). Not checkpointed: recomputed
    identically on resume.
    """

    def __init__(self, n: int, crop: int) -> None:
        self.n, self.crop = n, crop
        self.dtype = torch.float32 if n * 5 * crop * crop * 4 <= 512 * 2**20 else torch.float16
        self.feat = torch.zeros(n, 4, crop, crop, dtype=self.dtype)
        self.out = torch.zeros(n, 1, crop, crop, dtype=self.dtype)
        self.have = torch.zeros(n, dtype=torch.bool)

    @torch.no_grad()
    def get(
        self, teacher: nn.Module, batch: torch.Tensor, indices: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        missing = ~self.have[indices]
        if missing.any():
            f, o = teacher.forward_features(batch[missing])
            idx = indices[missing]
            self.feat[idx], self.out[idx] = f.to(self.dtype), o.to(self.dtype)
            self.have[idx] = True
        return self.feat[indices].float(), self.out[indices].float()


def _stage_val(cfg: TrainConfig, val_pairs: list[Pair]) -> list[Pair]:
    """Pairs a stage validates on: all of them with validate_every_epoch, else none.

    The runner scores the final student on every validation set once; scoring each stage's end
    again costs minutes on a busy CPU.
    """
    return list(val_pairs) if cfg.validate_every_epoch else []


def _steps_per_epoch(n: int, batch: int) -> int:
    return -(-n // batch)


def _distill_terms(s: dict[str, Any], f_s, o_s, f_t, o_t) -> tuple[torch.Tensor, torch.Tensor]:
    """(feature term, response term) of the digestible distillation (see module docstring)."""
    if s['distill'] == 'digestible':
        return digestible_loss(f_s, f_t), digestible_loss(o_s, o_t)
    return attention_distill_loss(f_s, f_t, s['attention_p']), F.l1_loss(o_s, o_t)


def _train_teacher(
    cfg: TrainConfig,
    s: dict[str, Any],
    dataset: PatchDataset,
    extractor: nn.Module,
    val_pairs: list[Pair],
    hooks: TrainingHooks,
    checkpoint_dir: Path | None,
    budget: TimeBudget,
    summary: dict[str, Any],
) -> nn.Module:
    """Stage 1: the teacher with L_comp (teacher weights) + L_refresh, or a reused checkpoint."""
    teacher = build_teacher(s['teacher'])
    if s['teacher_checkpoint']:
        load_model_weights(teacher, s['teacher_checkpoint'], stage='teacher')
        summary['teacher'] = {'reused': str(s['teacher_checkpoint'])}
    else:
        comp = ComprehensiveLoss(
            extractor, s['w_int'], s['teacher_w_grad'], s['teacher_w_per'], s['grad_loss']
        )
        t_mem = _make_memory(s, len(dataset), cfg.crop)
        t_spe = _steps_per_epoch(len(dataset), s['teacher_batch'])

        def teacher_loss(batch, indices, step):
            ir, vis = batch[:, 0:1], batch[:, 1:2]
            _, o = teacher.forward_features(batch)
            lc, terms, o_feats, target = comp(o, ir, vis)
            lr_, rterms = _refresh_term(
                t_mem, s, t_spe, step, indices, o, ir, vis, extractor, o_feats, target
            )
            return lc + lr_, {**terms, **rterms}, o

        t_res = fit(
            teacher,
            dataset,
            teacher_loss,
            cfg,
            hooks,
            checkpoint_dir,
            stage='teacher',
            epochs=s['teacher_epochs'],
            batch_size=s['teacher_batch'],
            lr=s['teacher_lr'],
            val_pairs=_stage_val(cfg, val_pairs),
            budget=budget.share(s['teacher_time_fraction']),
            state={'refresh': t_mem} if t_mem else None,
        )
        summary['stages'].append(
            {
                **t_res.summary(),
                'parameters': count_parameters(teacher),
                'architecture': s['teacher'],
                'refresh': _memory_stats(t_mem),
            }
        )
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def _train_student(
    cfg: TrainConfig,
    s: dict[str, Any],
    dataset: PatchDataset,
    extractor: nn.Module,
    teacher: nn.Module,
    val_pairs: list[Pair],
    hooks: TrainingHooks,
    checkpoint_dir: Path | None,
    budget: TimeBudget,
    summary: dict[str, Any],
) -> nn.Module:
    """Stage 2: train the student.

    The loss is theta * L_distill + lambda * L_comp (student weights) + L_refresh.
    """
    comp = ComprehensiveLoss(extractor, s['w_int'], s['w_grad'], s['w_per'], s['grad_loss'])
    cache = TeacherCache(len(dataset), cfg.crop) if s['cache_teacher'] else None

    def teacher_outputs(batch, indices):
        if cache is not None:
            return cache.get(teacher, batch, indices)
        with torch.no_grad():
            return teacher.forward_features(batch)

    def distill_and_comp(student_net, batch, indices):
        ir, vis = batch[:, 0:1], batch[:, 1:2]
        f_t, o_t = teacher_outputs(batch, indices)
        f_s, o_s = student_net.forward_features(batch)
        l_feat, l_resp = _distill_terms(s, f_s, o_s, f_t, o_t)
        lc, terms, o_feats, target = comp(o_s, ir, vis)
        loss = s['theta'] * (s['w_feat'] * l_feat + s['w_resp'] * l_resp) + s['lambda'] * lc
        return (
            loss,
            {
                'distill_feature': float(l_feat.detach()),
                'distill_response': float(l_resp.detach()),
                **terms,
            },
            o_s,
            o_feats,
            target,
        )

    seed = _pick_student_seed(dataset, distill_and_comp, s, cfg, summary)
    torch.manual_seed(seed)  # the same student init whether the teacher was trained here or reused
    student = build_model('mmdrfuse')
    s_mem = _make_memory(s, len(dataset), cfg.crop)
    s_spe = _steps_per_epoch(len(dataset), s['student_batch'])

    def student_loss(batch, indices, step):
        ir, vis = batch[:, 0:1], batch[:, 1:2]
        loss, terms, o_s, o_feats, target = distill_and_comp(student, batch, indices)
        lr_, rterms = _refresh_term(
            s_mem, s, s_spe, step, indices, o_s, ir, vis, extractor, o_feats, target
        )
        return loss + lr_, {**terms, **rterms}, o_s

    s_res = fit(
        student,
        dataset,
        student_loss,
        cfg,
        hooks,
        checkpoint_dir,
        stage='student',
        epochs=s['student_epochs'],
        batch_size=s['student_batch'],
        lr=s['student_lr'],
        val_pairs=_stage_val(cfg, val_pairs),
        budget=budget,
        state={'refresh': s_mem} if s_mem else None,
        trainable=student,
    )
    summary['stages'].append(
        {
            **s_res.summary(),
            'parameters': count_parameters(student),
            'refresh': _memory_stats(s_mem),
        }
    )
    summary['val_metrics'] = s_res.val_metrics
    student.eval()
    return student


def train(
    cfg: TrainConfig,
    train_pairs: list[Pair],
    val_pairs: list[Pair],
    hooks: TrainingHooks,
    checkpoint_dir: Path | None,
) -> tuple[nn.Module, dict]:
    s = recipe_settings(cfg)
    torch.manual_seed(cfg.seed)
    extractor = make_perception(s['vgg19_weights'])
    budget = TimeBudget(cfg.max_minutes)
    summary: dict[str, Any] = {
        'recipe_description': 'MMDRFuse: teacher (comprehensive loss + dynamic refresh) -> '
        'digestible '
        'distillation (4-channel layer + response) -> student',
        'perception': extractor.describe(),
        'settings': s,
        'stages': [],
    }
    dataset = PatchDataset(
        train_pairs,
        cfg.crop,
        cfg.patches_per_pair,
        cfg.augment,
        cfg.seed,
        photometric=cfg.photometric,
    )
    teacher = _train_teacher(
        cfg, s, dataset, extractor, val_pairs, hooks, checkpoint_dir, budget, summary
    )
    student = _train_student(
        cfg, s, dataset, extractor, teacher, val_pairs, hooks, checkpoint_dir, budget, summary
    )
    summary['stopped_early'] = any(st.get('stopped_early') for st in summary['stages'])
    summary['teacher_val_metrics'] = (
        summary['stages'][0]['val_metrics'] if len(summary['stages']) > 1 else {}
    )
    summary['patches'] = {
        'pairs': len(train_pairs),
        'per_pair': cfg.patches_per_pair,
        'total': len(dataset),
        'crop': cfg.crop,
        'max_side': cfg.max_side,
        'per_source': _patches_per_source(dataset),
    }
    if checkpoint_dir is not None:
        torch.save(teacher.state_dict(), Path(checkpoint_dir) / 'teacher_weights.pth')
    return student, summary


def _patches_per_source(dataset: PatchDataset) -> dict[str, int]:
    out: dict[str, int] = {}
    for pair, count in zip(dataset.pairs, dataset._counts):
        out[pair.source or 'train'] = out.get(pair.source or 'train', 0) + int(count)
    return out


def _pick_student_seed(
    dataset: PatchDataset, loss_fn, s: dict[str, Any], cfg: TrainConfig, summary: dict[str, Any]
) -> int:
    """Seed of the student initialisation to train.

    cfg.seed + 1, or with `student_inits` K > 1 the best of K short runs (same batches, Adam at
    student_lr, loss without the refresh term) by mean loss over their second half. Deterministic,
    so a resumed run picks the same one.
    """
    seeds = [cfg.seed + 1 + k for k in range(max(1, int(s['student_inits'])))]
    if len(seeds) == 1:
        return seeds[0]
    n, steps = len(dataset), max(2, int(s['student_init_steps']))
    epochs = _steps_per_epoch(
        steps, _steps_per_epoch(n, s['student_batch'])
    )  # ceil(steps / steps per epoch)
    order = [b for e in range(epochs) for b in epoch_batches(n, s['student_batch'], cfg.seed, e)][
        :steps
    ]
    scores = []
    for seed in seeds:
        torch.manual_seed(seed)
        net = build_model('mmdrfuse')
        opt = torch.optim.Adam(net.parameters(), lr=s['student_lr'])
        tail = []
        for j, idx in enumerate(order):
            batch = patch_batch(dataset, idx)
            loss = loss_fn(net, batch, torch.as_tensor(idx, dtype=torch.long))[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if j >= len(order) // 2:
                tail.append(float(loss.detach()))
        scores.append(sum(tail) / len(tail))
    best = seeds[min(range(len(seeds)), key=scores.__getitem__)]
    summary['student_init_search'] = {
        'seeds': seeds,
        'loss': [round(x, 6) for x in scores],
        'picked': best,
        'steps': len(order),
    }
    return best


def _memory_stats(mem: RefreshMemory | None) -> dict[str, Any]:
    if mem is None:
        return {'enabled': False}
    return {
        'enabled': True,
        'samples': mem.n,
        'filled': mem.filled,
        'kappa': mem.kappa,
        'replacements': dict(mem.replacements),
        'mean_best_ssim': float(mem.ssim_best[torch.isfinite(mem.ssim_best)].mean())
        if mem.filled
        else None,
        'mean_best_gmsd': float(mem.gmsd_best[torch.isfinite(mem.gmsd_best)].mean())
        if mem.filled
        else None,
    }
