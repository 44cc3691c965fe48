"""Compression benchmark: every compressor on the same files; every figure from a verified round trip.

For each (file, method): bits/byte of the compressor's payload (what its own format costs; the
.nct container adds the same ~250-byte header to every method and is left out), compress and
decompress speed in KB/s (1 KB = 1000 bytes), peak resident memory, and whether the decoded bytes
equal the input. A row that did not verify is reported as such and its figures are not used.

Inputs have a kind (text, image, audio, random; ``load_datasets``); a format that models one kind
(``png``: image, ``flac``: audio) runs on that kind only, every other method on all, and totals are
per kind and method. Chunked mode (LMIC): the input is cut into ``chunk``-byte pieces, each
compressed on its own; a format's fixed cost (``nct.compressors.base.fixed_cost``: its headers,
by default its payload for empty input) is counted once, not per chunk. AC's and StaticAC's blocks
are such chunks already, so they code the whole input with ``block = chunk`` (their per-block
lengths stay counted), in parallel lockstep batches. Rows of a model-based compressor also get an
*adjusted* rate: payload plus the model's size (M1: its stored tensors, int8 weights as shipped; a
Hugging Face LM: 2 bytes per parameter, as LMIC), over the input's bytes. With ``--out``, plots of
the totals go beside the tables, after LMIC's summary table (a row per kind, a column per method).
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from typing import Any
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tqdm import tqdm

from ..compressors.base import Compressor, fixed_cost, needs_m1
from ..errors import UsageError
from ..compressors.neural import BlockCoder, NeuralCompressor
from ..models.m1 import M1
from ..plots import pyplot, save
from ..results import environment, tagged
from ..util import markdown_table


@dataclass(frozen=True)
class Dataset:
    """One benchmark input and its kind: text, image, audio or random."""

    kind: str
    data: bytes


@dataclass
class BenchRow:
    """One compressor on one input."""

    data: str
    method: str
    bytes: int
    compressed: int
    bits_per_byte: float
    compress_kbps: float
    decompress_kbps: float
    peak_rss_mb: float
    verified: bool
    compress_seconds: float
    decompress_seconds: float
    adjusted_bits_per_byte: float | None = None  # model-based rows: the model's size counted too
    model_bytes: int = 0  # that size (0: no model)
    kind: str = "text"  # the input's data kind


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter for this process (Linux); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    """Peak resident set size since the last reset (or since start), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_one(name: str, data: bytes, method: str, c: Compressor, chunk: int | None = None, kind: str = "text") -> BenchRow:
    """Compress, decompress, compare, and time one input with one compressor (each ``chunk``-byte
    piece on its own, the format's fixed cost counted once)."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] if chunk and data else [data]
    _reset_peak_rss()
    t0 = time.perf_counter()
    payloads = [c.compress(p) for p in pieces]
    t1 = time.perf_counter()
    restored = [c.decompress(p) for p in payloads]
    t2 = time.perf_counter()
    ok = restored == pieces
    size = sum(map(len, payloads)) - (len(pieces) - 1) * fixed_cost(c) if len(pieces) > 1 else len(payloads[0])
    n = max(1, len(data))
    return BenchRow(
        data=name,
        method=method,
        bytes=len(data),
        compressed=size,
        bits_per_byte=8 * size / n,
        compress_kbps=len(data) / max(t1 - t0, 1e-9) / 1e3,
        decompress_kbps=len(data) / max(t2 - t1, 1e-9) / 1e3,
        peak_rss_mb=_peak_rss_mb(),
        verified=ok,
        compress_seconds=t1 - t0,
        decompress_seconds=t2 - t1,
        kind=kind,
    )


def total(rows: list[BenchRow], kind: str) -> BenchRow:
    """A 'total' row of one method's rows (sizes and times summed; the model counted once in an
    adjusted rate)."""
    n, z = sum(r.bytes for r in rows), sum(r.compressed for r in rows)
    tc, td = sum(r.compress_seconds for r in rows), sum(r.decompress_seconds for r in rows)
    size = rows[0].model_bytes
    return BenchRow(
        "total", rows[0].method, n, z, 8 * z / max(1, n), n / max(tc, 1e-9) / 1e3, n / max(td, 1e-9) / 1e3,
        max(r.peak_rss_mb for r in rows), all(r.verified for r in rows), tc, td,
        8 * (z + size) / max(1, n) if size else None, size, kind,
    )


def totals(rows: list[BenchRow]) -> list[BenchRow]:
    """One 'total' row per data kind and method."""
    groups = dict.fromkeys((r.kind, r.method) for r in rows)
    return [total([r for r in rows if (r.kind, r.method) == g], g[0]) for g in groups]


SCORING_SAMPLE = 1 << 18  # bytes scored for M1's teacher-forced speed (a speed figure needs no more)


def scoring_kbps(m1: M1, data: bytes, block: int) -> float:
    """M1's teacher-forced scoring speed (integer CDFs of every byte, no coding), KB/s."""
    from ..train.m1 import blocks_of

    x, _, _ = blocks_of(data, block, m1.bos)
    per = max(1, 16384 // block)
    t0 = time.perf_counter()
    for i in range(0, len(x), per):
        m1.cdfs(x[i : i + per])
    return len(data) / (time.perf_counter() - t0) / 1e3


def markdown(rows: list[BenchRow]) -> str:
    """A markdown table of benchmark rows."""
    head = ["data", "kind", "method", "bytes", "bits/byte", "adjusted", "compress KB/s", "decompress KB/s", "peak RSS MB", "verified"]
    return markdown_table(head, [[
        r.data, r.kind, r.method, f"{r.bytes:,}", f"{r.bits_per_byte:.3f}",
        "–" if r.adjusted_bits_per_byte is None else f"{r.adjusted_bits_per_byte:.3f}", f"{r.compress_kbps:,.1f}",
        f"{r.decompress_kbps:,.1f}", f"{r.peak_rss_mb:,.0f}", "yes" if r.verified else "**NO**",
    ] for r in rows], "lllrrrrrrl")


def summary_markdown(sums: list[BenchRow]) -> str:
    """The totals as LMIC's table: a row per data kind, a column per method, bits/byte (a model
    row's adjusted rate in brackets; – where a method does not apply, the best in bold)."""
    kinds = list(dict.fromkeys(r.kind for r in sums))
    methods = list(dict.fromkeys(r.method for r in sums))
    by = {(r.kind, r.method): r for r in sums}
    rows = []
    for kind in kinds:
        rs = [by[kind, m] for m in methods if (kind, m) in by]
        best = min(r.bits_per_byte for r in rs)
        cells = []
        for m in methods:
            r = by.get((kind, m))
            if r is None:
                cells.append("–")
                continue
            cell = f"**{r.bits_per_byte:.3f}**" if r.bits_per_byte == best else f"{r.bits_per_byte:.3f}"
            cells.append(cell + (f" [{r.adjusted_bits_per_byte:.2f}]" if r.adjusted_bits_per_byte is not None else ""))
        rows.append([kind, f"{rs[0].bytes:,}", *cells])
    return markdown_table(["kind", "bytes", *methods], rows, "lr" + "r" * len(methods))


def run_bench(datasets: dict[str, Dataset], compressors: dict[str, Compressor], chunk: int | None = None) -> list[BenchRow]:
    """Every compressor on every dataset of a kind it applies to, with a progress bar (bytes
    compressed and decompressed, the current input and method beside it); rows of a
    model-based compressor (AC with M1, a Hugging Face LM) also get the adjusted rate."""
    rows = []
    jobs = [(n, m) for n in datasets for m in compressors if applies(compressors[m], datasets[n].kind)]
    bar = tqdm(total=sum(len(datasets[n].data) for n, _ in jobs), desc="bench", unit="B", unit_scale=True)
    for name, method in jobs:
        c, d = compressors[method], datasets[name]
        bar.set_postfix_str(f"{name} / {method}")
        row = bench_one(name, d.data, method, c, None if codes_blocks(c) else chunk, d.kind)
        bar.update(len(d.data))
        rows.append(with_model_size(row, c))
    bar.close()
    return rows


def with_model_size(row: BenchRow, c: Compressor) -> BenchRow:
    """``row`` of compressor ``c`` with its model's size and adjusted rate, for a model-based ``c``
    (AC or CM with M1, a Hugging Face LM)."""
    m1 = getattr(c, "model", None)
    size = model_bytes(m1) if _uses_m1(c) and isinstance(m1, M1) else getattr(c, "model_bytes", 0)
    if not size:
        return row
    return replace(row, model_bytes=size, adjusted_bits_per_byte=8 * (row.compressed + size) / max(1, row.bytes))


def applies(c: Compressor, kind: str) -> bool:
    """Whether ``c`` is benchmarked on data of ``kind`` (a format that states ``kinds``: those only)."""
    return kind in getattr(c, "kinds", (kind,))


def codes_blocks(c: Compressor) -> bool:
    """Whether ``c`` codes independent blocks (AC, StaticAC; ``llm`` cutting its own chunks): in
    chunked mode its blocks are the chunks, and the whole input is coded at once (in parallel
    batches) instead of chunk by chunk. (CM's blocks share adaptive models, so chunks are coded one by one.)"""
    return (isinstance(c, NeuralCompressor) and isinstance(c.coder, BlockCoder)) or getattr(c, "chunk", 0) > 0


def _uses_m1(c: Compressor) -> bool:
    """Whether ``c`` codes with M1 (AC, CM: the adjusted rate counts M1's size)."""
    return isinstance(c, NeuralCompressor) and needs_m1(c.name)


def model_bytes(m1: M1) -> int:
    """The stored size of M1's tensors (int8 weight matrices), as shipped."""
    return sum(t.nbytes for t in m1.stored().values())


def load_datasets(specs: list[str] | None) -> dict[str, Dataset]:
    """Named inputs: the embedded validation text by default, else for each spec ``text[:PATH]``
    (or a bare PATH: a file or directory of text), ``image[:PATH]`` or ``audio[:PATH]`` (a file
    or directory, one input per file, as ``nct.data.media`` turns it into bytes; without a path
    its embedded defaults), ``suite:NAME`` (each file of a shipped suite, ``nct.data.suites``, as
    text) or ``random[:BYTES]`` (seeded uniform bytes, 1 MiB by default: incompressible, the
    check that no method expands data much)."""
    out: dict[str, Dataset] = {}
    for spec in specs or ["text"]:
        kind, _, rest = spec.partition(":")
        if kind not in LOADERS:
            kind, rest = "text", spec
        for name, data in LOADERS[kind](rest).items():
            if name in out:
                raise UsageError(f"two inputs are named {name!r}; give them different names")
            out[name] = Dataset("text" if kind == "suite" else kind, data)
    return out


def _text(path: str) -> dict[str, bytes]:
    """A text file or directory's documents, or the embedded validation text without a path."""
    from ..data.corpus import embedded, load_corpus

    return {d.name: d.data for d in (load_corpus(path) if path else embedded("validation")).documents}


def _suite(name: str) -> dict[str, bytes]:
    """The files of the shipped suite ``name`` (checked against its manifest)."""
    from ..data.suites import SUITES, load_suite

    if not name:
        raise UsageError(f"suite: needs a name, one of {', '.join(SUITES)}")
    return load_suite(name)


def _random(size: str) -> dict[str, bytes]:
    """``size`` (default 1 MiB) seeded uniform random bytes."""
    import numpy as np

    if size and not size.isdigit():
        raise UsageError(f"random:{size}: the size must be a number of bytes")
    n = int(size) if size else 1 << 20
    return {f"random-{n}": np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()}


def _image(path: str) -> dict[str, bytes]:
    """Images' grayscale patches, or the embedded pictures without a path."""
    from ..data import media

    return media.load_images(path) if path else media.embedded_images()


def _audio(path: str) -> dict[str, bytes]:
    """Audio as 8-bit 16 kHz mono, or the embedded synthetic music without a path."""
    from ..data import media

    return media.load_audios(path) if path else media.embedded_audio()


LOADERS: dict[str, Callable[[str], dict[str, bytes]]] = {
    "text": _text, "image": _image, "audio": _audio, "random": _random, "suite": _suite,
}
BENCH_METHODS = "cm,ac,static-ac,gzip,bz2,xz,zstd,brotli,png,flac"  # `nct bench`'s methods unless given
SUITE_METHODS = "cm,ac,gzip,bz2,xz,zstd,brotli,zpaq,ppmd"  # with --suite


def plot_totals(rows: list[BenchRow], directory: Path) -> list[Path]:
    """From 'total' rows: bits_per_byte.png (each method's bits/byte per data kind, grouped bars)
    and, with model rows, adjusted_rate.png (their raw vs adjusted bits/byte); the paths written."""
    from matplotlib.patches import Patch

    plt = pyplot()

    kinds = list(dict.fromkeys(r.kind for r in rows))
    colors = {m: f"C{i % 10}" for i, m in enumerate(dict.fromkeys(r.method for r in rows))}
    width = 0.8 / max(sum(r.kind == k for r in rows) for k in kinds)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.3 * len(rows) + 2.5), 4), dpi=150)
    for i, kind in enumerate(kinds):
        rs = [r for r in rows if r.kind == kind]
        for j, r in enumerate(rs):
            ax.bar(i + (j - (len(rs) - 1) / 2) * width, r.bits_per_byte, width, color=colors[r.method])
    ax.axhline(8, color="gray", lw=0.8, ls="--")  # 8 bits/byte: stored as is
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylabel("bits/byte (total per kind)")
    ax.legend(handles=[Patch(color=c, label=m) for m, c in colors.items()], fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    paths = [save(fig, directory / "bits_per_byte.png")]
    models = [r for r in rows if r.adjusted_bits_per_byte is not None]
    if models:
        fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(models) + 2), 4), dpi=150)
        x = range(len(models))
        ax.bar([i - 0.2 for i in x], [r.bits_per_byte for r in models], 0.4, label="raw (payload)")
        ax.bar([i + 0.2 for i in x], [r.adjusted_bits_per_byte for r in models], 0.4, label="adjusted (+ model)")
        ax.set_xticks(x, [f"{r.method}\n{r.kind}" for r in models])
        ax.set_ylabel("bits/byte")
        ax.legend(fontsize=7)
        paths.append(save(fig, directory / "adjusted_rate.png"))
    return paths


