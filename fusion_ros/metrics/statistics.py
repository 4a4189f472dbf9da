# noqa: A005 - a public module path; absolute imports, so no stdlib module is hidden
# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Pixel-statistics metrics: SD, CC, SCD, and VIFB's PSNR / RMSE.

SD, PSNR and RMSE follow VIFB's MATLAB code (Zhang et al., CVPR-W 2020); CC and SCD follow the
evaluator MMDRFuse (Deng et al., ACM MM 2024) uses. Arguments are single-channel float arrays
with values in 0..255.
"""

from __future__ import annotations

from fusion_ros.metrics.matlab import as_float
import numpy as np


def sd(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """SD (VIFB calls it `Variance`; Rao 1997).

    Population standard deviation of F, i.e. contrast.
    """
    return float(as_float(fused).std())


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images; 0 when either is constant.

    No linear relation to measure.
    """
    x = as_float(a) - as_float(a).mean()
    y = as_float(b) - as_float(b).mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / den if den > 0 else 0.0


def cc(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """CC: mean of corr(F, IR) and corr(F, VI), as in MMDRFuse's evaluator; 1 for F = IR = VI."""
    return 0.5 * (correlation(ir, fused) + correlation(vis, fused))


def scd(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """SCD (Aslantas & Bendes 2015): corr(F - VI, IR) + corr(F - IR, VI).

    F - VI should be what F took from IR and vice versa; range [-2, 2], higher is better.
    """
    f, a, b = as_float(fused), as_float(ir), as_float(vis)
    return correlation(f - b, a) + correlation(f - a, b)


def vifb_error(source: np.ndarray, fused: np.ndarray) -> float:
    """Return VIFB's `mse(a, b)`.

    sqrt(sum((a - b)^2)) / (m n), i.e. RMSE / sqrt(m n), not a mean square.

    VIFB's PSNR and RMSE are built on this quantity, so their values are on its scale (PSNR ~60 dB
    for typical fused images); we reproduce it so numbers compare with the VIFB paper.
    """
    d = as_float(source) - as_float(fused)
    return float(np.sqrt((d * d).sum()) / d.size)


def rmse(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """RMSE (Jagalingam & Hegde 2015; VIFB `metricsRmse`).

    Mean of the VIFB error to VI and to IR.
    """
    return 0.5 * (vifb_error(vis, fused) + vifb_error(ir, fused))


def psnr(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """PSNR (VIFB `metricsPsnr`): 20 log10(255 / sqrt(mean of VIFB errors to VI and IR)) in dB.

    Infinite when F equals both sources.
    """
    err = 0.5 * (vifb_error(vis, fused) + vifb_error(ir, fused))
    if err == 0.0:
        return float('inf')
    return float(20.0 * np.log10(255.0 / np.sqrt(err)))
