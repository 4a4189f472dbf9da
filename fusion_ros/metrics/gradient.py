# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Gradient-based metrics.

Average gradient (AG), edge intensity (EI), spatial frequency (SF), Qabf.

Definitions follow VIFB's MATLAB code (Zhang et al., CVPR-W 2020), border handling included.
Arguments are single-channel float arrays with values in 0..255.
"""

from __future__ import annotations

from fusion_ros.metrics.cache import source_memo
from fusion_ros.metrics.matlab import as_float, correlate_replicate, correlate_zero, gradient
import numpy as np

# fspecial('sobel'): emphasises horizontal edges (a vertical derivative); its transpose the other.
SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def ag(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """AG (Cui et al. 2015; VIFB `metricsAvg_gradient`): mean of sqrt((dx^2 + dy^2) / 2).

    MATLAB `gradient` differences; the sum over all r*c pixels is divided by (r-1)(c-1) as in VIFB.
    """
    f = as_float(fused)
    dx, dy = gradient(f)
    rows, cols = f.shape
    return float(np.sqrt((dx * dx + dy * dy) / 2.0).sum() / ((rows - 1) * (cols - 1)))


def ei(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """EI (Rajalingam & Priya 2018; VIFB `metricsEdge_intensity`).

    Mean Sobel magnitude, replicate border.
    """
    gx = correlate_replicate(fused, SOBEL)
    gy = correlate_replicate(fused, SOBEL.T)
    return float(np.sqrt(gx * gx + gy * gy).mean())


def sf(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """SF (Eskicioglu & Fisher 1995; VIFB `metricsSpatial_frequency`): sqrt(RF^2 + CF^2).

    RF^2 and CF^2 are sums of squared horizontal / vertical neighbour differences divided by the
    full pixel count m*n (not by the number of differences), as VIFB does.
    """
    f = as_float(fused)
    rf = np.square(np.diff(f, axis=1)).sum() / f.size
    cf = np.square(np.diff(f, axis=0)).sum() / f.size
    return float(np.sqrt(rf + cf))


# Xydeas & Petrovic model constants (as in VIFB `metricsQabf`).
_TG, _KG, _DG = 0.9994, -15.0, 0.5
_TA, _KA, _DA = 0.9879, -22.0, 0.8
_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_SOBEL_Y = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def _strength_orientation(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Memoised `_compute_strength_orientation` (sources recur across fused images)."""
    return source_memo('qabf', as_float(image), _compute_strength_orientation)


def _compute_strength_orientation(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel edge strength and orientation atan(Sy/Sx) (pi/2 where Sx == 0), zero-padded borders.

    VIFB scales the image by 255 first (`255*im2double(double(x))`); we keep that scale because
    it matters in one corner case of the strength ratio (see `_preservation`).
    """
    p = 255.0 * as_float(image)
    sx = correlate_zero(p, _SOBEL_X)
    sy = correlate_zero(p, _SOBEL_Y)
    strength = np.sqrt(sx * sx + sy * sy)
    with np.errstate(divide='ignore', invalid='ignore'):
        angle = np.where(sx == 0, np.pi / 2, np.arctan(sy / np.where(sx == 0, 1.0, sx)))
    return strength, angle


def _preservation(
    g_src: np.ndarray, a_src: np.ndarray, g_f: np.ndarray, a_f: np.ndarray
) -> np.ndarray:
    """Edge preservation Q^{SF} per pixel: sigmoid of strength ratio times sigmoid of angle match.

    VIFB's ratio is min(g)/max(g), except that where the two strengths are exactly equal it uses
    g_F itself (a quirk of its if/else; 0 where both are 0). Reproduced for conformance.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = np.where(g_src > g_f, g_f / g_src, g_src / g_f)
    ratio = np.where(g_src == g_f, g_f, ratio)
    angle_match = 1.0 - np.abs(a_src - a_f) / (np.pi / 2)
    qg = _TG / (1.0 + np.exp(_KG * (ratio - _DG)))
    qa = _TA / (1.0 + np.exp(_KA * (angle_match - _DA)))
    return qg * qa


def qabf(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Qabf (Xydeas & Petrovic 2000; VIFB `metricsQabf`): edge information transferred to F.

    Sum over pixels of Q^{AF} g_A + Q^{BF} g_B, divided by sum of g_A + g_B; in [0, 1].
    A constant pair of sources has no edges: returns 0 (MATLAB would give NaN).
    """
    ga, aa = _strength_orientation(vis)
    gb, ab = _strength_orientation(ir)
    gf, af = _strength_orientation(fused)
    den = float((ga + gb).sum())
    if den == 0.0:
        return 0.0
    num = float((_preservation(ga, aa, gf, af) * ga + _preservation(gb, ab, gf, af) * gb).sum())
    return num / den
