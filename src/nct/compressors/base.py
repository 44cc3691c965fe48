"""One Compressor protocol and a name -> compressor registry (as LMIC's ``compressors``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..errors import CorruptPayload

__all__ = ["Compressor", "CorruptPayload", "available", "fixed_cost", "get", "needs_m1", "register"]


@runtime_checkable
class Compressor(Protocol):
    """Lossless byte compressor: ``decompress(compress(x)) == x`` for every byte string.

    Optional: ``fixed_cost()``, the payload bytes every input costs, where the payload for empty
    input does not show it (see ``fixed_cost``); ``kinds``, the data kinds a format models (e.g.
    ``("image",)``), where it is not meant for all bytes.
    """

    name: str

    def compress(self, data: bytes) -> bytes:
        """Compressed payload of ``data``."""
        ...

    def decompress(self, payload: bytes) -> bytes:
        """Inverse of ``compress``."""
        ...

    def params(self) -> dict:
        """Plain-value parameters needed to rebuild an equivalent compressor (stored in archives)."""
        ...


def fixed_cost(c: Compressor) -> int:
    """Payload bytes ``c`` spends on every input whatever its content (headers, trailers): what
    the format states with ``c.fixed_cost()``, else its payload for empty input."""
    stated = getattr(c, "fixed_cost", None)
    return stated() if stated else len(c.compress(b""))


_REGISTRY: dict[str, Callable[..., Compressor]] = {}
_M1_METHODS: set[str] = set()


def register(name: str, m1: bool = False) -> Callable[[Callable[..., Compressor]], Callable[..., Compressor]]:
    """Class decorator: make a compressor available as ``get(name, **params)``; ``m1``: its
    factory takes M1 as ``model`` (and archives record M1's fingerprint)."""

    def deco(factory: Callable[..., Compressor]) -> Callable[..., Compressor]:
        _REGISTRY[name] = factory
        if m1:
            _M1_METHODS.add(name)
        return factory

    return deco


def needs_m1(name: str) -> bool:
    """Whether the method ``name`` codes with M1."""
    return name in _M1_METHODS


def get(name: str, **params) -> Compressor:
    """The compressor called ``name``, built with ``params``."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown compression method {name!r}; available: {', '.join(available())}") from None
    return factory(**params)


def available() -> list[str]:
    """Registered method names."""
    return sorted(_REGISTRY)
