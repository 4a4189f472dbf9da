# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Classic (non-learned) image fusion methods on float [0, 1] luminance, numpy + OpenCV.

They serve two purposes:

- the candidate pool of AE-Netv2's relative-optimal training target (`recipes/aenetv2.py`): for
  every training patch each method fuses the pair, the quality evaluator (`quality.py`) scores the
  outputs and the best becomes the patch's target;
- baselines for evaluation (`fuse-bag`, the leaderboard).

Every method has the signature `fn(ir, vis) -> fused`: two float32 HxW arrays in [0, 1] of the same
shape (any size >= 1x1), returning a float32 HxW array in [0, 1]. None of them depends on the
order of its arguments except through the symmetric rules they apply, so they fuse any two
registered sources (multi-exposure, multi-focus, medical) as well.

`CLASSIC_METHODS` maps a name to its function; `fuse_all(ir, vis)` runs all of them.
"""

from __future__ import annotations

from typing import Callable, Iterable

import cv2
import numpy as np

FusionFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _as_pair(ir: np.ndarray, vis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.ascontiguousarray(ir, dtype=np.float32)
    b = np.ascontiguousarray(vis, dtype=np.float32)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f'classic fusion needs two HxW images of the same shape, got {a.shape} and {b.shape}'
        )
    return a, b


def _finish(fused: np.ndarray) -> np.ndarray:
    return np.clip(fused, 0.0, 1.0).astype(np.float32, copy=False)


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window with reflected borders.

    Normalised, so borders stay unbiased.
    """
    k = 2 * int(radius) + 1
    return cv2.boxFilter(image, cv2.CV_32F, (k, k), borderType=cv2.BORDER_REFLECT)


# --- pixel rules -----------------------------------------------------------------------------


def fuse_mean(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Pixel-wise average, the simplest baseline of every fusion survey.

    e.g. VIFB, Zhang et al., CVPR-W 2020. Keeps both sources' structure but halves the contrast of
    what only one shows.
    """
    a, b = _as_pair(ir, vis)
    return _finish(0.5 * (a + b))


def fuse_max(ir: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Pixel-wise maximum.

    "choose max" rule; the intensity target of many IR/visible losses, e.g. MMDRFuse. Keeps hot
    targets from the infrared and bright visible areas at full contrast, but loses dark visible
    texture under a bright infrared background.
    """
    a, b = _as_pair(ir, vis)
    return _finish(np.maximum(a, b))


# --- multi-scale ------------------------------------------------------------------------------


def _levels_for(shape: tuple[int, int], levels: int | None, smallest: int = 8) -> int:
    """Pyramid depth: requested `levels`, capped so the coarsest level keeps >= `smallest` px."""
    cap = max(0, int(np.floor(np.log2(max(1, min(shape)) / smallest))))
    return cap if levels is None else max(0, min(int(levels), cap))


def laplacian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """Burt-Adelson Laplacian pyramid: `levels` band-pass images then the low-pass residual.

    Reconstruction with `reconstruct_laplacian` is exact (up to float rounding) because each band
    is computed against the very upsampling that reconstruction uses.
    """
    pyramid: list[np.ndarray] = []
    current = np.asarray(image, np.float32)
    for _ in range(levels):
        down = cv2.pyrDown(current)
        up = cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0]))
        pyramid.append(current - up)
        current = down
    pyramid.append(current)
    return pyramid


def reconstruct_laplacian(pyramid: list[np.ndarray]) -> np.ndarray:
    """Inverse of `laplacian_pyramid`."""
    current = pyramid[-1]
    for band in reversed(pyramid[:-1]):
        current = cv2.pyrUp(current, dstsize=(band.shape[1], band.shape[0])) + band
    return current


def fuse_laplacian(ir: np.ndarray, vis: np.ndarray, levels: int | None = 4) -> np.ndarray:
    """Laplacian pyramid fusion: max-abs on every band-pass level, average low-pass residual.

    Burt & Adelson, "The Laplacian pyramid as a compact image code", IEEE Trans. Commun. 1983; as a
    fusion rule: Burt & Kolczynski, ICCV 1993. On every band-pass level keep the coefficient of
    larger magnitude (max-abs), average the low-pass residual. `levels` is capped so the coarsest
    level is at least 8 px; 4 levels by default.
    """
    a, b = _as_pair(ir, vis)
    n = _levels_for(a.shape, levels)
    pa, pb = laplacian_pyramid(a, n), laplacian_pyramid(b, n)
    fused = [np.where(np.abs(la) >= np.abs(lb), la, lb) for la, lb in zip(pa[:-1], pb[:-1])]
    fused.append(0.5 * (pa[-1] + pb[-1]))
    return _finish(reconstruct_laplacian(fused))


