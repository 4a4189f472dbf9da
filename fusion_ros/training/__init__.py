# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Offline training of the fusion networks.

Needs torch; never imported by the runtime or the nodes that only fuse.

- `data`: pairs in memory (`Pair`, `load_pairs`, `load_pairs_from_source`), `split_pairs`,
  `PatchDataset` (fixed random patches with stable sample ids).
- `validation`: the validation discipline (stem-hash split per training source, the whole
  validation sets, the test sets never tuned on); torch-free, `fusion-ros eval --set validation`
  uses it.
- `teachers`: MMDRFuse teachers (compact = registry `mmdrfuse_teacher`, dense = the authors' size).
- `config`: `TrainConfig` and `load_config(model, "default" | "tiny" | PATH)`; configs in
  `configs/`.
- `hooks`: `TrainingHooks` (progress callbacks), `ProgressHooks`, `HistoryHooks`, `CompositeHooks`.
- `trainer`: `fit` (one resumable, time-budgeted, validated training stage), checkpoints, seeding.
- `recipes`: `RECIPES` registry, `get_recipe(name)` -> `train(cfg, train_pairs, val_pairs, hooks,
  checkpoint_dir) -> (model, summary)`.
- `losses`, `perception`, `refresh`: MMDRFuse's loss terms, VGG-19 / filter-bank features,
  dynamic refresh memory.
- `export`: `export_onnx(model, name, out_dir, card_fields)` -> ONNX + model card.
- `runner`: `run_training(cfg, hooks, out_dir, export_dir, resume)`: everything end to end.
"""
