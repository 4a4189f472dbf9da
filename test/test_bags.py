# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 I/O, sample bags, offline fusion (fuse-bag), training pairs.

Real sqlite3 and mcap bags written by rosbags, no ROS graph.
"""

from __future__ import annotations

from pathlib import Path

from bag_helpers import (
    bag_topics,
    cli,
    copy_bag,
    expected_pairs,
    humble_style_bag,
    partial_dirs,
    read_topic,
    sample_bag,
    scribble,
    stamps,
    storage_file,
    tiny_model,
    truncate,
)
import numpy as np
import pytest

STORAGES = ('sqlite3', 'mcap')
N = 30  # 1 s at 30 Hz
VIS, THERM, INFO = '/visible/image_raw', '/thermal/image_raw', '/visible/camera_info'


@pytest.fixture(scope='module')
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('bags')


@pytest.fixture(scope='module')
def bags(root):
    return {
        'sqlite3': sample_bag(root / 'sample_sqlite3', storage='sqlite3'),
        'mcap': sample_bag(root / 'sample_mcap', storage='mcap'),
        'compressed': sample_bag(root / 'sample_jpeg', storage='mcap', compressed=True),
    }


@pytest.fixture(scope='module')
def model(root) -> str:
    return str(tiny_model(root / 'model'))


# ----------------------------------------------------------------------------- sample bags
@pytest.mark.parametrize('storage', STORAGES)
def test_sample_bag_layout(bags, storage):
    from fusion_ros.bags.io import BagReader
    from fusion_ros.bags.sample import DEFAULT_START_NS
    from fusion_ros.images.demo_sequence import DemoSequence

    bag = bags[storage]
    assert bag_topics(bag) == {
        VIS: ('sensor_msgs/msg/Image', N),
        THERM: ('sensor_msgs/msg/Image', N),
        INFO: ('sensor_msgs/msg/CameraInfo', N),
    }
    assert storage_file(bag).suffix == ('.db3' if storage == 'sqlite3' else '.mcap')
    vis, th, info = read_topic(bag, VIS), read_topic(bag, THERM), read_topic(bag, INFO)
    want_vis = [DEFAULT_START_NS + int(round(i / 30 * 1e9)) for i in range(N)]
    assert stamps(vis) == want_vis
    assert stamps(th) == [s + 4_000_000 for s in want_vis]  # thermal triggered 4 ms later
    assert stamps(info) == want_vis
    assert {m.header.frame_id for _, m in vis} == {'camera_visible_optical_frame'}
    assert {m.header.frame_id for _, m in th} == {'camera_thermal_optical_frame'}
    assert {m.encoding for _, m in vis} == {'bgr8'} and {m.encoding for _, m in th} == {'mono16'}
    for log, m in vis + th:  # receive (log) time after capture
        assert 0 < log - (m.header.stamp.sec * 10**9 + m.header.stamp.nanosec) < 20_000_000
    seq = DemoSequence(width=160, height=128)
    with BagReader(bag) as reader:
        frames = list(reader.image_frames([VIS, THERM]))
    assert [f.topic for f in frames[:2]] == [VIS, THERM]  # log-time order
    first_vis = next(f for f in frames if f.topic == VIS)
    last_th = [f for f in frames if f.topic == THERM][-1]
    np.testing.assert_array_equal(first_vis.to_numpy(), seq.frame(0).visible)
    np.testing.assert_array_equal(last_th.to_numpy(), seq.frame(N - 1).thermal)
    assert info[0][1].width == 160 and info[0][1].k[8] == 1.0


def test_compressed_sample_bag(bags):
    from fusion_ros.bags.io import BagReader, resolve_image_topic
    from fusion_ros.images.demo_sequence import DemoSequence

    bag = bags['compressed']
    assert bag_topics(bag) == {
        VIS + '/compressed': ('sensor_msgs/msg/CompressedImage', N),
        THERM + '/compressed': ('sensor_msgs/msg/CompressedImage', N),
        INFO: ('sensor_msgs/msg/CameraInfo', N),
    }
    seq = DemoSequence(width=160, height=128)
    with BagReader(bag) as reader:
        assert resolve_image_topic(reader, VIS) == VIS + '/compressed'
        frames = list(reader.image_frames([VIS + '/compressed', THERM + '/compressed']))
    vis = [f for f in frames if f.topic.startswith('/visible')]
    th = [f for f in frames if f.topic.startswith('/thermal')]
    assert 'jpeg' in vis[0].encoding and 'png' in th[0].encoding
    assert vis[0].to_numpy().shape == (128, 160, 3)
    thermal = th[5].to_numpy()
    assert thermal.dtype == np.uint16  # 16-bit PNG keeps radiometric counts, losslessly
    np.testing.assert_array_equal(thermal, seq.frame(5).thermal)
    assert [f.stamp_ns + 4_000_000 for f in vis] == [f.stamp_ns for f in th]


def test_humble_style_bag(bags, model, tmp_path):
    """A bag laid out as Humble's `ros2 bag record` writes it reads, fuses and keeps its topics.

    Humble writes metadata v5, sqlite schema 3 and no message definitions.
    """
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.io import BagReader

    humble = humble_style_bag(bags['sqlite3'], tmp_path / 'humble')
    with BagReader(humble) as reader:
        assert reader.storage == 'sqlite3' and reader.verify() == 3 * N
    result = fuse_bag(humble, tmp_path / 'fused', model)
    assert result.fused == N
    assert bag_topics(tmp_path / 'fused')[VIS] == ('sensor_msgs/msg/Image', N)
    assert stamps(_fused(tmp_path / 'fused')) == stamps(read_topic(bags['sqlite3'], VIS))


# ----------------------------------------------------------------------------- writer
def test_writer_is_atomic(tmp_path):
    from fusion_ros.bags.io import BagError, BagWriter, IMAGE, numpy_to_image

    img = numpy_to_image(np.zeros((4, 6, 3), np.uint8), 'bgr8', 5, 'f')
    out = tmp_path / 'out'
    with pytest.raises(RuntimeError, match='boom'):
        with BagWriter(out) as bag:
            bag.add_topic('/a', IMAGE)
            bag.write('/a', 10, img)
            assert not out.exists() and partial_dirs(tmp_path)  # in progress: hidden name
            raise RuntimeError('boom')
    assert not out.exists() and not partial_dirs(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with BagWriter(out, storage='mcap') as bag:
            bag.write('/a', 10, img)
            raise KeyboardInterrupt
    assert not out.exists() and not partial_dirs(tmp_path)
    with BagWriter(out, storage='mcap') as bag:
        bag.write('/a', 10, img)
        bag.write('/a', 20, img)
    assert bag_topics(out) == {'/a': ('sensor_msgs/msg/Image', 2)}
    assert [p.name for p in sorted(out.iterdir())] == ['metadata.yaml', 'out.mcap']
    with pytest.raises(BagError, match='exists already'):
        BagWriter(out).open()
    assert not partial_dirs(tmp_path)


# ----------------------------------------------------------------------------- damaged bags
def _nometa(d):
    (d / 'metadata.yaml').unlink()


def _count(d):
    meta = d / 'metadata.yaml'
    meta.write_text(meta.read_text().replace('message_count: 30', 'message_count: 31', 1))


DAMAGE = {
    'metadata_missing': (_nometa, 'metadata.yaml missing'),
    'metadata_corrupt': (
        lambda d: (d / 'metadata.yaml').write_text('rosbag2: [unclosed'),
        'metadata.yaml is corrupt',
    ),
    'storage_missing': (lambda d: storage_file(d).unlink(), 'file missing'),
    'storage_empty': (lambda d: truncate(storage_file(d), 0.0), 'empty'),
    'truncated': (lambda d: truncate(storage_file(d), 0.6), None),
    'header_garbage': (lambda d: scribble(storage_file(d), 0.0, 100), 'corrupt'),
    'middle_garbage': (lambda d: scribble(storage_file(d), 0.5, 64 * 1024), None),
    'count_mismatch': (_count, 'message count mismatch'),
}
TRUNCATED_TEXT = {'sqlite3': 'sqlite file is corrupt', 'mcap': 'mcap file is truncated'}


@pytest.mark.parametrize('storage', STORAGES)
@pytest.mark.parametrize('damage', sorted(DAMAGE))
def test_damaged_bag_clear_error_and_no_output(bags, model, tmp_path, storage, damage):
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.io import BagError, BagReader

    apply, text = DAMAGE[damage]
    bag = copy_bag(bags[storage], tmp_path / 'damaged')
    apply(bag)
    if text is None:
        text = TRUNCATED_TEXT[storage] if damage == 'truncated' else 'corrupt|count mismatch'
    with pytest.raises(BagError, match=text) as info:
        with BagReader(bag) as reader:
            for m in reader.messages():
                m.decode()
    assert str(bag) in str(info.value)
    out = tmp_path / 'fused'
    with pytest.raises(BagError, match=text):
        fuse_bag(bag, out, model)
    assert not out.exists() and not partial_dirs(tmp_path)
    assert cli('fuse-bag', str(bag), str(out), '--model', model, '--no-progress') == 1
    assert not out.exists() and not partial_dirs(tmp_path)


def test_missing_bag_and_topic(bags, model, tmp_path):
    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.bags.io import BagError

    with pytest.raises(BagError, match='no such bag'):
        fuse_bag(tmp_path / 'nope', tmp_path / 'out', model)
    with pytest.raises(BagError, match='no image topic /lwir/image_raw'):
        fuse_bag(bags['mcap'], tmp_path / 'out', model, thermal_topic='/lwir/image_raw')
    assert not (tmp_path / 'out').exists() and not partial_dirs(tmp_path)


# ----------------------------------------------------------------------------- fuse-bag
def _fused(bag: Path, topic: str = '/fused/image_raw'):
    return read_topic(bag, topic)


@pytest.mark.parametrize('storage', STORAGES)
def test_fuse_bag_output(bags, model, tmp_path, storage):
    from fusion_ros.bags.fuse_bag import fuse_bag

    src = bags[storage]
    out = tmp_path / 'fused'
    result = fuse_bag(src, out, model)
    assert (result.pairs, result.fused, result.failed, result.dropped) == (N, N, 0, [0, 0])
    assert result.fps > 0 and result.stage_ms['inference'] > 0
    assert storage_file(out).suffix == storage_file(src).suffix  # same storage as the input
    topics = bag_topics(out)
    assert topics == {
        **bag_topics(src),
        '/fused/image_raw': ('sensor_msgs/msg/Image', N),
        '/fused/camera_info': ('sensor_msgs/msg/CameraInfo', N),
        '/diagnostics': ('diagnostic_msgs/msg/DiagnosticArray', N),
    }
    # Original topics copied byte for byte, same log times.
    for topic in (VIS, THERM, INFO):
        assert [(t, m.header.stamp) for t, m in read_topic(out, topic)] == [
            (t, m.header.stamp) for t, m in read_topic(src, topic)
        ]
    fused = _fused(out)
    pairs = expected_pairs(src)
    assert len(pairs) == N
    assert stamps(fused) == [v for v, _ in pairs]  # stamp = visible stamp, in order
    assert {m.header.frame_id for _, m in fused} == {'camera_visible_optical_frame'}
    assert {(m.encoding, m.width, m.height, m.step) for _, m in fused} == {('bgr8', 160, 128, 480)}
    th_log = {
        s: t
        for t, s in zip([t for t, _ in read_topic(src, THERM)], stamps(read_topic(src, THERM)))
    }
    for (log, m), (_, th_stamp) in zip(fused, pairs):  # logged when both inputs were there
        assert log == th_log[th_stamp]
    image = np.frombuffer(bytes(fused[10][1].data), np.uint8).reshape(128, 160, 3)
    assert image.std() > 5
    assert stamps(read_topic(out, '/fused/camera_info')) == stamps(fused)
    diags = read_topic(out, '/diagnostics')
    status = diags[0][1].status[0]
    values = {kv.key: kv.value for kv in status.values}
    assert status.name == 'fuse_bag: fusion' and status.hardware_id == 'blend'
    for key in ('preprocess_ms', 'inference_ms', 'postprocess_ms', 'total_ms'):
        assert float(values[key]) >= 0
    assert values['visible_stamp'] == str(pairs[0][0]) and values['thermal_stamp'] == str(
        pairs[0][1]
    )
    assert float(values['stamp_delta_ms']) == pytest.approx(4.0)
    assert stamps(diags) == stamps(fused)


def test_fuse_bag_is_deterministic(bags, model, tmp_path):
    from fusion_ros.bags.fuse_bag import fuse_bag

    data = []
    for i, (src, storage) in enumerate(
        [(bags['sqlite3'], None), (bags['sqlite3'], None), (bags['mcap'], 'sqlite3')]
    ):
        out = tmp_path / f'run{i}'
        fuse_bag(src, out, model, storage=storage, diagnostics=False)
        data.append([bytes(m.data) for _, m in _fused(out)])
    assert len(data[0]) == N
    assert data[0] == data[1] == data[2]  # byte-identical fused images, whatever the storage


def test_fuse_bag_interrupted_leaves_nothing(bags, model, tmp_path):
    from fusion_ros.bags.fuse_bag import fuse_bag

    def ctrl_c(frame: int) -> None:
        if frame == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fuse_bag(bags['mcap'], tmp_path / 'fused', model, on_frame=ctrl_c)
    assert not (tmp_path / 'fused').exists() and not partial_dirs(tmp_path)


def test_fuse_bag_compressed_input(bags, model, tmp_path):
    from fusion_ros.bags.fuse_bag import fuse_bag

    out = tmp_path / 'fused'
    result = fuse_bag(bags['compressed'], out, model, storage='sqlite3', copy_topics=False)
    assert result.visible_topic == VIS + '/compressed' and result.fused == N
    assert set(bag_topics(out)) == {'/fused/image_raw', '/fused/camera_info', '/diagnostics'}
    fused = _fused(out)
    assert stamps(fused) == [v for v, _ in expected_pairs(bags['compressed'])]
    assert {m.encoding for _, m in fused} == {'bgr8'}


def _jittery_bag(path: Path) -> list:
    """Visible at 30 Hz; thermal 3-9 ms later with jitter, some frames of each camera missing."""
    from fusion_ros.bags.io import BagWriter, IMAGE, numpy_to_image, serialize

    rng = np.random.default_rng(7)
    vis = np.zeros((8, 8, 3), np.uint8)
    th = np.zeros((8, 8), np.uint16)
    events = []
    for i in range(90):
        v = 10**18 + int(i * 1e9 / 30)
        if i not in (7, 40):
            events.append((v + 2_000_000, VIS, v))
        if i not in (12, 13, 50, 71):
            t = v + int(rng.integers(3_000_000, 9_000_000))
            events.append((t + 1_000_000, THERM, t))
    events.sort()
    with BagWriter(path) as bag:
        bag.add_topic(VIS, IMAGE)
        bag.add_topic(THERM, IMAGE)
        for log, topic, stamp in events:
            arr = vis if topic == VIS else th
            bag.write_raw(
                topic,
                log,
                serialize(numpy_to_image(arr, 'bgr8' if topic == VIS else 'mono16', stamp, 'f')),
            )
    return events


def test_fuse_bag_pairs_like_the_node(model, tmp_path):
    """The offline pairs are those of the node's PairSynchronizer fed the same messages."""
    from types import SimpleNamespace

    from fusion_ros.bags.fuse_bag import fuse_bag
    from fusion_ros.ros import parameters as P
    from fusion_ros.ros.synchronizer import PairSynchronizer

    events = _jittery_bag(tmp_path / 'jitter')
    node_pairs = []
    sync = PairSynchronizer(
        P.PARAMETERS['sync_queue_size'].default,
        P.PARAMETERS['sync_slop'].default,
        lambda v, t: node_pairs.append(v.stamp_ns),
        backend='fusion_ros',
    )
    for log, topic, stamp in events:
        msg = SimpleNamespace(header=None)
        sync.add(0 if topic == VIS else 1, msg, stamp, log)
    result = fuse_bag(tmp_path / 'jitter', tmp_path / 'fused', model)
    offline = stamps(_fused(tmp_path / 'fused'))
    # Same pairs; offline, the end of the bag also releases the last pair, which a live node
    # keeps waiting for the next frame to prove it final.
    assert offline[: len(node_pairs)] == node_pairs and len(offline) - len(node_pairs) <= 1
    assert result.fused == len(offline) >= 80
    assert sum(result.dropped) > 0


