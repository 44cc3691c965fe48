"""`nct bench` on a shipped evaluation suite: bench/results/suite-NAME.json and the table.

    python bench/suite.py --suite unseen [--methods gzip,xz,zpaq,ppmd] [--model M1.pt] [--block 1024]

The methods default to ``nct.eval.bench.SUITE_METHODS`` (AC with the shipped M1 and every
classical baseline); every figure comes from a verified round trip (``nct.eval.bench``).
"""

from __future__ import annotations

import argparse

from nct.data.suites import SUITES
from nct.eval.bench import SUITE_METHODS, main_bench
from nct.results import write_result


def main() -> None:
    """Run the bench on one suite and save its result."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", required=True, choices=SUITES)
    p.add_argument("--methods", default=SUITE_METHODS)
    p.add_argument("--model", default=None, help="M1 model file (default: the shipped M1)")
    p.add_argument("--block", type=int, default=None, help="AC block size in bytes")
    p.add_argument("--chunk", type=int, default=None, help="compress each CHUNK-byte piece on its own")
    p.add_argument("--results", default="bench/results", help="directory for suite-NAME.json")
    a = p.parse_args()
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    result = main_bench(data=[f"suite:{a.suite}"], methods=methods, model=a.model, block=a.block, chunk=a.chunk)  # prints the tables
    write_result(f"suite-{a.suite}", result, a.results)


if __name__ == "__main__":
    main()
