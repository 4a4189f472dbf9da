# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros eval`: score fused results with VIFB / MMDRFuse metrics and write a leaderboard.

    fusion-ros eval --ir DIR --vis DIR [--method NAME=DIR ...] [--model NAME ...] [--baselines]
    fusion-ros eval --set validation --model mmdrfuse --baselines --out docs/validation
                    [--classic NAME|all ...] [--metrics quality|vifb|mmdrfuse|all]
                    [--colour auto|channels|luminance] [--out DIR] [--limit N] [--mosaic-rows N]

Pairs are matched by file stem in --ir and --vis; a --method folder holds another method's fused
images under the same stems. --model runs one of the project's models on the fly. --baselines adds
two classic references computed here: pixel mean and pixel max of the infrared and the visible
luminance (a colour visible image keeps its chroma). --classic adds classic fusion methods
(`fusion_ros.training.classic`: Laplacian pyramid, guided filtering, ...; the same pool AE-Netv2's
training target is chosen from) computed here on the luminance in the same way, so a learned model
can be compared with the non-learned state of the art without saving files first. Every method is
scored on the same pairs.

Writes to --out: leaderboard.csv, leaderboard.md, per_image.csv, mosaic.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Callable

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--ir', type=Path, default=None, help='folder of infrared images')
    parser.add_argument(
        '--vis', type=Path, default=None, help='folder of visible images (same file stems)'
    )
    parser.add_argument(
        '--set',
        choices=['validation'],
        default=None,
        help='instead of --ir/--vis: every validation set (the held-out split of each training '
        'source, mixed_day, m3svd) under $FUSION_ROS_DATASETS; one folder per set in --out '
        'plus a summary leaderboard.md (never the test sets)',
    )
    parser.add_argument(
        '--method',
        action='append',
        default=[],
        metavar='NAME=DIR',
        help='fused results of another method, matched by stem (repeatable)',
    )
    parser.add_argument(
        '--model',
        action='append',
        default=[],
        metavar='NAME',
        help='a fusion_ros model run on the fly, e.g. mmdrfuse (repeatable)',
    )
    parser.add_argument(
        '--baselines', action='store_true', help='add pixel-mean and pixel-max baselines'
    )
    parser.add_argument(
        '--classic',
        action='append',
        default=[],
        metavar='NAME',
        help="a classic fusion method computed here (repeatable; 'all' for every one): "
        + ', '.join(_classic_names()),
    )
    parser.add_argument(
        '--metrics',
        default='quality',
        choices=['quality', 'vifb', 'mmdrfuse', 'all'],
        help='metric set (default: quality = EN SD SF AG MI SCD VIF Qabf SSIM CC)',
    )
    parser.add_argument(
        '--colour',
        default='auto',
        choices=['auto', 'channels', 'luminance'],
        help='colour convention: channels = VIFB (per channel), luminance = MMDRFuse '
        'evaluator; auto = channels for --metrics vifb, luminance otherwise',
    )
    parser.add_argument(
        '--out', type=Path, default=Path('out/eval'), help='output folder (default out/eval)'
    )
    parser.add_argument(
        '--limit', type=int, default=None, help='use only the first N pairs (sorted by stem)'
    )
    parser.add_argument(
        '--mosaic-rows', type=int, default=6, help='scenes shown in mosaic.png (evenly spaced)'
    )


# ----------------------------------------------------------------------------------- image inputs


def squeeze_gray(image: np.ndarray) -> np.ndarray:
    """HxWx3 with three equal channels (grayscale stored as colour, e.g. TNO) -> HxW."""
    if (
        image.ndim == 3
        and image.shape[2] == 3
        and np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 0], image[..., 2])
    ):
        return image[..., 0].copy()
    return image


