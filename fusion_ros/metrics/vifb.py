# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""VIFB's colour convention and metric names.

Zhang et al., "VIFB: a visible and infrared image fusion benchmark", CVPR-W 2020,
https://github.com/xingchenzhang/VIFB.

VIFB evaluates a colour fused image channel by channel: metric(visible channel k, infrared
channel k (or the single infrared channel), fused channel k), then averages over the 3 channels.
One exception follows from how its MATLAB code indexes arrays: `metricsSpatial_frequency` does
`[m, n] = size(fused)` on an m x n x 3 image, which makes n = 3 * width, so it computes SF once on
the channels laid side by side [R | G | B] (two seams included). We reproduce both.

Images given to this module are OpenCV's BGR order; MATLAB's `imread` gives RGB, which matters
only for the order of the SF seams.
"""

from __future__ import annotations

from typing import Callable

from fusion_ros.metrics.gradient import sf
from fusion_ros.metrics.matlab import as_float, mround, RGB2GRAY_WEIGHTS
import numpy as np

MetricFn = Callable[[np.ndarray, np.ndarray, np.ndarray], float]

# VIFB's metric names (its `metrics*.m` files and result tables) -> our canonical short names.
VIFB_NAMES: dict[str, str] = {
    'Avg_gradient': 'AG',
    'Cross_entropy': 'CE',
    'Edge_intensity': 'EI',
    'Entropy': 'EN',
    'Mutinf': 'MI',
    'Psnr': 'PSNR',
    'Qabf': 'Qabf',
    'Qcb': 'Qcb',
    'Qcv': 'Qcv',
    'Rmse': 'RMSE',
    'Spatial_frequency': 'SF',
    'Ssim': 'SSIM',
    'Variance': 'SD',
}


def matlab_rgb2gray(bgr: np.ndarray) -> np.ndarray:
    """MATLAB `rgb2gray` of an 8-bit image (BT.601 weights, rounded back to integers)."""
    b, g, r = (as_float(bgr[..., i]) for i in range(3))
    wr, wg, wb = RGB2GRAY_WEIGHTS
    return np.clip(mround(wr * r + wg * g + wb * b), 0, 255)


def _channel(image: np.ndarray, k: int) -> np.ndarray:
    return as_float(image[..., k] if image.ndim == 3 else image)


def side_by_side_rgb(bgr: np.ndarray) -> np.ndarray:
    """[R | G | B] laid horizontally, the array MATLAB sees when a 3-D image is indexed as 2-D."""
    return np.hstack([as_float(bgr[..., k]) for k in (2, 1, 0)])


def evaluate(
    name: str, func: MetricFn, ir: np.ndarray, vis: np.ndarray, fused: np.ndarray
) -> float:
    """One metric in VIFB's convention; 3-channel visible + fused -> mean over channels.

    If either the visible or the fused image is single-channel, every colour input is reduced by
    MATLAB's rgb2gray first (VIFB's single-channel branch does the same inside each metric).
    """
    colour = vis.ndim == 3 and fused.ndim == 3
    if not colour:
        gray = [matlab_rgb2gray(x) if x.ndim == 3 else as_float(x) for x in (ir, vis, fused)]
        return float(func(*gray))
    if name == 'SF':
        return sf(None, None, side_by_side_rgb(fused))  # type: ignore[arg-type]
    values = [
        func(_channel(ir, k), _channel(vis, k), _channel(fused, k)) for k in range(fused.shape[2])
    ]
    return float(np.mean(values))
