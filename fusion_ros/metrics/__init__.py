# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Image-fusion quality metrics (numpy + OpenCV; no ROS, no torch).

    from fusion_ros.metrics import compute_metrics
    scores = compute_metrics(ir, vis, fused)                 # every registered metric
    scores = compute_metrics(ir, vis, fused, MMDRFUSE_METRICS, colour="luminance")

Inputs are 8-bit images (uint8, or float with values 0..255) of the same height and width:
`ir` HxW (or HxWx3 with equal channels), `vis` and `fused` HxW or HxWx3 in OpenCV's BGR order.

Two colour conventions, because the two reference evaluators differ:
- "channels" (VIFB, Zhang et al. CVPR-W 2020): colour metrics per channel, averaged; the one
  `docs/metric_conformance.md` checks against VIFB's published per-image values.
- "luminance" (MMDRFuse's evaluator, Deng et al. ACM MM 2024): every image reduced to
  round(0.299 R + 0.587 G + 0.114 B) first.
For grayscale inputs both give the same numbers.

Metric names are short canonical ones; `VIFB_NAMES` maps VIFB's long names (Avg_gradient -> AG).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

import cv2
from fusion_ros.metrics import gradient, information, statistics, structural, vifb
from fusion_ros.metrics.vifb import MetricFn, VIFB_NAMES
import numpy as np

Colour = Literal['channels', 'luminance']


@dataclass(frozen=True)
class Metric:
    """A registered metric: how to compute it, what it measures, which direction is better."""

    name: str
    func: MetricFn
    description: str
    higher_is_better: bool = True


def _m(
    name: str, func: MetricFn, description: str, higher_is_better: bool = True
) -> tuple[str, Metric]:
    return name, Metric(name, func, description, higher_is_better)


METRICS: dict[str, Metric] = dict(
    [
        _m('EN', information.en, 'entropy of F in bits (information content)'),
        _m('SD', statistics.sd, "standard deviation of F (contrast); VIFB 'Variance'"),
        _m('SF', gradient.sf, 'spatial frequency of F (overall activity)'),
        _m('AG', gradient.ag, 'average gradient of F (sharpness)'),
        _m('MI', information.mi, 'mutual information MI(VI,F) + MI(IR,F), nats'),
        _m(
            'SCD',
            statistics.scd,
            'sum of correlations of differences corr(F-VI,IR) + corr(F-IR,VI)',
        ),
        _m(
            'VIF',
            structural.vif,
            "visual information fidelity VIFp(IR,F) + VIFp(VI,F) (MMDRFuse's 'VIFF')",
        ),
        _m(
            'Qabf',
            gradient.qabf,
            'edge information transferred from the sources (Xydeas-Petrovic)',
        ),
        _m(
            'SSIM',
            structural.ssim,
            'SSIM(F,VI) + SSIM(F,IR), Wang et al. 2004, Gaussian 11x11 window',
        ),
        _m('CC', statistics.cc, 'mean correlation coefficient of F with IR and with VI'),
        _m(
            'CE',
            information.ce,
            'cross entropy (KL) of the histograms, mean over VI and IR',
            False,
        ),
        _m('EI', gradient.ei, 'edge intensity: mean Sobel magnitude of F'),
        _m('PSNR', statistics.psnr, "VIFB's PSNR in dB (on VIFB's error scale)"),
        _m(
            'RMSE',
            statistics.rmse,
            "VIFB's RMSE, mean over VI and IR (on VIFB's error scale)",
            False,
        ),
        _m('Qcb', structural.qcb, 'Chen-Blum perceptual contrast preservation'),
        _m('Qcv', structural.qcv, 'Chen-Varshney saliency-weighted perceptual error', False),
        _m(
            'SSIM_sk',
            structural.ssim_skimage,
            "SSIM(F,IR) + SSIM(F,VI) as MMDRFuse's evaluator (scikit-image 0.19 defaults, "
            'data_range 2)',
        ),
    ]
)

VIFB_METRICS: list[str] = [VIFB_NAMES[k] for k in sorted(VIFB_NAMES)]
MMDRFUSE_METRICS: list[str] = ['SD', 'SCD', 'VIF', 'Qabf', 'SSIM', 'CC']
QUALITY_BAR_METRICS: list[str] = ['EN', 'SD', 'SF', 'AG', 'MI', 'SCD', 'VIF', 'Qabf', 'SSIM', 'CC']
METRIC_SETS: dict[str, list[str]] = {
    'quality': QUALITY_BAR_METRICS,
    'vifb': VIFB_METRICS,
    'mmdrfuse': MMDRFUSE_METRICS,
    'all': list(METRICS),
}


def canonical_name(name: str) -> str:
    """Short canonical name for a canonical or VIFB name (case-insensitive)."""
    if name in METRICS:
        return name
    if name in VIFB_NAMES:
        return VIFB_NAMES[name]
    lowered = {k.lower(): k for k in METRICS} | {k.lower(): v for k, v in VIFB_NAMES.items()}
    try:
        return lowered[name.lower()]
    except KeyError:
        raise KeyError(f'unknown metric {name!r}; known: {", ".join(METRICS)}') from None


def resolve_metrics(names: str | Iterable[str] | None) -> list[str]:
    """Return a set name ('quality', 'vifb', 'mmdrfuse', 'all'), a list of names, or None.

    = all.
    """
    if names is None:
        return list(METRICS)
    if isinstance(names, str):
        if names in METRIC_SETS:
            return list(METRIC_SETS[names])
        names = [names]
    return [canonical_name(n) for n in names]


def luminance(image: np.ndarray) -> np.ndarray:
    """Return MMDRFuse evaluator's grey image.

    round(BT.601 luma) of a BGR image, float64; HxW passes through.
    """
    if image.ndim == 2:
        return np.asarray(image, np.float64)
    gray = cv2.cvtColor(np.asarray(image, np.float32), cv2.COLOR_BGR2GRAY)
    return np.round(gray).astype(np.float64)


def _check(
    ir: np.ndarray, vis: np.ndarray, fused: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return same height/width, 1 or 3 channels, 8-bit value range."""
    out = []
    for label, image in (('ir', ir), ('vis', vis), ('fused', fused)):
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise ValueError(f'{label}: expected HxW or HxWx3, got shape {image.shape}')
        if image.size == 0:
            raise ValueError(f'{label}: empty image')
        if image.dtype != np.uint8 and (
            image.dtype.kind not in 'fiu' or float(image.max()) > 255.0 or float(image.min()) < 0.0
        ):
            raise ValueError(
                f'{label}: expected 8-bit values (uint8 or 0..255), got {image.dtype} '
                f'in {float(image.min())}..{float(image.max())}'
            )
        out.append(image)
    if not (out[0].shape[:2] == out[1].shape[:2] == out[2].shape[:2]):
        raise ValueError(
            f'size mismatch: ir {out[0].shape}, vis {out[1].shape}, fused {out[2].shape}'
        )
    return out[0], out[1], out[2]


def compute_metrics(
    ir: np.ndarray,
    vis: np.ndarray,
    fused: np.ndarray,
    names: str | Sequence[str] | None = None,
    *,
    colour: Colour = 'channels',
) -> dict[str, float]:
    """Score one fused image against its infrared and visible sources.

    names: metric names (canonical or VIFB), a set name ('quality', 'vifb', 'mmdrfuse', 'all'),
    or None for all. colour: "channels" (VIFB) or "luminance" (MMDRFuse evaluator); see module doc.
    Returns {canonical name: value} in the requested order.
    """
    ir, vis, fused = _check(ir, vis, fused)
    wanted = resolve_metrics(names)
    if colour == 'luminance':
        gray = [luminance(x) for x in (ir, vis, fused)]
        return {n: float(METRICS[n].func(*gray)) for n in wanted}
    if colour != 'channels':
        raise ValueError(f"colour must be 'channels' or 'luminance', not {colour!r}")
    return {n: vifb.evaluate(n, METRICS[n].func, ir, vis, fused) for n in wanted}


__all__ = [
    'METRICS',
    'METRIC_SETS',
    'MMDRFUSE_METRICS',
    'Metric',
    'QUALITY_BAR_METRICS',
    'VIFB_METRICS',
    'VIFB_NAMES',
    'canonical_name',
    'compute_metrics',
    'luminance',
    'resolve_metrics',
]
