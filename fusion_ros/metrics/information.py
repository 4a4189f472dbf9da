# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Information-theory metrics: entropy (EN), cross entropy (CE), mutual information (MI).

All three follow VIFB's MATLAB code (Zhang et al., CVPR-W 2020): 256-bin grey-level histograms of
8-bit images. Arguments are single-channel float arrays with values in 0..255 (one colour channel,
or luminance); `ir`, `vis`, `fused` as everywhere in `fusion_ros.metrics`.
"""

from __future__ import annotations

from fusion_ros.metrics.matlab import as_float, mround
import numpy as np


def _levels(image: np.ndarray) -> np.ndarray:
    """Integer grey levels 0..255 (VIFB indexes its histogram with `floor(value) + 1`)."""
    return np.clip(np.floor(as_float(image)), 0, 255).astype(np.intp)


def histogram256(image: np.ndarray) -> np.ndarray:
    """Probability of each of the 256 grey levels."""
    counts = np.bincount(_levels(image).ravel(), minlength=256).astype(np.float64)
    return counts / counts.sum()


def entropy(image: np.ndarray) -> float:
    """Shannon entropy in bits of the 256-bin histogram (Van Aardt 2008; VIFB `metricsEntropy`).

    Same as MATLAB's `entropy()` on uint8 images; a constant image has EN = 0.
    """
    p = histogram256(image)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def en(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """EN: information content of the fused image alone."""
    return entropy(fused)


def relative_entropy(source: np.ndarray, fused: np.ndarray) -> float:
    """Return VIFB's `cross_entropy(src, F)`.

    Sum p_src log2(p_src / p_F) over levels where both are > 0.

    Despite the name this is the Kullback-Leibler divergence of the two histograms, with VIFB's
    choice to skip levels the fused image never takes (which keeps it finite).
    """
    ps, pf = histogram256(source), histogram256(fused)
    both = (ps > 0) & (pf > 0)
    return float((ps[both] * np.log2(ps[both] / pf[both])).sum())


def ce(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """CE (Bulanon et al. 2009; VIFB `metricsCross_entropy`): mean of CE(VI,F) and CE(IR,F).

    Lower is better: the fused histogram should resemble both sources'.
    """
    return 0.5 * (relative_entropy(vis, fused) + relative_entropy(ir, fused))


def _mi_levels(image: np.ndarray) -> np.ndarray:
    """Return VIFB's MI quantisation: min-max stretch to [0, 1], then int16(x * 255).

    Round half away.
    """
    a = as_float(image)
    lo, hi = float(a.min()), float(a.max())
    if hi == lo:
        return np.zeros(a.shape, np.intp)
    return mround((a - lo) / (hi - lo) * 255.0).astype(np.intp)


def _entropy_nats(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """MI(a; b) in nats from the 256x256 joint histogram of min-max stretched images.

    VIFB `mutinf`.
    """
    la, lb = _mi_levels(a).ravel(), _mi_levels(b).ravel()
    joint = np.bincount(la * 256 + lb, minlength=256 * 256).astype(np.float64)
    joint /= joint.sum()
    pa = np.bincount(la, minlength=256).astype(np.float64) / la.size
    pb = np.bincount(lb, minlength=256).astype(np.float64) / lb.size
    return _entropy_nats(pa) + _entropy_nats(pb) - _entropy_nats(joint)


def mi(ir: np.ndarray, vis: np.ndarray, fused: np.ndarray) -> float:
    """MI (Qu et al. 2002; VIFB `metricsMutinf`): MI(VI,F) + MI(IR,F), natural log as in VIFB."""
    return mutual_information(vis, fused) + mutual_information(ir, fused)
