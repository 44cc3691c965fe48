"""The report dispatches on each result's kind tag (nct.results), and reads the papers' numbers as data."""

import json
import os

import pytest

from nct.report import SECTIONS, section_for
from nct.results import KINDS, kind_of, papers, tagged


def test_every_kind_has_a_section_and_tags_come_first():
    assert set(SECTIONS) == set(KINDS)
    assert list(tagged("bench", {"rows": [], "kind": "old"})) == ["kind", "schema", "rows"]
    with pytest.raises(ValueError, match="unknown result kind"):
        tagged("benchmark", {})


def test_the_tag_decides_and_untagged_files_are_recognised(tmp_path):
    rows = [{"data": "total", "kind": "text", "method": "gzip", "bits_per_byte": 4.0}]
    p = tmp_path / "results.json"
    assert kind_of(p, {"chunk": None, "rows": rows}) == "bench"  # written before the tag
    assert kind_of(p, tagged("scaling", {"chunk": None, "rows": rows})) == "scaling"  # the tag wins over keys
    assert kind_of(tmp_path / "uniformity.json", []) == "uniformity" and kind_of(p, [1]) is None
    p.write_text(json.dumps(tagged("bench", {"chunk": 2048, "rows": rows})))
    assert section_for(p).title.endswith("(2048-byte chunks)")
    p.write_text(json.dumps({"something": "else"}))
    assert section_for(p) is None


def test_uniformity_sections_read_both_forms(tmp_path):
    rows = [{"name": "AC[v=256]", "n": 8, "kl_bits": 0.001}, {"name": "EqualInfoAC[b=16, v=65536]", "n": 8, "kl_bits": 0.2}]
    for result in (rows, tagged("uniformity", {"rows": rows})):
        (tmp_path / "uniformity.json").write_text(json.dumps(result))
        [check] = section_for(tmp_path / "uniformity.json").checks
        assert check.agrees


def test_papers_numbers_are_keyed_by_method_spec():
    from nct.tokenizers import MethodSpec

    tlnct = papers()["tlnct"]
    for table in (tlnct["m2_25m_bits_per_byte"], tlnct["trivial_uniform_unigram"]):
        assert all(MethodSpec.parse(k).short == k for k in table)
    assert tlnct["m2_25m_bits_per_byte"]["equal-info16-v65k"] == 1.25


def test_environment_and_write_result(tmp_path, capsys):
    from nct.results import environment, write_result

    env = environment()
    assert {"python", "torch", "nct", "machine", "processor", "vector_extensions", "threads", "date"} <= env.keys()
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    assert ("avx2" in env["vector_extensions"].split()) == (" avx2 " in flags.replace("\n", " "))
    write_result("x", tagged("bench", {"rows": []}), tmp_path / "r")
    assert json.loads((tmp_path / "r" / "x.json").read_text())["kind"] == "bench" and '"schema": 1' in capsys.readouterr().out
