"""Compressor output as tokens: a compressor's bit stream cut into N-bit tokens (GZip, AC, StaticAC).

Each example is compressed on its own, as in the paper, and its bits are cut into ``token_bits``-bit
tokens. GZip streams end themselves (the zero padding after them is ignored). Arithmetic-coded
streams carry no length: the decoder decodes bytes until one more would need more bits than the
tokens hold, and the encoder picks the final point of the stream inside the last token so that the
decoder stops exactly at the end of the text (``nct.coding.symbols.stopping_window``, with the whole example
as one window). If the last token offers no such point, the stream gets up to ``STOP_ATTEMPTS - 1``
more tokens, each of which offers other points; a text for which none exists would read back
longer and is counted as ambiguous (``Encoding.ambiguous``).
"""

from __future__ import annotations

import gzip
import zlib
from typing import Sequence

import numpy as np
import torch

from ..coding.symbols import GreedyReader, encode_intervals, stopping_window, symbol_intervals
from ..data.unigram import default_unigram
from ..models.m1 import M1
from ..models.probability import ProbabilityModel, Unigram
from ..parallel import available_workers, map_batches, parallel_map
from .base import BaseTokenizer, Decoding, Encoding, as_bytes, bits_to_tokens, tokens_to_bits
from .methods import Options

STOP_ATTEMPTS = 3


class GZipTokens(BaseTokenizer):
    """gzip at zlib's default level (6), header kept, cut into ``token_bits``-bit tokens."""

    def __init__(self, token_bits: int = 8, level: int = 6):
        self.token_bits, self.level = token_bits, level
        self.vocab_size = 1 << token_bits
        self.name = f"GZip[v={self.vocab_size}]"

    def params(self) -> dict:
        """Level and token width."""
        return {"token_bits": self.token_bits, "level": self.level}

    def encode(self, text: str | bytes) -> list[int]:
        """Tokens of the gzip stream of ``text``."""
        data = gzip.compress(as_bytes(text), self.level, mtime=0)
        return bits_to_tokens(np.unpackbits(np.frombuffer(data, dtype=np.uint8)), self.token_bits)

    def decode_result(self, batch_ids: Sequence[Sequence[int]]) -> Decoding:
        """Inverse of ``encode``; padding after a stream is ignored. A damaged stream (e.g. sampled
        tokens) gives the text decoded before the damage and counts as undecodable."""
        texts = [self._decode_stream(ids) for ids in batch_ids]
        return Decoding([t for t, _ in texts], sum(not ok for _, ok in texts))

    def _decode_stream(self, ids: Sequence[int]) -> tuple[bytes, bool]:
        """(text, whether the stream decoded without damage) of one id sequence."""
        data = np.packbits(tokens_to_bits(ids, self.token_bits)).tobytes()
        d = zlib.decompressobj(wbits=31)
        out = bytearray()
        for i in range(len(data)):  # byte by byte: keep everything decoded before any damage
            try:
                out += d.decompress(data[i : i + 1])
            except zlib.error:
                return bytes(out), False
            if d.eof:
                break
        return bytes(out), True

    def prefix_ids(self, prompt: bytes) -> list[int]:
        """The prompt's stream sync-flushed, without a final block, in whole tokens only."""
        if not prompt:
            return []
        c = zlib.compressobj(self.level, wbits=31)
        data = c.compress(prompt) + c.flush(zlib.Z_SYNC_FLUSH)
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        return bits_to_tokens(bits[: len(bits) - len(bits) % self.token_bits], self.token_bits)


