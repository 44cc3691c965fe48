"""A pretrained LLM (``smollm2``) run by nct's exact engine as the predictor of arithmetic coding:
archives that decode on any machine (``nct compress --model smollm2``).

Method: the bytes become the model's tokens and the tokens are cut into blocks of ``block``,
each arithmetic-coded on its own from the start token under the engine's integer CDFs
(``nct.models.llama``). Tokens are coded as byte strings, so every input round-trips: each run of
valid UTF-8 is tokenized by the model's tokenizer, kept when its tokens' bytes are exactly the
run (else spelled byte by byte), and every other byte is the vocabulary's token for that single
byte, or, where the vocabulary has none, the escape token followed by the byte (``Tokens``).
Decoding joins the tokens' bytes.

Speed: compression scores each block in one teacher-forced pass (every CDF at once); decompression
steps ``batch`` blocks together, one token each per engine call, over a KV cache. The engine's CDFs
do not depend on the batch, so a decoder may use any batch.

Chunked (``chunk`` bytes, LMIC's setting: 2,048): the input is cut into pieces of ``chunk`` bytes,
each tokenized and cut into blocks on its own, so no block sees across a piece's edge; all the
pieces' blocks are then scored and decoded together, as one input's are.

Match model (on unless ``match=0``, ``nct compress --no-match``, or chunked): each token's CDF is
mixed with what followed the same few tokens before, beyond one block's context (repeated words,
records, markup). Model 2, the default (``nct.models.token_ngram``): a token n-gram over every
token coded before, PPM-blended and mixed in with learned weights; its blocks are coded and decoded
in lockstep groups of ``GROUP`` (a decoder steps a whole group together whatever its ``batch``).
Model 1 (``match=1``, the first version, ``nct.models.token_match``): a bonus for the token that
followed the same four tokens earlier in the block or the blocks before it, as far as a lockstep
decoder has seen them whatever its batch. Archives made before the match model name no ``match``
and decode without it. The payload's layout is the same.

Payload: varints token count and block, then each block's coder bits, length-prefixed; chunked,
varints piece count, each piece's token count and block, then the blocks' bits.
"""

from __future__ import annotations

import re
from array import array
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..coding.arithmetic import DEFAULT_PRECISION, Decoder, pack_bits, unpack_bits
from ..coding.symbols import Interval, encode_intervals, find_mixed, interval, mixed_interval
from ..coding.varint import write_varint
from ..errors import CorruptPayload, ModelError
from ..models.token_match import SEARCH_BLOCKS, Mixer, TokenMatch
from ..models.token_ngram import GROUP, TokenNgram
from .base import block_lengths, payload_varint, read_streams, register

FREQ_BITS = 24
BLOCK, BATCH = 1024, 32  # tokens per block (longer compresses better: README); blocks decoded together
MATCH = 2  # the default match model (module docstring)
TEXT_PIECE = 1 << 16  # characters tokenized at a time (cut after a newline)
PIECES_AT_ONCE = 16  # pieces tokenized together (in parallel), their encodings then dropped
ESCAPE = "<|endoftext|>"
_INVALID = re.compile("[\udc80-\udcff]+")  # bytes that are not UTF-8, as ``surrogateescape`` decodes them


def byte_level_alphabet() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet: the character that stands for each byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


