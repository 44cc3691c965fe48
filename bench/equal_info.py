"""Benchmark: EqualInfoAC encode and decode speed with the shipped M1, batched over 10,240-byte examples.

    python bench/equal_info.py [--model PATH] [--split train] [--bytes 5242880] [--bits 16] [--rule greedy]
    # writes bench/results/equal_info.json

Speed is measured as `nct tokenize` runs: on the training split (the text M2 is trained on), up to
256 examples in lockstep in each worker process (the default 512 examples fill two workers). Every example is decoded
back and compared; ambiguous windows reported by the encoder are counted.
"""

import argparse
import time

from nct.data.corpus import embedded
from nct.data.shards import examples
from nct.results import write_result
from nct.models.m1 import M1
from nct.parallel import available_workers
from nct.tokenizers import EqualInfoAC


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--split", default="train", choices=["train", "validation"])
    p.add_argument("--bytes", type=int, default=512 * 10_240)
    p.add_argument("--bits", type=int, default=16)
    p.add_argument("--token-bits", type=int, default=16)
    p.add_argument("--rule", default="greedy")
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args()
    m1 = M1.load(args.model)
    texts = examples(embedded(args.split), 10_240)
    texts = texts[: max(1, args.bytes // 10_240)]
    tok = EqualInfoAC(m1, bits=args.bits, token_bits=args.token_bits, rule=args.rule, batch=args.batch, progress=True)
    n = sum(map(len, texts))
    t0 = time.perf_counter()
    encoding = tok.encode_result(texts)
    ids = encoding.ids
    t1 = time.perf_counter()
    back = tok.decode_batch(ids)
    t2 = time.perf_counter()
    result = {
        "model": m1.fingerprint,
        "tokenizer": tok.name,
        "rule": args.rule,
        "split": args.split,
        "workers": available_workers(),
        "examples": len(texts),
        "bytes": n,
        "tokens": sum(map(len, ids)),
        "bytes_per_token": n / sum(map(len, ids)),
        "encode_kbps": n / (t1 - t0) / 1e3,
        "decode_kbps": n / (t2 - t1) / 1e3,
        "exact_examples": sum(a == b for a, b in zip(back, texts)),
        "ambiguous_windows": encoding.ambiguous,
    }
    write_result("equal_info", result)


if __name__ == "__main__":
    main()
