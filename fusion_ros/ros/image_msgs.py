"""sensor_msgs/Image and CompressedImage <-> numpy, without cv_bridge.

The encoding work is in :mod:`fusion_ros.runtime` (shared with the offline tools); this module only
moves fields between messages and arrays. Bad input raises
:class:`fusion_ros.runtime.FusionInputError` (a ``ValueError``) with a message fit for a log line.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time as TimeMsg
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from fusion_ros.runtime import FusionInputError, decode_compressed, decode_image, encode_image

__all__ = [
    "FusionInputError", "image_to_numpy", "compressed_to_numpy", "message_to_numpy",
    "numpy_to_image", "fused_encoding", "stamp_to_ns", "ns_to_stamp",
]


def stamp_to_ns(stamp: TimeMsg) -> int:
    """builtin_interfaces/Time -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def ns_to_stamp(ns: int) -> TimeMsg:
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return TimeMsg(sec=sec, nanosec=nanosec)


def image_to_numpy(msg: Image) -> np.ndarray:
    """A sensor_msgs/Image as an array (HxW or HxWxC; a view of the message buffer when possible)."""
    if msg.height == 0 or msg.width == 0:
        raise FusionInputError(f"empty image ({msg.width}x{msg.height}, encoding '{msg.encoding}')")
    return decode_image(msg.encoding, msg.height, msg.width, msg.step, msg.data, msg.is_bigendian)


def compressed_to_numpy(msg: CompressedImage) -> np.ndarray:
    """A sensor_msgs/CompressedImage (JPEG/PNG, image_transport 'compressed') as an array."""
    if len(msg.data) == 0:
        raise FusionInputError(f"empty compressed image (format '{msg.format}')")
    return decode_compressed(msg.format, msg.data)


def message_to_numpy(msg) -> np.ndarray:
    """Either kind of image message."""
    if isinstance(msg, CompressedImage):
        return compressed_to_numpy(msg)
    return image_to_numpy(msg)


def fused_encoding(visible_msg, fused: np.ndarray) -> str:
    """Encoding of the fused image: the visible image's layout (bgr8 -> bgr8, rgb8 -> rgb8,
    mono -> mono8); compressed colour input decodes to BGR, so it comes out as bgr8."""
    if fused.ndim == 2 or (fused.ndim == 3 and fused.shape[2] == 1):
        return "mono8"
    encoding = getattr(visible_msg, "encoding", "").lower()
    if encoding.startswith("rgb"):
        return "rgb8"
    return "bgr8"


def numpy_to_image(array: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """An array as a sensor_msgs/Image (one copy, into the message buffer)."""
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(array.shape[0]), int(array.shape[1])
    msg.encoding, msg.step, msg.data = encode_image(array, encoding)
    msg.is_bigendian = 0
    return msg
