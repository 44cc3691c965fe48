"""``nct analyze ANALYSIS``: the paper's analyses of learnability (``nct.analysis``), one
subparser and handler each."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import common
from .eval_m2 import add_checkpoint

NAME, HELP = "analyze", "why compressed text is (not) learnable: the paper's analyses"


def _out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", help=f"directory for {what} (default: print only)")


def _stability(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], object]:
    p.add_argument("--methods", default="sentencepiece,ac,equal-info16",
                   help="bytes, sentencepiece, gzip, ac, static-ac, equal-info<B>[-v65k] (default: sentencepiece,ac,equal-info16)")
    p.add_argument("--sentence", default=None, help="the sentence (default: the paper's)")
    p.add_argument("--prefixes", type=common.positive, default=500, help="how many of the corpus's most common words precede it (default: 500)")
    p.add_argument("--corpus", default="default", help="where the words (and SentencePiece's training text) come from (default: default)")
    common.add_model(p)
    _out(p, "stability.md/.json/.png (and the SentencePiece model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled pairs when there are more than 20,000 (default: 0)")
    p.add_argument("--map-bytes", type=common.non_negative, default=20_000,
                   help="validation bytes for the Equal-Info token map, 0: none (default: 20000)")

    def run(a: argparse.Namespace) -> object:
        from ..analysis.stability import DEFAULT_SENTENCE, main_stability
        from ..tokenizers.methods import MethodSpec

        for method in common.split_list(a.methods):  # a name it cannot parse is a usage error, before any work
            common.from_options(MethodSpec.parse, method)
        return main_stability(methods=a.methods, sentence=a.sentence if a.sentence is not None else DEFAULT_SENTENCE,
                              prefixes=a.prefixes, corpus=a.corpus, model=a.model, out=a.out, seed=a.seed, map_bytes=a.map_bytes)

    return run


def _uniformity(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], object]:
    p.add_argument("--shards", action="append", required=True, help="a shard directory; repeat for several (required)")
    p.add_argument("--ngram", default="1..16", help="n-gram sizes in bits: 1..16, or a list 1,8,16 (default: 1..16)")
    p.add_argument("--max-tokens", type=common.positive, help="use at most this many tokens of each shard directory (default: all)")
    _out(p, "uniformity.md/.json/.png")
    p.add_argument("--seed", type=int, default=0, help="seed of the random-bits baseline (default: 0)")

    def run(a: argparse.Namespace) -> object:
        from ..analysis.uniformity import main_uniformity

        for d in a.shards:
            common.existing_dir(d, "shard directory")
        return main_uniformity(shards=a.shards, ngram=a.ngram, max_tokens=a.max_tokens, seed=a.seed, out=a.out)

    return run


def _positions(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], object]:
    add_checkpoint(p)
    p.add_argument("--shards", help="held-out shards (default: the run's)")
    _out(p, "positions.md/.json/.png")

    def run(a: argparse.Namespace) -> object:
        from ..analysis.positions import main_positions

        common.existing_dir(a.checkpoint, "M2 run directory")
        return main_positions(checkpoint=a.checkpoint, shards=a.shards, out=a.out)

    return run


def _learn_ac(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], object]:
    p.add_argument("--task", choices=["compress", "decompress"], required=True, help="(required)")
    p.add_argument("--method", default="equal-info16", help="ac or equal-info<B> (8-bit tokens) (default: equal-info16)")
    p.add_argument("--segment-bytes", type=common.positive, default=32, help="text bytes per example (default: 32)")
    p.add_argument("--train-pairs", type=common.positive, default=20_000, help="(default: 20000)")
    p.add_argument("--held-out-pairs", type=common.positive, default=500, help="(default: 500)")
    p.add_argument("--size", default="cpu-1m", help="probe size, an M2 preset (default: cpu-1m)")
    common.add_training(p, steps=1500, batch_size=32, full=False)
    p.add_argument("--corpus", default="default", help="(default: default)")
    common.add_model(p)
    p.add_argument("--out", help="run directory; resumable (default: runs/learn-ac-TASK-METHOD)")

    def run(a: argparse.Namespace) -> object:
        from ..analysis.learn_ac import main_learn_ac

        return main_learn_ac(task=a.task, method=a.method, segment_bytes=a.segment_bytes, train_pairs=a.train_pairs,
                             held_out_pairs=a.held_out_pairs, size=a.size, steps=a.steps, batch_size=a.batch_size,
                             lr=a.lr, seed=a.seed, corpus=a.corpus, model=a.model, out=a.out)

    return run


ANALYSES: dict[str, tuple[str, Callable[[argparse.ArgumentParser], Callable[[argparse.Namespace], object]]]] = {
    "stability": ("one sentence after many prefixes: Levenshtein distances of its tokens", _stability),
    "uniformity": ("KL divergence from uniform of bit n-grams and tokens (Miller-Madow)", _uniformity),
    "positions": ("an M2's accuracy by token position inside an Equal-Info window", _positions),
    "learn-ac": ("can a Transformer learn to compress or decompress? a seq2seq probe vs a target-only LM", _learn_ac),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help=HELP, description=HELP)
    asub = p.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    for name, (text, add) in ANALYSES.items():
        ap = asub.add_parser(name, help=text, description=text)
        ap.set_defaults(func=_handler(add(ap)))


def _handler(analysis: Callable[[argparse.Namespace], object]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        analysis(args)
        return 0

    return run
