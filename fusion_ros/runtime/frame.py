# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The per-frame step shared by the fusion node and `fusion-ros fuse-bag`.

Decoded visible and thermal arrays in; fused array, its encoding and the stage times out.

Why one place: the live node and the offline bag tool must give the same fused bytes for the same
input, so the colour-order rule, the fused encoding and what each stage time covers are written
here once. Decoding and encoding messages stay with the callers (``ros/`` for live messages,
``bags/`` for recorded ones); they time those stages themselves and pass ``decode_ms`` in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .encodings import fused_encoding, prepare_visible

#: Stage times reported for every fused frame (callers add their own encode/publish stage).
FRAME_STAGES = ('decode', 'preprocess', 'inference', 'postprocess')
# Every hop of a pair through the fusion node, in order (its /diagnostics stages and the bench's
# per-hop table): stamp -> arrival, pairing, wait for the worker, the frame stages, publish.
NODE_HOPS = ('receive', 'sync_wait', 'queue', *FRAME_STAGES, 'publish')


def decoded_encoding(array: np.ndarray) -> str:
    """Return the encoding of a decoded compressed image (colour always decodes to BGR)."""
    if array.ndim == 3:
        return 'bgr8'
    return 'mono16' if array.dtype == np.uint16 else 'mono8'


def visible_input(
    array: np.ndarray, encoding: str, default_order: str = 'bgr'
) -> tuple[np.ndarray, str, str]:
    """(fusion-ready visible array, visible_order, fused encoding) for a decoded visible image.

    bgr8/rgb8/mono8 say their order; alpha is dropped; ``8UC3`` states no order, so
    ``default_order`` (the node's visible_order parameter) decides. Raises
    UnsupportedEncodingError for encodings that cannot be fused (e.g. mono16).
    """
    image, order = prepare_visible(array, encoding)
    if encoding == '8UC3':
        order = default_order
    if image.ndim == 2:
        return image, order, 'mono8'
    return image, order, ('rgb8' if order == 'rgb' else fused_encoding(encoding))


@dataclass(frozen=True)
class FusedFrame:
    """One fused frame: the image to encode, its encoding and the stage times (ms)."""

    image: np.ndarray
    encoding: str
    stage_ms: dict[str, float]


def fuse_frame(
    pipeline: Any,
    visible: np.ndarray,
    visible_encoding: str,
    thermal: np.ndarray,
    *,
    default_order: str = 'bgr',
    decode_ms: float = 0.0,
) -> FusedFrame:
    """Fuse one decoded pair with ``pipeline`` (a FusionPipeline).

    Raises UnsupportedEncodingError for a visible encoding that cannot be fused, FusionInputError
    for a pair the pipeline rejects (size mismatch with size_mismatch=reject, bad layout).
    """
    image, order, encoding = visible_input(visible, visible_encoding, default_order)
    result = pipeline.fuse(image, thermal, visible_order=order)
    times = result.times
    return FusedFrame(
        np.asarray(result.image),
        encoding,
        {
            'decode': decode_ms,
            'preprocess': float(times.preprocess_ms),
            'inference': float(times.inference_ms),
            'postprocess': float(times.postprocess_ms),
        },
    )
