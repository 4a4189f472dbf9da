# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Differentiable fusion losses and quality scores in torch.

Training; the numpy metrics in `fusion_ros.metrics` are for evaluation.

All images are [N, 1, H, W] float tensors in [0, 1] unless said otherwise.

- `sobel_gradient(x)`: |Gx| + |Gy| with 3x3 Sobel kernels (replicate padding).
- `intensity_loss(o, ir, vis)`: L1(o, max(ir, vis))                       (MMDRFuse L_int)
- `max_gradient_loss(o, ir, vis)`: L1(|grad o|, max(|grad ir|, |grad vis|)) (MMDRFuse L_grad)
- `ssim(x, y)`: per-sample SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03, data range 1), shape [N].
- `gmsd(x, y)`: per-sample Gradient Magnitude Similarity Deviation (Xue et al. 2014: 2x2 average
  downsampling, 3x3 Prewitt gradients, c = 170 / 255^2 for data range 1, std of the similarity
  map), shape [N]; 0 = identical gradients, lower is better.
- `fusion_ssim(o, ir, vis)` = SSIM(o, ir) + SSIM(o, vis) (higher better) and
  `fusion_gmsd(o, ir, vis)` = GMSD(o, ir) + GMSD(o, vis) (lower better): the two per-sample scores
  MMDRFuse's dynamic refresh ranks historical outputs by.
- `fusion_scd(o, ir, vis)`: per-sample SCD = corr(o - vis, ir) + corr(o - ir, vis) (Aslantas &
  Bendes 2015), the evaluator's `SCD` made differentiable, shape [N]; higher is better.
- `attention_map(f, p)`: spatial attention of a feature map (Zagoruyko & Komodakis 2017): sum over
  channels of |f|^p, flattened per sample and L2-normalised, shape [N, H*W].
