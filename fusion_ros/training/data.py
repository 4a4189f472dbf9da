# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Training data: registered IR/visible pairs in memory, splits, and fixed random patches.

Interface (stable; other recipes build on it):

- `Pair(name, ir, vis, vis_bgr=None)`: one registered pair; `ir` and `vis` are float32 HxW in
  [0, 1] (`vis` is the luminance Y of YCrCb for colour images), `vis_bgr` the original colour uint8
  image when kept.
- `load_pairs(ir_dir, vis_dir, limit=None, max_side=None, keep_color=False) -> list[Pair]`:
  folders matched by file stem (see `fusion_ros.images.folders`).
- `load_pairs_from_source(spec)`: the extension point for other sources (folder pairs, a callable,
  or a named source such as a rosbag2 via `fusion_ros.bags.pairs_from_bag`), see `SOURCES`.
- `split_pairs(pairs, val_fraction, seed) -> (train, val)`: deterministic, by pair (never by
  patch).
- `PatchDataset(pairs, crop, patches_per_pair, augment, seed)`: a torch Dataset of
  `[2, crop, crop]` float32 tensors (infrared first). Sample `i` is always the same patch (same
  pair, position and flips) for a given seed, so recipes that keep per-sample state (MMDRFuse's
  dynamic refresh) can index it by sample id; `return_index=True` makes items `(tensor, index)`.
  `resample(epoch)` draws new positions for recipes that want fresh patches every epoch.

Dataset root: env `FUSION_ROS_DATASETS`, default `<repo>/../shared/datasets`; relative paths in
configs are resolved against it (`resolve_data_path`).
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import cv2
from fusion_ros.images.folders import (
    matched_pairs,
    read_thermal,
    read_visible,
    resize_max_side,
    thermal_to_unit,
    visible_to_luminance,
)
import numpy as np
import torch
from torch.utils.data import Dataset

# Re-exported: the datasets root lives in validation, which is torch-free.
from .validation import datasets_root  # noqa: F401

DEFAULT_TRAIN_IR = 'llvip/train/ir'
DEFAULT_TRAIN_VIS = 'llvip/train/vi'
# Held out entirely from training: the project's evaluation sets.
HELD_OUT_SETS = ('llvip/test', 'tno')


def resolve_data_path(path: str | os.PathLike) -> Path:
    """Absolute paths and paths that exist from the current directory are kept.

    Other relative paths are taken relative to `datasets_root()` (so configs can say
    `llvip/train/ir`).
    """
    p = Path(os.path.expandvars(os.path.expanduser(str(path))))
    if p.is_absolute() or p.exists():
        return p
    return datasets_root() / p


@dataclass
class Pair:
    """One registered pair in memory."""

    name: str
    ir: np.ndarray  # float32 HxW in [0, 1]
    vis: np.ndarray  # float32 HxW in [0, 1], luminance (Y of YCrCb) for colour sources
    vis_bgr: np.ndarray | None = None  # uint8 HxWx3 when the visible image is colour and kept
    source: str = (
        ''  # name of the source it came from (validation split and reports are per source)
    )
    patches: int | None = (
        None  # patches drawn from it per epoch (None = the config's patches_per_pair)
    )

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.ir.shape[0]), int(self.ir.shape[1])

    def stacked(self) -> np.ndarray:
        """[2, H, W] float32, infrared first: the network input convention."""
        return np.stack([self.ir, self.vis]).astype(np.float32, copy=False)


def make_pair(
    name: str,
    ir_image: np.ndarray,
    vis_image: np.ndarray,
    max_side: int | None = None,
    keep_color: bool = False,
) -> Pair:
    """Build a `Pair` from raw decoded images (thermal uint8/uint16, visible gray or BGR uint8).

    The visible image is resized to the infrared size if they differ (registered pairs of
    different resolution); `max_side` then downsizes both (area interpolation).
    """
    ir = thermal_to_unit(ir_image)
    if vis_image.shape[:2] != ir.shape[:2]:
        vis_image = cv2.resize(vis_image, (ir.shape[1], ir.shape[0]), interpolation=cv2.INTER_AREA)
    ir = resize_max_side(ir, max_side)
    vis_image = resize_max_side(vis_image, max_side)
    colour = vis_image.ndim == 3 and not (
        np.array_equal(vis_image[..., 0], vis_image[..., 1])
        and np.array_equal(vis_image[..., 1], vis_image[..., 2])
    )
    vis = visible_to_luminance(vis_image)
    return Pair(
        name=name,
        ir=np.ascontiguousarray(ir, np.float32),
        vis=np.ascontiguousarray(vis, np.float32),
        vis_bgr=vis_image if (keep_color and colour) else None,
    )


def load_pairs(
    ir_dir: str | os.PathLike,
    vis_dir: str | os.PathLike,
    limit: int | None = None,
    max_side: int | None = None,
    keep_color: bool = False,
) -> list[Pair]:
    """Load matched pairs from two folders (sorted by stem; the first `limit` if given)."""
    found = matched_pairs(resolve_data_path(ir_dir), resolve_data_path(vis_dir))
    if limit:
        found = found[:limit]
    return [
        make_pair(stem, read_thermal(ir_path), read_visible(vis_path), max_side, keep_color)
        for stem, ir_path, vis_path in found
    ]


