# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Leaderboards: several methods' fused results scored on the same source pairs.

Per method and metric the mean over images (NaN-aware, as VIFB's `nanmean`), the rank among
methods (1 = best, respecting each metric's direction; ties share the average rank), and the
average rank over metrics, the aggregate MobileFuse (Perreault et al.) reports. Written as CSV and
Markdown; plus a labelled mosaic grid (rows = scenes, columns = IR | VIS | each method).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Mapping, Sequence

import cv2
from fusion_ros.metrics import METRICS
import numpy as np


@dataclass
class Leaderboard:
    """Aggregated scores; `methods` is sorted best (lowest average rank) first."""

    metrics: list[str]
    methods: list[str]
    means: dict[str, dict[str, float]]  # method -> metric -> mean over images
    ranks: dict[str, dict[str, float]]  # method -> metric -> rank (1 = best)
    average_rank: dict[str, float]  # method -> mean of its ranks
    images: int = 0
    notes: list[str] = field(default_factory=list)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float('nan')


def rank_values(values: Mapping[str, float], higher_is_better: bool) -> dict[str, float]:
    """Rank 1 = best; tied values share the mean of their positions; NaN ranks last."""

    def key(name: str) -> float:
        v = values[name]
        if math.isnan(v):
            return math.inf
        return -v if higher_is_better else v

    order = sorted(values, key=key)
    ranks: dict[str, float] = {}
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and key(order[j + 1]) == key(order[i]):
            j += 1
        for name in order[i: j + 1]:
            ranks[name] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def build_leaderboard(rows: Sequence[Mapping[str, object]], metrics: Sequence[str]) -> Leaderboard:
    """rows: one per (scene, method) with keys 'scene', 'method' and one value per metric."""
    methods = list(dict.fromkeys(str(r['method']) for r in rows))
    means = {
        m: {k: _nanmean([float(r[k]) for r in rows if r['method'] == m]) for k in metrics}
        for m in methods
    }
    ranks: dict[str, dict[str, float]] = {m: {} for m in methods}
    for k in metrics:
        for m, rank in rank_values(
            {m: means[m][k] for m in methods}, METRICS[k].higher_is_better
        ).items():
            ranks[m][k] = rank
    average = {
        m: float(np.mean([ranks[m][k] for k in metrics])) if metrics else float('nan')
        for m in methods
    }
    ordered = sorted(methods, key=lambda m: (average[m], methods.index(m)))
    scenes = {str(r['scene']) for r in rows}
    return Leaderboard(list(metrics), ordered, means, ranks, average, images=len(scenes))


# ------------------------------------------------------------------------------------------ files


def _fmt(value: float) -> str:
    if math.isnan(value):
        return 'nan'
    if math.isinf(value):
        return 'inf' if value > 0 else '-inf'
    return f'{value:.4g}' if abs(value) < 1000 else f'{value:.1f}'


def write_csv(board: Leaderboard, path: Path) -> Path:
    """One row per method: average rank, then each metric's mean and rank."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', newline='') as fh:
        w = csv.writer(fh)
        w.writerow(
            ['method', 'average_rank'] + [c for k in board.metrics for c in (k, f'{k}_rank')]
        )
        for m in board.methods:
            w.writerow(
                [m, f'{board.average_rank[m]:.4f}']
                + [
                    c
                    for k in board.metrics
                    for c in (repr(board.means[m][k]), f'{board.ranks[m][k]:g}')
                ]
            )
    return path


def write_per_image_csv(
    rows: Sequence[Mapping[str, object]], metrics: Sequence[str], path: Path
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', newline='') as fh:
        w = csv.writer(fh)
        w.writerow(['scene', 'method'] + list(metrics))
        for r in rows:
            w.writerow([r['scene'], r['method']] + [repr(float(r[k])) for k in metrics])
    return path


def to_markdown(board: Leaderboard) -> str:
    """Table: methods best first; each cell 'mean (rank)', the best per metric in bold."""
    arrows = {k: '↑' if METRICS[k].higher_is_better else '↓' for k in board.metrics}
    head = (
        '| # | method | avg rank | ' + ' | '.join(f'{k} {arrows[k]}' for k in board.metrics) + ' |'
    )
    sep = '|---|---|---|' + '---|' * len(board.metrics)
    lines = [head, sep]
    for i, m in enumerate(board.methods, 1):
        cells = []
        for k in board.metrics:
            text = f'{_fmt(board.means[m][k])} ({board.ranks[m][k]:g})'
            cells.append(
                f'**{text}**'
                if board.ranks[m][k] == min(board.ranks[x][k] for x in board.methods)
                else text
            )
        lines.append(f'| {i} | {m} | {board.average_rank[m]:.2f} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


@dataclass
class BaselineCheck:
    """One method ranked against the baselines alone (the quality bar: beat every baseline)."""

    method: str
    average_rank: float  # the method's average rank in {method} + baselines
    baseline_ranks: dict[str, float]  # each baseline's average rank in the same comparison

    @property
    def beats_all(self) -> bool:
        return all(self.average_rank < r for r in self.baseline_ranks.values())


def baseline_checks(
    rows: Sequence[Mapping[str, object]], metrics: Sequence[str], baselines: Sequence[str]
) -> list[BaselineCheck]:
    """Rank every non-baseline method against the baselines only, one method at a time.

    Why separately: in a joint leaderboard the learned methods take ranks from each other, so
    whether one of them beats pixel max would depend on which other models are listed.
    """
    base = [b for b in baselines if any(r['method'] == b for r in rows)]
    checks = []
    for m in dict.fromkeys(str(r['method']) for r in rows):
        if m in base or not base:
            continue
        board = build_leaderboard([r for r in rows if r['method'] in (m, *base)], metrics)
        checks.append(
            BaselineCheck(m, board.average_rank[m], {b: board.average_rank[b] for b in base})
        )
    return checks


def baseline_checks_markdown(checks: Sequence[BaselineCheck]) -> str:
    if not checks:
        return ''
    names = list(checks[0].baseline_ranks)
    lines = [
        '| method | avg rank vs baselines | ' + ' | '.join(names) + ' | beats all |',
        '|---|---|' + '---|' * len(names) + '---|',
    ]
    for c in checks:
        lines.append(
            f'| {c.method} | {c.average_rank:.2f} | '
            + ' | '.join(f'{c.baseline_ranks[n]:.2f}' for n in names)
            + f' | {"yes" if c.beats_all else "**no**"} |'
        )
    return '\n'.join(lines)


def write_markdown(
    board: Leaderboard,
    path: Path,
    title: str = 'Fusion leaderboard',
    checks: Sequence[BaselineCheck] = (),
) -> Path:
    legend = [
        f'- **{k}** ({"higher" if METRICS[k].higher_is_better else "lower"} is better): '
        f'{METRICS[k].description}'
        for k in board.metrics
    ]
    text = '\n'.join(
        [
            f'# {title}',
            '',
            f'{board.images} image pairs, {len(board.methods)} methods. '
            'Cells: mean over images (rank among methods, 1 = best); methods sorted by average '
            'rank.',
            '',
            to_markdown(board),
            '',
            *board.notes,
            '',
        ]
        + (
            [
                'Each method ranked against the baselines alone (average rank over the same '
                'metrics):',
                '',
                baseline_checks_markdown(checks),
                '',
            ]
            if checks
            else []
        )
        + ['Metrics:', '', *legend, '']
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------------------- mosaic


def _tile(image: np.ndarray, height: int, text: str) -> np.ndarray:
    """8-bit BGR copy scaled to `height`, with a caption bar."""
    img = image
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    width = max(1, int(round(img.shape[1] * height / img.shape[0])))
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    scale = 0.45
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(img, (0, 0), (min(width, tw + 8), th + base + 6), (0, 0, 0), -1)
    cv2.putText(
        img, text, (4, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
    )
    return img


def mosaic_grid(
    rows: Sequence[tuple[str, Sequence[np.ndarray], Sequence[str]]],
    tile_height: int = 160,
    gap: int = 4,
) -> np.ndarray:
    """rows: (scene, images, column labels).

    Every tile scaled to one height, rows padded to one width.
    """
    built = []
    for scene, images, labels in rows:
        tiles = []
        for img, label in zip(images, labels):
            tiles.append(_tile(img, tile_height, label if label else scene))
            tiles.append(np.zeros((tile_height, gap, 3), np.uint8))
        row = np.hstack(tiles[:-1])
        caption = np.zeros((18, row.shape[1], 3), np.uint8)
        cv2.putText(
            caption,
            scene,
            (4, 13),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (200, 200, 200),
            1,
            cv2.LINE_AA,
        )
        built.append(np.vstack([caption, row]))
    width = max(r.shape[1] for r in built)
    padded = [
        cv2.copyMakeBorder(r, 0, gap, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=(0, 0, 0))
        for r in built
    ]
    return np.vstack(padded)
