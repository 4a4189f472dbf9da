# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""FusionPipeline: colour handling, registration, size policies, AGC, padding, bad inputs.

Real ORT sessions.
"""

from __future__ import annotations

import threading

import cv2
from fusion_ros.runtime import FusionInputError, load_pipeline, ProcessingOptions, StageTimes
import numpy as np
import pytest
from test_runtime_support import natural_pair, write_model


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('weights')
    for kind in ('max', 'ir', 'vis'):
        write_model(folder, kind, kind)
    write_model(folder, 'mult8', 'mult8', size_multiple=8)
    return folder


def pipe(models, name, **options):
    return load_pipeline(name, weights_dir=models, options=ProcessingOptions(**options))


def ycrcb(img):
    return cv2.cvtColor(img, cv2.COLOR_BGR2YCrCb).astype(int)


# ------------------------------------------------------------------------------------ colour
def test_colour_round_trip_keeps_the_visible_image(models):
    vis, th = natural_pair()
    res = pipe(models, 'vis').fuse(vis, th)
    assert res.image.shape == vis.shape and res.image.dtype == np.uint8
    assert np.abs(res.image.astype(int) - vis.astype(int)).max() <= 3  # YCrCb 8-bit round trip
    assert np.abs(res.image.astype(int) - vis.astype(int)).mean() < 1.0


def test_fused_luminance_comes_from_the_model_and_chroma_from_visible(models):
    vis, th = natural_pair(seed=3)
    res = pipe(models, 'ir').fuse(vis, th)
    out, src = ycrcb(res.image), ycrcb(vis)
    # where the thermal Y under the visible chroma leaves the RGB gamut, BGR clips: compare
    # elsewhere
    y = th.astype(float)
    cr, cb = src[..., 1] - 128.0, src[..., 2] - 128.0
    rgb = np.stack([y + 1.403 * cr, y - 0.714 * cr - 0.344 * cb, y + 1.773 * cb])
    inside = ((rgb >= 0) & (rgb <= 255)).all(axis=0)
    assert inside.mean() > 0.8
    assert np.abs(out[..., 0] - th.astype(int))[inside].max() <= 1  # Y is the thermal
    assert np.abs(out[..., 1:] - src[..., 1:])[inside].max() <= 3  # Cr, Cb are the visible's
    assert np.abs(out[..., 1:] - src[..., 1:])[inside].mean() < 1.0


def test_rgb_order_matches_bgr(models):
    vis, th = natural_pair(seed=5)
    p = pipe(models, 'max')
    bgr = p.fuse(vis, th).image
    rgb = p.fuse(np.ascontiguousarray(vis[..., ::-1]), th, visible_order='rgb').image
    np.testing.assert_array_equal(rgb[..., ::-1], bgr)
    rgb2 = (
        pipe(models, 'max', visible_order='rgb')
        .fuse(np.ascontiguousarray(vis[..., ::-1]), th)
        .image
    )
    np.testing.assert_array_equal(rgb2, rgb)


def test_grayscale_visible_fuses_directly(models):
    vis, th = natural_pair(seed=7)
    gray = cv2.cvtColor(vis, cv2.COLOR_BGR2GRAY)
    res = pipe(models, 'max').fuse(gray, th)
    assert res.image.shape == gray.shape and res.image.dtype == np.uint8
    np.testing.assert_array_equal(res.image, np.maximum(gray, th))
    res1 = pipe(models, 'max').fuse(gray[:, :, None], th)
    assert res1.image.shape == gray.shape + (1,)
    np.testing.assert_array_equal(res1.image[..., 0], res.image)


# ------------------------------------------------------------------------------------ registration
def test_identity_homography_fast_path_equals_no_warp(models):
    vis, th = natural_pair(seed=9)
    gray = cv2.cvtColor(vis, cv2.COLOR_BGR2GRAY)
    p = pipe(models, 'ir')
    res = p.fuse(gray, th)
    np.testing.assert_array_equal(res.image, th)  # uint8 thermal, agc none: exact
    warped = cv2.warpPerspective(th, np.eye(3), (th.shape[1], th.shape[0]), flags=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(res.image, warped)
    # the fast path hands the thermal through without touching it (no copy, no warp)
    assert p._register(th, *th.shape, *th.shape, p._plan) is th
    # a scaled identity is the same projective map: still the fast path
    p2 = pipe(models, 'ir', homography=[2, 0, 0, 0, 2, 0, 0, 0, 2])
    np.testing.assert_array_equal(p2.fuse(gray, th).image, th)


def test_translation_homography_shifts_the_thermal(models):
    vis, th = natural_pair(seed=11)
    gray = cv2.cvtColor(vis, cv2.COLOR_BGR2GRAY)
    dx, dy = 5, 3
    p = pipe(models, 'ir', homography=[1, 0, dx, 0, 1, dy, 0, 0, 1])
    out = p.fuse(gray, th).image
    np.testing.assert_array_equal(out[dy:, dx:], th[:-dy, :-dx])
    assert not out[:dy, :].any() and not out[:, :dx].any()  # outside the thermal view: 0


def test_perspective_homography_matches_opencv(models):
    vis, th = natural_pair(seed=12)
    gray = cv2.cvtColor(vis, cv2.COLOR_BGR2GRAY)
    h = np.array([[1.02, 0.01, -3.0], [0.005, 0.98, 2.0], [1e-5, -2e-5, 1.0]])
    out = pipe(models, 'ir', homography=h.ravel().tolist()).fuse(gray, th).image
    ref = cv2.warpPerspective(th, h, (th.shape[1], th.shape[0]), flags=cv2.INTER_LINEAR)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


# ----------------------------------------------------------------------------------- size policies
def test_size_mismatch_resize(models):
    vis, _ = natural_pair(96, 128, seed=13)
    _, th_small = natural_pair(48, 64, seed=14)
    out = pipe(models, 'ir').fuse(vis[..., 0].copy(), th_small).image
    assert out.shape == (96, 128)
    ref = cv2.resize(th_small, (128, 96), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out, ref)


def test_size_mismatch_reject_names_both_sizes(models):
    vis, _ = natural_pair(96, 128)
    _, th_small = natural_pair(48, 64)
    with pytest.raises(FusionInputError, match=r'64x48.*128x96'):
        pipe(models, 'ir', size_mismatch='reject').fuse(vis, th_small)


def test_homography_maps_raw_thermal_pixels_into_a_larger_visible(models):
    vis, _ = natural_pair(96, 128)
    _, th_small = natural_pair(48, 64, seed=2)
    s = np.array([[2.0, 0, 0.5], [0, 2.0, 0.5], [0, 0, 1]])  # x2 about pixel centres
    out = (
        pipe(models, 'ir', homography=s.ravel().tolist()).fuse(vis[..., 0].copy(), th_small).image
    )
    ref = cv2.resize(th_small, (128, 96), interpolation=cv2.INTER_LINEAR)
    inner = (slice(1, -2), slice(1, -2))
    assert np.abs(out[inner].astype(int) - ref[inner].astype(int)).max() <= 1


# ------------------------------------------------------------------------------------ thermal AGC
def ramp16(h=64, w=100, lo=20000, hi=30000):
    return np.linspace(lo, hi, h * w).reshape(h, w).astype(np.uint16)


def test_mono16_percentile_agc_maps_to_full_range(models):
    th = ramp16()
    res = pipe(models, 'ir').fuse(np.zeros(th.shape, np.uint8), th)
    out = res.image
    assert out.min() == 0 and out.max() == 255
    frac_black, frac_white = (out == 0).mean(), (out == 255).mean()
    assert 0.005 < frac_black < 0.03 and 0.005 < frac_white < 0.03  # ~1 % clipped at each end
    lo, hi = res.thermal_range
    assert abs(lo - 20100) < 60 and abs(hi - 29900) < 60


def test_mono16_minmax_fixed_none(models):
    th = ramp16()
    zeros = np.zeros(th.shape, np.uint8)
    res = pipe(models, 'ir', thermal_agc='minmax').fuse(zeros, th)
    assert res.thermal_range == (20000.0, 30000.0)
    assert np.abs(res.image - (th.astype(np.float64) - 20000) / 10000 * 255).max() <= 0.5 + 1e-3
    out = (
        pipe(models, 'ir', thermal_agc='fixed', agc_min=25000, agc_max=30000).fuse(zeros, th).image
    )
    assert (out == 0).mean() == pytest.approx(0.5, abs=0.01) and out.max() == 255
    expected = np.clip((th.astype(np.float64) - 25000) / 5000 * 255, 0, 255)
    assert np.abs(out - expected).max() <= 1.0
    out = pipe(models, 'ir', thermal_agc='none').fuse(zeros, th).image
    assert np.abs(out - th / 65535.0 * 255).max() <= 1.0


def test_uniform_thermal_is_not_stretched_into_noise(models):
    rng = np.random.default_rng(0)
    th = (25000 + rng.integers(-3, 4, (64, 80))).astype(np.uint16)
    out = pipe(models, 'ir').fuse(np.zeros(th.shape, np.uint8), th).image
    assert 100 < out.mean() < 155 and out.std() < 20


def test_agc_smoothing_and_reset(models):
    zeros = np.zeros((64, 100), np.uint8)
    p = pipe(models, 'ir', thermal_agc='minmax', agc_smoothing=0.5)
    r1 = p.fuse(zeros, ramp16(lo=20000, hi=30000))
    r2 = p.fuse(zeros, ramp16(lo=22000, hi=32000))
    assert r1.thermal_range == (20000.0, 30000.0)
    assert r2.thermal_range == (21000.0, 31000.0)
    p.reset_agc()
    assert p.fuse(zeros, ramp16(lo=22000, hi=32000)).thermal_range == (22000.0, 32000.0)
    p.update_options(p.options.replace(agc_smoothing=0.9))  # AGC change restarts the smoothing
    assert p.fuse(zeros, ramp16(lo=24000, hi=34000)).thermal_range == (24000.0, 34000.0)
    locked = pipe(models, 'ir', thermal_agc='minmax', agc_smoothing=1.0)
    locked.fuse(zeros, ramp16(lo=20000, hi=30000))
    assert locked.fuse(zeros, ramp16(lo=10000, hi=40000)).thermal_range == (20000.0, 30000.0)


def test_uint8_thermal_is_divided_by_255_by_default(models):
    _, th = natural_pair(seed=21)
    res = pipe(models, 'ir').fuse(np.zeros(th.shape, np.uint8), th)
    np.testing.assert_array_equal(res.image, th)
    assert res.thermal_range == (0.0, 255.0)
    stretched = (
        pipe(models, 'ir', thermal_agc_8bit='minmax').fuse(np.zeros(th.shape, np.uint8), th).image
    )
    assert stretched.min() == 0 and stretched.max() == 255


def test_three_channel_thermal(models):
    _, th = natural_pair(seed=22)
    gray3 = np.repeat(th[:, :, None], 3, axis=2)
    p = pipe(models, 'ir')
    np.testing.assert_array_equal(p.fuse(np.zeros(th.shape, np.uint8), gray3).image, th)
    palette = cv2.applyColorMap(th, cv2.COLORMAP_INFERNO)
    with pytest.raises(FusionInputError, match='false-colour'):
        p.fuse(np.zeros(th.shape, np.uint8), palette)


# --------------------------------------------------------------------------------- padding / scale
@pytest.mark.parametrize('h, w', [(75, 100), (64, 64), (1, 1), (3, 17), (9, 300)])
def test_padding_to_size_multiple_crops_back(models, h, w):
    rng = np.random.default_rng(h * w)
    gray = rng.integers(0, 256, (h, w), dtype=np.uint8)
    th = rng.integers(0, 256, (h, w), dtype=np.uint8)
    p = pipe(models, 'mult8')  # fails inside ORT unless H and W are padded to multiples of 8
    res = p.fuse(gray, th)
    assert res.image.shape == (h, w)
    np.testing.assert_array_equal(res.image, gray)
    inp = p._buffers[1]
    assert inp.shape[2] % 8 == 0 and inp.shape[3] % 8 == 0
    if h > 1 and w > 1:  # reflection, not zeros, beyond the image
        hp, wp = inp.shape[2:]
        if wp > w:
            np.testing.assert_array_equal(inp[0, :, :h, w], inp[0, :, :h, w - 2])
        if hp > h:
            np.testing.assert_array_equal(inp[0, :, h, :], inp[0, :, h - 2, :])


def test_process_scale_fuses_smaller_and_returns_full_size(models):
    vis, th = natural_pair(96, 128, seed=30)
    p = pipe(models, 'vis', process_scale=0.5)
    res = p.fuse(vis, th)
    assert res.image.shape == vis.shape and res.process_size == (64, 48)
    src, out = ycrcb(vis), ycrcb(res.image)
    assert np.abs(out[..., 1:] - src[..., 1:]).mean() < 1.5  # chroma stays full resolution
    assert np.abs(out[..., 0] - src[..., 0]).mean() < 6  # luminance: a blurred copy
    p8 = pipe(models, 'mult8', process_scale=0.37)  # odd size, padded
    assert p8.fuse(vis, th).image.shape == vis.shape


def test_process_scale_with_homography(models):
    vis, th = natural_pair(96, 128, seed=31)
    gray = vis[..., 0].copy()
    full = pipe(models, 'ir', homography=[1, 0, 8, 0, 1, 4, 0, 0, 1]).fuse(gray, th).image
    half = (
        pipe(models, 'ir', homography=[1, 0, 8, 0, 1, 4, 0, 0, 1], process_scale=0.5)
        .fuse(gray, th)
        .image
    )
    assert half.shape == full.shape
    inner = (slice(8, -4), slice(12, -4))
    assert np.abs(half[inner].astype(int) - full[inner].astype(int)).mean() < 8


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    'visible, thermal, message',
    [
        (
            np.zeros((8, 8, 4), np.uint8),
            np.zeros((8, 8), np.uint8),
            'visible has 4 channels; expected 1 or 3',
        ),
        (np.zeros((8, 8, 2), np.uint8), np.zeros((8, 8), np.uint8), 'visible has 2 channels'),
        (np.zeros((8, 8), np.uint16), np.zeros((8, 8), np.uint8), 'visible is uint16'),
        (np.zeros((8, 8), np.float32), np.zeros((8, 8), np.uint8), 'visible is float32'),
        (np.zeros((0, 8), np.uint8), np.zeros((8, 8), np.uint8), 'visible image is 8x0'),
        (np.zeros((8,), np.uint8), np.zeros((8, 8), np.uint8), 'visible has shape'),
        (np.zeros((2, 8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), 'visible has shape'),
        ([[1, 2]], np.zeros((8, 8), np.uint8), 'visible must be a numpy array'),
        (np.zeros((8, 8), np.uint8), np.zeros((0, 0), np.uint16), 'thermal image is 0x0'),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.float32), 'thermal is float32'),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.int16), 'thermal is int16'),
        (
            np.zeros((8, 8), np.uint8),
            np.zeros((8, 8, 3), np.uint16),
            'thermal has 3 channels of uint16',
        ),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), 'thermal has 4 channels'),
        (np.zeros((8, 8), np.uint8), None, 'thermal must be a numpy array'),
    ],
)
def test_bad_inputs_raise_fusion_input_error(models, visible, thermal, message):
    p = pipe(models, 'max')
    with pytest.raises(FusionInputError) as info:
        p.fuse(visible, thermal)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)
    p.fuse(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))  # still usable afterwards


def test_bad_visible_order(models):
    with pytest.raises(FusionInputError, match='visible_order'):
        pipe(models, 'max').fuse(
            np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), visible_order='bgra'
        )


def test_views_read_only_and_strided_inputs(models):
    vis, th = natural_pair(seed=40)
    p = pipe(models, 'max')
    ref = p.fuse(vis, th).image
    v_ro, t_ro = vis.copy(), th.copy()
    v_ro.flags.writeable = False
    t_ro.flags.writeable = False
    np.testing.assert_array_equal(p.fuse(v_ro, t_ro).image, ref)
    np.testing.assert_array_equal(v_ro, vis)  # inputs untouched
    big_v = np.zeros((vis.shape[0], vis.shape[1] + 7, 3), np.uint8)
    big_v[:, : vis.shape[1]] = vis
    big_t = np.zeros((th.shape[0], th.shape[1] + 5), np.uint8)
    big_t[:, : th.shape[1]] = th
    np.testing.assert_array_equal(
        p.fuse(big_v[:, : vis.shape[1]], big_t[:, : th.shape[1]]).image, ref
    )
    flipped = p.fuse(vis[::-1], th[::-1]).image  # negative strides
    np.testing.assert_array_equal(flipped, ref[::-1])
    bgr_from_rgb_view = p.fuse(vis[..., ::-1][..., ::-1], th).image
    np.testing.assert_array_equal(bgr_from_rgb_view, ref)


# ------------------------------------------------------------------------------------ misc
def test_stage_times_and_result_fields(models):
    vis, th = natural_pair()
    res = pipe(models, 'max').fuse(vis, th)
    assert isinstance(res.times, StageTimes)
    assert (
        res.times.preprocess_ms > 0 and res.times.inference_ms > 0 and res.times.postprocess_ms > 0
    )
    assert res.times.total_ms == pytest.approx(
        res.times.preprocess_ms + res.times.inference_ms + res.times.postprocess_ms
    )
    assert res.process_size == (vis.shape[1], vis.shape[0])


def test_result_image_is_owned_by_the_caller(models):
    vis, th = natural_pair()
    p = pipe(models, 'max')
    gray = vis[..., 1].copy()
    first = p.fuse(gray, th).image
    keep = first.copy()
    p.fuse(gray[::-1].copy(), th[::-1].copy())  # reuses internal buffers
    np.testing.assert_array_equal(first, keep)


def test_update_options(models):
    vis, th = natural_pair()
    p = pipe(models, 'ir')
    before = p.options
    with pytest.raises(ValueError, match='process_scale'):
        p.update_options({'process_scale': 5.0})
    with pytest.raises(ValueError, match='unknown processing option'):
        p.update_options({'no_such_option': 1})
    assert p.options == before
    new = p.update_options({'homography': [1, 0, 4, 0, 1, 0, 0, 0, 1]})
    assert new.homography[2] == 4.0 and p.options is new
    out = p.fuse(vis[..., 0].copy(), th).image
    np.testing.assert_array_equal(out[:, 4:], th[:, :-4])
    engine = p.engine
    p.update_options(p.options.replace(threads=1))
    assert p.engine is not engine and p.engine.threads == 1
    np.testing.assert_array_equal(p.fuse(vis[..., 0].copy(), th).image, out)
    with pytest.raises(TypeError):
        p.update_options('process_scale=0.5')


def test_concurrent_fuse_calls_are_serialised(models):
    p = pipe(models, 'max')
    frames = [natural_pair(48 + 8 * i, 64, seed=i) for i in range(6)]
    expected = [p.fuse(v, t).image for v, t in frames]
    errors, results = [], {}

    def worker(k):
        try:
            for _ in range(5):
                for i, (v, t) in enumerate(frames):
                    results.setdefault((k, i), []).append(p.fuse(v, t).image)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (k, i), images in results.items():
        for img in images:
            np.testing.assert_array_equal(img, expected[i])


# ------------------------------------------------------------------------------------ options
def test_processing_options_validation():
    o = ProcessingOptions(homography=[1, 0, 0, 0, 1, 0, 0, 0, 1], thermal_agc='MinMax', threads=2)
    assert o.homography == (1.0,) * 1 + (0.0,) * 3 + (1.0,) + (0.0,) * 3 + (1.0,)
    assert o.thermal_agc == 'minmax' and o.homography_is_identity and o.resolved_threads == 2
    assert ProcessingOptions().resolved_threads >= 1
    assert ProcessingOptions.from_dict(o.to_dict()) == o
    for bad in (
        {'thermal_agc': 'auto'},
        {'size_mismatch': 'crop'},
        {'process_scale': 0.05},
        {'agc_low_percentile': 50, 'agc_high_percentile': 40},
        {'agc_min': 10, 'agc_max': 5},
        {'agc_smoothing': 1.5},
        {'homography': [1, 2, 3]},
        {'homography': [0] * 9},
        {'threads': -1},
        {'threads': 1.5},
        {'process_scale': float('nan')},
        {'visible_order': 3},
    ):
        with pytest.raises(ValueError):
            ProcessingOptions(**bad)
    with pytest.raises(ValueError, match='unknown processing option'):
        ProcessingOptions.from_dict({'gain': 1})
    assert set(ProcessingOptions.names()) == set(ProcessingOptions().to_dict())


def test_process_scale_auto_fits_the_budget():
    """process_scale 0.

    The largest scale whose timed pipeline fits scale_budget_ms, chosen once per frame size; a
    generous budget keeps full resolution (identical output), an impossible one the smallest.
    """
    from fusion_ros.runtime.pipeline import AUTO_SCALES

    vis, th = natural_pair(256, 320)
    full = load_pipeline('mmdrfuse', backend='cpu', threads=1).fuse(vis, th).image
    roomy = load_pipeline(
        'mmdrfuse',
        backend='cpu',
        threads=1,
        options=ProcessingOptions(process_scale=0, scale_budget_ms=10000),
    )
    np.testing.assert_array_equal(roomy.fuse(vis, th).image, full)
    assert roomy.auto_scale == 1.0
    tight = load_pipeline(
        'aenetv2',
        backend='cpu',
        threads=1,
        options=ProcessingOptions(process_scale=0, scale_budget_ms=1.0),
    )
    result = tight.fuse(vis, th)
    assert tight.auto_scale == AUTO_SCALES[-1] and result.process_size == (80, 64)
    assert result.image.shape == vis.shape
    engine_key = tight._auto_key
    tight.fuse(vis, th)
    assert tight._auto_key is engine_key  # not re-timed for the same size
    with pytest.raises(ValueError, match='0 \\(auto\\)'):
        ProcessingOptions(process_scale=0.05)


# ------------------------------------------------------------------------------ output stretch
def test_output_stretch_follows_the_card_and_the_option(tmp_path):
    """A card with output.stretch minmax gets its frame's min..max at 0..255; the option wins."""
    write_model(
        tmp_path, 'ir_mm', 'ir', output={'name': 'fused', 'range': [0, 1], 'stretch': 'minmax'}
    )
    write_model(tmp_path, 'ir_plain', 'ir')
    th = np.tile(np.linspace(64, 192, 128).astype(np.uint8), (96, 1))  # 64..192: half the range
    vis = np.full((96, 128), 100, np.uint8)

    def fused(name, **options):
        return (
            load_pipeline(name, weights_dir=tmp_path, options=ProcessingOptions(**options))
            .fuse(vis, th)
            .image
        )

    plain, stretched = fused('ir_plain'), fused('ir_mm')
    assert (plain.min(), plain.max()) == (64, 192)  # the identity-like model: the thermal
    assert (stretched.min(), stretched.max()) == (0, 255)
    expected = (th.astype(float) - 64) * 255.0 / 128.0
    assert np.abs(stretched.astype(float) - expected).max() <= 1.0  # linear, order kept
    assert np.array_equal(fused('ir_mm', output_stretch='none'), plain)
    assert np.array_equal(fused('ir_plain', output_stretch='minmax'), stretched)


def test_output_stretch_leaves_a_flat_frame_flat(tmp_path):
    write_model(
        tmp_path, 'ir_mm', 'ir', output={'name': 'fused', 'range': [0, 1], 'stretch': 'minmax'}
    )
    th = np.full((64, 80), 120, np.uint8)
    th[::7, ::5] = 125  # 5 grey levels of texture: would be 255 levels at full stretch
    out = load_pipeline('ir_mm', weights_dir=tmp_path).fuse(np.zeros((64, 80), np.uint8), th).image
    assert out.max() - out.min() <= 5 * 8 + 1  # at most 8x gain


def test_card_refuses_an_unknown_output_stretch(tmp_path):
    from fusion_ros.runtime import ModelLoadError

    with pytest.raises(ModelLoadError, match="'output.stretch' must be one of"):
        write_model(
            tmp_path, 'odd', 'ir', output={'name': 'fused', 'range': [0, 1], 'stretch': 'gamma'}
        )
