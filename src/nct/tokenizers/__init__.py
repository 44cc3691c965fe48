"""Tokenizers over bytes, subwords and compressed text, all with one interface, and ``build``."""

from __future__ import annotations

from typing import Any

from .base import BaseTokenizer, Tokenizer, bits_to_tokens, tokens_to_bits
from .compressed import ArithmeticTokens, GZipTokens
from .equal_info import EqualInfoAC
from .simple import Bytes, SentencePiece

METHODS = ("bytes", "sentencepiece", "gzip", "ac", "static-ac", "equal-info")


def build(method: str, m1: Any = None, token_bits: int = 8, bits: int = 16, rule: str = "greedy",
          reset_every: int = 1, sentencepiece: SentencePiece | None = None, progress: bool = False) -> Any:
    """The tokenizer for ``method`` (M1-based methods need ``m1``; SentencePiece a trained model)."""
    if method == "bytes":
        return Bytes()
    if method == "sentencepiece":
        if sentencepiece is None:
            raise ValueError("sentencepiece needs a trained model (SentencePiece.train)")
        return sentencepiece
    if method == "gzip":
        return GZipTokens(token_bits)
    if method == "static-ac":
        return ArithmeticTokens.static(token_bits=token_bits)
    if m1 is None:
        raise ValueError(f"{method} needs an M1")
    if method == "ac":
        return ArithmeticTokens.ac(m1, token_bits)
    if method == "equal-info":
        return EqualInfoAC(m1, bits=bits, token_bits=token_bits, rule=rule, reset_every=reset_every, progress=progress)
    raise ValueError(f"unknown tokenizer method {method!r}; choose one of {', '.join(METHODS)}")


__all__ = [
    "ArithmeticTokens", "Bytes", "EqualInfoAC", "GZipTokens", "METHODS", "SentencePiece", "Tokenizer",
    "BaseTokenizer", "bits_to_tokens", "build", "tokens_to_bits",
]
