"""One tokenizer interface (HF tokenizers / tiktoken style) and the bits -> N-bit token cut.

Every tokenizer maps bytes to integer ids and back: ``encode(text) -> ids``,
``decode(ids) -> str``, ``decode_bytes(ids) -> bytes``, ``vocab_size``. Compressed-text tokenizers
produce a bit string and cut it into N-bit tokens the same way for every compressor (most
significant bit first, the last token zero-padded), so M2 can be any standard Transformer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import UsageError

if TYPE_CHECKING:
    from ..data.corpus import Corpus


@dataclass(frozen=True)
class Encoding:
    """The ids of many texts, and how many of their streams or windows are *ambiguous*: they would
    read back longer than their text (arithmetic-coded streams with no point to stop at)."""

    ids: list[list[int]]
    ambiguous: int = 0


@dataclass(frozen=True)
class Decoding:
    """The bytes of many id sequences, and how many streams or windows did not decode (e.g. sampled
    ids that are no valid stream; the text decoded before the damage is kept)."""

    texts: list[bytes]
    undecodable: int = 0


@runtime_checkable
class Tokenizer(Protocol):
    """Text <-> integer ids (every tokenizer here is a ``BaseTokenizer``)."""

    name: str
    vocab_size: int

    def encode(self, text: str | bytes) -> list[int]:
        """Ids of ``text`` (str is encoded as UTF-8)."""
        ...

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The bytes ``ids`` stand for."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """``decode_bytes`` as text."""
        ...

    def encode_batch(self, texts: Sequence[str | bytes]) -> list[list[int]]:
        """Ids of many texts."""
        ...

    def decode_batch(self, batch_ids: Sequence[Sequence[int]]) -> list[bytes]:
        """Bytes of many id sequences."""
        ...

    def encode_result(self, texts: Sequence[str | bytes]) -> Encoding:
        """Ids of many texts, with the ambiguous count."""
        ...

    def decode_result(self, batch_ids: Sequence[Sequence[int]]) -> Decoding:
        """Bytes of many id sequences, with the undecodable count."""
        ...

    def prefix_ids(self, prompt: bytes) -> list[int]:
        """Ids that a continuation of ``prompt`` can follow."""
        ...

    def params(self) -> dict:
        """Everything that determines the ids."""
        ...

    def bytes_per_token(self, texts: "Iterable[str | bytes] | Corpus") -> float:
        """Bytes of text per token."""
        ...


class BaseTokenizer:
    """Shared behaviour: text decoding, batch methods, and bytes per token on a corpus.

    A subclass defines ``encode`` and ``decode_bytes``, or, where streams can be ambiguous or fail
    to decode, ``encode_result`` and ``decode_result`` (the batch methods drop their counts).
    """

    name: str
    vocab_size: int

    def encode(self, text: str | bytes) -> list[int]:
        """Ids of ``text`` (str is encoded as UTF-8)."""
        return self.encode_batch([text])[0]

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The bytes ``ids`` stand for."""
        return self.decode_batch([ids])[0]

    def encode_result(self, texts: Sequence[str | bytes]) -> Encoding:
        """Ids of many texts (none ambiguous, unless a subclass says otherwise)."""
        return Encoding([self.encode(t) for t in texts])

    def decode_result(self, batch_ids: Sequence[Sequence[int]]) -> Decoding:
        """Bytes of many id sequences (all decodable, unless a subclass says otherwise)."""
        return Decoding([self.decode_bytes(ids) for ids in batch_ids])

    def encode_batch(self, texts: Sequence[str | bytes]) -> list[list[int]]:
        """Ids of many texts."""
        return self.encode_result(texts).ids

    def decode_batch(self, batch_ids: Sequence[Sequence[int]]) -> list[bytes]:
        """Bytes of many id sequences."""
        return self.decode_result(batch_ids).texts

    def decode(self, ids: Sequence[int]) -> str:
        """``decode_bytes`` as text (invalid UTF-8, e.g. from sampled ids, becomes U+FFFD)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def prefix_ids(self, prompt: bytes) -> list[int]:
        """Ids that a continuation of ``prompt`` can follow (generation): the prompt's ordinary
        encoding, unless a stream's ending would be in the way (then a subclass says otherwise)."""
        return self.encode(prompt) if prompt else []

    def params(self) -> dict:
        """Everything that determines the ids (recorded in shard manifests)."""
        return {}

    def bytes_per_token(self, texts: "Iterable[str | bytes] | Corpus") -> float:
        """Bytes of text per token over ``texts`` (or a Corpus's documents), each encoded on its own."""
        items = [d.data for d in texts.documents] if hasattr(texts, "documents") else [as_bytes(t) for t in texts]
        return sum(map(len, items)) / max(1, sum(map(len, self.encode_batch(items))))


def as_bytes(text: str | bytes) -> bytes:
    """UTF-8 bytes of a str, or bytes unchanged."""
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def bits_to_tokens(bits: Sequence[int] | np.ndarray, token_bits: int) -> list[int]:
    """Cut bits into ``token_bits``-bit ids, MSB first; the last id is zero-padded."""
    b = np.asarray(bits, dtype=np.int64)
    pad = (-len(b)) % token_bits
    b = np.concatenate([b, np.zeros(pad, dtype=np.int64)]).reshape(-1, token_bits)
    return (b @ (1 << np.arange(token_bits - 1, -1, -1, dtype=np.int64))).tolist()


def tokens_to_bits(ids: Sequence[int], token_bits: int) -> np.ndarray:
    """Inverse of ``bits_to_tokens`` (including its padding)."""
    a = np.asarray(ids, dtype=np.int64)
    if a.size and (a.min() < 0 or a.max() >= 1 << token_bits):
        raise UsageError(f"ids must be in [0, 2^{token_bits})")
    shifts = np.arange(token_bits - 1, -1, -1, dtype=np.int64)
    return ((a[:, None] >> shifts[None, :]) & 1).reshape(-1).astype(np.uint8)