def fuse_laplacian_max_base(ir: np.ndarray, vis: np.ndarray, levels: int | None = 4) -> np.ndarray:
    """Laplacian pyramid fusion with choose-max on the low-pass residual, max-abs on the bands.

    That is the "maximum selection" rule applied to the approximation coefficients, see Pajares &
    de la Cruz, "A wavelet-based image fusion tutorial", Pattern Recognit. 2004, sec. 4. For
    infrared/visible pairs this keeps warm targets and lit areas at their full brightness (as pixel
    max does) while adding the other source's detail; averaging the base, as `fuse_laplacian` does,
    halves the contrast of a target seen only in the infrared.
    """
    a, b = _as_pair(ir, vis)
    n = _levels_for(a.shape, levels)
    pa, pb = laplacian_pyramid(a, n), laplacian_pyramid(b, n)
    fused = [np.where(np.abs(la) >= np.abs(lb), la, lb) for la, lb in zip(pa[:-1], pb[:-1])]
    fused.append(np.maximum(pa[-1], pb[-1]))
    return _finish(reconstruct_laplacian(fused))


def fuse_pyramid_energy(
    ir: np.ndarray, vis: np.ndarray, levels: int | None = 4, window: int = 1
) -> np.ndarray:
    """DWT-like select-max on a Laplacian pyramid with a region-energy activity measure.

    The "window-based activity" rule of Li, Manjunath & Mitra, "Multisensor image fusion using the
    wavelet transform", Graph. Models Image Process. 1995; used here on the Laplacian pyramid,
    whose band-pass levels play the role of the wavelet detail sub-bands. Each detail coefficient
    is taken from the source whose local energy (mean of squared coefficients over a (2w+1)^2
    window) is larger, with a 3x3 majority filter (consistency verification) on the decision map;
    the low-pass residual is averaged. Less sensitive to noise than the per-pixel max-abs rule.
    """
    a, b = _as_pair(ir, vis)
    n = _levels_for(a.shape, levels)
    pa, pb = laplacian_pyramid(a, n), laplacian_pyramid(b, n)
    fused = []
    for la, lb in zip(pa[:-1], pb[:-1]):
        choose_a = (_box(la * la, window) >= _box(lb * lb, window)).astype(np.float32)
        choose_a = (_box(choose_a, 1) > 0.5).astype(np.float32)  # consistency verification
        fused.append(choose_a * la + (1.0 - choose_a) * lb)
    fused.append(0.5 * (pa[-1] + pb[-1]))
    return _finish(reconstruct_laplacian(fused))


