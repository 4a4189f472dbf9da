# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MMDRFuse recipe end to end on the tiny config.

Trains (loss goes down), exports an ONNX model the runtime loads and runs on a bundled demo pair,
resumes from checkpoints; plus the pieces (losses, refresh memory, perception extractors, patch
dataset) on synthetic data.
"""

from __future__ import annotations

import json

from fusion_ros.images.demo_sequence import load_demo_pair
from fusion_ros.training.config import load_config
from fusion_ros.training.data import Pair, PatchDataset, split_pairs
from fusion_ros.training.hooks import HistoryHooks
from fusion_ros.training.runner import load_data, run_training
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope='module')
def tiny():
    cfg = load_config('mmdrfuse', 'tiny')
    train_pairs, val_pairs = load_data(cfg)
    return cfg, train_pairs, val_pairs


def _smoothed(values, k=3):
    return float(np.mean(values[:k])), float(np.mean(values[-k:]))


def test_tiny_config_trains_exports_and_runs_in_the_runtime(tiny, tmp_path):
    cfg, train_pairs, val_pairs = tiny
    hooks = HistoryHooks()
    result = run_training(
        cfg,
        hooks,
        out_dir=tmp_path / 'run',
        export_dir=tmp_path / 'export',
        train_pairs=train_pairs,
        val_pairs=val_pairs,
    )
    summary = result['summary']
    assert [s['stage'] for s in summary['stages']] == ['teacher', 'student']
    assert not summary['stopped_early']
    # the student learns: distillation towards the teacher and the intensity term fall
    first, last = _smoothed(hooks.series('distill_response', 'student'))
    assert last < first, hooks.series('distill_response', 'student')
    first, last = _smoothed(hooks.series('intensity', 'teacher'))
    assert last < first, hooks.series('intensity', 'teacher')
    assert hooks.samples > 0 and hooks.epochs
    assert summary['val_metrics'], 'validation metrics on the held-out pair'
    # card
    card = json.loads((tmp_path / 'export' / 'mmdrfuse.json').read_text())
    assert card['parameters'] == 113
    assert card['training']['recipe'] == 'mmdrfuse'
    assert card['training']['summary']['perception']['kind'] in ('filterbank', 'vgg19')
    assert set(card['training']['data']['val_pairs']).isdisjoint(
        card['training']['data']['train_pairs']
    )
    assert card['metrics']['validation']
    # the runtime loads it (card + SHA-256 check) and fuses a bundled demo pair
    from fusion_ros.runtime import load_pipeline

    pipeline = load_pipeline(str(tmp_path / 'export' / 'mmdrfuse.onnx'))
    visible, thermal = load_demo_pair('01')
    fused = pipeline.fuse(visible, thermal).image
    assert fused.shape[:2] == visible.shape[:2]
    assert fused.dtype == np.uint8
    assert fused.std() > 1.0  # not a constant image


def _toy_mmdrfuse(seed: int, extra: dict):
    """Two random 40x40 pairs and a seconds-long MMDRFuse config (16x16 patches, no validation)."""
    import dataclasses

    rng = np.random.default_rng(seed)
    pairs = [
        Pair(
            f'p{i}', rng.random((40, 40), dtype=np.float32), rng.random((40, 40), dtype=np.float32)
        )
        for i in range(2)
    ]
    cfg = dataclasses.replace(
        load_config('mmdrfuse', 'tiny'),
        crop=16,
        patches_per_pair=4,
        augment=False,
        sample_every=0,
        checkpoint_every=0,
        validate_every_epoch=False,
        extra={'teacher_epochs': 1, 'teacher_batch': 4, 'student_batch': 4, **extra},
    )
    return pairs, cfg


def test_reusing_the_teacher_gives_the_same_student(tmp_path):
    """extra.teacher_checkpoint is a shortcut, not a different recipe: same student weights."""
    from fusion_ros.training.recipes import get_recipe

    pairs, cfg = _toy_mmdrfuse(1, {'student_epochs': 2})
    train = get_recipe('mmdrfuse')
    student, _ = train(cfg, pairs, [], HistoryHooks(), tmp_path / 'a')
    reuse = cfg.replace(
        extra={**cfg.extra, 'teacher_checkpoint': str(tmp_path / 'a' / 'teacher_weights.pth')}
    )
    again, summary = train(reuse, pairs, [], HistoryHooks(), tmp_path / 'b')
    assert summary['teacher']['reused']
    for a, b in zip(student.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_student_init_search_picks_the_lowest_loss_deterministically(tmp_path):
    from fusion_ros.training.recipes import get_recipe

    pairs, cfg = _toy_mmdrfuse(
        2, {'student_epochs': 1, 'student_inits': 3, 'student_init_steps': 6}
    )
    train = get_recipe('mmdrfuse')
    first, summary = train(cfg, pairs, [], HistoryHooks(), tmp_path / 'a')
    search = summary['student_init_search']
    assert search['seeds'] == [cfg.seed + 1, cfg.seed + 2, cfg.seed + 3] and search['steps'] == 6
    assert len(set(search['loss'])) == 3  # the initialisations really differ
    assert search['picked'] == search['seeds'][int(np.argmin(search['loss']))]
    again, summary2 = train(cfg, pairs, [], HistoryHooks(), tmp_path / 'b')
    assert summary2['student_init_search'] == search
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_resume_continues_from_the_saved_step(tiny, tmp_path):
    cfg, train_pairs, val_pairs = tiny
    cfg = cfg.replace(extra={'teacher_epochs': 1, 'student_epochs': 2}, val_metrics=['EN'])

    class StopAt(HistoryHooks):
        """Stop training at one (stage, step)."""

        def __init__(self, stage, step):
            super().__init__()
            self.at = (stage, step)

        def on_step(self, step, losses):
            super().on_step(step, losses)
            if (self.stage, step) == self.at:
                self.stop_event.set()

    first = run_training(
        cfg, StopAt('student', 3), out_dir=tmp_path, train_pairs=train_pairs, val_pairs=val_pairs
    )
    assert first['summary']['stopped_early']
    saved = torch.load(tmp_path / 'checkpoints' / 'student.pt', weights_only=False)
    assert saved['step'] == 3 and not saved['done']
    assert (
        saved['state']['refresh']['ssim_best'].isfinite().sum() > 0
    )  # refresh memory is checkpointed
    hooks = HistoryHooks()
    second = run_training(
        cfg, hooks, out_dir=tmp_path, resume=True, train_pairs=train_pairs, val_pairs=val_pairs
    )
    teacher, student = second['summary']['stages']
    assert (
        teacher['duration_s'] == 0.0 and teacher['steps'] == teacher['total_steps']
    )  # finished: not rerun
    assert student['resumed_from_step'] == 3
    assert student['steps'] == student['total_steps'] > 3
    assert [s for st, s, _ in hooks.losses if st == 'student'][
        0
    ] == 4  # continued, did not restart
    assert not second['summary']['stopped_early']


def test_resumed_fit_matches_an_uninterrupted_one(tmp_path):
    """Exact resume: same batches, optimizer state and schedule.

    The simple recipe on a toy pair.
    """
    from fusion_ros.training.config import TrainConfig
    from fusion_ros.training.recipes import get_recipe

    rng = np.random.default_rng(0)
    pairs = [
        Pair(
            f'p{i}', rng.random((40, 40), dtype=np.float32), rng.random((40, 40), dtype=np.float32)
        )
        for i in range(2)
    ]
    cfg = TrainConfig(
        model='mmdrfuse',
        recipe='simple',
        epochs=3,
        batch_size=4,
        crop=16,
        patches_per_pair=6,
        log_every=1,
        sample_every=0,
        checkpoint_every=0,
        validate_every_epoch=False,
        lr_schedule='cosine',
    )
    train = get_recipe('simple')
    whole, _ = train(cfg, pairs, [], HistoryHooks(), tmp_path / 'a')

    class StopAt(HistoryHooks):
        """Stop training at step 5."""

        def on_step(self, step, losses):
            if step == 5:
                self.stop_event.set()

    torch.manual_seed(123)  # resume must not depend on the global RNG at restart
    train(cfg, pairs, [], StopAt(), tmp_path / 'b')
    resumed, summary = train(cfg, pairs, [], HistoryHooks(), tmp_path / 'b')
    assert summary['stages'][0]['resumed_from_step'] == 5
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)


# --- the pieces --------------------------------------------------------------------------------


def test_ssim_gmsd_and_attention():
    from fusion_ros.training.losses import attention_distill_loss, attention_map, gmsd, ssim

    torch.manual_seed(0)
    x = torch.rand(3, 1, 32, 32)
    assert torch.allclose(ssim(x, x), torch.ones(3), atol=1e-5)
    assert torch.allclose(gmsd(x, x), torch.zeros(3), atol=1e-4)
    noisy = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
    assert (ssim(noisy, x) < 0.9).all() and (gmsd(noisy, x) > 0.01).all()
    f = torch.rand(2, 4, 8, 8)
    a = attention_map(f)
    assert a.shape == (2, 64) and torch.allclose(a.norm(dim=1), torch.ones(2))
    assert float(attention_distill_loss(f, f)) == pytest.approx(0.0, abs=1e-7)
    assert float(attention_distill_loss(f, 3.0 * f)) == pytest.approx(0.0, abs=1e-6)  # scale-free


def test_refresh_memory_keeps_the_best_and_pulls_only_when_behind():
    from fusion_ros.training.perception import FilterBankFeatures
    from fusion_ros.training.refresh import RefreshMemory

    torch.manual_seed(0)
    ir, vis = torch.rand(2, 1, 24, 24), torch.rand(2, 1, 24, 24)
    good = torch.maximum(ir, vis)
    bad = torch.full_like(good, 0.5)
    mem, ext, idx = RefreshMemory(5, 24), FilterBankFeatures(), torch.tensor([1, 3])
    info = mem.update(idx, good, ir, vis)
    assert not info['seen'].any() and (info['alpha'] == 0).all()
    assert mem.filled == 2
    info = mem.update(idx, bad, ir, vis)  # worse than its memory: pulled back, memory kept
    assert info['seen'].all() and (info['alpha'] > 0).all() and (info['beta'] > 0).all()
    assert torch.allclose(mem.ssim_img[idx].float(), good, atol=1e-3)
    o = bad.clone().requires_grad_(True)
    loss, _ = mem.loss(o, info, ext)
    loss.backward()
    assert float(loss.detach()) > 0 and o.grad.abs().sum() > 0
    state = mem.state_dict()
    other = RefreshMemory(5, 24)
    other.load_state_dict(state)
    assert torch.equal(other.ssim_best, mem.ssim_best)


def test_vgg19_loads_torchvision_layout_and_filter_bank_is_deterministic(tmp_path):
    from fusion_ros.training.perception import (
        FilterBankFeatures,
        make_perception,
        vgg19_features_stack,
        VGG19Features,
    )

    stack = vgg19_features_stack()
    torch.manual_seed(0)
    state = {f'features.{k}': v for k, v in stack.state_dict().items()}
    state['classifier.0.weight'] = torch.zeros(2, 2)  # a full vgg19 state_dict has these: ignored
    path = tmp_path / 'vgg19.pth'
    torch.save(state, path)
    assert sorted({int(k.split('.')[1]) for k in state if k.startswith('features')}) == [
        0,
        2,
        5,
        7,
        10,
        12,
        14,
        16,
        19,
        21,
        23,
        25,
        28,
        30,
        32,
        34,
    ]
    vgg = make_perception(path)
    assert isinstance(vgg, VGG19Features)
    feats = vgg(torch.rand(1, 1, 32, 32))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    assert not any(p.requires_grad for p in vgg.parameters())
    fb1, fb2 = FilterBankFeatures(), FilterBankFeatures()
    x = torch.rand(2, 1, 64, 64)
    out1, out2 = fb1(x), fb2(x)
    assert len(out1) == 5 and [f.shape[-1] for f in out1] == [64, 32, 16, 8, 4]
    assert all(torch.equal(a, b) for a, b in zip(out1, out2))
    assert all((f >= 0).all() for f in out1)
    assert list(fb1.parameters()) == []  # nothing to train


def test_patch_dataset_is_stable_per_index_and_split_is_by_pair():
    rng = np.random.default_rng(0)
    pairs = [
        Pair(
            f'p{i}', rng.random((50, 70), dtype=np.float32), rng.random((50, 70), dtype=np.float32)
        )
        for i in range(6)
    ]
    ds = PatchDataset(pairs, crop=32, patches_per_pair=5, augment=True, seed=3, photometric=0.5)
    assert len(ds) == 30
    assert ds[7].shape == (2, 32, 32) and ds[7].dtype == torch.float32
    assert torch.equal(ds[7], ds[7]) and torch.equal(
        ds[7], PatchDataset(pairs, 32, 5, True, 3, photometric=0.5)[7]
    )
    ds.resample(1)
    assert not torch.equal(ds[7], PatchDataset(pairs, 32, 5, True, 3, photometric=0.5)[7])
    train, val = split_pairs(pairs, 0.34, seed=0)
    assert len(val) == 2 and {p.name for p in train}.isdisjoint({p.name for p in val})
    small = PatchDataset(
        [Pair('s', np.zeros((10, 12), np.float32), np.ones((10, 12), np.float32))], 16, 2, False, 0
    )
    assert small[0].shape == (2, 16, 16)  # reflect-padded up to the crop


def test_tiny_training_needs_no_dataset_folder(tmp_path):
    """A fresh clone has no ../shared.

    `fusion-ros train --config tiny` must still train and export (issue 20). The dataset root
    points at an empty folder, so any dataset read would fail.
    """
    import os
    import subprocess
    import sys

    empty = tmp_path / 'no_datasets'
    empty.mkdir()
    env = {**os.environ, 'FUSION_ROS_DATASETS': str(empty)}
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'fusion_ros.cli.main',
            'train',
            '--model',
            'mmdrfuse',
            '--config',
            'tiny',
            '--out',
            str(tmp_path / 'run'),
            '--export',
            str(tmp_path / 'export'),
            '--quiet',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    card = json.loads((tmp_path / 'export' / 'mmdrfuse.json').read_text())
    assert card['training']['data']['train_pairs'], 'trained on the bundled demo pairs'
    assert all(name.startswith('demo_') for name in card['training']['data']['train_pairs'])


class _Payload:
    """A pickle that runs code when loaded: what a hostile "checkpoint" looks like."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f'touch {self.marker}',))


def test_a_checkpoint_that_carries_code_is_refused_not_run(tmp_path, capsys):
    """`fusion-ros export --checkpoint` (and resume) load weights only: the payload never runs."""
    from fusion_ros.cli.main import main

    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pt'
    torch.save({'model': _Payload(marker)}, evil)
    assert (
        main(
            [
                'export',
                '--model',
                'mmdrfuse',
                '--checkpoint',
                str(evil),
                '--out',
                str(tmp_path / 'out'),
            ]
        )
        == 2
    )
    assert not marker.exists()
    assert 'cannot load' in capsys.readouterr().err
    assert not (tmp_path / 'out' / 'mmdrfuse.onnx').exists()
