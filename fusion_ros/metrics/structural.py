# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Structure / perception metrics: SSIM, Qcb, Qcv, VIF.

SSIM, Qcb and Qcv follow VIFB's MATLAB code (Zhang et al., CVPR-W 2020; Qcb/Qcv come from Z. Liu's
fusion-metric toolbox). VIF follows the evaluator MMDRFuse (Deng et al., ACM MM 2024) uses.
Arguments are single-channel float arrays with values in 0..255.
"""

from __future__ import annotations

import functools

import cv2
from fusion_ros.metrics.cache import source_memo
from fusion_ros.metrics.matlab import (
    apply_centred_filter,
    as_float,
    block_reduce,
    correlate_zero,
    freqspace_grid,
    gaussian_1d,
    minmax_normalise_255,
    separable_valid,
    separable_zero,
)
import numpy as np

# ----------------------------------------------------------------------------------------- SSIM

_SSIM_WINDOW = gaussian_1d(11, 1.5)  # fspecial('gaussian', 11, 1.5) = outer(w, w)
_SSIM_C1 = (0.01 * 255.0) ** 2
_SSIM_C2 = (0.03 * 255.0) ** 2


def _ssim_local_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-weighted local mean and variance ('valid' region)."""
    m = separable_valid(x, _SSIM_WINDOW)
    return m, separable_valid(x * x, _SSIM_WINDOW) - m * m


