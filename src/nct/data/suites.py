"""The benchmark suites the project owns: real files shipped xz-compressed with a manifest.

``unseen`` (what users compress: books, verse and drama, technical prose, markup, code, a log,
CSV/JSON, French/Spanish/Japanese) and ``structured`` (logs, JSON/CSV, code, repetitive markup)
are for evaluation only; ``dev`` (Japanese and French man pages and a JSON file from other
packages than theirs) is what models and their constants are designed and tuned on. Each manifest
entry names the registry package, version and path its bytes were cut from
(``bench/build_suites.py`` rebuilds them). None is trained on: ``evaluation_sources()`` lists
them all, so a corpus builder can exclude those packages and works.
"""

from __future__ import annotations

import hashlib
import json
import lzma
from importlib import resources

SUITES = ("unseen", "structured", "dev")


def _dir(name: str):
    """The package resource directory of suite ``name``."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; available: {', '.join(SUITES)}")
    return resources.files("nct.data") / "suites" / name


def suite_manifest(name: str) -> list[dict]:
    """The manifest of suite ``name``: one entry per file (name, file, kind, bytes, sha256, source, license)."""
    return json.loads((_dir(name) / "manifest.json").read_text(encoding="utf-8"))


def load_suite(name: str) -> dict[str, bytes]:
    """Suite ``name``'s files as raw bytes, name -> data, each checked against its manifest's sha256."""
    out = {}
    for entry in suite_manifest(name):
        data = lzma.decompress((_dir(name) / entry["file"]).read_bytes())
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"suite {name}: {entry['name']} does not match its manifest (damaged install?)")
        out[entry["name"]] = data
    return out


def evaluation_sources() -> list[dict]:
    """Every suite file's origin (suite, name, registry, package, version, path): never to be trained on."""
    return [
        {"suite": s, "name": e["name"], **{k: e["source"][k] for k in ("registry", "package", "version", "path")}}
        for s in SUITES
        for e in suite_manifest(s)
    ]
