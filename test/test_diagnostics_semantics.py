# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""What /diagnostics says, as diagnostic_updater users expect it (driven by a fake clock).

WARN while waiting for the cameras, ERROR when the cameras talk but nothing pairs or nothing comes
out, WARN when output falls behind the pairs, ERROR when every frame of a camera is rejected.
"""

from __future__ import annotations

import re

from fusion_ros.ros.diagnostics import ERROR, FusionDiagnostics, HealthConfig, OK, WARN

CFG = HealthConfig(
    latency_budget_ms=50.0, input_timeout_s=2.0, bad_input_hold_s=5.0, sync_slop_s=0.015
)


class Rig:
    """A diagnostics object and a clock; `run` feeds both cameras at 30 Hz for some seconds."""

    def __init__(self) -> None:
        self.now = 100.0
        self.d = FusionDiagnostics(['visible', 'thermal'], window_s=10.0, clock=lambda: self.now)
        self.pairs = 0

    def run(
        self,
        seconds: float,
        offset_s: float = 0.0,
        pair: bool = True,
        output_every: int = 1,
        thermal_bad: bool = False,
    ) -> None:
        for k in range(int(seconds * 30)):
            self.now += 1 / 30
            self.d.record_input('visible', stamp_s=self.now)
            self.d.record_input('thermal', stamp_s=self.now + offset_s)
            if thermal_bad:  # arrives, then fails to decode
                self.d.record_error('encoding', "thermal: unsupported encoding 'bgr8'")
            if pair and not thermal_bad:
                self.pairs += 1
            self.d.record_sync(self.pairs, [0, 0])
            if pair and not thermal_bad and k % output_every == 0:
                self.d.record_output()

    def level(self) -> tuple[int, str]:
        level, message, _ = self.d.evaluate(CFG)
        return level, message


def test_start_up_is_a_warning_not_an_error() -> None:
    rig = Rig()
    rig.now += 30.0  # a long boot with no camera yet
    level, message = rig.level()
    assert level == WARN and 'waiting for cameras' in message


def test_healthy_stream_is_ok() -> None:
    rig = Rig()
    rig.run(3.0)
    level, message = rig.level()
    assert level == OK and message.startswith('fusing at 30'), message


def test_stamps_too_far_apart_to_pair_is_an_error_naming_offset_and_slop() -> None:
    rig = Rig()
    rig.run(3.0, offset_s=0.050, pair=False)
    level, message = rig.level()
    assert level == ERROR
    assert 'nothing pairs' in message and '+50 ms' in message and 'sync_slop is 15 ms' in message


def test_output_behind_the_pairs_is_a_warning() -> None:
    rig = Rig()
    rig.run(3.0, output_every=3)  # 10 of 30 pairs/s fused
    level, message = rig.level()
    assert level == WARN and re.search(r'fusing (9|10)\.\d of 30\.\d pairs/s', message), message


def test_stall_names_the_stage() -> None:
    rig = Rig()
    rig.run(3.0)
    rig.d.begin_stage('inference')
    rig.run(1.5, output_every=10**6)  # pairs keep arriving, nothing comes out
    level, message = rig.level()
    assert level == ERROR and 'stalled' in message and 'inference running for 1.5 s' in message


def test_every_thermal_frame_rejected_becomes_an_error() -> None:
    rig = Rig()
    rig.run(1.0)
    rig.run(1.0, thermal_bad=True)
    assert rig.level()[0] == WARN  # recent output: some frames bad
    rig.run(2.5, thermal_bad=True)  # no output for > input_timeout
    level, message = rig.level()
    assert level == ERROR and 'unsupported encoding' in message
