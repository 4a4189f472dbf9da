"""Exceptions raised by the runtime, with messages written for the person wiring up the cameras."""
from __future__ import annotations


class FusionInputError(ValueError):
    """An input image (or image message) cannot be fused as given: wrong size, type, layout or encoding.

    The message names the offending image ("visible", "thermal") and what was expected, e.g.
    ``visible has 4 channels; expected 1 (mono8) or 3 (bgr8/rgb8)``. Recoverable: drop the frame.
    """


class ModelLoadError(RuntimeError):
    """A model could not be loaded: missing file, corrupt ONNX, bad or mismatching model card.

    The message always names the file concerned and why it was rejected. A failed load leaves no
    half-built pipeline behind (the previous one, if any, stays usable).
    """


class UnsupportedEncodingError(FusionInputError):
    """A visible image whose encoding the networks cannot take (e.g. mono16): counted apart from
    images that are merely malformed, since it means a camera is configured wrongly."""
