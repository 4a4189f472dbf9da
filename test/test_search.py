# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros search` (HAF-NAS, issue 14): the tiny config end to end, and the latency model.

Real parts: a real supernet search on the bundled demo pairs, real ONNX export, a latency table
measured with ONNX Runtime on this machine, the runtime's `load_pipeline` on the result.
"""

from __future__ import annotations

import json
import math

from fusion_ros.models.hafnas import (
    aenetv2_like,
    Architecture,
    derive,
    DerivedNet,
    inherit_weights,
    OPS,
    SearchSpace,
    SuperNet,
    uniform_architecture,
)
from fusion_ros.nas.latency import expected_ms, LatencyTable, measure_table, predict_ms
import numpy as np
import pytest
import torch

SPACE = SearchSpace(width=4)
SIZE = (64, 80)  # (H, W): small, so the table is measured in seconds


@pytest.fixture(scope='module')
def table() -> LatencyTable:
    return measure_table(SPACE, SIZE, 'cpu', threads=1, repeats=3)


def _random_arch(space: SearchSpace, rng: np.random.Generator) -> Architecture:
    return Architecture(space, {k: str(rng.choice(space.ops)) for k, _ in space.edges()})


def test_predicted_latency_is_the_sum_of_the_table_entries_of_its_operators(table):
    rng = np.random.default_rng(1)
    for _ in range(20):
        arch = _random_arch(SPACE, rng)
        want = table.skeleton_ms
        for cell, scale in SPACE.cells():
            c = arch.cell_choice(cell)
            if c['e2'] != 'zero':
                want += (
                    0.0 if c['e2'] == 'skip' else table.ops[f'{c["e2"]}@{scale}']
                ) + table.adds[str(scale)]
            if c['e1'] != 'zero':
                want += sum(
                    0.0 if c[e] == 'skip' else table.ops[f'{c[e]}@{scale}'] for e in ('e1', 'e3')
                )
                want += table.adds[str(scale)]
        assert math.isclose(predict_ms(arch, table), want, rel_tol=1e-9)
    # the bare skeleton costs only itself; every operator that computes has a positive entry
    assert predict_ms(uniform_architecture(SPACE, 'zero'), table) == table.skeleton_ms
    assert all(v >= 0 for v in table.ops.values()) and table.skeleton_ms > 0


def test_expected_latency_equals_the_discrete_prediction_for_one_hot_weights(table):
    rng = np.random.default_rng(2)
    for _ in range(10):
        arch = _random_arch(SPACE, rng)
        probs = torch.zeros(len(SPACE.edges()), len(SPACE.ops))
        for i, (k, _) in enumerate(SPACE.edges()):
            probs[i, SPACE.ops.index(arch.choice[k])] = 1.0
        assert float(expected_ms(probs, table)) == pytest.approx(predict_ms(arch, table), rel=1e-5)
    # and it is differentiable in the architecture parameters
    net = SuperNet(SPACE)
    expected_ms(net.probabilities(), table).backward()
    assert net.alphas.grad is not None and float(net.alphas.grad.abs().sum()) > 0


def test_table_round_trips_through_json(tmp_path, table):
    again = LatencyTable.load(table.save(tmp_path / 't.json'))
    assert again.to_dict() == json.loads((tmp_path / 't.json').read_text())
    assert again.space == SPACE and again.device['threads'] == 1


def test_derived_net_inherits_the_chosen_operators_and_aenetv2_blocks_are_members():
    torch.manual_seed(0)
    sup = SuperNet(SPACE)
    with torch.no_grad():
        sup.alphas.copy_(torch.randn_like(sup.alphas))
    arch = derive(sup)
    net = DerivedNet(arch)
    assert inherit_weights(net, sup) == len(net.state_dict())
    for middle in ('conv', 'dsconv', 'gcb'):
        member = aenetv2_like(SPACE, middle)
        assert set(member.choice.values()) <= set(OPS)
        assert DerivedNet(member)(torch.rand(1, 2, 16, 24)).shape == (1, 1, 16, 24)
    with pytest.raises(ValueError):
        Architecture(SPACE, {k: 'conv7' for k, _ in SPACE.edges()})


def test_tiny_search_exports_a_model_the_runtime_loads_and_fuses(tmp_path):
    from fusion_ros.images.demo_sequence import DemoSequence
    from fusion_ros.nas.config import load_search_config
    from fusion_ros.nas.run import run_search, SearchRequest
    from fusion_ros.runtime import load_pipeline

    cfg = load_search_config('tiny')
    lines: list[str] = []
    req = SearchRequest(budget_ms=50.0, out=tmp_path, size=(96, 128), compare_shipped=False)
    summary = run_search(cfg, req, lines.append)
    for name in (
        'searched.onnx',
        'searched.json',
        'latency_table.json',
        'search_log.json',
        'pareto.png',
    ):
        assert (tmp_path / name).is_file(), name
    card = json.loads((tmp_path / 'searched.json').read_text())
    assert card['search']['budget_ms'] == 50.0 and card['search']['seed'] == cfg.seed
    assert (
        card['search']['predicted_ms'] > 0 and card['search']['measured']['inference_min_ms'] > 0
    )
    assert set(card['search']['architecture']['choice'].values()) <= set(OPS)
    assert summary['validation']['average_rank']['searched'] >= 1.0
    verify = json.loads((tmp_path / 'latency_verify.json').read_text())
    assert (
        verify['measured_ms'] > 0
        and card['search']['verify']['predicted_ms'] == verify['predicted_ms']
    )

    pipeline = load_pipeline(tmp_path / 'searched.onnx', backend='cpu')
    assert pipeline.card.output_stretch == cfg.output_stretch == 'minmax'
    frame = DemoSequence().frame(0)
    result = pipeline.fuse(frame.visible, frame.thermal)
    assert result.image.shape[:2] == frame.visible.shape[:2]
    assert result.image.std() > 0  # not a blank frame


@pytest.mark.parametrize('head', ['weights', 'weights_nearest'])
def test_weighted_sum_heads_start_as_the_pixel_mean_and_can_leave_the_blend_range(head):
    """The bias starts A = B = 0.5 (pixel mean); unlike a blend, the output may exceed both."""
    from fusion_ros.models.hafnas import HEADS

    assert head in HEADS
    net = DerivedNet(uniform_architecture(SearchSpace(width=4, head=head), 'sep3')).eval()
    x = torch.rand(1, 2, 32, 40)
    with torch.no_grad():
        net.head.mask.weight.zero_()  # the bias alone: what the features add starts small
        torch.testing.assert_close(net(x), x.mean(dim=1, keepdim=True), atol=1e-5, rtol=0)
        net.head.mask.bias.fill_(2.0)  # A = B = 2 * sigmoid(2) = 1.76: a sum, not a blend
        assert (net(x) > x.max(dim=1, keepdim=True).values + 1e-3).float().mean() > 0.5
    with pytest.raises(ValueError, match='head'):
        SearchSpace(width=4, head='mask')


def test_width_and_head_choice_prefers_the_first_head_at_its_widest_fitting_width(tmp_path):
    """Skeletons are timed for real at a small size.

    A loose budget keeps the first head and the widest width; an impossible one falls back to the
    fastest skeleton and says so.
    """
    from fusion_ros.nas.config import load_search_config
    from fusion_ros.nas.run import choose_width, SearchRequest

    cfg = load_search_config('tiny', widths=(2, 4), heads=('weights', 'weights_nearest'))
    lines: list[str] = []
    choose_width(cfg, SearchRequest(budget_ms=1e4, out=tmp_path, size=(32, 40)), lines.append)
    assert (cfg.head, cfg.width) == ('weights', 4) and cfg.space().head == 'weights'
    choose_width(cfg, SearchRequest(budget_ms=1e-6, out=tmp_path, size=(32, 40)), lines.append)
    assert 'none fits, the fastest' in lines[-1] and cfg.width in (2, 4)


def test_search_holds_out_the_projects_validation_pairs():
    """The search trains and searches only on pairs `fusion-ros eval --set validation` skips.

    Same stem-hash split as the training recipes, whatever the seed.
    """
    from fusion_ros.nas.config import load_search_config
    from fusion_ros.nas.run import load_data
    from fusion_ros.training.data import load_pairs_from_source
    from fusion_ros.training.validation import split_by_stem

    cfg = load_search_config('tiny')
    everything = load_pairs_from_source(cfg.train_sources[0], limit=cfg.limit_pairs)
    _, want_val = split_by_stem(everything, [p.name for p in everything], cfg.val_fraction)
    for seed in (0, 1):
        cfg.seed = seed
        w_pairs, a_pairs, val = load_data(cfg, lambda line: None)
        searched = {p.name for p in w_pairs} | {p.name for p in a_pairs}
        assert {p.name for p in val} == {p.name for p in want_val} and want_val
        assert not searched & {p.name for p in val}
        assert len(searched) == len(everything) - len(want_val)
    with pytest.raises(ValueError, match='output_stretch'):
        load_search_config('tiny', output_stretch='gamma')


def test_search_refuses_test_sets_as_sources():
    from fusion_ros.nas.config import load_search_config

    with pytest.raises(ValueError, match='test set'):
        load_search_config('tiny', train_sources=[{'ir': 'tno/ir', 'vis': 'tno/vi'}])
    with pytest.raises(ValueError, match='unknown search settings'):
        load_search_config('tiny', widht=3)


def test_cli_refuses_bad_budget_and_size(tmp_path, capsys):
    import argparse

    from fusion_ros.cli.main import main
    from fusion_ros.cli.search_cmd import parse_size

    assert parse_size('640x512') == (512, 640)
    with pytest.raises(argparse.ArgumentTypeError, match='width x height'):
        parse_size('640')
    with pytest.raises(SystemExit, match='--budget-ms must be positive'):
        main(['search', '--budget-ms', '0', '--config', 'tiny', '--out', str(tmp_path)])
    assert not (tmp_path / 'searched.onnx').exists()


def test_the_shipped_searched_model_loads_by_name_and_matches_its_card():
    """`hafnas8` (issue 14's shipped search result): its card's architecture rebuilds the net."""
    from fusion_ros.images.demo_sequence import DemoSequence
    from fusion_ros.models import count_parameters
    from fusion_ros.runtime import load_pipeline
    from fusion_ros.runtime.loader import locate_model

    _, card_path = locate_model('hafnas8')
    card = json.loads(card_path.read_text())
    search = card['search']
    assert search['budget_ms'] == 8.0 and search['size'] == [640, 512]
    net = DerivedNet(Architecture.from_dict(search['architecture']))
    assert count_parameters(net) == card['parameters']
    assert net.space.head == 'weights' and card['output']['stretch'] == 'minmax'
    pipeline = load_pipeline('hafnas8', backend='cpu')
    frame = DemoSequence().frame(0)
    fused = pipeline.fuse(frame.visible, frame.thermal).image
    assert fused.shape[:2] == frame.visible.shape[:2] and fused.std() > 10
