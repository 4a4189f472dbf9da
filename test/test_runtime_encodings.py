# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs/Image and CompressedImage fields <-> numpy (ROS-free encodings)."""

from __future__ import annotations

import array

import cv2
from fusion_ros.runtime import (
    decode_compressed,
    decode_image,
    encode_compressed,
    encode_image,
    fused_encoding,
    FusionInputError,
    prepare_visible,
    SUPPORTED_ENCODINGS,
)
from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

LAYOUT = {
    'mono8': (1, np.uint8),
    '8UC1': (1, np.uint8),
    'mono16': (1, np.uint16),
    '16UC1': (1, np.uint16),
    'bgr8': (3, np.uint8),
    'rgb8': (3, np.uint8),
    '8UC3': (3, np.uint8),
    'bgra8': (4, np.uint8),
    'rgba8': (4, np.uint8),
}


def random_image(rng, encoding, h, w):
    channels, dtype = LAYOUT[encoding]
    shape = (h, w) if channels == 1 else (h, w, channels)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def padded_message(image, encoding, pad, bigendian=False):
    """(step, data) as a camera driver with `pad` bytes of row padding would publish them."""
    h, w = image.shape[:2]
    wire = image.astype('>u2' if bigendian else '<u2') if image.dtype == np.uint16 else image
    rows = wire.reshape(h, -1).view(np.uint8)
    step = rows.shape[1] + pad
    buf = np.full((h, step), 0xAB, np.uint8)
    buf[:, : rows.shape[1]] = rows
    return step, buf.tobytes()


def test_supported_encodings():
    assert set(SUPPORTED_ENCODINGS) == set(LAYOUT)


@settings(max_examples=150, deadline=None)
@given(
    encoding=st.sampled_from(sorted(LAYOUT)),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    pad=st.integers(0, 9),
    bigendian=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
    container=st.sampled_from(['bytes', 'bytearray', 'memoryview', 'array', 'ndarray', 'list']),
)
def test_decode_with_row_padding_endianness_and_containers(
    encoding, h, w, pad, bigendian, seed, container
):
    rng = np.random.default_rng(seed)
    image = random_image(rng, encoding, h, w)
    step, data = padded_message(image, encoding, pad, bigendian)
    data = {
        'bytes': data,
        'bytearray': bytearray(data),
        'memoryview': memoryview(data),
        'array': array.array('B', data),
        'ndarray': np.frombuffer(data, np.uint8).copy(),
        'list': list(data),
    }[container]
    decoded = decode_image(encoding, h, w, step, data, int(bigendian))
    assert decoded.dtype == image.dtype and decoded.shape == image.shape
    np.testing.assert_array_equal(decoded, image)
    # and OpenCV accepts it as is
    assert cv2.resize(decoded, (w + 1, h + 1)).shape[:2] == (h + 1, w + 1)


@settings(max_examples=100, deadline=None)
@given(
    encoding=st.sampled_from(sorted(LAYOUT)),
    h=st.integers(1, 50),
    w=st.integers(1, 50),
    seed=st.integers(0, 2**31 - 1),
)
def test_encode_decode_round_trip(encoding, h, w, seed):
    image = random_image(np.random.default_rng(seed), encoding, h, w)
    enc, step, data = encode_image(image, encoding)
    assert enc == encoding and isinstance(data, bytes)
    assert (
        step == w * LAYOUT[encoding][0] * np.dtype(LAYOUT[encoding][1]).itemsize
        and len(data) == step * h
    )
    np.testing.assert_array_equal(decode_image(enc, h, w, step, data), image)


def test_decode_is_zero_copy_when_it_can_be():
    rng = np.random.default_rng(0)
    for encoding, pad in (('mono8', 0), ('bgr8', 5), ('mono16', 4), ('16UC1', 0)):
        image = random_image(rng, encoding, 12, 20)
        step, data = padded_message(image, encoding, pad)
        buf = np.frombuffer(data, np.uint8).copy()
        decoded = decode_image(encoding, 12, 20, step, buf)
        assert np.shares_memory(decoded, buf), encoding
    big = random_image(rng, 'mono16', 4, 6)
    step, data = padded_message(big, 'mono16', 0, bigendian=True)
    decoded = decode_image('mono16', 4, 6, step, data, is_bigendian=1)
    assert decoded.dtype == np.uint16 and decoded.dtype.isnative
    np.testing.assert_array_equal(decoded, big)


