# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MobileFuse's synthetic training data: fusion pairs with ground truth from single natural images.

Perreault et al. (MobileFuse) train without registered pairs or thermal images: from natural images
with instance masks they synthesise

- **multi-lighting** pairs: one brightened / over-saturated copy and one darkened copy of the
  image;
- **multi-focus** pairs: one copy with the foreground sharp and the background Gaussian-blurred,
  one with the reverse;

the original image is the ground truth, and every batch holds as many pairs of each kind. A
network that blends the two copies back into the original must learn to prefer, locally, the
well-exposed and the in-focus source: the same "pick the informative source" decision as IR/visible
fusion, learned with exact supervision.

Our choices (the paper's Pascal VOC instance masks are not available here):

- **Source images**: luminance of unregistered natural images, by default the *visible* images of
  `llvip/train/vi` (optionally more folders, e.g. `mri_ct/MRI`). Never `llvip/test` or `tno`: they
  are the held-out evaluation sets (`HELD_OUT_SETS`, enforced). Folders are relative to
  `$FUSION_ROS_DATASETS` (default `<repo>/../shared/datasets`). Each sample is a random crop at a
  random scale (0.5-1x of the image stored at `max_side`) with random flips.
- **Foreground masks** (no annotations): a mix of four generators, so the network neither learns
  one shape prior nor only content-free shapes:
  * `blobs`: Gaussian-smoothed white noise thresholded at a random quantile - organic,
    multi-component regions of random size (content-free; covers any shape);
  * `ellipses`: 1-3 filled random ellipses - compact "object" shapes like instance masks;
  * `saliency`: spectral-residual saliency (Hou & Zhang, CVPR 2007; a few FFTs, no model or
    download needed - OpenCV's saliency module is contrib-only) thresholded at a random quantile -
    regions that stand out from their surroundings, i.e. where objects usually are;
  * `segments`: the smoothed image thresholded at a random quantile (brighter or darker side at
    random) - regions whose boundaries follow real image edges, as depth boundaries in real
    multi-focus scenes do.
  Masks are feathered (Gaussian, sigma 0.5-2 px) and kept between 10 % and 90 % of the patch.
- **Multi-lighting**: bright = clip(g*I + o)^gamma_b (g 1.6-3.5, o 0-0.15, gamma_b 0.6-1:
  highlights saturate at 1), dark = (s*I)^gamma_d (s 0.25-0.7, gamma_d 1-2). Half of the pairs are
  global exposures (as in the paper); half are *region-wise* (inside a mask, the bright copy is
  darkened and the dark copy brightened), which gives the blending mask spatial structure to learn,
  like an infrared target against a visible background.
- **Multi-focus**: blurred = Gaussian(I, sigma 1.2-4); A = M*I + (1-M)*blur, B = (1-M)*I + M*blur.
- **Channel roles**: the network's input is [img2 (channel 0, "infrared"), img1 (channel 1,
  "visible")] and its output ch1*M + ch0*(1-M); each pair's two copies go to the two channels in a
  random order, so the mask learns to pick either stream.

`SyntheticFusionDataset` plugs into `fusion_ros.training.trainer.fit` like a `PatchDataset`: one
*sample* is a balanced unit of one multi-lighting and one multi-focus pair, `patch(i)` a [6, crop,
crop] float32 array (lighting ch0, ch1, gt, focus ch0, ch1, gt); `split_units` turns a batch of
units into inputs [2B, 2, h, w] and targets [2B, 1, h, w]. A batch of B units therefore has exactly
B pairs of each kind. Sample i is deterministic in (seed, epoch, i) (`resample(epoch)` draws fresh
pairs each epoch), so resumed runs see the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Sequence

import cv2
from fusion_ros.images.demo_sequence import DEMO_DIR
from fusion_ros.images.folders import image_files, read_visible, resize_max_side
import numpy as np
import torch

from .data import datasets_root, HELD_OUT_SETS, resolve_data_path, visible_to_luminance

DEFAULT_IMAGE_DIRS: tuple[str, ...] = ('llvip/train/vi',)
KINDS = ('lighting', 'focus')
MASK_KINDS = ('blobs', 'ellipses', 'saliency', 'segments')
MASK_PROBS = (0.3, 0.2, 0.25, 0.25)


