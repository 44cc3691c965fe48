"""The ``nct`` command line: one subcommand per capability, mapping onto the Python API."""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from pathlib import Path

SUFFIX = ".nct"


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _read_input(path: str) -> bytes:
    """Bytes of a file, or of stdin for '-'."""
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if p.is_dir():
        raise CliError(f"{path}: is a directory")
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except PermissionError:
        raise CliError(f"{path}: permission denied") from None
    except OSError as e:
        raise CliError(f"{path}: cannot read ({e.strerror})") from None


def _write_output(path: str, data: bytes, force: bool) -> None:
    """Write atomically (temporary file + rename) or to stdout for '-'; never clobber without force."""
    from .util import atomic_path

    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _refuse_existing(path, force)
    p = Path(path)
    if not p.parent.is_dir():
        raise CliError(f"{p.parent}: no such directory")
    if not os.access(p.parent, os.W_OK):
        raise CliError(f"{p.parent}: directory is not writable")
    try:
        with atomic_path(p) as tmp:
            tmp.write_bytes(data)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise CliError(f"{p.parent}: directory is not writable") from None
        raise CliError(f"{path}: cannot write ({e.strerror})") from None


def _refuse_existing(path: str, force: bool) -> None:
    """Fail early, before any work, if an output exists and may not be overwritten."""
    if path != "-" and Path(path).exists() and not force:
        raise CliError(f"{path}: already exists (use --force to overwrite)")


def _output_name(args: argparse.Namespace, source: str, compressing: bool) -> str:
    """The -o path, or the input's name with .nct added / removed."""
    if args.output and len(args.inputs) > 1:
        raise CliError("-o names one output; give one input with it")
    if args.output:
        return args.output
    if source == "-":
        return "-"
    if compressing:
        return source + SUFFIX
    if not source.endswith(SUFFIX):
        raise CliError(f"{source}: does not end in {SUFFIX}; name the output with -o")
    return source[: -len(SUFFIX)]


def cmd_compress(args: argparse.Namespace) -> None:
    """nct compress."""
    from . import api
    from .compressors import needs_m1

    params = {"block": args.block} if args.block is not None else {}
    if params and args.method not in ("ac", "cm", "static-ac"):
        raise CliError(f"--block applies to cm, ac and static-ac, not {args.method}")
    model = api.load_model(args.model) if needs_m1(args.method) else None
    for source in args.inputs:
        data = _read_input(source)
        out = _output_name(args, source, compressing=True)
        _refuse_existing(out, args.force)
        archive = api.compress(data, args.method, model, check=args.verify, progress=not args.quiet, **params)
        _write_output(out, archive, args.force)
        if not args.quiet and out != "-":
            bpb = 8 * len(archive) / len(data) if data else 0.0
            checked = ", verified" if args.verify else ""
            print(f"{source}: {len(data)} -> {len(archive)} bytes ({bpb:.3f} bits/byte{checked})", file=sys.stderr)
        if len(data) >= 4096 and len(archive) > len(data) and args.method in ("ac", "static-ac"):
            print(
                f"nct: warning: {source}: the archive is larger than the input (the model expects text like "
                "its training text); --method xz suits other data", file=sys.stderr,
            )


def cmd_decompress(args: argparse.Namespace) -> None:
    """nct decompress."""
    from . import api

    model = api.load_model(args.model) if args.model else None
    for source in args.inputs:
        archive = _read_input(source)
        out = _output_name(args, source, compressing=False)
        _refuse_existing(out, args.force)
        data = api.decompress(archive, model=model, progress=not args.quiet)
        _write_output(out, data, args.force)


def cmd_info(args: argparse.Namespace) -> None:
    """nct info: print an archive's header as JSON."""
    from .api import inspect

    for source in args.inputs:
        print(json.dumps({"file": source, **inspect(_read_input(source)).__dict__}, indent=2))


def cmd_models(args: argparse.Namespace) -> None:
    """nct models: the shipped M1 models, what they are and what they measured."""
    from .models.shipped import models_table

    print(models_table())


