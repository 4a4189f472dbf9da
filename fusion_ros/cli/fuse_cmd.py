"""`fusion-ros fuse`: a folder of IR/visible pairs -> a folder of fused images (offline, evaluation)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="mmdrfuse", help="mmdrfuse | mobilefuse | aenetv2 | path/to/model.onnx")
    parser.add_argument("--ir", type=Path, required=True, help="folder of infrared images")
    parser.add_argument("--vis", type=Path, required=True, help="folder of visible images (same file stems)")
    parser.add_argument("--out", type=Path, required=True, help="output folder: one fused image per pair, named by stem")
    parser.add_argument("--backend", default="cpu", choices=["cpu", "cuda", "tensorrt", "auto"])
    parser.add_argument("--ext", default=".png", help="output image extension")
    parser.add_argument("--mosaic", action="store_true", help="also write <stem>_mosaic.png (visible | thermal | fused)")


def run(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np
    from tqdm import tqdm

    from fusion_ros.images.folders import matched_pairs, read_thermal, read_visible
    from fusion_ros.runtime import load_pipeline
    from fusion_ros.images.visuals import mosaic, save_image

    pipeline = load_pipeline(args.model, backend=args.backend)
    for warning in pipeline.warnings:
        print(f"warning: {warning}")
    pairs = matched_pairs(args.ir, args.vis)
    args.out.mkdir(parents=True, exist_ok=True)
    times = []
    for stem, ir_path, vis_path in tqdm(pairs, desc=f"fusing with {pipeline.name}", unit="pair"):
        visible, thermal = read_visible(vis_path), read_thermal(ir_path)
        result = pipeline.fuse(visible, thermal)
        times.append(result.times.preprocess_ms + result.times.inference_ms + result.times.postprocess_ms)
        save_image(args.out / f"{stem}{args.ext}", result.image)
        if args.mosaic:
            save_image(args.out / f"{stem}_mosaic.png",
                       mosaic([visible, thermal, result.image], ["visible", "thermal", f"fused: {pipeline.name}"]))
    print(f"wrote {len(pairs)} fused images to {args.out} (median {np.median(times):.1f} ms per pair)")
    return 0
