# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""One `fusion-ros search` run, end to end.

data, latency table, bilevel search, derivation under the budget, retrain, export, measured
latency, validation quality, Pareto picture, model card.

Files written to the output folder: `searched.onnx` + `searched.json` (the model and its card),
`latency_table.json`, `search.log` (human-readable), `search_log.json` (every step), `pareto.png`,
`latency_verify.json` (table and net re-timed together: prediction vs measurement under one load).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import json
from pathlib import Path
import time
from typing import Any, Callable

from fusion_ros.runtime.loader import SHIPPED_MODELS
from fusion_ros.training.data import Pair, split_pairs
from fusion_ros.training.export import git_commit, write_card
from fusion_ros.training.runner import load_named_val_sets, split_sources_by_stem
import torch

from .bilevel import fit_budget, retrain, search, SearchResult
from .config import SearchConfig
from .evaluate import (
    baseline_ms,
    BASELINES,
    leaderboard,
    measure_model,
    pareto_plot,
    validation_rows,
)
from .export import export_searched
from .latency import (
    LatencyTable,
    measure_table,
    predict_ms,
    predict_terms,
    ROUNDS,
    skeleton_times,
)

Log = Callable[[str], None]
MEASURE_ROUNDS = 3  # the searched net and the shipped models timed in this many interleaved rounds
Progress = Callable[[str, int, dict], None]


@dataclass
class SearchRequest:
    """What the user asked for (the CLI's arguments)."""

    budget_ms: float
    out: Path
    size: tuple[int, int] = (512, 640)  # (H, W)
    backend: str = 'cpu'
    threads: int = 1
    table: Path | None = None  # reuse a measured table instead of measuring again
    compare_shipped: bool = True
    bench_frames: int = 0
    from_search: Path | None = None  # derive from this earlier search folder instead of searching


def load_data(cfg: SearchConfig, log: Log) -> tuple[list[Pair], list[Pair], list[Pair]]:
    """(weight split, architecture split, validation pairs).

    The project's validation discipline (`fusion_ros.training.validation`): each training source
    is split by stem hash, the held-out part is validation, so the pairs `fusion-ros eval --set
    validation` scores are never trained or searched on; `val_sources` ("standard" = the whole
    held-out validation sets; a missing folder is skipped, as in training) are added to the
    validation pairs.
    """
    rest, val = split_sources_by_stem(
        cfg.train_sources, cfg.val_fraction, max_side=cfg.max_side, limit=cfg.limit_pairs
    )
    held_out_split = len(val)
    for pairs in load_named_val_sets(cfg.val_sources, cfg.max_side).values():
        val += pairs
    w_pairs, a_pairs = split_pairs(rest, cfg.arch_fraction, cfg.seed + 1)
    log(
        f'data: {len(w_pairs)} weight split, {len(a_pairs)} architecture split; {len(val)} '
        f'validation pairs ({held_out_split} held out of the training sources by stem hash, '
        f'{len(val) - held_out_split} from the validation sets)'
    )
    return w_pairs, a_pairs, val


def choose_width(cfg: SearchConfig, req: SearchRequest, log: Log) -> None:
    """With `cfg.widths`, set `cfg.width` (and with `cfg.heads`, `cfg.head`) for the budget.

    Heads are tried in order (the first is preferred); for each, the widest width whose bare
    skeleton (measured now) takes at most `skeleton_share` of the target latency, leaving the rest
    to the searched operators. If no pair fits, the fastest skeleton.
    """
    if not cfg.widths:
        return
    target = cfg.skeleton_share * cfg.budget_margin * req.budget_ms
    heads = list(cfg.heads) or [cfg.head]
    pairs = [(h, w) for h in heads for w in sorted(cfg.widths)]
    spaces = [dataclasses.replace(cfg.space(w), head=h) for h, w in pairs]
    times = dict(
        zip(pairs, skeleton_times(spaces, req.size, req.backend, req.threads))
    )
    fits = {h: [w for hh, w in pairs if hh == h and times[(hh, w)] <= target] for h in heads}
    fitting = [(h, max(ws)) for h, ws in fits.items() if ws]
    cfg.head, cfg.width = fitting[0] if fitting else min(times, key=times.__getitem__)
    log(
        'width: '
        + ', '.join(
            f'{w}{"" if len(heads) == 1 else f" ({h})"}: skeleton {ms:.2f} ms'
            for (h, w), ms in times.items()
        )
        + f' -> {cfg.width}{"" if len(heads) == 1 else f", head {cfg.head}"} (skeleton <= '
        f'{target:.2f} ms{"" if fitting else ": none fits, the fastest"})'
    )