def cmd_bench(args: argparse.Namespace) -> None:
    """nct bench: every compressor on the embedded validation text (or --data files, --suite suites)."""
    from .eval.bench import BENCH_METHODS, SUITE_METHODS, main_bench

    suites = getattr(args, "suite", None) or []
    if suites:
        args.data = [*(args.data or []), *(f"suite:{s}" for s in suites)]
    if args.methods is None:
        args.methods = SUITE_METHODS if suites else BENCH_METHODS
        if args.chunk:  # LMIC's independent chunks: CM's models learn across blocks, so it has no chunked form
            args.methods = ",".join(m for m in args.methods.split(",") if m != "cm")
    main_bench(args)


def cmd_corpus_build(args: argparse.Namespace) -> None:
    """nct corpus build: a diverse training corpus from Debian packages and PyPI sdists."""
    import time

    from .data.sources import build_corpus, default_sources, parse_size

    t0 = time.time()
    result = build_corpus(
        default_sources(), args.out, size=parse_size(args.size), scratch=args.scratch, seed=args.seed,
        crlf_fraction=args.crlf_fraction, render_man_fraction=args.render_man_fraction,
        package_cap=parse_size(args.package_cap), jobs=args.jobs,
        log=(lambda s: print(s, file=sys.stderr)) if args.verbose else (lambda s: None),
    )
    m = result.manifest
    print(f"{m['total_bytes'] / 1e6:.1f} MB in {sum(m['documents'].values())} documents from {m['packages']} packages "
          f"({time.time() - t0:.0f} s) -> {result.out}")
    for cat, n in m["category_bytes"].items():
        print(f"  {cat:<11} {n / 1e6:8.1f} MB  {m['category_share'][cat]:6.1%}")


def cmd_train_m1(args: argparse.Namespace) -> None:
    """nct train-m1."""
    from .train.distributed import process_group
    from .train.m1 import main_train_m1

    with process_group():
        main_train_m1(args)


def cmd_tokenize(args: argparse.Namespace) -> None:
    """nct tokenize: a corpus split into token shards (resumable)."""
    from .api import load_model
    from .data.corpus import load_corpus
    from .tokenizers.pipeline import tokenize_corpus

    m1 = load_model(args.model) if args.method in ("ac", "equal-info") else None
    m = tokenize_corpus(
        load_corpus(args.corpus), args.method, args.out, m1=m1, split=args.split, token_bits=args.token_bits,
        bits=args.bits, rule=args.rule, reset_every=args.reset_every, vocab_size=args.vocab_size,
        example_bytes=args.example_bytes, seed=args.seed, max_bytes=args.max_bytes,
    )
    print(
        f"{args.out}: {m.n_examples} examples, {m.n_bytes:,} bytes -> {m.n_tokens:,} tokens "
        f"({m.bytes_per_token:.3f} bytes/token, vocabulary {m.vocab_size})",
        file=sys.stderr,
    )


def cmd_compression_table(args: argparse.Namespace) -> None:
    """nct compression-table: bytes per token of every method on a corpus sample."""
    from .api import load_model
    from .data.corpus import load_corpus
    from .eval.compression_table import compression_table, save_table

    corpus = load_corpus(args.corpus)
    m1 = load_model(args.model)
    rows = compression_table(corpus, m1, max_bytes=args.max_bytes, vocab_size=args.vocab_size, split=args.split)
    meta = {"corpus": corpus.name, "split": args.split, "m1": m1.fingerprint, "max_bytes": args.max_bytes}
    print(save_table(rows, args.out, meta))


def cmd_train_m2(args: argparse.Namespace) -> None:
    """nct train-m2: an M2 on token shards (resumable), then its evaluation report."""
    from .train.distributed import process_group
    from .train.loop import TrainConfig
    from .train.m2 import train_m2

    cfg = TrainConfig.from_args(args)
    with process_group():
        _, report = train_m2(args.shards, args.size, args.out, cfg, eval_dir=args.eval_shards, context=args.context)
    if report:  # torchrun: process 0 reports
        print(_m2_summary(report))


def _m2_summary(report: dict) -> str:
    """One-paragraph summary of an M2 report."""
    b = report["baselines"]
    return (
        f"{report['tokenizer']} M2 ({report['non_embedding_params']:,} non-embedding params): "
        f"{report['bits_per_byte']:.3f} bits/byte held out (uniform {b['uniform']:.3f}, unigram {b['unigram']:.3f}); "
        f"{report['flops_per_byte']:.3g} FLOPs/byte; {report['bytes_per_step']:.2f} bytes per decoding step"
    )


