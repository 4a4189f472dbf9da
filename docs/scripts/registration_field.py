# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""How well is a "registered" dataset registered? The thermal/visible displacement field, per block.

Both images of every pair become edge images (fusion_ros.registration.features); the frame is cut
into blocks, each thermal block is matched (normalised cross-correlation, +-8 px) against the
visible edges, and the correlation maps of ALL pairs are summed before the peak is taken, so the
field printed is what the pairs agree on (a scene-independent pattern = the rig's own residual
misregistration, e.g. lens distortion the dataset's homography did not remove):

    python docs/scripts/registration_field.py DATASET_DIR [PAIRS [BLOCK_PX]]

Prints one row of "(dx,dy)" per block row (integer px, visible minus thermal position), then the
median and the largest displacement. Why: the target-free estimator fits one homography; where a
dataset's own registration is off by a non-homographic field, register-bench's errors on it cannot
go below that field, whatever the estimator.
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from fusion_ros.images.folders import matched_pairs, read_thermal, read_visible
from fusion_ros.registration.features import edge_image, to_gray

RADIUS = 8


def main(root: Path, n: int, block: int) -> None:
    pairs = matched_pairs(root / "ir", root / "vi")[:n]
    vis = [edge_image(to_gray(read_visible(p))) for _, _, p in pairs]
    ir = [edge_image(to_gray(read_thermal(p))) for _, p, _ in pairs]
    if len({v.shape for v in vis} | {t.shape for t in ir}) > 1:
        raise SystemExit("pairs differ in size; pick a set with one size (or fewer pairs)")
    h, w = vis[0].shape
    shifts = []
    for y in range(RADIUS, h - block - RADIUS + 1, block):
        row = []
        for x in range(RADIUS, w - block - RADIUS + 1, block):
            total = sum(cv2.matchTemplate(v[y - RADIUS:y + block + RADIUS, x - RADIUS:x + block + RADIUS],
                                          t[y:y + block, x:x + block], cv2.TM_CCOEFF_NORMED)
                        for v, t in zip(vis, ir) if t[y:y + block, x:x + block].std() > 1e-6)
            _, _, _, (px, py) = cv2.minMaxLoc(np.asarray(total, np.float32))
            row.append(f"({px - RADIUS:+d},{py - RADIUS:+d})")
            shifts.append((px - RADIUS, py - RADIUS))
        print(" ".join(row))
    mag = np.hypot(*np.asarray(shifts, float).T)
    print(f"{len(pairs)} pairs, {len(shifts)} blocks of {block} px: median |shift| {np.median(mag):.1f} px, "
          f"largest {mag.max():.1f} px")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 60,
         int(sys.argv[3]) if len(sys.argv) > 3 else 96)
