"""Pre/post-processing settings of a fusion pipeline: flat scalars and lists, so each maps to one
ROS parameter of the fusion node (see `OPTION_HELP` for descriptions, `OPTION_CHOICES` and
`OPTION_RANGES` for ParameterDescriptor constraints).

`ProcessingOptions` is frozen: change settings with `options.replace(name=value)` (validated) and
hand the result to `FusionPipeline.update_options`. An invalid value raises ValueError whose
message names the option, the bad value and what is allowed (fit for a SetParametersResult reason).
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import numpy as np

IDENTITY_HOMOGRAPHY: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)

OPTION_CHOICES: dict[str, tuple[str, ...]] = {
    "visible_order": ("bgr", "rgb"),
    "thermal_agc": ("percentile", "minmax", "fixed", "none"),
    "thermal_agc_8bit": ("none", "percentile", "minmax", "fixed"),
    "size_mismatch": ("resize", "reject"),
}

# (low, high) inclusive numeric ranges.
OPTION_RANGES: dict[str, tuple[float, float]] = {
    "agc_low_percentile": (0.0, 100.0),
    "agc_high_percentile": (0.0, 100.0),
    "agc_min": (0.0, 65535.0),
    "agc_max": (0.0, 65535.0),
    "agc_smoothing": (0.0, 1.0),
    "agc_min_span": (0.0, 65535.0),
    "process_scale": (0.1, 1.0),
    "threads": (0, 256),
}

OPTION_HELP: dict[str, str] = {
    "visible_order": "channel order of 3-channel visible images: bgr (bgr8, OpenCV) or rgb (rgb8)",
    "thermal_agc": "gain control for 16-bit (radiometric) thermal: percentile (clip at the low/high "
                   "percentiles and stretch), minmax, fixed (agc_min..agc_max counts), none (/65535)",
    "thermal_agc_8bit": "gain control for 8-bit thermal: none (/255, default), percentile, minmax, fixed",
    "agc_low_percentile": "percentile mapped to black (thermal_agc=percentile)",
    "agc_high_percentile": "percentile mapped to white (thermal_agc=percentile)",
    "agc_min": "raw count mapped to black (thermal_agc=fixed)",
    "agc_max": "raw count mapped to white (thermal_agc=fixed)",
    "agc_smoothing": "temporal smoothing of the gain limits across frames (EMA weight of the previous "
                     "limits): 0 = per-frame gain, 0.9 = slow and flicker-free, 1 = lock the first frame's gain",
    "agc_min_span": "smallest gain window in 16-bit counts (8-bit: /256, at least 1) so a uniform scene "
                    "is not stretched into noise",
    "homography": "row-major 3x3 homography mapping raw thermal pixel coordinates (x, y) into visible "
                  "pixel coordinates, e.g. from cv2.findHomography(thermal_pts, visible_pts); identity "
                  "= cameras already registered",
    "size_mismatch": "thermal size differs from visible size: resize (thermal is scaled to the visible "
                     "size; with a homography the warp does it) or reject (drop the frame with an error)",
    "process_scale": "fuse at this fraction of the visible resolution for speed (fused luminance is "
                     "upsampled back; chroma stays full resolution)",
    "threads": "inference threads (0 = the fastest of 1..cores, timed at model load)",
}


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware, e.g. under taskset or a container cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"option {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"option {name} must be finite, got {value!r}")
    return value


@dataclass(frozen=True)
class ProcessingOptions:
    """Settings of the pre/post-processing around the network (defaults suit a live 640x512 pair)."""

    visible_order: str = "bgr"
    thermal_agc: str = "percentile"
    thermal_agc_8bit: str = "none"
    agc_low_percentile: float = 1.0
    agc_high_percentile: float = 99.0
    agc_min: float = 0.0
    agc_max: float = 65535.0
    agc_smoothing: float = 0.0
    agc_min_span: float = 64.0
    homography: tuple[float, ...] = field(default=IDENTITY_HOMOGRAPHY)
    size_mismatch: str = "resize"
    process_scale: float = 1.0
    threads: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise types once, here
        for name, choices in OPTION_CHOICES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value.strip().lower() not in choices:
                raise ValueError(f"option {name}={value!r} is not one of {', '.join(choices)}")
            set_(self, name, value.strip().lower())
        for name, (low, high) in OPTION_RANGES.items():
            if name == "threads":
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise ValueError(f"option threads must be an integer (0 = timed at load), got {value!r}")
                value = int(value)
            else:
                value = _as_float(name, getattr(self, name))
            if not low <= value <= high:
                raise ValueError(f"option {name}={value!r} is outside [{low:g}, {high:g}]")
            set_(self, name, value)
        if self.agc_low_percentile >= self.agc_high_percentile:
            raise ValueError(f"option agc_low_percentile ({self.agc_low_percentile:g}) must be below "
                             f"agc_high_percentile ({self.agc_high_percentile:g})")
        if self.agc_min >= self.agc_max:
            raise ValueError(f"option agc_min ({self.agc_min:g}) must be below agc_max ({self.agc_max:g})")
        h = self.homography
        if isinstance(h, np.ndarray):
            h = h.reshape(-1).tolist()
        if isinstance(h, (str, bytes)) or not hasattr(h, "__len__") or len(h) != 9:
            raise ValueError(f"option homography must be 9 numbers (row-major 3x3), got {self.homography!r}")
        h = tuple(_as_float("homography", v) for v in h)
        if abs(np.linalg.det(np.asarray(h).reshape(3, 3))) < 1e-12:
            raise ValueError(f"option homography {list(h)} is singular (determinant 0); "
                             "use the identity [1,0,0, 0,1,0, 0,0,1] for registered cameras")
        set_(self, "homography", h)

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

    def replace(self, **changes: Any) -> "ProcessingOptions":
        """A validated copy with some options changed (unknown names raise ValueError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown processing option(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(f.name for f in fields(self))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (homography as a list), e.g. to declare ROS parameters or write YAML."""
        d = dataclasses.asdict(self)
        d["homography"] = list(self.homography)
        return d

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ProcessingOptions":
        """Build from a mapping of option names (e.g. ROS parameters); unknown names raise ValueError."""
        return cls().replace(**dict(values))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