# --- two-scale, weight-map methods -------------------------------------------------------------


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He, Sun & Tang's guided filter ("Guided image filtering", ECCV 2010 / TPAMI 2013).

    The O(N) box-filter form, gray guide. The radius is capped at half the image size.
    """
    r = max(1, min(int(radius), (min(guide.shape) - 1) // 2 or 1))
    mean_i = _box(guide, r)
    mean_p = _box(src, r)
    cov_ip = _box(guide * src, r) - mean_i * mean_p
    var_i = _box(guide * guide, r) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box(a, r) * guide + _box(b, r)


def fuse_gff(
    ir: np.ndarray,
    vis: np.ndarray,
    base_radius: int = 15,
    r1: int = 45,
    eps1: float = 0.3,
    r2: int = 7,
    eps2: float = 1e-6,
) -> np.ndarray:
    """Guided-filter fusion, GFF, with the paper's parameters.

    Li, Kang & Hu, "Image fusion with guided filtering", IEEE TIP 2013: two-scale decomposition
    (base = 31x31 mean, detail = rest); saliency = Gaussian-smoothed |Laplacian| (11x11, sigma 5);
    binary weight maps P by the larger saliency; the base weights are P guided-filtered by the
    source with (r1=45, eps1=0.3) and the detail weights with (r2=7, eps2=1e-6), both normalised to
    sum to one. "Lite": radii are capped at the image size for small patches, and the filters are
    OpenCV box filters.
    """
    a, b = _as_pair(ir, vis)
    base_a, base_b = _box(a, base_radius), _box(b, base_radius)
    det_a, det_b = a - base_a, b - base_b
    sal = []
    for img in (a, b):
        lap = np.abs(cv2.Laplacian(img, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT))
        sal.append(cv2.GaussianBlur(lap, (11, 11), 5.0, borderType=cv2.BORDER_REFLECT))
    p_a = (sal[0] >= sal[1]).astype(np.float32)
    p_b = 1.0 - p_a
    wb_a = np.clip(guided_filter(a, p_a, r1, eps1), 0.0, 1.0)
    wb_b = np.clip(guided_filter(b, p_b, r1, eps1), 0.0, 1.0)
    wd_a = np.clip(guided_filter(a, p_a, r2, eps2), 0.0, 1.0)
    wd_b = np.clip(guided_filter(b, p_b, r2, eps2), 0.0, 1.0)
    sb = wb_a + wb_b + 1e-6
    sd = wd_a + wd_b + 1e-6
    base = (wb_a * base_a + wb_b * base_b) / sb
    detail = (wd_a * det_a + wd_b * det_b) / sd
    return _finish(base + detail)


def fuse_two_scale_saliency(ir: np.ndarray, vis: np.ndarray, base_radius: int = 17) -> np.ndarray:
    """Two-scale saliency-weighted fusion.

    TSIFVS (Bavirisetti & Dhuli, "Two-scale image fusion of visible and infrared images using
    saliency detection", Infrared Phys. Technol. 2016): base layers (35x35 mean) averaged; detail
    layers combined with weights from visual saliency |mean3x3(I) - median3x3(I)|, normalised
    between the sources (w_a = S_a / (S_a + S_b)).
    """
    a, b = _as_pair(ir, vis)
    base_a, base_b = _box(a, base_radius), _box(b, base_radius)
    sal = []
    for img in (a, b):
        u8 = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
        med = cv2.medianBlur(u8, 3).astype(np.float32) / 255.0
        sal.append(np.abs(_box(img, 1) - med))
    w_a = (sal[0] + 1e-6) / (sal[0] + sal[1] + 2e-6)
    detail = w_a * (a - base_a) + (1.0 - w_a) * (b - base_b)
    return _finish(0.5 * (base_a + base_b) + detail)


def fuse_contrast_weighted(
    ir: np.ndarray, vis: np.ndarray, radius: int = 3, power: float = 2.0, floor: float = 0.02
) -> np.ndarray:
    """Activity-weighted average: the weighted-average rule with local-variance activity.

    Cf. Burt & Kolczynski, ICCV 1993 "match and salience" weighting. Each pixel is a convex
    combination of
    the sources with weights proportional to (local standard deviation)^power over a
    (2r+1)^2 window, plus `floor`^power so flat areas (both std below ~`floor`) fall back to the
    plain average instead of following noise; the weight map is Gaussian-smoothed so it has no
    seams. Cheap, keeps the textured source.
    """
    a, b = _as_pair(ir, vis)
    act = []
    for img in (a, b):
        m = _box(img, radius)
        act.append(
            np.sqrt(np.maximum(_box(img * img, radius) - m * m, 0.0)) ** power + floor**power
        )
    w_a = act[0] / (act[0] + act[1])
    w_a = cv2.GaussianBlur(w_a, (0, 0), float(radius), borderType=cv2.BORDER_REFLECT)
    return _finish(w_a * a + (1.0 - w_a) * b)


CLASSIC_METHODS: dict[str, FusionFn] = {
    'mean': fuse_mean,
    'max': fuse_max,
    'laplacian': fuse_laplacian,
    'laplacian_max_base': fuse_laplacian_max_base,
    'pyramid_energy': fuse_pyramid_energy,
    'gff': fuse_gff,
    'two_scale_saliency': fuse_two_scale_saliency,
    'contrast_weighted': fuse_contrast_weighted,
}


def get_method(name: str) -> FusionFn:
    try:
        return CLASSIC_METHODS[name]
    except KeyError:
        raise KeyError(
            f'unknown classic fusion method {name!r}; known: {", ".join(CLASSIC_METHODS)}'
        ) from None


def fuse_all(
    ir: np.ndarray, vis: np.ndarray, methods: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """Run several classic methods (all by default) on one pair: {name: fused}."""
    names = list(CLASSIC_METHODS) if methods is None else list(methods)
    return {name: get_method(name)(ir, vis) for name in names}


def fuse_batch(method: str, batch: np.ndarray) -> np.ndarray:
    """Apply one method to a [N, 2, H, W] batch (infrared first): returns [N, 1, H, W] float32."""
    fn = get_method(method)
    batch = np.asarray(batch, np.float32)
    return np.stack([fn(x[0], x[1])[None] for x in batch]).astype(np.float32)