def main_bench(
    data: list[str] | None = None, methods: list[str] | None = None, model: "str | M1 | None" = None,
    block: int | None = None, chunk: int | None = None, out: str | Path | None = None, head: int | None = None,
) -> dict:
    """``nct bench``: run, print the table, and with ``out`` write results.json, results.md and the
    plots there. ``data``: dataset specs (``load_datasets``); ``methods``: default ``BENCH_METHODS``;
    ``model``: an M1 (shipped name or file) or ``hf:PATH``; ``block``: AC's and CM's block;
    ``chunk``: compress each piece of this size on its own (LMIC); ``head``: only each input's first bytes."""
    datasets = {k: replace(d, data=d.data[:head]) for k, d in load_datasets(data).items()}
    lineup = Lineup.of(methods, model, block, chunk)
    comps = lineup.compressors()
    runs = run_bench(datasets, comps, chunk)
    if not runs:
        raise UsageError(f"none of {', '.join(lineup.methods)} applies to the data kinds given (png: image, flac: audio)")
    sums = totals(runs)
    result = tagged("bench", {"environment": environment(), "chunk": chunk, "head": head, "rows": [asdict(r) for r in runs + sums]})
    if "hf" in comps:
        result["hf"] = {"path": lineup.hf, "fingerprint": comps["hf"].fingerprint}  # type: ignore[attr-defined]
    text = report_text(runs, sums)
    if lineup.m1 is not None:
        coders = [m for m in lineup.methods if needs_m1(m)]
        block = comps[coders[0]].params()["block"]
        score = scoring_kbps(lineup.m1, b"".join(d.data for d in datasets.values())[:SCORING_SAMPLE], block)
        result["m1"] = {"fingerprint": lineup.m1.fingerprint, "manifest": lineup.m1.meta, "scoring_kbps": score}
        text += f"\nM1 {lineup.m1.fingerprint[:12]}: teacher-forced scoring {score:,.1f} KB/s."
        for m in coders:
            t = total([r for r in runs if r.method == m], "all")
            key = "" if m == "ac" else f"{m}_"
            result["m1"][f"{key}compress_to_scoring"] = t.compress_kbps / score
            result["m1"][f"{key}decompress_to_scoring"] = t.decompress_kbps / score
            text += f" {m.upper()} compress runs at {t.compress_kbps / score:.2f}x and decompress at {t.decompress_kbps / score:.2f}x of it."
        text += "\n"
    return publish(result, text + unverified(runs + sums), sums, out)


