# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Pre/post-processing settings of a fusion pipeline.

Flat scalars and lists, so each maps to one ROS parameter of the fusion node. This is the only
table of them: each `ProcessingOptions` field carries its help, choices and range
(`option_specs()`), from which `fusion_ros.ros.parameters` derives the parameter descriptors and
the README its parameter table.

`ProcessingOptions` is frozen: change settings with `options.replace(name=value)` (validated) and
hand the result to `FusionPipeline.update_options`. An invalid value raises ValueError whose
message names the option, the bad value and what is allowed (fit for a SetParametersResult reason).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
import math
import os
from typing import Any, Mapping, Optional

import numpy as np

from .errors import quote
from .homography import check_homography

IDENTITY_HOMOGRAPHY: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
MIN_PROCESS_SCALE = 0.1


@dataclass(frozen=True)
class OptionSpec:
    """One processing option as a table row.

    What a ROS parameter descriptor, a CLI flag or a README table needs (read from the
    `ProcessingOptions` field it describes).
    """

    name: str
    value_type: type  # str, float, int, bool or tuple (of `length` floats)
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    low: Optional[float] = None  # inclusive range
    high: Optional[float] = None
    length: Optional[int] = None  # tuples


def _option(
    default: Any,
    text: str,
    *,
    choices: tuple[str, ...] = (),
    limits: Optional[tuple[float, float]] = None,
    length: Optional[int] = None,
) -> Any:
    """Return a `ProcessingOptions` field carrying its table row as metadata.

    The row is (help text, choices, range limits).
    """
    return field(
        default=default,
        metadata={'help': text, 'choices': choices, 'range': limits, 'length': length},
    )