def get_table(
    cfg: SearchConfig, req: SearchRequest, log: Log, progress: Progress | None
) -> LatencyTable:
    """Load `req.table` when it matches this space and size, else measure a new one."""
    if req.table is not None and Path(req.table).is_file():
        table = LatencyTable.load(req.table)
        if table.space == cfg.space() and tuple(table.size) == req.size:
            log(f'latency table: reused {req.table}')
            return table
        log(f'latency table {req.table} is for another space or size: measuring a new one')
    t0 = time.monotonic()
    n = [0]

    def tick(key: str) -> None:
        n[0] += 1
        if progress:
            progress('table', n[0], {'entry': key})

    table = measure_table(cfg.space(), req.size, req.backend, req.threads, cfg.repeats, tick)
    log(
        f'latency table: measured in {time.monotonic() - t0:.0f} s ({req.backend}, {req.threads} '
        'thread(s), '
        f'min of {cfg.repeats}); skeleton {table.skeleton_ms:.2f} ms, ORT call '
        f'{table.call_ms:.3f} ms'
    )
    return table


def compare(
    req: SearchRequest, cfg: SearchConfig, onnx_path: Path, val: list[Pair], log: Log
) -> dict[str, Any]:
    """Measured latency and validation average rank of the searched net.

    The shipped models and the pixel baselines.
    """
    models: dict[str, str | Path] = {'searched': onnx_path}
    if req.compare_shipped:
        models.update({name: name for name in SHIPPED_MODELS})
    latency: dict[str, dict[str, Any]] = {}
    for round_ in range(MEASURE_ROUNDS):  # interleaved: every model sees the same machine load
        for name, src in models.items():
            frames = req.bench_frames if name == 'searched' and not round_ else 0
            m = measure_model(src, req.backend, req.threads, req.size, cfg.repeats, frames)
            if name not in latency:
                latency[name] = {**m, 'rounds': MEASURE_ROUNDS}
                continue
            for key in ('inference_min_ms', 'wall_min_ms'):
                latency[name][key] = min(latency[name][key], m[key])
    for name in BASELINES:
        latency[name] = {'inference_min_ms': baseline_ms(name, req.size, cfg.repeats)}
    rows = validation_rows(models, val, cfg.val_metrics, cfg.val_max_side)
    board = leaderboard(rows, cfg.val_metrics)
    log('validation (average rank over ' + ', '.join(board.metrics) + f'; {board.images} pairs):')
    for name in board.methods:
        log(
            f'  {name:11s} rank {board.average_rank[name]:.2f}  measured '
            f'{latency[name]["inference_min_ms"]:.2f} ms'
        )
    return {
        'latency': latency,
        'average_rank': board.average_rank,
        'means': board.means,
        'metrics': board.metrics,
        'images': board.images,
    }