# --- extension point for other sources -------------------------------------------------------
# A source spec is one of:
#   * a (ir_dir, vis_dir) tuple/list, or a dict {"ir": DIR, "vis": DIR, ...load_pairs kwargs}
#   * a callable returning a list of Pair (called with no arguments)
#   * a dict {"source": NAME, ...kwargs}: SOURCES[NAME](**kwargs) returns a list of Pair.
#   Dict specs may also set (not passed to the loader): `name` (the source's name, default the ir
#   folder), `patches_per_pair` (patches per pair of this source: sources of very different image
#   sizes or counts get a fair share, e.g. 1,083 MSRS 128x128 pairs against 89 LLVIP 640 px ones)
#   and `val_fraction` (this source's validation split, see `fusion_ros.training.validation`).
#     "folders" is built in; "bag" calls `fusion_ros.bags.pairs_from_bag(**kwargs)` (written by
#     the bags module; imported only when used); "demo" loads the bundled demo pairs (tests and
#     tiny configs only). Register more with `register_source`.


def _bag_source(**kwargs: Any) -> list[Pair]:
    from fusion_ros.bags import pairs_from_bag  # lazily: rosbags is not needed for folders

    return [Pair(p.name, p.ir, p.vis, p.vis_bgr) for p in pairs_from_bag(**kwargs)]


def _demo_source(
    limit: int | None = None, max_side: int | None = None, keep_color: bool = False
) -> list[Pair]:
    """Return the bundled demo pairs (`fusion_ros/data/demo`).

    The only pairs every checkout has, so the tiny test configs train anywhere, with no dataset
    folder. They are TNO scenes (a held-out evaluation set): never a source for a shipped model.
    """
    from fusion_ros.images.demo_sequence import demo_pair_names, load_demo_pair

    names = demo_pair_names()[:limit] if limit else demo_pair_names()
    pairs = []
    for name in names:
        vis, ir = load_demo_pair(name)
        pairs.append(make_pair(f'demo_{name}', ir, vis, max_side, keep_color))
    return pairs


SOURCES: dict[str, Callable[..., list[Pair]]] = {
    'folders': lambda ir, vis, **kw: load_pairs(ir, vis, **kw),
    'bag': _bag_source,
    'demo': _demo_source,
}
# sources that take the config-wide defaults (max_side, limit, keep_color) like folders do
_TAKES_DEFAULTS = {'folders', 'demo'}


def register_source(name: str, loader: Callable[..., list[Pair]]) -> None:
    """Make `{"source": name, ...}` specs load pairs with `loader(**kwargs)`."""
    SOURCES[name] = loader


SPEC_ONLY_KEYS = ('name', 'patches_per_pair', 'val_fraction')


def source_name(spec: Any) -> str:
    """Return a short name for a source spec (its `name`, else its ir folder, else its repr)."""
    if isinstance(spec, dict):
        return str(
            spec.get('name') or spec.get('ir') or spec.get('bag') or spec.get('source', 'source')
        )
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        return str(spec[0])
    return getattr(spec, '__name__', repr(spec))


def load_pairs_from_source(spec: Any, **defaults: Any) -> list[Pair]:
    """Load pairs from one source spec (see the comment above `SOURCES`).

    Every pair's `source` is set to `source_name(spec)` and its `patches` to the spec's
    `patches_per_pair` when given.

    `defaults` (e.g. `max_side`, `limit`, `keep_color`) apply to folder and named sources unless
    the spec sets them itself.
    """
    pairs = _load_spec(spec, defaults)
    name = source_name(spec)
    per_pair = spec.get('patches_per_pair') if isinstance(spec, dict) else None
    for p in pairs:
        p.source = p.source or name
        if per_pair is not None:
            p.patches = int(per_pair)
    return pairs


def _load_spec(spec: Any, defaults: dict[str, Any]) -> list[Pair]:
    if callable(spec):
        return list(spec())
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and not isinstance(spec[0], dict):
        return load_pairs(spec[0], spec[1], **defaults)
    if isinstance(spec, dict):
        spec = {k: v for k, v in spec.items() if k not in SPEC_ONLY_KEYS}
        kwargs = {**defaults, **spec}
        name = kwargs.pop('source', 'folders')
        if name not in SOURCES:
            raise KeyError(f'unknown pair source {name!r}; known: {", ".join(SOURCES)}')
        if name not in _TAKES_DEFAULTS:
            for key in ('max_side', 'limit', 'keep_color'):
                if key not in spec:
                    kwargs.pop(key, None)
        return list(SOURCES[name](**kwargs))
    raise TypeError(
        f'cannot load pairs from {spec!r}: give (ir_dir, vis_dir), a dict or a callable'
    )


def load_sources(specs: Iterable[Any], **defaults: Any) -> list[Pair]:
    """Concatenate the pairs of several source specs."""
    pairs: list[Pair] = []
    for spec in specs:
        pairs.extend(load_pairs_from_source(spec, **defaults))
    if not pairs:
        raise ValueError('no training pairs were loaded')
    return pairs


