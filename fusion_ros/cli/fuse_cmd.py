# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros fuse`: a folder of IR/visible pairs -> a folder of fused images.

Offline, evaluation.

A bad pair (unreadable, zero bytes, a false-colour thermal image, sizes the pipeline rejects) is
reported, counted and skipped; the rest are fused; the exit status is 1 and `fuse_errors.txt` in
the output folder lists what failed, so a partial output folder is never mistaken for a complete
one. Thermal images go to the pipeline as stored, so colour handling is the node's (three equal
channels are fine; a palette image is rejected).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

from fusion_ros.runtime.engine_choice import BACKEND_NAMES

ERRORS_FILE = 'fuse_errors.txt'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--model', default='mmdrfuse', help='mmdrfuse | mobilefuse | aenetv2 | path/to/model.onnx'
    )
    parser.add_argument('--ir', type=Path, required=True, help='folder of infrared images')
    parser.add_argument(
        '--vis', type=Path, required=True, help='folder of visible images (same file stems)'
    )
    parser.add_argument(
        '--out',
        type=Path,
        required=True,
        help='output folder: one fused image per pair, named by stem',
    )
    parser.add_argument('--backend', default='cpu', choices=BACKEND_NAMES)
    parser.add_argument('--ext', default='.png', help='output image extension')
    parser.add_argument(
        '--output-stretch',
        default='model',
        choices=('model', 'none', 'minmax'),
        help="8-bit output: as the model card says (default), none, or each image's min..max "
        "to 0..255 (the node's output_stretch)",
    )
    parser.add_argument(
        '--mosaic',
        action='store_true',
        help='also write <stem>_mosaic.png (visible | thermal | fused)',
    )


def find_pairs(ir_dir: Path, vis_dir: Path) -> tuple[list[tuple[str, Path, Path]], list[str]]:
    """(pairs matched by stem, notes on unpaired files).

    ValueError with a clear message when there is nothing to fuse (missing or empty folders, no
    stem in common).
    """
    from fusion_ros.images.folders import image_files

    found = {}
    for label, folder in (('--ir', ir_dir), ('--vis', vis_dir)):
        if not folder.is_dir():
            raise ValueError(f'{label} {folder}: no such folder')
        found[label] = image_files(folder)
        if not found[label]:
            raise ValueError(f'{label} {folder}: no images (.png .jpg .jpeg .bmp .tif .tiff)')
    ir, vis = found['--ir'], found['--vis']
    common = sorted(ir.keys() & vis.keys())
    if not common:
        raise ValueError(
            f'no pairs: no file name (without extension) is in both {ir_dir} ({len(ir)} images, '
            f'e.g. {next(iter(ir))}) and {vis_dir} ({len(vis)} images, e.g. {next(iter(vis))})'
        )
    notes = [
        f'{len(only)} {label} image(s) have no partner and are skipped: {", ".join(only[:5])}'
        f'{" ..." if len(only) > 5 else ""}'
        for label, only in (
            ('infrared', sorted(ir.keys() - vis.keys())),
            ('visible', sorted(vis.keys() - ir.keys())),
        )
        if only
    ]
    return [(stem, ir[stem], vis[stem]) for stem in common], notes


def _read(path: Path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise OSError(
            f'cannot read {path.name} ({path.stat().st_size} bytes): not a readable image'
        )
    return image


def _fuse_one(
    pipeline, stem: str, ir_path: Path, vis_path: Path, args: argparse.Namespace
) -> float:
    """Fuse and save one pair; returns the pipeline milliseconds.

    Raises on a bad pair.
    """
    from fusion_ros.images.folders import read_visible
    from fusion_ros.images.visuals import mosaic, save_image

    visible, thermal = read_visible(vis_path), _read(ir_path)
    result = pipeline.fuse(visible, thermal)
    save_image(args.out / f'{stem}{args.ext}', result.image)
    if args.mosaic:
        shown = thermal if thermal.ndim == 2 else thermal[..., 0]
        save_image(
            args.out / f'{stem}_mosaic.png',
            mosaic(
                [visible, shown, result.image], ['visible', 'thermal', f'fused: {pipeline.name}']
            ),
        )
    return result.times.total_ms


def run(args: argparse.Namespace) -> int:
    from fusion_ros.runtime import load_pipeline, ProcessingOptions
    import numpy as np
    from tqdm import tqdm

    try:
        pairs, notes = find_pairs(args.ir, args.vis)
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    pipeline = load_pipeline(
        args.model,
        backend=args.backend,
        options=ProcessingOptions(output_stretch=args.output_stretch),
    )
    for line in [*pipeline.warnings, *notes]:
        print(f'warning: {line}', file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / ERRORS_FILE).unlink(missing_ok=True)
    times, failures = [], []
    for stem, ir_path, vis_path in tqdm(pairs, desc=f'fusing with {pipeline.name}', unit='pair'):
        try:
            times.append(_fuse_one(pipeline, stem, ir_path, vis_path, args))
        except Exception as exc:  # noqa: BLE001 - one bad pair must not stop the others
            failures.append(f'{stem}: {exc}')
            tqdm.write(f'error: pair {stem}: {exc}', file=sys.stderr)
    median = f' (median {np.median(times):.1f} ms per pair)' if times else ''
    print(f'wrote {len(times)} of {len(pairs)} fused images to {args.out}{median}')
    if failures:
        (args.out / ERRORS_FILE).write_text('\n'.join(failures) + '\n')
        print(
            f'error: {len(failures)} pair(s) failed; listed in {args.out / ERRORS_FILE}',
            file=sys.stderr,
        )
        return 1
    return 0
