# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The fusion pipeline: visible + thermal images in, one fused image out.

Per frame (640x512, colour visible, 16-bit thermal, MMDRFuse student):

    pre   visible -> YCrCb (OpenCV), Y -> float32 [0, 1] in the input tensor
          thermal -> gain limits (percentile on a ~32k-pixel strided subsample, optional EMA)
                  -> registration / resize in the raw dtype (skipped when already registered)
                  -> (raw - lo) / (hi - lo), clipped, float32 in the input tensor
          reflection padding to the card's size_multiple (in place, only the pad strips)
    infer one ONNX Runtime call through IO binding into a preallocated output
    post  clip + round to uint8 (one OpenCV pass), upsample if process_scale < 1,
          put the fused Y back with the visible chroma and convert back to BGR/RGB

The input tensor and output buffer are reused while the frame size stays the same; the returned
image is always a new array owned by the caller. Inputs are never modified (read-only views of
message buffers are fine).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from pathlib import Path
import threading
import time
from typing import Any, Callable, Mapping

import cv2
import numpy as np

from .engine import OnnxEngine
from .engine_choice import EngineChoice
from .errors import FusionInputError
from .lens import CameraLens
from .model_card import ModelCard
from .options import available_cores, ProcessingOptions

AUTO_SCALES = (1.0, 0.75, 0.5, 0.35, 0.25)  # process_scale 0 (auto) picks the largest that fits
PERCENTILE_SAMPLES = (
    16384  # about this many pixels (>= it) are looked at to estimate the AGC percentiles
)
MIN_PADDED = 4  # tensors are at least this big (reflection padding needs > 1 pixel)
MIN_STRETCH_SPAN = 1.0 / 8.0  # output_stretch minmax: at most 8x gain, so a flat frame stays flat
_AGC_FIELDS = (
    'thermal_agc',
    'thermal_agc_8bit',
    'agc_low_percentile',
    'agc_high_percentile',
    'agc_min',
    'agc_max',
    'agc_smoothing',
    'agc_min_span',
)


@dataclass(frozen=True)
class StageTimes:
    """Wall-clock milliseconds (time.perf_counter) of the three stages of one `fuse` call."""

    preprocess_ms: float
    inference_ms: float
    postprocess_ms: float

    @property
    def total_ms(self) -> float:
        return self.preprocess_ms + self.inference_ms + self.postprocess_ms


@dataclass(frozen=True)
class FusionResult:
    """One fused frame.

    image: same size, layout, dtype (uint8) and channel order as the visible input.
    thermal_range: the raw thermal values mapped to black and white for this frame (after AGC
        smoothing), e.g. (21024.0, 27120.0) counts; useful for diagnostics.
    process_size: (width, height) at which the network ran (before padding).
    """

    image: np.ndarray
    times: StageTimes
    thermal_range: tuple[float, float] = (0.0, 0.0)
    process_size: tuple[int, int] = (0, 0)


# ---------------------------------------------------------------------------------------- checks
def _cv_ready(a: np.ndarray) -> np.ndarray:
    """Return `a` itself when OpenCV/numpy can read it without a copy (rows may be padded).

    Else a compact copy.
    """
    s, item = a.strides, a.itemsize
    if a.ndim == 2:
        ok = s[1] == item and s[0] >= a.shape[1] * item
    else:
        ok = s[2] == item and s[1] == a.shape[2] * item and s[0] >= a.shape[1] * s[1]
    return a if ok else np.ascontiguousarray(a)


def _size(a: np.ndarray) -> str:
    return f'{a.shape[1] if a.ndim > 1 else 0}x{a.shape[0]}'