@dataclass
class Lineup:
    """The compressors of a benchmark: methods (a Hugging Face LM in AC's place with ``hf``), the
    M1 the model-based ones share (loaded once), AC's and CM's blocks and the chunk (LMIC) if any."""

    methods: list[str]
    m1: M1 | None
    block: int | None = None
    chunk: int | None = None
    hf: str | None = None
    llm: str | None = None  # a pretrained LLM (``llm``) beside M1's methods

    @classmethod
    def of(cls, methods: list[str] | None, model: "str | M1 | None", block: int | None, chunk: int | None) -> "Lineup":
        """Check the options, and load the model the methods need (``model``: an M1, a shipped name,
        a file or ``hf:PATH``; or a pretrained LLM's name: ``llm`` joins the default M1's methods)."""
        from ..api import is_pretrained, load_model

        methods = list(methods or BENCH_METHODS.split(","))
        llm = model if isinstance(model, str) and is_pretrained(model) else None
        if llm:
            methods, model = (methods if "llm" in methods else [*methods, "llm"]), None
        hf = model[3:] if isinstance(model, str) and model.startswith("hf:") else None
        if hf:  # a Hugging Face LM takes M1's place
            methods = ["hf" if m == "ac" else m for m in methods]
        if chunk is not None and chunk < 1:
            raise UsageError("--chunk must be at least 1 byte")
        if chunk and block and block != chunk:
            raise UsageError("with --chunk, AC's blocks are the chunks: leave out --block")
        return cls(methods, load_model(model) if any(needs_m1(m) for m in methods) else None, block, chunk, hf, llm)

    def compressors(self) -> dict[str, Compressor]:
        """Each method's compressor: AC's blocks are ``block``, or the chunks; StaticAC's are the
        chunks in chunked mode, and ``llm`` cuts the chunks itself; CM's ``block``."""
        from ..api import compressor
        from ..compressors.hf import HFCompressor

        blocks: dict[str, Any] = {"ac": self.chunk or self.block, "static-ac": self.chunk, "cm": self.block}
        return {
            m: HFCompressor(self.hf) if m == "hf" and self.hf
            else compressor(m, self.llm, **self._llm_params()) if m == "llm"
            else compressor(m, self.m1 if needs_m1(m) else None, **({"block": blocks[m]} if blocks.get(m) else {}))
            for m in self.methods
        }


    def _llm_params(self) -> dict[str, Any]:
        """``llm``'s parameters: chunked, the chunk (it cuts them itself)."""
        return {"chunk": self.chunk} if self.chunk else {}


def report_text(runs: list[BenchRow], sums: list[BenchRow]) -> str:
    """The printed report: LMIC's summary table of the totals, then every row."""
    return f"Total bits/byte per data kind (adjusted rate in brackets):\n\n{summary_markdown(sums)}\n{markdown(runs + sums)}"


def unverified(rows: list[BenchRow]) -> str:
    """A line naming the round trips that did not verify (empty if all did)."""
    bad = [r for r in rows if not r.verified]
    if not bad:
        return ""
    return f"\n**{len(bad)} round trips did NOT verify**: " + ", ".join(f"{r.data}/{r.method}" for r in bad) + "\n"


def publish(result: dict, text: str, sums: list[BenchRow], out: str | Path | None) -> dict:
    """Print the report and, with ``out``, write results.json, results.md and the plots there."""
    print(text)
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(result, indent=2))
        (out / "results.md").write_text(text)
        plot_totals(sums, out)
    return result
