# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Online alignment check.

Is the thermal image, warped by the node's homography, still on the visible edges? (Cheap enough
for every Nth frame: both images at ~320 px, one small NCC search.)

`alignment_check` returns the residual shift (visible px) that would line the warped thermal edges
up with the visible edges better, and the edge correlation there; a scene without common structure
(night sky, fog, lens cap) is *inconclusive* rather than misaligned. `AlignmentMonitor` turns a
stream of checks into OK / WARN with a hold time, for /diagnostics.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math

import cv2
from fusion_ros.registration.blocks import subpixel_peak
from fusion_ros.registration.features import edge_image, to_gray
from fusion_ros.registration.geometry import pixel_scale
import numpy as np

WARN_MESSAGE = 'thermal/visible alignment degraded: re-run fusion-ros register'


@dataclass(frozen=True)
class AlignmentCheck:
    shift_px: tuple[float, float]  # (dx, dy) in visible px that would align better
    correlation: float  # edge NCC at the best shift
    conclusive: bool  # enough common structure to judge

    @property
    def misalignment_px(self) -> float:
        return float(math.hypot(*self.shift_px))


def alignment_check(
    visible: np.ndarray,
    thermal: np.ndarray,
    homography: np.ndarray,
    work_width: int = 320,
    radius_px: float = 16.0,
    min_correlation: float = 0.08,
) -> AlignmentCheck:
    """Score one pair under `homography` (raw thermal px -> visible px, the node's parameter)."""
    vh, vw = visible.shape[:2]
    f = min(1.0, work_width / vw)
    size = (max(16, round(vw * f)), max(16, round(vh * f)))
    s = pixel_scale(size[0] / vw, size[1] / vh)
    v_small = to_gray(cv2.resize(visible, size, interpolation=cv2.INTER_AREA))
    th_h, th_w = thermal.shape[:2]
    t_f = min(
        1.0, 1.5 * size[0] / max(1, th_w)
    )  # shrink a big thermal first (cheap, anti-aliased)
    t_small = to_gray(
        cv2.resize(thermal, None, fx=t_f, fy=t_f, interpolation=cv2.INTER_AREA)
        if t_f < 1
        else thermal
    )
    t_scale = pixel_scale(t_small.shape[1] / th_w, t_small.shape[0] / th_h)
    h = s @ np.asarray(homography, np.float64).reshape(3, 3) @ np.linalg.inv(t_scale)
    warped = cv2.warpPerspective(edge_image(t_small), h, size, flags=cv2.INTER_LINEAR)
    valid = cv2.warpPerspective(np.ones(t_small.shape, np.uint8), h, size, flags=cv2.INTER_NEAREST)
    r = max(2, int(math.ceil(radius_px * f)))
    ys, xs = np.nonzero(valid)
    none = AlignmentCheck((float('nan'), float('nan')), float('nan'), False)
    if len(xs) == 0:
        return none
    x0, x1 = max(int(xs.min()) + 1, r), min(int(xs.max()) - 1, size[0] - 1 - r)
    y0, y1 = max(int(ys.min()) + 1, r), min(int(ys.max()) - 1, size[1] - 1 - r)
    tmpl = warped[y0: y1 + 1, x0: x1 + 1]
    if tmpl.shape[0] < 16 or tmpl.shape[1] < 16 or float(tmpl.std()) < 1e-6:
        return none
    scores = cv2.matchTemplate(
        edge_image(v_small)[y0 - r: y1 + 1 + r, x0 - r: x1 + 1 + r], tmpl, cv2.TM_CCOEFF_NORMED
    )
    px, py, peak = subpixel_peak(scores)
    shift = ((px - r) / f, (py - r) / f)
    on_edge = not (0 < px < 2 * r and 0 < py < 2 * r)
    return AlignmentCheck(
        (float(shift[0]), float(shift[1])), peak, peak >= min_correlation and not on_edge
    )


class AlignmentMonitor:
    """OK / WARN from recent checks.

    WARN once the median misalignment of the last `window` conclusive checks has exceeded
    `threshold_px` for `hold_s` seconds; OK again as soon as it is back below. Inconclusive checks
    (no common structure) change nothing.
    """

    def __init__(self, threshold_px: float = 2.5, hold_s: float = 2.0, window: int = 3) -> None:
        self.threshold_px, self.hold_s = float(threshold_px), float(hold_s)
        self._recent: deque[float] = deque(maxlen=max(1, int(window)))
        self._bad_since: float | None = None
        self.last: AlignmentCheck | None = None

    def update(self, check: AlignmentCheck, now_s: float) -> None:
        self.last = check
        if not check.conclusive:
            return
        self._recent.append(check.misalignment_px)
        if self.median_px is not None and self.median_px > self.threshold_px:
            self._bad_since = now_s if self._bad_since is None else self._bad_since
        else:
            self._bad_since = None

    @property
    def median_px(self) -> float | None:
        return float(np.median(self._recent)) if self._recent else None

    def degraded(self, now_s: float) -> bool:
        return self._bad_since is not None and now_s - self._bad_since >= self.hold_s

    def status(self, now_s: float) -> tuple[str, str]:
        """('OK' | 'WARN', message) for a diagnostic status."""
        if self.degraded(now_s):
            return 'WARN', f'{WARN_MESSAGE} (median residual {self.median_px:.1f} px)'
        if self.median_px is None:
            return 'OK', 'alignment not judged yet (no common structure seen)'
        return 'OK', f'alignment residual {self.median_px:.1f} px'
