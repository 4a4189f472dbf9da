# noqa: A005 - a public module path; absolute imports, so no stdlib module is hidden
# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs/Image and sensor_msgs/CompressedImage <-> numpy, without ROS.

A tested cv_bridge subset.

The functions take the plain message fields, so rclpy messages (`msg.data` is an array.array or
bytes), rosbags messages (`msg.data` is a numpy uint8 array) and raw byte strings all work:

    img = decode_image(msg.encoding, msg.height, msg.width, msg.step, msg.data, msg.is_bigendian)
    msg.encoding, msg.step, msg.data = encode_image(array, "bgr8")     # msg.is_bigendian = 0

`decode_image` is zero-copy where it can be (np.frombuffer + strides, rows padded beyond
width*channels*bytes included): the result may be a read-only view of the message buffer, so copy
it before modifying it or keeping it after the message is gone. Big-endian 16-bit data and odd,
unaligned strides are converted (one copy).
"""

from __future__ import annotations

import array as _array
from typing import Any

import cv2
import numpy as np

from .errors import FusionInputError, ImageTooLargeError, quote, UnsupportedEncodingError

# encoding -> (channels, dtype)
_LAYOUT: dict[str, tuple[int, np.dtype]] = {
    'mono8': (1, np.dtype(np.uint8)),
    '8UC1': (1, np.dtype(np.uint8)),
    'mono16': (1, np.dtype(np.uint16)),
    '16UC1': (1, np.dtype(np.uint16)),
    'bgr8': (3, np.dtype(np.uint8)),
    'rgb8': (3, np.dtype(np.uint8)),
    '8UC3': (3, np.dtype(np.uint8)),  # no colour order stated: treated as bgr8 (OpenCV's order)
    'bgra8': (4, np.dtype(np.uint8)),
    'rgba8': (4, np.dtype(np.uint8)),
}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(_LAYOUT)

# What the fused image is published as, for each visible encoding (alpha is dropped on input).
_FUSED_ENCODING = {
    'mono8': 'mono8',
    '8UC1': 'mono8',
    'bgr8': 'bgr8',
    '8UC3': 'bgr8',
    'rgb8': 'rgb8',
    'bgra8': 'bgr8',
    'rgba8': 'rgb8',
}


# Frames above this many pixels are refused before anything is allocated or decoded: a hostile or
# broken publisher (a 333-byte JPEG whose header claims 30000x30000) must not stall fusion or take
# gigabytes. 4096 x 4096 is above every thermal camera and 4K visible camera; raise it per call
# (the node's max_image_pixels parameter) for bigger sensors.
MAX_IMAGE_PIXELS = 4096 * 4096
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if max_pixels and width * height > max_pixels:
        raise ImageTooLargeError(
            f'{what} is {width}x{height} = {width * height / 1e6:.1f} MP, above the limit of '
            f'{max_pixels / 1e6:.1f} MP (max_image_pixels); refused before decoding'
        )


def compressed_size(buf: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header without decoding.

    Or None when the header is not found (OpenCV then decides). PNG: the IHDR chunk; JPEG: the
    first start-of-frame marker.
    """
    head = bytes(buf[:24])
    if head.startswith(b'\x89PNG\r\n\x1a\n') and len(head) >= 24 and head[12:16] == b'IHDR':
        return int.from_bytes(head[16:20], 'big'), int.from_bytes(head[20:24], 'big')
    if not head.startswith(b'\xff\xd8'):
        return None
    data, i, end = (
        buf,
        2,
        min(buf.size, 1 << 20),
    )  # SOF sits in the first few kB; never scan more than 1 MB
    while i + 9 <= end:
        if data[i] != 0xFF:
            return None
        marker = int(data[i + 1])
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_SOF:
            return int(data[i + 7]) << 8 | int(data[i + 8]), int(data[i + 5]) << 8 | int(
                data[i + 6]
            )
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        i += 2 + (int(data[i + 2]) << 8 | int(data[i + 3]))
    return None


