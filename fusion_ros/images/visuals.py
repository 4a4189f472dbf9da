# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Pictures people look at: labelled mosaics (visible | thermal | fused) and latency plots."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np


def to_display(image: np.ndarray) -> np.ndarray:
    """Any camera image (mono8, mono16, bgr8) as 8-bit BGR for viewing.

    16-bit gets a 1-99% stretch.
    """
    if image.dtype != np.uint8:
        lo, hi = np.percentile(image[::4, ::4], (1, 99))
        image = np.clip(
            (image.astype(np.float32) - lo) * (255.0 / max(hi - lo, 1.0)), 0, 255
        ).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


def label(image: np.ndarray, text: str) -> np.ndarray:
    """Draw a caption bar on top of a copy of the image."""
    out = to_display(image).copy()
    scale = max(0.5, out.shape[1] / 900.0)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (w + 12, h + base + 10), (0, 0, 0), -1)
    cv2.putText(
        out, text, (6, h + 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
    )
    return out


def mosaic(
    images: Sequence[np.ndarray], labels: Sequence[str], height: int | None = None
) -> np.ndarray:
    """Side-by-side row of labelled images, all resized to one height."""
    height = height or min(img.shape[0] for img in images)
    tiles = []
    for img, text in zip(images, labels):
        img = to_display(img)
        width = int(round(img.shape[1] * height / img.shape[0]))
        tiles.append(label(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA), text))
    return np.hstack(tiles)


def stack_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Stack mosaic rows vertically, padding narrower rows with black."""
    width = max(r.shape[1] for r in rows)
    return np.vstack(
        [cv2.copyMakeBorder(r, 0, 0, 0, width - r.shape[1], cv2.BORDER_CONSTANT) for r in rows]
    )


def save_image(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f'could not write {path}')
    return path


def latency_plot(
    path: Path,
    series: Mapping[str, np.ndarray],
    stages: Mapping[str, Mapping[str, float]],
    budget_ms: float | None = None,
) -> Path:
    """Left: end-to-end latency per frame for each model; right: per-stage p50 bars per model."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={'width_ratios': [2, 1]})
    for name, values in series.items():
        ax1.plot(
            np.arange(len(values)), values, lw=1, label=f'{name} (p50 {np.median(values):.1f} ms)'
        )
    if budget_ms:
        ax1.axhline(budget_ms, color='red', ls='--', lw=1, label=f'budget {budget_ms:.0f} ms')
    ax1.set_xlabel('fused frame')
    ax1.set_ylabel('end-to-end latency (ms)\ncapture stamp -> received by sink')
    ax1.set_title('End-to-end latency through the fusion node')
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    names = list(stages)
    stage_names = sorted({s for v in stages.values() for s in v})
    bottom = np.zeros(len(names))
    for stage in stage_names:
        vals = np.array([stages[n].get(stage, 0.0) for n in names])
        ax2.bar(names, vals, bottom=bottom, label=stage)
        bottom += vals
    ax2.set_ylabel('p50 per stage (ms)')
    ax2.set_title('Where the time goes (node diagnostics)')
    ax2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
