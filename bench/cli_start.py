"""How fast the `nct` command starts and codes a small file: bench/results/cli_start.json.

    python bench/cli_start.py [--runs 5]

Each figure is the wall time of a whole `nct` process (start-up, imports, model load, coding,
exit), the minimum and median over ``--runs`` runs (with the machine's 1-minute load average before
and after, since other work slows every figure): `nct --help`, `nct info` of an archive, and
`nct compress` then `nct decompress` of a 4 KB text file with the default method (cm, the shipped
M1) and with xz. The issue's targets: `--help` under 1 s, compress and decompress of 4 KB under
3 s each. Also records whether `--help`, `info`, xz and cm on 4 KB import PyTorch (none does: M1
codes inputs under 32 KB with its compiled steps).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nct.data.corpus import embedded
from nct.results import environment, write_result

NCT = [sys.executable, "-m", "nct.cli"]


def timed(args: list[str], runs: int) -> dict:
    """Wall seconds of ``nct ARGS`` over ``runs`` runs (each must succeed)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([*NCT, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return {"min_s": round(min(times), 3), "median_s": round(statistics.median(times), 3), "runs": runs}


def imports_torch(args: list[str]) -> bool:
    """Whether ``nct ARGS`` (run in-process in a fresh interpreter) imports PyTorch."""
    code = f"import sys\nfrom nct.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1] == "True"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="runs per figure (default: 5)")
    p.add_argument("--results", default="bench/results", help="directory for cli_start.json (default: bench/results)")
    runs = p.parse_args().runs
    load_before = os.getloadavg()[0]  # other work on the machine slows every figure
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "notes.txt"
        text.write_bytes(embedded("validation").documents[0].data[:4096])
        figures = {"help": timed(["--help"], runs)}
        for method in ("cm", "xz"):
            archive = Path(tmp) / f"notes-{method}.nct"
            figures[f"compress_4k_{method}"] = timed(["compress", "-q", "-f", "--method", method, str(text), "-o", str(archive)], runs)
            figures[f"decompress_4k_{method}"] = timed(["decompress", "-q", "-f", str(archive), "-o", str(Path(tmp) / "back")], runs)
        figures["info"] = timed(["info", str(Path(tmp) / "notes-cm.nct")], runs)
        torch = {
            "help": imports_torch(["--help"]), "info": imports_torch(["info", str(Path(tmp) / "notes-cm.nct")]),
            "xz_round_trip": imports_torch(["decompress", "-q", "-t", str(Path(tmp) / "notes-xz.nct")]),
            "cm_4k_decompress": imports_torch(["decompress", "-q", "-t", str(Path(tmp) / "notes-cm.nct")]),
        }
    result = {"environment": environment(), "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "bytes": 4096, "figures": figures, "imports_torch": torch}
    write_result("cli_start", result, p.parse_args().results)


if __name__ == "__main__":
    main()
