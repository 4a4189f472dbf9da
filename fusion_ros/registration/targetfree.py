# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Target-free thermal->visible registration of a fixed rig from many scene pairs at once.

1. `coarse_search`: scale / rotation / offset by edge cross-correlation summed over all pairs.
2. Coarse to fine: block matching of the edge images with each block's correlation maps summed
   over all pairs (`blocks.match_blocks`), a robust homography through the block peaks, repeated
   until it settles. One cross-modal pair constrains a homography poorly; the rig is fixed, so all
   pairs vote together.
3. Each pair's own block peaks give its own homography; pairs far from the consensus (parallax,
   moving objects, a mismatched frame) are dropped and the finest level re-run. Too few agreeing
   pairs raise RegistrationError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Sequence

from fusion_ros.registration.blocks import fit_homography, match_blocks
from fusion_ros.registration.features import downscale, edge_image, is_textured, to_gray
from fusion_ros.registration.geometry import (
    check_plausible,
    corners,
    RegistrationError,
    resize_scale,
    transform,
)
from fusion_ros.registration.search import coarse_search
import numpy as np

#: Width (px) of the coarsest level; levels double up to full resolution.
COARSEST_WIDTH = 160
#: The finest level is at most this wide (px): larger visible images are matched at half (or a
#: quarter) resolution, 4x (16x) cheaper; the homography is still in full-resolution px.
MAX_WIDTH = 1024
#: A pair agrees when its own estimate puts the thermal corners within this many visible px
#: (mean) of the consensus; single cross-modal pairs are noisy, so this is loose.
AGREE_PX = 12.0
#: Side-by-side cameras give a nearly affine homography: magnification may vary at most this much
#: across the thermal frame (bench rigs reach 1.06; a 5 deg toe-in between the cameras ~1.1).
MAX_SCALE_SPREAD = 1.15
#: Rounds of block matching per pyramid level (stops earlier once settled).
ROUNDS = 4
#: Block search radius (level px).
RADIUS = 5


@dataclass
class PairEstimate:
    """One pair's own estimate and how far it is from the consensus."""

    name: str
    homography: np.ndarray | None = None
    deviation: float = float('nan')  # mean thermal-corner distance from the consensus (visible px)
    blocks: int = 0  # blocks where this pair's own correlation peak was usable
    error: str | None = None
    inlier: bool = False


@dataclass
class Registration:
    """A homography (thermal px -> visible px) and the evidence behind it."""

    homography: np.ndarray
    thermal_size: tuple[int, int]
    visible_size: tuple[int, int]
    method: str
    pairs: list[PairEstimate] = field(default_factory=list)
    blocks: int = 0  # correspondences behind the final fit

    @property
    def inliers(self) -> int:
        return sum(p.inlier for p in self.pairs)


def _levels(width: int, max_width: int = MAX_WIDTH) -> list[float]:
    """Pyramid factors, coarsest first, ending at 1 (or the largest 1/2^k within max_width)."""
    n = max(0, int(math.floor(math.log2(max(1.0, width / COARSEST_WIDTH)))))
    factors = [0.5**k for k in range(n, -1, -1)]
    return [f for f in factors if f * width <= max_width] or factors[:1]


def _refine(
    ir: Sequence[np.ndarray], vis: Sequence[np.ndarray], h: np.ndarray, factors: Sequence[float]
):
    """Block-matching rounds at each pyramid factor in turn (h in full-resolution px).

    Returns h and the last round's matches (full-resolution px).
    """
    t_wh, v_wh = (ir[0].shape[1], ir[0].shape[0]), (vis[0].shape[1], vis[0].shape[0])
    matches = None
    for f in factors:
        t_lv = [downscale(t, f) for t in ir]
        v_lv = [downscale(v, f) for v in vis]
        t_edges, v_edges = [edge_image(t) for t, _ in t_lv], [edge_image(v) for v, _ in v_lv]
        to_t, to_v = resize_scale(t_wh, t_lv[0][1]), resize_scale(v_wh, v_lv[0][1])
        hl = to_v @ h @ np.linalg.inv(to_t)
        for _ in range(ROUNDS):
            m = match_blocks(t_edges, v_edges, hl / hl[2, 2], RADIUS)
            new = fit_homography(m.thermal, m.visible, threshold=4.0)
            if new is None:
                break
            c = corners(*t_lv[0][1])
            move = float(np.abs(transform(new, c) - transform(hl, c)).max())
            hl, matches = new, (m, to_t, to_v)
            if move < 0.05:
                break
        h = np.linalg.inv(to_v) @ hl @ to_t
        h /= h[2, 2]
    return h, matches


