# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""HAF-NAS at our scale: a searchable fusion network (supernet) and its derived discrete net.

Liu et al., "Searching a Hierarchically Aggregated Fusion Architecture for Fast Multi-Modality
Image Fusion", ACM MM 2021 (HAF-NAS). The paper searches the cells of a feature-level fusion
module (successive, decomposition and multi-scale cells at 1x, 0.5x, 0.25x) and an object-level
module (a target branch towards infrared and a detail branch towards visible, aggregated by a
spatial-attention mask), with a differentiable, hardware-latency-aware bilevel search.

Our version, sized for 640x512 on a 2-core CPU (choices not fixed by the paper are ours):

- **Input/output**: [N, 2, H, W] (infrared, visible luminance) -> [N, 1, H, W] "fused" in [0, 1];
  H and W must be multiples of `2 ** max(scales)` (8 by default; the runtime pads).
- **Stem**: conv 3x3 stride 2 + BN + ReLU on the stacked sources (2 -> `width`): every searched
  cell runs at half resolution or below, as MobileFuse does, because at full resolution on this CPU
  memory traffic alone costs milliseconds per feature map.
- **Feature-fusion part**: one cell per scale (default 1/2, 1/4, 1/8 of the input; 2x2 average
  pooling between them), each cell a small DAG with three searched edges:
  n1 = e1(h), n2 = e2(h) + e3(n1), out = h + n2 (residual: an all-`zero` cell is the identity, so
  the search can switch a whole scale off).
- **Aggregation across cells** (the "hierarchical aggregation"): top-down, the coarsest cell's
  output is upsampled (nearest, x2) and added to the next finer cell's, down to 1/2 resolution
  (one x2 upsample and add per level: cheaper than upsampling every cell to 1/2).
