# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""MMDRFuse: a distilled mini-model with dynamic refresh.

Deng et al., "MMDRFuse: Distilled Mini-Model with Dynamic Refresh for Multi-Modality Image
Fusion", ACM MM 2024. The student has exactly 113 parameters: reflection-pad + conv 3x3 (2->4) +
ReLU, reflection-pad + conv 3x3 (4->1) + tanh. The teacher is a densely connected block producing
64 channels, then a conv to 4 channels and a conv to 1 so its last two layers mirror the student's
(the 4-channel layer is where feature distillation compares spatial attention).

Output (not fixed by the paper): the teacher's tanh output is the image itself, compared with
[0, 1] targets during training, as in the authors' released code; `forward` clamps it to [0, 1] and
`forward_features` returns it unclamped so the losses keep their gradient below 0. The student maps
its tanh output t to (t + 1) / 2 instead: a 113-parameter network cannot bend its ReLU features
into the expanding curve atanh(F) that a plain tanh needs for bright pixels, and measured on TNO
the plain tanh cost the student a fifth of its contrast (SD 32.4 -> 26.6) and its sharpness lead
over pixel max (SF 10.6 -> 8.6); the teacher, with 64 channels, gains from the plain tanh (TNO SD
35.0 -> 36.4).

Choices not fixed by the paper (ours): the teacher's dense block has 4 layers of growth 12 after a
16-channel stem (16 + 4 * 12 = 64 channels).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ReflectConv


class MMDRFuseStudent(nn.Module):
    """The 113-parameter student: two reflection-padded 3x3 convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ReflectConv(2, 4)
        self.conv2 = ReflectConv(4, 1)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (4-channel feature, fused image) so distillation can see the hidden layer."""
        feat = torch.relu(self.conv1(x))
        return feat, 0.5 * (torch.tanh(self.conv2(feat)) + 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[1].clamp(0.0, 1.0)


class DenseLayer(nn.Module):
    """Conv + ReLU whose output is concatenated to its input (DenseNet connectivity)."""

    def __init__(self, in_ch: int, growth: int) -> None:
        super().__init__()
        self.conv = ReflectConv(in_ch, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, torch.relu(self.conv(x))], dim=1)


class MMDRFuseTeacher(nn.Module):
    """Teacher: stem + dense block to 64 channels, then 64->4 and 4->1 like the student's tail."""

    def __init__(self, stem: int = 16, growth: int = 12, layers: int = 4) -> None:
        super().__init__()
        self.stem = ReflectConv(2, stem)
        self.dense = nn.Sequential(*[DenseLayer(stem + i * growth, growth) for i in range(layers)])
        width = stem + layers * growth
        self.to4 = ReflectConv(width, 4)
        self.to1 = ReflectConv(4, 1)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = torch.relu(self.to4(self.dense(torch.relu(self.stem(x)))))
        return feat, torch.tanh(self.to1(feat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[1].clamp(0.0, 1.0)


def mmdrfuse_student() -> MMDRFuseStudent:
    """Builder for the 113-parameter student (the shipped `mmdrfuse` model)."""
    return MMDRFuseStudent()


def mmdrfuse_teacher() -> MMDRFuseTeacher:
    """Builder for the teacher used only during training."""
    return MMDRFuseTeacher()