def cmd_eval_m2(args: argparse.Namespace) -> None:
    """nct eval-m2: re-evaluate a trained M2 on its held-out examples (or --shards)."""
    from .eval.m2 import m2_report
    from .train.m2 import load_run, run_data

    model, run = load_run(args.checkpoint)
    shards, train_idx, held, held_idx = run_data(run, args.shards)
    report = m2_report(model, shards, train_idx, held, held_idx, [])
    print(json.dumps({k: v for k, v in report.items() if k != "log"}, indent=2) if args.json else _m2_summary(report))


def cmd_generate(args: argparse.Namespace) -> None:
    """nct generate: M2 samples tokens after a prompt; the tokenizer (M1 for AC methods) decodes them."""
    from .api import load_model
    from .data.shards import Manifest
    from .generate import generate
    from .tokenizers.pipeline import tokenizer_from_shards
    from .train.m2 import load_run

    model, run = load_run(args.checkpoint)
    manifest = Manifest.load(run["shards"])
    m1 = load_model(args.model) if manifest.m1 else None
    tok = tokenizer_from_shards(run["shards"], m1)
    for k in range(args.samples):
        s = generate(model, tok, args.prompt, args.max_bytes, args.temperature, args.top_k, args.seed + k,
                     bytes_per_token=manifest.bytes_per_token)
        sys.stdout.write(s.text.decode("utf-8", errors="replace") + "\n")
        notes = [f"{len(s.tokens) - s.prompt_tokens} tokens sampled"]
        if not s.prompt_reproduced:
            notes.append("the decoded text does not start with the prompt")
        if s.undecodable:
            notes.append(f"{s.undecodable} windows/streams could not be decoded")
        print(f"[{'; '.join(notes)}]", file=sys.stderr)


def cmd_sample(args: argparse.Namespace) -> None:
    """nct sample: any compressor (or M1) as a generative model; optionally the rate it induces."""
    from .api import load_model
    from .compressors.generative import bits_per_byte, distribution, sample
    from .data.corpus import embedded

    m1 = load_model(args.model) if args.compressor == "m1" or args.rate_bytes else None
    model = distribution(args.compressor, m1, args.context, args.level)
    prompt = args.prompt.encode()
    text = sample(model, prompt, args.bytes, args.temperature, args.seed, progress=True)
    sys.stdout.write((prompt + text).decode("utf-8", errors="replace") + "\n")
    if args.rate_bytes:
        data = embedded("validation").documents[0].data[: args.rate_bytes]
        rated = {args.compressor: model}
        rated.setdefault("m1", distribution("m1", m1, args.context))
        for name, rate_model in rated.items():
            rate = bits_per_byte(rate_model, data, progress=True)
            print(f"{name}: {rate:.3f} bits/byte as a generative model on {len(data)} validation bytes", file=sys.stderr)


def cmd_reproduce(args: argparse.Namespace) -> None:
    """nct reproduce: the paper's grid of methods x M2 sizes; results table, plots, reports."""
    from .api import load_model
    from .data.corpus import load_corpus
    from .eval.reproduce import ReproduceConfig, results_markdown, run_reproduce

    cfg = ReproduceConfig.load(args.preset)
    reports = run_reproduce(cfg, args.out, load_corpus(args.corpus), load_model(args.model))
    print(results_markdown(reports, cfg))
    print(f"results, plots and per-run reports in {args.out}", file=sys.stderr)


def cmd_analyze(args: argparse.Namespace) -> None:
    """nct analyze ANALYSIS: one of the paper's analyses of learnability (nct.analysis)."""
    import importlib

    getattr(importlib.import_module(f".analysis.{args.main}", __package__), f"main_{args.main}")(args)


def cmd_report(args: argparse.Namespace) -> None:
    """nct report: every result under a directory in one HTML page and its markdown twin."""
    from .report import build_report

    for path in build_report(args.root, args.out):
        print(path)


