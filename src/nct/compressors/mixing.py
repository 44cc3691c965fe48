"""CM: M1 mixed with adaptive context and match models (``nct.models.context_mixing``), binary AC.

The input is cut into segments of at most ``MAX_SEGMENT_LANES`` blocks, and each segment into
blocks (lanes) that are coded together in lockstep: M1 sees each block alone from BOS, as in ``ac``,
while the adaptive models share what every block of the segment has shown so far. Compressing, M1
scores a segment's blocks in teacher-forced batches spread over the worker processes, then the
mixing pass runs; decompressing, segments are independent and decode in parallel, and a segment
decoding alone spreads its M1 steps over the workers (``nct.models.step_group``). Segment sizes
depend only on the input's length, never on the number of workers.

Never worse than stored. Payload: varint(length) varint(block) varint(segment), then per coding
unit varint(0) and its raw bytes, or varint(stream bytes + 1) and the stream. From mixing-model
version 4 the unit is the segment (its lanes code into one stream, lane after lane); up to version 3
it was the block, and a stored block's bytes still trained the shared models on both sides.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..coding.binary import BinaryDecoderBatch, BinaryEncoderBatch
from ..coding.varint import write_varint
from ..models.context_mixing import ContextMixer, MixConfig, m1_bit_probabilities
from ..models.m1 import DEFAULT_FREQ_BITS, M1
from ..models.step_group import step_group
from ..parallel import MIN_PARALLEL, parallel_map, worker_count
from .base import CorruptPayload, payload_varint, register
from .neural import NeuralCompressor

MAX_SEGMENT_LANES = 1024  # blocks coded in lockstep in one segment


def segment_size(length: int, block: int) -> int:
    """Bytes per segment for an input of ``length`` bytes: as few segments as hold at most
    ``MAX_SEGMENT_LANES`` blocks each, of equal size (the more blocks share the adaptive models, the
    better they predict: one segment rather than two saved 4-10% on 150-300 KB files)."""
    lanes = max(1, -(-length // block))
    parts = -(-lanes // MAX_SEGMENT_LANES)
    return -(-lanes // parts) * block


@dataclass
class MixingCoder:
    """Context-mixing coder of an input under M1 and ``cfg``."""

    model: M1
    block: int = 1024
    cfg: MixConfig = field(default_factory=MixConfig)
    positions: int = 4096  # positions scored per teacher-forced forward
    workers: int | None = None
    progress: bool = False
    freq_bits: int = DEFAULT_FREQ_BITS

    def __post_init__(self) -> None:
        if not 16 <= self.block <= 1 << 16:
            raise ValueError("block size must be 16 .. 65536 bytes")

    def params(self) -> dict:
        """Parameters stored in archives."""
        return {"block": self.block, "mix": self.cfg.to_dict()}

    # ----- compress ---------------------------------------------------------------------------
    def compress(self, data: bytes) -> bytes:
        """Payload of ``data``."""
        seg = segment_size(len(data), self.block)
        out = bytearray(write_varint(len(data)) + write_varint(self.block) + write_varint(seg))
        bar = tqdm(total=len(data), unit="B", unit_scale=True, desc="compress", disable=not self.progress)
        # M1 scores a small input by its compiled steps unless PyTorch is imported already: its GEMMs
        # are twice as fast once warm, but importing it takes longer than coding 32 KB (same CDFs)
        engine = "compiled" if len(data) < MIN_PARALLEL and "torch" not in sys.modules else None  # None: M1's own
        for i in range(0, len(data), seg):  # each segment's M1 scoring is spread over the workers
            out += self._encode_segment(data[i : i + seg], engine)
            bar.update(min(seg, len(data) - i))
        bar.close()
        return bytes(out)

    def _lanes(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Blocks as rows [lanes, block] (zero-padded) and their lengths."""
        lanes = -(-len(data) // self.block)
        rows = np.zeros((lanes, self.block), np.int64)
        flat = np.frombuffer(data, np.uint8)
        rows.reshape(-1)[: len(flat)] = flat
        lengths = np.minimum(self.block, len(data) - np.arange(lanes) * self.block)
        return rows, lengths

    def _m1_probabilities(self, rows: np.ndarray, engine: str | None) -> np.ndarray:
        """M1's 12-bit bit probabilities [lanes, block, 8] along every byte's path (teacher forcing),
        groups of blocks scored in parallel over the workers, by ``M1.cdfs``'s ``engine``."""
        per = max(1, self.positions // rows.shape[1])
        groups = [rows[a : a + per] for a in range(0, len(rows), per)]
        return np.concatenate(list(parallel_map(lambda ys: self._score_group(ys, engine), groups, worker_count(self.workers))))

    def _score_group(self, ys: np.ndarray, engine: str | None) -> np.ndarray:
        """Bit probabilities [g, block, 8] (int16) of one teacher-forced batch of blocks."""
        x = np.concatenate([np.full((len(ys), 1), self.model.bos, np.int64), ys[:, :-1]], axis=1)
        return m1_bit_probabilities(self.model.cdfs(x, self.freq_bits, engine), ys)

    def _encode_segment(self, data: bytes, engine: str | None) -> bytes:
        """The coded blocks of one segment (version 4: the segment's one stream)."""
        rows, lengths = self._lanes(data)
        p_m1 = self._m1_probabilities(rows, engine)
        lanes = len(rows)
        mixer = ContextMixer(lanes, self.block, self.cfg)
        shared = self.cfg.version >= 4
        enc = BinaryEncoderBatch(1, len(data)) if shared else BinaryEncoderBatch(lanes, self.block)
        columns = np.ascontiguousarray(rows.T)
        for t in range(int(lengths.max())):
            mixer.encode_byte(t, t < lengths, columns[t], p_m1, enc)
        streams = enc.finish()
        if shared:
            return _stored_or_coded(data, streams[0])
        return b"".join(_stored_or_coded(rows[i, : int(n)].astype(np.uint8).tobytes(), s) for i, (s, n) in enumerate(zip(streams, lengths)))

    # ----- decompress -------------------------------------------------------------------------
    def decompress(self, payload: bytes) -> bytes:
        """Inverse of ``compress``."""
        n, segments = self.read_payload(payload)
        bar = tqdm(total=n, unit="B", unit_scale=True, desc="decompress", disable=not self.progress)
        parts = []
        for units, part in zip(segments, parallel_map(self._decode_segment, segments, worker_count(self.workers))):
            parts.append(part)
            bar.update(sum(m for _, _, m in units))
        bar.close()
        return b"".join(parts)

    def read_payload(self, payload: bytes) -> tuple[int, list[list[tuple[bool, bytes, int]]]]:
        """The length and, per segment, its coding units (version 4: the segment; before: each
        block) as (stored, bytes, length), checked against what their streams can hold before
        anything is allocated: a coded unit has at least the coder's final byte and at most
        ``BYTES_PER_STREAM_BYTE`` * (k + 4) bytes (a crafted kilobyte could otherwise claim 1024
        lanes of 64 KiB each, over 1 GB)."""
        n, pos = payload_varint(payload, 0)
        block, pos = payload_varint(payload, pos)
        seg, pos = payload_varint(payload, pos)
        if block != self.block:
            raise CorruptPayload(f"payload block size {block} differs from the coder's {self.block}")
        if seg < block or seg % block or seg > MAX_SEGMENT_LANES * block:
            raise CorruptPayload(f"payload's segment size {seg} is not a multiple of its block of at most {MAX_SEGMENT_LANES} blocks")
        unit = seg if self.cfg.version >= 4 else block
        segments = []
        for start in range(0, n, seg):
            units = []
            for unit_start in range(start, min(start + seg, n), unit):
                m = min(unit, start + seg - unit_start, n - unit_start)
                v, pos = payload_varint(payload, pos)
                k = m if v == 0 else v - 1
                if v and not 1 <= k <= m or v and m > BYTES_PER_STREAM_BYTE * (k + 4) or pos + k > len(payload):
                    raise CorruptPayload(f"a cm unit of {m} bytes cannot be coded in {k} stream bytes (or the payload is truncated)")
                units.append((v == 0, payload[pos : pos + k], m))
                pos += k
            segments.append(units)
        if pos != len(payload):
            raise CorruptPayload("payload has trailing bytes")
        return n, segments

    def _decode_segment(self, units: list[tuple[bool, bytes, int]]) -> bytes:
        """One segment's bytes from its coding units (stored or coded), its blocks decoded in lockstep."""
        if self.cfg.version >= 4:
            stored_segment, stream, size = units[0]
            if stored_segment:
                return stream
            lengths = np.minimum(self.block, size - np.arange(-(-size // self.block)) * self.block)
            stored = np.zeros(len(lengths), bool)
            streams = [stream]
        else:
            lengths = np.array([m for _, _, m in units])
            stored = np.array([s for s, _, _ in units])
            streams = [b"" if s else b for s, b, _ in units]
        n_lanes = len(lengths)
        raw = np.zeros((n_lanes, self.block), np.int64)
        for i, (s, b, m) in enumerate(units):
            if s:
                raw[i, :m] = np.frombuffer(b, np.uint8)
        dec = BinaryDecoderBatch(streams)
        mixer = ContextMixer(n_lanes, self.block, self.cfg)
        columns = np.ascontiguousarray(raw.T)  # stored lanes' bytes; the decoded ones are written in
        tokens = np.full(n_lanes, self.model.bos, np.int64)
        # a decoder reads at most 4 bytes past its stream (the first 4 it loads, then one per byte
        # the encoder wrote); a crafted stream that leads it further is corrupt: stop early
        limit = np.array([np.iinfo(np.int64).max if s else len(b) + 4 for s, b in zip(stored, streams)])  # stored: no stream
        steps = int(lengths.max())
        with step_group(self.model, n_lanes, worker_count(self.workers), self.freq_bits) as m1:
            cdf = m1.step(tokens)
            for t in range(steps):
                active = t < lengths
                if self.cfg.version >= 4:  # the children's lanes first: they step on while the rest decode
                    mixer.begin(t, active)
                    mixer.decode_lanes(0, m1.children_rows, active, stored, columns[t], cdf, dec)
                    if t + 1 < steps:
                        m1.send(columns[t])
                    mixer.decode_lanes(m1.children_rows, n_lanes, active, stored, columns[t], cdf, dec)
                    mixer.end(t, active, columns[t])
                else:
                    mixer.decode_byte(t, active, stored, columns[t], cdf, dec)
                    if t + 1 < steps:
                        m1.send(columns[t])
                if (dec.pos > limit).any():
                    raise CorruptPayload(f"a block's stream ends before its {steps} bytes")
                if t + 1 < steps:
                    cdf = m1.finish(columns[t])
        out = columns.T
        return b"".join(out[i, :m].astype(np.uint8).tobytes() for i, m in enumerate(lengths.tolist()))


# A binary-coded bit costs at least log2(4096/4095) bits (12-bit probabilities), so a byte costs at
# least 8 times that and a stream byte holds at most 1 / log2(4096/4095) ~ 2839 bytes (1% more
# allowed for the coder's integer rounding; the decoder's 4-byte look-ahead is added per stream).
BYTES_PER_STREAM_BYTE = int(1.01 / math.log2(4096 / 4095)) + 1


def _stored_or_coded(data: bytes, stream: bytes) -> bytes:
    """A coding unit in the payload: varint(0) and ``data`` when its stream would not be shorter,
    else varint(stream bytes + 1) and the stream."""
    return write_varint(0) + data if len(stream) >= len(data) else write_varint(len(stream) + 1) + stream


@register("cm", m1=True)
def context_mixing(model: M1 | None = None, block: int = 1024, mix: dict | None = None, **kw) -> NeuralCompressor:
    """CM: M1 mixed with adaptive order-n and match models of the input, binary arithmetic coding."""
    model = model if model is not None else M1.load("default")
    cfg = MixConfig.from_dict(mix) if mix is not None else MixConfig()
    return NeuralCompressor("cm", MixingCoder(model, block, cfg, **kw))
