"""What every result file shares: the environment it was measured in, the ``kind``/``schema`` tag
the report dispatches on, the bench scripts' ``write_result``, and the papers' numbers (``papers``).

A result producer writes ``tagged(kind, result)`` as its JSON: ``{"kind": ..., "schema": N, ...}``.
The kinds are ``KINDS``; ``kind_of`` also recognises files written before the tag existed.
"""

from __future__ import annotations

import functools
import json
import platform
import time
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from .util import atomic_path

SCHEMA = 1
KINDS = ("reproduce", "bench", "scaling", "compression-table", "stability", "uniformity", "positions", "learn-ac")
ANALYSIS_FILES = {"stability.json": "stability", "uniformity.json": "uniformity", "positions.json": "positions",
                  "learn_ac.json": "learn-ac"}  # analysis results, by file name


def tagged(kind: str, result: dict, schema: int = SCHEMA) -> dict:
    """``result`` with its kind and schema version first (what a producer writes as JSON)."""
    if kind not in KINDS:
        raise ValueError(f"unknown result kind {kind!r}; one of {', '.join(KINDS)}")
    return {"kind": kind, "schema": schema, **{k: v for k, v in result.items() if k not in ("kind", "schema")}}


def kind_of(path: Path, result: Any) -> str | None:
    """The kind of a result file: its tag, or for an untagged file (written before the tag) what its
    name and keys show; None for a file nct did not write."""
    if isinstance(result, dict) and result.get("kind") in KINDS:
        return result["kind"]
    if path.name in ANALYSIS_FILES:
        return ANALYSIS_FILES[path.name]
    if not isinstance(result, dict):
        return None
    for key, kind in (("runs", "reproduce"), ("rate_block", "scaling"), ("chunk", "bench")):
        if key in result:
            return kind
    return None


@functools.lru_cache(maxsize=1)
def papers() -> dict:
    """The papers' numbers (``report_data/papers.json``; methods by ``MethodSpec`` short name)."""
    return json.loads(resources.files("nct").joinpath("report_data/papers.json").read_text())


def environment() -> dict:
    """Machine and software the figures were measured on."""
    import nct

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "nct": nct.__version__,
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "vector_extensions": _vector_extensions(),
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _cpuinfo(field: str) -> str | None:
    """The first value of ``field`` in /proc/cpuinfo (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_name() -> str:
    """CPU model name from /proc/cpuinfo, or the platform's answer."""
    return _cpuinfo("model name") or platform.processor()


def _vector_extensions() -> str:
    """The x86 vector extensions that decide kernel speed (AVX2, AVX-512, its BF16 and VNNI, AMX), or "" elsewhere."""
    flags = set((_cpuinfo("flags") or "").split())
    return " ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags)


def write_result(name: str, result: dict, directory: str | Path = "bench/results", quiet: bool = False) -> None:
    """Print a benchmark script's result (unless ``quiet``) and save it as ``directory/name.json``
    (the bench scripts run from the repository root)."""
    text = json.dumps(result, indent=2)
    if not quiet:
        print(text)
    out = Path(directory) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:  # an interrupted run leaves the last whole file (bench/llm_engine.py resumes from it)
        tmp.write_text(text)
