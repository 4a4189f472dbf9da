# noqa: A005 - a public module path; absolute imports, so no stdlib module is hidden
# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 read/write on `rosbags` (pure Python; no rosbag2 install needed).

Reading: :class:`BagReader` opens a rosbag2 folder (``metadata.yaml`` + ``*.db3`` or ``*.mcap``;
the storage plugin is taken from the metadata, as ``ros2 bag`` does) or a single ``.db3``/``.mcap``
file. It checks the bag on open (metadata present and parsable, storage files present and readable,
per-topic message counts in the metadata equal to those in the storage) and while reading (every
storage error becomes a :class:`BagError`; reading a whole topic that ends early is a count
mismatch), so a truncated or corrupt bag fails loudly instead of looking like a short recording.

Writing: :class:`BagWriter` writes into a hidden temporary folder next to the target and renames
it to the target only when the bag was closed cleanly (metadata written). Any failure, including
Ctrl-C, deletes the temporary folder, so a folder at the target path is always a complete bag.

Messages are (de)serialised with the ROS 2 Kilted typestore of `rosbags`; sensor_msgs/Image,
CompressedImage, CameraInfo, diagnostic_msgs/DiagnosticArray and rosgraph_msgs/Clock are the same
in Humble, Jazzy and Kilted, so bags of those distributions read and write the same way. Image
payloads are converted with :mod:`fusion_ros.runtime`'s decode/encode functions, the ones the
fusion node uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
import os
from pathlib import Path
import shutil
import sqlite3
import struct
import tempfile
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .integrity import add_mcap_crcs, check_bag, IntegrityError, storage_files

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'
CAMERA_INFO = 'sensor_msgs/msg/CameraInfo'
DIAGNOSTIC_ARRAY = 'diagnostic_msgs/msg/DiagnosticArray'
CLOCK = 'rosgraph_msgs/msg/Clock'
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
#: Short names accepted wherever a message type is given.
TYPE_ALIASES = {
    'image': IMAGE,
    'compressedimage': COMPRESSED_IMAGE,
    'camerainfo': CAMERA_INFO,
    'diagnosticarray': DIAGNOSTIC_ARRAY,
    'clock': CLOCK,
}
STORAGES = ('sqlite3', 'mcap')
DEFAULT_STORAGE = 'sqlite3'
#: rosbag2 metadata version written (8: Jazzy; Kilted reads it too).
METADATA_VERSION = 8


class BagError(RuntimeError):
    """A bag that cannot be read or written (missing, truncated, corrupt, wrong topic ...)."""


def normalize_type(name: str) -> str:
    """Return the full type name: 'Image' / 'sensor_msgs/Image' -> 'sensor_msgs/msg/Image'.

    'sensor_msgs/msg/Image' is returned as it is.
    """
    text = name.strip()
    alias = TYPE_ALIASES.get(text.lower().replace('_', ''))
    if alias:
        return alias
    parts = [p for p in text.replace('::', '/').split('/') if p]
    if len(parts) == 2:
        return f'{parts[0]}/msg/{parts[1]}'
    if len(parts) == 3:
        return '/'.join(parts)
    raise ValueError(f'not a message type: {name!r} (use e.g. sensor_msgs/msg/Image or Image)')


@lru_cache(maxsize=1)
def typestore():
    """Return the ROS 2 typestore used to (de)serialise messages."""
    from rosbags.typesys import get_typestore, Stores

    return get_typestore(Stores.ROS2_KILTED)


def msg_class(msgtype: str):
    """Return the typestore class of a message type.

    e.g. ``msg_class(IMAGE)(header=..., ...)``.
    """
    return typestore().types[msgtype]


def stamp_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (typestore or rclpy) -> integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(getattr(stamp, 'nanosec', 0))


def make_time(ns: int):
    sec, nanosec = divmod(int(ns), 1_000_000_000)
    return msg_class('builtin_interfaces/msg/Time')(sec=sec, nanosec=nanosec)


def make_header(stamp: int, frame_id: str):
    return msg_class('std_msgs/msg/Header')(stamp=make_time(stamp), frame_id=str(frame_id))


def serialize(msg: Any, msgtype: Optional[str] = None) -> bytes:
    """Return a typestore message as CDR bytes (what rosbag2 stores and rclpy publishes)."""
    return bytes(typestore().serialize_cdr(msg, msgtype or msg.__msgtype__))