def ssim_index(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) with an 11x11 Gaussian (sigma 1.5) window, L = 255.

    'valid' map.

    This is the reference MATLAB `ssim_index` that VIFB's `metricsSsim` embeds.
    """
    x, y = as_float(a), as_float(b)
    mx, vx = source_memo('ssim', x, _ssim_local_stats)
    my, vy = source_memo('ssim', y, _ssim_local_stats)
    cxy = separable_valid(x * y, _SSIM_WINDOW) - mx * my
    num = (2 * mx * my + _SSIM_C1) * (2 * cxy + _SSIM_C2)
    den = (mx * mx + my * my + _SSIM_C1) * (vx + vy + _SSIM_C2)
    return float((num / den).mean())


def ssim(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """SSIM = SSIM(F, VI) + SSIM(F, IR) (VIFB `metricsSsim`; MMDRFuse reports the same sum).

    Max 2.
    """
    return ssim_index(vis, fused) + ssim_index(ir, fused)


def ssim_index_skimage(a: np.ndarray, b: np.ndarray, data_range: float = 2.0) -> float:
    """Mean SSIM as scikit-image 0.19's `structural_similarity` computes it with default arguments.

    7x7 uniform window (reflected borders), sample covariance (x 49/48), map cropped by 3 pixels.
    MMDRFuse's evaluator passes float32 images in 0..255 without `data_range`, and scikit-image
    0.19 then takes the float dtype's nominal range (-1..1), so data_range = 2: C1, C2 become
    negligible. Computed here in float64 (they ran in float32, which adds noise in flat areas).
    """
    x, y = as_float(a), as_float(b)
    win, pad = 7, 3
    cov_norm = win * win / (win * win - 1.0)

    def mean7(z: np.ndarray) -> np.ndarray:
        return cv2.blur(z, (win, win), borderType=cv2.BORDER_REFLECT)

    ux, uy = mean7(x), mean7(y)
    vx = cov_norm * (mean7(x * x) - ux * ux)
    vy = cov_norm * (mean7(y * y) - uy * uy)
    vxy = cov_norm * (mean7(x * y) - ux * uy)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s[pad:-pad, pad:-pad].mean())


def ssim_skimage(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """SSIM_sk = SSIM(F, IR) + SSIM(F, VI) exactly as MMDRFuse's evaluator.

    To compare with its paper.
    """
    return ssim_index_skimage(fused, ir) + ssim_index_skimage(fused, vis)


# ------------------------------------------------------------------------------------------ Qcb

# Chen & Blum (2009) constants as in Liu's `metricChenBlum.m` (used by VIFB).
_QCB_F0, _QCB_F1, _QCB_A = 15.3870, 1.3456, 0.7622
_QCB_P, _QCB_Q, _QCB_Z = 3.0, 2.0, 0.0001


def _unnormalised_gaussian(sigma: float) -> np.ndarray:
    """1-D factor of Liu's `gaussian2d`.

    A fixed 31x31 exp(-r^2 / 2s^2) / (2 pi s^2), not renormalised.

    The 2-D kernel is outer(g, g); the 1/(2 pi s^2) factor is split evenly between the two passes.
    """
    x = np.arange(-15, 16, dtype=np.float64)
    return np.exp(-(x * x) / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma)


_QCB_G1 = _unnormalised_gaussian(2.0)
_QCB_G2 = _unnormalised_gaussian(4.0)


@functools.lru_cache(maxsize=8)
def _qcb_csf(shape: tuple[int, int]) -> np.ndarray:
    """Chen-Blum DoG contrast-sensitivity filter, centred, frequencies scaled by size / 30."""
    rows, cols = shape
    u, v = freqspace_grid((rows, cols))
    r = np.hypot(u * (cols / 30.0), v * (rows / 30.0))
    return np.exp(-((r / _QCB_F0) ** 2)) - _QCB_A * np.exp(-((r / _QCB_F1) ** 2))


def _qcb_contrast(image: np.ndarray) -> np.ndarray:
    """Masked local band-pass contrast C' = k C^p / (h C^q + Z) with C = |G1*I / G2*I - 1|.

    The image is first min-max stretched and filtered by the Chen-Blum CSF (see `qcb`).
    """
    image = apply_centred_filter(minmax_normalise_255(image), _qcb_csf(image.shape))
    with np.errstate(divide='ignore', invalid='ignore'):
        c = np.abs(separable_zero(image, _QCB_G1) / separable_zero(image, _QCB_G2) - 1.0)
    c2 = c * c
    return c2 * c / (c2 + _QCB_Z)  # k C^p / (h C^q + Z) with k = h = 1, p = 3, q = 2


def qcb(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Qcb (Chen & Blum 2009; VIFB `metricsQcb`).

    Human-perception contrast preservation, in [0, 1].

    Images are min-max stretched to 0..255, filtered by a DoG contrast-sensitivity function in the
    frequency domain (scaled by image size / 30 as in Liu's code), then local contrasts compared
    and weighted by the sources' saliency.
    """
    c1, c2, cf = (source_memo('qcb', as_float(x), _qcb_contrast) for x in (vis, ir, fused))
    with np.errstate(divide='ignore', invalid='ignore'):
        q1f = np.where(c1 < cf, c1 / cf, cf / c1)
        q2f = np.where(c2 < cf, c2 / cf, cf / c2)
        s1, s2 = c1 * c1, c2 * c2
        lam1 = s1 / (s1 + s2)
        q = lam1 * q1f + (1.0 - lam1) * q2f
    return float(np.nanmean(q)) if np.isfinite(q).any() else 0.0


# ------------------------------------------------------------------------------------------ Qcv

_QCV_WINDOW = 16
_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
_SOBEL_Y = _SOBEL_X.T


def _saliency(image: np.ndarray) -> np.ndarray:
    """Sobel edge strength to the power alpha = 5 (zero-padded `filter2`)."""
    gx, gy = correlate_zero(image, _SOBEL_X), correlate_zero(image, _SOBEL_Y)
    g2 = gx * gx + gy * gy
    return g2 * g2 * np.sqrt(g2)


def _qcv_saliency(image: np.ndarray) -> np.ndarray:
    """Region saliency of a source.

    Sum of Sobel strength^5 per 16x16 block of the stretched image.
    """
    return block_reduce(_saliency(minmax_normalise_255(image)), _QCV_WINDOW, 'sum')


@functools.lru_cache(maxsize=8)
def _qcv_csf(shape: tuple[int, int]) -> np.ndarray:
    """Mannos-Sakrison contrast-sensitivity filter, centred, frequencies scaled by size / 8."""
    rows, cols = shape
    u, v = freqspace_grid((rows, cols))
    r = np.hypot(u * (cols / 8.0), v * (rows / 8.0))
    return 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))


def _qcv_filtered(image: np.ndarray) -> np.ndarray:
    """Return the stretched image filtered by the Mannos-Sakrison CSF (`_qcv_csf`)."""
    return apply_centred_filter(minmax_normalise_255(image), _qcv_csf(image.shape))


