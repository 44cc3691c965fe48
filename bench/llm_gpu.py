"""Issue 15, part 6 (prepared on the CPU; run on a GPU machine): the `smollm2` preset's archives
made on the CPU decode on CUDA, bit for bit, and the engine's speed there.

    python bench/llm_gpu.py --make DIR [--bytes 8192]            # on the CPU: archives to carry
    python bench/llm_gpu.py --archives DIR [--device cuda] [--name llm_gpu] [--out DIR2]

``--make`` compresses the first ``--bytes`` bytes of three unseen-suite files (prose, code, a
table; evaluation text) with ``nct.compress(data, model="smollm2")`` on this machine's CPU and
writes each archive and a manifest (file, bytes, the input's SHA-256 and the archive's) to DIR.
``--archives`` loads the engine on ``--device`` (every operation in PyTorch there, float64 sums),
decodes each archive and compares it with the suite's bytes (timed), compresses the same bytes
again on the device and compares the archive with the CPU's byte for byte, then times the cached
decoding step at 1, 8 and 32 rows (``llm_step.step_ms``). With ``--device cpu`` it is a dry run of
the same steps. Writes NAME.json (bench/results, or ``--out``); exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import nct
from nct.data.suites import load_suite
from nct.models import pretrained
from nct.results import environment, write_result

sys.path.insert(0, str(Path(__file__).parent))
from llm_step import step_ms  # noqa: E402

FILES = ("alice29.txt", "zstd.c", "airports.csv")  # prose, code, a table


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def make(out: Path, size: int) -> None:
    """Write the CPU's archives of each file's first ``size`` bytes and their manifest to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    suite, manifest = load_suite("unseen"), []
    for name in FILES:
        data = suite[name][:size]
        archive = nct.compress(data, model="smollm2")
        (out / f"{name}.nct").write_bytes(archive)
        manifest.append({"file": name, "bytes": len(data), "sha256": sha256(data), "archive_sha256": sha256(archive)})
        print(manifest[-1], flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def check(archives: Path, device: str) -> tuple[list[dict], bool]:
    """Decode and re-encode each archive on ``device``: the rows of the result, and whether all agreed."""
    engine = pretrained.load("smollm2", device)
    suite, rows, ok = load_suite("unseen"), [], True
    for entry in json.loads((archives / "manifest.json").read_text()):
        archive = (archives / f"{entry['file']}.nct").read_bytes()
        data = suite[entry["file"]][: entry["bytes"]]
        t = time.perf_counter()
        decoded = nct.decompress(archive, model=engine)
        decode_s = time.perf_counter() - t
        t = time.perf_counter()
        again = nct.compress(data, method="llm", model=engine)
        encode_s = time.perf_counter() - t
        row = {"file": entry["file"], "bytes": len(data), "decodes_identically": decoded == data and sha256(decoded) == entry["sha256"],
               "same_archive": sha256(again) == entry["archive_sha256"] == sha256(archive),
               "decompress_kbps": round(len(data) / decode_s / 1e3, 3), "compress_kbps": round(len(data) / encode_s / 1e3, 3)}
        ok = ok and row["decodes_identically"] and row["same_archive"]
        rows.append(row)
        print(row, flush=True)
    return rows, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--make", type=Path, help="write the CPU's archives and manifest to this directory")
    ap.add_argument("--bytes", type=int, default=8192, help="bytes of each file's start (with --make)")
    ap.add_argument("--archives", type=Path, help="a directory --make wrote")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--name", default="llm_gpu", help="result file name (default: llm_gpu)")
    ap.add_argument("--out", default="bench/results", help="directory for the result file")
    args = ap.parse_args()
    if args.make:
        make(args.make, args.bytes)
        return
    if not args.archives:
        ap.error("give --make DIR or --archives DIR")
    rows, ok = check(args.archives, args.device)
    engine = pretrained.load("smollm2", args.device)
    steps = [{"rows": r, "position": 500, "step_ms": step_ms(engine, r, 500, 5)} for r in (1, 8, 32)]
    for s in steps:
        s["tokens_per_s"] = round(1e3 * s["rows"] / s["step_ms"])
        print(s, flush=True)
    info = {"device": args.device}
    if args.device.startswith("cuda"):
        import torch

        info.update(name=torch.cuda.get_device_name(args.device), cuda=torch.version.cuda)
    write_result(args.name, {"kind": "bench/llm_gpu", "schema": 1, "command": " ".join(["python", *sys.argv]), "engine": engine.fingerprint,
                             "environment": environment(), "device": info, "archives": rows, "steps": steps, "all_identical": ok}, args.out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
