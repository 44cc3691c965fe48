"""Compression benchmark: every compressor on the same files; every figure from a verified round trip.

For each (file, method): bits/byte of the compressor's payload (what its own format costs; the
.nct container adds the same ~250-byte header to every method and is left out), compress and
decompress speed in KB/s (1 KB = 1000 bytes), peak resident memory, and whether the decoded bytes
equal the input. A row that did not verify is reported as such and its figures are not used.
"""

from __future__ import annotations

import json
import platform
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..compressors.base import Compressor
from ..models.m1 import M1


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


def write_result(name: str, result: dict, directory: str | Path = "bench/results") -> None:
    """Print a benchmark's result and save it as ``directory/name.json``."""
    text = json.dumps(result, indent=2)
    print(text)
    out = Path(directory) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


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


def bench_one(name: str, data: bytes, method: str, c: Compressor) -> BenchRow:
    """Compress, decompress, compare, and time one input with one compressor."""
    _reset_peak_rss()
    t0 = time.perf_counter()
    payload = c.compress(data)
    t1 = time.perf_counter()
    restored = c.decompress(payload)
    t2 = time.perf_counter()
    ok = restored == data
    n = max(1, len(data))
    return BenchRow(
        data=name,
        method=method,
        bytes=len(data),
        compressed=len(payload),
        bits_per_byte=8 * len(payload) / n,
        compress_kbps=len(data) / max(t1 - t0, 1e-9) / 1e3,
        decompress_kbps=len(data) / max(t2 - t1, 1e-9) / 1e3,
        peak_rss_mb=_peak_rss_mb(),
        verified=ok,
        compress_seconds=t1 - t0,
        decompress_seconds=t2 - t1,
    )


def totals(rows: list[BenchRow]) -> list[BenchRow]:
    """One 'total' row per method over all inputs (sizes and times summed)."""
    out = []
    for method in dict.fromkeys(r.method for r in rows):
        rs = [r for r in rows if r.method == method]
        n, z = sum(r.bytes for r in rs), sum(r.compressed for r in rs)
        tc, td = sum(r.compress_seconds for r in rs), sum(r.decompress_seconds for r in rs)
        out.append(
            BenchRow(
                "total", method, n, z, 8 * z / max(1, n), n / max(tc, 1e-9) / 1e3, n / max(td, 1e-9) / 1e3,
                max(r.peak_rss_mb for r in rs), all(r.verified for r in rs), tc, td,
            )
        )
    return out


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
    head = "| data | method | bytes | bits/byte | compress KB/s | decompress KB/s | peak RSS MB | verified |\n"
    head += "|---|---|---:|---:|---:|---:|---:|---|\n"
    lines = [
        f"| {r.data} | {r.method} | {r.bytes:,} | {r.bits_per_byte:.3f} | {r.compress_kbps:,.1f} | "
        f"{r.decompress_kbps:,.1f} | {r.peak_rss_mb:,.0f} | {'yes' if r.verified else '**NO**'} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


def run_bench(datasets: dict[str, bytes], compressors: dict[str, Compressor]) -> list[BenchRow]:
    """Every compressor on every dataset, with a progress bar."""
    rows = []
    jobs = [(n, m) for n in datasets for m in compressors]
    for name, method in tqdm(jobs, desc="bench", unit="run"):
        rows.append(bench_one(name, datasets[name], method, compressors[method]))
    return rows


def environment() -> dict:
    """Machine and software the figures were measured on."""
    import nct

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "nct": nct.__version__,
        "machine": platform.machine(),
        "processor": _cpu_name(),
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _cpu_name() -> str:
    """CPU model name from /proc/cpuinfo, or the platform's answer."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def load_datasets(paths: list[str] | None) -> dict[str, bytes]:
    """Named inputs: the embedded validation files by default, else the given files / directories."""
    from ..data.corpus import embedded, load_corpus

    if not paths:
        return {d.name: d.data for d in embedded("validation").documents}
    out = {}
    for p in paths:
        for d in load_corpus(p).documents:
            out[d.name] = d.data
    return out


def main_bench(args) -> dict:
    """``nct bench``: run, print the table, and write results.json / results.md with --out."""
    from ..api import compressor, load_model

    datasets = load_datasets(args.data)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    m1 = load_model(args.model) if "ac" in methods else None
    params = {"block": args.block} if args.block else {}
    comps = {m: compressor(m, m1 if m == "ac" else None, **(params if m == "ac" else {})) for m in methods}
    rows = run_bench(datasets, comps)
    rows += totals(rows)
    result: dict = {"environment": environment(), "rows": [asdict(r) for r in rows]}
    text = markdown(rows)
    if m1 is not None:
        block = comps["ac"].params()["block"]
        score = scoring_kbps(m1, b"".join(datasets.values()), block)
        ac = next(r for r in rows if r.data == "total" and r.method == "ac")
        result["m1"] = {
            "fingerprint": m1.fingerprint,
            "manifest": m1.meta,
            "scoring_kbps": score,
            "compress_to_scoring": ac.compress_kbps / score,
            "decompress_to_scoring": ac.decompress_kbps / score,
        }
        text += (
            f"\nM1 {m1.fingerprint[:12]}: teacher-forced scoring {score:,.1f} KB/s; AC compress runs at "
            f"{ac.compress_kbps / score:.2f}x and decompress at {ac.decompress_kbps / score:.2f}x of it.\n"
        )
    bad = [r for r in rows if not r.verified]
    if bad:
        text += f"\n**{len(bad)} round trips did NOT verify**: " + ", ".join(f"{r.data}/{r.method}" for r in bad) + "\n"
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(result, indent=2))
        (out / "results.md").write_text(text)
    return result
