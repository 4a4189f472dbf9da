# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Export a trained network to the project's ONNX convention plus its model card.

`export_onnx(model, name, out_dir, card_fields) -> (onnx_path, card_path)`:
- eval mode, wrapped so the output is clamped to [0, 1];
- `torch.onnx.export` legacy (TorchScript) exporter, opset 17, input `input` [N, 2, H, W], output
  `fused` [N, 1, H, W], dynamic N/H/W (the legacy exporter keeps these files a few KB);
- verified: onnxruntime and torch agree (max abs diff < 1e-4) on a random input whose size is a
  multiple of the model's `size_multiple`, and the output has shape [N, 1, H, W];
- the card `<name>.json` next to it via `fusion_ros.runtime.model_card.ModelCard.save()` when the
  runtime package is importable (a plain JSON with the same fields otherwise).

`card_fields` may set any card field (version, training, metrics, ...); name, onnx file, input,
output, size_multiple, parameters and onnx_sha256 are filled in here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
import subprocess
from typing import Any
import warnings

from fusion_ros.models import count_parameters, get_spec
import numpy as np
import torch
from torch import nn

INPUT_DESC = {
    'name': 'input',
    'channels': ['ir', 'vis_y'],
    'range': [0.0, 1.0],
    'shape': ['N', 2, 'H', 'W'],
    'dtype': 'float32',
    'description': 'infrared, visible luminance (Y of YCbCr) in [0, 1]',
}
OUTPUT_DESC = {
    'name': 'fused',
    'shape': ['N', 1, 'H', 'W'],
    'dtype': 'float32',
    'range': [0.0, 1.0],
}


class ClampedOutput(nn.Module):
    """Wraps a fusion network so the exported graph ends in clamp(0, 1)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.model(x), 0.0, 1.0)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def git_commit(repo: str | os.PathLike | None = None) -> str | None:
    """HEAD commit of the source checkout (with '+dirty' if modified), or None outside git."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=repo, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        if not commit:
            return None
        dirty = subprocess.run(
            ['git', 'status', '--porcelain', '--untracked-files=no'],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + ('+dirty' if dirty else '')
    except (OSError, subprocess.SubprocessError):
        return None


def verify_onnx(
    onnx_path: str | os.PathLike,
    model: nn.Module,
    size_multiple: int = 1,
    atol: float = 1e-4,
    seed: int = 0,
) -> float:
    """Run the ONNX file and `model` (clamped) on random inputs of two sizes and batch sizes.

    Return the max abs difference, raising if it is >= atol or the output shape is wrong.
    """
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    wrapped = ClampedOutput(model).eval()
    rng = np.random.default_rng(seed)
    worst = 0.0
    m = max(1, size_multiple)
    for n, h, w in ((1, 8 * m if m > 1 else 37, 6 * m if m > 1 else 53), (2, 64, 48)):
        h, w = h - h % m or m, w - w % m or m
        x = rng.random((n, 2, h, w), dtype=np.float32)
        (got,) = sess.run(['fused'], {'input': x})
        with torch.no_grad():
            want = wrapped(torch.from_numpy(x)).numpy()
        if got.shape != (n, 1, h, w):
            raise AssertionError(f'ONNX output shape {got.shape}, expected {(n, 1, h, w)}')
        worst = max(worst, float(np.abs(got - want).max()))
    if not worst < atol:
        raise AssertionError(f'ONNX and torch disagree: max abs diff {worst:.3g} >= {atol}')
    return worst


def write_card(card_path: Path, fields: dict[str, Any]) -> Path:
    """Save the card with the runtime's ModelCard when available (its own JSON layout)."""
    try:
        from fusion_ros.runtime.model_card import ModelCard
    except Exception:
        ModelCard = None  # noqa: N806
    if ModelCard is not None and dataclasses.is_dataclass(ModelCard):
        known = {f.name for f in dataclasses.fields(ModelCard)} - {'extra'}
        extra = {k: v for k, v in fields.items() if k not in known}
        card = ModelCard(**{k: v for k, v in fields.items() if k in known}, extra=extra)
        card.save(card_path)  # validates (ModelLoadError names the bad field)
        return card_path
    card_path.write_text(json.dumps(fields, indent=2, sort_keys=False, default=str) + '\n')
    return card_path


def export_onnx(
    model: nn.Module,
    name: str,
    out_dir: str | os.PathLike,
    card_fields: dict[str, Any] | None = None,
    *,
    opset: int = 17,
    architecture: str | None = None,
    verify: bool = True,
) -> tuple[Path, Path]:
    """Export `model` (registry name `name`) to `<out_dir>/<name>.onnx` + `<name>.json`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = get_spec(name)
    onnx_path, card_path = out_dir / f'{name}.onnx', out_dir / f'{name}.json'
    model = model.cpu().eval()
    wrapped = ClampedOutput(model).eval()
    m = max(1, spec.size_multiple)
    dummy = torch.rand(1, 2, 8 * m, 8 * m)
    tmp = onnx_path.with_suffix('.onnx.tmp')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            wrapped,
            (dummy,),
            str(tmp),
            input_names=['input'],
            output_names=['fused'],
            dynamic_axes={'input': {0: 'N', 2: 'H', 3: 'W'}, 'fused': {0: 'N', 2: 'H', 3: 'W'}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    max_diff = verify_onnx(tmp, model, spec.size_multiple) if verify else None
    os.replace(tmp, onnx_path)
    fields: dict[str, Any] = {
        'name': name,
        'architecture': architecture or spec.architecture,
        'version': '1',
        'onnx': onnx_path.name,
        'input': INPUT_DESC,
        'output': OUTPUT_DESC,
        'size_multiple': spec.size_multiple,
        'parameters': count_parameters(model),
        'training': {},
        'metrics': {},
    }
    fields.update(card_fields or {})
    fields['onnx'] = onnx_path.name
    fields['onnx_sha256'] = sha256_file(onnx_path)
    if max_diff is not None:
        fields.setdefault('training', {})
        if isinstance(fields['training'], dict):
            fields['training'].setdefault(
                'export_check', {'onnxruntime_vs_torch_max_abs_diff': max_diff, 'opset': opset}
            )
    write_card(card_path, fields)
    return onnx_path, card_path
