"""One Compressor protocol and a name -> compressor registry (as LMIC's ``compressors``)."""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable


class CorruptPayload(ValueError):
    """A payload that cannot be decoded by its compressor."""


@runtime_checkable
class Compressor(Protocol):
    """Lossless byte compressor: ``decompress(compress(x)) == x`` for every byte string."""

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


_REGISTRY: dict[str, Callable[..., Compressor]] = {}


def register(name: str) -> Callable[[Callable[..., Compressor]], Callable[..., Compressor]]:
    """Class decorator: make a compressor available as ``get(name, **params)``."""

    def deco(factory: Callable[..., Compressor]) -> Callable[..., Compressor]:
        _REGISTRY[name] = factory
        return factory

    return deco


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
