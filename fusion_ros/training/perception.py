# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Perception features for MMDRFuse's perception and refresh losses.

Two interchangeable frozen feature extractors, each returning a list of FIVE feature maps
(shallow -> deep) for a [N, 1, H, W] image in [0, 1]:

`VGG19Features(weights_path)` -- the paper's choice: VGG-19 ImageNet features. torchvision is not
    usable here, so the `features` stack is rebuilt in plain torch with torchvision's layer indices
    (conv at 0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34; max-pool at 4, 9, 18, 27)
    and loaded from a LOCAL file in torchvision's state_dict layout (`features.N.weight`,
    `features.N.bias`; a full vgg19 state_dict with `classifier.*` keys is fine, extras are
    ignored). Nothing is ever downloaded. The five taps are relu1_2, relu2_2, relu3_4, relu4_4,
    relu5_4 (indices 3, 8, 17, 26, 35). The gray image is repeated to 3 channels and normalised
    with the ImageNet mean/std.

`FilterBankFeatures()` -- the documented substitute used when no VGG-19 weights file is given: a
    fixed, deterministic bank of 8 hand-designed filters (Sobel x/y; even Gabor at 0, 45, 90, 135
    degrees, sigma 1.5, wavelength 4; a difference of Gaussians sigma 1 - sigma 2; a Laplacian of
    Gaussian sigma 1), 7x7 with reflection padding, applied to a 5-level image pyramid (2x2
    average pooling between levels, so depth d sees structures 2^(d-1) times larger, like VGG's
    pooling stages). Each response is half-wave rectified into (+, -) channels -> 16 non-negative
    channels per level, like ReLU features, so "element-wise max of the sources' features" keeps
    the stronger edge / texture / blob response of either source at every scale and orientation.
    No learned weights: it captures the multi-scale structure part of a perceptual loss, not
    ImageNet semantics. The model card records which extractor was used (`describe()`).

`make_perception(weights=None)`: VGG-19 from `weights`, else env `FUSION_ROS_VGG19`, else the
filter bank.

`perception_loss(extractor, o, target_feats, layers)`: mean over the chosen layers of a scale-free
L1: |phi_l(o) - target_l|_1 / mean|target_l| (normaliser detached, over the batch), so layers with
very different magnitudes (and the two extractors) weigh alike. Shallow layers = (0, 1), deep = (2,
3, 4).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

