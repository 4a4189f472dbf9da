# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""AE-Netv2: a shallow, efficient fusion network with a replaceable middle block.

Fang et al., "AE-Netv2: Optimization of Image Fusion Efficiency and Network Architecture", 2021.
Layout (their Table I): C1 conv 3x3 + BN + ReLU (in->64), R = GCB (64->64 group conv 3x3 +
channel shuffle), C2 conv 3x3 (64->1). The paper reports 5,378 parameters for 6 input channels
(two RGB images); it implies 32 groups in the GCB (2 channels per group), which we use. Our
inputs are 2 channels (infrared, visible luminance), so C1 is 2,304 weights smaller: the default
`aenetv2_gcb()` has 3,137 parameters; `aenetv2_gcb(in_channels=6)`, the paper's setting, has
5,441 (1.2% above their 5,378: bias-free convolutions before BatchNorm, BN affine parameters
counted; their exact bookkeeping is not given).

Choices not fixed by the paper (ours): the output goes through a sigmoid to land in [0, 1];
the replaceable block R can be "gcb" (default), "conv", "dsconv", "fire" or "fire_gcb" (their
Table VII's favourite Squeeze+GCB).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBNReLU, DepthwiseSeparable, Fire, GroupConvShuffle

MIDDLE_BLOCKS = ('gcb', 'conv', 'dsconv', 'fire', 'fire_gcb')


def make_middle_block(kind: str, channels: int = 64, groups: int = 32) -> nn.Module:
    """Build AE-Netv2's replaceable block R."""
    if kind == 'gcb':
        return GroupConvShuffle(channels, groups)
    if kind == 'conv':
        return ConvBNReLU(channels, channels)
    if kind == 'dsconv':
        return DepthwiseSeparable(channels, channels)
    if kind == 'fire':
        return Fire(channels, squeeze=channels // 4)
    if kind == 'fire_gcb':
        return nn.Sequential(
            Fire(channels, squeeze=channels // 4), GroupConvShuffle(channels, groups)
        )
    raise ValueError(f'unknown AE-Netv2 middle block {kind!r}; choose one of {MIDDLE_BLOCKS}')


class AENetV2(nn.Module):
    """C1 -> R -> C2 on the concatenated sources."""

    def __init__(
        self, in_channels: int = 2, width: int = 64, middle: str = 'gcb', groups: int = 32
    ) -> None:
        super().__init__()
        self.c1 = ConvBNReLU(in_channels, width)
        self.r = make_middle_block(middle, width, groups)
        self.c2 = nn.Conv2d(width, 1, 3, padding=1)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels != x.shape[1]:
            raise ValueError(
                f'AE-Netv2 built for {self.in_channels} input channels, got {x.shape[1]}'
            )
        return torch.sigmoid(self.c2(self.r(self.c1(x))))


def aenetv2_gcb(in_channels: int = 2) -> AENetV2:
    """Builder for AE-Netv2-GCB, the shipped `aenetv2` model."""
    return AENetV2(in_channels=in_channels, middle='gcb')


def aenetv2(middle: str = 'gcb', in_channels: int = 2) -> AENetV2:
    """Builder for any middle-block variant (for architecture comparisons)."""
    return AENetV2(in_channels=in_channels, middle=middle)