# --- source images ------------------------------------------------------------------------------


def _is_held_out(path: Path) -> bool:
    root = datasets_root().resolve()
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        return False
    return any(rel == h or rel.startswith(h + '/') for h in HELD_OUT_SETS)


def _natural_image_files(folder: str | os.PathLike) -> dict[str, Path]:
    """{stem: file} of one natural-image folder.

    `demo` names the bundled demo sequence's visible images (tiny test configs: every checkout has
    them).
    """
    if str(folder) == 'demo':
        return {f.stem: f for f in sorted(DEMO_DIR.glob('vi_*.png'))}
    path = resolve_data_path(folder)
    if _is_held_out(path):
        raise ValueError(
            f'{folder} is a held-out evaluation set ({", ".join(HELD_OUT_SETS)}); '
            'do not train on it'
        )
    return image_files(path)


def load_natural_images(
    folders: Sequence[str | os.PathLike] = DEFAULT_IMAGE_DIRS,
    max_side: int | None = 800,
    limit: int | None = None,
    exclude: Sequence[str] = (),
) -> list[np.ndarray]:
    """Return the luminance (float32 HxW in [0, 1]) of every image in `folders`.

    The folders are relative to the dataset root; the longer side is resized to at most
    `max_side`; `limit` images per folder; file stems in `exclude` are skipped (the recipe passes
    its validation pairs' names). Refuses the held-out evaluation sets.
    """
    images: list[np.ndarray] = []
    for folder in folders:
        files = [f for stem, f in _natural_image_files(folder).items() if stem not in set(exclude)]
        if limit:
            files = files[:limit]
        for f in files:
            images.append(
                np.ascontiguousarray(
                    resize_max_side(visible_to_luminance(read_visible(f)), max_side)
                )
            )
    if not images:
        raise FileNotFoundError(f'no images found in {list(folders)}')
    return images


