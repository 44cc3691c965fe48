"""Arithmetic coding with a probability model: AC (M1) and StaticAC (a byte unigram).

The input is cut into blocks that are coded independently, each starting from BOS, so blocks
compress in teacher-forced batches and decompress in parallel, in lockstep. Payload:
varint(original length) varint(block) then, per block, varint(stream bytes) and the stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from ..coding.arithmetic import DEFAULT_PRECISION, DecoderBatch, max_total, pack_bits
from ..coding.symbols import Interval, encode_intervals, symbol_intervals
from ..coding.varint import write_varint
from ..data.unigram import default_unigram
from ..models.m1 import DEFAULT_FREQ_BITS, M1
from ..models.probability import ProbabilityModel, Unigram
from ..parallel import map_batches, parallel_map, worker_count
from .base import CorruptPayload, payload_varint, register


@dataclass
class BlockCoder:
    """Arithmetic coding of independent blocks under a probability model."""

    model: ProbabilityModel
    block: int
    precision: int = DEFAULT_PRECISION
    freq_bits: int = DEFAULT_FREQ_BITS
    batch: int = 256  # blocks decoded in lockstep
    positions: int = 4096  # positions scored per teacher-forced forward (cache-sized activations)
    workers: int | None = None  # processes coding blocks in parallel (None: every available core)
    progress: bool = False

    def __post_init__(self) -> None:
        if self.block < 1:
            raise ValueError("block size must be positive")
        if not 16 <= self.precision <= 32:
            raise ValueError("precision must be 16 to 32 bits")
        if (1 << self.freq_bits) > max_total(self.precision) or self.freq_bits < 9:
            raise ValueError(f"freq_bits must be in 9..{self.precision - 2} for a {self.precision}-bit coder")

    def params(self) -> dict:
        """Coding parameters stored in archives."""
        return {"block": self.block, "precision": self.precision, "freq_bits": self.freq_bits}

    # ----- compress ---------------------------------------------------------------------------
    def compress(self, data: bytes) -> bytes:
        """Payload: lengths, then one arithmetic-coded stream per block."""
        out = bytearray(write_varint(len(data)) + write_varint(self.block))
        for stream in self.encode_blocks(data):
            out += write_varint(len(stream)) + stream
        return bytes(out)

    def encode_blocks(self, data: bytes) -> Iterator[bytes]:
        """The coded stream of every block, in order."""
        blocks = [data[i : i + self.block] for i in range(0, len(data), self.block)]
        per_batch = max(1, self.positions // self.block)
        groups = [blocks[i : i + per_batch] for i in range(0, len(blocks), per_batch)]
        bar = tqdm(total=len(data), unit="B", unit_scale=True, desc="compress", disable=not self.progress)
        for group, streams in zip(groups, parallel_map(self._encode_group, groups, worker_count(self.workers))):
            yield from streams
            bar.update(sum(map(len, group)))
        bar.close()

    def _encode_group(self, group: list[bytes]) -> list[bytes]:
        """The coded streams of blocks scored in one teacher-forced batch."""
        return [pack_bits(encode_intervals(ivs[: len(b)], self.precision).finish()) for b, ivs in zip(group, self._intervals(group))]

    def _intervals(self, group: list[bytes]) -> list[list[Interval]]:
        """Per block: each byte's interval of its CDF, under teacher forcing (padded to the longest block)."""
        import torch

        length = max(len(b) for b in group)
        y = torch.zeros(len(group), length, dtype=torch.long)
        for j, b in enumerate(group):
            y[j, : len(b)] = torch.frombuffer(bytearray(b), dtype=torch.uint8)
        x = torch.cat([torch.full((len(group), 1), self.model.bos), y[:, :-1]], dim=1)
        return symbol_intervals(self.model.cdfs(x, self.freq_bits), y)

    # ----- decompress -------------------------------------------------------------------------
    def decompress(self, payload: bytes) -> bytes:
        """Inverse of ``compress``. Every length is checked against what the payload holds before
        anything is allocated: each block needs at least its length varint, so a payload of k
        bytes holds at most k blocks."""
        n, pos = payload_varint(payload, 0)
        block, pos = payload_varint(payload, pos)
        if block != self.block:
            raise CorruptPayload(f"payload block size {block} differs from the coder's {self.block}")
        count = -(-n // block)
        if count > len(payload) - pos:
            raise CorruptPayload(f"payload claims {n} bytes in {count} blocks but has only {len(payload)} bytes")
        streams = []
        for _ in range(count):
            size, pos = payload_varint(payload, pos)
            if pos + size > len(payload):
                raise CorruptPayload("payload is truncated")
            streams.append(payload[pos : pos + size])
            pos += size
        if pos != len(payload):
            raise CorruptPayload("payload has trailing bytes")
        lengths = [min(block, n - i * block) for i in range(len(streams))]
        return self.decode_blocks(streams, lengths)

    def decode_blocks(self, streams: list[bytes], lengths: list[int]) -> bytes:
        """Decode independent block streams of the given lengths: at most ``batch`` blocks in
        lockstep per piece, the pieces spread over the worker processes."""
        bar = tqdm(total=sum(lengths), unit="B", unit_scale=True, desc="decompress", disable=not self.progress)

        def decode(piece: Sequence[tuple[bytes, int]], progress: Callable[[int], Any] | None) -> list[bytes]:
            return self._decode_lockstep([s for s, _ in piece], [n for _, n in piece], progress)

        items = list(zip(streams, lengths))
        try:
            pieces = map_batches(decode, items, self.batch, worker_count(self.workers), bar.update, size=lambda item: item[1])
            out = b"".join(b"".join(blocks) for blocks in pieces)
        except BaseException:
            bar.leave = False  # a failed decode leaves no half-drawn bar before its one-line error
            raise
        finally:
            bar.close()
        return out

    def _decode_lockstep(
        self, streams: list[bytes], lengths: list[int], progress: Callable[[int], Any] | None = None
    ) -> list[bytes]:
        """Decode a group of streams together, one symbol per stream per model step. A stream that
        has been read past its end (the encoder never ends a stream before the decoder's last
        read) is damage, found at that step: a crafted archive cannot make the decoder run on."""
        import torch

        dec = DecoderBatch(streams, self.precision)
        ends = np.array([8 * len(s) + self.precision for s in streams])
        n = np.array(lengths)
        symbols = np.zeros((len(streams), int(n.max())), dtype=np.uint8)
        state = self.model.start(len(streams))
        tokens = torch.full((len(streams),), self.model.bos, dtype=torch.long)
        for t in range(int(n.max())):
            cdf = self.model.step(state, tokens, self.freq_bits)
            totals = cdf[:, -1].numpy()
            targets = torch.from_numpy(dec.targets(totals))
            sym = torch.searchsorted(cdf, targets[:, None], right=True)[:, 0] - 1
            low = cdf.gather(1, sym[:, None])[:, 0].numpy()
            high = cdf.gather(1, sym[:, None] + 1)[:, 0].numpy()
            active = t < n
            try:
                dec.decode(low, high, totals, active)
            except IndexError:  # read beyond the zero padding
                raise CorruptPayload("a block's stream ends before its bytes do") from None
            if (dec.pos > ends).any():
                raise CorruptPayload("a block's stream ends before its bytes do")
            symbols[:, t] = sym.numpy()
            tokens = sym
            if progress:
                progress(int(active.sum()))
        return [symbols[j, :k].tobytes() for j, k in enumerate(lengths)]


@register("ac", m1=True)
def arithmetic_coding(model: M1 | None = None, block: int = 1024, **kw) -> "NeuralCompressor":
    """AC: M1's probabilities + arithmetic coding, in independent blocks (default: the shipped M1)."""
    model = model if model is not None else M1.load("default")
    if model.cfg.window is None:
        block = min(block, model.cfg.context)
    return NeuralCompressor("ac", BlockCoder(model, block, **kw))


@register("static-ac", model=True)
def static_ac(model: Unigram | None = None, block: int = 4096, **kw) -> "NeuralCompressor":
    """StaticAC: a fixed byte unigram + arithmetic coding (TLNCT's StaticAC)."""
    return NeuralCompressor("static-ac", BlockCoder(model if model is not None else default_unigram(), block, **kw))


@dataclass
class NeuralCompressor:
    """A Compressor whose payload depends on a model: archives record the model's fingerprint.
    ``coder``: a ``BlockCoder`` or ``nct.compressors.mixing.MixingCoder``."""

    name: str
    coder: Any

    @property
    def model(self) -> ProbabilityModel:
        """The probability model."""
        return self.coder.model

    def params(self) -> dict:
        """Coding parameters (the model is identified separately by its fingerprint)."""
        return self.coder.params()

    def compress(self, data: bytes) -> bytes:
        """Compressed payload."""
        return self.coder.compress(data)

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress``. Both payload formats (``BlockCoder``'s, ``MixingCoder``'s)
        start with the original length and then the block: a length other than ``limit``, or more
        than a payload of this size can hold, is refused before decoding (a ``BlockCoder`` block
        costs at least one byte; ``MixingCoder.read_payload`` bounds each of its units)."""
        n, pos = payload_varint(payload, 0)
        block, _ = payload_varint(payload, pos)
        if limit is not None and n != limit:
            raise CorruptPayload(f"payload holds {n} bytes but the archive says {limit}")
        if self.name != "cm" and n > len(payload) * max(1, block):
            raise CorruptPayload(f"payload of {len(payload)} bytes cannot hold {n} bytes in blocks of {block}")
        return self.coder.decompress(payload)


