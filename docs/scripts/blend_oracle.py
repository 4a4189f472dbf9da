# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""What a blending network could reach: the best per-pixel convex blend towards a classic target.

MobileFuse's output is `vis * M + ir * (1 - M)` with M in [0, 1]. For a target image T (here a
classic method's output) the blend closest to T at each pixel is T clipped to [min(IR, VIS),
max(IR, VIS)]. This script writes that blend for every pair, once with a per-pixel mask
(`<method>_clip`) and once with the mask averaged to half resolution and upsampled bilinearly
(`<method>_clip_half`, MobileFuse's mask resolution), so `fusion-ros eval --method` can score them:

    python docs/scripts/blend_oracle.py IR_DIR VIS_DIR OUT_DIR [METHOD ...]
    fusion-ros eval --ir IR_DIR --vis VIS_DIR --method lmb=OUT_DIR/laplacian_max_base_clip_half --baselines

Why: to tell whether a model misses the quality bar because of its blending module (no blend can
do better) or because of what it was trained towards (a blend can, the training does not find it).
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from fusion_ros.cli.eval_cmd import thermal_8bit
from fusion_ros.images.folders import matched_pairs, read_thermal, read_visible, visible_to_luminance
from fusion_ros.training.classic import get_method


def best_blend(ir: np.ndarray, vis: np.ndarray, target: np.ndarray, half_resolution: bool) -> np.ndarray:
    """The convex blend of ir and vis closest to target per pixel (mask optionally at half resolution)."""
    lo, hi = np.minimum(ir, vis), np.maximum(ir, vis)
    if not half_resolution:
        return np.clip(target, lo, hi)
    diff = vis - ir
    safe = np.where(np.abs(diff) > 1e-3, diff, 1.0)
    mask = np.where(np.abs(diff) > 1e-3, (np.clip(target, lo, hi) - ir) / safe, 0.5)
    h, w = mask.shape
    mask = cv2.resize(cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_AREA), (w, h),
                      interpolation=cv2.INTER_LINEAR)
    return ir + np.clip(mask, 0.0, 1.0) * diff


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__)
        return 2
    ir_dir, vis_dir, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    methods = argv[3:] or ["laplacian_max_base"]
    for stem, ir_path, vis_path in matched_pairs(ir_dir, vis_dir):
        ir = thermal_8bit(read_thermal(ir_path)).astype(np.float32) / 255.0  # as `fusion-ros eval` scores it
        vis = visible_to_luminance(read_visible(vis_path))
        for name in methods:
            target = get_method(name)(ir, vis)
            for tag, half in (("clip", False), ("clip_half", True)):
                folder = out / f"{name}_{tag}"
                folder.mkdir(parents=True, exist_ok=True)
                fused = np.clip(np.round(best_blend(ir, vis, target, half) * 255.0), 0, 255).astype(np.uint8)
                cv2.imwrite(str(folder / f"{stem}.png"), fused)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