def qcv(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """Qcv (Chen & Varshney 2007; VIFB `metricsQcv`).

    Saliency-weighted CSF-filtered error, lower is better.

    On min-max stretched images: region saliency = sum of Sobel strength^5 per 16x16 block; the
    difference to each source is filtered by the Mannos-Sakrison CSF (frequencies scaled by
    image size / 8 as in Liu's code), its mean square per block weighted by the saliency.
    """
    vis, ir, fused = as_float(vis), as_float(ir), as_float(fused)
    lam1 = source_memo('qcv-saliency', vis, _qcv_saliency)
    lam2 = source_memo('qcv-saliency', ir, _qcv_saliency)
    fa, fb, ff = (source_memo('qcv-csf', x, _qcv_filtered) for x in (vis, ir, fused))
    # CSF filtering is linear, so filter(a - f) = filter(a) - filter(f): sources filtered once.
    d1 = block_reduce(np.square(fa - ff), _QCV_WINDOW, 'mean')
    d2 = block_reduce(np.square(fb - ff), _QCV_WINDOW, 'mean')
    den = float((lam1 + lam2).sum())
    if den == 0.0:
        return float(0.5 * (d1.mean() + d2.mean()))
    return float((lam1 * d1 + lam2 * d2).sum() / den)


# ------------------------------------------------------------------------------------------ VIF

_VIF_NOISE_VAR, _VIF_EPS = 2.0, 1e-10


def _vif_scale_terms(ref: np.ndarray, dist: np.ndarray, win: np.ndarray) -> tuple[float, float]:
    """Return the information kept (num) and present (den) at one scale.

    The scale is one of the Gaussian scale mixture model.
    """
    mu1, mu2 = separable_valid(ref, win), separable_valid(dist, win)
    s1 = np.maximum(separable_valid(ref * ref, win) - mu1 * mu1, 0.0)
    s2 = np.maximum(separable_valid(dist * dist, win) - mu2 * mu2, 0.0)
    s12 = separable_valid(ref * dist, win) - mu1 * mu2
    g = s12 / (s1 + _VIF_EPS)
    sv = s2 - g * s12
    flat1 = s1 < _VIF_EPS
    g[flat1] = 0.0
    sv[flat1] = s2[flat1]
    s1[flat1] = 0.0
    flat2 = s2 < _VIF_EPS
    g[flat2] = 0.0
    sv[flat2] = 0.0
    neg = g < 0
    sv[neg] = s2[neg]
    g[neg] = 0.0
    sv[sv <= _VIF_EPS] = _VIF_EPS
    num = float(np.log10(1.0 + g * g * s1 / (sv + _VIF_NOISE_VAR)).sum())
    den = float(np.log10(1.0 + s1 / _VIF_NOISE_VAR).sum())
    return num, den


def vif_pixel(ref: np.ndarray, dist: np.ndarray) -> float:
    """Pixel-domain VIF (Sheikh & Bovik 2006) over 4 scales, Gaussian windows 17/9/5/3 (sigma N/5).

    Returns 1 where the reference has no detail at all (0/0), as MMDRFuse's evaluator does.
    """
    ref, dist = as_float(ref), as_float(dist)
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = gaussian_1d(n, n / 5.0)  # separable: no tap falls below fspecial's eps cut-off
        if scale > 1:
            ref = separable_valid(ref, win)[::2, ::2]
            dist = separable_valid(dist, win)[::2, ::2]
        if min(ref.shape) < n:
            break
        sn, sd_ = _vif_scale_terms(ref, dist, win)
        num += sn
        den += sd_
    return num / den if den > 0 else 1.0


def vif(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """VIF = VIFp(IR, F) + VIFp(VI, F), as MMDRFuse's evaluator computes (its code names it VIFF).

    This is Sheikh-Bovik pixel VIF summed over the two sources, the convention of the common
    Python fusion evaluators; it is not Han et al.'s 2013 VIFF, whose reference code is licensed
    for non-commercial use only and is not reproduced here.
    """
    return vif_pixel(ir, fused) + vif_pixel(vis, fused)
