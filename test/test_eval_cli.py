# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros eval` end to end on two TNO pairs: baselines + a saved-results folder.

+ a stub model.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
import shutil
import sys
import types

import cv2
from fusion_ros.cli import eval_cmd
from fusion_ros.metrics import METRICS, QUALITY_BAR_METRICS, VIFB_METRICS
from fusion_ros.metrics.conformance import default_datasets_dir
import numpy as np
import pytest

TNO = default_datasets_dir() / 'tno'
pytestmark = pytest.mark.skipif(
    not (TNO / 'ir').is_dir() or not (TNO / 'vi').is_dir(),
    reason=f'TNO pairs not found at {TNO} (set FUSION_ROS_DATASETS)',
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    eval_cmd.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture()
def two_pairs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two TNO pairs copied to tmp, and a results folder of a fake method 'ir-copy'.

    The IR image.
    """
    ir_dir, vi_dir, method_dir = tmp_path / 'ir', tmp_path / 'vi', tmp_path / 'ircopy'
    for d in (ir_dir, vi_dir, method_dir):
        d.mkdir()
    stems = sorted(p.name for p in (TNO / 'ir').iterdir() if (TNO / 'vi' / p.name).is_file())[:2]
    for name in stems:
        shutil.copy(TNO / 'ir' / name, ir_dir / name)
        shutil.copy(TNO / 'vi' / name, vi_dir / name)
        shutil.copy(TNO / 'ir' / name, method_dir / (Path(name).stem + '.png'))
    return ir_dir, vi_dir, method_dir


def read_board(path: Path) -> list[dict[str, str]]:
    with open(path, newline='') as fh:
        return list(csv.DictReader(fh))


def check_ranks(board: list[dict[str, str]], metrics: list[str]) -> None:
    """Ranks follow each metric's direction; average rank is their mean; rows sorted by it."""
    for k in metrics:
        means = {r['method']: float(r[k]) for r in board}
        ranks = {r['method']: float(r[f'{k}_rank']) for r in board}
        assert sorted(ranks.values()) == pytest.approx(sorted(ranks.values()))
        assert sum(ranks.values()) == pytest.approx(
            len(board) * (len(board) + 1) / 2
        )  # ties share
        sign = 1 if METRICS[k].higher_is_better else -1
        for a in means:
            for b in means:
                if sign * means[a] > sign * means[b]:
                    assert ranks[a] < ranks[b], (k, a, b)
    for r in board:
        assert float(r['average_rank']) == pytest.approx(
            np.mean([float(r[f'{k}_rank']) for k in metrics]), abs=1e-4
        )
    averages = [float(r['average_rank']) for r in board]
    assert averages == sorted(averages)


def test_eval_writes_leaderboard_mosaic_and_per_image(two_pairs, tmp_path: Path, capsys) -> None:
    ir_dir, vi_dir, method_dir = two_pairs
    out = tmp_path / 'out'
    args = parse(
        [
            '--ir',
            str(ir_dir),
            '--vis',
            str(vi_dir),
            '--method',
            f'ir-copy={method_dir}',
            '--baselines',
            '--out',
            str(out),
        ]
    )
    assert eval_cmd.run(args) == 0

    for name in ('leaderboard.csv', 'leaderboard.md', 'per_image.csv', 'mosaic.png'):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name

    board = read_board(out / 'leaderboard.csv')
    assert {r['method'] for r in board} == {'ir-copy', 'pixel-mean', 'pixel-max'}
    check_ranks(board, QUALITY_BAR_METRICS)

    per_image = read_board(out / 'per_image.csv')
    assert len(per_image) == 2 * 3
    assert (
        list(per_image[0])[:2] == ['scene', 'method']
        and list(per_image[0])[2:] == QUALITY_BAR_METRICS
    )
    # the leaderboard mean is the mean of the per-image rows
    for r in board:
        rows = [float(p['SD']) for p in per_image if p['method'] == r['method']]
        assert float(r['SD']) == pytest.approx(np.mean(rows))

    md = (out / 'leaderboard.md').read_text()
    assert '| # | method | avg rank |' in md and 'ir-copy' in md and 'pixel-max' in md
    assert 'Qabf ↑' in md and 'colour convention `luminance`' in md
    assert '| # | method | avg rank |' in capsys.readouterr().out  # the table is printed too

    mosaic = cv2.imread(str(out / 'mosaic.png'))
    assert mosaic is not None and mosaic.shape[0] >= 2 * 160  # two scene rows
    assert mosaic.shape[1] > 5 * 100  # IR | VIS | three methods


def test_eval_vifb_metrics_rank_lower_is_better(two_pairs, tmp_path: Path) -> None:
    ir_dir, vi_dir, method_dir = two_pairs
    out = tmp_path / 'vifb'
    args = parse(
        [
            '--ir',
            str(ir_dir),
            '--vis',
            str(vi_dir),
            '--method',
            f'ir-copy={method_dir}',
            '--baselines',
            '--metrics',
            'vifb',
            '--limit',
            '1',
            '--out',
            str(out),
        ]
    )
    assert eval_cmd.run(args) == 0
    board = read_board(out / 'leaderboard.csv')
    check_ranks(board, VIFB_METRICS)
    assert len(read_board(out / 'per_image.csv')) == 3  # --limit 1
    assert 'colour convention `channels`' in (out / 'leaderboard.md').read_text()


def test_eval_runs_models_through_load_pipeline(two_pairs, tmp_path: Path, monkeypatch) -> None:
    """--model NAME calls fusion_ros.runtime.load_pipeline(NAME).fuse(visible, thermal).image."""
    calls = []

    class Pipeline:
        warnings: list[str] = []

        def fuse(self, visible, thermal):
            calls.append((visible.shape, thermal.shape))
            t = thermal if thermal.ndim == 2 else thermal[..., 0]
            v = visible if visible.ndim == 2 else cv2.cvtColor(visible, cv2.COLOR_BGR2GRAY)
            return types.SimpleNamespace(image=np.maximum(v, t))

    fake = types.ModuleType('fusion_ros.runtime')
    fake.load_pipeline = lambda name, **kwargs: Pipeline()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, 'fusion_ros.runtime', fake)
    ir_dir, vi_dir, _ = two_pairs
    out = tmp_path / 'model'
    assert (
        eval_cmd.run(
            parse(
                [
                    '--ir',
                    str(ir_dir),
                    '--vis',
                    str(vi_dir),
                    '--model',
                    'stub',
                    '--baselines',
                    '--metrics',
                    'mmdrfuse',
                    '--out',
                    str(out),
                ]
            )
        )
        == 0
    )
    assert len(calls) == 2
    board = {r['method']: r for r in read_board(out / 'leaderboard.csv')}
    # the stub fuses by max, like the pixel-max baseline: same scores
    assert float(board['stub']['SD']) == pytest.approx(float(board['pixel-max']['SD']))


