# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros fuse` on folders.

Good pairs are fused, bad ones reported and counted, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from fusion_ros.cli.fuse_cmd import ERRORS_FILE
from fusion_ros.cli.main import main
from fusion_ros.images.demo_sequence import load_demo_pair
import numpy as np
import pytest


def _folders(root: Path) -> tuple[Path, Path]:
    ir, vis = root / 'ir', root / 'vis'
    ir.mkdir(parents=True)
    vis.mkdir(parents=True)
    for name in ('01', '04'):
        visible, thermal = load_demo_pair(name)
        cv2.imwrite(str(vis / f'{name}.png'), visible[:96, :128])
        cv2.imwrite(str(ir / f'{name}.png'), thermal[:96, :128])
    return ir, vis


def test_bad_pairs_are_reported_and_the_rest_fused(tmp_path: Path, capsys) -> None:
    ir, vis = _folders(tmp_path)
    (ir / '02.png').write_bytes(b'')  # zero bytes
    cv2.imwrite(str(vis / '02.png'), np.full((96, 128), 90, np.uint8))
    palette = cv2.applyColorMap(np.tile(np.arange(128, dtype=np.uint8), (96, 1)), cv2.COLORMAP_JET)
    cv2.imwrite(str(ir / '03.png'), palette)  # false-colour thermal
    cv2.imwrite(str(vis / '03.png'), np.full((96, 128), 90, np.uint8))
    cv2.imwrite(str(ir / '09.png'), np.zeros((96, 128), np.uint8))  # no visible partner
    out = tmp_path / 'out'
    assert main(['fuse', '--ir', str(ir), '--vis', str(vis), '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert sorted(p.name for p in out.glob('*.png')) == ['01.png', '04.png']
    failed = (out / ERRORS_FILE).read_text().splitlines()
    assert [line.split(':')[0] for line in failed] == ['02', '03']
    assert 'not a readable image' in failed[0] and 'colour' in failed[1]
    assert '1 infrared image(s) have no partner' in err and '09' in err
    assert 'Traceback' not in err


def test_clean_run_exits_zero_and_clears_an_old_error_list(tmp_path: Path) -> None:
    ir, vis = _folders(tmp_path)
    out = tmp_path / 'out'
    out.mkdir()
    (out / ERRORS_FILE).write_text('old\n')
    assert main(['fuse', '--ir', str(ir), '--vis', str(vis), '--out', str(out), '--mosaic']) == 0
    assert not (out / ERRORS_FILE).exists() and (out / '01_mosaic.png').is_file()


@pytest.mark.parametrize(
    'case, message',
    [
        ('missing', 'no such folder'),
        ('empty', 'no images'),
        ('mismatched', 'no pairs'),
    ],
)
def test_folders_with_nothing_to_fuse_are_a_clear_error(
    tmp_path: Path, capsys, case: str, message: str
) -> None:
    ir, vis = _folders(tmp_path)
    if case == 'missing':
        ir = tmp_path / 'nope'
    elif case == 'empty':
        for f in vis.iterdir():
            f.unlink()
    else:
        for f in vis.iterdir():
            f.rename(f.with_name('v' + f.name))
    assert main(['fuse', '--ir', str(ir), '--vis', str(vis), '--out', str(tmp_path / 'out')]) == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err


def test_output_stretch_flag(tmp_path: Path) -> None:
    """--output-stretch minmax: each fused luminance spans 0..255; none: the network's range."""
    ir, vis = _folders(tmp_path)
    outs = {}
    for mode in ('none', 'minmax'):
        out = tmp_path / mode
        args = ['fuse', '--ir', str(ir), '--vis', str(vis), '--out', str(out)]
        assert main([*args, '--output-stretch', mode]) == 0
        outs[mode] = cv2.cvtColor(cv2.imread(str(out / '01.png')), cv2.COLOR_BGR2YCrCb)[..., 0]
    assert outs['minmax'].min() <= 1 and outs['minmax'].max() >= 254  # colour round trip: +-1
    assert outs['none'].max() - outs['none'].min() < outs['minmax'].max() - outs['minmax'].min()
