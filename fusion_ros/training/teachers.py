# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MMDRFuse teachers used only during training (the student is what ships).

`compact` is the registry's `mmdrfuse_teacher` (stem + 4 dense layers to 64 channels, 64->4->1;
about 17K parameters: cheap enough for a 2-core CPU). `dense` follows the authors' released
teacher (about 0.5M parameters): a densely connected encoder (32, 32 channels at full
resolution, then 64-channel layers at half resolution, each fed the concatenation of the earlier
ones), a decoder with skip connections back to full resolution, then a conv to 4 channels + ReLU
(the layer the student's hidden layer is distilled from; the released code has 6 here, the paper
a 4-channel layer mirroring the student) and a conv to 1 + tanh. Written here from the paper's
description; upsampling is bilinear to the skip's exact size, so odd image sizes work.
"""

from __future__ import annotations

from fusion_ros.models import build_model
from fusion_ros.models.blocks import ReflectConv
import torch
from torch import nn
from torch.nn import functional as F

TEACHERS = ('compact', 'dense')


class _ConvReLU(nn.Sequential):
    """Reflection pad + 3x3 conv (stride 1 or 2) + ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__(nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3, stride=stride), nn.ReLU())


class DenseTeacher(nn.Module):
    """The authors'-size MMDRFuse teacher.

    Dense encoder, skip decoder, 4-channel + 1-channel tail.
    """

    def __init__(self, c1: int = 32, c2: int = 64) -> None:
        super().__init__()
        self.e1, self.e2 = _ConvReLU(2, c1), _ConvReLU(c1, c1)
        self.e3 = _ConvReLU(2 * c1, c2, stride=2)
        self.e4, self.e5, self.e6 = _ConvReLU(c2, c2), _ConvReLU(2 * c2, c2), _ConvReLU(3 * c2, c2)
        self.d6, self.d5, self.d4, self.d3 = (
            _ConvReLU(c2, c2),
            _ConvReLU(2 * c2, c2),
            _ConvReLU(2 * c2, c2),
            _ConvReLU(2 * c2, c2),
        )
        self.d2 = _ConvReLU(c2 + c1, c1)
        self.to4 = ReflectConv(2 * c1, 4)
        self.to1 = ReflectConv(4, 1)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g1 = self.e1(x)
        g2 = self.e2(g1)
        g3 = self.e3(torch.cat([g1, g2], 1))
        g4 = self.e4(g3)
        g5 = self.e5(torch.cat([g3, g4], 1))
        g6 = self.e6(torch.cat([g3, g4, g5], 1))
        d = self.d6(g6)
        d = self.d5(torch.cat([g5, d], 1))
        d = self.d4(torch.cat([g4, d], 1))
        d = self.d3(torch.cat([g3, d], 1))
        d = F.interpolate(d, size=g2.shape[-2:], mode='bilinear', align_corners=False)
        d = self.d2(torch.cat([g2, d], 1))
        feat = torch.relu(self.to4(torch.cat([g1, d], 1)))
        return feat, torch.tanh(self.to1(feat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[1].clamp(0.0, 1.0)


def build_teacher(kind: str) -> nn.Module:
    """`compact` (the registry's mmdrfuse_teacher) or `dense` (the authors' size)."""
    if kind == 'compact':
        return build_model('mmdrfuse_teacher')
    if kind == 'dense':
        return DenseTeacher()
    raise ValueError(f'unknown MMDRFuse teacher {kind!r}; known: {", ".join(TEACHERS)}')