def test_encode_infers_the_encoding():
    assert encode_image(np.zeros((2, 3), np.uint8))[0] == 'mono8'
    assert encode_image(np.zeros((2, 3), np.uint16))[:2] == ('mono16', 6)
    assert encode_image(np.zeros((2, 3, 3), np.uint8))[:2] == ('bgr8', 9)
    assert encode_image(np.zeros((2, 3, 4), np.uint8))[0] == 'bgra8'
    assert encode_image(np.zeros((2, 3, 1), np.uint8))[0] == 'mono8'
    enc, step, data = encode_image(np.array([[1, 256]], np.uint16), '16UC1')
    assert data == b'\x01\x00\x00\x01'  # little-endian on the wire
    with pytest.raises(FusionInputError, match='bgr8 needs 3 channel'):
        encode_image(np.zeros((2, 3), np.uint8), 'bgr8')
    with pytest.raises(FusionInputError, match='mono8 needs 1 channel.*uint16'):
        encode_image(np.zeros((2, 3), np.uint16), 'mono8')
    with pytest.raises(FusionInputError, match="unsupported encoding 'yuv422'"):
        encode_image(np.zeros((2, 3), np.uint8), 'yuv422')
    with pytest.raises(FusionInputError, match='cannot infer'):
        encode_image(np.zeros((2, 3), np.float32))
    with pytest.raises(FusionInputError, match='0x2'):
        encode_image(np.zeros((2, 0), np.uint8))


@pytest.mark.parametrize(
    'args, message',
    [
        (
            ('yuv422', 4, 4, 8, bytes(32)),
            "unsupported encoding 'yuv422'; supported: mono8, 8UC1, mono16",
        ),
        (('32FC1', 4, 4, 16, bytes(64)), "unsupported encoding '32FC1'"),
        (('mono8', 0, 4, 4, b''), 'image is 4x0'),
        (('mono8', 4, 0, 0, b''), 'image is 0x4'),
        (
            ('bgr8', 4, 4, 11, bytes(64)),
            'step 11 is smaller than one row of bgr8 at width 4 (4 x 3 channel(s) x 1 byte(s) = '
            '12)',
        ),
        (('mono16', 2, 4, 7, bytes(64)), 'step 7 is smaller'),
        (
            ('mono8', 4, 4, 4, bytes(15)),
            'truncated mono8 image 4x4: expected 16 bytes (step 4 x height 4), got 15',
        ),
        (('rgb8', 480, 640, 1920, bytes(1920 * 479)), 'expected 921600 bytes'),
        (('mono8', 2, 2, 2, 3.5), 'data must be bytes-like'),
    ],
)
def test_decode_errors(args, message):
    with pytest.raises(FusionInputError) as info:
        decode_image(*args)
    assert message in str(info.value)


def test_decode_error_names_the_stream():
    with pytest.raises(FusionInputError, match='^thermal: truncated'):
        decode_image('mono16', 2, 2, 4, bytes(7), name='thermal')