def deserialize(data: bytes | memoryview, msgtype: str) -> Any:
    try:
        return typestore().deserialize_cdr(data, msgtype)
    except Exception as exc:  # truncated / garbage CDR
        raise BagError(
            f'cannot deserialise a {msgtype} message ({len(data)} bytes): '
            f'{type(exc).__name__}: {exc}'
        ) from exc


# ----------------------------------------------------------------------------- numpy <-> messages
def image_to_numpy(msg: Any) -> np.ndarray:
    """sensor_msgs/Image or CompressedImage (typestore or rclpy message) -> array.

    With the runtime's decoders (bgr8/rgb8 -> HxWx3, mono8/mono16 -> HxW, compressed -> decoded).
    """
    from fusion_ros.runtime import decode_compressed, decode_image

    if hasattr(msg, 'format') and not hasattr(msg, 'encoding'):
        return decode_compressed(msg.format, _as_bytes(msg.data))
    return decode_image(
        msg.encoding,
        int(msg.height),
        int(msg.width),
        int(msg.step),
        _as_bytes(msg.data),
        int(msg.is_bigendian),
    )


def _as_bytes(data: Any) -> Any:
    # typestore messages carry uint8 numpy arrays; decode functions take any buffer.
    if isinstance(data, np.ndarray):
        return data.tobytes() if not data.flags.c_contiguous else memoryview(data).cast('B')
    return data


def numpy_to_image(array: np.ndarray, encoding: str, stamp: int, frame_id: str):
    """Array -> typestore sensor_msgs/Image (the runtime's encoder fills encoding/step/data)."""
    from fusion_ros.runtime import encode_image

    enc, step, data = encode_image(array, encoding)
    return msg_class(IMAGE)(
        header=make_header(stamp, frame_id),
        height=int(array.shape[0]),
        width=int(array.shape[1]),
        encoding=enc,
        is_bigendian=0,
        step=int(step),
        data=np.frombuffer(bytes(data), np.uint8),
    )


def numpy_to_compressed(
    array: np.ndarray, stamp: int, frame_id: str, fmt: str = 'jpeg', quality: int = 90
):
    """Array -> typestore sensor_msgs/CompressedImage (image_transport 'compressed' format)."""
    from fusion_ros.runtime import encode_compressed

    fmt_text, data = encode_compressed(array, fmt=fmt, quality=quality)
    return msg_class(COMPRESSED_IMAGE)(
        header=make_header(stamp, frame_id),
        format=fmt_text,
        data=np.frombuffer(bytes(data), np.uint8),
    )


# ----------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class TopicInfo:
    name: str
    msgtype: str
    count: int


@dataclass
class BagMessage:
    """One stored message: topic, type, log (receive) time and the CDR bytes."""

    topic: str
    msgtype: str
    log_time_ns: int
    data: bytes
    connection: Any = field(repr=False, default=None)

    def decode(self) -> Any:
        return deserialize(self.data, self.msgtype)


@dataclass
class ImageFrame:
    """An image message with its header stamp (the camera's capture time)."""

    topic: str
    msgtype: str
    log_time_ns: int
    stamp_ns: int
    frame_id: str
    msg: Any  # typestore Image or CompressedImage
    data: bytes = field(repr=False, default=b'')  # the CDR bytes (copied as is into new bags)

    @property
    def compressed(self) -> bool:
        return self.msgtype == COMPRESSED_IMAGE

    @property
    def encoding(self) -> str:
        """Image encoding, or the CompressedImage format string."""
        return str(self.msg.format if self.compressed else self.msg.encoding)

    def to_numpy(self) -> np.ndarray:
        return image_to_numpy(self.msg)


@lru_cache(maxsize=1)
def _storage_errors() -> Tuple[type, ...]:
    """Return what rosbags' storage plugins raise on damaged files.

    Its sqlite3 plugin uses apsw.
    """
    from rosbags.rosbag2 import ReaderError

    errors: Tuple[type, ...] = (
        ReaderError,
        sqlite3.Error,
        struct.error,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        IndexError,
        AssertionError,
    )
    try:
        import apsw

        errors += (apsw.Error,)
    except ImportError:
        pass
    return errors


def _describe(storage: str) -> str:
    return {'sqlite3': 'sqlite file', 'mcap': 'mcap file'}.get(storage, 'storage file')


