"""Compressors under one protocol; each built-in method's module is imported when it is first used
(``get``), so that the classical methods never load PyTorch."""

from .base import BUILTIN, Compressor, CorruptPayload, available, get, needs_m1, register, uses_model

__all__ = ["BUILTIN", "Compressor", "CorruptPayload", "available", "get", "needs_m1", "register", "uses_model"]
