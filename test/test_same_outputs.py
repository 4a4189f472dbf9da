# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The CLI's `fuse` and `fuse-bag` write exactly what the runtime pipeline computes.

Issue 18: the per-frame step has one home, so the offline tools cannot drift from it. Real shipped
MMDRFuse weights, real PNG files, a real rosbag2; tools/output_digests.sh records sha256
before/after a refactor for the same commands.
"""

from __future__ import annotations

from pathlib import Path
import shutil

from bag_helpers import cli
import cv2
import numpy as np


def _demo_pairs(root: Path) -> tuple[Path, Path]:
    from fusion_ros.images.demo_sequence import DEMO_DIR

    ir, vi = root / 'ir', root / 'vi'
    ir.mkdir(parents=True)
    vi.mkdir()
    for path in sorted(DEMO_DIR.glob('ir_*.png'))[:2]:
        shutil.copy(path, ir / path.name[3:])
        shutil.copy(DEMO_DIR / f'vi_{path.name[3:]}', vi / path.name[3:])
    return ir, vi


def test_fuse_writes_the_pipelines_images(tmp_path):
    from fusion_ros.images.folders import read_thermal, read_visible
    from fusion_ros.runtime import load_pipeline

    ir, vi = _demo_pairs(tmp_path)
    assert cli('fuse', '--ir', str(ir), '--vis', str(vi), '--out', str(tmp_path / 'out')) == 0
    pipeline = load_pipeline('mmdrfuse', backend='cpu')
    written = sorted((tmp_path / 'out').glob('*.png'))
    assert [p.name for p in written] == sorted(p.name for p in ir.iterdir())
    for path in written:
        expected = pipeline.fuse(read_visible(vi / path.name), read_thermal(ir / path.name)).image
        assert np.array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), expected), path.name


def test_fuse_bag_writes_the_pipelines_images(tmp_path):
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.io import BagReader, image_frame
    from fusion_ros.bags.sample import make_sample_bag
    from fusion_ros.runtime import load_pipeline

    make_sample_bag(tmp_path / 'in', seconds=0.3, width=160, height=128)
    result = fuse_bag(tmp_path / 'in', tmp_path / 'out', 'mmdrfuse')
    pipeline = load_pipeline('mmdrfuse', backend='cpu')
    with BagReader(tmp_path / 'in') as bag:
        visible = {f.stamp_ns: f for f in map(image_frame, bag.messages(['/visible/image_raw']))}
        thermal = [image_frame(m) for m in bag.messages(['/thermal/image_raw'])]
    with BagReader(tmp_path / 'out') as bag:
        fused = [image_frame(m) for m in bag.messages(['/fused/image_raw'])]
    assert result.fused == len(fused) >= 5
    for out in fused:
        vis = visible[out.stamp_ns]  # the fused header is the visible frame's
        th = min(thermal, key=lambda t: abs(t.stamp_ns - vis.stamp_ns))
        expected = pipeline.fuse(vis.to_numpy(), th.to_numpy()).image
        assert out.encoding == 'bgr8' and np.array_equal(out.to_numpy(), expected)
