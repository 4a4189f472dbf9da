# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""fusion_ros runtime: ONNX Runtime inference with pre/post-processing and image encodings.

No ROS and no torch: numpy, OpenCV and onnxruntime only, so the node, the bag tools and the CLI
share one tested engine. Typical use::

    from fusion_ros.runtime import load_pipeline
    pipeline = load_pipeline("mmdrfuse", backend="auto")
    result = pipeline.fuse(visible_bgr, thermal_mono16)
    result.image, result.times.total_ms, pipeline.warnings
"""

from .encodings import (
    decode_compressed,
    decode_image,
    encode_compressed,
    encode_image,
    fused_encoding,
    prepare_visible,
    SUPPORTED_ENCODINGS,
)
from .engine import OnnxEngine, resolve_providers
from .errors import FusionInputError, ModelLoadError, UnsupportedEncodingError
from .frame import decoded_encoding, FRAME_STAGES, fuse_frame, FusedFrame, visible_input
from .loader import available_models, default_weights_dir, load_pipeline, locate_model
from .model_card import load_model_card, ModelCard, sha256_file
from .options import IDENTITY_HOMOGRAPHY, option_specs, OptionSpec, ProcessingOptions
from .pipeline import FusionPipeline, FusionResult, StageTimes

__all__ = [
    'ModelCard',
    'load_model_card',
    'sha256_file',
    'OnnxEngine',
    'resolve_providers',
    'FusionPipeline',
    'FusionResult',
    'StageTimes',
    'ProcessingOptions',
    'OptionSpec',
    'option_specs',
    'IDENTITY_HOMOGRAPHY',
    'load_pipeline',
    'available_models',
    'default_weights_dir',
    'locate_model',
    'FusionInputError',
    'ModelLoadError',
    'UnsupportedEncodingError',
    'fuse_frame',
    'FusedFrame',
    'FRAME_STAGES',
    'visible_input',
    'decoded_encoding',
    'decode_image',
    'encode_image',
    'decode_compressed',
    'encode_compressed',
    'SUPPORTED_ENCODINGS',
    'prepare_visible',
    'fused_encoding',
]
