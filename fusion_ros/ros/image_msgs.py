# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs/Image and CompressedImage <-> numpy, without cv_bridge.

The encoding work is in :mod:`fusion_ros.runtime` (shared with the offline tools); this module only
moves fields between messages and arrays. Bad input raises
:class:`fusion_ros.runtime.FusionInputError` (a ``ValueError``) with a message fit for a log line.
"""

from __future__ import annotations

from builtin_interfaces.msg import Time as TimeMsg
from fusion_ros.runtime import (
    decode_compressed,
    decode_image,
    decoded_encoding,
    encode_image,
    FusionInputError,
    SUPPORTED_ENCODINGS,
)
from fusion_ros.runtime.encodings import encode_compressed, MAX_IMAGE_PIXELS
from fusion_ros.runtime.errors import ImageTooLargeError
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

__all__ = [
    'FusionInputError',
    'image_to_numpy',
    'compressed_to_numpy',
    'message_to_numpy',
    'message_encoding',
    'numpy_to_image',
    'input_error_kind',
    'stamp_to_ns',
    'ns_to_stamp',
]


def stamp_to_ns(stamp: TimeMsg) -> int:
    """builtin_interfaces/Time -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> TimeMsg:
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return TimeMsg(sec=sec, nanosec=nanosec)


def image_to_numpy(
    msg: Image, name: str = 'image', max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Return a sensor_msgs/Image as an array.

    HxW or HxWxC, channel order as encoded; a read-only view of the message buffer when possible.
    ``name`` ("visible", "thermal") goes in error messages; frames above ``max_pixels`` (0 = no
    limit) are refused before anything is allocated.
    """
    return decode_image(
        msg.encoding,
        msg.height,
        msg.width,
        msg.step,
        msg.data,
        msg.is_bigendian,
        name=name,
        max_pixels=max_pixels,
    )


def compressed_to_numpy(
    msg: CompressedImage, name: str = 'image', max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Return a sensor_msgs/CompressedImage (JPEG/PNG, image_transport 'compressed').

    mono8, mono16 or bgr8 (colour always comes back BGR); a header claiming more than
    ``max_pixels`` is refused before decoding.
    """
    try:
        return decode_compressed(msg.format, msg.data, max_pixels=max_pixels)
    except FusionInputError as exc:
        raise type(exc)(f'{name}: {exc}') from None


def message_to_numpy(msg, name: str = 'image', max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Either kind of image message."""
    if isinstance(msg, CompressedImage):
        return compressed_to_numpy(msg, name, max_pixels)
    return image_to_numpy(msg, name, max_pixels)


def message_encoding(msg, array: np.ndarray) -> str:
    """Return the encoding of a decoded image message.

    Compressed images state none: see :func:`fusion_ros.runtime.decoded_encoding`.
    """
    if isinstance(msg, CompressedImage):
        return decoded_encoding(array)
    return msg.encoding


_BYTES_PER_PIXEL: dict = {}


def _bytes_per_pixel(encoding: str) -> int:
    """Bytes per pixel of a supported encoding, asked from the runtime's decoder itself."""
    if encoding not in _BYTES_PER_PIXEL:
        probe = decode_image(encoding, 1, 1, 64, bytes(64))
        _BYTES_PER_PIXEL[encoding] = probe.dtype.itemsize * (
            probe.shape[2] if probe.ndim == 3 else 1
        )
    return _BYTES_PER_PIXEL[encoding]


def input_error_kind(msg, error: Exception | None = None) -> str:
    """Why a message failed to decode, as a short counter name (errors_<kind> in /diagnostics)."""
    if isinstance(error, ImageTooLargeError):
        return 'too_large'
    if isinstance(msg, CompressedImage):
        return 'decode_failed'
    if msg.height == 0 or msg.width == 0:
        return 'empty_image'
    if msg.encoding not in SUPPORTED_ENCODINGS:
        return 'unsupported_encoding'
    if msg.step < msg.width * _bytes_per_pixel(msg.encoding):
        return 'invalid_step'
    if len(msg.data) < msg.step * msg.height:
        return 'truncated_data'
    return 'bad_image'


def numpy_to_image(array: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Return an array as a sensor_msgs/Image (one copy, into the message buffer)."""
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding, msg.step, msg.data = encode_image(array, encoding)
    msg.is_bigendian = 0
    return msg


def compressed_image(
    array: np.ndarray, encoding: str, header: Header | None = None, jpeg_quality: int = 80
) -> CompressedImage:
    """Build a sensor_msgs/CompressedImage as image_transport's compressed transport writes it.

    JPEG for 8-bit images, PNG for 16-bit ones (JPEG has no 16-bit mode).
    """
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    fmt = 'png' if array.dtype.itemsize > 1 else 'jpeg'
    msg.format, data = encode_compressed(array, fmt, jpeg_quality, encoding=encoding)
    msg.data = data
    return msg