def test_prepare_visible_and_fused_encoding():
    rng = np.random.default_rng(0)
    bgra = random_image(rng, 'bgra8', 5, 6)
    img, order = prepare_visible(bgra, 'bgra8')
    assert order == 'bgr' and img.shape == (5, 6, 3)
    np.testing.assert_array_equal(img, bgra[..., :3])
    rgba = random_image(rng, 'rgba8', 5, 6)
    img, order = prepare_visible(rgba, 'rgba8')
    assert order == 'rgb'
    np.testing.assert_array_equal(img, rgba[..., :3])
    rgb = random_image(rng, 'rgb8', 5, 6)
    assert prepare_visible(rgb, 'rgb8')[1] == 'rgb' and prepare_visible(rgb, 'rgb8')[0] is rgb
    assert prepare_visible(rgb, '8UC3')[1] == 'bgr'
    with pytest.raises(FusionInputError, match='mono16'):
        prepare_visible(np.zeros((2, 2), np.uint16), 'mono16')
    assert [
        fused_encoding(e) for e in ('mono8', '8UC1', 'bgr8', '8UC3', 'rgb8', 'bgra8', 'rgba8')
    ] == ['mono8', 'mono8', 'bgr8', 'bgr8', 'rgb8', 'bgr8', 'rgb8']
    with pytest.raises(FusionInputError):
        fused_encoding('mono16')


# ------------------------------------------------------------------------------------ compressed
def smooth_bgr(h=64, w=80):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack(
        [128 + 60 * np.sin(xx / 9), 128 + 60 * np.cos(yy / 7), 100 + xx + yy * 0.5], -1
    ).astype(np.uint8)


def psnr(a, b):
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def test_compressed_round_trips():
    bgr = smooth_bgr()
    fmt, data = encode_compressed(bgr, 'jpeg', 95)
    assert fmt == 'bgr8; jpeg compressed bgr8' and data[:2] == b'\xff\xd8'
    out = decode_compressed(fmt, data)
    assert out.shape == bgr.shape and psnr(out, bgr) > 35
    fmt, data = encode_compressed(np.ascontiguousarray(bgr[..., ::-1]), 'jpeg', encoding='rgb8')
    assert fmt == 'rgb8; jpeg compressed bgr8'
    assert psnr(decode_compressed(fmt, data), bgr) > 30  # comes back BGR
    mono = bgr[..., 1].copy()
    fmt, data = encode_compressed(mono, 'png')
    assert fmt == 'mono8; png compressed mono8'
    np.testing.assert_array_equal(decode_compressed(fmt, data), mono)
    mono16 = mono.astype(np.uint16) * 257 + 3
    fmt, data = encode_compressed(mono16, 'png')
    assert fmt == 'mono16; png compressed mono16' and data[:4] == b'\x89PNG'
    out16 = decode_compressed(fmt, data)
    assert out16.dtype == np.uint16
    np.testing.assert_array_equal(out16, mono16)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 200, np.uint8)])
    fmt, data = encode_compressed(bgra, 'png')
    np.testing.assert_array_equal(decode_compressed(fmt, data), bgr)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 48),
    w=st.integers(1, 48),
    channels=st.sampled_from([1, 3]),
    sixteen=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_png_round_trip_is_exact(h, w, channels, sixteen, seed):
    rng = np.random.default_rng(seed)
    dtype = np.uint16 if sixteen and channels == 1 else np.uint8
    shape = (h, w) if channels == 1 else (h, w, 3)
    image = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    fmt, data = encode_compressed(image, 'png')
    np.testing.assert_array_equal(decode_compressed(fmt, data), image)


@pytest.mark.parametrize(
    'fmt', ['jpeg', 'png', 'bgr8; jpeg compressed bgr8', 'JPEG', '', 'rgb8; jpeg compressed bgr8']
)
def test_format_strings_as_image_transport_writes_them(fmt):
    bgr = smooth_bgr()
    ext = '.png' if 'png' in fmt.lower() else '.jpg'
    data = cv2.imencode(ext, bgr)[1].tobytes()
    out = decode_compressed(fmt, data)
    assert out.shape == bgr.shape and psnr(out, bgr) > 30


def test_mono_original_comes_back_single_channel():
    gray = smooth_bgr()[..., 0].copy()
    colour_jpeg = cv2.imencode('.jpg', cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))[1].tobytes()
    out = decode_compressed('mono8; jpeg compressed bgr8', colour_jpeg)
    assert out.ndim == 2 and psnr(out, gray) > 30
    mono16_png = cv2.imencode('.png', gray.astype(np.uint16) * 100)[1].tobytes()
    out = decode_compressed('mono16; png compressed mono16', mono16_png)
    assert out.dtype == np.uint16 and int(out.max()) == int(gray.max()) * 100


