# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Exceptions raised by the runtime, with messages written for the person wiring up the cameras."""

from __future__ import annotations


class FusionInputError(ValueError):
    """An input image (or image message) cannot be fused as given.

    Wrong size, type, layout or encoding.

    The message names the offending image ("visible", "thermal") and what was expected, e.g.
    ``visible has 4 channels; expected 1 (mono8) or 3 (bgr8/rgb8)``. Recoverable: drop the frame.
    """


class ImageTooLargeError(FusionInputError):
    """A frame above the pixel limit (max_image_pixels).

    Refused before it is decoded or allocated: counted apart (errors_too_large) since it means a
    broken or hostile publisher.
    """


class ModelLoadError(RuntimeError):
    """A model could not be loaded: missing file, corrupt ONNX, bad or mismatching model card.

    The message always names the file concerned and why it was rejected. A failed load leaves no
    half-built pipeline behind (the previous one, if any, stays usable).
    """


class UnsupportedEncodingError(FusionInputError):
    """A visible image whose encoding the networks cannot take (e.g. mono16).

    Counted apart from images that are merely malformed, since it means a camera is configured
    wrongly.
    """


def quote(value: object, limit: int = 64) -> str:
    """`repr(value)` for an error message, cut to `limit` characters.

    Strings from messages (an encoding, a format) are echoed into logs and /diagnostics, so a
    100,000-character field must not be copied whole.
    """
    text = repr(value)
    return text if len(text) <= limit else f'{text[:limit]}... ({len(str(value))} characters)'