def random_crop(
    rng: np.random.Generator, image: np.ndarray, crop: int, scale: tuple[float, float] = (0.5, 1.0)
) -> np.ndarray:
    """Return a crop x crop patch of `image` at a random scale, randomly flipped and rotated.

    The scale change is an area resize.
    """
    h, w = image.shape
    s = rng.uniform(*scale)
    side = int(round(crop / s))
    side = max(crop // 2, min(side, h, w))
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    p = image[y: y + side, x: x + side]
    if side != crop:
        p = cv2.resize(
            p, (crop, crop), interpolation=cv2.INTER_AREA if side > crop else cv2.INTER_LINEAR
        )
    f = int(rng.integers(0, 8))
    if f & 1:
        p = p[:, ::-1]
    if f & 2:
        p = p[::-1, :]
    if f & 4:
        p = p.T
    return np.ascontiguousarray(p, dtype=np.float32)


# --- masks --------------------------------------------------------------------------------------


def blob_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Thresholded smooth noise: organic regions, 1..many components (binary float32)."""
    sigma = rng.uniform(0.06, 0.2) * min(h, w)
    noise = cv2.GaussianBlur(
        rng.standard_normal((h, w)).astype(np.float32),
        (0, 0),
        sigma,
        borderType=cv2.BORDER_REFLECT,
    )
    return (noise > np.quantile(noise, rng.uniform(0.3, 0.7))).astype(np.float32)


def ellipse_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """1-3 filled random ellipses (binary float32)."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.uniform(0.12, 0.45) * w), int(rng.uniform(0.12, 0.45) * h))
        cv2.ellipse(m, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return m.astype(np.float32)


def spectral_residual_saliency(image: np.ndarray) -> np.ndarray:
    """Hou & Zhang's spectral residual saliency (CVPR 2007) at <= 64 px, upsampled back."""
    h, w = image.shape
    scale = 64.0 / max(h, w)
    small = (
        cv2.resize(
            image,
            (max(8, round(w * scale)), max(8, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )
        if scale < 1
        else image
    )
    spec = np.fft.fft2(small)
    log_amp = np.log(np.abs(spec) + 1e-8).astype(np.float32)
    residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REFLECT)
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
    return cv2.resize(sal, (w, h), interpolation=cv2.INTER_LINEAR)


def saliency_mask(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Return the most salient 15-50 % of the patch (binary float32)."""
    sal = spectral_residual_saliency(image)
    return (sal > np.quantile(sal, 1.0 - rng.uniform(0.15, 0.5))).astype(np.float32)


def segment_mask(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Return the brighter (or darker) side of the smoothed image at a random quantile.

    Edges follow the image's own boundaries (binary float32).
    """
    smooth = cv2.GaussianBlur(image, (0, 0), rng.uniform(1.5, 4.0), borderType=cv2.BORDER_REFLECT)
    m = smooth > np.quantile(smooth, rng.uniform(0.3, 0.7))
    return (m if rng.random() < 0.5 else ~m).astype(np.float32)


def random_mask(
    rng: np.random.Generator, image: np.ndarray, kind: str | None = None
) -> np.ndarray:
    """Return a feathered foreground mask in [0, 1] for `image`, covering 10-90 % of the patch.

    The kind is drawn from MASK_KINDS unless given; an ellipse replaces masks outside that range.
    """
    h, w = image.shape
    kind = kind or MASK_KINDS[int(rng.choice(len(MASK_KINDS), p=MASK_PROBS))]
    if kind == 'blobs':
        m = blob_mask(rng, h, w)
    elif kind == 'ellipses':
        m = ellipse_mask(rng, h, w)
    elif kind == 'saliency':
        m = saliency_mask(rng, image)
    elif kind == 'segments':
        m = segment_mask(rng, image)
    else:
        raise KeyError(f'unknown mask kind {kind!r}; known: {MASK_KINDS}')
    frac = float(m.mean())
    if not 0.1 <= frac <= 0.9:
        for _ in range(8):
            m = ellipse_mask(rng, h, w)
            if 0.1 <= float(m.mean()) <= 0.9:
                break
        else:  # degenerate tiny patch: a half-plane
            m = np.zeros((h, w), np.float32)
            m[:, : max(1, w // 2)] = 1.0
    m = cv2.GaussianBlur(m, (0, 0), rng.uniform(0.5, 2.0), borderType=cv2.BORDER_REFLECT)
    return np.clip(m, 0.0, 1.0).astype(np.float32)


# --- pairs --------------------------------------------------------------------------------------


def brighten(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Over-exposed copy: gain, offset and a gamma < 1; highlights clip (saturate) at 1."""
    g, o, gamma = rng.uniform(1.6, 3.5), rng.uniform(0.0, 0.15), rng.uniform(0.6, 1.0)
    return np.clip(image * g + o, 0.0, 1.0) ** gamma


def darken(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Under-exposed copy: gain < 1 and a gamma > 1."""
    return (image * rng.uniform(0.25, 0.7)) ** rng.uniform(1.0, 2.0)


def multi_lighting_pair(
    rng: np.random.Generator, image: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(bright, dark) copies of `image`.

    With `mask`, region-wise: inside the mask the bright copy is the dark one and vice versa (each
    copy is well/over/under-exposed in different places).
    """
    bright, dark = brighten(rng, image), darken(rng, image)
    if mask is not None:
        bright, dark = bright * (1 - mask) + dark * mask, dark * (1 - mask) + bright * mask
    return bright.astype(np.float32), dark.astype(np.float32)


def multi_focus_pair(
    rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, sigma: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(foreground sharp / background blurred, background sharp / foreground blurred)."""
    sigma = rng.uniform(1.2, 4.0) if sigma is None else sigma
    blurred = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    fg_sharp = mask * image + (1 - mask) * blurred
    bg_sharp = (1 - mask) * image + mask * blurred
    return fg_sharp.astype(np.float32), bg_sharp.astype(np.float32)


@dataclass
class SyntheticPair:
    """One synthetic pair.

    `x` [2, h, w] network input (channel 0 plays infrared, 1 visible), `gt` [h, w] the original
    patch, `kind` "lighting" | "focus", `mask` the mask used (foreground of the focus pair /
    exposure regions; all zeros for global lighting), `swapped` whether the first copy went to
    channel 0.
    """

    x: np.ndarray
    gt: np.ndarray
    kind: str
    mask: np.ndarray
    swapped: bool


def make_pair(
    rng: np.random.Generator, patch: np.ndarray, kind: str, local_lighting_prob: float = 0.5
) -> SyntheticPair:
    """Synthesise one pair of `kind` from a patch (the ground truth)."""
    if kind == 'lighting':
        mask = (
            random_mask(rng, patch) if rng.random() < local_lighting_prob else np.zeros_like(patch)
        )
        first, second = multi_lighting_pair(rng, patch, mask if mask.any() else None)
    elif kind == 'focus':
        mask = random_mask(rng, patch)
        first, second = multi_focus_pair(rng, patch, mask)
    else:
        raise KeyError(f'unknown synthetic pair kind {kind!r}; known: {KINDS}')
    swapped = bool(rng.random() < 0.5)
    x = np.stack([first, second] if swapped else [second, first])
    return SyntheticPair(
        x.astype(np.float32), patch.astype(np.float32), kind, mask.astype(np.float32), swapped
    )


class SyntheticFusionDataset:
    """Balanced multi-lighting + multi-focus units from natural images (see the module docstring).

    `len` = `units`; `patch(i)` -> [6, crop, crop] float32; `pairs(i)` -> the two `SyntheticPair`s.
    Deterministic in (seed, epoch, i).
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        crop: int = 128,
        units: int = 512,
        seed: int = 0,
        scale: tuple[float, float] = (0.5, 1.0),
        local_lighting_prob: float = 0.5,
    ) -> None:
        if not images:
            raise ValueError('SyntheticFusionDataset needs at least one image')
        self.images = [np.asarray(im, np.float32) for im in images]
        self.crop = int(crop)
        self.units = int(units)
        self.seed = int(seed)
        self.scale = tuple(scale)
        self.local_lighting_prob = float(local_lighting_prob)
        self.epoch = 0
        small = min(min(im.shape) for im in self.images)
        if small < self.crop:
            self.images = [_pad_to(im, self.crop) for im in self.images]

    @classmethod
    def from_folders(
        cls,
        folders: Sequence[str] = DEFAULT_IMAGE_DIRS,
        max_side: int | None = 800,
        limit: int | None = None,
        **kwargs,
    ) -> 'SyntheticFusionDataset':
        return cls(load_natural_images(folders, max_side, limit), **kwargs)

    def __len__(self) -> int:
        return self.units

    def resample(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rng(self, index: int, part: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index), part])

    def pairs(self, index: int) -> tuple[SyntheticPair, SyntheticPair]:
        out = []
        for part, kind in enumerate(KINDS):
            rng = self._rng(index, part)
            image = self.images[int(rng.integers(len(self.images)))]
            out.append(
                make_pair(
                    rng,
                    random_crop(rng, image, self.crop, self.scale),
                    kind,
                    self.local_lighting_prob,
                )
            )
        return out[0], out[1]

    def patch(self, index: int) -> np.ndarray:
        light, focus = self.pairs(index)
        return np.concatenate([light.x, light.gt[None], focus.x, focus.gt[None]]).astype(
            np.float32
        )

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.patch(int(index)))

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (inputs [2B, 2, h, w], targets [2B, 1, h, w]) for units `indices`."""
        return split_units(torch.stack([self[int(i)] for i in indices]))


def split_units(units: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, 6, h, w] units -> (inputs [2B, 2, h, w], ground truth [2B, 1, h, w]).

    Rows 0..B-1 are the multi-lighting pairs, B..2B-1 the multi-focus pairs.
    """
    if units.ndim != 4 or units.shape[1] != 6:
        raise ValueError(f'expected [B, 6, h, w] synthetic units, got {tuple(units.shape)}')
    light, focus = units[:, 0:3], units[:, 3:6]
    both = torch.cat([light, focus], dim=0)
    return both[:, 0:2], both[:, 2:3]


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape
    return np.pad(image, ((0, max(0, size - h)), (0, max(0, size - w))), mode='reflect')
