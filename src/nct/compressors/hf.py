"""A locally stored Hugging Face causal LM as the predictor of arithmetic coding (LMIC's setting).

Method: the bytes become text (UTF-8 when they are valid UTF-8, else Latin-1: one character per
byte), the model's tokenizer turns the text into token ids, and the ids are arithmetic-coded under
the model's next-token distributions, each quantized to an integer CDF (every token's frequency
≥ 1). Decoding recovers the ids, detokenizes and maps the text back to bytes. Compression checks
that the tokenizer reproduces the text exactly and refuses otherwise.

Exactness: a float model's probabilities depend on how they are computed, so encoder and decoder
use one code path, one token at a time from the start token with the model's cache, batch 1 (when
the model's context is full, from the start token again). The
same model files, software and machine then give identical CDFs; across machines they may not
(unlike M1's exact engine). Payload: text mode byte, varint token count, packed coder bits.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..coding.arithmetic import DEFAULT_PRECISION, Decoder, pack_bits, unpack_bits
from ..coding.symbols import encode_intervals, find_symbol, interval
from ..coding.varint import read_varint, write_varint
from ..errors import CorruptPayload, ModelError
from .base import register

FREQ_BITS = 24
MODES = ("utf-8", "latin-1")


def locate(path: str | Path) -> tuple[Path, str | None]:
    """(model directory, GGUF file name or None) of a local model: a directory saved by
    ``save_pretrained``, a ``.gguf`` file, or a directory holding one ``.gguf`` file and no config."""
    p = Path(path)
    if p.is_file() and p.suffix == ".gguf":
        return p.parent, p.name
    if not p.is_dir():
        raise ModelError(f"{path}: no such Hugging Face model directory or .gguf file (models are loaded from local paths only)")
    ggufs = sorted(f.name for f in p.glob("*.gguf"))
    return p, ggufs[0] if len(ggufs) == 1 and not (p / "config.json").exists() else None


def load_causal_lm(path: str | Path):
    """(model, tokenizer) from a local directory or GGUF file only; a clear error if it is not one.
    GGUF weights (llama.cpp's format) need the ``gguf`` package and are dequantized to float."""
    directory, gguf = locate(path)
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ModelError("Hugging Face models need the `transformers` package: pip install 'nct[hf]'") from None
    extra = {"gguf_file": gguf} if gguf else {}
    try:
        model = AutoModelForCausalLM.from_pretrained(str(directory), local_files_only=True, **extra)
        tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True, **extra)
    except (OSError, ValueError, ImportError) as e:
        raise ModelError(f"{path}: not a loadable causal LM with its tokenizer ({e})") from None
    return model.eval(), tokenizer


def fingerprint(path: str | Path) -> str:
    """SHA-256 over the names and contents of the model's files (its directory's, or the GGUF file)."""
    directory, gguf = locate(path)
    files = [directory / gguf] if gguf else sorted(p for p in directory.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(directory)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def quantize(logits: torch.Tensor, freq_bits: int = FREQ_BITS) -> np.ndarray:
    """Integer CDF (length V+1) from one position's logits: every frequency ≥ 1, total ≤ 2^freq_bits."""
    p = torch.softmax(logits.double(), dim=-1).numpy()
    spare = (1 << freq_bits) - len(p)
    if spare <= 0:
        raise ModelError(f"a vocabulary of {len(p)} tokens needs more than {freq_bits}-bit frequencies")
    return np.concatenate([[0], np.cumsum(np.floor(p * spare).astype(np.int64) + 1)])


@register("hf")
class HFCompressor:
    """Arithmetic coding of a Hugging Face causal LM's tokens (see the module docstring)."""

    name = "hf"

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.model, self.tokenizer = load_causal_lm(path)
        start = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.eos_token_id
        if start is None:
            raise ModelError(f"{path}: the tokenizer has neither a BOS nor an EOS token to start from")
        self.start = int(start)
        self.vocab = int(self.model.get_output_embeddings().weight.shape[0])
        self.context = int(getattr(self.model.config, "max_position_embeddings", None) or 1024)
        self.fingerprint = fingerprint(path)
        self.model_bytes = 2 * sum(p.numel() for p in self.model.parameters())  # LMIC: 2 bytes per parameter
        # transformers 5 renamed the cache argument (and output) ``past_key_values`` to ``cache``
        self._cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def params(self) -> dict:
        """The model directory (identified by ``fingerprint``)."""
        return {"path": self.path}

    def _cdfs(self, ids: list[int]) -> Iterator[np.ndarray]:
        """The CDF of each next token, fed ``ids`` one at a time after the start token, starting
        again from the start token whenever the model's context is full (the same path when
        encoding and decoding; ``ids`` may grow while this runs)."""
        past, token, i, length = None, self.start, 0, 0
        with torch.no_grad():
            while True:
                out = self.model(torch.tensor([[token]]), **{self._cache_arg: past}, use_cache=True)
                past, length = getattr(out, self._cache_arg), length + 1
                yield quantize(out.logits[0, -1, : self.vocab])
                if i >= len(ids):
                    return
                token, i = ids[i], i + 1
                if length >= self.context:
                    past, token, length = None, self.start, 0

    def compress(self, data: bytes) -> bytes:
        """Payload of ``data``."""
        mode = 0 if _is_utf8(data) else 1
        text = data.decode(MODES[mode])
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if self.tokenizer.decode(ids) != text:
            raise ModelError(f"{self.path}: the tokenizer does not reproduce this input exactly; use another model")
        enc = encode_intervals((interval(cdf, t) for cdf, t in zip(self._cdfs(ids), ids)), DEFAULT_PRECISION)
        return bytes([mode]) + write_varint(len(ids)) + pack_bits(enc.finish())

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress`` (``limit``: no more tokens than that many bytes could make)."""
        if not payload or payload[0] >= len(MODES):
            raise CorruptPayload("not an hf payload")
        try:
            n, pos = read_varint(payload, 1)
        except (IndexError, ValueError):
            raise CorruptPayload("hf payload is truncated") from None
        if limit is not None and n > limit:
            raise CorruptPayload(f"hf payload claims {n} tokens for {limit} bytes")
        dec = Decoder(unpack_bits(payload[pos:]), DEFAULT_PRECISION)
        ids: list[int] = []
        for cdf in self._cdfs(ids):
            if len(ids) == n:
                break
            t = find_symbol(cdf, dec.target(int(cdf[-1])))
            dec.decode(*interval(cdf, t))
            ids.append(t)
        try:
            return self.tokenizer.decode(ids).encode(MODES[payload[0]])
        except UnicodeEncodeError:
            raise CorruptPayload("hf payload decodes to text outside its byte mapping") from None


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8."""
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
