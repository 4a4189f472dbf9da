# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""rosbag2 in and out, on `rosbags` (no rosbag2 install needed).

* :mod:`.io`: :class:`BagReader` / :class:`BagWriter` (sqlite3 and mcap, atomic writes, typed
  :class:`BagError` for missing/truncated/corrupt bags), message <-> numpy.
* :mod:`.pairs`: visible/thermal pairing with the node's synchroniser; :func:`pairs_from_bag` for
  training.
* :mod:`.fuse_bag`: offline fusion of a bag into a new bag (fused topic + latency diagnostics).
* :mod:`.sample`: a sample bag from the bundled demo sequence.
* :mod:`.video`: MP4 of the fused stream and a visible | thermal | fused mosaic.

The ROS nodes that play and record bags live in :mod:`fusion_ros.nodes.replay_node` and
:mod:`fusion_ros.nodes.recorder_node`.
"""

from fusion_ros.bags.io import BagError, BagReader, BagWriter, open_bag
from fusion_ros.bags.pairs import BagPair, pairs_from_bag, synchronized_frames

__all__ = [
    'BagError',
    'BagReader',
    'BagWriter',
    'open_bag',
    'BagPair',
    'pairs_from_bag',
    'synchronized_frames',
    'fuse_bag',
    'make_sample_bag',
]


def __getattr__(name: str):  # heavier parts on first use
    if name == 'fuse_bag':
        from fusion_ros.bags.fuse_bag import fuse_bag

        return fuse_bag
    if name == 'make_sample_bag':
        from fusion_ros.bags.sample import make_sample_bag

        return make_sample_bag
    raise AttributeError(name)
