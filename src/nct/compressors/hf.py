"""A locally stored Hugging Face causal LM as the predictor of arithmetic coding (LMIC's setting).

Method: the bytes become text (UTF-8 when they are valid UTF-8, else Latin-1: one character per
byte), the model's tokenizer turns the text into token ids, and the ids are cut into blocks of
``block`` tokens, each arithmetic-coded on its own from the start token under the model's
next-token distributions, each quantized to an integer CDF (every token's frequency ≥ 1).
Decoding recovers every block's ids, joins them, detokenizes and maps the text back to bytes.
Compression checks that the tokenizer reproduces the text exactly and refuses otherwise.

Speed: ``batch`` blocks are stepped together, one token per block per model call with the model's
KV cache (a block that has ended is fed the start token until the batch's longest one is done).

Exactness: a float model's probabilities depend on how they are computed, so encoder and decoder
run the same schedule: the same blocks in the same batches, the same cached steps. The same model
files, software and machine then give identical CDFs; across machines or library versions they
may not (unlike M1's exact engine): an ``hf`` payload is for benchmarking (``nct bench --model
hf:PATH``), and archives refuse it. Even the batch changes the CDFs (a GEMM's order of sums
depends on its shape), so the payload records it beside the block and the decoder must use both.
Payload: text mode byte, varints token count, block and batch, then each block's coder bits,
length-prefixed.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Callable, Generator

import numpy as np
import torch

from ..coding.arithmetic import DEFAULT_PRECISION, Decoder, pack_bits, unpack_bits
from ..coding.symbols import Interval, encode_intervals, find_symbol, interval
from ..coding.varint import write_varint
from ..errors import CorruptPayload, ModelError
from .base import block_lengths, payload_varint, read_streams, register

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
    """Integer CDFs [..., V+1] from logits [..., V]: every frequency ≥ 1, each total ≤ 2^freq_bits."""
    p = torch.softmax(logits.double(), dim=-1).numpy()
    spare = (1 << freq_bits) - p.shape[-1]
    if spare <= 0:
        raise ModelError(f"a vocabulary of {p.shape[-1]} tokens needs more than {freq_bits}-bit frequencies")
    freq = np.floor(p * spare).astype(np.int64) + 1
    return np.concatenate([np.zeros((*freq.shape[:-1], 1), dtype=np.int64), np.cumsum(freq, axis=-1)], axis=-1)


BLOCK, BATCH = 1024, 16  # tokens per independently coded block (longer compresses better: README); blocks stepped together


@register("hf")
class HFCompressor:
    """Arithmetic coding of a Hugging Face causal LM's tokens, in blocks coded in lockstep batches
    (see the module docstring)."""

    name = "hf"

    def __init__(self, path: str | Path, block: int = BLOCK, batch: int = BATCH):
        self.path = str(path)
        self.model, self.tokenizer = load_causal_lm(path)
        start = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.eos_token_id
        if start is None:
            raise ModelError(f"{path}: the tokenizer has neither a BOS nor an EOS token to start from")
        self.start = int(start)
        self.vocab = int(self.model.get_output_embeddings().weight.shape[0])
        context = int(getattr(self.model.config, "max_position_embeddings", None) or 1024)
        self.block, self.batch = min(block, context - 1), batch  # a block and its start token fit the context
        if self.block < 1 or batch < 1:
            raise ModelError("hf: block and batch must be at least 1 (and the model's context at least 2)")
        self.fingerprint = fingerprint(path)
        self.model_bytes = 2 * sum(p.numel() for p in self.model.parameters())  # LMIC: 2 bytes per parameter
        # transformers 5 renamed the cache argument (and output) ``past_key_values`` to ``cache``
        self._cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def params(self) -> dict:
        """The model directory (identified by ``fingerprint``) and the coding's block and batch."""
        return {"path": self.path, "block": self.block, "batch": self.batch}

    def _steps(self, rows: int) -> Generator[np.ndarray, list[int], None]:
        """A lockstep run of ``rows`` blocks: send the tokens each row was fed, get the CDFs [rows, V+1]
        of every row's next token (the first without sending: after the start token)."""
        past, tokens = None, [self.start] * rows
        with torch.no_grad():
            while True:
                out = self.model(torch.tensor(tokens)[:, None], **{self._cache_arg: past}, use_cache=True)
                past = getattr(out, self._cache_arg)
                tokens = yield quantize(out.logits[:, -1, : self.vocab])

    def compress(self, data: bytes) -> bytes:
        """Payload of ``data``."""
        mode = 0 if _is_utf8(data) else 1
        text = data.decode(MODES[mode])
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if self.tokenizer.decode(ids) != text:
            raise ModelError(f"{self.path}: the tokenizer does not reproduce this input exactly; use another model")
        blocks = [ids[i : i + self.block] for i in range(0, len(ids), self.block)]
        out = bytearray([mode]) + write_varint(len(ids)) + write_varint(self.block) + write_varint(self.batch)
        for g in range(0, len(blocks), self.batch):
            group = blocks[g : g + self.batch]
            intervals: list[list[Interval]] = [[] for _ in group]

            def known(j: int, cdf: np.ndarray) -> int:
                """Row ``j``'s next token, its interval noted for coding."""
                token = group[j][len(intervals[j])]
                intervals[j].append(interval(cdf, token))
                return token

            self._lockstep([len(b) for b in group], known)
            for ivs in intervals:
                stream = pack_bits(encode_intervals(ivs, DEFAULT_PRECISION).finish())
                out += write_varint(len(stream)) + stream
        return bytes(out)

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress`` (``limit``: no more tokens than that many bytes could make)."""
        if not payload or payload[0] >= len(MODES):
            raise CorruptPayload("not an hf payload")
        n, pos = payload_varint(payload, 1)
        block, pos = payload_varint(payload, pos)
        batch, pos = payload_varint(payload, pos)
        if limit is not None and n > limit:
            raise CorruptPayload(f"hf payload claims {n} tokens for {limit} bytes")
        if (block, batch) != (self.block, self.batch):  # a float model's CDFs depend on the batch too
            raise CorruptPayload(f"hf payload was coded in blocks of {block} tokens, {batch} at a time; "
                                 f"decode it with block={block}, batch={batch}, not {self.block}, {self.batch}")
        if -(-n // block) > len(payload) - pos:  # every block's stream has at least its length byte
            raise CorruptPayload("hf payload is truncated")
        lengths = block_lengths(n, self.block)
        streams = read_streams(payload, pos, len(lengths), "hf")
        ids: list[int] = []
        for g in range(0, len(lengths), self.batch):
            ids += self._decode_group(streams[g : g + self.batch], lengths[g : g + self.batch])
        try:
            return self.tokenizer.decode(ids).encode(MODES[payload[0]])
        except UnicodeEncodeError:
            raise CorruptPayload("hf payload decodes to text outside its byte mapping") from None

    def _decode_group(self, streams: list[bytes], lengths: list[int]) -> list[int]:
        """The ids of a batch of blocks, decoded in lockstep (the encoder's schedule)."""
        decoders = [Decoder(unpack_bits(s), DEFAULT_PRECISION) for s in streams]

        def decoded(j: int, cdf: np.ndarray) -> int:
            """Row ``j``'s next token, read from its stream."""
            token = find_symbol(cdf, decoders[j].target(int(cdf[-1])))
            decoders[j].decode(*interval(cdf, token))
            return token

        return [t for block in self._lockstep(lengths, decoded) for t in block]

    def _lockstep(self, lengths: list[int], next_token: Callable[[int, np.ndarray], int]) -> list[list[int]]:
        """The one schedule of encoder and decoder: blocks of these lengths stepped together, each
        row's next token ``next_token(row, its CDF)``, a row that has ended fed the start token
        until the longest is done; the blocks' tokens."""
        blocks: list[list[int]] = [[] for _ in lengths]
        steps = self._steps(len(lengths))
        cdf = next(steps)
        for t in range(max(lengths)):
            for j, n in enumerate(lengths):
                if t < n:
                    blocks[j].append(next_token(j, cdf[j]))
            if t + 1 < max(lengths):
                cdf = steps.send([b[t] if t < len(b) else self.start for b in blocks])
        return blocks


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8."""
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
