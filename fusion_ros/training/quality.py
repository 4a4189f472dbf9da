# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""AE-Netv2's "quality evaluator".

One scalar score for a fused image from several objective metrics.

Fang et al. (AE-Netv2, 2021) train towards a *relative optimal solution*: for each training patch a
pool of fusion methods produces candidates, a quality evaluator (a combination of objective
metrics) scores them, and the best becomes the target. The paper does not give the combination;
this module is ours.

Components (all computed on float [0, 1] images; A = infrared, B = visible, F = fused):

| key  | metric                                | normalised to ~[0, 1] by             | weight  |
|------|---------------------------------------|--------------------------------------|---------|
| Qabf | Xydeas-Petrovic edge transfer (Sobel, | already in [0, 1]                    | 0.25    |
|      | VIFB's constants)                     |                                      |         |
| VIF  | (VIFp(A,F) + VIFp(B,F)) / 2,          | capped at `cap`                      | 0.20    |
|      | Sheikh-Bovik pixel VIF, 4 scales      |                                      |         |
| SSIM | (SSIM(F,A) + SSIM(F,B)) / 2, Gaussian | already <= 1                         | 0.15    |
|      | 11x11                                 |                                      |         |
| EN   | Shannon entropy, 64 bins              | / max(H(A), H(B)), capped at `cap`   | 0.10    |
| SD   | standard deviation                    | / max(SD(A), SD(B)), capped at `cap` | 0.15    |
| AG   | average gradient (VIFB's definition)  | / max(AG(A), AG(B)), capped at `cap` | 0.15    |
| MI   | MI(F,A) + MI(F,B), 64-bin histograms  | / (H(A) + H(B)) (normalised MI)      | 0 (off) |

Why these weights: fusion metrics fall into two families that pull in opposite directions.
*Information* metrics (EN, SD, AG) reward contrast and detail, and would be maximised by
amplifying noise or adding halos; *fidelity* metrics (Qabf, VIF, SSIM) reward keeping what the
sources contain and are maximised by staying close to them (the pixel average wins SSIM). We give
fidelity 0.6 and information 0.4 so that a candidate must transfer the sources' edges and
information faithfully (Qabf, the single most discriminative IR/visible metric in VIFB, has the
largest weight) *and* keep their contrast. The metric set follows AE-Netv2's own list (EN, AG,
SSIM, VIFF, plus the combined score) with Qabf and SD added. MI is available but off by default:
it is maximised by *copying* one source verbatim (a fused image equal to an input has maximal MI
with it), so with MI in the score pixel max - which copies every pixel from one source - wins the
majority of LLVIP training patches, and the "relative optimal" target degenerates into a baseline.
Information ratios are taken relative to the stronger source and capped (default 1.2): beyond
that, more entropy/contrast/gradient than either source is amplification, not information, so it
cannot buy score. Ratios to the sources (rather than fixed scales) make the score comparable
across patches with very different content, and - unlike a rank or a min-max over the candidate
set - make it an *absolute* score for a given patch, so a target kept in memory can be compared
with a candidate produced later (AE-Netv2's target memory).

Speed: `score_many` scores K candidates of one patch at once (the sources' statistics are computed
once; OpenCV filters run over a HxWxK stack), about 3-4 ms per 128x128 candidate on one core
(VIF's four Gaussian scales are half of it).
The metrics are local, fast implementations of the standard definitions, because the evaluator
runs thousands of times per training run; `compare_with_project_metrics` checks them against
`fusion_ros.metrics` (the project's reference implementations) when that package is importable,
and `test/test_classic_fusion.py` asserts the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import cv2
import numpy as np

DEFAULT_WEIGHTS: dict[str, float] = {
    'Qabf': 0.25,
    'VIF': 0.20,
    'SSIM': 0.15,
    'EN': 0.10,
    'SD': 0.15,
    'AG': 0.15,
}
COMPONENTS = ('Qabf', 'SSIM', 'VIF', 'MI', 'EN', 'SD', 'AG')
_EPS = 1e-6


# --- stacked helpers (images as H x W x K float32) ----------------------------------------------


def _stack(images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(f'expected K x H x W candidates, got shape {arr.shape}')
    return np.ascontiguousarray(np.moveaxis(arr, 0, -1))  # H x W x K


def _filter_stack(fn, hwk: np.ndarray) -> np.ndarray:
    """Apply an OpenCV filter over a HxWxK stack (OpenCV handles <= 512 channels per call)."""
    k = hwk.shape[2]
    outs = []
    for s in range(0, k, 512):
        part = np.ascontiguousarray(hwk[:, :, s: s + 512])
        out = fn(part)
        outs.append(out.reshape(part.shape))
    return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)


def _gauss(hwk: np.ndarray) -> np.ndarray:
    return _filter_stack(
        lambda x: cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT), hwk
    )


def _sobel(hwk: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> tuple[np.ndarray, np.ndarray]:
    gx = _filter_stack(lambda x: cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3, borderType=border), hwk)
    gy = _filter_stack(lambda x: cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3, borderType=border), hwk)
    return gx, gy


def _quantise(hwk: np.ndarray, bins: int) -> np.ndarray:
    return np.clip((hwk * bins).astype(np.int64), 0, bins - 1)


def _entropy_rows(counts: np.ndarray) -> np.ndarray:
    p = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1)
    with np.errstate(divide='ignore', invalid='ignore'):
        logs = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return -(p * logs).sum(axis=-1)


def _hist_entropy(q: np.ndarray, bins: int) -> np.ndarray:
    """Entropy (bits) of each channel of a quantised HxWxK stack."""
    k = q.shape[2]
    flat = (q + bins * np.arange(k)[None, None, :]).ravel()
    counts = np.bincount(flat, minlength=bins * k).reshape(k, bins)
    return _entropy_rows(counts)


def _mutual_information(
    q_src: np.ndarray, q_f: np.ndarray, bins: int, h_src: float, h_f: np.ndarray
) -> np.ndarray:
    """MI(F_k, S) = H(S) + H(F_k) - H(S, F_k) for every candidate k (q_src is HxW)."""
    k = q_f.shape[2]
    joint_idx = (q_src[:, :, None] * bins + q_f) + (bins * bins) * np.arange(k)[None, None, :]
    counts = np.bincount(joint_idx.ravel(), minlength=bins * bins * k).reshape(k, bins * bins)
    return h_src + h_f - _entropy_rows(counts)


def _avg_gradient(hwk: np.ndarray) -> np.ndarray:
    """Return VIFB's AG.

    sqrt((dx^2 + dy^2) / 2) with MATLAB `gradient` differences (central inside, one-sided at the
    border), summed and divided by (rows - 1)(cols - 1).
    """
    rows, cols = hwk.shape[:2]
    if rows < 2 or cols < 2:
        return np.zeros(hwk.shape[2], np.float64)
    dy, dx = np.gradient(hwk, axis=(0, 1))
    return np.sqrt((dx * dx + dy * dy) / 2.0).sum(axis=(0, 1)) / ((rows - 1) * (cols - 1))


def _ssim(
    x: np.ndarray,
    mu_x: np.ndarray,
    sxx: np.ndarray,
    y: np.ndarray,
    mu_y: np.ndarray,
    syy: np.ndarray,
) -> np.ndarray:
    """Return the mean SSIM between x (HxWx1) and each channel of y (HxWxK).

    Wang et al. 2004, 11x11 Gaussian, sigma 1.5, L = 1; mu/s** are the precomputed local means and
    variances.
    """
    c1, c2 = (0.01) ** 2, (0.03) ** 2
    sxy = _gauss(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sxx + syy + c2)
    return (num / den).mean(axis=(0, 1))


_VIF_NOISE = 2.0 / 255.0**2  # Sheikh & Bovik's sigma_n^2 = 2 on the 0..255 scale
_VIF_EPS = 1e-10 / 255.0**2
_VIF_WINDOWS = [cv2.getGaussianKernel(n, n / 5.0) for n in (17, 9, 5, 3)]


def _valid_filter(hwk: np.ndarray, k: np.ndarray) -> np.ndarray:
    """`filter2(w, x, 'valid')` for a separable Gaussian w = k k^T on a HxWxK stack."""
    h = k.shape[0] // 2
    out = _filter_stack(
        lambda x: cv2.sepFilter2D(x, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT), hwk
    )
    return out[h: out.shape[0] - h, h: out.shape[1] - h] if h else out


def _vif_scales(image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per scale: (image at that scale, its 'valid' local mean and variance, the window)."""
    out = []
    cur = image
    for i, k in enumerate(_VIF_WINDOWS):
        if i > 0:
            cur = np.ascontiguousarray(_valid_filter(cur, k)[::2, ::2])
        if min(cur.shape[:2]) < k.shape[0]:
            break
        mu = _valid_filter(cur, k)
        var = np.maximum(_valid_filter(cur * cur, k) - mu * mu, 0.0)
        out.append((cur, mu, var, k))
    return out


def _vif(ref_scales, dist_scales) -> np.ndarray:
    """Return the pixel-domain VIF of each candidate (HxWxK scales) against one reference.

    Sheikh & Bovik 2006, 4 scales, Gaussian windows 17/9/5/3, sigma N/5, 'valid' filtering as the
    reference code; the reference has HxWx1 scales. Returns K values (1 where the reference has no
    detail at all).
    """
    num = 0.0
    den = 0.0
    for (r, mu1, s1, k), (d, mu2, s2, _) in zip(ref_scales, dist_scales):
        s12 = _valid_filter(r * d, k) - mu1 * mu2
        flat1 = s1 < _VIF_EPS
        g = np.where(flat1, 0.0, s12 / (s1 + _VIF_EPS))
        sv = np.where(flat1, s2, s2 - g * s12)
        s1e = np.where(flat1, 0.0, s1)
        flat2 = s2 < _VIF_EPS
        g = np.where(flat2, 0.0, g)
        sv = np.where(flat2, 0.0, sv)
        neg = g < 0
        sv = np.where(neg, s2, sv)
        g = np.where(neg, 0.0, g)
        sv = np.maximum(sv, _VIF_EPS)
        num = num + np.log10(1.0 + g * g * s1e / (sv + _VIF_NOISE)).sum(axis=(0, 1))
        den = den + np.log10(1.0 + s1e / _VIF_NOISE).sum(axis=(0, 1))
    num = np.broadcast_to(np.asarray(num, np.float64), np.shape(np.asarray(num)))
    den = np.asarray(den, np.float64)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)


# Xydeas & Petrovic's constants as used by VIFB.
_TG, _KG, _DG = 0.9994, -15.0, 0.5
_TA, _KA, _DA = 0.9879, -22.0, 0.8


_ATAN_POLY = tuple(
    np.float32(c)
    for c in (0.99997726, -0.33262347, 0.19354346, -0.11643287, 0.05265332, -0.01172120)
)


_TINY = np.float32(1e-30)
_HALF_PI = np.float32(np.pi / 2)


def _angle(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """atan(gy/gx) in [-pi/2, pi/2], pi/2 where gx == 0 (VIFB's convention).

    A minimax polynomial on [0, 1] plus the pi/2 - atan(1/x) reflection (max error ~2e-6 rad),
    written with plain arithmetic ufuncs: np.arctan and np.where dominated the evaluator's time.
    """
    ax, ay = np.abs(gx), np.abs(gy)
    hi = np.maximum(ax, ay)
    t = np.minimum(ax, ay) / (hi + _TINY)
    t2 = t * t
    c0, c1, c2, c3, c4, c5 = _ATAN_POLY
    a = t * (c0 + t2 * (c1 + t2 * (c2 + t2 * (c3 + t2 * (c4 + t2 * c5)))))
    swap = (ay > ax).astype(np.float32)
    a += swap * (_HALF_PI - 2.0 * a)  # |gy| > |gx|: pi/2 - atan(|gx|/|gy|)
    a += (hi == 0).astype(np.float32) * _HALF_PI  # gx == gy == 0: pi/2 like gx == 0
    return np.copysign(a, gx * gy + _TINY)  # -0.0 products (gx == 0) count as positive


def _edge_preservation(
    g_s: np.ndarray, a_s: np.ndarray, g_f: np.ndarray, a_f: np.ndarray
) -> np.ndarray:
    """Q^{SF} of Xydeas & Petrovic.

    Strength ratio min/max (0 where both are 0; VIFB's special case g_s == g_f != 0 is treated as
    ratio 1) and orientation agreement, through their sigmoids.
    """
    ratio = np.minimum(g_s, g_f) / (np.maximum(g_s, g_f) + _TINY)
    orient = np.abs(a_s - a_f) * np.float32(-2.0 / np.pi) + np.float32(1.0)
    qg = np.float32(_TG) / (np.exp((ratio - np.float32(_DG)) * np.float32(_KG)) + np.float32(1.0))
    qa = np.float32(_TA) / (np.exp((orient - np.float32(_DA)) * np.float32(_KA)) + np.float32(1.0))
    return qg * qa


@dataclass
class SourceStats:
    """Everything about one (A, B) pair the evaluator needs, computed once per patch."""

    a: np.ndarray
    b: np.ndarray
    q_a: np.ndarray
    q_b: np.ndarray
    h_a: float
    h_b: float
    sd_a: float
    sd_b: float
    ag_a: float
    ag_b: float
    mu_a: np.ndarray
    mu_b: np.ndarray
    s_a: np.ndarray
    s_b: np.ndarray
    g_a: np.ndarray
    g_b: np.ndarray
    ang_a: np.ndarray
    ang_b: np.ndarray
    vif_a: list | None = None
    vif_b: list | None = None


@dataclass
class QualityEvaluator:
    """Weighted sum of normalised metrics (see the module docstring).

    Higher is better.

    `weights` may name any subset of COMPONENTS; `cap` bounds the information ratios; `bins` is the
    histogram resolution of EN/MI (64: less small-sample bias than 256 on 128x128 patches);
    `qabf_border` the Sobel border for Qabf: "replicate" (default: on 128x128 patches VIFB's zero
    padding would add a frame of strong fake edges that every candidate "transfers" perfectly) or
    "zero" (VIFB's convention, used by `raw_metrics` to compare with fusion_ros.metrics).
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    cap: float = 1.2
    bins: int = 64
    qabf_border: str = (
        'replicate'  # "zero" reproduces VIFB's zero-padded Sobel (a bright frame of fake edges)
    )

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(COMPONENTS)
        if unknown:
            raise KeyError(f'unknown quality components {sorted(unknown)}; known: {COMPONENTS}')
        self.weights = {k: float(v) for k, v in self.weights.items() if v}
        borders = {'replicate': cv2.BORDER_REPLICATE, 'zero': cv2.BORDER_CONSTANT}
        if self.qabf_border not in borders:
            raise ValueError(
                f'qabf_border must be one of {sorted(borders)}, not {self.qabf_border!r}'
            )
        self._border = borders[self.qabf_border]

    # -- sources --
    def source_stats(self, ir: np.ndarray, vis: np.ndarray) -> SourceStats:
        a = np.ascontiguousarray(ir, np.float32)[:, :, None]
        b = np.ascontiguousarray(vis, np.float32)[:, :, None]
        if a.shape != b.shape:
            raise ValueError(f'sources differ in shape: {ir.shape} vs {vis.shape}')
        ab = np.concatenate([a, b], axis=2)
        q = _quantise(ab, self.bins)
        h = _hist_entropy(q, self.bins)
        mu = _gauss(ab)
        s = _gauss(ab * ab) - mu * mu
        gx, gy = _sobel(ab, self._border)
        g = np.sqrt(gx * gx + gy * gy)
        ang = _angle(gx, gy)
        ag = _avg_gradient(ab)
        sd = ab.std(axis=(0, 1))
        vif_a = _vif_scales(a) if 'VIF' in self.weights else None
        vif_b = _vif_scales(b) if 'VIF' in self.weights else None
        return SourceStats(
            a,
            b,
            q[:, :, 0],
            q[:, :, 1],
            float(h[0]),
            float(h[1]),
            float(sd[0]),
            float(sd[1]),
            float(ag[0]),
            float(ag[1]),
            mu[:, :, :1],
            mu[:, :, 1:],
            s[:, :, :1],
            s[:, :, 1:],
            g[:, :, 0:1],
            g[:, :, 1:2],
            ang[:, :, 0:1],
            ang[:, :, 1:2],
            vif_a,
            vif_b,
        )

    # -- candidates --
    def components_many(
        self, ir: np.ndarray, vis: np.ndarray, candidates, stats: SourceStats | None = None
    ) -> dict[str, np.ndarray]:
        """Normalised component values, each an array of length K (one per candidate)."""
        st = stats or self.source_stats(ir, vis)
        f = np.clip(_stack(candidates), 0.0, 1.0)
        want = self.weights
        out: dict[str, np.ndarray] = {}
        if 'EN' in want or 'MI' in want:
            q_f = _quantise(f, self.bins)
            h_f = _hist_entropy(q_f, self.bins)
            if 'EN' in want:
                out['EN'] = np.minimum(h_f / max(st.h_a, st.h_b, _EPS), self.cap)
            if 'MI' in want:
                mi = _mutual_information(
                    st.q_a, q_f, self.bins, st.h_a, h_f
                ) + _mutual_information(st.q_b, q_f, self.bins, st.h_b, h_f)
                out['MI'] = mi / max(st.h_a + st.h_b, _EPS)
        if 'SD' in want:
            out['SD'] = np.minimum(f.std(axis=(0, 1)) / max(st.sd_a, st.sd_b, 1e-3), self.cap)
        if 'AG' in want:
            out['AG'] = np.minimum(_avg_gradient(f) / max(st.ag_a, st.ag_b, 1e-4), self.cap)
        if 'SSIM' in want:
            mu_f = _gauss(f)
            s_f = _gauss(f * f) - mu_f * mu_f
            out['SSIM'] = 0.5 * (
                _ssim(st.a, st.mu_a, st.s_a, f, mu_f, s_f)
                + _ssim(st.b, st.mu_b, st.s_b, f, mu_f, s_f)
            )
        if 'VIF' in want:
            fs = _vif_scales(f)
            vif = 0.5 * (
                _vif(st.vif_a or _vif_scales(st.a), fs) + _vif(st.vif_b or _vif_scales(st.b), fs)
            )
            out['VIF'] = np.minimum(vif, self.cap)
        if 'Qabf' in want:
            gx, gy = _sobel(f, self._border)
            g_f = np.sqrt(gx * gx + gy * gy)
            a_f = _angle(gx, gy)
            q_af = _edge_preservation(st.g_a, st.ang_a, g_f, a_f)
            q_bf = _edge_preservation(st.g_b, st.ang_b, g_f, a_f)
            num = (q_af * st.g_a + q_bf * st.g_b).sum(axis=(0, 1))
            den = float((st.g_a + st.g_b).sum())
            out['Qabf'] = num / den if den > 0 else np.ones(f.shape[2], np.float64)
        return {k: np.asarray(v, np.float64) for k, v in out.items()}

    def score_many(
        self, ir: np.ndarray, vis: np.ndarray, candidates, stats: SourceStats | None = None
    ) -> np.ndarray:
        """Scores (length K, higher is better) of K candidates (K x H x W, or a list of HxW)."""
        comps = self.components_many(ir, vis, candidates, stats)
        total = sum(self.weights.values()) or 1.0
        return sum(w * comps[k] for k, w in self.weights.items()) / total

    def score(self, ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
        """Score of one fused image."""
        return float(self.score_many(ir, vis, [fused])[0])

    def components(self, ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> dict[str, float]:
        return {k: float(v[0]) for k, v in self.components_many(ir, vis, [fused]).items()}

    def best(
        self, ir: np.ndarray, vis: np.ndarray, candidates: Mapping[str, np.ndarray]
    ) -> tuple[str, float, dict[str, float]]:
        """(name of the best candidate, its score, all scores by name)."""
        names = list(candidates)
        scores = self.score_many(ir, vis, [candidates[n] for n in names])
        i = int(np.argmax(scores))
        return names[i], float(scores[i]), {n: float(s) for n, s in zip(names, scores)}


# --- raw (unnormalised) metric values, for checking against fusion_ros.metrics -----------------


def raw_metrics(
    ir: np.ndarray, vis: np.ndarray, fused: np.ndarray, bins: int = 256, qabf_border: str = 'zero'
) -> dict[str, float]:
    """Return this module's metric implementations in the units of `fusion_ros.metrics`.

    Images scaled to [0, 255] for SD/AG; EN in bits and MI in nats with `bins` bins; SSIM as
    SSIM(F,A) + SSIM(F,B); Qabf with VIFB's zero-padded Sobel by default.
    """
    ev = QualityEvaluator(
        weights=dict.fromkeys(COMPONENTS, 1.0), cap=np.inf, bins=bins, qabf_border=qabf_border
    )
    st = ev.source_stats(ir, vis)
    f = _stack([np.clip(fused, 0, 1)])
    q_f = _quantise(f, bins)
    h_f = _hist_entropy(q_f, bins)
    mi = _mutual_information(st.q_a, q_f, bins, st.h_a, h_f) + _mutual_information(
        st.q_b, q_f, bins, st.h_b, h_f
    )
    comps = ev.components_many(ir, vis, [fused], st)
    return {
        'EN': float(h_f[0]),
        'MI': float(mi[0] * np.log(2.0)),
        'SD': float(f.std() * 255.0),
        'AG': float(_avg_gradient(f)[0] * 255.0),
        'SSIM': float(2.0 * comps['SSIM'][0]),
        'Qabf': float(comps['Qabf'][0]),
        'VIF': float(2.0 * comps['VIF'][0]),
    }


def compare_with_project_metrics(
    ir: np.ndarray, vis: np.ndarray, fused: np.ndarray
) -> dict[str, tuple[float, float]] | None:
    """{metric: (ours, fusion_ros.metrics')} for the shared metrics.

    Or None when the metrics package is not importable. Images are float [0, 1]; the project's
    functions get uint8.
    """
    try:
        from fusion_ros.metrics import compute_metrics
    except Exception:
        return None
    u8 = [np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8) for x in (ir, vis, fused)]
    ours = raw_metrics(*[x.astype(np.float32) / 255.0 for x in u8])
    theirs = compute_metrics(u8[0], u8[1], u8[2], names=list(ours))
    return {k: (ours[k], float(theirs[k])) for k in ours if k in theirs}
