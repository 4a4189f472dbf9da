# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MobileFuse: multimodal image fusion at the edge.

Perreault et al. (Thales / NRC / DRDC). A multi-stream network of MobileNet depthwise-separable
convolutions: one encoder stream per source learns its modality, the streams are merged with an
element-wise MAX at every scale, and a decoder predicts a blending mask M in [0, 1]. The blending
module is part of the network: fused = visible * M + infrared * (1 - M); the loss is on the fused
image, never on the mask, which keeps colour fidelity and cannot hallucinate content.

Choices not fixed by the paper (ours): two stride-2 stages (16 -> 32 -> 60 channels) with skip
connections of the merged features into a nearest-neighbour-upsampling decoder; 32,405 parameters
(the paper: about 33K). To meet a 30 Hz budget at 640x512 on a 2-core CPU the stem has stride 2:
the mask is predicted at half resolution and upsampled bilinearly before blending, so the output
keeps every full-resolution pixel of the sources (the blend weights are smooth, the content is
not). `MobileFuse(full_res_mask=True)` is the paper's layout instead: stride-1 stem, the mask is
predicted at the input resolution (same parameters, about 4x the compute; the `paper` training
config). Inputs must be multiples of 8 in height and width (the runtime pads).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvBNReLU, DepthwiseSeparable, split_sources


class Stream(nn.Module):
    """One modality's encoder; returns features at 1/2, 1/4 and 1/8 resolution.

    1, 1/2, 1/4 with stem_stride 1.
    """

    def __init__(self, widths: tuple[int, int, int], stem_stride: int = 2) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.stem = ConvBNReLU(1, w0, stride=stem_stride)
        self.down1 = nn.Sequential(
            DepthwiseSeparable(w0, w1, stride=2), DepthwiseSeparable(w1, w1)
        )
        self.down2 = nn.Sequential(
            DepthwiseSeparable(w1, w2, stride=2),
            DepthwiseSeparable(w2, w2),
            DepthwiseSeparable(w2, w2),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f0 = self.stem(x)
        f1 = self.down1(f0)
        return [f0, f1, self.down2(f1)]


class BlendingDecoder(nn.Module):
    """Upsamples the merged features (with skips) to a one-channel blending mask in [0, 1]."""

    def __init__(self, widths: tuple[int, int, int]) -> None:
        super().__init__()
        w0, w1, w2 = widths
        self.up1 = DepthwiseSeparable(w2 + w1, w1)
        self.up0 = DepthwiseSeparable(w1 + w0, w0)
        self.mask = nn.Conv2d(w0, 1, 1)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        f0, f1, f2 = feats
        x = self.up1(torch.cat([F.interpolate(f2, scale_factor=2.0, mode='nearest'), f1], dim=1))
        x = self.up0(torch.cat([F.interpolate(x, scale_factor=2.0, mode='nearest'), f0], dim=1))
        return torch.sigmoid(self.mask(x))  # at the stem's resolution


class MobileFuse(nn.Module):
    """Two streams, element-wise MAX merge, blending-mask decoder, built-in blending module."""

    def __init__(
        self, widths: tuple[int, int, int] = (16, 32, 60), full_res_mask: bool = False
    ) -> None:
        super().__init__()
        self.full_res_mask = bool(full_res_mask)
        stride = 1 if self.full_res_mask else 2
        self.ir_stream = Stream(widths, stride)
        self.vis_stream = Stream(widths, stride)
        self.decoder = BlendingDecoder(widths)

    def forward_mask(self, x: torch.Tensor) -> torch.Tensor:
        ir, vis = split_sources(x)
        merged = [torch.maximum(a, b) for a, b in zip(self.ir_stream(ir), self.vis_stream(vis))]
        return self.decoder(merged)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ir, vis = split_sources(x)
        mask = self.forward_mask(x)
        if not self.full_res_mask:
            mask = F.interpolate(mask, size=x.shape[-2:], mode='bilinear', align_corners=False)
        return vis * mask + ir * (1.0 - mask)


def mobilefuse(full_res_mask: bool = False) -> MobileFuse:
    """Builder for the shipped `mobilefuse` model (half-resolution mask unless full_res_mask)."""
    return MobileFuse(full_res_mask=full_res_mask)
