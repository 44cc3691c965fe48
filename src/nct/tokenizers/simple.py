"""The paper's baselines: UTF-8 bytes, and a SentencePiece unigram model trained on the corpus."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import UsageError
from .base import BaseTokenizer, as_bytes
from .methods import Options


class Bytes(BaseTokenizer):
    """One token per byte (vocabulary 256)."""

    name = "Bytes"
    vocab_size = 256

    def encode(self, text: str | bytes) -> list[int]:
        """The bytes themselves."""
        return list(as_bytes(text))

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """Inverse of ``encode``."""
        return bytes(ids)


class SentencePiece(BaseTokenizer):
    """A SentencePiece model (unigram by default) that reproduces text exactly: identity
    normalisation, no dummy prefix, whitespace kept, and byte fallback for unseen characters.
    Input must be UTF-8; a literal U+2581 (SentencePiece's space marker) decodes as a space."""

    name = "SentencePiece"

    def __init__(self, model_proto: bytes):
        import sentencepiece as spm

        self.proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self.vocab_size = self.sp.get_piece_size()

    @classmethod
    def train(
        cls, texts: Iterable[bytes], vocab_size: int = 32000, model_type: str = "unigram", max_sentences: int = 300_000
    ) -> "SentencePiece":
        """Train on paragraphs of ``texts`` (the training split; split at blank lines, <= 4 KB each)."""
        import sentencepiece as spm

        def paragraphs() -> Iterable[str]:
            n = 0
            for t in texts:
                for para in t.decode("utf-8", errors="replace").split("\n\n"):
                    for i in range(0, len(para), 4000):
                        if para[i : i + 4000].strip():
                            yield para[i : i + 4000]
                            n += 1
                            if n >= max_sentences:
                                return

        out = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=paragraphs(),
                model_writer=out,
                vocab_size=vocab_size,
                model_type=model_type,
                byte_fallback=True,
                normalization_rule_name="identity",
                add_dummy_prefix=False,
                remove_extra_whitespaces=False,
                allow_whitespace_only_pieces=True,
                split_digits=True,
                character_coverage=0.9995,
                max_sentence_length=16384,
                hard_vocab_limit=False,
                num_threads=2,
                minloglevel=2,
                unk_surface="\u2047",
            )
        except RuntimeError as e:  # e.g. a vocabulary smaller than the 256 byte pieces + characters
            raise UsageError(f"SentencePiece training failed: {str(e).splitlines()[-1]}") from None
        return cls(out.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "SentencePiece":
        """Load a saved ``.model`` file."""
        return cls(Path(path).read_bytes())

    def save(self, path: str | Path) -> None:
        """Save the model proto."""
        Path(path).write_bytes(self.proto)

    def params(self) -> dict:
        """Vocabulary size."""
        return {"vocab_size": self.vocab_size}

    def encode(self, text: str | bytes) -> list[int]:
        """Piece ids of UTF-8 text."""
        s = text if isinstance(text, str) else as_bytes(text).decode("utf-8")
        return self.sp.encode(s)

    def decode(self, ids: Sequence[int]) -> str:
        """Inverse of ``encode``."""
        return self.sp.decode(list(ids))

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The UTF-8 bytes of ``decode``."""
        return self.decode(ids).encode("utf-8")


def bytes_tokenizer(options: Options) -> Bytes:
    """The ``bytes`` method."""
    return Bytes()


def sentencepiece_tokenizer(options: Options) -> SentencePiece:
    """The ``sentencepiece`` method (the trained model given)."""
    if options.sentencepiece is None:
        raise UsageError("sentencepiece needs a trained model (SentencePiece.train)")
    return options.sentencepiece