- **Output-fusion part**: `out_cells` searched cells at 1/2 resolution on the aggregate, then the
  spatial-attention head of the object-level module: conv 1x1 -> sigmoid gives a mask M, upsampled
  bilinearly to full resolution, and fused = M * infrared + (1 - M) * visible. The target branch
  (infrared) and the detail branch (visible) are the sources themselves: a blend cannot
  hallucinate content and keeps every full-resolution pixel (MobileFuse's finding). `head:
  weights` instead gives two free per-pixel weights, fused = A * infrared + B * visible (A, B in
  (0, 2)): it can add the sources the way MMDRFuse's student does (validation: see
  docs/SEARCH.md).
- **Candidate operators per edge** (`OPS`): conv 3x3, dilated conv 3x3 (dilation 2), depthwise-
  separable 3x3 and 5x5, group conv 3x3 + channel shuffle (AE-Netv2's GCB, 2 channels per group),
  skip (identity) and zero (edge removed). AE-Netv2's middle-block variants "conv", "dsconv" and
  "gcb" are members: one cell with e1 = that block and the other edges zero.

`SuperNet` mixes the candidates of every edge with softmax weights over architecture parameters
(`alphas`, DARTS' continuous relaxation); `derive` takes the arg-max computing operator per edge;
`DerivedNet(space, arch)` is the discrete network that is retrained and exported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvBNReLU, GroupConvShuffle, split_sources

OPS: tuple[str, ...] = ('conv3', 'dil3', 'sep3', 'sep5', 'gcb', 'skip', 'zero')
EDGES: tuple[str, ...] = ('e1', 'e2', 'e3')  # per cell: h->n1, h->n2, n1->n2
FREE_OPS = ('skip', 'zero')  # no computation of their own (the latency table gives them 0 ms)
# object-level aggregation (the head classes below)
HEADS: tuple[str, ...] = ('blend', 'weights', 'weights_nearest')


@dataclass(frozen=True)
class SearchSpace:
    """The shape of the search space: width, cell scales, output cells, candidate operators."""

    width: int = 12
    scales: tuple[int, ...] = (1, 2, 3)  # feature-fusion cell k runs at 1 / 2**scales[k]
    out_cells: int = 1
    ops: tuple[str, ...] = OPS
    head: str = 'blend'

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f'unknown HAF-NAS head {self.head!r}; choose from {HEADS}')
        unknown = set(self.ops) - set(OPS)
        if unknown:
            raise ValueError(f'unknown HAF-NAS operators {sorted(unknown)}; choose from {OPS}')
        if self.width < 2 or self.width % 2:
            raise ValueError(
                'width must be an even number >= 2 (the GCB uses 2 channels per group), got '
                f'{self.width}'
            )
        if (
            not self.scales
            or self.scales[0] != 1
            or list(self.scales) != list(range(1, len(self.scales) + 1))
        ):
            raise ValueError(
                'scales must be 1, 2, ... (one cell per halving after the stem), got '
                f'{self.scales}'
            )

    @property
    def size_multiple(self) -> int:
        return 2 ** max(self.scales)

    def cells(self) -> list[tuple[str, int]]:
        """(cell name, scale) for every searched cell, feature-fusion first."""
        return [(f'ff{k}', s) for k, s in enumerate(self.scales)] + [
            (f'of{k}', 1) for k in range(self.out_cells)
        ]

    def edges(self) -> list[tuple[str, int]]:
        """(edge key "cell.eN", scale) for every searched edge, in a fixed order."""
        return [(f'{cell}.{e}', s) for cell, s in self.cells() for e in EDGES]

    def to_dict(self) -> dict:
        return {**asdict(self), 'scales': list(self.scales), 'ops': list(self.ops)}

    @classmethod
    def from_dict(cls, data: Mapping) -> 'SearchSpace':
        return cls(
            width=int(data['width']),
            scales=tuple(data['scales']),
            out_cells=int(data['out_cells']),
            ops=tuple(data['ops']),
            head=str(data.get('head', 'blend')),  # searches before the head was a choice
        )


# --- candidate operators ---------------------------------------------------------------------


class DilatedConv(nn.Sequential):
    """3x3 convolution with dilation 2 (5x5 receptive field at 3x3 cost) + BN + ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, 3, padding=2, dilation=2, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )


class SepConv(nn.Sequential):
    """Depthwise kxk + BN + ReLU, pointwise 1x1 + BN + ReLU.

    MobileNet unit with a chosen kernel.
    """

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(
                channels, channels, kernel, padding=kernel // 2, groups=channels, bias=False
            ),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )


def make_op(name: str, channels: int) -> nn.Module | None:
    """One candidate operator (channels -> channels, same size); None for `zero` (edge removed)."""
    builders: dict[str, Callable[[], nn.Module | None]] = {
        'conv3': lambda: ConvBNReLU(channels, channels, 3),
        'dil3': lambda: DilatedConv(channels),
        'sep3': lambda: SepConv(channels, 3),
        'sep5': lambda: SepConv(channels, 5),
        'gcb': lambda: GroupConvShuffle(channels, channels // 2),
        'skip': nn.Identity,
        'zero': lambda: None,
    }
    if name not in builders:
        raise ValueError(f'unknown HAF-NAS operator {name!r}; choose from {OPS}')
    return builders[name]()


class MixedOp(nn.Module):
    """Every candidate on one edge, mixed with the weights it is given (softmax of its alphas)."""

    def __init__(self, ops: tuple[str, ...], channels: int) -> None:
        super().__init__()
        self.names = list(ops)
        self.ops = nn.ModuleDict({n: m for n in ops if (m := make_op(n, channels)) is not None})

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = 0.0
        for i, name in enumerate(self.names):
            if name in self.ops:  # zero adds nothing; its weight only shrinks the others
                out = out + weights[i] * self.ops[name](x)
        return out if isinstance(out, torch.Tensor) else torch.zeros_like(x)


class SearchCell(nn.Module):
    """n1 = e1(h); n2 = e2(h) + e3(n1); out = h + n2, every edge a MixedOp."""

    def __init__(self, ops: tuple[str, ...], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({e: MixedOp(ops, channels) for e in EDGES})

    def forward(self, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        n1 = self.edges['e1'](h, weights[0])
        return h + self.edges['e2'](h, weights[1]) + self.edges['e3'](n1, weights[2])


class DerivedCell(nn.Module):
    """The same DAG with one operator per edge; zero edges are absent.

    The n1 path e1 -> e3 exists only when neither is zero: `Architecture` normalises that.
    """

    def __init__(self, choice: Mapping[str, str], channels: int) -> None:
        super().__init__()
        self.choice = dict(choice)
        built = {e: make_op(self.choice[e], channels) for e in EDGES}
        self.edges = nn.ModuleDict({e: m for e, m in built.items() if m is not None})

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        parts = []
        if 'e2' in self.edges:
            parts.append(self.edges['e2'](h))
        if 'e3' in self.edges:
            parts.append(self.edges['e3'](self.edges['e1'](h)))
        out = h
        for p in parts:
            out = out + p
        return out


class BlendHead(nn.Module):
    """Object-level aggregation.

    A spatial-attention mask (1x1 conv + sigmoid at 1/2 resolution, upsampled bilinearly) blends
    the target branch (infrared) and the detail branch (visible).

    The mask logits are sliced (a no-op on the values) right after the 1x1 conv: without it ONNX
    Runtime's NCHWc layout pass keeps the one-channel mask in blocks of 8-16 channels and runs the
    sigmoid and the full-resolution resize on the padding too (measured at 640x512 on 2 cores:
    16 ms instead of 7 ms for the bare skeleton); the Slice makes it reorder one channel at 1/2
    resolution instead.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mask = nn.Conv2d(channels, 1, 1)

    def forward(self, feat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ir, vis = split_sources(x)
        logits = self.mask(feat)[:, 0:1]
        m = F.interpolate(
            torch.sigmoid(logits), size=x.shape[-2:], mode='bilinear', align_corners=False
        )
        return vis + m * (ir - vis)


class WeightedSumHead(nn.Module):
    """Two per-pixel weights instead of one mask: fused = A * ir + B * vis, A, B in (0, 2).

    A blend (A + B = 1) keeps every pixel between its sources, so it cannot add the two the way
    MMDRFuse's student does (its output is a sum of ReLU features of both sources); with free
    weights it can, and the min-max output stretch maps the sum back to the 8-bit range. Costs one
    more channel through the full-resolution resize than the blend; its bias starts at the pixel
    mean (A = B = 0.5).
    """

    upsample = 'bilinear'

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mask = nn.Conv2d(channels, 2, 1)
        with torch.no_grad():
            self.mask.bias.fill_(-1.0986)  # 2 * sigmoid(-1.0986) = 0.5

    def forward(self, feat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ir, vis = split_sources(x)
        weights = F.interpolate(
            2.0 * torch.sigmoid(self.mask(feat)[:, 0:2]),  # the Slice: see BlendHead
            size=x.shape[-2:],
            mode=self.upsample,
            align_corners=False if self.upsample == 'bilinear' else None,
        )
        return weights[:, 0:1] * ir + weights[:, 1:2] * vis


class NearestWeightedSumHead(WeightedSumHead):
    """`WeightedSumHead` with the weights upsampled by pixel repetition instead of bilinearly.

    For the tightest budgets: ONNX Runtime's bilinear Resize of the two weight planes to 640x512
    is most of the bare skeleton's cost (2.7 of 4.7 ms, one thread, measured 2026-12-07);
    nearest costs about a third of it, at the price of 2x2 steps in the weights.
    """

    upsample = 'nearest'


HEAD_CLASSES: dict[str, type[nn.Module]] = {
    'blend': BlendHead,
    'weights': WeightedSumHead,
    'weights_nearest': NearestWeightedSumHead,
}


class _Skeleton(nn.Module):
    """Stem, multi-scale feature-fusion cells, aggregation, output-fusion cells, blend head."""

    def __init__(self, space: SearchSpace, make_cell: Callable[[str], nn.Module]) -> None:
        super().__init__()
        self.space = space
        self.stem = ConvBNReLU(2, space.width, stride=2)
        self.cells = nn.ModuleDict({name: make_cell(name) for name, _ in space.cells()})
        self.head = HEAD_CLASSES[space.head](space.width)

    def run_cell(self, name: str, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        outs = []
        for k in range(len(self.space.scales)):
            if k:
                h = F.avg_pool2d(h, 2)
            h = self.run_cell(f'ff{k}', h)
            outs.append(h)
        agg = outs[-1]
        for feat in reversed(
            outs[:-1]
        ):  # top-down: each coarser aggregate joins the next finer cell
            agg = feat + F.interpolate(agg, scale_factor=2.0, mode='nearest')
        for k in range(self.space.out_cells):
            agg = self.run_cell(f'of{k}', agg)
        return self.head(agg, x)


class SuperNet(_Skeleton):
    """Every edge mixes all candidates; `alphas` [edges, ops] are the architecture parameters."""

    def __init__(self, space: SearchSpace | None = None) -> None:
        space = space or SearchSpace()
        super().__init__(space, lambda name: SearchCell(space.ops, space.width))
        self.alphas = nn.Parameter(1e-3 * torch.randn(len(space.edges()), len(space.ops)))
        self._cell_rows = {name: 3 * i for i, (name, _) in enumerate(space.cells())}

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n != 'alphas']

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas]

    def probabilities(self) -> torch.Tensor:
        return F.softmax(self.alphas, dim=-1)

    def run_cell(self, name: str, h: torch.Tensor) -> torch.Tensor:
        row = self._cell_rows[name]
        return self.cells[name](h, self.probabilities()[row: row + 3])


@dataclass
class Architecture:
    """A discrete architecture: the search space and one operator per edge ("ff0.e1" -> "sep3")."""

    space: SearchSpace
    choice: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = [k for k, _ in self.space.edges()]
        missing = set(keys) - set(self.choice)
        if missing:
            raise ValueError(f'architecture has no operator for edges {sorted(missing)}')
        bad = {k: v for k, v in self.choice.items() if v not in self.space.ops}
        if bad:
            raise ValueError(f'operators outside the search space: {bad}')
        for (
            cell,
            _,
        ) in self.space.cells():  # e1 feeds only e3: the n1 path exists with both or neither
            if 'zero' in (self.choice[f'{cell}.e1'], self.choice[f'{cell}.e3']):
                self.choice[f'{cell}.e1'] = self.choice[f'{cell}.e3'] = 'zero'

    def cell_choice(self, cell: str) -> dict[str, str]:
        return {e: self.choice[f'{cell}.{e}'] for e in EDGES}

    def to_dict(self) -> dict:
        return {'space': self.space.to_dict(), 'choice': dict(self.choice)}

    @classmethod
    def from_dict(cls, data: Mapping) -> 'Architecture':
        return cls(SearchSpace.from_dict(data['space']), dict(data['choice']))

    def describe(self) -> str:
        return '; '.join(
            f'{cell}: ' + ', '.join(f'{e}={self.choice[f"{cell}.{e}"]}' for e in EDGES)
            for cell, _ in self.space.cells()
        )


def derive_from(
    space: SearchSpace, alphas: torch.Tensor, allow_free: bool = False
) -> Architecture:
    """Arg-max operator per edge from architecture weights [edges, ops].

    The parameter-free `zero` and `skip` are not candidates of the arg-max by default (DARTS
    excludes zero; P-DARTS limits skip): measured in our first default searches (budgets 5, 8, 15
    ms), they took the arg-max of every edge at every budget (DARTS' known collapse: the residual
    cells make a free edge nearly free for the fusion loss, and the latency penalty rewards it).
    Edges are made free for latency by the budget fit afterwards
    (`fusion_ros.nas.bilevel.fit_budget`).
    """
    a = alphas.detach().clone()
    computing = [i for i, o in enumerate(space.ops) if o not in FREE_OPS]
    if not allow_free and computing:
        for i, o in enumerate(space.ops):
            if o in FREE_OPS:
                a[:, i] = -float('inf')
    best = a.argmax(dim=-1).tolist()
    return Architecture(space, {k: space.ops[i] for (k, _), i in zip(space.edges(), best)})


def derive(supernet: SuperNet, allow_free: bool = False) -> Architecture:
    """Arg-max operator per edge of a supernet (see `derive_from`)."""
    return derive_from(supernet.space, supernet.alphas, allow_free)


class DerivedNet(_Skeleton):
    """The discrete network of an Architecture (what is retrained and exported)."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__(
            arch.space, lambda name: DerivedCell(arch.cell_choice(name), arch.space.width)
        )
        self.arch = arch

    def run_cell(self, name: str, h: torch.Tensor) -> torch.Tensor:
        return self.cells[name](h)


def inherit_weights(derived: DerivedNet, supernet: SuperNet) -> int:
    """Copy the supernet's weights of the chosen operators (and stem/head) into `derived`.

    Returns the number of tensors copied; a short retrain then starts from the searched weights.
    """
    source = supernet.state_dict()
    target = derived.state_dict()
    copied = 0
    for key in target:
        parts = key.split('.')
        if (
            parts[0] == 'cells'
        ):  # cells.<cell>.edges.<e>.<rest> <- cells.<cell>.edges.<e>.ops.<op>.<rest>
            op = derived.cells[parts[1]].choice[parts[3]]
            src = '.'.join(parts[:4] + ['ops', op] + parts[4:])
        else:
            src = key
        if src in source and source[src].shape == target[key].shape:
            target[key] = source[src].clone()
            copied += 1
    derived.load_state_dict(target)
    return copied


def uniform_architecture(space: SearchSpace, op: str) -> Architecture:
    """Every edge the same operator.

    e.g. "zero" for the bare skeleton the latency table measures.
    """
    return Architecture(space, {k: op for k, _ in space.edges()})


def aenetv2_like(space: SearchSpace, middle: str = 'gcb') -> Architecture:
    """AE-Netv2's replaceable block as a member of the space.

    e1 of the first cell = "conv", "dsconv" (sep3) or "gcb", every other edge zero.
    """
    op = {'conv': 'conv3', 'dsconv': 'sep3', 'gcb': 'gcb'}[middle]
    choice = uniform_architecture(space, 'zero').choice
    choice.update({'ff0.e1': op, 'ff0.e3': 'skip'})  # n2 = n1: the block's output goes on
    return Architecture(space, choice)


def hafnas_supernet(width: int = 12) -> SuperNet:
    """Builder: the default search space's supernet."""
    return SuperNet(SearchSpace(width=width))


def hafnas_derived(arch: Architecture) -> DerivedNet:
    """Builder: the discrete network of a searched architecture."""
    return DerivedNet(arch)
