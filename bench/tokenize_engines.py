"""Benchmark: `nct tokenize` with the local and the Ray engine on a few MB of JSONL.gz, and the peak
memory of a streamed ~1 GB input.

    python bench/tokenize_engines.py [--mib 4] [--files 2] [--method equal-info] [--pairs 3] [--memory-gib 1] [--work /tmp/nct-bench]
    # writes bench/results/tokenize_engines.json

Throughput: the embedded corpus's training split (text no figure is reported on) cut into C4-like
documents of about 2 KB, written as ``--files`` JSONL.gz files of ``--mib`` MiB of text in all, then
``nct tokenize --method equal-info --bits 16 --token-bits 16 --split all`` (the shipped default M1)
timed as a whole process, ``--pairs`` times with each engine in alternation, local then Ray (Ray: a
local cluster started by the run, so its start-up is counted); the ratio is the median of the
pairs'. The first pair's shard directories are compared file by file. Each file is one input
whose last chunk is coded on its own, so many small files underfill the local engine's lockstep
batches (2 MiB files: one chunk of 205 examples each, 2 x 103 in lockstep, as the Ray engine's pieces).

Memory: the same documents repeated into ``--memory-gib`` GiB of text in 8 JSONL.gz files,
tokenized with ``--method bytes`` (no M1: the run reads, cuts and writes the whole input in
minutes), then benchmarked by ``nct bench --corpus`` with gzip (pieces of 1 MiB, every
one decoded and compared), while the summed resident memory of the process and its children is
sampled every 0.1 s.
"""

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from nct.data.corpus import embedded
from nct.results import write_result


def documents(size: int = 2048) -> list[str]:
    """The training split's text cut at line ends into documents of about ``size`` bytes."""
    out = []
    for doc in embedded("train").documents:
        text = doc.data.decode("utf-8", errors="replace")
        start = 0
        while start < len(text):
            end = text.find("\n", start + size)
            end = len(text) if end < 0 else end + 1
            out.append(text[start:end])
            start = end
    return out


def write_corpus(directory: Path, docs: list[str], total: int, files: int) -> str:
    """``files`` JSONL.gz files holding ``total`` bytes of the documents (repeated as needed); their glob."""
    if directory.exists():
        return str(directory / "part-*.json.gz")
    directory.mkdir(parents=True)
    per_file, i = total // files, 0
    for f in range(files):
        written = 0
        with gzip.open(directory / f"part-{f:05d}.json.gz", "wt", compresslevel=1) as out:
            while written < per_file:
                doc = docs[i % len(docs)]
                out.write(json.dumps({"text": doc, "url": f"doc/{i}"}) + "\n")
                written += len(doc.encode())
                i += 1
    return str(directory / "part-*.json.gz")


def run(args: list[str]) -> tuple[float, int]:
    """(wall seconds, peak summed RSS in bytes of the process tree) of ``nct ARGS``."""
    proc = subprocess.Popen([sys.executable, "-m", "nct", *args], stderr=subprocess.DEVNULL)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.1)

    t0 = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    seconds = time.perf_counter() - t0
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"nct {' '.join(args)} failed with status {proc.returncode}")
    return seconds, peak[0]


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(stat[1]), []).append(int(entry))
            rss[int(entry)] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def same_shards(a: Path, b: Path) -> bool:
    """Whether two shard directories hold the same files (the manifest up to its sentencepiece_dir)."""
    names = sorted(f.name for f in a.iterdir())
    if names != sorted(f.name for f in b.iterdir()):
        return False
    for name in names:
        if name == "manifest.json":
            ma, mb = (json.loads((d / name).read_text()) for d in (a, b))
            ma["extra"].pop("sentencepiece_dir"), mb["extra"].pop("sentencepiece_dir")
            if ma != mb:
                return False
        elif (a / name).read_bytes() != (b / name).read_bytes():
            return False
    return True


