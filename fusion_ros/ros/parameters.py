# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Every parameter of the fusion node, in one table: declaration, validation, documentation.

``PARAMETERS`` is what the node declares (with a ``ParameterDescriptor`` carrying the description,
range and read-only flag), what ``ros2 param set`` requests are checked against, what the
launch-file test checks launch/config keys against and what the README table is generated from
(:func:`markdown_table`). The processing rows are not written here: they are derived from the
runtime's table (:func:`fusion_ros.runtime.options.option_specs`), and a change to them is
validated by constructing the ``ProcessingOptions`` it would give.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from fusion_ros import sync
from fusion_ros.runtime.encodings import MAX_IMAGE_PIXELS
from fusion_ros.runtime.engine_choice import BACKEND_NAMES
from fusion_ros.runtime.options import (
    IDENTITY_HOMOGRAPHY,
    option_specs,
    OptionSpec,
    ProcessingOptions,
)
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType

#: What each group does when it changes at run time.
PIPELINE = 'pipeline'  # reload the model (validated by loading it)
PROCESSING = 'processing'  # ProcessingOptions of the running pipeline
SYNC = 'sync'  # rebuild the synchronizer (pending messages are dropped)
HEALTH = 'health'  # diagnostics thresholds, read when used
OUTPUT = 'output'  # how the fused image is published, read per frame
STARTUP = 'startup'  # read-only: fixed for the node's lifetime

_TYPES = {
    str: ParameterType.PARAMETER_STRING,
    float: ParameterType.PARAMETER_DOUBLE,
    int: ParameterType.PARAMETER_INTEGER,
    bool: ParameterType.PARAMETER_BOOL,
    list: ParameterType.PARAMETER_DOUBLE_ARRAY,
}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: Any
    value_type: type
    description: str
    group: str
    low: Optional[float] = None
    high: Optional[float] = None
    choices: Tuple[str, ...] = ()
    read_only: bool = False
    length: Optional[int] = None  # arrays

    @property
    def range_text(self) -> str:
        if self.choices:
            return ' \\| '.join(f'`{c}`' for c in self.choices)
        if self.low is not None:
            return f'{_fmt(self.low)} .. {_fmt(self.high)}'
        if self.length:
            return f'{self.length} values'
        return ''

    def descriptor(self) -> ParameterDescriptor:
        text = self.description
        if self.choices:
            text += f' One of: {", ".join(self.choices)}.'
        desc = ParameterDescriptor(
            name=self.name,
            type=_TYPES[self.value_type],
            description=text,
            read_only=self.read_only,
        )
        if self.choices:
            desc.additional_constraints = 'one of: ' + ', '.join(self.choices)
        if self.length:
            desc.additional_constraints = f'exactly {self.length} values'
        if self.low is not None and self.value_type is float:
            desc.floating_point_range = [
                FloatingPointRange(from_value=float(self.low), to_value=float(self.high), step=0.0)
            ]
        elif self.low is not None and self.value_type is int:
            desc.integer_range = [
                IntegerRange(from_value=int(self.low), to_value=int(self.high), step=1)
            ]
        return desc

    def validate(self, value: Any) -> Optional[str]:
        """None when ``value`` is acceptable, else the reason.

        Processing options are checked by `ProcessingOptions` instead, see :func:`validate`.
        """
        if self.value_type is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f'{self.name} must be a number (double), got {value!r}'
            if not math.isfinite(float(value)):
                return f'{self.name} must be finite, got {value!r}'
        elif self.value_type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return f'{self.name} must be an integer, got {value!r}'
        elif self.value_type is str:
            if not isinstance(value, str):
                return f'{self.name} must be a string, got {value!r}'
        elif self.value_type is bool:
            if not isinstance(value, bool):
                return f'{self.name} must be true or false, got {value!r}'
        if self.low is not None and not (self.low <= value <= self.high):
            return f'{self.name} = {value} is out of range [{_fmt(self.low)}, {_fmt(self.high)}]'
        if self.choices and value not in self.choices:
            return f"{self.name} = '{value}' is not one of: {', '.join(self.choices)}"
        return None


def _fmt(x: Optional[float]) -> str:
    if x is None:
        return ''
    return str(int(x)) if float(x).is_integer() else f'{x:g}'


def _processing_spec(option: OptionSpec) -> ParamSpec:
    """Return the parameter row of one processing option (tuples become double arrays)."""
    is_array = option.value_type is tuple
    return ParamSpec(
        option.name,
        list(option.default) if is_array else option.default,
        list if is_array else option.value_type,
        option.description,
        PROCESSING,
        low=option.low,
        high=option.high,
        choices=option.choices,
        length=option.length,
    )