class BagReader:
    """A rosbag2 (folder or single .db3/.mcap file) opened for reading; a context manager.

    >>> with BagReader("run1") as bag:
    ...     for frame in bag.image_frames(["/visible/image_raw"]):
    ...         array = frame.to_numpy()
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.storage = ''
        self._reader = None
        self._topics: Dict[str, TopicInfo] = {}
        self._connections: Dict[str, List[Any]] = {}

    # -- opening and validation ------------------------------------------------------------
    def open(self) -> 'BagReader':  # noqa: A003 - public API, named like Path.open
        from rosbags.rosbag2 import Reader

        path = self.path
        if not path.exists():
            raise BagError(f'{path}: no such bag (neither a rosbag2 folder nor a .db3/.mcap file)')
        if path.is_dir():
            meta = path / 'metadata.yaml'
            if not meta.is_file():
                files = sorted(p.name for p in path.glob('*') if p.suffix in ('.db3', '.mcap'))
                hint = (
                    f' (storage files {files} are there: the recording was not closed cleanly; '
                    '`ros2 bag reindex` can rebuild the metadata)'
                    if files
                    else ' (not a rosbag2 folder)'
                )
                raise BagError(f'{path}: metadata.yaml missing{hint}')
            self.storage = self._storage_from_metadata(meta)
        elif path.suffix in ('.db3', '.mcap'):
            self.storage = 'sqlite3' if path.suffix == '.db3' else 'mcap'
        else:
            raise BagError(f'{path}: not a rosbag2 folder or .db3/.mcap file')
        try:
            check_bag(path)
        except IntegrityError as exc:
            kind = 'is truncated' if exc.truncated else 'is corrupt'
            raise BagError(f'{path}: {_describe(self.storage)} {kind}: {exc}') from exc
        try:
            reader = Reader(path)
            reader.open()
        except FileNotFoundError as exc:
            raise BagError(f'{path}: {exc}') from exc
        except _storage_errors() as exc:
            raise BagError(self._corrupt_text(exc)) from exc
        self._reader = reader
        try:
            self._index()
        except BaseException:
            self.close()
            raise
        return self

    def _storage_from_metadata(self, meta: Path) -> str:
        from ruamel.yaml import YAML

        try:
            data = YAML(typ='safe').load(meta.read_text())
            info = data['rosbag2_bagfile_information']
            storage = str(info['storage_identifier'])
            files = [self.path / Path(p).name for p in info['relative_file_paths']]
        except Exception as exc:
            raise BagError(
                f'{meta}: metadata.yaml is corrupt or incomplete ({type(exc).__name__}: {exc})'
            ) from exc
        if storage not in STORAGES:
            raise BagError(
                f"{meta}: storage '{storage}' is not supported (only {', '.join(STORAGES)})"
            )
        missing = [p.name for p in files if not p.is_file()]
        if missing:
            raise BagError(f'{self.path}: {_describe(storage)} missing: {", ".join(missing)}')
        empty = [p.name for p in files if p.stat().st_size == 0]
        if empty:
            raise BagError(
                f'{self.path}: {_describe(storage)} is empty (truncated): {", ".join(empty)}'
            )
        return storage

    def _corrupt_text(self, exc: BaseException) -> str:
        what = _describe(self.storage)
        text = str(exc) or type(exc).__name__
        kind = (
            'is truncated'
            if any(w in text.lower() for w in ('truncat', 'end magic', 'footer', 'summary offset'))
            else 'is corrupt'
        )
        return f'{self.path}: {what} {kind}: {text}'

    def _index(self) -> None:
        """Per-topic type and count; metadata counts must equal the storage's own counts."""
        reader = self._reader
        self._connections = {}
        counts: Dict[str, int] = {}
        types: Dict[str, str] = {}
        for conn in reader.connections:
            self._connections.setdefault(conn.topic, []).append(conn)
            counts[conn.topic] = counts.get(conn.topic, 0) + int(conn.msgcount)
            types.setdefault(conn.topic, conn.msgtype)
        self._topics = {t: TopicInfo(t, types[t], counts[t]) for t in sorted(types)}
        if not self.path.is_dir():
            return
        stored = self._storage_counts()
        if stored is None:
            return
        for topic, info in self._topics.items():
            have = stored.get(topic, 0)
            if have != info.count:
                raise BagError(
                    f'{self.path}: message count mismatch on {topic}: metadata.yaml says '
                    f'{info.count}, the {_describe(self.storage)} holds {have} '
                    '(truncated or modified bag)'
                )

    def _storage_counts(self) -> Optional[Dict[str, int]]:
        """Message count per topic according to the storage files themselves."""
        storages = getattr(self._reader.storage, 'storages', None)
        if not storages:
            return None
        counts: Dict[str, int] = {}
        try:
            for storage in storages:
                for conn in storage.connections:
                    counts[conn.topic] = counts.get(conn.topic, 0) + int(conn.msgcount)
        except _storage_errors() as exc:
            raise BagError(self._corrupt_text(exc)) from exc
        return counts

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except Exception:
                pass

    def __enter__(self) -> 'BagReader':
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- metadata -----------------------------------------------------------------------------
    def _require_open(self):
        if self._reader is None:
            raise BagError(f'{self.path}: bag is not open')
        return self._reader

    @property
    def topics(self) -> Dict[str, TopicInfo]:
        self._require_open()
        return dict(self._topics)

    @property
    def message_count(self) -> int:
        return sum(t.count for t in self.topics.values())

    @property
    def start_ns(self) -> int:
        return int(self._require_open().start_time) if self.message_count else 0

    @property
    def end_ns(self) -> int:
        """Log time of the last message (inclusive)."""
        return int(self._require_open().end_time) - 1 if self.message_count else 0

    @property
    def duration_ns(self) -> int:
        return max(0, self.end_ns - self.start_ns)

    def connection(self, topic: str):
        """Return the first rosbags connection of a topic (type, message definition, hash, QoS)."""
        self._require_topics([topic])
        return self._connections[topic][0]

    def topics_of_type(self, *msgtypes: str) -> List[str]:
        return [t for t, info in self.topics.items() if info.msgtype in msgtypes]

    def _require_topics(self, topics: Iterable[str]) -> None:
        missing = [t for t in topics if t not in self._topics]
        if missing:
            have = ', '.join(f'{t} ({i.msgtype})' for t, i in self._topics.items()) or 'none'
            raise BagError(
                f'{self.path}: no topic {", ".join(missing)} in the bag (topics: {have})'
            )

    # -- iteration ----------------------------------------------------------------------------
    def messages(
        self,
        topics: Optional[Sequence[str]] = None,
        start_ns: Optional[int] = None,
        stop_ns: Optional[int] = None,
    ) -> Iterator[BagMessage]:
        """Messages in log-time order (all topics, or ``topics``).

        From ``start_ns`` (inclusive) to ``stop_ns`` (exclusive). Reading a topic to its end checks
        its message count.
        """
        reader = self._require_open()
        if topics is None:
            topics = list(self._topics)
        else:
            topics = list(dict.fromkeys(topics))
            self._require_topics(topics)
        conns = [c for t in topics for c in self._connections[t]]
        if not conns:
            return
        seen: Dict[str, int] = dict.fromkeys(topics, 0)
        index = 0
        gen = reader.messages(connections=conns, start=start_ns, stop=stop_ns)
        while True:
            try:
                item = next(gen)
            except StopIteration:
                break
            except _storage_errors() as exc:
                raise BagError(f'{self._corrupt_text(exc)} (after {index} messages)') from exc
            conn, log_time, data = item
            index += 1
            seen[conn.topic] += 1
            yield BagMessage(conn.topic, conn.msgtype, int(log_time), bytes(data), conn)
        if start_ns is None and stop_ns is None:
            for topic in topics:
                if seen[topic] != self._topics[topic].count:
                    raise BagError(
                        f'{self.path}: message count mismatch on {topic}: expected '
                        f'{self._topics[topic].count}, read {seen[topic]} '
                        '(truncated or corrupt bag)'
                    )

    def image_frames(
        self, topics: Sequence[str], start_ns: Optional[int] = None, stop_ns: Optional[int] = None
    ) -> Iterator[ImageFrame]:
        """Image/CompressedImage messages of ``topics`` in log-time order, decoded to messages."""
        self._require_topics(topics)
        for topic in topics:
            if self._topics[topic].msgtype not in IMAGE_TYPES:
                raise BagError(
                    f'{self.path}: {topic} is a {self._topics[topic].msgtype}, '
                    'not an Image or CompressedImage'
                )
        for m in self.messages(topics, start_ns, stop_ns):
            yield image_frame(m)

    def verify(self) -> int:
        """Read every message (and deserialise the known types); returns the count."""
        count = 0
        known = set(typestore().types)
        for m in self.messages():
            if m.msgtype in known:
                m.decode()
            count += 1
        return count


