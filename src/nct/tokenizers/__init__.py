"""Tokenizers over bytes, subwords and compressed text, all with one interface; ``build`` one by
method name or ``MethodSpec`` (``nct.tokenizers.methods``)."""

from __future__ import annotations

from .base import BaseTokenizer, Decoding, Encoding, Tokenizer, bits_to_tokens, tokens_to_bits
from .simple import Bytes, SentencePiece  # registration order: the order of METHODS
from .compressed import ArithmeticTokens, GZipTokens
from .equal_info import EqualInfoAC
from .methods import MethodSpec, available, build, needs_m1

METHODS = available()  # ("bytes", "sentencepiece", "gzip", "ac", "static-ac", "equal-info"): the CLI's choices

__all__ = [
    "ArithmeticTokens", "BaseTokenizer", "Bytes", "Decoding", "Encoding", "EqualInfoAC", "GZipTokens", "METHODS",
    "MethodSpec", "SentencePiece", "Tokenizer", "available", "bits_to_tokens", "build", "needs_m1", "tokens_to_bits",
]