def verify_latency(
    out_dir: Path,
    arch,
    size: tuple[int, int],
    backend: str,
    threads: int,
    repeats: int = 30,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """Compare the latency table's prediction with a measurement of `out_dir/searched.onnx`.

    Both are re-measured in the same interleaved rounds (so they see the same machine load).
    Written to `out_dir/latency_verify.json`.
    """
    table = measure_table(
        arch.space,
        size,
        backend,
        threads,
        repeats,
        rounds=rounds,
        models={'searched': out_dir / 'searched.onnx'},
    )
    predicted, measured = predict_ms(arch, table), table.models_ms['searched']
    result = {
        'predicted_ms': round(predicted, 3),
        'measured_ms': round(measured, 3),
        'error': round(predicted / measured - 1.0, 4),
        'table': table.to_dict(),
    }
    (out_dir / 'latency_verify.json').write_text(json.dumps(result, indent=1) + '\n')
    return result


def verify_dir(out_dir: Path, repeats: int = 30) -> dict[str, Any]:
    """`verify_latency` for a finished search folder (architecture and settings from its card)."""
    from fusion_ros.models.hafnas import Architecture

    info = json.loads((out_dir / 'searched.json').read_text())['search']
    size = (int(info['size'][1]), int(info['size'][0]))
    return verify_latency(
        out_dir,
        Architecture.from_dict(info['architecture']),
        size,
        info['backend'],
        int(info['threads']),
        repeats,
    )


def _summary(
    req: SearchRequest,
    cfg: SearchConfig,
    res: SearchResult,
    table: LatencyTable,
    predicted: float,
    comparison: dict[str, Any],
) -> dict[str, Any]:
    measured = comparison['latency']['searched']
    return {
        'budget_ms': req.budget_ms,
        'target_ms': cfg.budget_margin * req.budget_ms,
        'predicted_ms': round(predicted, 3),
        'measured': measured,
        'prediction_error': round(predicted / measured['inference_min_ms'] - 1.0, 4),
        'size': [req.size[1], req.size[0]],
        'backend': req.backend,
        'threads': req.threads,
        'device': table.device,
        'architecture': res.arch.to_dict(),
        'argmax_architecture': res.argmax_arch.to_dict(),
        'downgrades': res.downgrades,
        'search_space': cfg.space().to_dict(),
        'seed': cfg.seed,
        'validation': {k: comparison[k] for k in ('average_rank', 'metrics', 'images')},
    }


def reuse_search(
    src: Path, cfg: SearchConfig, req: SearchRequest, log: Log
) -> tuple[SearchResult, LatencyTable]:
    """Return a previous search's table, operator probabilities (and supernet weights when saved).

    Derived again for this budget: one search serves several budgets of the same device and size.
    """
    from fusion_ros.models.hafnas import derive, SuperNet

    table = LatencyTable.load(src / 'latency_table.json')
    if tuple(table.size) != req.size:
        raise ValueError(
            f'{src} was searched at {table.size[1]}x{table.size[0]}, not '
            f'{req.size[1]}x{req.size[0]}'
        )
    probs = json.loads((src / 'search_log.json').read_text())['probabilities']
    net = SuperNet(table.space)
    if (src / 'supernet.pt').is_file():
        net.load_state_dict(torch.load(src / 'supernet.pt', weights_only=True))
    with torch.no_grad():
        net.alphas.copy_(
            torch.tensor(
                [[probs[k][o] for o in table.space.ops] for k, _ in table.space.edges()]
            ).log()
        )
    cfg.width = table.space.width
    arch, downgrades = fit_budget(
        table.space, net.alphas, table, cfg.budget_margin * req.budget_ms
    )
    weights = (
        'inherited' if (src / 'supernet.pt').is_file() else 'not saved there: retrain from scratch'
    )
    log(f'reused the search in {src} (width {cfg.width}; supernet weights {weights})')
    return SearchResult(arch, derive(net), net, [], downgrades, 0.0), table


def run_search(
    cfg: SearchConfig, req: SearchRequest, log: Log, progress: Progress | None = None
) -> dict[str, Any]:
    """Return the whole run; returns the summary also stored in the card's `search` field."""
    t_start = time.monotonic()
    req.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.num_threads))
    w_pairs, a_pairs, val = load_data(cfg, log)
    if req.from_search is not None:
        res, table = reuse_search(Path(req.from_search), cfg, req, log)
    else:
        choose_width(cfg, req, log)
        table = get_table(cfg, req, log, progress)
        res = search(cfg, w_pairs, a_pairs, table, req.budget_ms, progress)
        torch.save(res.supernet.state_dict(), req.out / 'supernet.pt')
    table.save(req.out / 'latency_table.json')
    log(
        f'search: {len(res.history)} steps in {res.seconds:.0f} s; arg-max: '
        f'{res.argmax_arch.describe()}'
    )
    for line in res.downgrades:
        log(f'  budget: {line}')
    predicted = predict_ms(res.arch, table)
    log(
        f'derived: {res.arch.describe()}; predicted {predicted:.2f} ms (target '
        f'{cfg.budget_margin * req.budget_ms:.2f})'
    )
    t0 = time.monotonic()
    net, history = retrain(res.arch, res.supernet, w_pairs + a_pairs, cfg, progress)
    log(
        f'retrain: {len(history)} steps in {time.monotonic() - t0:.0f} s, final loss '
        f'{history[-1]["loss"] if history else float("nan"):.4f}'
    )
    fields = {
        'training': {
            'recipe': 'hafnas search + retrain',
            'config': cfg.to_dict(),
            'git_commit': git_commit(),
        }
    }
    onnx_path, card_path, fields = export_searched(
        net, req.out, card_fields=fields, output_stretch=cfg.output_stretch
    )
    verify = verify_latency(req.out, res.arch, req.size, req.backend, req.threads, cfg.repeats)
    log(
        'verify (table and net re-timed in the same rounds): predicted '
        f'{verify["predicted_ms"]:.2f} ms, '
        f'measured {verify["measured_ms"]:.2f} ms ({100 * verify["error"]:+.0f}%)'
    )
    comparison = compare(req, cfg, onnx_path, val, log)
    summary = _summary(req, cfg, res, table, predicted, comparison)
    summary['predicted_terms'] = [[k, round(v, 4)] for k, v in predict_terms(res.arch, table)]
    summary['verify'] = {k: verify[k] for k in ('predicted_ms', 'measured_ms', 'error')}
    summary['seconds'] = round(time.monotonic() - t_start, 1)
    fields['search'] = summary  # kept as a top-level card key (the card's `extra`)
    fields['metrics'] = {'validation': comparison['means'].get('searched', {})}
    write_card(card_path, fields)
    points = {
        k: (v['inference_min_ms'], comparison['average_rank'][k])
        for k, v in comparison['latency'].items()
    }
    pareto_plot(
        points,
        req.budget_ms,
        req.out / 'pareto.png',
        f'HAF-NAS search, budget {req.budget_ms:g} ms, {req.size[1]}x{req.size[0]}, '
        f'{table.device.get("cpu", "")}',
        highlight=['searched'],
    )
    (req.out / 'search_log.json').write_text(
        json.dumps(
            {
                'summary': summary,
                'search_history': res.history,
                'retrain_history': history,
                'probabilities': res.probabilities(),
                'comparison': comparison,
            },
            indent=1,
            default=str,
        )
        + '\n'
    )
    log(
        f'predicted {predicted:.2f} ms, measured {summary["measured"]["inference_min_ms"]:.2f} ms '
        '(min of '
        f'{cfg.repeats}; error {100 * summary["prediction_error"]:+.0f}%); total '
        f'{summary["seconds"]:.0f} s'
    )
    return summary