# ----------------------------------------------------------------------------- training pairs
def test_pairs_from_bag(bags):
    from fusion_ros.bags import pairs_from_bag

    pairs = pairs_from_bag(bags['sqlite3'], VIS, THERM, 0.015)
    assert len(pairs) == N
    name, ir, vis, vis_bgr = pairs[0]
    assert name == f'sample_sqlite3_{expected_pairs(bags["sqlite3"])[0][0]}'
    assert ir.dtype == vis.dtype == np.float32 and ir.shape == vis.shape == (128, 160)
    assert 0.0 <= ir.min() and ir.max() <= 1.0 and ir.max() - ir.min() > 0.5  # 16-bit stretched
    assert 0.0 <= vis.min() and vis.max() <= 1.0
    assert vis_bgr is None or vis_bgr.shape == (128, 160, 3)
    assert pairs[3].stacked().shape == (2, 128, 160)
    assert [p.name for p in pairs] == sorted({p.name for p in pairs})
    assert len(pairs_from_bag(bags['mcap'], VIS, THERM, 0.015, every_n=4)) == 8
    assert len(pairs_from_bag(bags['compressed'], VIS, THERM, 0.015, limit=5, max_side=80)) == 5
    assert pairs_from_bag(bags['compressed'], VIS, THERM, 0.015, limit=1, max_side=80)[
        0
    ].ir.shape == (64, 80)


