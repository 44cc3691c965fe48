"""The paper's compression table: bytes per token of every method at v=256 and v=65k, with
round-trip exactness, on a sample of a corpus (``nct compression-table``)."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

from tqdm import tqdm

from ..data.shards import EXAMPLE_BYTES, examples
from ..results import papers, tagged
from ..tokenizers.methods import MethodSpec, method_of
from ..tokenizers.pipeline import AnyCorpus, sentencepiece_for, split_of
from ..util import markdown_table


@dataclass
class TableRow:
    """One tokenizer's figures on a sample of text."""

    method: str
    token_bits: int
    vocab_size: int
    bytes: int
    tokens: int
    bytes_per_token: float
    bits_per_byte: float  # tokens x token bits / bytes: what the token stream costs per byte of text
    exact: float  # fraction of examples that decode back exactly
    ambiguous: int  # windows (or whole-example streams) the encoder reported as reading back longer
    examples: int
    encode_kbps: float
    decode_kbps: float


def measure(tok: Any, texts: Sequence[bytes], token_bits: int, method: str) -> TableRow:
    """Encode and decode ``texts`` with ``tok``; sizes, speeds and the exact-decode fraction."""
    t0 = time.perf_counter()
    encoding = tok.encode_result(list(texts))
    ids, ambiguous = encoding.ids, encoding.ambiguous
    t1 = time.perf_counter()
    back = tok.decode_batch(ids)
    t2 = time.perf_counter()
    n_bytes, n_tokens = sum(map(len, texts)), sum(map(len, ids))
    return TableRow(
        method=method,
        token_bits=token_bits,
        vocab_size=tok.vocab_size,
        bytes=n_bytes,
        tokens=n_tokens,
        bytes_per_token=n_bytes / max(1, n_tokens),
        bits_per_byte=n_tokens * math.log2(tok.vocab_size) / max(1, n_bytes),
        exact=sum(a == b for a, b in zip(back, texts)) / max(1, len(texts)),
        ambiguous=ambiguous,
        examples=len(texts),
        encode_kbps=n_bytes / max(t1 - t0, 1e-9) / 1e3,
        decode_kbps=n_bytes / max(t2 - t1, 1e-9) / 1e3,
    )


TABLE_METHODS: list[MethodSpec] = [  # the paper's rows, each at v=256 and (where it has token widths) v=65k
    MethodSpec.parse(name) for name in (
        "bytes", "sentencepiece", "ac", "static-ac", "gzip", "equal-info16", "equal-info16-delay", "equal-info32", "equal-info64",
        "equal-info128",
    )
]

def compression_table(
    corpus: AnyCorpus, m1: Any, max_bytes: int = 102_400, example_bytes: int = EXAMPLE_BYTES, vocab_size: int = 32000,
    split: str = "validation", seed: int = 0,
) -> list[TableRow]:
    """The paper's bytes-per-token table for v=256 and v=65k on a sample of ``split``."""
    texts = examples(split_of(corpus, split), example_bytes, seed)[: max(1, math.ceil(max_bytes / example_bytes))]
    sp = sentencepiece_for(corpus, vocab_size)
    rows = []
    jobs = [replace(spec, token_bits=n) for spec in TABLE_METHODS for n in ((8, 16) if method_of(spec.method).tokens else (8,))]
    for spec in tqdm(jobs, desc="compression table", unit="tokenizer"):
        tok = spec.build(m1, sentencepiece=sp)
        rows.append(measure(tok, texts, spec.token_bits, spec.label(vocabulary=False)))
    return rows


def table_markdown(rows: list[TableRow]) -> str:
    """Bytes per token at v=256 and v=65k beside the paper's, with exact-decode fractions (methods
    not measured are left out)."""
    by = {(r.method, r.token_bits): r for r in rows}
    paper_figures = papers()["tlnct"]["bytes_per_token"]
    out = []
    for name in (spec.label(vocabulary=False) for spec in TABLE_METHODS):
        r8, r16 = by.get((name, 8)), by.get((name, 16))
        if not (r8 or r16):  # not measured
            continue
        if name == "SentencePiece" and r8:
            cells = [f"{r8.bytes_per_token:.2f} (v={r8.vocab_size})", "–"]
        else:
            cells = [f"{r.bytes_per_token:.2f}" if r else "–" for r in (r8, r16)]
        paper = [f"{p:.2f}" if p else "–" for p in paper_figures.get(name, (None, None))]
        measured = [r for r in (r8, r16) if r]
        exact = ", ".join(f"{r.exact:.1%}" for r in measured)
        out.append([name, *cells, *paper, f"{measured[0].bits_per_byte:.3f}", exact])
    head = ["method", "bytes/token v=256", "v=65k", "paper v=256", "paper v=65k", "bits/byte", "exact decode"]
    return markdown_table(head, out, "lrrrrrr")


def save_table(rows: list[TableRow], directory: str | Path, meta: dict) -> str:
    """Write compression_table.json and .md; returns the markdown."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    md = table_markdown(rows)
    (d / "compression_table.json").write_text(json.dumps(tagged("compression-table", {**meta, "rows": [r.__dict__ for r in rows]}), indent=2))
    (d / "compression_table.md").write_text(md)
    return md