class Tokens:
    """Bytes <-> a byte-level BPE tokenizer's token ids, exactly for every byte string. A byte the
    vocabulary has no single-byte token for is the id ``vocab_size + byte``: coded as the escape
    token (``<|endoftext|>``, which tokenization never yields), then the byte, uniformly."""

    def __init__(self, tokenizer_json: str, vocab_size: int):
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ModelError("the model's tokenizer needs the `tokenizers` package: pip install 'nct[llm]'") from None
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.vocab_size = vocab_size
        alphabet = byte_level_alphabet()
        vocab = self.tokenizer.get_vocab()
        if ESCAPE not in vocab:
            raise ModelError(f"the tokenizer's vocabulary has no {ESCAPE} token to escape bytes with")
        self.escape = vocab[ESCAPE]
        self.bytes = [b""] * vocab_size + [bytes([b]) for b in range(256)]
        for text, i in vocab.items():
            if i < vocab_size:
                self.bytes[i] = b"".join(bytes([alphabet[c]]) if c in alphabet else c.encode() for c in text)
        if not all(self.bytes):
            raise ModelError("the tokenizer's vocabulary has an empty token")
        single = {b: i for i, b in enumerate(self.bytes[:vocab_size]) if len(b) == 1 and i != self.escape}
        self.byte_token = np.array([single.get(bytes([b]), vocab_size + b) for b in range(256)], np.int64)

    def encode(self, data: bytes) -> array:
        """Token ids (escaped bytes as ``vocab_size + byte``) whose bytes, joined, are ``data``: an
        int32 array (4 bytes a token, where a list would hold about 36)."""
        text = data.decode("utf-8", errors="surrogateescape")
        ids = array("i")
        at = 0
        for m in _INVALID.finditer(text):
            ids += self._text(text[at : m.start()])
            ids.extend(self.byte_token[np.frombuffer(m.group().encode("utf-8", "surrogateescape"), np.uint8)].tolist())
            at = m.end()
        ids += self._text(text[at:])
        return ids

    def _text(self, text: str) -> array:
        """Tokens of valid text: the tokenizer's, in pieces cut after newlines, each checked
        (spelled byte by byte where its tokens do not give back its bytes or hold the escape)."""
        pieces, ids = _pieces(text), array("i")
        while batch := list(islice(pieces, PIECES_AT_ONCE)):  # a few at a time: their encodings are large
            for piece, enc in zip(batch, self.tokenizer.encode_batch(batch, add_special_tokens=False)):
                raw = piece.encode("utf-8")
                exact = self.escape not in enc.ids and self.decode(enc.ids) == raw
                ids.extend(enc.ids if exact else self.byte_token[np.frombuffer(raw, np.uint8)].tolist())
        return ids

    def decode(self, ids: Iterable[int]) -> bytes:
        """The bytes of token ids."""
        return b"".join(self.bytes[i] for i in ids)

    def model_tokens(self, ids: Sequence[int]) -> list[int]:
        """What the model sees: escaped bytes as the escape token."""
        return [i if i < self.vocab_size else self.escape for i in ids]


def _pieces(text: str) -> Iterator[str]:
    """``text`` in pieces of about TEXT_PIECE characters, each ending after a newline where it can."""
    at = 0
    while at < len(text):
        end = min(len(text), at + TEXT_PIECE)
        if end < len(text):
            cut = text.rfind("\n", at, end)
            end = cut + 1 if cut > at else end
        yield text[at:end]
        at = end


