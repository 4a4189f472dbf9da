# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Recipe registry.

Model/recipe name -> module exposing

    train(cfg: TrainConfig, train_pairs: list[Pair], val_pairs: list[Pair],
          hooks: TrainingHooks, checkpoint_dir: Path | None) -> tuple[nn.Module, dict]

returning the trained network to export (the registry model `cfg.model`, in eval mode or not) and
a JSON-able summary for the model card's `training` field (stages, steps, losses, stopped_early,
what perception network was used, ...). Validation metrics go under summary["val_metrics"].

Modules are imported lazily (`get_recipe`) so the registry works while recipes are being written
and so `fusion-ros --help` never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

# recipe name -> module under fusion_ros.training.recipes
RECIPES: dict[str, str] = {
    'mmdrfuse': 'mmdrfuse',  # teacher (comprehensive loss + dynamic refresh) -> distilled student
    'mobilefuse': 'mobilefuse',  # recipes engineer
    'aenetv2': 'aenetv2',  # recipes engineer
    'simple': 'simple',  # any model: intensity + max-gradient loss (the "first version" weights)
}


def get_recipe(name: str) -> Callable[..., tuple[Any, dict]]:
    """Return the `train` function of recipe `name`.

    ImportError with a clear message if not written.
    """
    if name not in RECIPES:
        raise KeyError(f'unknown recipe {name!r}; known: {", ".join(RECIPES)}')
    module = importlib.import_module(f'{__name__}.{RECIPES[name]}')
    return module.train


def available_recipes() -> list[str]:
    """Recipe names whose module can be imported right now."""
    out = []
    for name in RECIPES:
        try:
            get_recipe(name)
            out.append(name)
        except ImportError:
            pass
    return out