def _judge(
    estimates: list[PairEstimate],
    use: Sequence[int],
    matches,
    h: np.ndarray,
    t_wh: tuple[int, int],
) -> None:
    """Each pair's own homography from its own block peaks, and its distance from h."""
    m, to_t, to_v = matches
    c = corners(*t_wh)
    for row, k in enumerate(use):
        e = estimates[k]
        own = m.per_pair[row]
        ok = np.all(np.isfinite(own), axis=1)
        e.blocks = int(ok.sum())
        hk = fit_homography(m.thermal[ok], own[ok], threshold=4.0) if e.blocks >= 6 else None
        if hk is None:
            e.error, e.inlier, e.homography = f'too few matching blocks ({e.blocks})', False, None
            continue
        e.homography = np.linalg.inv(to_v) @ hk @ to_t
        e.homography /= e.homography[2, 2]
        e.deviation = float(
            np.linalg.norm(transform(e.homography, c) - transform(h, c), axis=1).mean()
        )
        e.inlier = e.deviation <= AGREE_PX
        e.error = None if e.inlier else f'own estimate {e.deviation:.1f} px from the consensus'


def _require_agreement(estimates: list[PairEstimate]) -> None:
    n, inliers = len(estimates), sum(e.inlier for e in estimates)
    need = 1 if n == 1 else max(2, math.ceil(0.5 * n))
    if inliers < need:
        reasons = '; '.join(f'{e.name}: {e.error}' for e in estimates if e.error)[:500]
        raise RegistrationError(
            f'inconsistent or unusable pairs: only {inliers} of {n} agree with the estimate '
            f'(need {need}): {reasons}. Use more pairs with structure both cameras see '
            '(buildings, poles, road edges; not sky or water), or --target'
        )


def register_pairs(
    thermals: Sequence[np.ndarray],
    visibles: Sequence[np.ndarray],
    names: Sequence[str] | None = None,
    fov_range: tuple[float, float] = (0.5, 1.1),
    max_width: int = MAX_WIDTH,
) -> Registration:
    """Estimate the rig's thermal->visible homography from scene pairs.

    Raw images: thermal uint8/ uint16 grey, visible grey or BGR. Raises RegistrationError when the
    pairs do not agree. fov_range: thermal field of view searched, as fractions of the visible
    width; max_width: the finest matching level's largest width (px).
    """
    if len(thermals) == 0 or len(thermals) != len(visibles):
        raise RegistrationError(
            f'need matching thermal and visible images, got {len(thermals)} and {len(visibles)}'
        )
    names = list(names) if names is not None else [f'pair{k:03d}' for k in range(len(thermals))]
    ir, vis = [to_gray(t) for t in thermals], [to_gray(v) for v in visibles]
    for kind, imgs in (('thermal', ir), ('visible', vis)):
        if len({i.shape for i in imgs}) > 1:
            raise RegistrationError(
                f'{kind} images differ in size {sorted({i.shape for i in imgs})}; '
                'one rig has one size per camera'
            )
    estimates = [PairEstimate(n) for n in names]
    for e, t, v in zip(estimates, ir, vis):
        if not (is_textured(edge_image(t)) and is_textured(edge_image(v))):
            e.error = 'flat image (no edges)'
    use = [k for k, e in enumerate(estimates) if not e.error]
    if not use:
        raise RegistrationError('no pair has edges in both images (blank, flat or capped lens)')
    t_wh, v_wh = (ir[0].shape[1], ir[0].shape[0]), (vis[0].shape[1], vis[0].shape[0])
    sub_ir, sub_vis = [ir[k] for k in use], [vis[k] for k in use]
    h0, _ = coarse_search(sub_ir, sub_vis, fov_range)
    levels = _levels(v_wh[0], max_width)
    h, matches = _refine(sub_ir, sub_vis, h0, levels)
    if matches is None:
        raise RegistrationError('no edge structure matched between the cameras (no usable blocks)')
    _judge(estimates, use, matches, h, t_wh)
    agreeing = [k for k in use if estimates[k].inlier]
    if 0 < len(agreeing) < len(use) and len(agreeing) >= max(1, len(use) // 2):
        h, matches = _refine([ir[k] for k in agreeing], [vis[k] for k in agreeing], h, levels[-1:])
        if matches is None:
            raise RegistrationError(
                'no edge structure matched between the cameras (no usable blocks)'
            )
        _judge(estimates, agreeing, matches, h, t_wh)
    _require_agreement(estimates)
    check_plausible(h, t_wh, v_wh, MAX_SCALE_SPREAD)
    return Registration(
        h,
        t_wh,
        v_wh,
        'target-free (edge blocks summed over pairs)',
        estimates,
        len(matches[0].thermal),
    )