def test_model_without_runtime_is_a_clear_error(two_pairs, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, 'fusion_ros.runtime', None)  # import fails
    ir_dir, vi_dir, _ = two_pairs
    with pytest.raises(SystemExit, match='load_pipeline'):
        eval_cmd.run(
            parse(
                [
                    '--ir',
                    str(ir_dir),
                    '--vis',
                    str(vi_dir),
                    '--model',
                    'mmdrfuse',
                    '--out',
                    str(tmp_path / 'x'),
                ]
            )
        )
    # without --model the runtime is never needed
    assert (
        eval_cmd.run(
            parse(
                [
                    '--ir',
                    str(ir_dir),
                    '--vis',
                    str(vi_dir),
                    '--baselines',
                    '--limit',
                    '1',
                    '--metrics',
                    'mmdrfuse',
                    '--out',
                    str(tmp_path / 'y'),
                ]
            )
        )
        == 0
    )


def test_bad_method_spec_and_nothing_to_score(two_pairs, tmp_path: Path) -> None:
    ir_dir, vi_dir, _ = two_pairs
    with pytest.raises(SystemExit, match='NAME=DIR'):
        eval_cmd.run(parse(['--ir', str(ir_dir), '--vis', str(vi_dir), '--method', 'nodir']))
    with pytest.raises(SystemExit, match='nothing to score'):
        eval_cmd.run(
            parse(['--ir', str(ir_dir), '--vis', str(vi_dir), '--out', str(tmp_path / 'z')])
        )