def tokenize_pairs(small: str, method: list[str], pairs: int, work: Path) -> dict:
    """``pairs`` runs with each engine, alternating (local, ray, local, ...): each run's figures, the
    medians, and the median of the pairs' Ray/local throughput ratios."""
    runs: dict[str, list[dict]] = {"local": [], "ray": []}
    for pair in range(pairs):
        for engine in ("local", "ray"):
            out = work / f"shards-{engine}"
            shutil.rmtree(out, ignore_errors=True)
            seconds, peak = run(["tokenize", *method, "--corpus", small, "--out", str(out), "--split", "all", "--engine", engine])
            n_bytes = json.loads((out / "manifest.json").read_text())["n_bytes"]
            runs[engine].append({"seconds": round(seconds, 1), "bytes": n_bytes, "kb_per_s": round(n_bytes / seconds / 1e3, 2),
                                 "peak_rss_mib": round(peak / 2**20)})
            print(f"pair {pair + 1}/{pairs}", engine, runs[engine][-1], flush=True)
        if pair == 0:
            identical = same_shards(work / "shards-local", work / "shards-ray")
    ratios = [r["kb_per_s"] / h["kb_per_s"] for h, r in zip(runs["local"], runs["ray"])]
    result: dict = {engine: {"median_kb_per_s": statistics.median(r["kb_per_s"] for r in rs), "runs": rs} for engine, rs in runs.items()}
    return {**result, "ray_over_local_per_pair": [round(x, 3) for x in ratios], "ray_over_local": round(statistics.median(ratios), 3),
            "identical_shards": identical}


def memory(docs: list[str], gib: float, work: Path) -> dict:
    """Peak memory of a ``gib`` GiB streamed input (8 JSONL.gz files): tokenized with ``--method
    bytes``, and benchmarked with ``nct bench --corpus`` (gzip; pieces of 1 MiB), local engine."""
    big = write_corpus(work / f"c4-{gib}gib", docs, int(gib * 2**30), 8)
    gz_bytes = sum(f.stat().st_size for f in Path(big).parent.iterdir())
    out = work / "shards-big"
    shutil.rmtree(out, ignore_errors=True)
    seconds, peak = run(["tokenize", "--method", "bytes", "--corpus", big, "--out", str(out), "--split", "all"])
    n_bytes = json.loads((out / "manifest.json").read_text())["n_bytes"]
    shutil.rmtree(out, ignore_errors=True)
    result = {"tokenize": {"method": "bytes", "engine": "local", "input_bytes": n_bytes, "gz_bytes": gz_bytes,
                           "seconds": round(seconds, 1), "peak_rss_mib": round(peak / 2**20)}}
    seconds, peak = run(["bench", "--corpus", big, "--methods", "gzip", "--out", str(work / "bench-big")])
    rows = json.loads((work / "bench-big" / "results.json").read_text())["rows"]
    result["bench"] = {"methods": "gzip", "engine": "local", "input_bytes": rows[-1]["bytes"], "seconds": round(seconds, 1),
                       "peak_rss_mib": round(peak / 2**20), "verified": all(r["verified"] for r in rows)}
    print("memory", result, flush=True)
    return result


def cpu_name() -> str:
    """The processor's model name (/proc/cpuinfo), else the machine type."""
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mib", type=float, default=4)
    p.add_argument("--files", type=int, default=2)
    p.add_argument("--method", default="equal-info")
    p.add_argument("--pairs", type=int, default=3, help="alternating runs of each engine (the ratio is their median)")
    p.add_argument("--memory-gib", type=float, default=1)
    p.add_argument("--work", default="/tmp/nct-bench")
    args = p.parse_args()
    work = Path(args.work)
    docs = documents()
    small = write_corpus(work / f"c4-{args.mib}mib-{args.files}files", docs, int(args.mib * 2**20), args.files)
    result: dict = {"machine_load_before": os.getloadavg(), "method": args.method, "input_mib": args.mib, "files": args.files,
                    "cpu": cpu_name(), "cores": os.cpu_count()}
    method = ["--method", args.method] + (["--bits", "16", "--token-bits", "16"] if args.method == "equal-info" else [])
    result.update(tokenize_pairs(small, method, args.pairs, work))
    if args.memory_gib:
        result["memory"] = memory(docs, args.memory_gib, work)
    result["machine_load_after"] = os.getloadavg()
    write_result("tokenize_engines", result)


if __name__ == "__main__":
    main()
