# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Model registry: one name per shipped network, shared by training, export and tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from .aenetv2 import aenetv2_gcb
from .mmdrfuse import mmdrfuse_student, mmdrfuse_teacher
from .mobilefuse import mobilefuse


@dataclass(frozen=True)
class ModelSpec:
    """What a caller needs to know about a network before building it."""

    name: str
    builder: Callable[[], nn.Module]
    architecture: str
    paper: str
    size_multiple: int
    shipped: bool = True


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            'mmdrfuse',
            mmdrfuse_student,
            'MMDRFuse student (113 parameters)',
            'Deng et al., MMDRFuse, ACM MM 2024',
            size_multiple=1,
        ),
        ModelSpec(
            'mobilefuse',
            mobilefuse,
            'MobileFuse (depthwise-separable two-stream, blending module)',
            'Perreault et al., MobileFuse: multimodal image fusion at the edge',
            size_multiple=8,
        ),
        ModelSpec(
            'aenetv2',
            aenetv2_gcb,
            'AE-Netv2-GCB (conv, group conv + channel shuffle, conv)',
            'Fang et al., AE-Netv2, 2021',
            size_multiple=1,
        ),
        ModelSpec(
            'mmdrfuse_teacher',
            mmdrfuse_teacher,
            'MMDRFuse teacher (dense block, 64 channels)',
            'Deng et al., MMDRFuse, ACM MM 2024',
            size_multiple=1,
            shipped=False,
        ),
    )
}

SHIPPED_MODELS: tuple[str, ...] = tuple(name for name, spec in MODELS.items() if spec.shipped)


def get_spec(name: str) -> ModelSpec:
    """Look a model up by name with a message that lists the valid names."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f'unknown model {name!r}; known: {", ".join(MODELS)}') from None


def build_model(name: str) -> nn.Module:
    """Construct a fresh (untrained) network by registry name."""
    return get_spec(name).builder()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