def check_visible(visible: Any) -> np.ndarray:
    """Validate a visible frame; return it as HxW or HxWx3 uint8 (a view when possible)."""
    if not isinstance(visible, np.ndarray):
        raise FusionInputError(
            f'visible must be a numpy array (HxW or HxWx3 uint8), got {type(visible).__name__}'
        )
    if visible.ndim not in (2, 3):
        raise FusionInputError(
            f'visible has shape {visible.shape}; expected HxW (mono8) or HxWx3 (bgr8/rgb8)'
        )
    if visible.ndim == 3 and visible.shape[2] not in (1, 3):
        raise FusionInputError(
            f'visible has {visible.shape[2]} channels; expected 1 or 3'
            + (
                ' (drop the alpha channel of bgra8/rgba8 first, e.g. with '
                'fusion_ros.runtime.prepare_visible)'
                if visible.shape[2] == 4
                else ''
            )
        )
    if visible.shape[0] == 0 or visible.shape[1] == 0:
        raise FusionInputError(f'visible image is {_size(visible)}')
    if visible.dtype != np.uint8:
        raise FusionInputError(f'visible is {visible.dtype}; expected uint8 (mono8, bgr8 or rgb8)')
    if visible.ndim == 3 and visible.shape[2] == 1:
        visible = visible[:, :, 0]
    return _cv_ready(visible)


def check_thermal(thermal: Any) -> np.ndarray:
    """Validate a thermal frame; return it as HxW uint8 or uint16."""
    if not isinstance(thermal, np.ndarray):
        raise FusionInputError(
            f'thermal must be a numpy array (HxW uint8 or uint16), got {type(thermal).__name__}'
        )
    if thermal.ndim not in (2, 3):
        raise FusionInputError(
            f'thermal has shape {thermal.shape}; expected HxW (mono8 or mono16)'
        )
    if thermal.shape[0] == 0 or thermal.shape[1] == 0:
        raise FusionInputError(f'thermal image is {_size(thermal)}')
    if thermal.dtype not in (np.uint8, np.uint16):
        raise FusionInputError(
            f'thermal is {thermal.dtype}; expected uint8 (mono8) or uint16 '
            f'(mono16/16UC1 radiometric counts)'
        )
    if thermal.ndim == 3:
        channels = thermal.shape[2]
        if channels == 1:
            thermal = thermal[:, :, 0]
        elif channels == 3 and thermal.dtype == np.uint8:
            probe = thermal[::7, ::7]
            if not (
                np.array_equal(probe[..., 0], probe[..., 1])
                and np.array_equal(probe[..., 0], probe[..., 2])
            ):
                raise FusionInputError(
                    'thermal has 3 different colour channels (a false-colour palette?); '
                    'expected the raw mono8/mono16 thermal image'
                )
            thermal = np.ascontiguousarray(thermal[:, :, 0])
        else:
            raise FusionInputError(
                f'thermal has {channels} channels of {thermal.dtype}; expected 1 '
                f'(or 3 equal uint8 channels)'
            )
    return _cv_ready(thermal)