def cmd_scaling(args: argparse.Namespace) -> None:
    """nct scaling: LMIC's scaling study (M1 sizes x training text); tables, plots, per-run reports."""
    from .eval.scaling import main_scaling

    main_scaling(args)
    print(f"results, plots and runs in {args.out}", file=sys.stderr)


MODEL_HELP = "M1: a shipped model's name (default, tiny; see nct models) or a model file (default: default)"


def add_training_args(p: argparse.ArgumentParser, steps: int, batch_size: int) -> None:
    """Options shared by train-m1 and train-m2 (read by ``TrainConfig.from_args``)."""
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--schedule", default="cosine", choices=["cosine", "rsqrt"], help="rsqrt: the papers' schedule")
    p.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16"], help="auto: bf16 where it is fast")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: CUDA if present (one GPU per torchrun process)")
    p.add_argument("--eval-every", type=int, default=250, help="validation and checkpoint interval (steps)")
    p.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from .compressors import available
    from .data.suites import SUITES
    from .eval.bench import BENCH_METHODS, SUITE_METHODS

    # hf (a Hugging Face LM) is for `nct bench --model hf:PATH` only: its float probabilities are
    # reproducible on one machine, not across machines, so it makes no archives. png and flac are
    # bench's image and audio baselines: they read bytes as pixels or samples, which suits no file.
    methods = [m for m in available() if m not in ("hf", "png", "flac")]
    p = argparse.ArgumentParser(prog="nct", description="Neurally compressed text: LMs as exact lossless compressors.")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch, and processes for block coding (default: all cores)")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compress", help="compress files into verified .nct archives")
    c.add_argument("inputs", nargs="+", help="files to compress ('-' for stdin)")
    c.add_argument("-o", "--output", help="output path ('-' for stdout); default INPUT.nct")
    c.add_argument("--method", default="cm", choices=methods, help="compression method (default: cm = M1 mixed with adaptive context and match models)")
    c.add_argument("--model", help=MODEL_HELP)
    c.add_argument("--block", type=int, help="bytes per block M1 codes from BOS (default: 1024 for cm and ac, 4096 for static-ac)")
    c.add_argument("--verify", action="store_true", help="decode the archive and compare before writing it")
    c.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    c.set_defaults(func=cmd_compress)

    d = sub.add_parser("decompress", help="restore files from .nct archives (checked against their checksum)")
    d.add_argument("inputs", nargs="+", help="archives ('-' for stdin)")
    d.add_argument("-o", "--output", help="output path ('-' for stdout); default INPUT without .nct")
    d.add_argument("--model", help="the M1 the archive was made with: a shipped name (default, tiny) or a model file (default: default)")
    d.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_decompress)

    i = sub.add_parser("info", help="show an archive's header")
    i.add_argument("inputs", nargs="+")
    i.set_defaults(func=cmd_info)

    mo = sub.add_parser("models", help="the shipped M1 models: name, parameters, fingerprint, measured bits/byte and speed")
    mo.set_defaults(func=cmd_models)

    b = sub.add_parser("bench", help="neural vs classical compressors, every round trip verified")
    b.add_argument(
        "--data", action="append",
        help="text[:PATH] (or PATH), image[:PATH], audio[:PATH] (no PATH: embedded defaults), suite:NAME or random[:BYTES]; "
        "repeatable (default: embedded validation text)",
    )
    b.add_argument("--chunk", type=int, default=None, help="compress each CHUNK-byte piece on its own, as LMIC (2048); fixed costs counted once")
    b.add_argument(
        "--suite", action="append", choices=SUITES,
        help="a shipped evaluation suite (nct.data.suites), as --data suite:NAME; repeatable",
    )
    b.add_argument(
        "--methods", default=None,
        help="comma-separated methods (png runs on image data only, flac on audio only; default: "
        f"{BENCH_METHODS}, or with --suite {SUITE_METHODS}; cm is left out with --chunk)",
    )
    b.add_argument("--model", help=MODEL_HELP)
    b.add_argument("--block", type=int, default=None, help="AC block size in bytes")
    b.add_argument("--out", default=None, help="directory for results.json, results.md and plots")
    b.set_defaults(func=cmd_bench)

    k = sub.add_parser("tokenize", help="tokenize a corpus into shards for M2 (resumable)")
    k.add_argument("--method", required=True, choices=["bytes", "sentencepiece", "gzip", "ac", "static-ac", "equal-info"])
    k.add_argument("--corpus", default="default", help="default | FILE | DIR | FILE.jsonl | FILE.parquet:COLUMN")
    k.add_argument("--out", required=True, help="shard directory (an unfinished one is resumed)")
    k.add_argument("--split", default="train", choices=["train", "validation", "all"])
    k.add_argument("--bits", type=int, default=16, help="Equal-Info window size b in bits")
    k.add_argument("--token-bits", type=int, default=8, help="bits per token N (vocabulary 2^N)")
    k.add_argument("--rule", default="greedy", choices=["greedy", "delay"], help="Equal-Info window rule")
    k.add_argument("--reset-every", type=int, default=1, help="reset M1's context every k windows (0: never)")
    k.add_argument("--vocab-size", type=int, default=32000, help="SentencePiece vocabulary")
    k.add_argument("--example-bytes", type=int, default=10240)
    k.add_argument("--max-bytes", type=int, default=None, help="tokenize only the first examples up to this size")
    k.add_argument("--model", help=MODEL_HELP)
    k.add_argument("--seed", type=int, default=0, help="document shuffle")
    k.set_defaults(func=cmd_tokenize)

    ct = sub.add_parser("compression-table", help="the paper's bytes-per-token table for a corpus and M1")
    ct.add_argument("--corpus", default="default")
    ct.add_argument("--split", default="validation", choices=["train", "validation", "all"])
    ct.add_argument("--model", help=MODEL_HELP)
    ct.add_argument("--max-bytes", type=int, default=102400, help="sample size (whole 10,240-byte examples)")
    ct.add_argument("--vocab-size", type=int, default=32000, help="SentencePiece vocabulary")
    ct.add_argument("--out", default="results/compression-table", help="directory for the .md and .json")
    ct.set_defaults(func=cmd_compression_table)

    m2 = sub.add_parser("train-m2", help="train M2 on token shards (resumable), then report its metrics")
    m2.add_argument("--shards", required=True, help="shard directory from nct tokenize")
    m2.add_argument("--eval-shards", help="held-out shards (default: the last 2%% of --shards' examples)")
    m2.add_argument("--size", default="cpu-1m", help="25m, 113m, 403m, 2b (the paper's) or cpu-1m, cpu-3m")
    m2.add_argument("--out", required=True, help="run directory")
    m2.add_argument("--context", type=int, default=None, help="sequence length (default 512)")
    add_training_args(m2, steps=2000, batch_size=16)
    m2.set_defaults(func=cmd_train_m2)

    e2 = sub.add_parser("eval-m2", help="bits/byte, FLOPs/byte, bytes per step and baselines of a trained M2")
    e2.add_argument("--checkpoint", required=True, help="M2 run directory")
    e2.add_argument("--shards", help="evaluate on these shards instead")
    e2.add_argument("--json", action="store_true", help="print the whole report as JSON")
    e2.set_defaults(func=cmd_eval_m2)

    g = sub.add_parser("generate", help="sample text from an M2 (decoded through its tokenizer)")
    g.add_argument("--checkpoint", required=True, help="M2 run directory")
    g.add_argument("--prompt", default="")
    g.add_argument("--max-bytes", type=int, default=200)
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--top-k", type=int, default=None)
    g.add_argument("--samples", type=int, default=1)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--model", help="the M1 the shards were made with (default: the shipped M1)")
    g.set_defaults(func=cmd_generate)

    sa = sub.add_parser("sample", help="any compressor (or M1) as a generative model: sample bytes after a prompt")
    sa.add_argument("--compressor", default="gzip", choices=[*methods, "m1"])
    sa.add_argument("--prompt", default="")
    sa.add_argument("--bytes", type=int, default=200, help="bytes to sample")
    sa.add_argument("--temperature", type=float, default=1.0, help="0: always the likeliest byte")
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--context", type=int, default=1024, help="bytes of context the compressor sees")
    sa.add_argument("--level", type=int, default=None, help="compression level (default: the strongest standard one)")
    sa.add_argument("--model", help="M1 model file for --compressor m1 and the rate (default: the shipped M1)")
    sa.add_argument("--rate-bytes", type=int, default=0, help="also rate this compressor and M1 on N validation bytes")
    sa.set_defaults(func=cmd_sample)

    r = sub.add_parser("reproduce", help="the paper's methods x M2 sizes grid -> table, plots (resumable)")
    r.add_argument("--preset", default="cpu", help="cpu (1-3 h on 2 cores), paper, or a YAML config file")
    r.add_argument("--out", default="results/reproduce", help="output directory (finished steps are skipped)")
    r.add_argument("--corpus", default="default")
    r.add_argument("--model", help=MODEL_HELP)
    r.set_defaults(func=cmd_reproduce)

    from .analysis.stability import DEFAULT_SENTENCE

    an = sub.add_parser("analyze", help="why compressed text is (not) learnable: the paper's analyses")
    asub = an.add_subparsers(dest="analysis", required=True)
    st = asub.add_parser("stability", help="one sentence after many prefixes: Levenshtein distances of its tokens")
    st.add_argument("--methods", default="sentencepiece,ac,equal-info16", help="bytes, sentencepiece, gzip, ac, static-ac, equal-info<B>[-v65k]")
    st.add_argument("--sentence", default=DEFAULT_SENTENCE)
    st.add_argument("--prefixes", type=int, default=500, help="how many of the corpus's most common words precede it")
    st.add_argument("--corpus", default="default", help="where the words (and SentencePiece's training text) come from")
    st.add_argument("--model", help=MODEL_HELP)
    st.add_argument("--out", help="directory for stability.md/.json/.png (and the SentencePiece model)")
    st.add_argument("--seed", type=int, default=0, help="seed of the sampled pairs when there are more than 20,000")
    st.add_argument("--map-bytes", type=int, default=20_000, help="validation bytes for the Equal-Info token map (0: none)")
    st.set_defaults(func=cmd_analyze, main="stability")
    un = asub.add_parser("uniformity", help="KL divergence from uniform of bit n-grams and tokens (Miller-Madow)")
    un.add_argument("--shards", action="append", required=True, help="a shard directory (repeat for several)")
    un.add_argument("--ngram", default="1..16", help="n-gram sizes in bits: 1..16, or a list 1,8,16")
    un.add_argument("--max-tokens", type=int, help="use at most this many tokens of each shard directory")
    un.add_argument("--out", help="directory for uniformity.md/.json/.png")
    un.add_argument("--seed", type=int, default=0, help="seed of the random-bits baseline")
    un.set_defaults(func=cmd_analyze, main="uniformity")
    po = asub.add_parser("positions", help="an M2's accuracy by token position inside an Equal-Info window")
    po.add_argument("--checkpoint", required=True, help="a train-m2 run directory")
    po.add_argument("--shards", help="held-out shards (default: the run's)")
    po.add_argument("--out", help="directory for positions.md/.json/.png")
    po.set_defaults(func=cmd_analyze, main="positions")
    la = asub.add_parser("learn-ac", help="can a Transformer learn to compress or decompress? a seq2seq probe vs a target-only LM")
    la.add_argument("--task", choices=["compress", "decompress"], required=True)
    la.add_argument("--method", default="equal-info16", help="ac or equal-info<B> (8-bit tokens)")
    la.add_argument("--segment-bytes", type=int, default=32, help="text bytes per example")
    la.add_argument("--train-pairs", type=int, default=20_000)
    la.add_argument("--held-out-pairs", type=int, default=500)
    la.add_argument("--size", default="cpu-1m", help="probe size (an M2 preset)")
    la.add_argument("--steps", type=int, default=1500)
    la.add_argument("--batch-size", type=int, default=32)
    la.add_argument("--lr", type=float, default=2e-3)
    la.add_argument("--seed", type=int, default=0)
    la.add_argument("--corpus", default="default")
    la.add_argument("--model", help=MODEL_HELP)
    la.add_argument("--out", help="run directory (default runs/learn-ac-TASK-METHOD; resumable)")
    la.set_defaults(func=cmd_analyze, main="learn_ac")

    rp = sub.add_parser("report", help="one self-contained HTML page (and markdown) of every result under a directory")
    rp.add_argument("root", help="directory holding reproduce, bench, scaling and analysis results")
    rp.add_argument("--out", help="where report.html and report.md go (default: ROOT)")
    rp.set_defaults(func=cmd_report)

    from .eval.scaling import ScalingConfig

    d = ScalingConfig()
    sc = sub.add_parser("scaling", help="LMIC's scaling study: raw and adjusted rate vs M1 size, data size and context (resumable)")
    sc.add_argument("--sizes", default=",".join(d.sizes), help="comma-separated M1 presets (200k, 600k, 800k, 3m)")
    sc.add_argument("--data", default="default", help="text:PATH (or PATH): a text file or directory; default: the embedded corpus")
    sc.add_argument("--train-bytes", default=",".join(map(str, d.train_bytes)), help="training text per run (250k, 1M, ...): the head of the training split")
    sc.add_argument("--steps", type=int, default=d.steps, help="training steps of every run")
    sc.add_argument("--batch-size", type=int, default=d.batch_size, help="rows of one context each per step")
    sc.add_argument("--lr", type=float, default=d.lr)
    sc.add_argument("--eval-bytes", default=str(d.eval_bytes), help="validation text coded, decoded and compared")
    sc.add_argument("--block", type=int, default=d.block, help="AC block of the main rate (default: the smallest context)")
    sc.add_argument("--min-block", type=int, default=d.min_block, help="rate vs context: blocks from this length, doubling")
    sc.add_argument("--context-all", action="store_true", help="rate vs context for every run (default: most training text)")
    sc.add_argument("--adjust-for", default=",".join(map(str, d.adjust_for)), help="dataset sizes N for the computed adjusted rates")
    sc.add_argument("--seed", type=int, default=d.seed)
    sc.add_argument("--out", default="results/scaling", help="output directory (finished runs and rates are skipped)")
    sc.set_defaults(func=cmd_scaling)

    co = sub.add_parser("corpus", help="training corpora")
    cosub = co.add_subparsers(dest="corpus_command", required=True)
    cb = cosub.add_parser("build", help="a diverse ~200 MB training corpus from Debian packages and PyPI sdists (re-runnable)")
    cb.add_argument("--size", default="200MB", help="target size (e.g. 150MB, 1.5GB)")
    cb.add_argument("--out", default="runs/corpus", help="output directory (train.bin, validation.bin, *.idx.npy, manifest.json)")
    cb.add_argument("--scratch", default=None, help="where packages are downloaded and extracted (default: OUT/scratch; reused)")
    cb.add_argument("--seed", type=int, default=0, help="selection and layout order")
    cb.add_argument("--crlf-fraction", type=float, default=0.10, help="share of prose/markup documents written with CRLF")
    cb.add_argument("--render-man-fraction", type=float, default=0.25, help="share of man pages rendered to text by groff")
    cb.add_argument("--package-cap", default="3MB", help="most text taken from one package")
    cb.add_argument("--jobs", type=int, default=4, help="downloads in parallel")
    cb.add_argument("-v", "--verbose", action="store_true")
    cb.set_defaults(func=cmd_corpus_build)

    t = sub.add_parser("train-m1", help="train a byte-level M1 (resumable) and export its exact engine")
    t.add_argument("--corpus", default="default", help="default | FILE | DIR of .txt | FILE.jsonl | FILE.parquet:COLUMN | DIR from `nct corpus build`")
    t.add_argument("--size", default="600k", help="model preset (200k, 600k, 800k, 3m)")
    t.add_argument("--out", default="runs/m1", help="run directory (resumes if it holds a checkpoint)")
    t.add_argument("--init", help="go on training from this M1 (a shipped name such as tiny, or a model file); its shape replaces --size")
    add_training_args(t, steps=5000, batch_size=32)
    t.set_defaults(func=cmd_train_m1)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nct`` command."""
    args = build_parser().parse_args(argv)
    from .compressors.base import CorruptPayload
    from .container import ArchiveError
    from .models.m1 import ModelError

    try:
        import torch

        from .train.distributed import processes_per_node

        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // processes_per_node()))
        args.func(args)
    except (CliError, ArchiveError, CorruptPayload, ModelError) as e:
        print(f"nct: error: {e}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
        print(f"nct: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 1
    except ValueError as e:  # invalid option values, e.g. a block size of 0
        print(f"nct: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nct: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