@pytest.mark.parametrize(
    'fmt, data, message',
    [
        ('jpeg', b'\xff\xd8\xff\xe0 definitely not a jpeg', 'cannot decode'),
        ('png', b'\x89PNG\r\n\x1a\n' + bytes(40), 'cannot decode'),
        ('jpeg', b'', 'has no data'),
        ('jpeg', np.zeros(0, np.uint8), 'has no data'),
        ('h264', b'\x00\x00\x00\x01', 'not supported'),
        ('16UC1; compressedDepth png', b'\x00' * 20, 'compressedDepth'),
    ],
)
def test_compressed_errors(fmt, data, message):
    with pytest.raises(FusionInputError, match=message):
        decode_compressed(fmt, data)


def test_truncated_png_is_an_error():
    data = encode_compressed(smooth_bgr(), 'png')[1]
    with pytest.raises(FusionInputError, match='cannot decode'):
        decode_compressed('png', data[: len(data) // 2])


def test_encode_compressed_errors():
    with pytest.raises(FusionInputError, match='16-bit.*use png'):
        encode_compressed(np.zeros((4, 4), np.uint16), 'jpeg')
    with pytest.raises(FusionInputError, match='quality'):
        encode_compressed(np.zeros((4, 4), np.uint8), 'jpeg', quality=0)
    with pytest.raises(FusionInputError, match='not supported'):
        encode_compressed(np.zeros((4, 4), np.uint8), 'webm')
    with pytest.raises(FusionInputError, match='cannot compress'):
        encode_compressed(np.zeros((4, 4), np.float32), 'png')


# ------------------------------------------------------------------------------------ size limits
def _jpeg_claiming(width: int, height: int) -> bytes:
    """Return a valid 16x16 JPEG whose start-of-frame header is edited to claim another size.

    A decompression bomb.
    """
    data = bytearray(cv2.imencode('.jpg', np.zeros((16, 16), np.uint8))[1].tobytes())
    i = data.index(b'\xff\xc0')
    data[i + 5: i + 7], data[i + 7: i + 9] = height.to_bytes(2, 'big'), width.to_bytes(2, 'big')
    return bytes(data)


def test_header_sizes_are_read_without_decoding() -> None:
    from fusion_ros.runtime.encodings import compressed_size

    image = np.zeros((37, 53, 3), np.uint8)
    for ext, params in (('.png', []), ('.jpg', []), ('.jpg', [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])):
        assert compressed_size(cv2.imencode(ext, image, params)[1]) == (53, 37)
    assert compressed_size(np.frombuffer(b'not an image at all', np.uint8)) is None


def test_decompression_bombs_are_refused_quickly() -> None:
    import time

    big_png = cv2.imencode('.png', np.zeros((8000, 8000), np.uint8))[
        1
    ]  # ~60 kB that would decode to 64 MB
    for fmt, data in (('jpeg', _jpeg_claiming(30000, 30000)), ('png', big_png)):
        t0 = time.perf_counter()
        with pytest.raises(FusionInputError, match='above the limit'):
            decode_compressed(fmt, data)
        assert time.perf_counter() - t0 < 0.05
    with pytest.raises(FusionInputError, match=r'8000x8000.*above the limit'):
        decode_image('mono8', 8000, 8000, 8000, b'\x00' * 16)  # checked before the data length
    assert decode_compressed('png', big_png, max_pixels=0).shape == (8000, 8000)  # 0 = no limit


def test_echoed_strings_are_cut_short() -> None:
    """A 100,000-character encoding must not be copied whole into logs and /diagnostics."""
    huge = 'x' * 100_000
    for call in (
        lambda: decode_image(huge, 2, 2, 2, b'\x00' * 4),
        lambda: decode_compressed(huge, b'\x00'),
    ):
        with pytest.raises(FusionInputError) as info:
            call()
        assert len(str(info.value)) < 300 and '100000 characters' in str(info.value)