VGG19_CFG = (
    64,
    64,
    'M',
    128,
    128,
    'M',
    256,
    256,
    256,
    256,
    'M',
    512,
    512,
    512,
    512,
    'M',
    512,
    512,
    512,
    512,
    'M',
)
VGG19_TAPS = (3, 8, 17, 26, 35)  # relu1_2, relu2_2, relu3_4, relu4_4, relu5_4
SHALLOW_LAYERS = (0, 1)
DEEP_LAYERS = (2, 3, 4)
ALL_LAYERS = (0, 1, 2, 3, 4)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features_stack() -> nn.Sequential:
    """Return torchvision's `vgg19().features` layer for layer (same indices).

    Randomly initialised.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for v in VGG19_CFG:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=False)]
            in_ch = v
    return nn.Sequential(*layers)


class VGG19Features(nn.Module):
    """Frozen VGG-19 features at five ReLU taps, from a local torchvision-layout weights file."""

    kind = 'vgg19'

    def __init__(self, weights_path: str | os.PathLike, taps: Sequence[int] = VGG19_TAPS) -> None:
        super().__init__()
        self.weights_path = str(weights_path)
        self.taps = tuple(taps)
        self.features = vgg19_features_stack()[: max(self.taps) + 1]
        state = torch.load(self.weights_path, map_location='cpu', weights_only=True)
        if isinstance(state, dict) and 'state_dict' in state:
            state = state['state_dict']
        wanted = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
        own = self.features.state_dict()
        missing = [k for k in own if k not in wanted]
        if missing:
            raise KeyError(
                f'{self.weights_path}: not a torchvision VGG-19 state_dict (missing '
                f'features.{missing[0]})'
            )
        self.features.load_state_dict({k: wanted[k] for k in own})
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.eval()

    def train(self, mode: bool = True) -> 'VGG19Features':  # always frozen, always eval
        return super().train(False)

    def forward(self, x: torch.Tensor, upto: int = 4) -> list[torch.Tensor]:
        x = (x.expand(-1, 3, -1, -1) - self.mean) / self.std
        out = []
        last = self.taps[upto]
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
            if i == last:
                break
        return out

    def describe(self) -> dict:
        return {
            'kind': 'vgg19',
            'weights': Path(self.weights_path).name,
            'taps': ['relu1_2', 'relu2_2', 'relu3_4', 'relu4_4', 'relu5_4'],
        }


def _gabor(
    theta: float, sigma: float = 1.5, wavelength: float = 4.0, size: int = 7
) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - size // 2
    y, x = torch.meshgrid(r, r, indexing='ij')
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    g = torch.exp(-(xr**2 + yr**2) / (2 * sigma**2)) * torch.cos(2 * math.pi * xr / wavelength)
    g = g - g.mean()  # zero DC: responds to structure, not brightness
    return g / g.abs().sum()


def _gauss(sigma: float, size: int = 7) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - size // 2
    y, x = torch.meshgrid(r, r, indexing='ij')
    g = torch.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


def filter_bank() -> torch.Tensor:
    """Return the substitute's 8 fixed 7x7 filters, [8, 1, 7, 7] float32.

    Each zero-mean, unit L1.
    """
    sobel = torch.zeros(7, 7, dtype=torch.float64)
    sobel[2:5, 2:5] = torch.tensor(
        [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64
    )
    r = torch.arange(7, dtype=torch.float64) - 3
    y, x = torch.meshgrid(r, r, indexing='ij')
    log = (x**2 + y**2 - 2.0) * torch.exp(-(x**2 + y**2) / 2.0)
    filters = [
        sobel,
        sobel.t(),
        *[_gabor(t) for t in (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)],
        _gauss(1.0) - _gauss(2.0),
        log - log.mean(),
    ]
    return torch.stack([f / f.abs().sum() for f in filters]).unsqueeze(1).float()


class FilterBankFeatures(nn.Module):
    """Deterministic substitute for VGG-19: rectified fixed filters on a 5-level pyramid."""

    kind = 'filterbank'

    def __init__(self, levels: int = 5) -> None:
        super().__init__()
        self.levels = levels
        self.register_buffer('bank', filter_bank())

    def forward(self, x: torch.Tensor, upto: int = 4) -> list[torch.Tensor]:
        out = []
        for level in range(min(self.levels, upto + 1)):
            if level:
                x = F.avg_pool2d(x, 2, ceil_mode=True) if min(x.shape[-2:]) >= 2 else x
            r = F.conv2d(F.pad(x, (3, 3, 3, 3), mode='replicate'), self.bank)
            out.append(torch.cat([F.relu(r), F.relu(-r)], dim=1))
        return out

    def describe(self) -> dict:
        return {
            'kind': 'filterbank',
            'substitute_for': 'VGG-19 (no local weights file given)',
            'filters': 'Sobel x/y, Gabor 0/45/90/135 deg (sigma 1.5, wavelength 4), DoG 1-2, LoG '
            '1; 7x7',
            'levels': self.levels,
            'channels_per_level': 16,
        }


def make_perception(weights: str | os.PathLike | None = None) -> nn.Module:
    """VGG-19 from `weights` or $FUSION_ROS_VGG19 if set, else the filter-bank substitute."""
    path = weights or os.environ.get('FUSION_ROS_VGG19') or None
    if path:
        if not Path(path).is_file():
            raise FileNotFoundError(f'VGG-19 weights file not found: {path}')
        return VGG19Features(path)
    return FilterBankFeatures()


def max_features(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> list[torch.Tensor]:
    """Element-wise max of two sources' feature lists (the perception target)."""
    return [torch.maximum(a, b) for a, b in zip(fa, fb)]


def perception_loss(
    extractor: nn.Module,
    o: torch.Tensor,
    targets: list[torch.Tensor],
    layers: Sequence[int] = ALL_LAYERS,
    o_feats: list[torch.Tensor] | None = None,
    per_sample: bool = False,
    scale_feats: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Scale-free L1 between phi_l(o) and targets[l] averaged over `layers` (see module doc).

    `per_sample=True` returns shape [N] (for per-sample weighting). `scale_feats` (default: the
    targets) sets each layer's normaliser: pass the sources' features when the target is a past
    output, which early in training can be nearly flat (a tiny normaliser would explode the loss
    and pull the network towards that flat output).
    """
    feats = o_feats if o_feats is not None else extractor(o, upto=max(layers))
    total = 0.0
    for layer in layers:
        t = targets[layer].detach() if not targets[layer].requires_grad else targets[layer]
        diff = (feats[layer] - t).abs().flatten(1).mean(1)
        ref = t if scale_feats is None else scale_feats[layer]
        scale = (
            ref.detach().abs().mean().clamp_min(1e-6)
        )  # batch-level: flat patches do not explode
        total = total + diff / scale
    total = total / len(layers)
    return total if per_sample else total.mean()