_SPECS: List[ParamSpec] = [
    # --- the model -------------------------------------------------------------------------
    ParamSpec(
        'model',
        'mmdrfuse',
        str,
        'Fusion network: a shipped model name (mmdrfuse, mobilefuse, aenetv2, hafnas8) or the '
        'path of an .onnx file with its model card (.json) beside it. A change loads in the '
        'background while the running model fuses; a failed load puts it back (WARN).',
        PIPELINE,
    ),
    ParamSpec(
        'backend',
        'auto',
        str,
        'Inference engine: auto = a GPU if any, else the faster of ONNX Runtime and OpenCV '
        '(timed at load); cpu/cuda/tensorrt = that ONNX Runtime provider (a missing GPU falls '
        'back, with a warning); opencv = tiny nets only.',
        PIPELINE,
        choices=BACKEND_NAMES,
    ),
    ParamSpec(
        'weights_dir',
        '',
        str,
        'Directory searched for NAME.onnx + NAME.json before the shipped weights '
        '(empty = shipped weights only).',
        PIPELINE,
    ),
    ParamSpec(
        'allow_unverified_model',
        False,
        bool,
        'Load a model whose card lacks onnx_sha256 (warning) instead of refusing it.',
        PIPELINE,
    ),
    # --- processing: derived from fusion_ros.runtime.options (see _processing_spec) ------
    *(_processing_spec(o) for o in option_specs()),
    # --- inputs and synchronisation -------------------------------------------------------
    ParamSpec(
        'input_transport',
        'raw',
        str,
        'raw: subscribe to sensor_msgs/Image on visible/image_raw and thermal/image_raw; '
        'compressed: sensor_msgs/CompressedImage on <topic>/compressed (image_transport '
        'naming).',
        STARTUP,
        choices=('raw', 'compressed'),
        read_only=True,
    ),
    ParamSpec(
        'input_reliability',
        'auto',
        str,
        'Camera subscriptions: auto = best effort if any publisher is (sensor-data '
        'cameras), else reliable; or fixed.',
        STARTUP,
        choices=('auto', 'reliable', 'best_effort'),
        read_only=True,
    ),
    ParamSpec(
        'max_image_pixels',
        MAX_IMAGE_PIXELS,
        int,
        'Frames above this many pixels are dropped undecoded; 0 = no limit.',
        HEALTH,
        low=0,
        high=2**31 - 1,
    ),
    ParamSpec(
        'sync_slop',
        sync.DEFAULT_SLOP_S,
        float,
        'Largest stamp difference (s) between a visible and a thermal frame to be fused '
        "together (message_filters' slop / max interval).",
        SYNC,
        low=0.0,
        high=1.0,
    ),
    ParamSpec(
        'sync_queue_size',
        sync.DEFAULT_QUEUE_SIZE,
        int,
        'Messages per camera kept while waiting for a partner.',
        SYNC,
        low=1,
        high=100,
    ),
    ParamSpec(
        'sync_inter_message_lower_bound',
        sync.DEFAULT_INTER_MESSAGE_LOWER_BOUND_S,
        float,
        'Lower bound (s) on the interval between two frames of the same camera. Lets a pair '
        'out as soon as its second frame arrives instead of waiting for the next frame '
        "(about one frame period of latency). Keep it below the fastest camera's period; "
        "0 = always wait (message_filters' default).",
        SYNC,
        low=0.0,
        high=1.0,
    ),
    # --- output -------------------------------------------------------------------------------
    ParamSpec(
        'fused_jpeg_quality',
        80,
        int,
        "JPEG quality of fused/image_raw/compressed (image_transport's compressed "
        'transport, for low-bandwidth links); encoded only while it has subscribers.',
        OUTPUT,
        low=1,
        high=100,
    ),
    # --- health and diagnostics -----------------------------------------------------------
    ParamSpec(
        'latency_budget_ms',
        50.0,
        float,
        'Diagnostics turn WARN when the p95 end-to-end latency (publish time minus visible '
        'capture stamp) exceeds this.',
        HEALTH,
        low=1.0,
        high=60000.0,
    ),
    ParamSpec(
        'input_timeout',
        2.0,
        float,
        'Diagnostics turn ERROR, naming the camera, when an input has been silent longer '
        'than this (s).',
        HEALTH,
        low=0.1,
        high=3600.0,
    ),
    ParamSpec(
        'bad_input_hold',
        5.0,
        float,
        'How long (s) a rejected frame keeps the diagnostics at WARN (ERROR if nothing was '
        'fused meanwhile), with the last error message.',
        HEALTH,
        low=0.0,
        high=3600.0,
    ),
    ParamSpec(
        'alignment_check_period',
        1.0,
        float,
        "Every this many seconds (0 = never) the last fused pair's warped thermal edges are "
        'compared with the visible edges, off the fusion thread.',
        STARTUP,
        low=0.0,
        high=3600.0,
        read_only=True,
    ),
    ParamSpec(
        'alignment_warn_px',
        2.5,
        float,
        'Diagnostics turn WARN (re-run fusion-ros register) when the thermal is this many '
        'visible pixels off for alignment_hold seconds.',
        HEALTH,
        low=0.1,
        high=1000.0,
    ),
    ParamSpec(
        'alignment_hold',
        2.0,
        float,
        'How long (s) the misalignment must last before the WARN.',
        HEALTH,
        low=0.0,
        high=3600.0,
    ),
    ParamSpec(
        'diagnostics_period',
        1.0,
        float,
        'Period (s) of the /diagnostics status.',
        HEALTH,
        low=0.05,
        high=60.0,
    ),
    ParamSpec(
        'diagnostics_window',
        10.0,
        float,
        'Latency percentiles and rates cover the last this many seconds.',
        STARTUP,
        low=1.0,
        high=600.0,
        read_only=True,
    ),
]