def image_frame(m: BagMessage) -> ImageFrame:
    msg = m.decode()
    return ImageFrame(
        m.topic,
        m.msgtype,
        m.log_time_ns,
        stamp_ns(msg.header.stamp),
        str(msg.header.frame_id),
        msg,
        m.data,
    )


def open_bag(path: str | os.PathLike) -> BagReader:
    """Open a bag for reading (use as a context manager or call ``close()``)."""
    return BagReader(path).open()


def resolve_image_topic(bag: BagReader, topic: str) -> str:
    """``topic`` if the bag has it as an image topic.

    Else ``topic + '/compressed'`` (a bag recorded with image_transport compressed), else a
    BagError listing the image topics.
    """
    topics = bag.topics
    for candidate in (topic, topic.rstrip('/') + '/compressed'):
        if candidate in topics and topics[candidate].msgtype in IMAGE_TYPES:
            return candidate
    images = ', '.join(bag.topics_of_type(*IMAGE_TYPES)) or 'none'
    raise BagError(
        f'{bag.path}: no image topic {topic} (or {topic}/compressed); image topics: {images}'
    )


# ----------------------------------------------------------------------------- writing
class BagWriter:
    """Write a rosbag2 atomically: into a temporary folder, renamed to ``path`` on a clean close.

    >>> with BagWriter("out", storage="mcap") as bag:
    ...     bag.add_topic("/fused/image_raw", IMAGE)
    ...     bag.write("/fused/image_raw", log_time_ns, msg)

    Leaving the ``with`` block with an exception (or calling :meth:`abort`) deletes everything.
    """

    def __init__(
        self, path: str | os.PathLike, storage: str = DEFAULT_STORAGE, overwrite: bool = False
    ) -> None:
        if storage not in STORAGES:
            raise BagError(f'storage must be one of {", ".join(STORAGES)}, got {storage!r}')
        self.path = Path(path)
        self.storage = storage
        self.overwrite = overwrite
        self.counts: Dict[str, int] = {}
        self._writer = None
        self._tmp_parent: Optional[Path] = None
        self._conns: Dict[str, Any] = {}
        self._types: Dict[str, str] = {}

    def open(self) -> 'BagWriter':  # noqa: A003 - public API, named like Path.open
        from rosbags.rosbag2 import StoragePlugin, Writer

        if self.path.exists() and not self.overwrite:
            raise BagError(f'{self.path} exists already; choose another output or remove it')
        parent = self.path.resolve().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            # Same folder as the target: the final rename is atomic (same file system).
            self._tmp_parent = Path(
                tempfile.mkdtemp(prefix=f'.{self.path.name}.', suffix='.partial', dir=parent)
            )
        except OSError as exc:
            raise BagError(f'cannot create {self.path}: {exc}') from exc
        plugin = StoragePlugin.SQLITE3 if self.storage == 'sqlite3' else StoragePlugin.MCAP
        try:
            self._writer = Writer(
                self._tmp_parent / self.path.name, version=METADATA_VERSION, storage_plugin=plugin
            )
            self._writer.open()
        except Exception as exc:
            self.abort()
            raise BagError(f'cannot create {self.path}: {exc}') from exc
        return self

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    def add_topic(
        self,
        topic: str,
        msgtype: str,
        msgdef: Optional[str] = None,
        digest: Optional[str] = None,
        qos: Sequence[Any] = (),
    ) -> Any:
        """Declare a topic (idempotent for the same type).

        ``msgdef``/``digest`` copy a source bag's definition for types the typestore does not know.
        """
        if self._writer is None:
            raise BagError(f'{self.path}: writer is not open')
        msgtype = normalize_type(msgtype)
        if topic in self._conns:
            if self._types[topic] != msgtype:
                raise BagError(f'{topic}: already declared as {self._types[topic]}, not {msgtype}')
            return self._conns[topic]
        store = typestore()
        try:
            if msgtype in store.types:
                conn = self._writer.add_connection(
                    topic, msgtype, typestore=store, offered_qos_profiles=list(qos)
                )
            elif msgdef and digest:
                conn = self._writer.add_connection(
                    topic, msgtype, msgdef=msgdef, rihs01=digest, offered_qos_profiles=list(qos)
                )
            else:
                raise BagError(f'{topic}: unknown message type {msgtype} (no definition to store)')
        except BagError:
            raise
        except Exception as exc:
            raise BagError(f'{self.path}: cannot add topic {topic} ({msgtype}): {exc}') from exc
        self._conns[topic] = conn
        self._types[topic] = msgtype
        self.counts[topic] = 0
        return conn

    def copy_topic(self, reader: BagReader, topic: str, new_name: Optional[str] = None) -> Any:
        """Declare ``new_name`` (default: the same name) with a source bag topic's type."""
        conn = reader.connection(topic)
        msgdef = conn.msgdef.data if conn.msgdef is not None else None
        return self.add_topic(
            new_name or topic, conn.msgtype, msgdef=msgdef or None, digest=conn.digest or None
        )

    def write_raw(self, topic: str, log_time_ns: int, data: bytes | memoryview) -> None:
        """Write CDR bytes (as received by a raw subscription or read from another bag)."""
        if self._writer is None:
            raise BagError(f'{self.path}: writer is not open')
        if topic not in self._conns:
            raise BagError(f'{topic}: add_topic() it before writing')
        self._writer.write(self._conns[topic], int(log_time_ns), data)
        self.counts[topic] += 1

    def write(self, topic: str, log_time_ns: int, msg: Any) -> None:
        """Write a typestore message (declares the topic on first use)."""
        if topic not in self._conns:
            self.add_topic(topic, msg.__msgtype__)
        self.write_raw(topic, log_time_ns, serialize(msg))

    @property
    def message_count(self) -> int:
        return sum(self.counts.values())

    def close(self) -> Path:
        """Finish the bag (metadata.yaml) and move it to ``path``; returns ``path``."""
        writer = self._writer
        if writer is None:
            raise BagError(f'{self.path}: writer is not open')
        tmp_bag = self._tmp_parent / self.path.name
        try:
            writer.close()
            self._writer = None
            for storage_file in storage_files(tmp_bag):
                if storage_file.suffix == '.mcap':
                    add_mcap_crcs(storage_file)
            if self.path.exists() and self.overwrite:
                shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()
            os.replace(tmp_bag, self.path)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, Exception):
                raise BagError(f'cannot finish {self.path}: {exc}') from exc
            raise
        shutil.rmtree(self._tmp_parent, ignore_errors=True)
        self._tmp_parent = None
        return self.path

    def abort(self) -> None:
        """Discard everything written (nothing is left at ``path`` or in the temp folder)."""
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.abort()
            except Exception:
                pass
        if self._tmp_parent is not None:
            shutil.rmtree(self._tmp_parent, ignore_errors=True)
            self._tmp_parent = None

    def __enter__(self) -> 'BagWriter':
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._writer is not None:
            self.close()
        else:
            self.abort()


