"""Tokenizers over bytes, subwords and compressed text, all with one interface; ``build`` one by
method name or ``MethodSpec`` (``nct.tokenizers.methods``).

Naming and listing methods (``METHODS``, ``MethodSpec``, ``needs_m1``) imports neither torch nor M1:
the tokenizer classes are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .methods import MethodSpec, available, build, needs_m1

if TYPE_CHECKING:
    from .base import BaseTokenizer, Decoding, Encoding, Tokenizer, bits_to_tokens, tokens_to_bits
    from .compressed import ArithmeticTokens, GZipTokens
    from .equal_info import EqualInfoAC
    from .simple import Bytes, SentencePiece

METHODS = available()  # ("bytes", "sentencepiece", "gzip", "ac", "static-ac", "equal-info"): the CLI's choices

_LAZY = {
    "BaseTokenizer": "base", "Decoding": "base", "Encoding": "base", "Tokenizer": "base", "bits_to_tokens": "base",
    "tokens_to_bits": "base", "ArithmeticTokens": "compressed", "GZipTokens": "compressed", "EqualInfoAC": "equal_info",
    "Bytes": "simple", "SentencePiece": "simple",
}


def __getattr__(name: str) -> Any:
    """The tokenizer classes and helpers, imported on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


__all__ = [
    "ArithmeticTokens", "BaseTokenizer", "Bytes", "Decoding", "Encoding", "EqualInfoAC", "GZipTokens", "METHODS",
    "MethodSpec", "SentencePiece", "Tokenizer", "available", "bits_to_tokens", "build", "needs_m1", "tokens_to_bits",
]
