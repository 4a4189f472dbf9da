# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Finding and loading models: registered names in the weights folder, or explicit ONNX paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .engine import SMALL_MODEL_PARAMETERS
from .engine_choice import choose_engine, EngineChoice
from .errors import ModelLoadError
from .model_card import load_model_card, ModelCard
from .options import ProcessingOptions
from .pipeline import FusionPipeline

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / 'weights'
#: The models the demo and the benchmark run by default, in that order. The torch side registers
#: the same names (fusion_ros.models.registry.SHIPPED_MODELS, which a test keeps equal); this copy
#: exists so the runtime, the node and the CLI need no torch to know them.
SHIPPED_MODELS: tuple[str, ...] = ('mmdrfuse', 'mobilefuse', 'aenetv2')
WARMUP_SIZE = 32


def default_weights_dir() -> Path:
    """fusion_ros/weights/ of this installation (source checkout or colcon/pip install)."""
    return WEIGHTS_DIR


def available_models(weights_dir: str | Path | None = None) -> list[str]:
    """Names that `load_pipeline(name)` can load.

    Every NAME.onnx with a NAME.json card beside it.
    """
    folder = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob('*.onnx') if p.with_suffix('.json').is_file())


def _looks_like_path(model: str | Path) -> bool:
    if isinstance(model, Path):
        return True
    return model.endswith(('.onnx', '.json')) or '/' in model or '\\' in model


def locate_model(model: str | Path, weights_dir: str | Path | None = None) -> tuple[Path, Path]:
    """(onnx path, card path) for a registered name or a path to NAME.onnx.

    Or its NAME.json card.
    """
    if not isinstance(model, (str, Path)) or not str(model).strip():
        raise ModelLoadError(
            f'model must be a registered name or a path to an .onnx file, got {model!r}'
        )
    if _looks_like_path(model):
        path = Path(model).expanduser()
        if path.suffix == '.json':
            card_path = path
            if not card_path.is_file():
                raise ModelLoadError(f'model card not found: {card_path}')
            card = load_model_card(card_path)
            return card_path.parent / card.onnx, card_path
        if not path.is_file():
            raise ModelLoadError(f'ONNX model not found: {path}')
        return path, path.with_suffix('.json')
    folder = Path(weights_dir) if weights_dir is not None else WEIGHTS_DIR
    onnx_path = folder / f'{model}.onnx'
    if not onnx_path.is_file():
        names = available_models(folder)
        raise ModelLoadError(
            f'no model named {model!r}: {onnx_path} not found; available in {folder}: '
            f'{", ".join(names) if names else "none"} (or pass a path to an .onnx file)'
        )
    return onnx_path, folder / f'{model}.json'


def _disabled_optimizers(card: ModelCard) -> list[str]:
    if 'disabled_optimizers' in card.runtime:
        return list(card.runtime['disabled_optimizers'])
    if 0 < card.parameters < SMALL_MODEL_PARAMETERS:
        return ['NchwcTransformer']
    return []


