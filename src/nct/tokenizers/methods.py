"""Tokenizer methods by name: a registry like the compressors' (``nct.compressors.base``), and
``MethodSpec``, one grammar that names a configured method two ways.

* **short** (file names, command lines, analysis rows): the method, then the window bits for
  Equal-Info (and ``-delay`` for its delayed window rule), then ``-v<vocabulary>`` unless tokens
  are 8 bits: ``bytes``, ``gzip``, ``static-ac-v65k``, ``equal-info16``, ``equal-info16-v65k``,
  ``equal-info16-delay-v65k``;
* **display** (the papers' tables, ``Tokenizer.name`` style): ``Bytes``, ``GZip[v=256]``,
  ``EqualInfoAC[b=16, v=65k]``, ``EqualInfoAC[b=16, v=65k, delay]``.

``MethodSpec.parse`` reads either; ``short`` and ``display`` write them. A vocabulary of 2^16 is
written ``65k``, as in the papers; other vocabularies as the number.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from .base import Tokenizer
    from .simple import SentencePiece


@dataclass(frozen=True)
class Options:
    """Everything ``build`` may pass to a method's factory (each takes what it needs)."""

    m1: Any = None
    token_bits: int = 8
    bits: int = 16
    rule: str = "greedy"
    reset_every: int = 1
    sentencepiece: "SentencePiece | None" = None
    progress: bool = False
    batch: int = 256  # texts EqualInfoAC codes in lockstep


@dataclass(frozen=True)
class Method:
    """A tokenizer method: its names, what it needs, and its factory (a callable, or
    ``"module:function"`` inside ``nct.tokenizers``, imported only when the method is built, so
    that naming and listing methods imports neither torch nor M1)."""

    name: str  # short name: bytes, sentencepiece, gzip, ac, static-ac, equal-info
    display: str  # Bytes, SentencePiece, GZip, AC, StaticAC, EqualInfoAC
    factory: "str | Callable[[Options], Tokenizer]"
    needs_m1: bool = False  # codes with M1 (the shard manifest records M1's fingerprint)
    tokens: bool = False  # ids are N-bit tokens of a bit stream (``token_bits`` applies)
    windows: bool = False  # Equal-Info windows (``bits`` applies)

    def build(self, options: Options) -> "Tokenizer":
        """The tokenizer for these options."""
        factory = self.factory
        if isinstance(factory, str):
            module, attr = factory.split(":")
            factory = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        return factory(options)


_REGISTRY: dict[str, Method] = {}


def register(name: str, display: str, factory: "str | Callable[[Options], Tokenizer]", m1: bool = False,
             tokens: bool = False, windows: bool = False) -> None:
    """Make ``factory`` (``f(options) -> Tokenizer``) the method ``name``; ``m1``: it codes with
    M1; ``tokens``: its ids are N-bit tokens; ``windows``: it has b-bit windows."""
    _REGISTRY[name] = Method(name, display, factory, m1, tokens or windows, windows)


register("bytes", "Bytes", "simple:bytes_tokenizer")
register("sentencepiece", "SentencePiece", "simple:sentencepiece_tokenizer")
register("gzip", "GZip", "compressed:gzip_tokenizer", tokens=True)
register("ac", "AC", "compressed:ac_tokenizer", m1=True, tokens=True)
register("static-ac", "StaticAC", "compressed:static_ac_tokenizer", tokens=True)
register("equal-info", "EqualInfoAC", "equal_info:equal_info_tokenizer", m1=True, windows=True)