class ArithmeticTokens(BaseTokenizer):
    """AC over whole examples under a probability model (M1 for AC, a byte unigram for StaticAC)."""

    def __init__(
        self, model: ProbabilityModel, token_bits: int = 8, freq_bits: int = 30, name: str = "AC", batch: int = 64,
        positions: int = 32768,
    ):
        self.model, self.token_bits, self.freq_bits = model, token_bits, freq_bits
        self.batch, self.positions = batch, positions
        self.vocab_size = 1 << token_bits
        self.name = f"{name}[v={self.vocab_size}]"

    @classmethod
    def ac(cls, m1: M1, token_bits: int = 8, **kw) -> "ArithmeticTokens":
        """AC: M1 over the whole example."""
        return cls(m1, token_bits, name="AC", **kw)

    @classmethod
    def static(cls, unigram: Unigram | None = None, token_bits: int = 8, **kw) -> "ArithmeticTokens":
        """StaticAC: the byte unigram of the embedded training text."""
        return cls(unigram or default_unigram(), token_bits, name="StaticAC", **kw)

    def params(self) -> dict:
        """Token width, CDF precision, and the model's fingerprint."""
        return {"token_bits": self.token_bits, "freq_bits": self.freq_bits, "model": self.model.fingerprint}

    def encode_result(self, texts: Sequence[str | bytes]) -> Encoding:
        """Tokens of many texts (teacher-forced, at most ``positions`` bytes per forward)."""
        groups: list[list[bytes]] = [[]]
        for t in map(as_bytes, texts):
            group = groups[-1]
            if group and (len(group) + 1) * (max(len(t), *map(len, group)) + 1) > self.positions:
                groups.append(group := [])
            group.append(t)
        out: list[list[int]] = []
        total = 0
        for tokens, ambiguous in parallel_map(self._encode_group, groups, available_workers()):
            out += tokens
            total += ambiguous
        return Encoding(out, total)

    def _encode_group(self, group: list[bytes]) -> tuple[list[list[int]], int]:
        """(tokens, ambiguous streams) of the texts of one forward pass, each stream ending where
        the decoder will stop."""
        if not group:
            return [], 0
        ambiguous = 0
        x = torch.full((len(group), max(map(len, group)) + 1), self.model.bos, dtype=torch.long)
        for j, t in enumerate(group):
            x[j, 1 : len(t) + 1] = torch.tensor(list(t), dtype=torch.long)
        cdf = self.model.cdfs(x, self.freq_bits)  # cdf[j, i]: CDF of byte i of text j (i = len: after it)
        out: list[list[int]] = []
        for j, t in enumerate(group):
            if not t:
                out.append([])
                continue
            enc = encode_intervals(symbol_intervals(cdf[j, : len(t)], x[j, 1 : len(t) + 1]))
            width = -(-enc.finished_length() // self.token_bits) * self.token_bits
            window = None
            for extra in range(STOP_ATTEMPTS):  # another token gives other points to stop at
                window = stopping_window(enc, cdf[j, len(t)].tolist(), width + extra * self.token_bits)
                if window is not None:
                    break
            if window is None:
                ambiguous += 1
                window = tokens_to_bits(bits_to_tokens(enc.finish(), self.token_bits), self.token_bits)
            out.append(bits_to_tokens(window, self.token_bits))
        return out, ambiguous

    def decode_result(self, batch_ids: Sequence[Sequence[int]]) -> Decoding:
        """Texts of many token sequences, decoded in lockstep batches over the worker processes."""
        streams = [tokens_to_bits(ids, self.token_bits) for ids in batch_ids]
        pieces = map_batches(lambda piece, _: self._decode_group(piece), streams, self.batch, available_workers())
        return Decoding([text for texts in pieces for text in texts])

    def prefix_ids(self, prompt: bytes) -> list[int]:
        """The bits the prompt's stream has already decided, in whole tokens only."""
        if not prompt:
            return []
        x = torch.tensor([[self.model.bos, *prompt[:-1]]])
        enc = encode_intervals(symbol_intervals(self.model.cdfs(x, self.freq_bits)[0], torch.tensor(list(prompt))))
        return bits_to_tokens(enc.bits[: len(enc.bits) - len(enc.bits) % self.token_bits], self.token_bits)

    def _decode_group(self, streams: Sequence[np.ndarray]) -> list[bytes]:
        """Decode streams in lockstep: each stops before the first byte that would not fit."""
        model = self.model
        n = len(streams)
        readers = [GreedyReader(s.tolist(), len(s)) for s in streams]
        outs: list[list[int]] = [[] for _ in streams]
        active = [len(s) > 0 for s in streams]
        state = model.start(n)
        tokens = torch.full((n,), model.bos, dtype=torch.long)
        while any(active):
            cdfs = model.step(state, tokens, self.freq_bits).tolist()
            for r in range(n):
                if not active[r]:
                    continue
                y = readers[r].read(cdfs[r])
                if y is None:
                    active[r] = False
                    continue
                outs[r].append(y)
                tokens[r] = y
        return [bytes(o) for o in outs]


def gzip_tokenizer(options: Options) -> GZipTokens:
    """The ``gzip`` method."""
    return GZipTokens(options.token_bits)


def ac_tokenizer(options: Options) -> ArithmeticTokens:
    """The ``ac`` method."""
    return ArithmeticTokens.ac(options.m1, options.token_bits)


def static_ac_tokenizer(options: Options) -> ArithmeticTokens:
    """The ``static-ac`` method."""
    return ArithmeticTokens.static(token_bits=options.token_bits)
