"""The tokenizer registry and MethodSpec's one grammar (short and display names)."""

import pytest

from nct.tokenizers import METHODS, EqualInfoAC, MethodSpec, build, needs_m1

PAIRS = [
    ("bytes", "Bytes"), ("sentencepiece", "SentencePiece"), ("gzip", "GZip[v=256]"), ("ac", "AC[v=256]"),
    ("static-ac", "StaticAC[v=256]"), ("static-ac-v65k", "StaticAC[v=65k]"), ("equal-info16", "EqualInfoAC[b=16, v=256]"),
    ("equal-info16-v65k", "EqualInfoAC[b=16, v=65k]"), ("equal-info32-v2", "EqualInfoAC[b=32, v=2]"),
    ("equal-info16-delay", "EqualInfoAC[b=16, v=256, delay]"), ("equal-info32-delay-v65k", "EqualInfoAC[b=32, v=65k, delay]"),
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
    assert MethodSpec.parse("equal-info") == MethodSpec("equal-info", 8, 16) == MethodSpec("equal-info", 8, 16, "greedy")
    assert MethodSpec.parse("EqualInfoAC[b=16, delay]").label(vocabulary=False) == "EqualInfoAC[b=16, delay]"
    assert MethodSpec.parse("ac-v65k").label(vocabulary=False) == "AC"


@pytest.mark.parametrize("bad", ["lzma", "equal-info16-v100", "Bytes[v=65k]", "gzip16", "EqualInfo[b=16]", "gzip-delay",
                                 "EqualInfoAC[b=16, slow]", "EqualInfoAC[b=16, x=3]", "AC[delay]"])
def test_bad_names_are_refused(bad):
    with pytest.raises(ValueError):
        MethodSpec.parse(bad)


def test_build_by_name_or_spec(tiny_m1):
    tok = MethodSpec.parse("equal-info24-v65k").build(tiny_m1, rule="delay")
    assert isinstance(tok, EqualInfoAC) and (tok.bits, tok.token_bits, tok.rule) == (24, 16, "delay")
    assert MethodSpec.parse("equal-info16-delay").build(tiny_m1, rule="greedy").rule == "delay"  # the spec's rule wins
    assert build(MethodSpec.parse("gzip-v65k")).vocab_size == 1 << 16
    with pytest.raises(ValueError, match="needs an M1"):
        build("ac")
    with pytest.raises(ValueError, match="unknown tokenizer method"):
        build("lzma")


def test_build_moves_m1_to_a_device(tiny_m1):
    moved = build("equal-info", m1=tiny_m1, device="cpu")
    assert moved.m1.device == "cpu" and moved.m1.fingerprint == tiny_m1.fingerprint  # the portable engine, the same model
    assert build("equal-info", m1=tiny_m1).m1 is tiny_m1


def test_the_default_rule_is_no_rule():
    assert MethodSpec("bytes", rule="greedy") == MethodSpec("bytes") and MethodSpec("equal-info", rule="greedy").short == "equal-info16"