def camera_info(
    width: int, height: int, stamp: int, frame_id: str, fx: float = 0.0, fy: float = 0.0
) -> Any:
    """Return a plumb_bob sensor_msgs/CameraInfo with a pinhole model (fx default ~ 60 deg FOV)."""
    fx = fx or width / (2.0 * np.tan(np.radians(30.0)))
    fy = fy or fx
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    roi = msg_class('sensor_msgs/msg/RegionOfInterest')(
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    return msg_class(CAMERA_INFO)(
        header=make_header(stamp, frame_id),
        height=int(height),
        width=int(width),
        distortion_model='plumb_bob',
        d=np.zeros(5, np.float64),
        k=np.array([fx, 0, cx, 0, fy, cy, 0, 0, 1], np.float64),
        r=np.eye(3, dtype=np.float64).ravel(),
        p=np.array([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0], np.float64),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )


def diagnostic_array(
    stamp: int, statuses: Sequence[Tuple[str, str, str, int, Sequence[Tuple[str, str]]]]
):
    """Return a DiagnosticArray from status tuples.

    Each is ``(name, message, hardware_id, level, [(key, value), ...])``.
    """
    status_cls = msg_class('diagnostic_msgs/msg/DiagnosticStatus')
    kv_cls = msg_class('diagnostic_msgs/msg/KeyValue')
    return msg_class(DIAGNOSTIC_ARRAY)(
        header=make_header(stamp, ''),
        status=[
            status_cls(
                level=int(level),
                name=name,
                message=message,
                hardware_id=hw,
                values=[kv_cls(key=str(k), value=str(v)) for k, v in values],
            )
            for name, message, hw, level, values in statuses
        ],
    )


def clock_msg(ns: int):
    return msg_class(CLOCK)(clock=make_time(ns))