def available_cores() -> int:
    """CPU cores this process may run on.

    Affinity-aware, e.g. under taskset or a container cpuset.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f'option {name} must be a number, got {value!r}')
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f'option {name} must be finite, got {value!r}')
    return value


@dataclass(frozen=True)
class ProcessingOptions:
    """Settings of the pre/post-processing around the network.

    Defaults suit a live 640x512 pair.
    """

    visible_order: str = _option(
        'bgr',
        'Channel order assumed for 8UC3 visible images; bgr8, rgb8, mono8 and compressed '
        'images state their own order.',
        choices=('bgr', 'rgb'),
    )
    thermal_agc: str = _option(
        'percentile',
        'Gain control of 16-bit (radiometric) thermal images: percentile (clip at '
        'agc_low/high_percentile and stretch), minmax, fixed (agc_min..agc_max counts) or none '
        '(/65535).',
        choices=('percentile', 'minmax', 'fixed', 'none'),
    )
    thermal_agc_8bit: str = _option(
        'none',
        'Gain control of 8-bit thermal images: none (/255), percentile, minmax or fixed.',
        choices=('none', 'percentile', 'minmax', 'fixed'),
    )
    agc_low_percentile: float = _option(
        1.0,
        'Percentile of the thermal image mapped to black (thermal_agc=percentile).',
        limits=(0.0, 100.0),
    )
    agc_high_percentile: float = _option(
        99.0,
        'Percentile of the thermal image mapped to white (thermal_agc=percentile); must be '
        'above agc_low_percentile.',
        limits=(0.0, 100.0),
    )
    agc_min: float = _option(
        0.0,
        'Thermal value (raw counts) mapped to black with thermal_agc=fixed.',
        limits=(0.0, 65535.0),
    )
    agc_max: float = _option(
        65535.0,
        'Thermal value (raw counts) mapped to white with thermal_agc=fixed; must be above '
        'agc_min.',
        limits=(0.0, 65535.0),
    )
    agc_smoothing: float = _option(
        0.0,
        'Temporal smoothing of the gain limits across frames (weight of the previous limits): '
        "0 = per-frame gain, 0.9 = slow and flicker-free, 1 = keep the first frame's gain.",
        limits=(0.0, 1.0),
    )
    agc_min_span: float = _option(
        64.0,
        'Smallest gain window in 16-bit counts, so a uniform scene is not stretched into noise.',
        limits=(0.0, 65535.0),
    )
    homography: tuple[float, ...] = _option(
        IDENTITY_HOMOGRAPHY,
        'Row-major 3x3 homography mapping raw thermal pixel coordinates (x, y) '
        'to visible pixel coordinates (e.g. from cv2.findHomography(thermal_pts, visible_pts)); '
        'identity = cameras already registered.',
        length=9,
    )
    undistort_thermal: bool = _option(
        True,
        'Undistort the thermal image with its calibration (thermal/camera_info: plumb_bob, '
        'rational_polynomial or equidistant) in the same pass as the homography, which then maps '
        'undistorted thermal pixels; off for input that is already rectified.',
    )
    size_mismatch: str = _option(
        'resize',
        'Thermal size differs from the visible size: resize the thermal image (with a '
        'homography the warp does it), or reject the pair (counted as an error).',
        choices=('resize', 'reject'),
    )
    output_stretch: str = _option(
        'model',
        'How the fused luminance becomes 8-bit: model = as its model card says (output.stretch), '
        "none = as the network outputs it, minmax = the frame's own min..max stretched to "
        "0..255 (MMDRFuse's published outputs are saved that way), at most 8x.",
        choices=('model', 'none', 'minmax'),
    )
    process_scale: float = _option(
        1.0,
        'Fuse at this fraction of the visible resolution (the fused luminance is upsampled '
        'back, chroma stays full resolution); lower = faster. 0 = auto: the largest of 1, 0.75, '
        '0.5, 0.35, 0.25 whose measured pipeline time fits scale_budget_ms (timed on the first '
        'frames of each size and engine).',
        limits=(0.0, 1.0),
    )
    scale_budget_ms: float = _option(
        33.0,
        'Pipeline time per frame that process_scale 0 (auto) must fit (33 ms = 30 Hz).',
        limits=(1.0, 10000.0),
    )
    threads: int = _option(
        0,
        'Inference threads (0 = the fastest of 1..cores, timed when the model loads).',
        limits=(0, 256),
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise types once, here
        for spec in option_specs():
            value = getattr(self, spec.name)
            if spec.value_type is bool:
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError(f'option {spec.name} must be true or false, got {value!r}')
                set_(self, spec.name, bool(value))
            elif spec.choices:
                if not isinstance(value, str) or value.strip().lower() not in spec.choices:
                    raise ValueError(
                        f'option {spec.name}={value!r} is not one of {", ".join(spec.choices)}'
                    )
                set_(self, spec.name, value.strip().lower())
            elif spec.low is not None:
                if spec.value_type is int:
                    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                        raise ValueError(
                            f'option {spec.name} must be an integer '
                            f'(0 = timed at load), got {value!r}'
                        )
                    value = int(value)
                else:
                    value = _as_float(spec.name, value)
                if not spec.low <= value <= spec.high:
                    raise ValueError(
                        f'option {spec.name}={value!r} is out of range '
                        f'[{spec.low:g}, {spec.high:g}]'
                    )
                set_(self, spec.name, value)
        if 0.0 < self.process_scale < MIN_PROCESS_SCALE:
            raise ValueError(
                f'option process_scale={self.process_scale!r} is out of range: 0 (auto) or '
                f'{MIN_PROCESS_SCALE:g} .. 1'
            )
        if self.agc_low_percentile >= self.agc_high_percentile:
            raise ValueError(
                f'option agc_low_percentile ({self.agc_low_percentile:g}) must be below '
                f'agc_high_percentile ({self.agc_high_percentile:g})'
            )
        if self.agc_min >= self.agc_max:
            raise ValueError(
                f'option agc_min ({self.agc_min:g}) must be below agc_max ({self.agc_max:g})'
            )
        h = self.homography
        if isinstance(h, np.ndarray):
            h = h.reshape(-1).tolist()
        if isinstance(h, (str, bytes)) or not hasattr(h, '__len__') or len(h) != 9:
            raise ValueError(
                f'option homography must have exactly 9 numbers (row-major 3x3), '
                f'got {self.homography!r}'
            )
        h = tuple(_as_float('homography', v) for v in h)
        try:
            check_homography(h)
        except ValueError as exc:
            raise ValueError(
                f'option homography {quote(list(h), 120)}: {exc}; use the identity '
                '[1,0,0, 0,1,0, 0,0,1] for registered cameras'
            ) from None
        set_(self, 'homography', h)

    # ----------------------------------------------------------------------------------------------
    @property
    def homography_matrix(self) -> np.ndarray:
        """The homography as a float64 3x3 array (a fresh copy)."""
        return np.asarray(self.homography, dtype=np.float64).reshape(3, 3)

    @property
    def homography_is_identity(self) -> bool:
        h = np.asarray(self.homography) / self.homography[8] if self.homography[8] else None
        return h is not None and bool(np.allclose(h, IDENTITY_HOMOGRAPHY, rtol=0.0, atol=1e-12))

    @property
    def resolved_threads(self) -> int:
        """`threads`, with 0 turned into the number of available cores."""
        return self.threads if self.threads > 0 else available_cores()

    def replace(self, **changes: Any) -> 'ProcessingOptions':
        """Return a validated copy with some options changed (unknown names raise ValueError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(
                f'unknown processing option(s) {", ".join(sorted(unknown))}; '
                f'known: {", ".join(f.name for f in fields(self))}'
            )
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (homography as a list), e.g. to declare ROS parameters or write YAML."""
        d = dataclasses.asdict(self)
        d['homography'] = list(self.homography)
        return d

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> 'ProcessingOptions':
        """Build from a mapping of option names (e.g. ROS parameters).

        Unknown names raise ValueError.
        """
        return cls().replace(**dict(values))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


_TYPES = {'str': str, 'float': float, 'int': int, 'bool': bool, 'tuple[float, ...]': tuple}


def option_specs() -> tuple[OptionSpec, ...]:
    """Return the table of processing options, in declaration order.

    One row per `ProcessingOptions` field.
    """
    return _SPECS


def _specs() -> tuple[OptionSpec, ...]:
    rows = []
    for f in fields(ProcessingOptions):
        low, high = f.metadata['range'] or (None, None)
        rows.append(
            OptionSpec(
                f.name,
                _TYPES[str(f.type)],
                f.default,
                f.metadata['help'],
                f.metadata['choices'],
                low,
                high,
                f.metadata['length'],
            )
        )
    return tuple(rows)


_SPECS = _specs()