def split_pairs(
    pairs: Sequence[Pair], val_fraction: float, seed: int
) -> tuple[list[Pair], list[Pair]]:
    """Shuffle pairs with `seed` and hold out `round(val_fraction * n)` for validation.

    At least 1 is held out when val_fraction > 0 and there are 2+ pairs. Split by whole pair, so no
    patch of a validation image is ever trained on.
    """
    pairs = list(pairs)
    n_val = int(round(val_fraction * len(pairs)))
    if val_fraction > 0 and len(pairs) > 1:
        n_val = min(max(n_val, 1), len(pairs) - 1)
    order = np.random.default_rng(seed).permutation(len(pairs))
    val = [pairs[i] for i in sorted(order[:n_val])]
    train = [pairs[i] for i in sorted(order[n_val:])]
    return train, val


class PatchDataset(Dataset):
    """Fixed random patches of the pairs.

    `len = sum of each pair's count`, the count being `pair.patches` when set (per-source
    weighting) else `patches_per_pair`.

    Samples are numbered pair by pair (pair 0's patches first); a sample's position (and, with
    `augment`, its horizontal/vertical flips and 90-degree rotation for square crops) is drawn once
    from `seed`, so the same index always returns the same patch until `resample(epoch)` is called.
    Pairs smaller than `crop` are reflect-padded. `photometric` > 0 adds a fixed per-sample,
    per-modality gamma 2**u, u ~ U(-photometric, photometric) (LLVIP is all night scenes; without
    it a tiny network can learn a mapping that only works for dark images).
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        crop: int,
        patches_per_pair: int,
        augment: bool = True,
        seed: int = 0,
        return_index: bool = False,
        photometric: float = 0.0,
    ) -> None:
        if not pairs:
            raise ValueError('PatchDataset needs at least one pair')
        self.pairs = list(pairs)
        self.crop = int(crop)
        self.patches_per_pair = int(patches_per_pair)
        self.augment = augment
        self.seed = int(seed)
        self.return_index = return_index
        self.photometric = float(photometric)
        self._counts = np.array(
            [self.patches_per_pair if p.patches is None else int(p.patches) for p in self.pairs]
        )
        if self._counts.sum() < 1:
            raise ValueError('PatchDataset: no patches (every pair has a patch count of 0)')
        self._stacked = [self._padded(p.stacked()) for p in self.pairs]
        self.resample(0)

    def _padded(self, arr: np.ndarray) -> np.ndarray:
        h, w = arr.shape[1:]
        ph, pw = max(0, self.crop - h), max(0, self.crop - w)
        if ph or pw:
            arr = np.pad(
                arr, ((0, 0), (0, ph), (0, pw)), mode='reflect' if min(h, w) > 1 else 'edge'
            )
        return arr

    def resample(self, epoch: int) -> None:
        """Draw the patch table for `epoch` (epoch 0 is what the constructor uses)."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        n = len(self)
        self._pair_of = np.repeat(np.arange(len(self.pairs)), self._counts)
        heights = np.array([a.shape[1] for a in self._stacked])[self._pair_of]
        widths = np.array([a.shape[2] for a in self._stacked])[self._pair_of]
        self._y = (rng.random(n) * (heights - self.crop + 1)).astype(np.int64)
        self._x = (rng.random(n) * (widths - self.crop + 1)).astype(np.int64)
        self._flips = rng.integers(0, 8, n) if self.augment else np.zeros(n, np.int64)
        # per-sample, per-modality gamma 2**u, u ~ U(-photometric, photometric) (1 = off)
        self._gamma = (
            (2.0 ** rng.uniform(-self.photometric, self.photometric, (n, 2))).astype(np.float32)
            if self.photometric > 0
            else None
        )

    def __len__(self) -> int:
        return int(self._counts.sum())

    def patch(self, index: int) -> np.ndarray:
        """Return the [2, crop, crop] float32 numpy patch of sample `index`."""
        a = self._stacked[self._pair_of[index]]
        y, x, c = int(self._y[index]), int(self._x[index]), self.crop
        p = a[:, y: y + c, x: x + c]
        f = int(self._flips[index])
        if f & 1:
            p = p[:, :, ::-1]
        if f & 2:
            p = p[:, ::-1, :]
        if f & 4:
            p = p.transpose(0, 2, 1)
        p = np.ascontiguousarray(p, dtype=np.float32)
        if self._gamma is not None:
            p = np.power(np.clip(p, 0.0, 1.0), self._gamma[index][:, None, None])
        return p

    def __getitem__(self, index: int):
        t = torch.from_numpy(self.patch(int(index)))
        return (t, int(index)) if self.return_index else t


def full_image_tensor(pair: Pair, multiple: int = 1) -> torch.Tensor:
    """Return a pair as a [1, 2, H, W] tensor, H and W cropped down to a multiple of `multiple`."""
    h, w = pair.shape
    h, w = h - h % multiple, w - w % multiple
    return torch.from_numpy(pair.stacked()[:, :h, :w].copy()).unsqueeze(0)
