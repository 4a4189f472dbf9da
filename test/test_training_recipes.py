# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MobileFuse and AE-Netv2 training recipes end to end.

Tiny config -> train -> loss goes down -> ONNX + model card via the framework's export -> runtime
pipeline fuses a bundled demo pair.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from fusion_ros.images.demo_sequence import load_demo_pair
from fusion_ros.training.config import load_config
import numpy as np
import pytest
import torch


def _first_last(series: list[float], k: int = 3) -> tuple[float, float]:
    k = max(1, min(k, len(series) // 2))
    return float(np.mean(series[:k])), float(np.mean(series[-k:]))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train both tiny configs once for the module.

    Each a few seconds to ~30 s on 2 shared cores.
    """
    from fusion_ros.training.hooks import HistoryHooks
    from fusion_ros.training.runner import run_training

    out = {}
    for model in ('mobilefuse', 'aenetv2'):
        cfg = load_config(model, 'tiny')
        if model == 'aenetv2':  # a card that asks the runtime for min-max output
            cfg.output_stretch = 'minmax'
        hooks = HistoryHooks()
        run = tmp_path_factory.mktemp(model)
        result = run_training(cfg, hooks, out_dir=run / 'run', export_dir=run / 'export')
        out[model] = (cfg, hooks, result)
    return out


@pytest.mark.parametrize('model', ['mobilefuse', 'aenetv2'])
def test_tiny_config_trains_and_loss_decreases(trained, model):
    cfg, hooks, result = trained[model]
    summary = result['summary']
    assert not summary['stopped_early'], 'tiny config must finish inside its time budget'
    stages = [s['stage'] for s in summary['stages']]
    if model == 'mobilefuse':
        assert stages == ['synthetic', 'finetune']
        first, last = _first_last(hooks.series('mse', 'synthetic'))
    else:
        assert stages == ['stage1', 'stage2']
        first, last = _first_last(hooks.series('total'))
    assert np.isfinite(last) and last < first, (model, first, last)
    assert result['duration_s'] < 60


def test_mobilefuse_batches_are_balanced_and_rehearsal_runs(trained):
    cfg, hooks, result = trained['mobilefuse']
    synth = [d for s, _, d in hooks.losses if s == 'synthetic']
    assert all('mse_lighting' in d and 'mse_focus' in d for d in synth)
    fine = [d for s, _, d in hooks.losses if s == 'finetune']
    assert fine and all({'intensity', 'gradient', 'rehearsal_mse'} <= set(d) for d in fine)
    st = result['summary']['stages'][0]
    assert st['pairs_per_batch'] == cfg.batch_size


def test_aenetv2_targets_and_two_stage_lr(trained):
    cfg, hooks, result = trained['aenetv2']
    summary = result['summary']
    init = summary['targets_initial']
    assert (
        init['samples'] == summary['patches']['total']
        and sum(init['winners'].values()) == init['samples']
    )
    s1, s2 = summary['stages']
    assert s2['lr'] == pytest.approx(s1['lr'] / 10)
    lrs1 = {round(d['lr'], 8) for s, _, d in hooks.losses if s == 'stage1'}
    lrs2 = {round(d['lr'], 8) for s, _, d in hooks.losses if s == 'stage2'}
    assert lrs1 == {s1['lr']} and lrs2 == {s2['lr']}
    # 1:10 epochs (the paper's 10 + 100, scaled)
    assert s2['epochs_done'] == 10 * s1['epochs_done']
    # the network's outputs were offered to the target memory in stage 2
    assert summary['targets_final']['network_offers'] > 0


@pytest.mark.parametrize('model', ['mobilefuse', 'aenetv2'])
def test_export_and_runtime_fuse_a_demo_pair(trained, model):
    cfg, hooks, result = trained[model]
    onnx_path, card_path = Path(result['onnx']), Path(result['card'])
    assert onnx_path.is_file() and card_path.is_file()
    card = json.loads(card_path.read_text())
    assert card['name'] == model and card['training']['recipe'] == model
    assert card['onnx'] == onnx_path.name
    assert card['output']['stretch'] == cfg.output_stretch  # the runtime makes the same image

    runtime = pytest.importorskip('fusion_ros.runtime')
    if not hasattr(runtime, 'load_pipeline'):
        pytest.skip('fusion_ros.runtime.load_pipeline not written yet')
    pipeline = runtime.load_pipeline(str(onnx_path))
    vi, ir = load_demo_pair('01')
    res = pipeline.fuse(vi, ir)
    assert res.image.dtype == np.uint8
    assert res.image.shape[:2] == vi.shape[:2]
    assert res.image.shape == vi.shape  # same layout as the visible input
    assert 0 < float(res.image.mean()) < 255


def test_onnx_matches_torch_weights(trained):
    """The exported graph reproduces the saved torch weights (clamped) on a demo-pair crop."""
    from fusion_ros.models import build_model
    import onnxruntime as ort

    for model in ('mobilefuse', 'aenetv2'):
        _, _, result = trained[model]
        net = build_model(model)
        net.load_state_dict(torch.load(result['weights'], map_location='cpu'))
        net.eval()
        vi, ir = load_demo_pair('01')
        x = np.stack([ir[:64, :96], vi[:64, :96]]).astype(np.float32)[None] / 255.0
        sess = ort.InferenceSession(result['onnx'], providers=['CPUExecutionProvider'])
        (got,) = sess.run(['fused'], {'input': x})
        with torch.no_grad():
            want = net(torch.from_numpy(x)).clamp(0, 1).numpy()
        np.testing.assert_allclose(got, want, atol=1e-4)


# --- recipe pieces (fast, no training) ----------------------------------------------------------


def test_target_memory_replaces_only_better_candidates():
    from fusion_ros.training.classic import fuse_mean
    from fusion_ros.training.data import Pair, PatchDataset
    from fusion_ros.training.quality import QualityEvaluator
    from fusion_ros.training.recipes.aenetv2 import TargetMemory

    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((64, 64)).astype(np.float32), (0, 0), 1.5)
    pairs = [Pair('a', np.clip(base * 1.5, 0, 1), np.clip(1 - base, 0, 1))]
    ds = PatchDataset(pairs, 32, 3, False, 0)
    ev = QualityEvaluator()
    mem = TargetMemory(len(ds), 32, ['mean', 'laplacian'])
    info = mem.initialise(ds, ['mean', 'laplacian'], ev)
    assert info['samples'] == 3 and mem.initialised
    assert torch.isfinite(mem.best_score).all() and (mem.best_score >= mem.worst_score).all()
    batch = np.stack([ds.patch(i) for i in range(3)])
    before = mem.best.clone()
    # a constant output is worse than any classic candidate: nothing is replaced
    assert mem.offer(torch.arange(3), batch, np.full((3, 1, 32, 32), 0.5, np.float32), ev) == 0
    assert torch.equal(mem.best, before)
    # forcing a low stored score makes a reasonable output win
    mem.best_score[1] = -1.0
    outs = np.stack([fuse_mean(p[0], p[1])[None] for p in batch])
    assert mem.offer(torch.arange(3), batch, outs, ev) >= 1
    assert mem.names[int(mem.source[1])] == 'network'
    # checkpoint round trip
    state = mem.state_dict()
    other = TargetMemory(len(ds), 32, ['mean', 'laplacian'])
    other.load_state_dict(state)
    assert torch.equal(other.best, mem.best) and other.replacements == mem.replacements


def test_relative_optimal_loss_prefers_the_best_candidate():
    from fusion_ros.training.recipes.aenetv2 import relative_optimal_loss

    g = torch.Generator().manual_seed(0)
    best = torch.rand(2, 1, 32, 32, generator=g)
    worst = torch.rand(2, 1, 32, 32, generator=g)
    at_best, _ = relative_optimal_loss(best.clone(), best, worst, 0.1, 0.01)
    at_worst, _ = relative_optimal_loss(worst.clone(), best, worst, 0.1, 0.01)
    assert float(at_best) < 1e-3 < float(at_worst)


def test_unknown_recipe_settings_are_rejected():
    from fusion_ros.training.recipes import aenetv2, mobilefuse

    with pytest.raises(ValueError):
        mobilefuse.recipe_settings(load_config('mobilefuse', 'tiny', extra={'w_typo': 1}))
    with pytest.raises(ValueError):
        aenetv2.recipe_settings(load_config('aenetv2', 'tiny', extra={'pool': ['nope']}))


@pytest.mark.parametrize('model', ['mobilefuse', 'aenetv2'])
def test_default_configs_keep_the_papers_settings(model):
    cfg = load_config(model, 'default')
    assert cfg.max_minutes is not None and cfg.max_minutes <= 30
    sources = json.dumps(cfg.train_sources)
    assert 'tno' not in sources and 'llvip/test' not in sources and 'msrs/test' not in sources
    for source in ('llvip/train', 'llvip/extra', 'msrs/train_128'):
        assert source in sources
    if model == 'aenetv2':
        from fusion_ros.training.recipes.aenetv2 import recipe_settings

        s = recipe_settings(cfg)
        assert cfg.batch_size == 16 and cfg.crop == 128
        assert s['stage1_lr'] == pytest.approx(1e-3) and s['stage2_lr'] == pytest.approx(1e-4)
        assert s['stage2_epochs'] == 10 * s['stage1_epochs']
    else:
        from fusion_ros.training.recipes.mobilefuse import recipe_settings

        s = recipe_settings(cfg)
        assert s['synthetic_crop'] % 8 == 0 and cfg.crop % 8 == 0 and s['finetune']


@pytest.mark.parametrize('model', ['mobilefuse', 'aenetv2'])
def test_paper_configs_follow_the_paper(model):
    cfg = load_config(model, 'paper')
    sources = json.dumps(cfg.train_sources)
    assert 'tno' not in sources and 'llvip/test' not in sources and 'msrs/test' not in sources
    if model == 'mobilefuse':
        from fusion_ros.training.recipes.mobilefuse import recipe_settings

        s = recipe_settings(cfg)
        assert (
            s['full_res_mask'] and not s['finetune']
        )  # synthetic data only, full-resolution mask
    else:
        from fusion_ros.training.recipes.aenetv2 import recipe_settings

        s = recipe_settings(cfg)
        assert s['middle'] == 'gcb' and cfg.batch_size == 16 and cfg.crop == 128
        assert s['stage1_lr'] == pytest.approx(1e-3) and s['stage2_lr'] == pytest.approx(1e-4)
        assert s['stage2_epochs'] == 10 * s['stage1_epochs']


def test_aenetv2_middle_block_is_a_config_key(tmp_path):
    """Each replaceable block R trains through the recipe (two steps) and is what gets built."""
    from fusion_ros.models.aenetv2 import MIDDLE_BLOCKS
    from fusion_ros.training.recipes import aenetv2
    from fusion_ros.training.runner import load_data

    with pytest.raises(ValueError, match='middle block'):
        aenetv2.recipe_settings(load_config('aenetv2', 'tiny', extra={'middle': 'inception'}))
    base = load_config('aenetv2', 'tiny', steps=2, limit_pairs=2)
    train_pairs, _ = load_data(base)
    counts = {}
    for kind in MIDDLE_BLOCKS:
        cfg = base.replace(extra={'middle': kind, 'stage2_epochs': 1, 'pool': ['mean', 'max']})
        model, summary = aenetv2.train(cfg, train_pairs, [], None, None)
        assert kind in summary['architecture']
        counts[kind] = sum(p.numel() for p in model.parameters())
    assert len(set(counts.values())) == len(MIDDLE_BLOCKS), counts  # five different networks


def test_validation_scores_the_image_the_runtime_makes() -> None:
    """fused_to_uint8 (training's validation) and the pipeline's output stretch agree."""
    from fusion_ros.training.trainer import fused_to_uint8

    plane = np.linspace(0.25, 0.75, 200, dtype=np.float32).reshape(10, 20)
    plain, stretched = fused_to_uint8(plane), fused_to_uint8(plane, 'minmax')
    assert (plain.min(), plain.max()) == (64, 191)
    assert (stretched.min(), stretched.max()) == (0, 255)
    flat = np.full((4, 4), 0.5, np.float32)
    assert np.array_equal(fused_to_uint8(flat, 'minmax'), fused_to_uint8(flat))
