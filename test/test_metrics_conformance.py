# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Our VIFB metrics against VIFB's own per-image values (shared/datasets/vifb_conformance).

Tolerances live in one table, `fusion_ros.metrics.conformance.TOLERANCES` (with a reason per
metric); docs/metric_conformance.md lists the errors measured on every row. By default a fixed
subset runs (every method once, 26 images x 13 metrics, a few seconds); set
FUSION_ROS_FULL_CONFORMANCE=1 to check all rows (~1 minute on 2 cores).
"""

from __future__ import annotations

import os

from fusion_ros.metrics import VIFB_METRICS
from fusion_ros.metrics.conformance import (
    conformance_dir,
    evaluate_cases,
    load_cases,
    MISMATCHED_METHODS,
    MISMATCHED_TOLERANCES,
    subset,
    TOLERANCES,
)
import pytest

ROOT = conformance_dir()
pytestmark = pytest.mark.skipif(
    not (ROOT / 'metrics_reference.csv').is_file(),
    reason=f'VIFB conformance data not found at {ROOT} (set FUSION_ROS_DATASETS)',
)


def _check(cases) -> None:
    results, missing = evaluate_cases(ROOT, cases)
    assert results, 'no fused image found for any reference row'
    assert {c.method for c in missing} <= {'MST_SR'}, (
        f'unexpectedly missing fused files: {missing}'
    )
    failures = [
        f'{r.scene}/{r.method}/{r.metric}: ours {r.ours:.6g} vs VIFB {r.reference:.6g} '
        f'(rel {r.rel_error:.2e} > {r.tolerance.rel:.0e}: {r.tolerance.reason})'
        for r in results
        if not r.ok
    ]
    assert not failures, '\n'.join(failures)


def test_tolerance_table_covers_every_vifb_metric() -> None:
    assert set(TOLERANCES) == set(VIFB_METRICS) == set(MISMATCHED_TOLERANCES)
    for metric, tol in TOLERANCES.items():
        assert tol.rel <= 1e-4 and tol.reason, metric  # twice the 5-digit rounding, no more
        assert MISMATCHED_TOLERANCES[metric].rel >= tol.rel


def test_reference_table_is_complete() -> None:
    cases = load_cases(ROOT)
    assert len(cases) == 5 * 26
    assert all(set(c.reference) == set(VIFB_METRICS) for c in cases)


def test_subset_agrees_with_vifb() -> None:
    cases = subset(load_cases(ROOT))
    assert {c.method for c in cases} == {c.method for c in load_cases(ROOT)}  # every method once
    assert MISMATCHED_METHODS.keys() <= {c.method for c in cases}
    _check(cases)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get('FUSION_ROS_FULL_CONFORMANCE'),
    reason='full run (all 1625 checkable rows, ~1 min): set FUSION_ROS_FULL_CONFORMANCE=1',
)
def test_every_row_agrees_with_vifb() -> None:
    _check(load_cases(ROOT))
