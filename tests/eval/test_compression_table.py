import pytest

from nct.eval.compression_table import TABLE_METHODS, TableRow, compression_table, table_markdown
from nct.results import papers
from tests.tokenizers.test_pipeline import CORPUS

NAMES = [spec.label(vocabulary=False) for spec in TABLE_METHODS]

FEW = ["Bytes", "SentencePiece", "GZip", "EqualInfoAC[b=16]", "EqualInfoAC[b=64]"]  # AC, StaticAC, delay: tests/tokenizers


def test_compression_table_of_a_few_methods(tiny_m1, monkeypatch):
    """The slow test's checks on the methods whose table figures no tokenizer test covers."""
    import nct.eval.compression_table as ct

    monkeypatch.setattr(ct, "TABLE_METHODS", [spec for spec in TABLE_METHODS if spec.label(vocabulary=False) in FEW])
    check_table(compression_table(CORPUS, tiny_m1, max_bytes=1000, example_bytes=500, vocab_size=400), FEW)


@pytest.mark.slow
def test_compression_table(tiny_m1):
    rows = compression_table(CORPUS, tiny_m1, max_bytes=1000, example_bytes=500, vocab_size=400)
    check_table(rows, ["Bytes", "SentencePiece", "AC", "StaticAC", "GZip", "EqualInfoAC[b=16]"])


def check_table(rows: list[TableRow], expected: list[str]) -> None:
    """Every expected method measured, Bytes at 1 byte and 8 bits per token, Equal-Info windows as
    two 8-bit or one 16-bit token, every inexact example reported by its encoder, the markdown."""
    names = {r.method for r in rows}
    assert set(expected) <= names
    bytes_row = next(r for r in rows if r.method == "Bytes")
    assert bytes_row.bytes_per_token == 1.0 and bytes_row.bits_per_byte == 8.0 and bytes_row.exact == 1.0
    eq16 = {r.token_bits: r for r in rows if r.method == "EqualInfoAC[b=16]"}
    assert eq16[8].tokens == 2 * eq16[16].tokens  # a 16-bit window is two 8-bit tokens or one 16-bit one
    for r in rows:  # every example that does not decode exactly was reported by its encoder
        assert round((1 - r.exact) * r.examples) <= r.ambiguous, r
    assert all(r.exact == 1.0 for r in rows if r.method in ("Bytes", "GZip", "SentencePiece"))
    assert "| EqualInfoAC[b=16] |" in table_markdown(rows)


def test_table_markdown_sets_the_papers_figures_beside_ours():
    rows = [TableRow(name, n, 1 << n, 1000, 1000 // (n // 4), n / 4, 8.0, 1.0, 0, 2, 1.0, 1.0) for name in NAMES for n in (8, 16)]
    md = table_markdown(rows)
    assert "| AC | 2.00 | 4.00 | 5.49 | 10.98 | 8.000 | 100.0%, 100.0% |" in md
    assert "| EqualInfoAC[b=16, delay] | 2.00 | 4.00 | 2.20 | – |" in md
    assert set(papers()["tlnct"]["bytes_per_token"]) - {"_about"} == set(NAMES)


def test_saved_table_is_tagged_and_becomes_a_report_section(tmp_path):
    import json

    from nct.eval.compression_table import save_table
    from nct.report import section_for

    rows = [TableRow("Bytes", 8, 256, 1000, 1000, 1.0, 8.0, 1.0, 0, 2, 100.0, 100.0)]
    md = save_table(rows, tmp_path, {"corpus": "test"})
    saved = json.loads((tmp_path / "compression_table.json").read_text())
    assert saved["kind"] == "compression-table" and saved["rows"][0]["method"] == "Bytes"
    section = section_for(tmp_path / "compression_table.json")
    assert section is not None and "bytes per token" in section.title and section.text == md