# ---------------------------------------------------------------------------------------- helpers
def fast_percentiles(raw: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """Low/high percentiles (nearest rank) of an image from a strided subsample of ~32k pixels.

    np.percentile on a full 640x512 frame takes ~4 ms on a 2-core CPU; this takes ~0.15 ms and
    differs by a fraction of the stretch for any natural image.
    """
    step = max(1, int(math.sqrt(raw.size / PERCENTILE_SAMPLES)))
    flat = raw[::step, ::step].ravel()
    n = flat.size
    k_lo = min(n - 1, max(0, int(round(low / 100.0 * (n - 1)))))
    k_hi = min(n - 1, max(0, int(round(high / 100.0 * (n - 1)))))
    part = np.partition(flat, (k_lo, k_hi))  # a partitioned copy: the caller's image is untouched
    return float(part[k_lo]), float(part[k_hi])


def reflect_index(n: int, start: int, count: int) -> np.ndarray:
    """Return the indices start..start+count-1 reflected into 0..n-1.

    Reflected without edge repeat, like torch 'reflect'.
    """
    i = np.arange(start, start + count)
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    m = np.mod(i, period)
    return np.where(m < n, m, period - m)


def output_gain(fused: np.ndarray, stretch: str) -> tuple[float, float]:
    """Return (alpha, beta) such that alpha * fused + beta is the 8-bit image (saturating).

    ``fused`` is the network's float32 plane, >= 0. ``stretch`` 'none': x255; 'minmax': the
    plane's own min..max (capped at 1) to 0..255, at most 1 / MIN_STRETCH_SPAN gain. Shared by the
    pipeline and the training's validation so both score the same image.
    """
    if stretch != 'minmax':
        return 255.0, 0.0
    lo, hi, _, _ = cv2.minMaxLoc(fused)
    hi = min(hi, 1.0)  # above 1 saturates anyway
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return 255.0, 0.0
    if hi - lo < MIN_STRETCH_SPAN:  # a flat frame: a window of the smallest span around it
        lo = min(max(0.0, 0.5 * (lo + hi) - 0.5 * MIN_STRETCH_SPAN), 1.0 - MIN_STRETCH_SPAN)
        hi = lo + MIN_STRETCH_SPAN
    alpha = 255.0 / (hi - lo)
    return alpha, -lo * alpha


def _pixel_scale(sx: float, sy: float) -> np.ndarray:
    """Homography of a resize by (sx, sy) in pixel-centre convention (what cv2.resize does)."""
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


class _Plan:
    """Per-options constants, precomputed once (options are frozen)."""

    def __init__(self, options: ProcessingOptions) -> None:
        self.options = options
        self.identity = options.homography_is_identity
        h = options.homography_matrix
        self.homography = h / h[2, 2] if h[2, 2] != 0 else h
        self.to_ycc = {'bgr': cv2.COLOR_BGR2YCrCb, 'rgb': cv2.COLOR_RGB2YCrCb}
        self.from_ycc = {'bgr': cv2.COLOR_YCrCb2BGR, 'rgb': cv2.COLOR_YCrCb2RGB}


# ---------------------------------------------------------------------------------------- pipeline
class FusionPipeline:
    """A loaded model plus its pre/post-processing.

    Build it with `load_pipeline`.

    Thread-safe: `fuse`, `update_options` and `reset_agc` may be called from different threads
    (calls are serialised; one `fuse` at a time per pipeline).
    """

    def __init__(
        self,
        engine: OnnxEngine,
        card: ModelCard,
        options: ProcessingOptions | None = None,
        warnings: list[str] | None = None,
        onnx_path: str | Path | None = None,
        card_path: str | Path | None = None,
        engine_choice: EngineChoice | None = None,
        chooser: Callable[[int], EngineChoice] | None = None,
    ) -> None:
        self.engine = engine
        self.engine_choice = engine_choice or EngineChoice(engine, {}, [])
        self._chooser = chooser or (
            lambda n: EngineChoice(self.engine.with_threads(n or available_cores()), {}, [])
        )
        self.card = card
        self.name = card.name
        self.warnings: list[str] = list(warnings or [])
        self.onnx_path = Path(onnx_path) if onnx_path else engine.path
        self.card_path = Path(card_path) if card_path else None
        self._lock = threading.RLock()
        self._plan = _Plan(options or ProcessingOptions())
        self._agc_prev: tuple[float, float] | None = None
        self._agc_key: tuple[Any, ...] | None = None
        self._buffers: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None
        self._ir_ch, self._vis_ch = card.ir_channel, card.vis_channel
        self.frames = 0
        self.auto_scale = 1.0  # what process_scale 0 (auto) chose last
        self._auto_key: tuple | None = None
        self.thermal_lens: CameraLens | None = None  # set_thermal_lens (thermal camera_info)
        self._lens_maps: tuple[tuple, tuple[np.ndarray, np.ndarray]] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def providers(self) -> list[str]:
        """Execution providers the session actually uses, in priority order."""
        return list(self.engine.providers)

    @property
    def options(self) -> ProcessingOptions:
        return self._plan.options

    @property
    def size_multiple(self) -> int:
        return int(self.card.size_multiple)

    def __repr__(self) -> str:
        return f'FusionPipeline({self.name!r}, providers={self.providers}, options={self.options})'

    # ------------------------------------------------------------------ configuration
    def set_thermal_lens(self, lens: CameraLens | None) -> None:
        """Set the thermal camera's calibration (None: none known or no distortion).

        With the undistort_thermal option on, the warp undistorts the thermal frame in the same
        pass.
        """
        with self._lock:
            if lens != self.thermal_lens:
                self.thermal_lens, self._lens_maps = lens, None

    def update_options(self, options: ProcessingOptions | Mapping[str, Any]) -> ProcessingOptions:
        """Switch processing options without reloading the model; returns the options now in force.

        Accepts a full `ProcessingOptions` or a mapping of the options to change (e.g. the ROS
        parameters of one set-parameters call). Invalid values raise ValueError and change nothing.
        A new `threads` value rebuilds the engine (0: re-timed among 1..cores, see engine_choice;
        milliseconds for these models); if that fails (ModelLoadError) the old engine stays. Gain
        smoothing restarts when any AGC option changes.
        """
        if isinstance(options, Mapping):
            new = self.options.replace(**dict(options))
        elif isinstance(options, ProcessingOptions):
            new = options
        else:
            raise TypeError(
                'update_options expects ProcessingOptions or a mapping, got '
                f'{type(options).__name__}'
            )
        choice = self._chooser(new.threads) if new.threads != self.options.threads else None
        with self._lock:
            old_options = self._plan.options
            if choice is not None:
                self.engine, self.engine_choice = choice.engine, choice
                self._buffers = None
            self._plan = _Plan(new)
            if any(getattr(old_options, f) != getattr(new, f) for f in _AGC_FIELDS):
                self._agc_prev = self._agc_key = None
        return new

    def reset_agc(self) -> None:
        """Forget the smoothed gain limits.

        e.g. after the thermal camera ran a flat-field correction.
        """
        with self._lock:
            self._agc_prev = self._agc_key = None

    # ------------------------------------------------------------------ internals
    def _buffers_for(self, ph: int, pw: int) -> tuple[np.ndarray, np.ndarray]:
        m = self.size_multiple
        hp = -(-max(MIN_PADDED, ph) // m) * m
        wp = -(-max(MIN_PADDED, pw) // m) * m
        if self._buffers is None or self._buffers[0] != (hp, wp):
            self.engine.release_binding()
            inp = np.empty((1, 2, hp, wp), np.float32)
            out = np.empty((1, 1, hp, wp), np.float32)
            self._buffers = ((hp, wp), inp, out)
        return self._buffers[1], self._buffers[2]

    def _gain(self, raw: np.ndarray, opts: ProcessingOptions) -> tuple[float, float]:
        is16 = raw.dtype == np.uint16
        mode = opts.thermal_agc if is16 else opts.thermal_agc_8bit
        full = 65535.0 if is16 else 255.0
        if mode == 'none':
            return 0.0, full
        if mode == 'fixed':
            return opts.agc_min, opts.agc_max
        if mode == 'minmax':
            lo, hi, _, _ = cv2.minMaxLoc(raw)
        else:
            lo, hi = fast_percentiles(raw, opts.agc_low_percentile, opts.agc_high_percentile)
        span = max(1.0, opts.agc_min_span if is16 else opts.agc_min_span / 256.0)
        if hi - lo < span:  # uniform scene (lens cap, sky): do not stretch noise to full contrast
            mid = 0.5 * (lo + hi)
            lo = min(max(0.0, mid - 0.5 * span), full - span)
            hi = lo + span
        key = (raw.dtype, mode, raw.shape)
        if opts.agc_smoothing > 0.0 and self._agc_prev is not None and self._agc_key == key:
            a = opts.agc_smoothing
            lo = a * self._agc_prev[0] + (1.0 - a) * lo
            hi = a * self._agc_prev[1] + (1.0 - a) * hi
        self._agc_prev, self._agc_key = (lo, hi), key
        return lo, hi

    def _output_gain(self, fused: np.ndarray, plan: _Plan) -> tuple[float, float]:
        """Return (alpha, beta) taking the fused plane to 0..255 (the output_stretch option)."""
        mode = plan.options.output_stretch
        return output_gain(fused, self.card.output_stretch if mode == 'model' else mode)

    def _register(
        self, raw: np.ndarray, vis_h: int, vis_w: int, ph: int, pw: int, plan: _Plan
    ) -> np.ndarray:
        """Thermal (raw dtype) brought into the visible frame at the processing size (pw x ph)."""
        th_h, th_w = raw.shape
        lens = self.thermal_lens if plan.options.undistort_thermal else None
        if lens is not None:
            return self._undistort_and_warp(raw, lens, vis_h, vis_w, ph, pw, plan)
        if plan.identity:
            if (th_h, th_w) == (ph, pw):
                return raw  # the hot path: registered cameras, same size, full scale
            shrink = th_h >= ph and th_w >= pw
            return cv2.resize(
                raw, (pw, ph), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            )
        m = plan.homography
        if (ph, pw) != (vis_h, vis_w):
            m = _pixel_scale(pw / vis_w, ph / vis_h) @ m
        if np.allclose(m[2], (0.0, 0.0, 1.0), rtol=0.0, atol=1e-12):
            return cv2.warpAffine(
                raw,
                m[:2],
                (pw, ph),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
        return cv2.warpPerspective(
            raw, m, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )

    def _undistort_and_warp(
        self,
        raw: np.ndarray,
        lens: CameraLens,
        vis_h: int,
        vis_w: int,
        ph: int,
        pw: int,
        plan: _Plan,
    ) -> np.ndarray:
        """Undistort, warp and resize to the processing size in one cached remap."""
        th_h, th_w = raw.shape
        m = plan.homography
        if plan.identity and (th_h, th_w) != (vis_h, vis_w):  # registered but another size
            m = _pixel_scale(vis_w / th_w, vis_h / th_h)
        if (ph, pw) != (vis_h, vis_w):
            m = _pixel_scale(pw / vis_w, ph / vis_h) @ m
        key = (lens, m.tobytes(), (th_w, th_h), (pw, ph))
        if self._lens_maps is None or self._lens_maps[0] != key:
            self._lens_maps = (key, lens.warp_maps(m, (th_w, th_h), (pw, ph)))
        map1, map2 = self._lens_maps[1]
        return cv2.remap(
            raw, map1, map2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )

    def _thermal_plane(
        self, plane: np.ndarray, raw: np.ndarray, vis_h: int, vis_w: int, plan: _Plan
    ) -> tuple[float, float]:
        """Thermal into ``plane`` (processing size).

        Gain limits on the raw frame, geometry in the raw dtype, then normalise. Returns the gain
        limits (lo, hi) in raw counts.
        """
        ph, pw = plane.shape
        lo, hi = self._gain(raw, plan.options)
        reg = self._register(raw, vis_h, vis_w, ph, pw, plan)
        scale = 1.0 / (hi - lo)
        np.multiply(reg, np.float32(scale), out=plane, dtype=np.float32)
        if lo != 0.0:
            np.subtract(plane, np.float32(lo * scale), out=plane)
        full = 65535.0 if raw.dtype == np.uint16 else 255.0
        if lo > 0.0 or hi < full:
            np.clip(plane, 0.0, 1.0, out=plane)
        return lo, hi

    # ------------------------------------------------------------------ the frame
    def fuse(
        self, visible: np.ndarray, thermal: np.ndarray, *, visible_order: str | None = None
    ) -> FusionResult:
        """Fuse one registered (or registrable, see `homography`) visible/thermal pair.

        visible: HxW uint8 (grayscale) or HxWx3 uint8, BGR unless `visible_order="rgb"` (or the
            `visible_order` option) says RGB. thermal: HxW uint8 or uint16 (radiometric counts), or
            HxWx3 uint8 with equal channels. Raises FusionInputError for inputs it cannot fuse.
        """
        with self._lock:
            t0 = time.perf_counter()
            plan = self._plan
            opts = plan.options
            order = opts.visible_order if visible_order is None else str(visible_order).lower()
            if order not in plan.to_ycc:
                raise FusionInputError(f"visible_order={visible_order!r}; expected 'bgr' or 'rgb'")
            squeeze_back = (
                isinstance(visible, np.ndarray) and visible.ndim == 3 and visible.shape[-1] == 1
            )
            vis = check_visible(visible)
            raw = check_thermal(thermal)
            vis_h, vis_w = vis.shape[:2]
            if raw.shape != (vis_h, vis_w) and opts.size_mismatch == 'reject':
                raise FusionInputError(
                    f'thermal is {raw.shape[1]}x{raw.shape[0]} but visible is {vis_w}x{vis_h} '
                    '(width x height) and '
                    "size_mismatch='reject'; publish both at one resolution or set "
                    "size_mismatch='resize'"
                )
            scale = opts.process_scale
            if (
                not scale
            ):  # auto (timed once per frame size and engine; not counted in this frame's times)
                scale = self._auto_scale(vis, raw, order, plan)
                t0 = time.perf_counter()
            result = self._fuse_at(vis, raw, order, plan, scale, squeeze_back, t0)
            self.frames += 1
        return result

    def _auto_scale(self, vis: np.ndarray, raw: np.ndarray, order: str, plan: _Plan) -> float:
        """process_scale 0.

        The largest AUTO_SCALES entry whose slowest of three timed fuse calls on this frame fits
        scale_budget_ms (else the smallest). Kept per frame size, engine and budget.
        """
        key = (vis.shape, raw.shape, id(self.engine), plan.options.scale_budget_ms)
        if self._auto_key == key:
            return self.auto_scale
        chosen = AUTO_SCALES[-1]
        for scale in AUTO_SCALES:
            slowest = 0.0
            for _ in range(3):
                t = time.perf_counter()
                self._fuse_at(vis, raw, order, plan, scale, False, t)
                slowest = max(slowest, (time.perf_counter() - t) * 1e3)
            if slowest <= plan.options.scale_budget_ms:
                chosen = scale
                break
        self._auto_key, self.auto_scale = key, chosen
        return chosen

    def _fuse_at(
        self,
        vis: np.ndarray,
        raw: np.ndarray,
        order: str,
        plan: _Plan,
        scale: float,
        squeeze_back: bool,
        t0: float,
    ) -> FusionResult:
        """Return the frame at one processing scale.

        The caller holds the lock and checked the inputs.
        """
        vis_h, vis_w = vis.shape[:2]
        if scale < 1.0:
            ph = max(1, int(round(vis_h * scale)))
            pw = max(1, int(round(vis_w * scale)))
        else:
            ph, pw = vis_h, vis_w
        inp, out = self._buffers_for(ph, pw)

        # visible luminance -> tensor plane
        colour = vis.ndim == 3
        ycc = cv2.cvtColor(vis, plan.to_ycc[order]) if colour else None
        y8 = ycc[:, :, 0] if colour else vis
        if (ph, pw) != (vis_h, vis_w):
            if colour:
                y8 = cv2.extractChannel(ycc, 0)
            y8 = cv2.resize(y8, (pw, ph), interpolation=cv2.INTER_AREA)
        vis_plane = inp[0, self._vis_ch, :ph, :pw]
        np.multiply(y8, np.float32(1.0 / 255.0), out=vis_plane, dtype=np.float32)

        lo, hi = self._thermal_plane(inp[0, self._ir_ch, :ph, :pw], raw, vis_h, vis_w, plan)
        hp, wp = inp.shape[2:]
        _pad_reflect(inp, ph, pw)
        t1 = time.perf_counter()

        try:
            self.engine.run_into(inp, out)
        except Exception as exc:  # noqa: BLE001 - surface which model and size failed
            raise RuntimeError(
                f'{self.name}: inference failed on a {wp}x{hp} input: {exc}'
            ) from exc
        t2 = time.perf_counter()

        fused = out[0, 0, :ph, :pw]
        np.maximum(fused, 0.0, out=fused)  # negatives -> 0 (NaN stays, becomes 0 below)
        alpha, beta = self._output_gain(fused, plan)
        f8 = cv2.convertScaleAbs(fused, alpha=alpha, beta=beta)  # scale, round, saturate: one pass
        if (ph, pw) != (vis_h, vis_w):
            f8 = cv2.resize(f8, (vis_w, vis_h), interpolation=cv2.INTER_LINEAR)
        if colour:
            cv2.insertChannel(f8, ycc, 0)
            image = cv2.cvtColor(ycc, plan.from_ycc[order])
        else:
            image = f8[:, :, None] if squeeze_back else f8
        t3 = time.perf_counter()
        return FusionResult(
            image=image,
            times=StageTimes((t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3),
            thermal_range=(float(lo), float(hi)),
            process_size=(pw, ph),
        )


def _pad_reflect(inp: np.ndarray, ph: int, pw: int) -> None:
    """Reflection padding of the strips of the network input beyond the ph x pw image."""
    hp, wp = inp.shape[2:]
    if (hp, wp) != (ph, pw):
        planes = inp[0]
        if wp > pw:
            planes[:, :ph, pw:] = planes[:, :ph, reflect_index(pw, pw, wp - pw)]
        if hp > ph:
            planes[:, ph:, :] = planes[:, reflect_index(ph, ph, hp - ph), :]
