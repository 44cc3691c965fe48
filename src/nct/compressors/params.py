"""Which methods an archive may name, and the parameters each may carry, with their bounds.

One table, read in both directions: ``nct.compress`` checks the caller's coding parameters against
it (a bad value is a ``UsageError`` before any work), and ``nct.decompress`` checks an archive's
parameters against it (an unknown key, a wrong type or a value out of range is a
``CorruptArchive``) before a compressor is built, so that nothing an archive says reaches an
allocation, a loop bound or a constructor unchecked.

``hf`` is not here: its parameter is a model directory, and an archive must never choose what is
loaded (``llm``'s model is a name in ``nct.models.pretrained``'s registry). Its archives are refused (it exists for ``nct bench --model hf:PATH``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import CorruptArchive, NctError, UnsupportedArchive

MAX_BLOCK = 1 << 16  # the largest block ac, static-ac and cm code from BOS


def _int(lo: int, hi: int) -> Callable[[Any], str | None]:
    """A check: an integer (not a bool) in lo..hi; returns what is wrong, or None."""

    def check(v: Any) -> str | None:
        if not isinstance(v, int) or isinstance(v, bool):
            return f"must be an integer, not {type(v).__name__}"
        return None if lo <= v <= hi else f"must be in {lo}..{hi}, not {v}"

    return check


def _one_of(*values: int) -> Callable[[Any], str | None]:
    """A check: one of ``values`` (integers)."""

    def check(v: Any) -> str | None:
        if isinstance(v, int) and not isinstance(v, bool) and v in values:
            return None
        return f"must be one of {', '.join(map(str, values))}, not {v!r}"

    return check


def _mix(v: Any) -> str | None:
    """cm's mixing parameters: an object of integers (or booleans) and short lists of them
    (``orders``...) that ``MixConfig`` accepts (it knows the keys and their ranges)."""
    if not isinstance(v, dict):
        return f"must be an object, not {type(v).__name__}"
    small = _int(-(1 << 16), 1 << 16)
    for key, x in v.items():
        values = x if isinstance(x, list) else [x]
        if len(values) > 32 or any(not isinstance(e, bool) and small(e) for e in values):
            return f"{key} must be an integer or a list of at most 32 integers"
    from ..models.context_mixing import MixConfig

    try:
        MixConfig.from_dict(v)
    except (TypeError, ValueError) as e:  # MixConfig's own checks: unknown keys, values out of range
        return str(e)
    return None


def _precision_fits(p: dict) -> str | None:
    """AC: the CDF total 2^freq_bits must fit the coder's precision."""
    if p.get("freq_bits", 24) > p.get("precision", 32) - 2:
        return f"freq_bits {p.get('freq_bits')} needs a precision of at least {p.get('freq_bits', 24) + 2}"
    return None


LLM_MAX_BLOCK = 2047  # the exact Llama engine's rotary tables hold 2,048 positions (the start token and a block)


def _pretrained(v: Any) -> str | None:
    """llm's model: a pretrained LLM nct knows by name (an archive names a registry entry, never a path)."""
    from ..models.pretrained import names

    return None if isinstance(v, str) and v in names() else f"must be one of {', '.join(names())}, not {v!r}"


_AC = {"block": _int(1, MAX_BLOCK), "precision": _int(16, 32), "freq_bits": _int(9, 30)}
_XZ_LEVELS = (*range(10), *(lv | 0x80000000 for lv in range(10)))  # presets 0..9, and 0e..9e

# method -> (parameter -> check); the methods an archive may name
PARAMS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "cm": {"block": _int(16, MAX_BLOCK), "mix": _mix},
    "ac": _AC,
    "static-ac": _AC,
    "gzip": {"level": _int(0, 9)},
    "bz2": {"level": _int(1, 9)},
    "xz": {"level": _one_of(*_XZ_LEVELS)},
    "zstd": {"level": _int(-(1 << 17), 22)},
    "brotli": {"level": _int(0, 11)},
    "zpaq": {"level": _int(1, 5)},
    "ppmd": {"level": _int(2, 64)},
    "png": {},
    "flac": {},
    "llm": {"model": _pretrained, "block": _int(1, LLM_MAX_BLOCK), "chunk": _int(1, 1 << 31), "match": _int(0, 2)},
}
_CROSS: dict[str, Callable[[dict], str | None]] = {"ac": _precision_fits, "static-ac": _precision_fits}
# what an archive without a parameter means, where that is not the coder's default: the value
# every archive made before the parameter existed was coded with
ABSENT: dict[str, dict[str, Any]] = {"llm": {"match": 0}}


def archive_params(method: str, params: dict) -> dict:
    """An archive's parameters, with the values its absent ones mean (``ABSENT``)."""
    return {**ABSENT.get(method, {}), **params}


def archive_methods() -> list[str]:
    """The methods an archive may name."""
    return sorted(PARAMS)


def check_params(method: str, params: dict, error: type[NctError] = CorruptArchive, strict: bool = True) -> dict:
    """``params`` if they are valid for ``method``, else ``error`` naming the first bad one.
    ``strict``: every key must be known (an archive's); otherwise keys the table does not know
    (a caller's ``workers``, ``progress``...) are passed over."""
    if method not in PARAMS:
        if error is CorruptArchive:
            raise UnsupportedArchive(
                f"archive method {method!r} is not one this nct decodes (it decodes {', '.join(archive_methods())})"
            )
        return params
    spec = PARAMS[method]
    for key, value in params.items():
        if key not in spec:
            if strict:
                raise error(f"{method} archives have no parameter {key!r} (known: {', '.join(spec) or 'none'})")
            continue
        if value is None and not strict:
            continue
        problem = spec[key](value)
        if problem:
            raise error(f"{method} parameter {key} {problem}")
    cross = _CROSS.get(method)
    problem = cross(params) if cross else None
    if problem:
        raise error(f"{method} parameters: {problem}")
    return params