def method_of(name: str) -> Method:
    """The registered method ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown tokenizer method {name!r}; choose one of {', '.join(available())}") from None


def available() -> tuple[str, ...]:
    """Registered method names, in registration order."""
    return tuple(_REGISTRY)


def needs_m1(name: str) -> bool:
    """Whether the tokenizer method ``name`` (or a spec's short or display name) codes with M1."""
    return MethodSpec.parse(name).needs_m1 if name not in _REGISTRY else _REGISTRY[name].needs_m1


def vocab_label(token_bits: int) -> str:
    """``65k`` for 16-bit tokens, else the vocabulary size."""
    return "65k" if token_bits == 16 else str(1 << token_bits)


def _token_bits(label: str) -> int:
    """Inverse of ``vocab_label``."""
    v = 1 << 16 if label == "65k" else int(label)
    if v < 2 or v & (v - 1):
        raise UsageError(f"a vocabulary of {label} is not a power of two")
    return v.bit_length() - 1


_SHORT = re.compile(r"(?P<method>[a-z][a-z-]*?)(?P<bits>\d+)?(?P<delay>-delay)?(?:-v(?P<v>\d+k?))?")
RULES = ("greedy", "delay")  # Equal-Info's window rules (nct.tokenizers.equal_info); greedy the default
_DISPLAY = re.compile(r"(?P<name>[A-Za-z]+)(?:\[(?P<args>[^\]]*)\])?")


@dataclass(frozen=True)
class MethodSpec:
    """A tokenizer method with its token width and (Equal-Info) window bits and rule."""

    method: str
    token_bits: int = 8
    bits: int | None = None  # Equal-Info only (default 16)
    rule: str | None = None  # Equal-Info only: "delay", or None for the default (greedy)

    def __post_init__(self) -> None:
        m = method_of(self.method)
        if m.windows and self.bits is None:
            object.__setattr__(self, "bits", 16)
        if self.bits is not None and not m.windows:
            raise UsageError(f"{self.method} has no windows (bits)")
        if self.rule == RULES[0]:  # the default, written as no rule: one name per method
            object.__setattr__(self, "rule", None)
        if self.rule not in (None, *RULES) or (self.rule is not None and not m.windows):
            raise UsageError(f"{self.method} has no window rule {self.rule!r}" + (f" (one of {', '.join(RULES)})" if m.windows else ""))
        if self.token_bits != 8 and not m.tokens:
            raise UsageError(f"{self.method} has no token width other than 8 bits")

    @classmethod
    def parse(cls, text: str) -> "MethodSpec":
        """A spec from its short (``equal-info16-v65k``) or display (``EqualInfoAC[b=16, v=65k]``) name."""
        text = text.strip()
        short = _SHORT.fullmatch(text)
        if short and short["method"] in _REGISTRY:
            bits = int(short["bits"]) if short["bits"] else None
            return cls(short["method"], _token_bits(short["v"]) if short["v"] else 8, bits, "delay" if short["delay"] else None)
        display = _DISPLAY.fullmatch(text)
        names = {m.display: m.name for m in _REGISTRY.values()}
        if not display or display["name"] not in names:
            raise UsageError(f"not a tokenizer method: {text!r} (e.g. {', '.join(available())}, equal-info16-v65k, "
                             "EqualInfoAC[b=16, v=65k])")
        items = re.split(r",\s*", display["args"]) if display["args"] else []
        args = dict(a.split("=", 1) for a in items if "=" in a)
        flags = [a for a in items if "=" not in a]
        if set(args) - {"b", "v"} or len(flags) > 1 or (flags and flags[0] not in RULES):
            raise UsageError(f"not a tokenizer method: {text!r} (arguments b=, v= and a window rule, {', '.join(RULES)})")
        return cls(names[display["name"]], _token_bits(args["v"]) if "v" in args else 8, int(args["b"]) if "b" in args else None,
                   flags[0] if flags else None)

    @property
    def needs_m1(self) -> bool:
        """Whether the method codes with M1."""
        return method_of(self.method).needs_m1

    @property
    def short(self) -> str:
        """``equal-info16-v65k`` style."""
        v = "" if self.token_bits == 8 else f"-v{vocab_label(self.token_bits)}"
        return f"{self.method}{self.bits if self.bits is not None else ''}{'-' + self.rule if self.rule else ''}{v}"

    @property
    def display(self) -> str:
        """``EqualInfoAC[b=16, v=65k]`` style (the papers')."""
        return self.label()

    def label(self, vocabulary: bool = True) -> str:
        """The display name; without ``vocabulary``, the method as a table's row names it for every
        token width (``EqualInfoAC[b=16]``, ``AC``)."""
        m = method_of(self.method)
        args = [f"b={self.bits}"] if m.windows else []
        args += [f"v={vocab_label(self.token_bits)}"] if m.tokens and vocabulary else []
        args += [self.rule] if self.rule else []
        return m.display + (f"[{', '.join(args)}]" if args else "")

    def build(self, m1: Any = None, **options: Any) -> "Tokenizer":
        """The tokenizer (options as ``build``'s; the spec's token and window bits, and its rule if it names one, win)."""
        named = {"token_bits": self.token_bits, "bits": self.bits or 16, **({"rule": self.rule} if self.rule else {})}
        return build(self.method, m1, **{**options, **named})


def build(
    method: "str | MethodSpec", m1: Any = None, token_bits: int = 8, bits: int = 16, rule: str = "greedy",
    reset_every: int = 1, sentencepiece: "SentencePiece | None" = None, progress: bool = False, batch: int = Options.batch,
    device: str | None = None,
) -> "Tokenizer":
    """The tokenizer for a method (a registered name or a ``MethodSpec``); M1-based methods need
    ``m1`` (moved to ``device`` first if given, ``M1.to``), SentencePiece a trained model;
    ``batch``: texts EqualInfoAC codes in lockstep."""
    if device is not None and m1 is not None:
        m1 = m1.to(device)
    if isinstance(method, MethodSpec):
        return method.build(m1, rule=rule, reset_every=reset_every, sentencepiece=sentencepiece, progress=progress, batch=batch)
    m = method_of(method)
    if m.needs_m1 and m1 is None:
        raise UsageError(f"{method} needs an M1")
    return m.build(Options(m1, token_bits, bits, rule, reset_every, sentencepiece, progress, batch))