def test_colour_baselines_keep_visible_chroma() -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(40, 160, (8, 8, 1))
    vis = np.clip(gray + rng.integers(-12, 13, (8, 8, 3)), 0, 255).astype(
        np.uint8
    )  # mildly coloured
    ir = rng.integers(0, 190, (8, 8), dtype=np.uint8)
    fused = eval_cmd.BASELINES['pixel-max'](vis, ir)
    assert fused.shape == vis.shape
    ycc_f = cv2.cvtColor(fused, cv2.COLOR_BGR2YCrCb).astype(int)
    ycc_v = cv2.cvtColor(vis, cv2.COLOR_BGR2YCrCb).astype(int)
    assert np.all(
        np.abs(ycc_f[..., 0] - np.maximum(ycc_v[..., 0], ir)) <= 2
    )  # luminance is the max
    assert np.all(np.abs(ycc_f[..., 1:] - ycc_v[..., 1:]) <= 2)  # chroma kept (+- rounding)
    gray = eval_cmd.BASELINES['pixel-mean'](vis[..., 0], ir)
    assert gray.ndim == 2 and np.all(
        np.abs(gray.astype(int) - (vis[..., 0].astype(int) + ir) / 2) <= 0.5
    )


def test_baseline_checks_rank_each_method_against_the_baselines_alone() -> None:
    """A method that wins every metric beats both baselines.

    One that loses every metric does not, whatever other methods are in the joint leaderboard.
    """
    from fusion_ros.metrics import evaluation as ev

    metrics = ['SD', 'EN']
    scores = {'good': 3.0, 'pixel-max': 2.0, 'pixel-mean': 1.0, 'bad': 0.0}
    rows = [
        {'scene': s, 'method': m, 'SD': v + i, 'EN': v}
        for i, s in enumerate('ab')
        for m, v in scores.items()
    ]
    checks = {c.method: c for c in ev.baseline_checks(rows, metrics, ['pixel-mean', 'pixel-max'])}
    assert set(checks) == {'good', 'bad'}
    assert checks['good'].beats_all and checks['good'].average_rank == 1.0
    assert checks['good'].baseline_ranks == {'pixel-mean': 3.0, 'pixel-max': 2.0}
    assert not checks['bad'].beats_all and checks['bad'].average_rank == 3.0
    md = ev.baseline_checks_markdown(list(checks.values()))
    assert '| good | 1.00 | 3.00 | 2.00 | yes |' in md and '**no**' in md
    assert ev.baseline_checks(rows, metrics, []) == []


def test_classic_methods_are_scored_like_the_baselines(two_pairs, tmp_path: Path) -> None:
    """--classic runs fusion_ros.training.classic on the luminance.

    'all' expands to every method but mean / max (those are the baselines); an unknown name is a
    clear error.
    """
    from fusion_ros.training.classic import CLASSIC_METHODS, fuse_laplacian_max_base

    ir_dir, vi_dir, _ = two_pairs
    out = tmp_path / 'classic'
    assert (
        eval_cmd.run(
            parse(
                [
                    '--ir',
                    str(ir_dir),
                    '--vis',
                    str(vi_dir),
                    '--classic',
                    'laplacian_max_base',
                    '--classic',
                    'all',
                    '--baselines',
                    '--limit',
                    '1',
                    '--out',
                    str(out),
                ]
            )
        )
        == 0
    )
    board = read_board(out / 'leaderboard.csv')
    expected = set(CLASSIC_METHODS) - {'mean', 'max'} | {'pixel-mean', 'pixel-max'}
    assert {r['method'] for r in board} == expected and len(board) == len(expected)
    check_ranks(board, QUALITY_BAR_METRICS)
    assert 'laplacian_max_base' in (out / 'leaderboard.md').read_text().split('baselines alone')[1]

    # the fused image is the classic function of the 8-bit sources, rounded to 8 bits
    rng = np.random.default_rng(3)
    vis = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    ir = rng.integers(0, 256, (24, 32), dtype=np.uint8)
    got = eval_cmd.classic_method('laplacian_max_base')(vis, ir)
    want = fuse_laplacian_max_base(ir / np.float32(255), vis / np.float32(255))
    assert got.dtype == np.uint8 and np.abs(got.astype(float) - want * 255).max() <= 0.5 + 1e-3
    colour = eval_cmd.classic_method('gff')(np.dstack([vis] * 3), ir)
    assert colour.shape == (24, 32, 3)

    with pytest.raises(SystemExit, match='unknown classic'):
        eval_cmd.run(parse(['--ir', str(ir_dir), '--vis', str(vi_dir), '--classic', 'wavelet']))
