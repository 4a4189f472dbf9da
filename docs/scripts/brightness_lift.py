# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""How much a fusion model brightens daylight scenes ("washed out"), on the daytime validation sets.

    python docs/scripts/brightness_lift.py MODEL [MODEL ...]   (registered names or .onnx paths)

Per set, mean over pairs of: mean fused luminance minus mean visible luminance (grey levels),
SD(fused) / SD(visible), and the mean lift over the darkest quarter of the visible pixels (asphalt,
shadows). Pixel max and pixel mean are printed for reference. Sets: mixed_day/m3fd, mixed_day/fmb,
m3svd/0114_1551 (afternoon) and the day pairs (`*D`) of the msrs/train_128 validation split.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from fusion_ros.images.folders import matched_pairs, read_thermal, read_visible
from fusion_ros.runtime import load_pipeline
from fusion_ros.training.validation import datasets_root, is_validation_stem


def luminance(img: np.ndarray) -> np.ndarray:
    return (cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb)[..., 0] if img.ndim == 3 else img).astype(np.float32)


def day_pairs() -> dict[str, list]:
    root = datasets_root()
    sets = {name: matched_pairs(root / d / "ir", root / d / "vi") for name, d in
            (("m3fd", "mixed_day/m3fd"), ("fmb", "mixed_day/fmb"), ("m3svd_day", "m3svd/0114_1551"))}
    msrs = matched_pairs(root / "msrs/train_128/ir", root / "msrs/train_128/vi")
    sets["msrs_val_day"] = [p for p in msrs if p[0].endswith("D") and is_validation_stem(p[0])]
    return sets


def main(models: list[str]) -> None:
    pipes = {m: load_pipeline(m, threads=1) for m in models}
    print("set          method                  mean lift  SD ratio  dark-quarter lift")
    for name, pairs in day_pairs().items():
        rows: dict[str, list] = {}
        for _, ir_path, vis_path in pairs:
            vis, ir = read_visible(vis_path), read_thermal(ir_path)
            ir8 = ir[..., 0] if ir.ndim == 3 else ir
            if ir8.dtype != np.uint8:
                ir8 = cv2.convertScaleAbs(ir8, alpha=255.0 / max(1, int(ir8.max())))
            v = luminance(vis)
            ir8 = cv2.resize(ir8, (v.shape[1], v.shape[0])) if ir8.shape != v.shape else ir8
            dark = v <= np.percentile(v, 25)
            outs = {"pixel-max": np.maximum(v, ir8), "pixel-mean": (v + ir8) / 2}
            outs.update({m: luminance(np.asarray(p.fuse(vis, ir).image)) for m, p in pipes.items()})
            for m, f in outs.items():
                rows.setdefault(m, []).append((f.mean() - v.mean(), f.std() / max(v.std(), 1e-6),
                                               (f[dark] - v[dark]).mean()))
        for m, r in rows.items():
            a = np.mean(r, 0)
            print(f"{name:12s} {Path(m).stem[:22]:22s} {a[0]:9.1f} {a[1]:9.3f} {a[2]:9.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