@register("llm", model=True)
class LLMCompressor:
    """Arithmetic coding of a pretrained LLM's tokens under its exact engine (module docstring)."""

    name = "llm"

    def __init__(self, model: Any = "smollm2", block: int | None = None, batch: int = BATCH, progress: bool = False,
                 workers: int | None = None, device: str = "cpu", chunk: int = 0, match: int | None = None):
        from ..models import pretrained
        from ..models.llama import Llama

        if isinstance(model, Llama):
            self.model, self.model_name = model, str(model.meta.get("model", "custom"))
        else:
            self.model_name = str(model)
            self.model = pretrained.load(self.model_name, device, log=_stderr if progress else None)
        block = min(BLOCK, self.model.cfg.context - 1) if block is None else block  # default: BLOCK, or what the engine holds
        if not 1 <= block < self.model.cfg.context:
            raise ModelError(f"llm: block must be 1..{self.model.cfg.context - 1} tokens")
        self.block, self.batch, self.progress, self.chunk = block, max(1, batch), progress, chunk
        self.match = (0 if chunk else MATCH) if match is None else match  # chunked, each piece alone unless asked
        if self.match not in (0, 1, 2):
            raise ModelError("llm: match must be 0 (none), 1 or 2")
        self.tokens = Tokens(self.model.tokenizer_json, self.model.cfg.vocab_size)

    def params(self) -> dict:
        """The model's name (its engine identified by the archive's fingerprint), the block length
        and, chunked, the chunk; with a match model, ``match``."""
        return {"model": self.model_name, "block": self.block, **({"chunk": self.chunk} if self.chunk else {}),
                **({"match": self.match} if self.match else {})}

    @property
    def model_bytes(self) -> int:
        """What a decoder must hold: the engine's weight matrices, one byte each (LMIC's adjusted rate counts it)."""
        return self.model.n_params

    def compress(self, data: bytes) -> bytes:
        """Payload of ``data``."""
        if self.chunk:
            pieces = [self.tokens.encode(data[i : i + self.chunk]) for i in range(0, len(data), self.chunk)]
            out = bytearray(write_varint(len(pieces)) + b"".join(write_varint(len(p)) for p in pieces))
        else:
            pieces = [self.tokens.encode(data)]
            out = bytearray(write_varint(len(pieces[0])))
        out += write_varint(self.block)
        blocks = [p[s : s + self.block] for p in pieces for s in range(0, len(p), self.block)]
        coded = self._coded(blocks)
        for chunk, bases in zip(tqdm(blocks, desc="compress", unit="block", disable=not self.progress), coded):
            intervals: list[Interval] = []
            for i, base in zip(chunk, bases):
                intervals.append(base)
                if i >= self.model.cfg.vocab_size:  # an escaped byte, after the escape token
                    intervals.append((i - self.model.cfg.vocab_size, i - self.model.cfg.vocab_size + 1, 256))
            stream = pack_bits(encode_intervals(intervals, DEFAULT_PRECISION).finish())
            out += write_varint(len(stream)) + stream
        return bytes(out)

    def _coded(self, blocks: Sequence[Sequence[int]]) -> Iterable[list[Interval]]:
        """Each block's intervals of its model tokens, block by block (model 2: a group at a time)."""
        if self.match == 2:
            ngram = TokenNgram()
            for g in range(0, len(blocks), GROUP):
                yield from self._ngram_group(ngram, g, [self.tokens.model_tokens(b) for b in blocks[g : g + GROUP]])
            return
        match = TokenMatch() if self.match else None
        for number, chunk in enumerate(blocks):
            model_ids = self.tokens.model_tokens(chunk)
            inputs, block = self._teacher(model_ids)
            if match is None:
                low, high, total = self.model.intervals(inputs, block, FREQ_BITS)
                yield list(zip(low.tolist(), high.tolist(), total.tolist()))
            else:
                yield self._matched(match, number, model_ids, inputs, block)

    def _teacher(self, model_ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """A block's teacher-forced inputs (the start token, then all but its last token) and targets."""
        block = torch.tensor(model_ids)[None]
        return torch.cat([torch.tensor([[self.model.bos]]), block[:, :-1]], 1), block

    def _ngram_group(self, ngram: TokenNgram, first: int, seqs: list[list[int]]) -> list[list[Interval]]:
        """A group's blocks' intervals under the LLM mixed with the token n-gram, walked in the
        decoder's lockstep order (``nct.models.token_ngram``)."""
        bases = []
        for seq in seqs:
            low, high, total = self.model.intervals(*self._teacher(seq), FREQ_BITS)
            bases.append(list(zip(low.tolist(), high.tolist(), total.tolist())))
        group = ngram.group(first, seqs)
        out: list[list[Interval]] = [[] for _ in seqs]
        for t in range(max(map(len, seqs))):
            for j, (seq, base, coded) in enumerate(zip(seqs, bases, out)):
                if t < len(seq):
                    low, high, total = base[t]
                    bonuses = group.bonuses(j, t, _unasked, total)
                    coded.append(mixed_interval(base[t], seq[t], bonuses))
                    group.learn(j, t, high - low, total, coded[-1])
        return out

    def _matched(self, match: TokenMatch, number: int, model_ids: list[int], inputs: torch.Tensor, block: torch.Tensor) -> list[Interval]:
        """Block ``number``'s intervals under the LLM mixed with the match model (``nct.models.token_match``)."""
        match.forget(number - SEARCH_BLOCKS)
        match.track(number, model_ids)
        for t in range(len(model_ids)):  # predictions look before t only, so the whole block may be added first
            match.add(number, t)
        predictions = [match.predict(number, t) for t in range(len(model_ids))]
        predicted = torch.tensor([p[0] if p else 0 for p in predictions])[None]
        low, high, total, p_low, p_high = self.model.intervals(inputs, block, FREQ_BITS, predicted)
        mixer, out = Mixer(), []
        for t, (token, p) in enumerate(zip(model_ids, predictions)):
            bonuses, kind = mixer.bonus(p, int(p_high[t] - p_low[t]), int(total[t]))
            out.append(mixed_interval((int(low[t]), int(high[t]), int(total[t])), token, bonuses))
            mixer.update(kind, p is not None and token == p[0])
        return out

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress`` (``limit``: the length the output must have)."""
        counts, pos = self._token_counts(payload)
        block, pos = payload_varint(payload, pos)
        if limit is not None and sum(counts) > limit:  # every token is at least one byte
            raise CorruptPayload(f"llm payload claims {sum(counts)} tokens for {limit} bytes")
        if not 1 <= block < self.model.cfg.context or sum(-(-n // block) for n in counts) > len(payload) - pos:
            raise CorruptPayload("llm payload is truncated or its block length is out of range")
        lengths = [n for c in counts for n in block_lengths(c, block)]
        streams = read_streams(payload, pos, len(lengths), "llm")
        out = bytearray()
        batch = GROUP if self.match == 2 else self.batch  # model 2 steps its groups whole
        groups = range(0, len(lengths), batch)
        steps = sum(max(lengths[g : g + batch]) for g in groups)
        context = TokenNgram() if self.match == 2 else TokenMatch() if self.match else None
        with tqdm(total=steps, desc="decompress", unit="step", disable=not self.progress) as bar:
            for g in groups:
                for ids in self._decode_group(streams[g : g + batch], lengths[g : g + batch], bar.update, g, context):
                    out += self.tokens.decode(ids)
                    if limit is not None and len(out) > limit:
                        raise CorruptPayload("llm payload decodes to more bytes than the archive holds")
        return bytes(out)

    def _token_counts(self, payload: bytes) -> tuple[list[int], int]:
        """The pieces' token counts (one piece unless chunked) and where the payload goes on."""
        if not self.chunk:
            n, pos = payload_varint(payload, 0)
            return [n], pos
        pieces, pos = payload_varint(payload, 0)
        if pieces > len(payload):  # each count takes a byte: a larger claim is damage, not an allocation
            raise CorruptPayload("llm payload claims more pieces than it has bytes")
        counts = []
        for _ in range(pieces):
            n, pos = payload_varint(payload, pos)
            counts.append(n)
        return counts, pos

    def _decode_group(self, streams: list[bytes], lengths: list[int], tick: Callable[[int], Any], first: int = 0,
                      context: TokenMatch | TokenNgram | None = None) -> list[list[int]]:
        """The token ids of a batch of blocks (numbers ``first``..), decoded in lockstep (a row that
        has ended is fed the start token), mixed with the match model ``context`` when given."""
        decoders = [Decoder(unpack_bits(s), DEFAULT_PRECISION) for s in streams]
        blocks: list[list[int]] = [[] for _ in lengths]
        seen: list[list[int]] = [[] for _ in lengths]  # the model's tokens (an escaped byte: the escape token)
        group = context.group(first, seen) if context else None
        cache = self.model.start(len(lengths), max(lengths))
        fed = [self.model.bos] * len(lengths)
        for t in range(max(lengths)):
            cdfs = self.model.step(cache, torch.tensor(fed), FREQ_BITS)
            for j, n in enumerate(lengths):
                if t < n:
                    cdf, decoder, total = cdfs[j], decoders[j], int(cdfs[j][-1])
                    bonuses = group.bonuses(j, t, lambda x: int(cdf[x + 1] - cdf[x]), total) if group else []
                    token = find_mixed(cdf, decoder.target(total + sum(b for _, b in bonuses)), bonuses)
                    base = interval(cdf, token)
                    mixed = mixed_interval(base, token, bonuses)
                    decoder.decode(*mixed)
                    seen[j].append(token)
                    if group:
                        group.learn(j, t, base[1] - base[0], total, mixed)
                    if token == self.tokens.escape:
                        byte = decoder.target(256)
                        decoder.decode(byte, byte + 1, 256)
                        token = self.model.cfg.vocab_size + byte
                    blocks[j].append(token)
            fed = [s[t] if t < len(s) else self.model.bos for s in seen]
            tick(1)
        return blocks


def _unasked(token: int) -> int:
    """The frequency callback of an encoder that has no whole CDF: model 2's bonuses never ask."""
    raise AssertionError("match model 2 does not ask for an LLM frequency")


def _stderr(message: str) -> None:
    """A progress note on stderr."""
    import sys

    print(f"nct: {message}", file=sys.stderr, flush=True)

