"""One tokenizer interface (HF tokenizers / tiktoken style) and the bits -> N-bit token cut.

Every tokenizer maps bytes to integer ids and back: ``encode(text) -> ids``,
``decode(ids) -> str``, ``decode_bytes(ids) -> bytes``, ``vocab_size``. Compressed-text tokenizers
produce a bit string and cut it into N-bit tokens the same way for every compressor (most
significant bit first, the last token zero-padded), so M2 can be any standard Transformer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from ..data.corpus import Corpus


@runtime_checkable
class Tokenizer(Protocol):
    """Text <-> integer ids."""

    name: str
    vocab_size: int

    def encode(self, text: str | bytes) -> list[int]:
        """Ids of ``text`` (str is encoded as UTF-8)."""
        ...

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The bytes ``ids`` stand for."""
        ...


class BaseTokenizer:
    """Shared behaviour: text decoding, batch methods, and bytes per token on a corpus."""

    name: str
    vocab_size: int

    def encode(self, text: str | bytes) -> list[int]:
        """Ids of ``text`` (str is encoded as UTF-8)."""
        return self.encode_batch([text])[0]

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The bytes ``ids`` stand for."""
        return self.decode_batch([ids])[0]

    def encode_batch(self, texts: Sequence[str | bytes]) -> list[list[int]]:
        """Ids of many texts."""
        return [self.encode(t) for t in texts]

    def decode_batch(self, batch_ids: Sequence[Sequence[int]]) -> list[bytes]:
        """Bytes of many id sequences."""
        return [self.decode_bytes(ids) for ids in batch_ids]

    def decode(self, ids: Sequence[int]) -> str:
        """``decode_bytes`` as text (invalid UTF-8, e.g. from sampled ids, becomes U+FFFD)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

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
        raise ValueError(f"ids must be in [0, 2^{token_bits})")
    shifts = np.arange(token_bits - 1, -1, -1, dtype=np.int64)
    return ((a[:, None] >> shifts[None, :]) & 1).reshape(-1).astype(np.uint8)