def test_pairs_from_bag_as_training_source(bags):
    pytest.importorskip('torch')
    from fusion_ros.training.data import load_pairs_from_source

    pairs = load_pairs_from_source({'source': 'bag', 'bag': str(bags['mcap']), 'every_n': 10})
    assert len(pairs) == 3 and pairs[0].stacked().shape == (2, 128, 160)


# ----------------------------------------------------------------------------- command line
def test_cli_make_sample_bag_and_fuse_bag(model, tmp_path):
    sample = tmp_path / 's'
    assert (
        cli(
            'make-sample-bag',
            str(sample),
            '--storage',
            'mcap',
            '--seconds',
            '0.5',
            '--size',
            '64x48',
            '--compressed',
            '--with-raw',
        )
        == 0
    )
    assert bag_topics(sample) == {
        VIS: ('sensor_msgs/msg/Image', 15),
        THERM: ('sensor_msgs/msg/Image', 15),
        INFO: ('sensor_msgs/msg/CameraInfo', 15),
        VIS + '/compressed': ('sensor_msgs/msg/CompressedImage', 15),
        THERM + '/compressed': ('sensor_msgs/msg/CompressedImage', 15),
    }
    assert cli('make-sample-bag', str(sample)) == 1  # exists already
    out = tmp_path / 'f'
    assert (
        cli(
            'fuse-bag',
            str(sample),
            str(out),
            '--model',
            model,
            '--no-progress',
            '--fused-topic',
            '/cam/fused',
            '--storage',
            'sqlite3',
            '--slop',
            '0.01',
        )
        == 0
    )
    topics = bag_topics(out)
    assert topics['/cam/fused'] == ('sensor_msgs/msg/Image', 15)
    assert topics['/cam/camera_info'] == ('sensor_msgs/msg/CameraInfo', 15)
    assert storage_file(out).suffix == '.db3'
    assert (
        cli(
            'fuse-bag',
            str(sample),
            str(tmp_path / 'g'),
            '--model',
            str(tmp_path / 'none.onnx'),
            '--no-progress',
        )
        == 1
    )
    assert not (tmp_path / 'g').exists() and not partial_dirs(tmp_path)


