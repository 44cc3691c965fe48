"""One Compressor protocol and a name -> compressor registry (as LMIC's ``compressors``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..coding.varint import read_varint
from ..errors import CorruptPayload, UsageError

__all__ = ["Compressor", "CorruptPayload", "available", "fixed_cost", "get", "needs_m1", "register", "uses_model"]


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

    def decompress(self, payload: bytes, limit: int | None = None) -> bytes:
        """Inverse of ``compress``. ``limit``: the length the output must have (an archive's);
        a payload that claims or decodes to more raises ``CorruptPayload`` without the work."""
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
_MODEL_METHODS: set[str] = set()

# Where the built-in methods register themselves, and whether they code with M1 / a model, known
# without importing them: the classical methods and ``nct --help`` then never load PyTorch. Each
# module's ``register`` call must agree (``tests/compressors/test_roundtrip.py`` checks).
BUILTIN: dict[str, tuple[str, bool, bool]] = {  # name -> (module, needs M1, uses a model)
    "cm": ("mixing", True, True),
    "ac": ("neural", True, True),
    "static-ac": ("neural", False, True),
    **{name: ("classical", False, False) for name in ("gzip", "bz2", "xz", "zstd", "brotli", "zpaq", "ppmd")},
    "png": ("media", False, False),
    "flac": ("media", False, False),
    "hf": ("hf", False, False),
    "llm": ("llm", False, True),
}


def register(
    name: str, m1: bool = False, model: bool | None = None
) -> Callable[[Callable[..., Compressor]], Callable[..., Compressor]]:
    """Class decorator: make a compressor available as ``get(name, **params)``; ``m1``: its
    factory takes M1 as ``model``; ``model`` (default: ``m1``): its payloads depend on a model,
    whose fingerprint archives must carry, and its factory also takes ``progress`` (draw a progress
    bar) and ``workers`` (processes; None: every available core), which change no byte written."""

    def deco(factory: Callable[..., Compressor]) -> Callable[..., Compressor]:
        _REGISTRY[name] = factory
        if m1:
            _M1_METHODS.add(name)
        if m1 if model is None else model:
            _MODEL_METHODS.add(name)
        return factory

    return deco


def needs_m1(name: str) -> bool:
    """Whether the method ``name`` codes with M1."""
    return BUILTIN[name][1] if name in BUILTIN else name in _M1_METHODS


def uses_model(name: str) -> bool:
    """Whether the method ``name``'s payloads depend on a model (M1 or StaticAC's unigram)."""
    return BUILTIN[name][2] if name in BUILTIN else name in _MODEL_METHODS


def get(name: str, **params) -> Compressor:
    """The compressor called ``name``, built with ``params`` (a built-in method's module is
    imported on first use)."""
    if name not in _REGISTRY and name in BUILTIN:
        importlib.import_module(f"{__package__}.{BUILTIN[name][0]}")
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown compression method {name!r}; available: {', '.join(available())}") from None
    return factory(**params)


def available() -> list[str]:
    """Method names: the built-in ones and any registered since."""
    return sorted({*BUILTIN, *_REGISTRY})


def payload_varint(payload: bytes, pos: int) -> tuple[int, int]:
    """``read_varint``, with a truncated or overlong varint raised as CorruptPayload."""
    try:
        return read_varint(payload, pos)
    except (IndexError, ValueError):
        raise CorruptPayload("payload is truncated") from None


def block_lengths(n: int, block: int) -> list[int]:
    """The lengths of the blocks ``n`` symbols are cut into (``block`` each, the last shorter)."""
    return [min(block, n - i) for i in range(0, n, block)]


def read_streams(payload: bytes, pos: int, count: int, what: str) -> list[bytes]:
    """``count`` length-prefixed (varint) byte strings of ``payload`` from ``pos``; CorruptPayload
    naming ``what`` if one runs past the end (each length is checked before it is sliced)."""
    streams = []
    for _ in range(count):
        size, pos = payload_varint(payload, pos)
        if size > len(payload) - pos:
            raise CorruptPayload(f"{what} payload is truncated")
        streams.append(payload[pos : pos + size])
        pos += size
    return streams
