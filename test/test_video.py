# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MP4 export of fused bags and folders, read back with cv2.VideoCapture."""

from __future__ import annotations

from pathlib import Path

from bag_helpers import cli, sample_bag, tiny_model
import cv2
import numpy as np
import pytest

N = 30


@pytest.fixture(scope='module')
def fused_bag(tmp_path_factory) -> Path:
    from fusion_ros.bags.fuse_bag import fuse_bag

    root = tmp_path_factory.mktemp('video')
    src = sample_bag(root / 'sample', storage='mcap')
    fuse_bag(src, root / 'fused', str(tiny_model(root / 'model')))
    return root / 'fused'


def _no_partials(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if '.partial' in p.name]


def test_bag_to_video_and_mosaic(fused_bag, tmp_path):
    from fusion_ros.bags.video import bag_to_video, read_video_info

    out, mosaic = tmp_path / 'fused.mp4', tmp_path / 'mosaic.mp4'
    result = bag_to_video(fused_bag, out, mosaic=mosaic)
    assert (result.frames, result.size, result.mosaic_frames, result.mosaic_size) == (
        N,
        (160, 128),
        N,
        (480, 128),
    )
    assert result.missing_partners == 0 and result.fps == pytest.approx(30.0, rel=1e-3)
    frames, w, h, fps = read_video_info(out)
    assert (frames, w, h) == (N, 160, 128) and fps == pytest.approx(30.0, rel=0.01)
    frames, w, h, _ = read_video_info(mosaic)
    assert (frames, w, h) == (N, 480, 128)
    # The fused panel of the mosaic is the fused frame (mp4v is lossy: compare loosely).
    cap = cv2.VideoCapture(str(mosaic))
    ok, first = cap.read()
    cap.release()
    assert ok
    cap = cv2.VideoCapture(str(out))
    ok, fused = cap.read()
    cap.release()
    assert ok
    diff = np.abs(first[40:, 320:].astype(int) - fused[40:].astype(int))  # below the caption
    assert diff.mean() < 8
    assert _no_partials(tmp_path)


def test_odd_sizes_are_padded_to_even(tmp_path):
    from fusion_ros.bags.video import read_video_info, VideoSink

    sink = VideoSink(tmp_path / 'odd.mp4', fps=10)
    for i in range(5):
        sink.write(np.full((45, 75), i * 40, np.uint8))
    sink.close()
    assert read_video_info(tmp_path / 'odd.mp4')[:3] == (5, 76, 46)


def test_folder_to_video(tmp_path):
    from fusion_ros.bags.video import folder_to_video, read_video_info, VideoError

    fused, vis, ir = (tmp_path / d for d in ('fused', 'vi', 'ir'))
    for d in (fused, vis, ir):
        d.mkdir()
    for i in range(6):
        cv2.imwrite(str(fused / f'{i:03d}.png'), np.full((48, 64, 3), 30 * i, np.uint8))
        cv2.imwrite(str(vis / f'{i:03d}.png'), np.full((48, 64, 3), 200, np.uint8))
        cv2.imwrite(str(ir / f'{i:03d}.png'), np.full((48, 64), 21000 + i, np.uint16))
    cv2.imwrite(
        str(fused / '000_mosaic.png'), np.zeros((48, 192, 3), np.uint8)
    )  # fuse --mosaic output
    result = folder_to_video(
        fused,
        tmp_path / 'f.mp4',
        mosaic=tmp_path / 'm.mp4',
        visible_dir=vis,
        thermal_dir=ir,
        fps=12,
    )
    assert (result.frames, result.mosaic_frames, result.missing_partners) == (6, 6, 0)
    assert read_video_info(tmp_path / 'f.mp4')[:3] == (6, 64, 48)
    assert read_video_info(tmp_path / 'm.mp4')[:3] == (6, 192, 48)
    with pytest.raises(VideoError, match='--visible-dir'):
        folder_to_video(fused, None, mosaic=tmp_path / 'm2.mp4')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(VideoError, match='no images'):
        folder_to_video(tmp_path / 'empty', tmp_path / 'e.mp4')
    assert not (tmp_path / 'e.mp4').exists() and _no_partials(tmp_path)


def test_mosaic_needs_camera_topics(tmp_path, fused_bag):
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.video import bag_to_video, VideoError

    only_fused = tmp_path / 'only_fused'
    fuse_bag(
        fused_bag,
        only_fused,
        str(tiny_model(tmp_path / 'model')),
        fused_topic='/fused2/image_raw',
        copy_topics=False,
    )
    with pytest.raises(VideoError, match='visible and thermal'):
        bag_to_video(
            only_fused,
            tmp_path / 'v.mp4',
            mosaic=tmp_path / 'm.mp4',
            fused_topic='/fused2/image_raw',
        )
    assert not list(tmp_path.glob('*.mp4')) and _no_partials(tmp_path)


def test_cli_video(fused_bag, tmp_path):
    from fusion_ros.bags.video import read_video_info

    out = tmp_path / 'run.mp4'
    assert cli('video', str(fused_bag), str(out), '--mosaic', '--no-progress', '--fps', '15') == 0
    assert read_video_info(out)[:3] == (N, 160, 128)
    frames, w, h, fps = read_video_info(tmp_path / 'run_mosaic.mp4')
    assert (frames, w, h) == (N, 480, 128) and fps == pytest.approx(15.0, rel=0.01)
    assert cli('video', str(tmp_path / 'missing_bag'), str(tmp_path / 'x.mp4')) == 1
    assert not (tmp_path / 'x.mp4').exists()
