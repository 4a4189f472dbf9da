# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Export a searched (derived) net as `searched.onnx` + `searched.json`, the project's convention.

Same ONNX convention as `fusion_ros.training.export` (and its helpers: clamp wrapper, ORT-vs-torch
check, card writer): input `input` [N, 2, H, W] infrared first, output `fused` [N, 1, H, W] in
[0, 1], dynamic N/H/W, opset 17. The searched net is not a registry model (its architecture lives
in its card), so the file name and the size multiple come from here, not from the registry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
import warnings

from fusion_ros.models import count_parameters
from fusion_ros.models.hafnas import DerivedNet
from fusion_ros.training.export import (
    ClampedOutput,
    INPUT_DESC,
    OUTPUT_DESC,
    sha256_file,
    verify_onnx,
    write_card,
)
import torch


def export_searched(
    net: DerivedNet,
    out_dir: str | os.PathLike,
    name: str = 'searched',
    card_fields: dict[str, Any] | None = None,
    output_stretch: str = 'none',
) -> tuple[Path, Path, dict[str, Any]]:
    """Write `<name>.onnx` (checked against torch) and `<name>.json`.

    Return paths and card fields.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path, card_path = out_dir / f'{name}.onnx', out_dir / f'{name}.json'
    net = net.cpu().eval()
    m = net.space.size_multiple
    tmp = onnx_path.with_suffix('.onnx.tmp')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(
            ClampedOutput(net).eval(),
            (torch.rand(1, 2, 8 * m, 8 * m),),
            str(tmp),
            input_names=['input'],
            output_names=['fused'],
            dynamic_axes={'input': {0: 'N', 2: 'H', 3: 'W'}, 'fused': {0: 'N', 2: 'H', 3: 'W'}},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    max_diff = verify_onnx(tmp, net, m)
    os.replace(tmp, onnx_path)
    fields: dict[str, Any] = {
        'name': name,
        'architecture': f'HAF-NAS searched fusion net (width {net.space.width}): '
        f'{net.arch.describe()}',
        'version': '1',
        'onnx': onnx_path.name,
        'input': INPUT_DESC,
        'output': {**OUTPUT_DESC, 'stretch': output_stretch},
        'size_multiple': m,
        'parameters': count_parameters(net),
        'training': {},
        'metrics': {},
        # as in the latency table: ORT's NCHWc layout pass on (the runtime's small-model rule
        # would turn it off for nets under 576 parameters, and the prediction would not hold)
        'runtime': {'disabled_optimizers': []},
    }
    fields.update(card_fields or {})
    fields['onnx_sha256'] = sha256_file(onnx_path)
    fields['training'] = {
        **fields.get('training', {}),
        'export_check': {'onnxruntime_vs_torch_max_abs_diff': max_diff, 'opset': 17},
    }
    write_card(card_path, fields)
    return onnx_path, card_path, fields