PARAMETERS: Dict[str, ParamSpec] = {p.name: p for p in _SPECS}
#: Processing parameters, i.e. the fields of fusion_ros.runtime.ProcessingOptions.
PROCESSING_PARAMETERS: Tuple[str, ...] = tuple(p.name for p in _SPECS if p.group == PROCESSING)
#: Parameters every ROS 2 node has (may appear in launch files and params files).
BUILTIN_PARAMETERS: Tuple[str, ...] = ('use_sim_time', 'start_type_description_service')


def declare_all(node) -> Dict[str, Any]:
    """Declare every parameter on ``node``; returns their (possibly overridden) values."""
    values = {}
    for spec in _SPECS:
        default = list(spec.default) if spec.value_type is list else spec.default
        values[spec.name] = node.declare_parameter(spec.name, default, spec.descriptor()).value
    for name in ('homography',):
        values[name] = [float(v) for v in values[name]]
    return values


def validate(changes: Mapping[str, Any], current: Mapping[str, Any]) -> Optional[str]:
    """None when applying ``changes`` on top of ``current`` gives a valid configuration.

    Processing options are checked by building the ``ProcessingOptions`` they would give, the
    others against their row of the table.
    """
    for name, value in changes.items():
        spec = PARAMETERS.get(name)
        reason = spec.validate(value) if spec is not None and spec.group != PROCESSING else None
        if reason:
            return reason
    merged = dict(current)
    merged.update(changes)
    if not str(merged['model']).strip():
        return 'model must not be empty'
    try:
        processing_options(merged)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return None


def processing_options(values: Mapping[str, Any]) -> ProcessingOptions:
    """Return the (validated) ProcessingOptions of a set of parameter values.

    ValueError names the option.
    """
    kwargs = {name: values[name] for name in PROCESSING_PARAMETERS}
    if isinstance(kwargs['homography'], (list, tuple)):
        kwargs['homography'] = tuple(kwargs['homography'])
    return ProcessingOptions(**kwargs)


#: The parameters most users set, tabled in the README; every one is in docs/PARAMETERS.md.
README_PARAMETERS: Tuple[str, ...] = (
    'model',
    'backend',
    'threads',
    'process_scale',
    'homography',
    'thermal_agc',
    'input_transport',
    'sync_slop',
    'latency_budget_ms',
)


def markdown_table(names: Optional[Iterable[str]] = None) -> str:
    """Return a parameter table (all parameters, or `names`).

    It is the table of docs/PARAMETERS.md and the README's.
    """
    rows = ['| name | default | range | description |', '|---|---|---|---|']
    for spec in (PARAMETERS[n] for n in names) if names else _SPECS:
        default = spec.default
        if spec.value_type is list:
            default = 'identity' if tuple(default) == IDENTITY_HOMOGRAPHY else default
        elif spec.value_type is str:
            default = f'"{default}"'
        ro = ' (read-only)' if spec.read_only else ''
        rows.append(f'| `{spec.name}` | {default} | {spec.range_text} | {spec.description}{ro} |')
    return '\n'.join(rows)


def names() -> Sequence[str]:
    return [p.name for p in _SPECS]


def write_tables(root) -> None:
    """Regenerate the README's and docs/PARAMETERS.md's tables.

    `python -m fusion_ros.ros.parameters ROOT`.
    """
    from pathlib import Path

    for path, table in (
        (Path(root) / 'README.md', markdown_table(README_PARAMETERS)),
        (Path(root) / 'docs' / 'PARAMETERS.md', markdown_table()),
    ):
        text = path.read_text()
        start = text.index('| name | default | range | description |')
        end = text.find('\n\n', start)
        path.write_text(text[:start] + table + (text[end:] if end >= 0 else '\n'))


if __name__ == '__main__':
    import sys

    write_tables(sys.argv[1] if len(sys.argv) > 1 else '.')