def _unsupported(encoding: str, name: str) -> FusionInputError:
    return FusionInputError(
        f'{name}: unsupported encoding {quote(encoding)}; '
        f'supported: {", ".join(SUPPORTED_ENCODINGS)}'
    )


def _as_bytes_array(data: Any, name: str) -> np.ndarray:
    """Return a flat uint8 view of a message's data field.

    It may be bytes, bytearray, memoryview, array.array, ndarray or list.
    """
    if isinstance(data, np.ndarray):
        if data.dtype == np.uint8 and data.ndim == 1 and data.flags.c_contiguous:
            return data
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if isinstance(data, (bytes, bytearray, memoryview, _array.array)):
        try:
            return np.frombuffer(data, dtype=np.uint8)
        except (ValueError, TypeError, BufferError):  # non-contiguous memoryview and the like
            return np.frombuffer(bytes(data), dtype=np.uint8)
    if isinstance(data, (list, tuple)):
        try:
            return np.asarray(data, dtype=np.uint8)
        except (ValueError, OverflowError) as exc:
            raise FusionInputError(f'{name}: data is not a sequence of bytes ({exc})') from None
    raise FusionInputError(
        f'{name}: data must be bytes-like or a uint8 array, got {type(data).__name__}'
    )


def decode_image(
    encoding: str,
    height: int,
    width: int,
    step: int,
    data: Any,
    is_bigendian: int = 0,
    *,
    name: str = 'image',
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Return the pixels of a sensor_msgs/Image as HxW (mono) or HxWxC (colour) uint8/uint16.

    Zero-copy when possible.

    `name` ("visible", "thermal") is used in error messages. Colour channel order is kept as
    encoded (bgr8 -> BGR, rgb8 -> RGB, bgra8 -> BGRA); see `prepare_visible` for the fusion input.
    Raises FusionInputError for an unsupported encoding, a zero size, more than `max_pixels` pixels
    (0 = no limit), a step smaller than a row or data shorter than step * height.
    """
    if encoding not in _LAYOUT:
        raise _unsupported(encoding, name)
    channels, dtype = _LAYOUT[encoding]
    height, width, step = int(height), int(width), int(step)
    if height <= 0 or width <= 0:
        raise FusionInputError(
            f'{name} image is {max(width, 0)}x{max(height, 0)} ({encoding}); nothing to decode'
        )
    _check_pixels(width, height, max_pixels, f'{name} image ({encoding})')
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise FusionInputError(
            f'{name}: step {step} is smaller than one row of {encoding} at width {width} '
            f'({width} x {channels} channel(s) x {dtype.itemsize} byte(s) = {row_bytes})'
        )
    buf = _as_bytes_array(data, name)
    needed = step * height
    if buf.size < needed:
        raise FusionInputError(
            f'{name}: truncated {encoding} image {width}x{height}: expected {needed} bytes '
            f'(step {step} x height {height}), got {buf.size}'
        )
    rows = buf[:needed].reshape(height, step)[:, :row_bytes]
    if dtype.itemsize == 2:
        wire = np.dtype('>u2' if is_bigendian else '<u2')
        aligned = step % 2 == 0 and rows.__array_interface__['data'][0] % 2 == 0
        if not aligned:
            rows = np.ascontiguousarray(rows)
        pixels = rows.view(wire)
        if wire != np.dtype(np.uint16):  # not the machine's byte order: one converting copy
            pixels = pixels.astype(np.uint16)
    else:
        pixels = rows
    return pixels.reshape(height, width, channels) if channels > 1 else pixels


def encode_image(array: np.ndarray, encoding: str | None = None) -> tuple[str, int, bytes]:
    """Return (encoding, step, data) for a sensor_msgs/Image (little-endian: set is_bigendian = 0).

    `encoding=None` infers it: HxW uint8 -> mono8, HxW uint16 -> mono16, HxWx3 uint8 -> bgr8,
    HxWx4 uint8 -> bgra8. Rows are packed (step = width * channels * bytes).
    """
    if not isinstance(array, np.ndarray):
        raise FusionInputError(f'encode_image needs a numpy array, got {type(array).__name__}')
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    channels = 1 if array.ndim == 2 else (array.shape[2] if array.ndim == 3 else -1)
    if encoding is None:
        encoding = {
            (1, np.uint8): 'mono8',
            (1, np.uint16): 'mono16',
            (3, np.uint8): 'bgr8',
            (4, np.uint8): 'bgra8',
        }.get((channels, array.dtype.type))
        if encoding is None:
            raise FusionInputError(
                f'cannot infer an encoding for a {array.dtype} array of shape {array.shape}'
            )
    if encoding not in _LAYOUT:
        raise _unsupported(encoding, 'encode_image')
    want_channels, want_dtype = _LAYOUT[encoding]
    if channels != want_channels or array.dtype != want_dtype:
        raise FusionInputError(
            f'{encoding} needs {want_channels} channel(s) of {want_dtype}; got a {array.dtype} '
            f'array of shape {array.shape}'
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise FusionInputError(f'image is {array.shape[1]}x{array.shape[0]}; nothing to encode')
    if want_dtype.itemsize == 2:
        array = array.astype('<u2', copy=False)
    step = array.shape[1] * want_channels * want_dtype.itemsize
    return encoding, step, array.tobytes()


def prepare_visible(image: np.ndarray, encoding: str) -> tuple[np.ndarray, str]:
    """(fusion-ready visible image, visible_order) for a decoded visible image of `encoding`.

    bgra8/rgba8 lose their alpha (one OpenCV conversion); everything else passes through. Pass the
    order to `FusionPipeline.fuse(..., visible_order=order)` and publish the result as
    `fused_encoding(encoding)`.
    """
    if encoding in ('bgra8', 'rgba8'):
        code = cv2.COLOR_BGRA2BGR if encoding == 'bgra8' else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(image, code), ('bgr' if encoding == 'bgra8' else 'rgb')
    if encoding not in _FUSED_ENCODING:
        raise UnsupportedEncodingError(
            f'visible: encoding {quote(encoding)} cannot be fused; expected one of '
            f'{", ".join(_FUSED_ENCODING)} (8-bit grayscale or colour)'
        )
    return image, ('rgb' if encoding == 'rgb8' else 'bgr')


def fused_encoding(visible_encoding: str) -> str:
    """Return the encoding of the fused image for a given visible encoding.

    mono8, bgr8 or rgb8.
    """
    try:
        return _FUSED_ENCODING[visible_encoding]
    except KeyError:
        raise UnsupportedEncodingError(
            f'visible: encoding {quote(visible_encoding)} cannot be fused; expected one of '
            f'{", ".join(_FUSED_ENCODING)}'
        ) from None


# ---------------------------------------------------------------------------------- compressed
_CODECS = {'jpeg': 'jpeg', 'jpg': 'jpeg', 'png': 'png'}


def _parse_format(fmt: str) -> tuple[str | None, str | None]:
    """(original encoding or None, codec or None) from a CompressedImage.format string."""
    text = (fmt or '').strip()
    if 'compresseddepth' in text.lower():
        raise FusionInputError(
            f'compressed format {quote(fmt)} (compressedDepth) is not supported; '
            "subscribe to the raw or the 'compressed' (png) transport instead"
        )
    original = None
    head = text.split(';')[0].strip()
    if ';' in text and head in _LAYOUT:
        original = head
    codec = None
    for token in text.replace(';', ' ').lower().split():
        if token in _CODECS:
            codec = _CODECS[token]
    if text and codec is None:
        raise FusionInputError(
            f'compressed format {quote(fmt)} is not supported; expected jpeg or png '
            "(e.g. 'jpeg', 'bgr8; jpeg compressed bgr8', 'mono16; png compressed mono16')"
        )
    return original, codec


def decode_compressed(
    fmt: str,
    data: Any,
    *,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> np.ndarray:
    """Pixels of a sensor_msgs/CompressedImage (JPEG or PNG) as mono8, mono16 or bgr8.

    Colour always comes back in BGR order (image_transport compresses colour as bgr8, also for rgb8
    sources); an image whose original encoding is mono is returned single-channel; 16-bit PNG stays
    uint16; alpha is dropped. Corrupt, empty or undecodable data, or a header claiming more than
    `max_pixels` pixels (0 = no limit; checked before decoding), raises FusionInputError.
    """
    original, codec = _parse_format(fmt)
    buf = _as_bytes_array(data, 'compressed image')
    label = codec or 'compressed'
    if buf.size == 0:
        raise FusionInputError(f'compressed image ({quote(fmt)}) has no data')
    size = compressed_size(buf)
    if size is not None:
        _check_pixels(*size, max_pixels, f'compressed {label} image')
    image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise FusionInputError(
            f'cannot decode {buf.size} bytes of {label} data (format {quote(fmt)}): '
            f'corrupt, truncated or not an image'
        )
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if original is not None and _LAYOUT[original][0] == 1 and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def encode_compressed(
    array: np.ndarray,
    fmt: str = 'jpeg',
    quality: int = 90,
    *,
    encoding: str | None = None,
    png_level: int = 3,
) -> tuple[str, bytes]:
    """(format, data) for a sensor_msgs/CompressedImage, with image_transport's format strings.

    `encoding` names the array's layout (default: inferred, mono8 / mono16 / bgr8 / bgra8); rgb8 is
    swapped to BGR before compression, as image_transport does. JPEG takes 8-bit only (quality
    1..100); PNG takes 8- or 16-bit (compression level `png_level` 0..9).
    """
    codec = _CODECS.get(str(fmt).strip().lower())
    if codec is None:
        raise FusionInputError(
            f'compressed format {quote(fmt)} is not supported; expected jpeg or png'
        )
    if not isinstance(array, np.ndarray):
        raise FusionInputError(
            f'encode_compressed needs a numpy array, got {type(array).__name__}'
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if encoding is None:
        channels = 1 if array.ndim == 2 else array.shape[2]
        encoding = {
            (1, np.uint8): 'mono8',
            (1, np.uint16): 'mono16',
            (3, np.uint8): 'bgr8',
            (4, np.uint8): 'bgra8',
        }.get((channels, array.dtype.type))
        if encoding is None:
            raise FusionInputError(f'cannot compress a {array.dtype} array of shape {array.shape}')
    if encoding not in _LAYOUT:
        raise _unsupported(encoding, 'encode_compressed')
    channels, dtype = _LAYOUT[encoding]
    if (1 if array.ndim == 2 else array.shape[2]) != channels or array.dtype != dtype:
        raise FusionInputError(
            f'{encoding} needs {channels} channel(s) of {dtype}; got {array.dtype} {array.shape}'
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise FusionInputError(f'image is {array.shape[1]}x{array.shape[0]}; nothing to compress')
    if channels == 1:
        compressed_as, pixels = encoding, array
    elif encoding in ('rgb8', 'rgba8'):
        compressed_as, pixels = (
            'bgr8',
            cv2.cvtColor(array, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGR),
        )
    elif channels == 4:
        compressed_as, pixels = 'bgr8', cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)
    else:
        compressed_as, pixels = 'bgr8', array
    if codec == 'jpeg':
        if dtype.itemsize != 1:
            raise FusionInputError(f'{encoding} is 16-bit and cannot be JPEG-compressed; use png')
        if not 1 <= int(quality) <= 100:
            raise FusionInputError(f'JPEG quality {quality} is outside 1..100')
        ok, out = cv2.imencode('.jpg', pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    else:
        if not 0 <= int(png_level) <= 9:
            raise FusionInputError(f'PNG compression level {png_level} is outside 0..9')
        ok, out = cv2.imencode('.png', pixels, [cv2.IMWRITE_PNG_COMPRESSION, int(png_level)])
    if not ok:  # pragma: no cover - OpenCV failing on a valid array
        raise FusionInputError(
            f'OpenCV could not encode a {pixels.dtype} {pixels.shape} image as {codec}'
        )
    if compressed_as in ('mono8', '8UC1', 'mono16', '16UC1'):
        compressed_as = 'mono8' if dtype.itemsize == 1 else 'mono16'
    return f'{encoding}; {codec} compressed {compressed_as}', out.tobytes()
