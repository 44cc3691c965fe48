"""The M1 models shipped inside nct, by name: ``default`` and ``tiny`` (the first 600k M1, kept so
that its archives still decode). Each lives in ``nct/models/NAME/`` as ``m1.safetensors`` beside a
``manifest.json`` saying how it was trained and what it measured."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..util import markdown_table

ROOT = Path(__file__).parent
NAMES = ("default", "tiny")


@dataclass(frozen=True)
class ShippedModel:
    """One shipped M1: its name, file and manifest."""

    name: str
    path: Path
    manifest: dict

    @property
    def fingerprint(self) -> str:
        """The engine's fingerprint, as its manifest records it."""
        return self.manifest.get("fingerprint", "")


def shipped_path(name: str) -> Path | None:
    """The model file of the shipped model ``name``, or None if there is none by that name."""
    return ROOT / name / "m1.safetensors" if name in NAMES else None


def shipped_models() -> list[ShippedModel]:
    """Every shipped model, default first."""
    out = []
    for name in NAMES:
        path = ROOT / name / "m1.safetensors"
        if path.is_file():
            manifest_file = path.with_name("manifest.json")
            manifest = json.loads(manifest_file.read_text()) if manifest_file.is_file() else {}
            out.append(ShippedModel(name, path, manifest))
    return out


def name_of(fingerprint: str | None) -> str | None:
    """The name of the shipped model with this fingerprint, if one has it."""
    return next((m.name for m in shipped_models() if fingerprint and m.fingerprint == fingerprint), None)


def models_table() -> str:
    """A markdown table of the shipped models and their manifests' measured figures."""
    rows = []
    for m in shipped_models():
        f, cfg = m.manifest, _config(m.path)
        measured = f.get("measured", {})
        span = cfg.get("window") or cfg.get("context")
        rows.append([
            m.name,
            f"{f.get('params', 0):,}",
            f"d{cfg.get('d_model', '?')} x {cfg.get('n_layers', '?')} layers, {span}-byte span",
            m.fingerprint[:12],
            f.get("corpus", "?"),
            _figure(f.get("val_bpb_engine")),
            _figure(measured.get("unseen_cm_bits_per_byte")),
            _figure(measured.get("unseen_cm_compress_kbps"), 1) + " / " + _figure(measured.get("unseen_cm_decompress_kbps"), 1),
        ])
    head = ["name", "params", "shape", "fingerprint", "training corpus", "validation bits/byte (own split)",
            "unseen suite bits/byte (cm)", "cm KB/s compress / decompress (unseen)"]
    return markdown_table(head, rows)


def _config(path: Path) -> dict:
    """The model's shape, from the model file's metadata (no tensors are read)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return json.loads((f.metadata() or {}).get("config", "{}"))


def _figure(x: float | None, digits: int = 3) -> str:
    """A measured figure, or '-' where the manifest has none."""
    return "-" if x is None else f"{x:.{digits}f}"
