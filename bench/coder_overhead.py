"""Benchmark: arithmetic-coder overhead against the ideal code length sum(-log2 p) on 1 MB of real text.

    python bench/coder_overhead.py [--model PATH] [--bytes 1000000]   # writes bench/results/coder_overhead.json

The probabilities are M1's integer CDFs on the embedded text (validation split first, then training
text to reach the size; M1's figures on training text are not compression results, only the coder's
overhead is measured here). Blocks of 4096 bytes, each stream ended with its shortest terminating
bit string and packed to whole bytes: the overhead reported is everything the coder adds.
"""

import argparse
import time

import torch

from nct.coding.arithmetic import Encoder, pack_bits
from nct.data.corpus import embedded
from nct.results import write_result
from nct.models.m1 import M1
from nct.train.m1 import blocks_of


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--bytes", type=int, default=1_000_000)
    p.add_argument("--block", type=int, default=4096)
    args = p.parse_args()
    m1 = M1.load(args.model)
    text = b"".join(d.data for d in embedded("validation").documents)
    text += b"".join(d.data for d in embedded("train").documents)
    text = text[: args.bytes]
    x, y, lengths = blocks_of(text, args.block, m1.bos)
    ideal = coded = unpacked = 0.0
    t0 = time.perf_counter()
    for i in range(0, len(x), 4):
        cdf = m1.cdfs(x[i : i + 4])
        lo = cdf.gather(-1, y[i : i + 4, :, None])[..., 0]
        hi = cdf.gather(-1, y[i : i + 4, :, None] + 1)[..., 0]
        tot = cdf[..., -1]
        bits = torch.log2(tot.double()) - torch.log2((hi - lo).double())
        for j in range(len(lo)):
            n = int(lengths[i + j])
            ideal += bits[j, :n].sum().item()
            enc = Encoder()
            for a, b, c in zip(lo[j, :n].tolist(), hi[j, :n].tolist(), tot[j, :n].tolist()):
                enc.encode(a, b, c)
            stream = enc.finish()
            unpacked += len(stream)
            coded += 8 * len(pack_bits(stream))
    result = {
        "model": m1.fingerprint,
        "bytes": len(text),
        "blocks": len(x),
        "ideal_bits": ideal,
        "coded_bits_unpacked": unpacked,
        "coded_bits_packed": coded,
        "overhead_percent_unpacked": 100 * (unpacked - ideal) / ideal,
        "overhead_percent_packed": 100 * (coded - ideal) / ideal,
        "ideal_bits_per_byte": ideal / len(text),
        "seconds": time.perf_counter() - t0,
    }
    write_result("coder_overhead", result)


if __name__ == "__main__":
    main()
