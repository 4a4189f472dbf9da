# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Agreement of our metrics with VIFB's own per-image values, and the tolerance table for it.

Reference: `<datasets>/vifb_conformance/metrics_reference.csv` (scene, method, metric, value),
VIFB's MATLAB output for 5 scenes x 26 methods x 13 metrics (Zhang et al., CVPR-W 2020), printed
with 5 significant digits, so a correct reimplementation can only be checked to ~5e-5 relative.

Regenerate docs/metric_conformance.md (takes a few minutes on 2 cores):

    .venv/bin/python -m fusion_ros.metrics.conformance --write docs/metric_conformance.md
"""

from __future__ import annotations

import argparse
from collections import defaultdict
import csv
from dataclasses import dataclass
import os
from pathlib import Path
from typing import Iterable, Sequence

import cv2
from fusion_ros.metrics import compute_metrics, VIFB_METRICS, VIFB_NAMES
from fusion_ros.paths import SOURCE_ROOT
import numpy as np

ROUNDING_REASON = "2x the rounding of VIFB's 5-digit values"


@dataclass(frozen=True)
class Tolerance:
    """|ours - reference| <= max(rel * |reference|, absolute); `reason` says why that much."""

    rel: float
    absolute: float
    reason: str

    def allows(self, ours: float, reference: float) -> bool:
        return abs(ours - reference) <= max(self.rel * abs(reference), self.absolute)


# One place for every tolerance. Files whose pixels are what VIFB scored: twice the rounding of
# the printed reference values. Nothing looser was needed for any of the 120 such images.
TOLERANCES: dict[str, Tolerance] = {
    'AG': Tolerance(
        1e-4, 1e-6, f'{ROUNDING_REASON}; MATLAB `gradient` one-sided at borders, sum / (r-1)(c-1)'
    ),
    'CE': Tolerance(
        1e-4, 1e-6, f'{ROUNDING_REASON}; KL over levels where both histograms are non-zero'
    ),
    'EI': Tolerance(1e-4, 1e-6, f'{ROUNDING_REASON}; Sobel with replicated borders'),
    'EN': Tolerance(1e-4, 1e-6, f'{ROUNDING_REASON}; 256-bin histogram, log2'),
    'MI': Tolerance(
        1e-4, 1e-6, f'{ROUNDING_REASON}; min-max stretch + int16 rounding (half away), natural log'
    ),
    'PSNR': Tolerance(
        1e-4, 1e-6, f"{ROUNDING_REASON}; VIFB's error sqrt(sum d^2)/(mn), not a mean square"
    ),
    'Qabf': Tolerance(
        1e-4,
        1e-6,
        f'{ROUNDING_REASON}; zero-padded Sobel, x255 scale and equal-strength quirk kept',
    ),
    'Qcb': Tolerance(
        1e-4, 1e-6, f'{ROUNDING_REASON}; MATLAB round in normalize1, zero-padded 31x31 Gaussians'
    ),
    'Qcv': Tolerance(1e-4, 1e-6, f'{ROUNDING_REASON}; blkproc zero-pads partial 16x16 blocks'),
    'RMSE': Tolerance(
        1e-4, 1e-6, f"{ROUNDING_REASON}; VIFB's error sqrt(sum d^2)/(mn), mean over VI and IR"
    ),
    'SF': Tolerance(
        1e-4,
        1e-6,
        f'{ROUNDING_REASON}; on colour, channels side by side [R|G|B] as MATLAB indexes them',
    ),
    'SSIM': Tolerance(
        1e-4, 1e-6, f"{ROUNDING_REASON}; 11x11 Gaussian window, 'valid' map, sum over VI and IR"
    ),
    'SD': Tolerance(1e-4, 1e-6, f'{ROUNDING_REASON}; population standard deviation'),
}

# Methods whose fused files in the data set are not the pixels VIFB scored. Evidence: EN depends on
# the fused image alone, yet for these two methods only (all 26 share one JPEG encoding: quality
# 75, 4:2:0) it misses VIFB's value by up to 6e-4 while the other 24 agree to the printed digit,
# and no JPEG decoder variant (fast IDCT, plain upsampling) recovers VIFB's value. The differences
# have the size one extra lossy JPEG generation causes (see docs/metric_conformance.md).
MISMATCHED_METHODS: dict[str, str] = {
    'SwinFusion': 'fused files differ from the pixels VIFB scored (about one JPEG generation)',
    'YDTR': 'fused files differ from the pixels VIFB scored (about one JPEG generation)',
}

# Tolerances for MISMATCHED_METHODS: about twice the largest difference measured on them; they
# bound a re-encoding, not our implementation (which the 24 other methods check to 1e-4).
MISMATCHED_TOLERANCES: dict[str, Tolerance] = {
    'AG': Tolerance(2e-3, 1e-6, 're-encoded file: measured 9.0e-4'),
    'CE': Tolerance(
        1e-1, 1e-6, 're-encoded file: measured 5.2e-2; KL of histograms is the most sensitive'
    ),
    'EI': Tolerance(2e-3, 1e-6, 're-encoded file: measured 8.1e-4'),
    'EN': Tolerance(1.5e-3, 1e-6, 're-encoded file: measured 5.7e-4'),
    'MI': Tolerance(5e-3, 1e-6, 're-encoded file: measured 2.7e-3'),
    'PSNR': Tolerance(1e-4, 1e-6, 're-encoded file: measured 3.8e-5 (log scale hides it)'),
    'Qabf': Tolerance(2.5e-3, 1e-6, 're-encoded file: measured 1.1e-3'),
    'Qcb': Tolerance(3e-2, 1e-6, 're-encoded file: measured 1.5e-2'),
    'Qcv': Tolerance(3e-2, 1e-6, 're-encoded file: measured 1.4e-2'),
    'RMSE': Tolerance(1e-3, 1e-6, 're-encoded file: measured 4.4e-4'),
    'SF': Tolerance(3e-3, 1e-6, 're-encoded file: measured 1.5e-3'),
    'SSIM': Tolerance(1e-3, 1e-6, 're-encoded file: measured 3.6e-4'),
    'SD': Tolerance(5e-4, 1e-6, 're-encoded file: measured 2.4e-4'),
}


def default_datasets_dir() -> Path:
    """$FUSION_ROS_DATASETS, else `<repo>/../shared/datasets`.

    The shared folder beside the checkout.
    """
    env = os.environ.get('FUSION_ROS_DATASETS')
    if env:
        return Path(env)
    return SOURCE_ROOT.parent / 'shared' / 'datasets'


def conformance_dir(datasets: Path | None = None) -> Path:
    return (datasets or default_datasets_dir()) / 'vifb_conformance'


@dataclass(frozen=True)
class Case:
    scene: str
    method: str
    reference: dict[str, float]  # canonical metric name -> VIFB value


def load_cases(root: Path) -> list[Case]:
    """Return reference values grouped by (scene, method), sorted."""
    table: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    with open(root / 'metrics_reference.csv', newline='') as fh:
        for row in csv.DictReader(fh):
            table[(row['scene'], row['method'])][VIFB_NAMES[row['metric']]] = float(row['value'])
    return [Case(s, m, ref) for (s, m), ref in sorted(table.items())]


def read_like_vifb(path: Path) -> np.ndarray | None:
    """Return an image as VIFB's `imread` gives it: all stored channels.

    A 3-channel JPEG stays 3-channel.

    OpenCV and MATLAB both decode baseline JPEG with libjpeg's accurate integer IDCT and fancy
    upsampling; on the 120 matched files the results agree to VIFB's printed precision.
    """
    if not path.is_file():
        return None
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def tolerance_for(method: str, metric: str) -> Tolerance:
    return (MISMATCHED_TOLERANCES if method in MISMATCHED_METHODS else TOLERANCES)[metric]


@dataclass(frozen=True)
class Result:
    scene: str
    method: str
    metric: str
    ours: float
    reference: float
    tolerance: Tolerance

    @property
    def rel_error(self) -> float:
        return abs(self.ours - self.reference) / max(abs(self.reference), 1e-12)

    @property
    def ok(self) -> bool:
        return self.tolerance.allows(self.ours, self.reference)


def evaluate_cases(
    root: Path, cases: Iterable[Case], metrics: Sequence[str] | None = None
) -> tuple[list[Result], list[Case]]:
    """Compute our value for every reference row; returns (results, cases without a fused file)."""
    results: list[Result] = []
    missing: list[Case] = []
    sources: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for case in cases:
        fused = read_like_vifb(root / 'fused' / f'{case.scene}_{case.method}.jpg')
        if fused is None:
            missing.append(case)
            continue
        if case.scene not in sources:
            sources[case.scene] = (
                read_like_vifb(root / 'input' / 'IR' / f'{case.scene}.jpg'),
                read_like_vifb(root / 'input' / 'VI' / f'{case.scene}.jpg'),
            )
        ir, vis = sources[case.scene]
        names = [n for n in (metrics or VIFB_METRICS) if n in case.reference]
        ours = compute_metrics(ir, vis, fused, names, colour='channels')
        results.extend(
            Result(
                case.scene,
                case.method,
                n,
                ours[n],
                case.reference[n],
                tolerance_for(case.method, n),
            )
            for n in names
        )
    return results, missing


def subset(cases: Sequence[Case], every: int = 5) -> list[Case]:
    """Return a fixed ~1/every sample that still covers every method once.

    Scene i takes methods j = i mod every.
    """
    scenes = sorted({c.scene for c in cases})
    methods = sorted({c.method for c in cases})
    keep = {
        (s, m)
        for i, s in enumerate(scenes)
        for j, m in enumerate(methods)
        if j % every == i % every
    }
    return [c for c in cases if (c.scene, c.method) in keep]


# ------------------------------------------------------------------------------------ the report


def _sensitivity(root: Path, cases: Sequence[Case]) -> tuple[dict[str, float], dict[str, float]]:
    """Max relative change of each metric under two perturbations.

    (a) +-1 decoder-style noise, (b) one JPEG generation.
    """
    rng = np.random.default_rng(0)
    noise: dict[str, float] = defaultdict(float)
    reenc: dict[str, float] = defaultdict(float)
    for case in cases:
        fused = read_like_vifb(root / 'fused' / f'{case.scene}_{case.method}.jpg')
        if fused is None or case.method in MISMATCHED_METHODS:
            continue
        ir = read_like_vifb(root / 'input' / 'IR' / f'{case.scene}.jpg')
        vis = read_like_vifb(root / 'input' / 'VI' / f'{case.scene}.jpg')
        base = compute_metrics(ir, vis, fused, VIFB_METRICS)
        jitter = np.clip(fused.astype(np.int16) + rng.integers(-1, 2, fused.shape), 0, 255).astype(
            np.uint8
        )
        variants = {'noise': [jitter], 'reenc': []}
        for quality in (75, 95):
            ok, buf = cv2.imencode('.jpg', fused, [cv2.IMWRITE_JPEG_QUALITY, quality])
            variants['reenc'].append(cv2.imdecode(buf, cv2.IMREAD_UNCHANGED))
        for kind, images in variants.items():
            target = noise if kind == 'noise' else reenc
            for image in images:
                values = compute_metrics(ir, vis, image, VIFB_METRICS)
                for n in VIFB_METRICS:
                    target[n] = max(target[n], abs(values[n] - base[n]) / max(abs(base[n]), 1e-12))
    return dict(noise), dict(reenc)


def render_markdown(
    results: Sequence[Result],
    missing: Sequence[Case],
    noise: dict[str, float],
    reenc: dict[str, float],
) -> str:
    vifb_long = {v: k for k, v in VIFB_NAMES.items()}
    lines = [
        '# Metric conformance with VIFB',
        '',
        'Generated by `.venv/bin/python -m fusion_ros.metrics.conformance --write '
        'docs/metric_conformance.md`;',
        'checked by `test/test_metrics_conformance.py` (a fixed subset by default; all rows with',
        '`FUSION_ROS_FULL_CONFORMANCE=1`).',
        '',
        "Reference: VIFB's per-image values (Zhang et al., CVPR-W 2020) in",
        '`shared/datasets/vifb_conformance/metrics_reference.csv`, 5 scenes x 26 methods x 13 '
        'metrics,',
        'printed with 5 significant digits. Ours: `compute_metrics(ir, vis, fused, '
        'colour="channels")`,',
        'images decoded by OpenCV. A row passes if |ours - VIFB| <= max(rel x |VIFB|, abs).',
        '',
        '| metric | VIFB name | rows | max rel. error (24 matched methods) | tolerance '
        '| max rel. error (SwinFusion, YDTR) | tolerance there | +-1 noise | one JPEG generation '
        '| why |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    by_metric: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_metric[r.metric].append(r)
    for n in VIFB_METRICS:
        rows = by_metric.get(n, [])
        good = [r.rel_error for r in rows if r.method not in MISMATCHED_METHODS]
        bad = [r.rel_error for r in rows if r.method in MISMATCHED_METHODS]
        lines.append(
            f'| {n} | {vifb_long[n]} | {len(rows)} | {max(good, default=float("nan")):.1e} | '
            f'{TOLERANCES[n].rel:.0e} '
            f'| {max(bad, default=float("nan")):.1e} | {MISMATCHED_TOLERANCES[n].rel:.1e} '
            f'| {noise.get(n, float("nan")):.1e} | {reenc.get(n, float("nan")):.1e} | '
            f'{TOLERANCES[n].reason} |'
        )
    failed = [r for r in results if not r.ok]
    lines += [
        '',
        f'Rows checked: {len(results)}; outside tolerance: {len(failed)}.',
        f'Rows not checkable: {len(missing) * len(VIFB_METRICS)} ({len(missing)} images: '
        f'{", ".join(sorted({c.method for c in missing})) or "none"} has reference values but no '
        'fused file '
        'in the data set).',
        '',
        'Notes',
        '',
        '- All 120 images of the 24 matched methods agree with VIFB to the printed precision for '
        'every',
        "  metric, so OpenCV's JPEG decoding gives the pixels MATLAB's `imread` gave (both "
        'libjpeg: accurate',
        "  integer IDCT, fancy chroma upsampling). The '+-1 noise' column shows what a decoder "
        'differing by',
        '  +-1 per pixel (uniform in {-1, 0, 1} on every pixel of the fused image) would do: '
        'above the 1e-4',
        '  tolerance for every metric except PSNR, whose log scale hides it (RMSE, its linear '
        'twin, does not).',
        '  So a decoder difference would not pass unnoticed, and none is needed to explain our '
        'numbers.',
        '- SwinFusion and YDTR: their fused files are not the pixels VIFB scored. EN depends on '
        'the fused',
        '  image alone and misses by up to 6e-4 for these two methods only, although every '
        "method's file",
        '  has the same JPEG settings (quality 75, 4:2:0), and for the files tried neither '
        "libjpeg-turbo's",
        "  fast IDCT nor plain chroma upsampling reproduces VIFB's value.",
        "  Their differences are of the order of JPEG re-encoding effects ('one JPEG generation': "
        'the largest',
        '  change when a matched file is re-encoded at quality 75 or 95); only Qcb differs more '
        '(4x), which',
        '  fits VIFB having scored other versions of these files, e.g. before their last '
        'compression (a first',
        '  compression changes an image more than a re-compression). They are checked against '
        'looser',
        '  tolerances, about twice their measured differences, which bound a re-encoding; the '
        'formulas',
        '  themselves are held to 1e-4 by the other 24 methods.',
        "- VIFB quirks reproduced on purpose: PSNR/RMSE use sqrt(sum d^2)/(mn) as their 'mse'; "
        'Qabf keeps',
        '  g_F as the strength ratio where g_source == g_F; SF of a colour image is taken on the '
        'channels',
        "  side by side; Qcb/Qcv round with MATLAB's half-away-from-zero rule and `blkproc` zero "
        'padding.',
        "- Metrics outside VIFB (SCD, VIF, CC, SSIM_sk) follow MMDRFuse's evaluator and have no "
        'published',
        '  per-image values here; `test/test_metrics_properties.py` checks their defining '
        'properties.',
    ]
    return '\n'.join(lines) + '\n'


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--datasets',
        type=Path,
        default=None,
        help='shared datasets folder (default: $FUSION_ROS_DATASETS or ../shared/datasets)',
    )
    parser.add_argument('--write', type=Path, default=None, help='write the Markdown report here')
    parser.add_argument(
        '--quick', action='store_true', help='only the fixed subset, no sensitivity columns'
    )
    args = parser.parse_args(argv)
    root = conformance_dir(args.datasets)
    cases = load_cases(root)
    picked = subset(cases) if args.quick else cases
    results, missing = evaluate_cases(root, picked)
    noise, reenc = ({}, {}) if args.quick else _sensitivity(root, subset(cases))
    text = render_markdown(results, missing, noise, reenc)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text)
        print(f'wrote {args.write}')
    else:
        print(text)
    return 0 if all(r.ok for r in results) else 1


if __name__ == '__main__':
    raise SystemExit(main())
