import json

import numpy as np
import pytest

from nct.analysis.uniformity import main_uniformity
from nct.data.shards import Manifest, write_shards
from nct.eval.reproduce import PRESETS, write_results
from nct.report import build_report, collect, markdown_to_html, reproduce_checks


def _run(name, size, bpb, uniform, unigram):
    return {
        "name": name, "size": size, "bits_per_byte": bpb, "baselines": {"uniform": uniform, "unigram": unigram},
        "non_embedding_params": 1000 if size == "s" else 4000, "flops_per_byte": 2e3, "bytes_per_step": 2.0, "seconds": 60.0,
    }


RUNS = [
    _run("Bytes", "s", 2.7, 8.0, 4.4),
    _run("AC[v=256]", "s", 1.684, 1.683, 1.683),
    _run("GZip[v=256]", "s", 3.19, 3.2, 3.2),
    _run("EqualInfoAC[b=16, v=65k]", "s", 2.8, 3.45, 2.94),
]


def test_reproduce_checks_say_what_agrees_and_why_not():
    checks = {c.claim: c for c in reproduce_checks(RUNS, steps=200, tokens=409_600)}
    assert checks["AC[v=256] is not learnable: M2 stays at its uniform baseline"].agrees
    assert checks["GZip learns (below its uniform baseline) but stays worse than Bytes"].agrees
    eq = checks["EqualInfoAC[b=16, v=65k] reaches lower bits/byte than Bytes at equal training FLOPs"]
    assert not eq.agrees and "409,600 tokens" in eq.why and "2.800" in eq.evidence
    better = [dict(r, bits_per_byte=2.5) if r["name"].startswith("Equal") else r for r in RUNS]
    assert all(c.agrees for c in reproduce_checks(better, steps=200, tokens=409_600))


def test_markdown_to_html_tables_and_escaping():
    out = markdown_to_html("Some **bold** <x>\n\n| a | b \\| c |\n|---|---:|\n| 1 | 2 |\n")
    assert "<strong>bold</strong> &lt;x&gt;" in out
    assert "<th>b | c</th>" in out and '<td class="r">2</td>' in out and out.count("<tr>") == 2


def test_report_from_a_tiny_run(tmp_path):
    cfg = PRESETS["cpu"]
    (tmp_path / "reproduce").mkdir()
    write_results(RUNS, cfg, tmp_path / "reproduce")
    m = Manifest("ac", {}, 256, None, "test", 3000, extra={"tokenizer": "AC[v=256]"})
    write_shards(tmp_path / "shards" / "ac", m, [bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8))],
                 lambda group: [list(t) for t in group])

    main_uniformity(shards=[str(tmp_path / "shards" / "ac")], ngram="1..8", out=str(tmp_path / "analysis"))
    assert [s.title for s in collect(tmp_path)] == ["Training over compressed text (reproduce)", "Uniformity of compressed tokens"]
    html_path, md_path = build_report(tmp_path)
    page, md = html_path.read_text(), md_path.read_text()
    assert page.startswith("<!doctype html>") and page.count("data:image/png;base64,") == 3  # 2 reproduce plots + 1 KL plot
    assert "disagrees" in page and "1.25" in page  # the paper's EqualInfoAC[b=16, v=65k] at 25m beside ours
    assert "![bpb_vs_flops](reproduce/bpb_vs_flops.png)" in md and "agree with 2 and disagree with 1" in md
    assert json.loads((tmp_path / "reproduce" / "results.json").read_text())["runs"][0]["name"] == "Bytes"


def test_report_errors(tmp_path, capsys):
    from nct.cli import main

    with pytest.raises(ValueError, match="no nct results"):
        collect(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 1
    assert "missing" in capsys.readouterr().err


def test_benchmark_section_puts_lmic_beside_ours_and_checks_its_findings(tmp_path):
    from nct.report import section_for

    def total(kind, method, bpb):
        return {"data": "total", "kind": kind, "method": method, "bits_per_byte": bpb}

    rows = [total("text", "ac", 2.0), total("text", "gzip", 4.0), total("text", "brotli", 3.4),
            total("image", "gzip", 5.4), total("image", "png", 4.4), total("image", "ac", 19.0)]
    with_llm = rows + [total("text", "llm", 1.2), total("image", "llm", 4.1)]
    d = tmp_path / "embedded"
    d.mkdir()
    (d / "results.json").write_text(json.dumps({"chunk": 2048, "rows": rows}))
    (d / "results.md").write_text("| a |\n|---|\n| 1 |\n")
    section = section_for(d / "results.json")
    assert section.title == "LM as compressor: benchmark embedded (2048-byte chunks)"
    assert "| text | gzip | 4.000 | 50.0% | 48.1% |" in section.text and "| image | png | 4.400 | 55.0% | 61.7% |" in section.text
    verdicts = {c.claim.split(" (")[0]: c.agrees for c in section.checks}
    assert verdicts == {
        "a byte-level LM compresses text better than every classical compressor in 2048-byte chunks": True,
        "PNG beats the general-purpose compressors on image chunks": True,
        "a language model trained on text compresses image better than PNG": False,
    }
    (d / "results.json").write_text(json.dumps({"chunk": 2048, "rows": with_llm}))
    checks = {c.claim: c for c in section_for(d / "results.json").checks}
    text = checks["a pretrained LLM compresses text better than every classical compressor in 2048-byte chunks"]
    assert text.agrees and text.evidence.startswith("smollm2 1.200")
    image = {c.claim.split("; ")[0]: c.agrees for c in checks.values() if "compresses image better than PNG" in c.claim}
    assert image == {"a language model trained on text compresses image better than PNG (M1": False,
                     "a language model trained on text compresses image better than PNG (smollm2": True}
    (d / "results.json").write_text(json.dumps({"chunk": None, "rows": rows}))
    whole = section_for(d / "results.json")
    assert whole.title.endswith("(whole files)") and whole.checks == [] and "LMIC" not in whole.text


def test_learn_ac_sections_check_only_what_the_paper_measured(tmp_path):
    from nct.report import section_for

    def section(task, method, acc, base):
        d = tmp_path / f"{task}-{method}"
        d.mkdir()
        (d / "learn_ac.json").write_text(json.dumps({"task": task, "method": method, "accuracy": acc, "baseline_accuracy": base}))
        return section_for(d / "learn_ac.json")

    [compress] = section("compress", "ac", 0.015, 0.005).checks
    assert compress.agrees and "1.7%" in compress.evidence
    [decompress] = section("decompress", "equal-info16", 0.526, 0.457).checks
    assert not decompress.agrees and "95.3%" in decompress.evidence and "52.6%" in decompress.why
    assert section("compress", "equal-info16", 0.19, 0.075).checks == []
