# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The registration result as a ROS 2 params file for fusion_node.

The `homography` is row-major, raw thermal px -> visible px (the convention of
fusion_ros.runtime.options); the file is either stand-alone or a copy of an existing params file
with its `homography:` line replaced.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
import re
from typing import Iterable

import numpy as np

_HOMOGRAPHY_LINE = re.compile(r'^(\s*)homography\s*:.*$', re.MULTILINE)


def yaml_float(value: float) -> str:
    """Return a float YAML 1.1 (PyYAML, launch) and rcl both read as a double.

    Always a '.', a signed exponent (`1e-05` would be a string, `1` an int, and ROS arrays must not
    mix types).
    """
    text = repr(float(value))
    mantissa, _, exponent = text.partition('e')
    if '.' not in mantissa:
        mantissa += '.0'
    if exponent and exponent[0] not in '+-':
        exponent = '+' + exponent
    return mantissa + ('e' + exponent if exponent else '')


def format_homography(h: np.ndarray) -> str:
    """`[h00, h01, ..., h22]` with H[2, 2] = 1, full double precision."""
    h = np.asarray(h, dtype=np.float64).reshape(3, 3)
    h = h / h[2, 2]
    return '[' + ', '.join(yaml_float(v) for v in h.ravel()) + ']'


def params_text(h: np.ndarray, comments: Iterable[str], base: str | None = None) -> str:
    """Params-file text: `base` with its homography line replaced (or a minimal file)."""
    header = ''.join(f'# {c}\n' for c in comments)
    value = format_homography(h)
    if base is not None:
        if not _HOMOGRAPHY_LINE.search(base):
            raise ValueError("the base params file has no 'homography:' line to replace")
        return header + _HOMOGRAPHY_LINE.sub(
            lambda m: f'{m.group(1)}homography: {value}', base, count=1
        )
    return header + '/**:\n  ros__parameters:\n' + f'    homography: {value}\n'


def write_params(
    path: Path, h: np.ndarray, comments: Iterable[str], base: Path | None = None
) -> Path:
    """Write the params file (atomically: a failed write leaves no half file)."""
    comments = [
        f'written by fusion-ros register, {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC',
        *comments,
        'homography: raw thermal pixel (x, y) -> visible pixel, row-major 3x3 (fusion_node)',
        f'use: ros2 launch fusion_ros fuse.launch.py params_file:={path}',
    ]
    text = params_text(h, comments, base.read_text() if base else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(text)
    tmp.replace(path)
    return path


def read_homography(path: Path) -> np.ndarray:
    """Return the homography of a params file (any node key), as a 3x3 array."""
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    for node in (data or {}).values():
        values = (node or {}).get('ros__parameters', {}).get('homography')
        if values is not None:
            if len(values) != 9:
                raise ValueError(f'{path}: homography has {len(values)} values, expected 9')
            return np.asarray(values, dtype=np.float64).reshape(3, 3)
    raise ValueError(f'{path}: no ros__parameters.homography')
