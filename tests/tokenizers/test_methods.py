"""The tokenizer registry and MethodSpec's one grammar (short and display names)."""

import pytest

from nct.tokenizers import METHODS, EqualInfoAC, MethodSpec, build, needs_m1

PAIRS = [
    ("bytes", "Bytes"), ("sentencepiece", "SentencePiece"), ("gzip", "GZip[v=256]"), ("ac", "AC[v=256]"),
    ("static-ac", "StaticAC[v=256]"), ("static-ac-v65k", "StaticAC[v=65k]"), ("equal-info16", "EqualInfoAC[b=16, v=256]"),
    ("equal-info16-v65k", "EqualInfoAC[b=16, v=65k]"), ("equal-info32-v2", "EqualInfoAC[b=32, v=2]"),
]


@pytest.mark.parametrize("short,display", PAIRS)
def test_short_and_display_names_are_one_grammar(short, display):
    spec = MethodSpec.parse(short)
    assert MethodSpec.parse(display) == spec
    assert (spec.short, spec.display) == (short, display)


def test_methods_and_which_need_m1():
    assert METHODS == ("bytes", "sentencepiece", "gzip", "ac", "static-ac", "equal-info")
    assert [m for m in METHODS if needs_m1(m)] == ["ac", "equal-info"]
    assert needs_m1("EqualInfoAC[b=16, v=65k]") and not needs_m1("static-ac-v65k")
    assert MethodSpec.parse("equal-info") == MethodSpec("equal-info", 8, 16)


@pytest.mark.parametrize("bad", ["lzma", "equal-info16-v100", "Bytes[v=65k]", "gzip16", "EqualInfo[b=16]"])
def test_bad_names_are_refused(bad):
    with pytest.raises(ValueError):
        MethodSpec.parse(bad)


def test_build_by_name_or_spec(tiny_m1):
    tok = MethodSpec.parse("equal-info24-v65k").build(tiny_m1, rule="delay")
    assert isinstance(tok, EqualInfoAC) and (tok.bits, tok.token_bits, tok.rule) == (24, 16, "delay")
    assert build(MethodSpec.parse("gzip-v65k")).vocab_size == 1 << 16
    with pytest.raises(ValueError, match="needs an M1"):
        build("ac")
    with pytest.raises(ValueError, match="unknown tokenizer method"):
        build("lzma")
