# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Model cards: the JSON file next to every shipped ONNX model (`NAME.onnx` + `NAME.json`).

A card says what the network is, how it was trained and evaluated, and what the runtime needs to
run it: input/output tensor names, the channel order of the input, the value ranges and the size
multiple that H and W must respect. `onnx_sha256` ties the card to one exact ONNX file: the runtime
refuses to load a model whose file does not hash to it (a stale or corrupt export).

Example::

    {
      "name": "mmdrfuse", "architecture": "MMDRFuse student (113 parameters)", "version": "1.0.0",
      "onnx": "mmdrfuse.onnx",
      "input": {"name": "input", "channels": ["ir", "vis_y"], "range": [0, 1]},
      "output": {"name": "fused", "range": [0, 1], "stretch": "none"},
      "size_multiple": 1, "parameters": 113,
      "training": {"recipe": "...", "data": "...", "config": {...}},
      "metrics": {"tno": {"SD": 40.1}},
      "onnx_sha256": "3f5c..."
    }

Keys the runtime does not know are kept in `extra` and written back by `to_json()`. An optional
`runtime` dict may carry ONNX Runtime hints, e.g. `{"disabled_optimizers": ["NchwcTransformer"]}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from .errors import ModelLoadError

INPUT_CHANNELS = ('ir', 'vis_y')
# How the fused plane becomes 8-bit: 'none' = x255 as it comes out; 'minmax' = the plane's own
# min..max stretched to 0..255 (MMDRFuse's released test script saves its output that way: scipy's
# imsave byte-scales each float image). The runtime option output_stretch overrides it.
OUTPUT_STRETCHES = ('none', 'minmax')
CARD_KEYS = (
    'name',
    'architecture',
    'version',
    'onnx',
    'input',
    'output',
    'size_multiple',
    'parameters',
    'training',
    'metrics',
    'onnx_sha256',
    'runtime',
)


def _default_input() -> dict[str, Any]:
    return {'name': 'input', 'channels': list(INPUT_CHANNELS), 'range': [0.0, 1.0]}


def _default_output() -> dict[str, Any]:
    return {'name': 'fused', 'range': [0.0, 1.0]}


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file (streamed)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ModelCard:
    """What the runtime (and a human) needs to know about one exported model."""

    name: str
    architecture: str = ''
    version: str = '0'
    onnx: str = ''
    input: dict[str, Any] = field(default_factory=_default_input)  # noqa: A003 - card JSON key
    output: dict[str, Any] = field(default_factory=_default_output)
    size_multiple: int = 1
    parameters: int = 0
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    onnx_sha256: str = ''
    runtime: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.onnx and self.name:
            self.onnx = f'{self.name}.onnx'

    # -------------------------------------------------------------- derived, used by the runtime
    @property
    def input_name(self) -> str:
        return str(self.input.get('name', 'input'))

    @property
    def output_name(self) -> str:
        return str(self.output.get('name', 'fused'))

    @property
    def output_stretch(self) -> str:
        """The model's own output convention, ``output.stretch`` (see OUTPUT_STRETCHES)."""
        return str(self.output.get('stretch', 'none'))

    @property
    def ir_channel(self) -> int:
        """Index of the infrared plane in the input tensor (0 by the project convention)."""
        return list(self.input.get('channels', INPUT_CHANNELS)).index('ir')

    @property
    def vis_channel(self) -> int:
        return list(self.input.get('channels', INPUT_CHANNELS)).index('vis_y')

    # ------------------------------------------------------------------ validation
    def validate(self, source: str | Path | None = None) -> 'ModelCard':
        """Check every field the runtime relies on.

        Raise ModelLoadError naming `source` and the field.
        """
        where = f'model card {source}' if source else f'model card {self.name!r}'

        def bad(msg: str) -> ModelLoadError:
            return ModelLoadError(f'{where}: {msg}')

        if not isinstance(self.name, str) or not self.name:
            raise bad("'name' must be a non-empty string")
        if not isinstance(self.onnx, str) or not self.onnx.endswith('.onnx'):
            raise bad(f"'onnx' must be the ONNX file name (NAME.onnx), got {self.onnx!r}")
        if not isinstance(self.version, str):
            raise bad(f"'version' must be a string, got {self.version!r}")
        for key in ('input', 'output', 'training', 'metrics', 'runtime'):
            if not isinstance(getattr(self, key), dict):
                raise bad(f'{key!r} must be an object, got {getattr(self, key)!r}')
        for key in ('input', 'output'):
            spec = getattr(self, key)
            if not isinstance(spec.get('name'), str) or not spec.get('name'):
                raise bad(f"'{key}.name' must be the ONNX tensor name, got {spec.get('name')!r}")
            rng = spec.get('range', [0, 1])
            if (
                not isinstance(rng, (list, tuple))
                or len(rng) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rng)
                or not math.isclose(rng[0], 0.0)
                or not math.isclose(rng[1], 1.0)
            ):
                raise bad(
                    f"'{key}.range' must be [0, 1] (the only range this runtime speaks), got "
                    f'{rng!r}'
                )
        if self.output.get('stretch', 'none') not in OUTPUT_STRETCHES:
            raise bad(
                f"'output.stretch' must be one of {list(OUTPUT_STRETCHES)}, got "
                f'{self.output.get("stretch")!r}'
            )
        channels = self.input.get('channels', list(INPUT_CHANNELS))
        if not isinstance(channels, (list, tuple)) or sorted(channels) != sorted(INPUT_CHANNELS):
            raise bad(
                f"'input.channels' must name the two planes {list(INPUT_CHANNELS)} (any order), "
                f'got {channels!r}'
            )
        if (
            isinstance(self.size_multiple, bool)
            or not isinstance(self.size_multiple, int)
            or not 1 <= self.size_multiple <= 1024
        ):
            raise bad(f"'size_multiple' must be an integer in 1..1024, got {self.size_multiple!r}")
        if (
            isinstance(self.parameters, bool)
            or not isinstance(self.parameters, int)
            or self.parameters < 0
        ):
            raise bad(f"'parameters' must be a non-negative integer, got {self.parameters!r}")
        sha = self.onnx_sha256
        if not isinstance(sha, str) or (
            sha and (len(sha) != 64 or any(c not in '0123456789abcdef' for c in sha.lower()))
        ):
            raise bad(f"'onnx_sha256' must be 64 hex digits (or empty), got {sha!r}")
        disabled = self.runtime.get('disabled_optimizers', [])
        if not isinstance(disabled, list) or not all(isinstance(s, str) for s in disabled):
            raise bad(f"'runtime.disabled_optimizers' must be a list of strings, got {disabled!r}")
        return self

    def verify_onnx(self, onnx_path: str | Path) -> None:
        """Raise ModelLoadError if `onnx_path` does not hash to `onnx_sha256`.

        No-op when the card has none.
        """
        if not self.onnx_sha256:
            return
        actual = sha256_file(onnx_path)
        if actual != self.onnx_sha256.lower():
            raise ModelLoadError(
                f"{onnx_path}: SHA-256 {actual[:12]}... does not match the model card's "
                'onnx_sha256 '
                f'{self.onnx_sha256[:12]}... (the ONNX file was replaced or corrupted, or the '
                'card is stale; '
                f're-export the model or update the card)'
            )

    def with_onnx(self, onnx_path: str | Path) -> 'ModelCard':
        """Point the card at an ONNX file.

        Set `onnx` to its file name and `onnx_sha256` to its hash.
        """
        path = Path(onnx_path)
        self.onnx = path.name
        self.onnx_sha256 = sha256_file(path)
        return self

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            if f.name == 'extra':
                continue
            value = getattr(self, f.name)
            if f.name == 'runtime' and not value:
                continue
            d[f.name] = value
        d.update({k: v for k, v in self.extra.items() if k not in d})
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, allow_nan=False) + '\n'

    def save(self, path: str | Path) -> Path:
        """Validate and write the card (atomically: temp file + rename)."""
        self.validate(path)
        path = Path(path)
        tmp = path.with_name(path.name + '.tmp')
        tmp.write_text(self.to_json(), encoding='utf-8')
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | Path | None = None) -> 'ModelCard':
        where = f'model card {source}' if source else 'model card'
        if not isinstance(data, dict):
            raise ModelLoadError(f'{where}: expected a JSON object, got {type(data).__name__}')
        if 'name' not in data:
            raise ModelLoadError(f"{where}: missing required key 'name'")
        known = {k: data[k] for k in CARD_KEYS if k in data}
        extra = {k: v for k, v in data.items() if k not in CARD_KEYS}
        try:
            card = cls(**known, extra=extra)
        except TypeError as exc:  # pragma: no cover - all keys are keyword fields
            raise ModelLoadError(f'{where}: {exc}') from None
        return card.validate(source)


def load_model_card(path: str | Path) -> ModelCard:
    """Read and validate `NAME.json`; ModelLoadError (naming the file) if missing or invalid."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(
            f'model card not found: {path} (every NAME.onnx needs a NAME.json card beside it)'
        )
    try:
        data = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f'model card {path} is not valid JSON: {exc}') from None
    return ModelCard.from_dict(data, source=path)
