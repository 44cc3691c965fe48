"""The Python API: ``compress`` and ``decompress`` whole byte strings into verified archives.

``decompress`` treats an archive as untrusted input (invariant 5, README): the container checks the
framing, checksum and header schema; the method must be one an archive may name
(``nct.compressors.params``), its parameters are checked against their bounds, a model-based
method must carry the model's fingerprint and it must match the model the caller gives (an archive
never chooses what is loaded), and the payload may not decode to more than the header's length.
Only ``nct.errors.NctError`` subclasses escape it for bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .container import Header, checksum, pack, unpack, verify
from .errors import CorruptArchive, UsageError, WrongModel

if TYPE_CHECKING:
    from .compressors.base import Compressor
    from .models.m1 import M1

DEFAULT_METHOD = "cm"


def load_model(model: "M1 | str | Path | None", device: str | None = None) -> "M1":
    """An M1 from an instance, a path, or None / "default" (the shipped M1), run on ``device``
    (a PyTorch device for its portable engine, ``M1.to``; None: as it is)."""
    if model is None or isinstance(model, (str, Path)):
        from .models.m1 import M1

        model = M1.load(model or "default")
    return model if device is None else on_device(model, device)


def on_device(model: "M1", device: str) -> "M1":
    """``model.to(device)``, with a device PyTorch does not know or does not have as a ``UsageError``."""
    import torch

    try:
        target = torch.device(device)
    except RuntimeError as e:
        raise UsageError(f"device {device!r}: not a PyTorch device ({e})") from None
    if target.type == "cuda" and (not torch.cuda.is_available() or (target.index or 0) >= torch.cuda.device_count()):
        raise UsageError(f"device {device!r}: no such CUDA device here")
    if target.type not in ("cpu", "cuda"):
        raise UsageError(f"device {device!r}: M1's portable engine runs on cpu and cuda devices")
    return model.to(device)


def is_pretrained(model: Any) -> bool:
    """Whether ``model`` names a pretrained LLM (``nct.models.pretrained``) or is an exact Llama engine."""
    if isinstance(model, str):
        from .models.pretrained import names

        return model in names()
    llama = sys.modules.get("nct.models.llama")
    return llama is not None and isinstance(model, llama.Llama)


def resolve_method(method: str | None, model: Any) -> str:
    """The method a call means: ``llm`` for a pretrained LLM (``model="smollm2"``), else ``method``
    (default ``cm``); a pretrained LLM with another method is a ``UsageError``."""
    if is_pretrained(model):
        if method not in (None, DEFAULT_METHOD, "llm"):
            raise UsageError(f"model {model if isinstance(model, str) else 'given'} is a pretrained LLM: it codes with method llm, not {method}")
        return "llm"
    return method or DEFAULT_METHOD


def compressor(
    method: str | None = DEFAULT_METHOD, model: Any = None, progress: bool = False, length: int | None = None, **params: Any
) -> "Compressor":
    """The compressor ``method`` with its parameters; AC and CM load the default M1 unless given
    one, ``llm`` (or ``model="smollm2"``) the pretrained LLM's exact engine. Coding parameters
    out of their bounds raise ``UsageError``. A model coder (ac, static-ac, cm, llm) draws a
    progress bar with ``progress``, and codes in this process when ``length`` (the input's size,
    where known) is small (``coder_options``)."""
    from .compressors.base import get, needs_m1, uses_model
    from .compressors.params import check_params

    method = resolve_method(method, model)
    if method == "llm":
        model = model if model is not None else "smollm2"
    check_params(method, params, UsageError, strict=False)
    if needs_m1(method):
        params["model"] = load_model(model)
    elif model is not None:
        params["model"] = model
    if uses_model(method):
        params = {**params, **coder_options(progress, length, params.get("workers"))}
    return get(method, **params)


def compress(
    data: bytes, method: str | None = DEFAULT_METHOD, model: Any = None, check: bool = False, progress: bool = False, **params
) -> bytes:
    """An archive of ``data``; with ``check``, decode it again and compare before returning.
    ``model``: the M1 of ac and cm (an instance, path or shipped name), or a pretrained LLM
    (``"smollm2"``: method ``llm``, whose archives decode on any machine)."""
    from .compressors.base import uses_model

    method = resolve_method(method, model)
    c = compressor(method, model, progress, len(data), **params)
    model = getattr(c, "model", None) if uses_model(method) else None
    fingerprint = model.fingerprint if model is not None else None
    header = Header(method=method, params=c.params(), model=fingerprint, length=len(data), sha256=checksum(data))
    archive = pack(header, c.compress(data))
    if check:
        decompress(archive, model=model, progress=progress)
    return archive


def decompress(archive: bytes, model: Any = None, progress: bool = False) -> bytes:
    """The original bytes of an archive, verified against its checksum. ``model``: the M1 (an
    instance, a path or a shipped name; default: the shipped default) for methods that need one."""
    header, payload = unpack(archive)
    c = archive_compressor(header, model, progress)
    return verify(header, c.decompress(payload, limit=header.length))


def coder_options(progress: bool, length: int | None, workers: int | None = None) -> dict[str, Any]:
    """What a model coder's factory takes besides its coding parameters (``nct.compressors.base.register``):
    ``progress``, and one worker for an input under ``MIN_PARALLEL`` bytes unless ``workers`` says
    otherwise: forking workers costs more than they save (a 4 KB cm archive: 2 s inline, 24 s over
    two step-group workers on a busy 2-core machine). The bytes written do not depend on either."""
    from .parallel import MIN_PARALLEL  # imports torch, as the model coders do anyway

    small = length is not None and length < MIN_PARALLEL
    return {"progress": progress, "workers": 1 if small and workers is None else workers}


def check_header(header: Header) -> dict:
    """The parameters of a (schema-checked) header, after checking them against their method's
    bounds and that a model-based method, and only one, names a model: CorruptArchive or
    UnsupportedArchive otherwise. Needs no model, so callers check before loading one."""
    from .compressors.base import uses_model
    from .compressors.params import archive_params, check_params

    params = dict(check_params(header.method, archive_params(header.method, header.params), CorruptArchive))
    if uses_model(header.method) != (header.model is not None):
        need = "needs a model fingerprint" if uses_model(header.method) else "uses no model but names one"
        raise CorruptArchive(f"archive is corrupt: method {header.method} {need}")
    return params


def archive_compressor(header: Header, model: Any = None, progress: bool = False) -> Any:
    """The compressor that decodes an archive with this (schema-checked) header, its parameters
    checked and its model's fingerprint matched; ``model`` is used only if the method needs one
    (``progress`` and the header's length as for ``compressor``)."""
    from .compressors.base import get, needs_m1, uses_model

    params = check_header(header)
    if needs_m1(header.method):
        params["model"] = load_model(model)
    elif uses_model(header.method) and model is not None and not isinstance(model, (str, Path)):
        from .compressors.neural import Unigram

        if isinstance(model, Unigram):  # StaticAC's model, given as an instance (an M1 is not one)
            params["model"] = model
        elif header.method == "llm" and is_pretrained(model) and not isinstance(model, str):
            params["model"] = model  # an engine instance; its fingerprint is checked below
    if uses_model(header.method):
        params.update(coder_options(progress, header.length))
    c: Any = get(header.method, **params)
    if header.model is not None and c.model.fingerprint != header.model:
        raise WrongModel(wrong_model_message(header.model, c.model.fingerprint))
    return c


def wrong_model_message(needed: str, given: str) -> str:
    """One line naming the model an archive needs (by its shipped name where it has one)."""
    from .models.shipped import name_of

    need, have = name_of(needed), name_of(given)
    need_s = f"{need} ({needed[:12]})" if need else needed[:12]
    have_s = f"{have} ({given[:12]})" if have else given[:12]
    hint = f"--model {need}" if need else "the same model with --model"
    return f"archive was made with model {need_s}, but the model given is {have_s}; pass {hint}"


def inspect(archive: bytes) -> Header:
    """The header of an archive (after checking its framing, checksum and schema)."""
    return unpack(archive)[0]
