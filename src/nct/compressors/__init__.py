"""Compressors under one protocol; importing this package registers all of them."""

from . import classical, hf, media, mixing, neural  # noqa: F401
from .base import Compressor, CorruptPayload, available, get, needs_m1, register

__all__ = ["Compressor", "CorruptPayload", "available", "get", "needs_m1", "register"]