- `attention_distill_loss(fs, ft, p)`: mean squared distance between the student's and teacher's
  attention maps (MMDRFuse's feature-level digestible distillation).
- `digestible_loss(a, b)`: MMDRFuse Eq. 1 for one level: sum over channels, each sample's map
  vectorised and L2-normalised, squared distance; used for the 4-channel features AND the
  response (output image), as in the paper and the authors' code.
- `laplacian(x)` (the authors' 3x3 operator: 1/8 neighbours, -1 centre) and
  `gradient_mse_loss(o, ir, vis)` = mean (lap(o) - lap(max(ir, vis)))^2: the paper's gradient
  term ||grad O - grad max(IR, VIS)||^2.
"""

from __future__ import annotations

import functools

import torch
from torch.nn import functional as F


def _grads(
    x: torch.Tensor, smooth: tuple[float, float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the x/y derivatives with a 3x3 kernel [s0, s1, s2]^T x [-1, 0, 1].

    Sobel: (1, 2, 1); Prewitt: (1, 1, 1) / 3; replicate padding, computed with shifted slices: on a
    CPU, oneDNN's convolution backward for 1-channel images is many times slower than these few
    element-wise operations.
    """
    p = F.pad(x, (1, 1, 1, 1), mode='replicate')
    a, b, c = smooth
    h, w = x.shape[-2:]
    dx = p[..., :, 2:] - p[..., :, :-2]  # [.., h+2, w]
    dy = p[..., 2:, :] - p[..., :-2, :]  # [.., h, w+2]
    gx = a * dx[..., 0:h, :] + b * dx[..., 1: h + 1, :] + c * dx[..., 2: h + 2, :]
    gy = a * dy[..., :, 0:w] + b * dy[..., :, 1: w + 1] + c * dy[..., :, 2: w + 2]
    return gx, gy


_SOBEL = (1.0, 2.0, 1.0)
_PREWITT = (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)


def sobel_gradient(x: torch.Tensor) -> torch.Tensor:
    """|Gx| + |Gy| (3x3 Sobel, replicate padding), same shape as x."""
    gx, gy = _grads(x, _SOBEL)
    return gx.abs() + gy.abs()


def intensity_loss(o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(o, torch.maximum(ir, vis))


def max_gradient_loss(o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(sobel_gradient(o), torch.maximum(sobel_gradient(ir), sobel_gradient(vis)))


def _correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-sample Pearson correlation.

    The epsilon sits inside the square root so that a flat patch gives 0 with a finite gradient
    (sqrt'(0) is infinite and turned training into NaN).
    """
    a = a.flatten(1) - a.flatten(1).mean(1, keepdim=True)
    b = b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    return (a * b).sum(1) / (a.square().sum(1) * b.square().sum(1) + 1e-12).sqrt()


def fusion_scd(o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Sum of correlations of differences per sample.

    O - vis should be what o took from the infrared, and o - ir what it took from the visible
    image.
    """
    return _correlation(o - vis, ir) + _correlation(o - ir, vis)


@functools.lru_cache(maxsize=8)
def _gaussian_1d(size: int, sigma: float) -> tuple[float, ...]:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return tuple(float(v) for v in g / g.sum())


def _blur_valid(x: torch.Tensor, taps: tuple[float, ...]) -> torch.Tensor:
    """Separable Gaussian blur, 'valid' output, as weighted sums of shifted slices (see _grads)."""
    k = len(taps)
    h, w = x.shape[-2:]
    rows = sum(t * x[..., i: h - k + 1 + i, :] for i, t in enumerate(taps))
    return sum(t * rows[..., :, i: w - k + 1 + i] for i, t in enumerate(taps))


def ssim_map(
    x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """SSIM map ('valid' windows, as in the reference implementation), [N, C, H-10, W-10]."""
    size = min(window, x.shape[-2], x.shape[-1])
    taps = _gaussian_1d(size, sigma)
    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = _blur_valid(x, taps), _blur_valid(y, taps)
    sxx = _blur_valid(x * x, taps) - mu_x**2
    syy = _blur_valid(y * y, taps) - mu_y**2
    sxy = _blur_valid(x * y, taps) - mu_x * mu_y
    return ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2)
    )


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample mean SSIM, [N]."""
    return ssim_map(x, y).flatten(1).mean(1)


def gmsd(x: torch.Tensor, y: torch.Tensor, downsample: bool = True) -> torch.Tensor:
    """Per-sample GMSD of x against reference y, [N] (lower = more similar gradients)."""
    if downsample and min(x.shape[-2:]) >= 8:
        x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    c = 170.0 / 255.0**2
    gx, gy = _grads(x, _PREWITT)
    rx, ry = _grads(y, _PREWITT)
    m1 = torch.sqrt(gx**2 + gy**2 + 1e-12)
    m2 = torch.sqrt(rx**2 + ry**2 + 1e-12)
    gms = (2 * m1 * m2 + c) / (m1**2 + m2**2 + c)
    return gms.flatten(1).std(1, unbiased=False)


def fusion_ssim(o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """SSIM(o, ir) + SSIM(o, vis) per sample (higher better, max 2)."""
    return ssim(o, ir) + ssim(o, vis)


def fusion_gmsd(o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """GMSD(o, ir) + GMSD(o, vis) per sample (lower better)."""
    return gmsd(o, ir) + gmsd(o, vis)


def attention_map(f: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Spatial attention: sum_c |f|^p, vectorised per sample, L2-normalised -> [N, H*W]."""
    a = f.abs().pow(p).sum(1).flatten(1)
    return F.normalize(a, p=2, dim=1, eps=1e-8)


def attention_distill_loss(
    f_student: torch.Tensor, f_teacher: torch.Tensor, p: float = 2.0
) -> torch.Tensor:
    """MSE between the spatial attention maps of student and teacher features (same H, W)."""
    return (attention_map(f_student, p) - attention_map(f_teacher, p)).pow(2).sum(1).mean()


def intensity_gradient_loss(
    o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor, w_int: float = 1.0, w_grad: float = 1.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """w_int * L_int + w_grad * L_grad (the no-VGG part of the comprehensive loss)."""
    li, lg = intensity_loss(o, ir, vis), max_gradient_loss(o, ir, vis)
    return w_int * li + w_grad * lg, {
        'intensity': float(li.detach()),
        'gradient': float(lg.detach()),
    }


def digestible_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. 1 of MMDRFuse for one level.

    || s(a)/|s(a)| - s(b)/|s(b)| ||^2 per sample, s = sum over channels vectorised; mean over the
    batch (the authors normalise over the whole batch tensor and sum, which is the same up to the
    batch's spread of norms).
    """
    va = F.normalize(a.sum(1).flatten(1), p=2, dim=1, eps=1e-8)
    vb = F.normalize(b.sum(1).flatten(1), p=2, dim=1, eps=1e-8)
    return (va - vb).pow(2).sum(1).mean()


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """Return the authors' gradient operator: mean of the 8 neighbours minus the centre.

    Replicate pad.
    """
    p = F.pad(x, (1, 1, 1, 1), mode='replicate')
    h, w = x.shape[-2:]
    total = sum(p[..., i: i + h, j: j + w] for i in range(3) for j in range(3))
    return (total - x) / 8.0 - x


def gradient_mse_loss(o: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """||grad O - grad max(IR, VIS)||^2 (mean), grad = `laplacian`."""
    return (laplacian(o) - laplacian(torch.maximum(ir, vis))).pow(2).mean()