def thermal_8bit(thermal: np.ndarray) -> np.ndarray:
    """Metrics take 8-bit sources: 16-bit radiometric thermal is min-max stretched to 0..255."""
    if thermal.dtype == np.uint8:
        return thermal
    t = thermal.astype(np.float64)
    lo, hi = float(t.min()), float(t.max())
    return (
        np.zeros(t.shape, np.uint8)
        if hi <= lo
        else np.round((t - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    )


def read_fused(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OSError(f'cannot read image {path}')
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    return squeeze_gray(image)


# -------------------------------------------------------------------------------------- baselines


def fuse_on_luminance(
    visible: np.ndarray, fuse_y: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Replace the visible image's luminance by `fuse_y(luminance)` (uint8 HxW).

    A colour image keeps its chroma (YCrCb), a grey one is the fused luminance itself.
    """
    import cv2

    if visible.ndim == 2:
        return fuse_y(visible)
    ycrcb = cv2.cvtColor(visible, cv2.COLOR_BGR2YCrCb)
    ycrcb[..., 0] = fuse_y(ycrcb[..., 0])
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2BGR)


def _blend_luminance(visible: np.ndarray, ir8: np.ndarray, how: str) -> np.ndarray:
    """Fuse IR with the visible luminance by `how` (mean|max) in integers."""
    if how == 'mean':
        return fuse_on_luminance(
            visible,
            lambda y: ((y.astype(np.uint16) + ir8.astype(np.uint16) + 1) // 2).astype(np.uint8),
        )
    return fuse_on_luminance(visible, lambda y: np.maximum(y, ir8))


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    'pixel-mean': lambda vis, ir8: _blend_luminance(vis, ir8, 'mean'),
    'pixel-max': lambda vis, ir8: _blend_luminance(vis, ir8, 'max'),
}


def _classic_names() -> list[str]:
    """Classic methods --classic offers: the pool minus mean and max (--baselines has those)."""
    from fusion_ros.training.classic import CLASSIC_METHODS

    return [name for name in CLASSIC_METHODS if name not in ('mean', 'max')]


def classic_method(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Return `fn(visible, ir8)`, fusing the IR with the visible luminance by a classic method.

    The methods are fusion_ros.training.classic's (float [0, 1] in, 8-bit out); colour keeps the
    visible chroma.
    """
    from fusion_ros.training.classic import get_method

    try:
        fuse = get_method(name)
    except KeyError as exc:
        raise SystemExit(f'fusion-ros eval: --classic: {exc.args[0]}') from None

    def fuse_y(ir8: np.ndarray, y: np.ndarray) -> np.ndarray:
        fused = fuse(ir8.astype(np.float32) / 255.0, y.astype(np.float32) / 255.0)
        return np.clip(np.round(fused * 255.0), 0, 255).astype(np.uint8)

    def run(visible: np.ndarray, ir8: np.ndarray) -> np.ndarray:
        return fuse_on_luminance(visible, lambda y: fuse_y(ir8, y))

    return run


def expand_classic(names: list[str]) -> list[str]:
    """'all' -> every classic method; duplicates dropped, order kept."""
    out: list[str] = []
    for name in names:
        for n in _classic_names() if name == 'all' else [name]:
            if n not in out:
                out.append(n)
    return out


# ---------------------------------------------------------------------------------------- methods


def parse_method(spec: str) -> tuple[str, Path]:
    name, sep, folder = spec.partition('=')
    if not sep or not name or not folder:
        raise SystemExit(f'fusion-ros eval: --method expects NAME=DIR, got {spec!r}')
    return name, Path(folder)


def load_model(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`load_pipeline(name).fuse(visible, thermal).image` from fusion_ros.runtime.

    With a clear error.
    """
    try:
        from fusion_ros.runtime import load_pipeline
    except ImportError as exc:
        raise SystemExit(
            f'fusion-ros eval: --model {name} needs fusion_ros.runtime.load_pipeline, which '
            'cannot '
            f'be imported ({exc}); score saved results with --method NAME=DIR instead'
        ) from exc
    try:
        pipeline = load_pipeline(name)
    except Exception as exc:  # ModelLoadError and friends carry a message meant for the user
        raise SystemExit(f'fusion-ros eval: cannot load model {name!r}: {exc}') from exc
    for warning in getattr(pipeline, 'warnings', []) or []:
        print(f'warning: {name}: {warning}', file=sys.stderr)
    return lambda visible, thermal: pipeline.fuse(visible, thermal).image


def _mosaic_indices(count: int, rows: int) -> set[int]:
    if rows <= 0 or count == 0:
        return set()
    return {int(round(i)) for i in np.linspace(0, count - 1, min(rows, count))}


# -------------------------------------------------------------------------------------------- run


def _method_names(
    args: argparse.Namespace, folders: list[tuple[str, Path]], classics: dict
) -> list[str]:
    names = (
        [n for n, _ in folders]
        + list(args.model)
        + list(classics)
        + (list(BASELINES) if args.baselines else [])
    )
    if not names:
        raise SystemExit(
            'fusion-ros eval: nothing to score: give --method, --model, --classic and/or '
            '--baselines'
        )
    if len(set(names)) != len(names):
        raise SystemExit(f'fusion-ros eval: method names must be unique, got {names}')
    return names


def _usable_pairs(pairs: list, folder_files: dict[str, dict[str, Path]]) -> list:
    """Every method is scored on the same pairs: drop stems a --method folder lacks."""
    usable = [p for p in pairs if all(p[0] in files for files in folder_files.values())]
    for name, files in folder_files.items():
        lacking = [p[0] for p in pairs if p[0] not in files]
        if lacking:
            print(
                f'warning: {name} has no result for {len(lacking)} pair(s) '
                f'({", ".join(lacking[:5])}'
                f'{", ..." if len(lacking) > 5 else ""}); they are left out for every method',
                file=sys.stderr,
            )
    if not usable:
        raise SystemExit('fusion-ros eval: no pair has a result from every --method folder')
    return usable


def _read_sources(
    stem: str, ir_path: Path, vis_path: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(visible, thermal as read, thermal 8-bit) of one registered pair."""
    from fusion_ros.images.folders import read_thermal, read_visible

    visible = squeeze_gray(read_visible(vis_path))
    thermal = read_thermal(ir_path)
    ir8 = thermal_8bit(thermal)
    if ir8.shape[:2] != visible.shape[:2]:
        raise SystemExit(
            f'fusion-ros eval: {stem}: infrared {ir8.shape[:2]} and visible {visible.shape[:2]} '
            'differ in size; the pairs must be registered'
        )
    return visible, thermal, ir8


def score_pairs(
    pairs: list,
    names: list[str],
    fusers: dict[str, Callable],
    metrics: list[str],
    colour: str,
    mosaic_rows: int,
) -> tuple[list[dict[str, object]], list]:
    """Score every method on every pair: (rows for the leaderboard, mosaic rows).

    `fusers` maps a method name to fn(stem, visible, thermal, ir8) -> fused image.
    """
    from fusion_ros.metrics import compute_metrics
    from tqdm import tqdm

    rows: list[dict[str, object]] = []
    mosaic = []
    show = _mosaic_indices(len(pairs), mosaic_rows)
    progress = tqdm(total=len(pairs) * len(names), desc='scoring', unit='image')
    for index, (stem, ir_path, vis_path) in enumerate(pairs):
        visible, thermal, ir8 = _read_sources(stem, ir_path, vis_path)
        fused_images: list[np.ndarray] = []
        for name in names:
            progress.set_postfix_str(f'{stem} / {name}')
            fused = fusers[name](stem, visible, thermal, ir8)
            if fused.shape[:2] != visible.shape[:2]:
                raise SystemExit(
                    f'fusion-ros eval: {name}/{stem}: fused size {fused.shape[:2]} differs '
                    f"from the sources' {visible.shape[:2]}"
                )
            rows.append(
                {
                    'scene': stem,
                    'method': name,
                    **compute_metrics(ir8, visible, fused, metrics, colour=colour),
                }
            )
            if index in show:
                fused_images.append(fused)
            progress.update(1)
        if index in show:
            mosaic.append((stem, [ir8, visible, *fused_images], ['IR', 'VIS', *names]))
    progress.close()
    return rows, mosaic


def _fusers(
    args: argparse.Namespace,
    folder_files: dict[str, dict[str, Path]],
    classics: dict,
    models: dict,
) -> dict[str, Callable]:
    out: dict[str, Callable] = {}
    for name, files in folder_files.items():
        out[name] = lambda stem, vis, th, ir8, files=files: read_fused(files[stem])
    for name, model in models.items():
        out[name] = lambda stem, vis, th, ir8, model=model: squeeze_gray(
            np.asarray(model(vis, th))
        )
    for name, fn in classics.items():
        out[name] = lambda stem, vis, th, ir8, fn=fn: fn(vis, ir8)
    if args.baselines:
        for name, fn in BASELINES.items():
            out[name] = lambda stem, vis, th, ir8, fn=fn: fn(vis, ir8)
    return out


def write_results(
    rows: list,
    mosaic: list,
    metrics: list[str],
    out: Path,
    note: str,
    baselines: bool,
    title: str = 'Fusion leaderboard',
    quiet: bool = False,
) -> list:
    """leaderboard.csv/.md, per_image.csv, mosaic.png in `out`; returns the baseline checks."""
    import cv2
    from fusion_ros.metrics import evaluation as ev

    board = ev.build_leaderboard(rows, metrics)
    board.notes.append(note)
    ev.write_csv(board, out / 'leaderboard.csv')
    checks = ev.baseline_checks(rows, metrics, list(BASELINES)) if baselines else []
    ev.write_markdown(board, out / 'leaderboard.md', title=title, checks=checks)
    ev.write_per_image_csv(rows, metrics, out / 'per_image.csv')
    if mosaic:
        path = out / 'mosaic.png'
        if not cv2.imwrite(str(path), ev.mosaic_grid(mosaic)):
            raise OSError(f'could not write {path}')
    if not quiet:
        print(ev.to_markdown(board))
        if checks:
            print('\nagainst the baselines alone:\n' + ev.baseline_checks_markdown(checks))
    return checks


def run(args: argparse.Namespace) -> int:
    from fusion_ros.images.folders import image_files, matched_pairs
    from fusion_ros.metrics import METRIC_SETS

    if getattr(args, 'set', None) == 'validation':
        return run_validation(args)
    if args.ir is None or args.vis is None:
        raise SystemExit('fusion-ros eval: give --ir and --vis (or --set validation)')
    metrics = METRIC_SETS[args.metrics]
    colour = (
        args.colour
        if args.colour != 'auto'
        else ('channels' if args.metrics == 'vifb' else 'luminance')
    )
    pairs = matched_pairs(args.ir, args.vis)
    if args.limit is not None:
        pairs = pairs[: max(args.limit, 0)]
    folders = [parse_method(spec) for spec in args.method]
    classics = {name: classic_method(name) for name in expand_classic(args.classic)}
    names = _method_names(args, folders, classics)
    folder_files = {name: image_files(folder) for name, folder in folders}
    fusers = _fusers(args, folder_files, classics, {name: load_model(name) for name in args.model})
    usable = _usable_pairs(pairs, folder_files)
    rows, mosaic = score_pairs(usable, names, fusers, metrics, colour, args.mosaic_rows)
    note = (
        f'Metric set `{args.metrics}`, colour convention `{colour}` '
        f'({"VIFB: per channel" if colour == "channels" else "MMDRFuse evaluator: luminance"}); '
        f'IR from `{args.ir}`, visible from `{args.vis}`.'
    )
    write_results(rows, mosaic, metrics, args.out, note, args.baselines)
    written = ['leaderboard.csv', 'leaderboard.md', 'per_image.csv'] + (
        ['mosaic.png'] if mosaic else []
    )
    print(f'wrote {", ".join(written)} to {args.out} ({len(usable)} pairs x {len(names)} methods)')
    return 0


# ------------------------------------------------------------------------------- validation sets


def run_validation(args: argparse.Namespace) -> int:
    """Score the methods on every validation set (`fusion_ros.training.validation`).

    One folder per set in --out and a summary `leaderboard.md` (each method against the baselines
    alone, per set). Never touches the test sets.
    """
    from fusion_ros.metrics import METRIC_SETS
    from fusion_ros.training.validation import datasets_root, validation_sets

    metrics = METRIC_SETS[args.metrics]
    colour = (
        args.colour
        if args.colour != 'auto'
        else ('channels' if args.metrics == 'vifb' else 'luminance')
    )
    root = datasets_root()
    sets, missing = validation_sets(root)
    if not sets:
        raise SystemExit(
            f'fusion-ros eval: no validation set found under {root} (set FUSION_ROS_DATASETS)'
        )
    classics = {name: classic_method(name) for name in expand_classic(args.classic)}
    names = _method_names(args, [], classics)
    fusers = _fusers(args, {}, classics, {name: load_model(name) for name in args.model})
    per_set = {}
    all_rows: list[dict[str, object]] = []
    for vset in sets:
        pairs = vset.pairs[: args.limit] if args.limit is not None else vset.pairs
        rows, mosaic = score_pairs(pairs, names, fusers, metrics, colour, args.mosaic_rows)
        note = (
            f'Validation set `{vset.name}` ({vset.kind}, {len(pairs)} pairs); '
            f'colour convention `{colour}`.'
        )
        per_set[vset.name] = (
            len(pairs),
            write_results(
                rows,
                mosaic,
                metrics,
                args.out / vset.name,
                note,
                args.baselines,
                title=f'Validation: {vset.name}',
                quiet=True,
            ),
        )
        all_rows += [{**r, 'scene': f'{vset.name}/{r["scene"]}'} for r in rows]
    _write_validation_summary(
        args.out / 'leaderboard.md', per_set, all_rows, metrics, missing, args.baselines
    )
    print((args.out / 'leaderboard.md').read_text())
    return 0


def _write_validation_summary(
    path: Path,
    per_set: dict,
    all_rows: list,
    metrics: list[str],
    missing: list[str],
    baselines: bool,
) -> None:
    """Per set: each method's average rank against the baselines alone; then all sets pooled."""
    from fusion_ros.metrics import evaluation as ev

    lines = [
        '# Validation leaderboard',
        '',
        'Every recipe choice is made on these sets (`make validate`); the test sets are scored by '
        '`make eval` only after the choice. Per set: each method ranked against pixel max and '
        'pixel '
        f'mean alone, average rank over {", ".join(metrics)} (lower is better; `beats` = below '
        'both).',
        '',
    ]
    checks_by_set = {name: checks for name, (_, checks) in per_set.items()}
    methods = list(dict.fromkeys(c.method for checks in checks_by_set.values() for c in checks))
    if baselines and methods:
        lines += [
            '| set | pairs | ' + ' | '.join(methods) + ' |',
            '|---|---|' + '---|' * len(methods),
        ]
        for name, (count, checks) in per_set.items():
            by = {c.method: c for c in checks}
            cells = [
                f'{by[m].average_rank:.2f} (max {by[m].baseline_ranks["pixel-max"]:.2f}, mean '
                f'{by[m].baseline_ranks["pixel-mean"]:.2f}) '
                f'{"beats" if by[m].beats_all else "**no**"}'
                for m in methods
            ]
            lines.append(
                f'| [{name}]({name}/leaderboard.md) | {count} | ' + ' | '.join(cells) + ' |'
            )
        lines.append('')
    board = ev.build_leaderboard(all_rows, metrics)
    lines += ['All validation pairs pooled (mean over images):', '', ev.to_markdown(board), '']
    if missing:
        lines += [f'Not found (skipped): {", ".join(missing)}.', '']
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(lines))