def test_cli_train_from_bag(bags, tmp_path):
    """`fusion-ros train --bag` trains on the bag's synchronised pairs, exports a usable model."""
    pytest.importorskip('torch')
    run = tmp_path / 'run'
    assert (
        cli(
            'train',
            '--model',
            'mmdrfuse',
            '--config',
            'tiny',
            '--bag',
            str(bags['mcap']),
            '--every-n',
            '3',
            '--out',
            str(run),
            '--quiet',
        )
        == 0
    )
    import json

    card = json.loads((run / 'export' / 'mmdrfuse.json').read_text())
    names = card['training']['data']['train_pairs'] + card['training']['data']['val_pairs']
    assert len(names) == 10 and all(n.startswith('sample_mcap_') for n in names)
    from fusion_ros.runtime.loader import load_pipeline

    pipe = load_pipeline(str(run / 'export' / 'mmdrfuse.onnx'), backend='cpu')
    fused = pipe.fuse(np.full((48, 64, 3), 90, np.uint8), np.full((48, 64), 30000, np.uint16))
    assert fused.image.shape == (48, 64, 3) and fused.image.dtype == np.uint8


# ----------------------------------------------------------------------------- integrity
@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_changed_bytes_inside_the_data_are_refused_at_open(bags, tmp_path, storage):
    """Garbage that keeps the file's structure is refused before a message is used.

    Such garbage (pixels overwritten inside a message) used to read as valid frames: every chunk
    now carries a CRC and SQLite files get an integrity check at open, before a single message is
    read, published or written.
    """
    from fusion_ros.bags.integrity import _chunks, check_bag
    from fusion_ros.bags.io import BagError, BagReader

    bag = copy_bag(bags[storage], tmp_path / 'changed')
    check_bag(bag)  # intact: passes
    target = storage_file(bag)
    if storage == 'mcap':
        with open(target, 'r+b') as f:
            chunks = list(_chunks(f, target.name))
            assert chunks and all(c.crc for c in chunks)  # written with CRCs
            chunk = chunks[len(chunks) // 2]
            f.seek(chunk.crc_offset + len(chunk.records) // 2)  # well inside the records
            f.write(b'\x5a' * 1024)
        text = 'fails its CRC'
    else:
        scribble(target, 0.5, 64 * 1024)
        text = 'corrupt'
    with pytest.raises(BagError, match=text):
        BagReader(bag).open()
    out = tmp_path / 'fused'
    assert cli('fuse-bag', str(bag), str(out), '--no-progress') == 1
    assert not out.exists()
