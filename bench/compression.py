"""Benchmark: M1 + AC vs classical compressors on the embedded validation text (every round trip verified).

    python bench/compression.py            # writes bench/results/compression/results.{json,md}

Same as `nct bench --out bench/results/compression`; extra arguments are passed to `nct bench`.
"""

import sys

from nct.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--out", "bench/results/compression", *sys.argv[1:]]))
