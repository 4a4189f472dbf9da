# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Pure-torch fusion networks (no ROS): MobileFuse, AE-Netv2-GCB, MMDRFuse student/teacher."""

from .aenetv2 import AENetV2, aenetv2, aenetv2_gcb
from .mmdrfuse import mmdrfuse_student, mmdrfuse_teacher, MMDRFuseStudent, MMDRFuseTeacher
from .mobilefuse import MobileFuse, mobilefuse
from .registry import build_model, count_parameters, get_spec, MODELS, ModelSpec, SHIPPED_MODELS

__all__ = [
    'AENetV2',
    'aenetv2',
    'aenetv2_gcb',
    'MMDRFuseStudent',
    'MMDRFuseTeacher',
    'mmdrfuse_student',
    'mmdrfuse_teacher',
    'MobileFuse',
    'mobilefuse',
    'MODELS',
    'SHIPPED_MODELS',
    'ModelSpec',
    'build_model',
    'count_parameters',
    'get_spec',
]
