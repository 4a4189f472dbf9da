# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Thermal->visible registration (fusion_ros.registration, `fusion-ros register`).

Target-free on simulated rigs built from the bundled demo pairs, target-based on a rendered board,
refusal of degenerate input, the params YAML and check picture of the CLI (folders and a real
rosbag2).
"""

from __future__ import annotations

from pathlib import Path

import cv2
from fusion_ros.cli.main import main
from fusion_ros.registration import corner_error, register_pairs, RegistrationError
from fusion_ros.registration.geometry import check_plausible
from fusion_ros.registration.params import params_text, read_homography
from fusion_ros.registration.rigs import random_rig, render_thermal
from fusion_ros.registration.synthetic import as_thermal, board_image, circles_image, render_view
from fusion_ros.registration.target import register_target
from fusion_ros.runtime.options import ProcessingOptions
import numpy as np
import pytest
import yaml

DEMO = Path(__file__).resolve().parents[1] / 'fusion_ros' / 'data' / 'demo'
STEMS = ('01', '04', '14', '21')


@pytest.fixture(scope='module')
def demo():
    vis = [cv2.imread(str(DEMO / f'vi_{s}.png'), cv2.IMREAD_COLOR) for s in STEMS]
    ir = [cv2.imread(str(DEMO / f'ir_{s}.png'), cv2.IMREAD_UNCHANGED) for s in STEMS]
    ir = [i[..., 0] if i.ndim == 3 else i for i in ir]
    return ir, vis


@pytest.fixture(scope='module')
def rig(demo):
    return random_rig(np.random.default_rng(7), (demo[1][0].shape[1], demo[1][0].shape[0]))


def test_target_free_exact_on_pseudo_thermal(demo, rig):
    # thermal rendered from the visible image (inverted, low contrast, blurred, noisy) through the
    # rig: the truth is exact, so this measures the estimator itself
    rng = np.random.default_rng(1)
    thermals = [render_thermal(as_thermal(v, rng), rig) for v in demo[1]]
    reg = register_pairs(thermals, demo[1])
    assert reg.thermal_size == rig.thermal_size
    assert corner_error(reg.homography, rig.homography, rig.thermal_size) < 0.3
    assert reg.inliers == len(STEMS)


def test_target_free_on_real_thermal_of_demo_pairs(demo, rig):
    # the demo (TNO) pairs' own thermal/visible registration differs from one common homography by
    # ~2-4 px (measured per pair by block matching), so a few px is the floor here
    reg = register_pairs([render_thermal(i, rig) for i in demo[0]], demo[1])
    assert corner_error(reg.homography, rig.homography, rig.thermal_size) < 5.0
    # and far better than not registering at all (thermal resized to the visible frame)
    tw, th = rig.thermal_size
    resize = np.diag([demo[1][0].shape[1] / tw, demo[1][0].shape[0] / th, 1.0])
    assert corner_error(resize, rig.homography, rig.thermal_size) > 20.0


def _board_views(
    positions, rng, make=lambda off: board_image((9, 6), canvas=(1240, 920), offset=off)
):
    def view(scale, angle, persp, off):
        a = np.deg2rad(angle)
        return np.array(
            [
                [scale * np.cos(a), -scale * np.sin(a), off[0]],
                [scale * np.sin(a), scale * np.cos(a), off[1]],
                [persp[0], persp[1], 1.0],
            ]
        )

    hv, ht = view(0.5, 2.0, (2e-5, -1e-5), (20, 10)), view(0.35, -1.0, (2.5e-5, 0.5e-5), (10, 8))
    vis, th = [], []
    for off in positions:
        plane = make(off)
        vis.append(render_view(plane, hv, (640, 480)))
        th.append(as_thermal(render_view(plane, ht, (512, 384)), rng))  # inverted, faint, noisy
    return th, vis, hv @ np.linalg.inv(ht)


def test_target_based_board_render_within_half_a_pixel():
    th, vis, truth = _board_views(
        [(0, 0), (720, 0), (0, 520), (720, 520), (360, 260)], np.random.default_rng(3)
    )
    reg = register_target(th, vis, 'checkerboard', (9, 6), 25.0)
    assert corner_error(reg.homography, truth, (512, 384)) <= 0.5
    assert reg.inliers == 5 and '25 mm' in reg.method


def test_target_based_circle_grid_within_half_a_pixel():
    th, vis, truth = _board_views(
        [(0, 0), (700, 0), (0, 500), (700, 500)],
        np.random.default_rng(4),
        lambda off: circles_image((7, 5), canvas=(1240, 920), offset=off),
    )
    reg = register_target(th, vis, 'circles', (7, 5))
    assert corner_error(reg.homography, truth, (512, 384)) <= 0.5


def test_target_based_refuses_when_no_board_is_seen():
    blank = [np.full((384, 512), 90, np.uint8)]
    with pytest.raises(RegistrationError, match='not found'):
        register_target(blank, [np.full((480, 640), 90, np.uint8)], 'checkerboard', (9, 6))


def test_degenerate_and_inconsistent_input_is_refused(demo, rig):
    thermals = [render_thermal(i, rig) for i in demo[0]]
    with pytest.raises(RegistrationError, match='no pair has edges'):
        register_pairs([np.full_like(t, 80) for t in thermals], demo[1])
    with pytest.raises(RegistrationError, match='agree'):  # every thermal with another scene
        register_pairs(thermals[1:] + thermals[:1], demo[1])
    with pytest.raises(RegistrationError, match='differ in size'):
        register_pairs([thermals[0], thermals[1][:-2]], demo[1][:2])
    mirror = np.array([[-1.0, 0, 600], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(RegistrationError, match='mirror'):
        check_plausible(mirror, (512, 384), (640, 480))
    bent = np.array([[1.0, 0, 60], [0, 1, 40], [6e-4, 0, 1]])  # one side 1.4x the other
    check_plausible(bent, (512, 384), (640, 480))
    with pytest.raises(RegistrationError, match='bends'):
        check_plausible(bent, (512, 384), (640, 480), max_scale_spread=1.15)


def test_params_text_follows_the_node_convention(tmp_path):
    h = np.array([[1.1, 0.02, 30.0], [-0.01, 1.09, 20.0], [1e-5, 2e-5, 1.0]]) * 2.0
    data = yaml.safe_load(params_text(h, ['note']))
    values = data['/**']['ros__parameters']['homography']
    assert all(isinstance(v, float) for v in values)  # ROS arrays must be one type
    assert np.allclose(np.reshape(values, (3, 3)), h / 2.0)
    assert ProcessingOptions.from_dict({'homography': values}).homography_matrix[
        0, 2
    ] == pytest.approx(30.0)
    base = Path(__file__).resolve().parents[1] / 'config' / 'fusion.yaml'
    merged = yaml.safe_load(params_text(h, [], base.read_text()))['/**']['ros__parameters']
    assert np.allclose(merged['homography'], (h / 2.0).ravel()) and merged['model'] == 'mmdrfuse'


def _write_rig(folder: Path, demo, rig) -> None:
    (folder / 'ir').mkdir(parents=True)
    (folder / 'vi').mkdir()
    for stem, ir, vis in zip(STEMS, *demo):
        cv2.imwrite(str(folder / 'ir' / f'{stem}.png'), render_thermal(ir, rig))
        cv2.imwrite(str(folder / 'vi' / f'{stem}.png'), vis)


def test_cli_writes_params_and_check_picture(tmp_path, demo, rig, capsys):
    _write_rig(tmp_path / 'rig', demo, rig)
    out = tmp_path / 'reg' / 'rig.yaml'
    assert (
        main(
            [
                'register',
                '--ir',
                str(tmp_path / 'rig' / 'ir'),
                '--vis',
                str(tmp_path / 'rig' / 'vi'),
                '--out',
                str(out),
            ]
        )
        == 0
    )
    h = read_homography(out)
    assert corner_error(h, rig.homography, rig.thermal_size) < 5.0
    picture = cv2.imread(str(tmp_path / 'reg' / 'rig_check.png'))
    assert picture is not None and picture.shape[1] >= 1000
    assert '4/4 pairs agree' in capsys.readouterr().out
    # the warp the node applies (thermal px -> visible px) lines the edges up better than before
    opts = ProcessingOptions(homography=tuple(h.ravel()))
    assert not opts.homography_is_identity


def test_cli_refuses_degenerate_input_and_writes_nothing(tmp_path, demo, capsys):
    for sub in ('ir', 'vi'):
        (tmp_path / sub).mkdir()
    for stem, vis in zip(STEMS, demo[1]):
        cv2.imwrite(str(tmp_path / 'ir' / f'{stem}.png'), np.full((400, 500), 60, np.uint8))
        cv2.imwrite(str(tmp_path / 'vi' / f'{stem}.png'), vis)
    out = tmp_path / 'rig.yaml'
    assert (
        main(
            [
                'register',
                '--ir',
                str(tmp_path / 'ir'),
                '--vis',
                str(tmp_path / 'vi'),
                '--out',
                str(out),
            ]
        )
        == 1
    )
    assert 'no params file written' in capsys.readouterr().err
    assert (
        not out.exists() and not list(tmp_path.glob('*.png')) and not list(tmp_path.glob('*.tmp'))
    )


def test_cli_registers_from_a_bag(tmp_path, demo, rig):
    from fusion_ros.bags.io import BagWriter, numpy_to_image

    bag = tmp_path / 'rig_bag'
    t0 = 1_735_689_600 * 1_000_000_000
    with BagWriter(bag) as writer:
        for k, (ir, vis) in enumerate(zip(*demo)):
            stamp = t0 + k * 100_000_000
            writer.write('/cam/visible', stamp, numpy_to_image(vis, 'bgr8', stamp, 'vis'))
            writer.write(
                '/cam/thermal',
                stamp + 2_000_000,
                numpy_to_image(render_thermal(ir, rig), 'mono8', stamp + 2_000_000, 'th'),
            )
    out = tmp_path / 'bag.yaml'
    assert (
        main(
            [
                'register',
                '--bag',
                str(bag),
                '--visible-topic',
                '/cam/visible',
                '--thermal-topic',
                '/cam/thermal',
                '--every',
                '1',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    assert corner_error(read_homography(out), rig.homography, rig.thermal_size) < 5.0


def test_alignment_check_measures_a_perturbed_homography(demo, rig):
    from fusion_ros.registration.alignment import alignment_check, AlignmentMonitor

    rng = np.random.default_rng(2)
    vis = demo[1][2]
    thermal = render_thermal(as_thermal(vis, rng), rig)
    shifted = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ rig.homography
    good, bad = (
        alignment_check(vis, thermal, rig.homography),
        alignment_check(vis, thermal, shifted),
    )
    assert good.conclusive and good.misalignment_px < 1.0
    assert bad.conclusive and 4.0 < bad.misalignment_px < 6.0 and bad.shift_px[0] < 0  # shift back
    flat = alignment_check(vis, np.full_like(thermal, 90), rig.homography)
    assert not flat.conclusive

    monitor = AlignmentMonitor(threshold_px=2.5, hold_s=2.0, window=3)
    for t in range(3):
        monitor.update(good, float(t))
    assert monitor.status(3.0)[0] == 'OK'
    for t in range(3, 8):
        monitor.update(bad, float(t))
        monitor.update(flat, float(t) + 0.5)  # inconclusive checks change nothing
    level, message = monitor.status(8.0)
    assert level == 'WARN' and 're-run fusion-ros register' in message
    for t in range(8, 11):
        monitor.update(good, float(t))
    assert monitor.status(11.0)[0] == 'OK'


def test_camera_info_yaml_undistorts_points(tmp_path):
    from fusion_ros.registration.target import load_camera_info

    k = [500.0, 0.0, 320.0, 0.0, 505.0, 240.0, 0.0, 0.0, 1.0]
    d = [-0.3, 0.1, 0.001, -0.002, 0.0]
    (tmp_path / 'cam.yaml').write_text(
        yaml.safe_dump(
            {
                'image_width': 640,
                'image_height': 480,
                'distortion_model': 'plumb_bob',
                'camera_matrix': {'rows': 3, 'cols': 3, 'data': k},
                'distortion_coefficients': {'rows': 1, 'cols': 5, 'data': d},
            }
        )
    )
    info = load_camera_info(tmp_path / 'cam.yaml')
    assert (info.width, info.height, info.model) == (640, 480, 'plumb_bob')
    ideal = np.array([[100.0, 80.0], [320.0, 240.0], [600.0, 450.0]])
    rays = np.c_[(ideal - (320.0, 240.0)) / (500.0, 505.0), np.ones(3)]
    distorted, _ = cv2.projectPoints(
        rays, np.zeros(3), np.zeros(3), np.reshape(k, (3, 3)), np.array(d)
    )
    assert np.abs(distorted.reshape(-1, 2) - ideal).max() > 5.0  # the lens really bends them
    assert np.allclose(
        info.undistort_points(distorted.reshape(-1, 2), (640, 480)), ideal, atol=0.05
    )
    # The same lens at half resolution (a binned stream): K scales with the frame.
    half = info.undistort_points(distorted.reshape(-1, 2) / 2 - 0.25, (320, 240))
    assert np.allclose(half, ideal / 2 - 0.25, atol=0.05)
    (tmp_path / 'bad.yaml').write_text('image_width: 640\n')
    with pytest.raises(ValueError, match='camera_matrix'):
        load_camera_info(tmp_path / 'bad.yaml')
    (tmp_path / 'sizeless.yaml').write_text(yaml.safe_dump({'k': k, 'd': d}))
    with pytest.raises(ValueError, match='image_width'):
        load_camera_info(tmp_path / 'sizeless.yaml')
    (tmp_path / 'pinhole.yaml').write_text(yaml.safe_dump({'k': k, 'd': [0.0] * 5}))
    assert load_camera_info(tmp_path / 'pinhole.yaml') is None  # nothing to undistort


def test_register_bench_writes_its_table(tmp_path, demo):
    for sub in ('ir', 'vi'):
        (tmp_path / 'set' / sub).mkdir(parents=True)
    for stem, ir, vis in zip(STEMS, *demo):
        cv2.imwrite(str(tmp_path / 'set' / 'ir' / f'{stem}.png'), ir)
        cv2.imwrite(str(tmp_path / 'set' / 'vi' / f'{stem}.png'), vis)
    out = tmp_path / 'registration.md'
    assert (
        main(
            [
                'register-bench',
                '--sets',
                str(tmp_path / 'set'),
                '--rigs',
                '1',
                '--pairs',
                '3',
                '--counts',
                '1',
                '3',
                '--control-rigs',
                '1',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    rows = [
        line for line in out.read_text().splitlines() if line.startswith(f'| {tmp_path / "set"}')
    ]
    assert [r.split('|')[3].strip() for r in rows] == [
        '1',
        '3',
        'floor: same pairs, no rig, vs identity',
        'pseudo-thermal (exact truth)',
    ]
    pseudo_median = float(rows[-1].split('|')[4])
    assert pseudo_median < 0.3  # exact truth: the estimator itself
