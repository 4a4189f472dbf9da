# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Building blocks shared by the fusion networks (pure torch, no ROS)."""

from __future__ import annotations

import torch
from torch import nn


class ConvBNReLU(nn.Sequential):
    """3x3 (or kxk) convolution + batch norm + ReLU: the plain block of AE-Netv2's C1."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, groups: int = 1
    ) -> None:
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class DepthwiseSeparable(nn.Sequential):
    """MobileNet depthwise 3x3 + pointwise 1x1, each with BN + ReLU (MobileFuse's unit)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(in_ch, in_ch, 3, stride, 1, groups=in_ch, bias=False),
            nn.BatchNorm2d(in_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )


class ChannelShuffle(nn.Module):
    """ShuffleNet channel shuffle: lets information cross the groups of a group convolution."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return (
            x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
        )


class GroupConvShuffle(nn.Sequential):
    """AE-Netv2's GCB: 3x3 group convolution + BN + ReLU followed by a channel shuffle."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__(ConvBNReLU(channels, channels, 3, groups=groups), ChannelShuffle(groups))


class Fire(nn.Module):
    """SqueezeNet fire module (squeeze 1x1, expand 1x1 + 3x3).

    One of AE-Netv2's replaceable blocks.
    """

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        half = channels // 2
        self.squeeze = nn.Sequential(nn.Conv2d(channels, squeeze, 1), nn.ReLU(inplace=True))
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, half, 1), nn.ReLU(inplace=True))
        self.expand3 = nn.Sequential(
            nn.Conv2d(squeeze, channels - half, 3, padding=1), nn.ReLU(inplace=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand1(s), self.expand3(s)], dim=1)


class ReflectConv(nn.Sequential):
    """Reflection pad + 3x3 conv: MMDRFuse's layer (reflection avoids dark image borders)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(nn.ReflectionPad2d(1), nn.Conv2d(in_ch, out_ch, 3))


def split_sources(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split the project's [N, 2, H, W] input into (infrared, visible luminance)."""
    return x[:, 0:1], x[:, 1:2]
