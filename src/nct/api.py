"""The Python API: ``compress`` and ``decompress`` whole byte strings into verified archives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import compressors  # noqa: F401  (registers every method)
from .compressors.base import Compressor, get, needs_m1
from .compressors.neural import NeuralCompressor
from .container import ArchiveError, Header, checksum, pack, unpack, verify
from .models.m1 import M1, ModelError

DEFAULT_METHOD = "cm"


def load_model(model: Any) -> Any:
    """An M1 from an instance, a path, or None / "default" (the shipped M1)."""
    if model is None or isinstance(model, (str, Path)):
        return M1.load(model or "default")
    return model


def compressor(method: str = DEFAULT_METHOD, model: Any = None, progress: bool = False, **params) -> Compressor:
    """The compressor ``method`` with its parameters; AC and CM load the default M1 unless given one."""
    if needs_m1(method):
        params["model"] = load_model(model)
    elif model is not None:
        params["model"] = model
    c = get(method, **params)
    if isinstance(c, NeuralCompressor):
        c.coder.progress = progress
    return c


def compress(
    data: bytes, method: str = DEFAULT_METHOD, model: Any = None, check: bool = False, progress: bool = False, **params
) -> bytes:
    """An archive of ``data``; with ``check``, decode it again and compare before returning."""
    c = compressor(method, model, progress, **params)
    model = c.model if isinstance(c, NeuralCompressor) else None
    fingerprint = model.fingerprint if model is not None else None
    header = Header(method=method, params=c.params(), model=fingerprint, length=len(data), sha256=checksum(data))
    archive = pack(header, c.compress(data))
    if check:
        decompress(archive, model=model, progress=progress)
    return archive


def decompress(archive: bytes, model: Any = None, progress: bool = False) -> bytes:
    """The original bytes of an archive, verified against its checksum."""
    header, payload = unpack(archive)
    try:
        c = compressor(header.method, model if header.model is not None else None, progress, **header.params)
    except (TypeError, ValueError) as e:
        if isinstance(e, ModelError):
            raise
        raise ArchiveError(f"archive needs method {header.method!r} with {header.params}, which this nct cannot run: {e}") from None
    if header.model is not None:
        have = c.model.fingerprint
        if have != header.model:
            raise ArchiveError(wrong_model_message(header.model, have))
    return verify(header, c.decompress(payload))


def wrong_model_message(needed: str, given: str) -> str:
    """One line naming the model an archive needs (by its shipped name where it has one)."""
    from .models.shipped import name_of

    need, have = name_of(needed), name_of(given)
    need_s = f"{need} ({needed[:12]})" if need else needed[:12]
    have_s = f"{have} ({given[:12]})" if have else given[:12]
    hint = f"--model {need}" if need else "the same model with --model"
    return f"archive was made with model {need_s}, but the model given is {have_s}; pass {hint}"


def inspect(archive: bytes) -> Header:
    """The header of an archive (after checking its framing and checksum)."""
    return unpack(archive)[0]