def _warm_up(engine: Any, card: ModelCard) -> None:
    """One tiny inference.

    Proves the model runs and speaks [N,2,H,W] -> [N,1,H,W] before we hand it out.
    """
    m = card.size_multiple
    side = -(-WARMUP_SIZE // m) * m
    x = np.full((1, 2, side, side), 0.5, np.float32)
    try:
        y = engine.run(x)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(
            f'{engine.path}: test inference on a {side}x{side} input failed: {exc}'
        ) from None
    if not isinstance(y, np.ndarray) or y.shape != (1, 1, side, side):
        raise ModelLoadError(
            f'{engine.path}: a [1, 2, {side}, {side}] input gave an output of shape '
            f'{getattr(y, "shape", None)}; expected [1, 1, {side}, {side}] (size_multiple '
            f'{m} in {card.name}.json wrong?)'
        )


def check_model_files(
    model: str | Path, weights_dir: str | Path | None = None, allow_unverified: bool = False
) -> tuple[Path, Path, ModelCard, list[str]]:
    """Return the cheap half of loading (milliseconds).

    Find the ONNX file and its card, read the card and check the file's SHA-256 against it. Returns
    (onnx path, card path, card, warnings); raises ModelLoadError as load_pipeline does. The fusion
    node runs it in the parameter callback, so a wrong name or file is refused at once and only the
    session build runs in the background.
    """
    onnx_path, card_path = locate_model(model, weights_dir)
    if not card_path.is_file():
        raise ModelLoadError(
            f'model card not found: {card_path} (needed beside {onnx_path.name}; it names the '
            f"input/output tensors, size multiple and the ONNX file's SHA-256)"
        )
    card = load_model_card(card_path)
    if not onnx_path.is_file():
        raise ModelLoadError(f'ONNX model not found: {onnx_path} (named by {card_path})')
    warnings: list[str] = []
    if card.onnx != onnx_path.name:
        warnings.append(
            f'{card_path.name} describes {card.onnx!r} but was loaded for {onnx_path.name!r}'
        )
    if card.onnx_sha256:
        card.verify_onnx(onnx_path)
    elif allow_unverified:
        warnings.append(f'{card_path.name} has no onnx_sha256: {onnx_path.name} was not verified')
    else:
        raise ModelLoadError(
            f'{card_path.name} has no onnx_sha256, so {onnx_path.name} cannot be verified; '
            f're-export it (fusion-ros export writes the hash) or allow unverified models '
            f'explicitly (allow_unverified_model)'
        )
    return onnx_path, card_path, card, warnings


def load_pipeline(
    model: str | Path,
    backend: str = 'cpu',
    weights_dir: str | Path | None = None,
    options: ProcessingOptions | None = None,
    *,
    threads: int | None = None,
    allow_unverified: bool = False,
) -> FusionPipeline:
    """Load a model and return a ready FusionPipeline.

    model: a registered name ("mmdrfuse", "mobilefuse", "aenetv2": weights_dir/NAME.onnx +
        NAME.json, weights_dir defaulting to fusion_ros/weights/) or a path to an .onnx file whose
        card is the same-stem .json beside it. backend: "cpu" | "cuda" | "tensorrt" | "opencv" |
        "auto"; missing GPU providers fall back to CPU with a message in `pipeline.warnings`;
        "opencv" runs tiny convolution chains (the MMDRFuse student) as OpenCV filters; "auto"
        takes the GPU when there is one, else the faster of ONNX Runtime and OpenCV, timed here.
        threads: intra-op threads (overrides options.threads; 0 = the fastest of 1..cores, timed at
        load). allow_unverified: load a model whose card has no onnx_sha256 (with a warning)
        instead of refusing it.

    Raises ModelLoadError (naming the file and the reason) for a missing file, an invalid card, an
    ONNX file that does not match its card's SHA-256 or I/O names, or one that cannot run;
    ValueError for invalid options. Nothing is left half-built on failure.
    """
    opts = options if options is not None else ProcessingOptions()
    if not isinstance(opts, ProcessingOptions):
        raise TypeError(f'options must be ProcessingOptions, got {type(opts).__name__}')
    if threads is not None:
        opts = opts.replace(threads=threads)
    onnx_path, card_path, card, warnings = check_model_files(model, weights_dir, allow_unverified)
    disabled = _disabled_optimizers(card)

    def choose(threads: int) -> EngineChoice:
        return choose_engine(onnx_path, card, backend, threads, disabled)

    choice = choose(opts.threads)
    _warm_up(choice.engine, card)
    return FusionPipeline(
        choice.engine,
        card,
        opts,
        warnings=choice.warnings + choice.engine.warnings + warnings,
        onnx_path=onnx_path,
        card_path=card_path,
        engine_choice=choice,
        chooser=choose,
    )
