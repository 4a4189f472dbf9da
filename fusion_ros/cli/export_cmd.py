# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros export`: write a model to ONNX + model card.

    fusion-ros export --model mmdrfuse --checkpoint runs/mmdrfuse/mmdrfuse.pt \
        --out fusion_ros/weights
    fusion-ros export --model mobilefuse --out /tmp/x          # untrained (fresh) weights

`--checkpoint` accepts the final `<model>.pt` state_dict a training run writes, or a stage
checkpoint `checkpoints/<stage>.pt` (model weights are taken from it). If the run folder has a
summary.json, its training record goes into the card.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import pickle
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--model', required=True, help='registry name: mmdrfuse | mobilefuse | aenetv2 | ...'
    )
    parser.add_argument(
        '--checkpoint',
        default=None,
        metavar='PATH',
        help='trained weights (state_dict or stage checkpoint); default: fresh, untrained',
    )
    parser.add_argument(
        '--out', required=True, metavar='DIR', help='output folder for <model>.onnx and .json'
    )
    parser.add_argument('--version', default=None, help='card version string')
    parser.add_argument('--opset', type=int, default=17)


def run(args: argparse.Namespace) -> int:
    from fusion_ros.models import build_model
    from fusion_ros.training.export import export_onnx
    from fusion_ros.training.trainer import load_model_weights
    import torch

    torch.manual_seed(0)
    model = build_model(args.model)
    fields: dict = {}
    if args.checkpoint:
        try:  # weights_only: a checkpoint is data, never code (a pickle's __reduce__ is refused)
            payload = load_model_weights(model, args.checkpoint)
        except (pickle.UnpicklingError, RuntimeError, OSError) as exc:
            print(
                f'error: cannot load {args.checkpoint} as weights: '
                f'{" ".join(str(exc).split())[:300]}',
                file=sys.stderr,
            )
            return 2
        ckpt = Path(args.checkpoint)
        summary_file = next(
            (
                p / 'summary.json'
                for p in (ckpt.parent, ckpt.parent.parent)
                if (p / 'summary.json').exists()
            ),
            None,
        )
        if summary_file is not None:
            record = json.loads(summary_file.read_text())
            fields.update(
                record.get('card_fields')
                or {
                    'training': record.get('training', {}),
                    'metrics': {'validation': record.get('summary', {}).get('val_metrics', {})},
                }
            )
        else:
            fields['training'] = {
                'checkpoint': ckpt.name,
                'stage': payload.get('stage'),
                'step': payload.get('step'),
                'config': (payload.get('config') or {}).get('name'),
            }
    else:
        fields['training'] = {'untrained': True, 'note': 'fresh random weights (torch seed 0)'}
    if args.version:
        fields['version'] = args.version
    onnx_path, card_path = export_onnx(model, args.model, args.out, fields, opset=args.opset)
    print(f'onnx: {onnx_path}\ncard: {card_path}')
    return 0
