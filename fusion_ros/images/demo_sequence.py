# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The bundled demo sequence: TNO pairs turned into a 30 Hz two-camera stream (no ROS, no torch).

Why synthesise motion: four still pairs would make a boring and unrealistic stream, so a 640x512
window pans slowly across each scene (the same window for both cameras, so the pair stays
registered), holding each scene for `seconds_per_scene`. The thermal camera is triggered
`thermal_offset_ms` after the visible one, as two free-running cameras would be, so the
synchroniser has real work to do. Thermal can be rendered as 16-bit radiometric counts
(`mono16`) to exercise automatic gain control, as a real radiometric camera would deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

DEMO_DIR = Path(__file__).resolve().parent.parent / 'data' / 'demo'
#: The demo cameras' frame ids (the live demo source and the sample bags).
VISIBLE_FRAME_ID = 'camera_visible_optical_frame'
THERMAL_FRAME_ID = 'camera_thermal_optical_frame'


def demo_pair_names() -> list[str]:
    """Scene ids of the bundled pairs, e.g. ['01', '04', ...]."""
    return sorted(p.stem[3:] for p in DEMO_DIR.glob('ir_*.png'))


def load_demo_pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (visible, thermal) uint8 grayscale images of one bundled scene."""
    vis = cv2.imread(str(DEMO_DIR / f'vi_{name}.png'), cv2.IMREAD_GRAYSCALE)
    ir = cv2.imread(str(DEMO_DIR / f'ir_{name}.png'), cv2.IMREAD_GRAYSCALE)
    if vis is None or ir is None:
        raise FileNotFoundError(f'demo pair {name!r} missing from {DEMO_DIR}')
    return vis, ir


def thermal_to_counts(thermal8: np.ndarray) -> np.ndarray:
    """Map 8-bit thermal to plausible 16-bit radiometric counts.

    Offset + gain, like a Boson/Lepton.
    """
    return (thermal8.astype(np.uint16) * 24 + 21000).astype(np.uint16)


@dataclass(frozen=True)
class DemoFrame:
    """One visible/thermal capture with its own capture times (seconds from stream start)."""

    index: int
    scene: str
    visible: np.ndarray  # HxWx3 uint8 BGR
    thermal: np.ndarray  # HxW uint8 or uint16
    visible_time: float
    thermal_time: float


@dataclass
class DemoSequence:
    """Iterates frames of the panning two-camera stream."""

    width: int = 640
    height: int = 512
    fps: float = 30.0
    seconds_per_scene: float = 2.0
    thermal_offset_ms: float = 4.0
    thermal_encoding: str = 'mono16'

    def __post_init__(self) -> None:
        if self.thermal_encoding not in ('mono8', 'mono16'):
            raise ValueError('thermal_encoding must be mono8 or mono16')
        self._scenes = []
        for name in demo_pair_names():
            vis, ir = load_demo_pair(name)
            scale = max(self.width * 1.15 / vis.shape[1], self.height * 1.15 / vis.shape[0], 1.0)
            size = (int(round(vis.shape[1] * scale)), int(round(vis.shape[0] * scale)))
            vis = cv2.cvtColor(
                cv2.resize(vis, size, interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR
            )
            ir = cv2.resize(ir, size, interpolation=cv2.INTER_AREA)
            if self.thermal_encoding == 'mono16':
                ir = thermal_to_counts(ir)
            self._scenes.append((name, vis, ir))

    @property
    def frames_per_scene(self) -> int:
        return max(1, int(round(self.seconds_per_scene * self.fps)))

    def __len__(self) -> int:
        return self.frames_per_scene * len(self._scenes)

    def frame(self, index: int) -> DemoFrame:
        """Frame `index` (wraps around), cropped views into the scene images (no copy)."""
        per = self.frames_per_scene
        name, vis, ir = self._scenes[(index // per) % len(self._scenes)]
        progress = (index % per) / max(per - 1, 1)
        x = int(round(progress * (vis.shape[1] - self.width)))
        y = int(round(progress * (vis.shape[0] - self.height) * 0.5))
        t = index / self.fps
        return DemoFrame(
            index,
            name,
            vis[y: y + self.height, x: x + self.width],
            ir[y: y + self.height, x: x + self.width],
            t,
            t + self.thermal_offset_ms / 1000.0,
        )

    def __iter__(self) -> Iterator[DemoFrame]:
        return (self.frame(i) for i in range(len(self)))
