"""``nct report DIR``: one self-contained HTML page (and a markdown twin) with every result under DIR.

It looks for the result files nct writes (``results.json`` of a reproduce grid, a benchmark or the
scaling study; ``stability.json``, ``uniformity.json``, ``positions.json``, ``learn_ac.json`` of the
analyses) and makes each a section by its ``kind`` (``nct.results``; files from before the tag by
their name and keys). Each becomes a section: its tables (read from the markdown nct wrote beside
it), its figures (embedded in the HTML as data URIs, linked from the markdown), the paper's numbers
where they correspond, and checks that say plainly whether our figures agree with the paper's
findings and, where they do not, why we think so. The configuration and environment close the page.
The papers' numbers are data (``report_data/papers.json``), the markdown is rendered with
markdown-it-py, and the page comes from a Jinja2 template (``report_data/report.html.j2``).
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import InputError, UsageError
from .results import ANALYSIS_FILES, kind_of, papers
from .tokenizers.methods import MethodSpec
from .util import markdown_table


def _spec(name: str) -> MethodSpec | None:
    """The ``MethodSpec`` a tokenizer name (short or display) names, or None if it names no method."""
    try:
        return MethodSpec.parse(name)
    except ValueError:
        return None


def _short(name: str) -> str | None:
    """A tokenizer name's ``MethodSpec`` short name, or None if it names no method."""
    spec = _spec(name)
    return spec.short if spec else None


@dataclass
class Check:
    """One of the paper's findings, and whether our figures show it."""

    claim: str
    agrees: bool
    evidence: str
    why: str = ""  # our reading of a disagreement


@dataclass
class Section:
    """A part of the report: markdown text (tables, paragraphs), figures and checks."""

    title: str
    source: Path
    text: str
    figures: list[Path] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


# ----- sections --------------------------------------------------------------------------------
def _runs_by(runs: list[dict]) -> dict[tuple[str | None, str], dict]:
    """Reproduce runs by (method's short name, size)."""
    return {(_short(r["name"]), r["size"]): r for r in runs}


def reproduce_checks(runs: list[dict], steps: int, tokens: int) -> list[Check]:
    """The TLNCT pattern, size by size: AC and StaticAC at their uniform baseline, GZip learns but
    stays behind Bytes, EqualInfoAC[b=16, v=65k] below Bytes, SentencePiece below Bytes."""
    by = _runs_by(runs)
    sizes = list(dict.fromkeys(r["size"] for r in runs))
    paper_tokens = papers()["tlnct"]["tokens_per_m2"]
    scale = (f"each M2 saw {tokens:,} tokens ({steps} steps), {paper_tokens / max(1, tokens):,.0f}x fewer "
             f"than the paper's {paper_tokens / 1e9:.1f}B")
    checks = []

    def each(claim: str, names: tuple[str, ...], test: Callable[..., bool], show: Callable[..., str], why: str) -> None:
        rows = [(s, [by.get((n, s)) for n in names]) for s in sizes]
        rows = [(s, rs) for s, rs in rows if all(rs)]
        if rows:
            ok = all(test(*rs) for _, rs in rows)
            checks.append(Check(claim, ok, "; ".join(f"{s}: {show(*rs)}" for s, rs in rows), "" if ok else why))

    bpb = lambda r: f"{r['bits_per_byte']:.3f}"  # noqa: E731
    for name in ("ac", "static-ac"):
        each(f"{MethodSpec.parse(name).display} is not learnable: M2 stays at its uniform baseline", (name,),
             lambda r: r["bits_per_byte"] >= 0.98 * r["baselines"]["uniform"],
             lambda r: f"{bpb(r)} vs uniform {r['baselines']['uniform']:.3f}",
             "M2 found structure in the tokens: see the uniformity analysis.")
    each("GZip learns (below its uniform baseline) but stays worse than Bytes", ("gzip", "bytes"),
         lambda g, b: g["bits_per_byte"] < g["baselines"]["uniform"] and g["bits_per_byte"] > b["bits_per_byte"],
         lambda g, b: f"GZip {bpb(g)} (uniform {g['baselines']['uniform']:.3f}), Bytes {bpb(b)}",
         f"{scale}; GZip's gain over uniform is small at this scale.")
    each("EqualInfoAC[b=16, v=65k] reaches lower bits/byte than Bytes at equal training FLOPs",
         ("equal-info16-v65k", "bytes"),
         lambda e, b: e["bits_per_byte"] < b["bits_per_byte"],
         lambda e, b: f"EqualInfoAC {bpb(e)} (unigram {e['baselines']['unigram']:.3f}), Bytes {bpb(b)}",
         f"{scale}. With 65,536 token ids, each id is seen about {tokens / 65536:.0f} times, too few to learn "
         "its embedding, while Bytes' 256 ids are each seen thousands of times; the paper's advantage needs "
         "the long training it had.")
    each("SentencePiece reaches lower bits/byte than Bytes", ("sentencepiece", "bytes"),
         lambda s, b: s["bits_per_byte"] < b["bits_per_byte"],
         lambda s, b: f"SentencePiece {bpb(s)}, Bytes {bpb(b)}", scale)
    return checks


def paper_table(runs: list[dict]) -> str:
    """Ours beside the paper's (M2 at 25m; trivial baselines) for the methods both have."""
    tlnct = papers()["tlnct"]
    paper, trivial = tlnct["m2_25m_bits_per_byte"], tlnct["trivial_uniform_unigram"]
    rows = []
    for r in runs:
        short = _short(r["name"])
        if short in paper:
            both = trivial.get(short)
            rows.append([r["name"], r["size"], f"{r['bits_per_byte']:.3f}", f"{paper[short]:.2f}",
                         f"{r['baselines']['uniform']:.3f} / {r['baselines']['unigram']:.3f}",
                         f"{both[0]:.3f} / {both[1]:.3f}" if both else "–"])
    head = ["method", "M2", "ours bits/byte", "paper (25m)", "ours uniform / unigram", "paper uniform / unigram"]
    return markdown_table(head, rows, "llrrrr")


def reproduce_section(path: Path, result: dict) -> Section:
    """A reproduce grid: results table, the paper beside it, the pattern checks, the figures."""
    cfg, runs = result["config"], result["runs"]
    tokens = cfg["steps"] * cfg["batch_size"] * cfg["context"]
    seconds = sum(r.get("seconds", 0) for r in runs)
    timing = f"M2 training and evaluation: {seconds / 3600:.2f} h in all, as recorded by the runs"
    if "seconds" in result:  # grids run since the results recorded their tokenizing time too
        t = result["seconds"]
        timing = f"{t['total'] / 3600:.2f} h in all: tokenizing {t['tokenize'] / 60:.1f} min, M2 runs {t['train_and_evaluate'] / 60:.1f} min"
        where = result.get("environment", {}).get("processor", "this machine") if result.get("device", "cpu") == "cpu" else result["device"]
        timing += f"; training in {result.get('autocast', 'fp32')} on {where}"
    paper_tokens = papers()["tlnct"]["tokens_per_m2"]
    text = (
        f"{len(runs)} runs, {cfg['steps']} steps of {cfg['batch_size']} x {cfg['context']} tokens per M2 ({timing}).\n\n"
        + (path.parent / "results.md").read_text()
        + f"\nBeside the paper (its smallest M2, 25m, trained {paper_tokens / 1e9:.1f}B tokens):\n\n" + paper_table(runs)
    )
    figures = [p for p in (path.parent / "bpb_vs_flops.png", path.parent / "bpb_vs_size.png") if p.exists()]
    return Section("Training over compressed text (reproduce)", path, text, figures, reproduce_checks(runs, cfg["steps"], tokens))


def _md(path: Path) -> str:
    """The markdown nct wrote beside a result file (``x.json`` -> ``x.md``, or ``results.md``)."""
    for p in (path.with_suffix(".md"), path.parent / "results.md"):
        if p.exists():
            return p.read_text()
    return ""


def _pngs(path: Path) -> list[Path]:
    """Figures nct wrote beside a result file."""
    return sorted(path.parent.glob(f"{path.stem}*.png")) or sorted(path.parent.glob("*.png"))


def stability_section(path: Path, result: dict) -> Section:
    """Token stability: SentencePiece stable, AC unstable, Equal-Info between (the paper's order)."""
    d = {r["method"]: r["mean_normalized"] for r in result["rows"]}
    by = {_short(k): v for k, v in d.items()}
    m1, checks = papers()["tlnct"]["m1"], []
    if {"sentencepiece", "ac"} <= by.keys():
        eq = [v for k, v in d.items() if MethodSpec.parse(k).method == "equal-info"]
        ok = by["sentencepiece"] < min(eq or [by["ac"]]) <= max(eq or [by["ac"]]) <= by["ac"]
        checks.append(Check("token stability: SentencePiece most stable, AC least, EqualInfoAC between", ok,
                            ", ".join(f"{k} {v:.3f}" for k, v in d.items()),
                            "" if ok else f"our M1 and windows differ from the paper's (M1 {m1['size']} at {m1['bits_per_byte']:.2f} bits/byte)"))
    return Section("Token stability", path, _md(path), [p for p in _pngs(path) if p.stem == "stability"], checks)


def uniformity_section(path: Path, result: dict | list[dict]) -> Section:
    """Uniformity: compressed streams near uniform; Equal-Info tokens less uniform than plain AC."""
    rows = result["rows"] if isinstance(result, dict) else result  # a bare list before the kind tag
    at8 = {r["name"]: r["kl_bits"] for r in rows if r["n"] == 8}
    methods = {k: spec.method if (spec := _spec(k)) else None for k in at8}  # by method, whatever the widths
    checks = []
    ac = [v for k, v in at8.items() if methods[k] == "ac"]
    eq = [v for k, v in at8.items() if methods[k] == "equal-info"]
    if ac and eq:
        ok = max(ac) < min(eq)
        checks.append(Check("Equal-Info's 8-bit pieces are further from uniform than plain AC's", ok,
                            ", ".join(f"{k} {v:.4f} bits" for k, v in at8.items())))
    return Section("Uniformity of compressed tokens", path, _md(path), [p for p in _pngs(path) if p.stem == "uniformity"], checks)


def positions_section(path: Path, result: dict) -> Section:
    """Accuracy by window position: the first token of a window is predicted best."""
    acc = result["evaluation"]["position_accuracy"]
    checks = []
    if len(acc) > 1:
        ok = acc[0] == max(acc)
        checks.append(Check("the first token of a window is the best predicted", ok,
                            ", ".join(f"position {i + 1}: {a:.4f}" for i, a in enumerate(acc)),
                            "" if ok else "a later token is constrained by the one before it in the same window (the "
                            "window ends on a whole symbol, and its last bits are the coder's termination), which a "
                            "barely trained M2 picks up before the text-level statistics behind the first token"))
    return Section(f"Accuracy by window position ({Path(result['checkpoint']).name})", path, _md(path),
                   [p for p in _pngs(path) if p.stem == "positions"], checks)


def learn_ac_section(path: Path, result: dict) -> Section:
    """Learning the coder: AC compression not learnable (paper 1.7%), Equal-Info decompression learnable (95.3%)."""
    acc, base = result["accuracy"], result["baseline_accuracy"]
    paper = papers()["tlnct"]["learn_ac_accuracy"]
    probe = f"{result['task']} {_short(result['method'])}"
    checks = []
    if probe == "compress ac":
        ok = acc < 0.1
        checks.append(Check("a Transformer cannot learn to compress with plain AC", ok,
                            f"accuracy {acc:.4f} (target-only {base:.4f}); paper: {paper[probe]}%", "" if ok else "unexpected: see the table"))
    elif probe == "decompress equal-info16":
        ok = acc > 0.9
        checks.append(Check("a Transformer learns to decompress EqualInfoAC[b=16, v=256] almost perfectly", ok,
                            f"accuracy {acc:.4f} (target-only {base:.4f}); paper: {paper[probe]}%",
                            "" if ok else f"the probe beats the target-only model ({acc:.1%} against {base:.1%}) but is a "
                            "small model trained briefly; we read the gap as one of scale"))
    return Section(f"Learning the coder: {result['task']} {result['method']}", path, _md(path), [], checks)


def bench_checks(totals: dict[tuple[str, str], dict], texts: Sequence[str] = ()) -> list[Check]:
    """LMIC's findings in chunked mode: a byte LM beats every classical compressor on text, PNG and
    FLAC beat them on their kinds, and (for Chinchilla 70B) a text LM beats PNG and FLAC too.
    ``texts`` names the text inputs (for the reason of a disagreement)."""
    from .compressors.classical import CODECS

    checks = []
    lmic = papers()["lmic"]
    chunked = {(kind, method): rate for kind, method, rate in lmic["chunked_rates"]}

    def best_classical(kind: str) -> tuple[str, float] | None:
        rows = [(m, totals[kind, m]["bits_per_byte"]) for m in CODECS if (kind, m) in totals]
        return min(rows, key=lambda r: r[1]) if rows else None

    lms = [(m, who) for m, who in LMS if any(method == m for _, method in totals)]
    for method, who in lms:
        if ("text", method) in totals and (best := best_classical("text")):
            lm = totals["text", method]["bits_per_byte"]
            checks.append(Check(f"{'a byte-level LM' if method == 'ac' else 'a pretrained LLM'} compresses text better than every "
                                "classical compressor in 2048-byte chunks", lm < best[1],
                                f"{who} {lm:.3f} bits/byte, best classical {best[0]} {best[1]:.3f}",
                                "" if lm < best[1] else f"{who} is {WHY[method]}, and this text ({', '.join(texts) or 'the input'}) is unlike it"))
    for kind, fmt in (("image", "png"), ("audio", "flac")):
        if (kind, fmt) in totals and (best := best_classical(kind)):
            own = totals[kind, fmt]["bits_per_byte"]
            checks.append(Check(f"{fmt.upper()} beats the general-purpose compressors on {kind} chunks", own < best[1],
                                f"{fmt} {own:.3f} bits/byte, best general-purpose {best[0]} {best[1]:.3f}"))
        for method, who in lms:
            if (kind, fmt) in totals and (kind, method) in totals:
                lm, own = totals[kind, method]["bits_per_byte"], totals[kind, fmt]["bits_per_byte"]
                checks.append(Check(
                    f"a language model trained on text compresses {kind} better than {fmt.upper()} ({who}; LMIC's Chinchilla 70B: "
                    f"{lmic['llm_chunked_rates'][kind]}% against {chunked[kind, fmt]}%)", lm < own,
                    f"{who} {lm:.3f} bits/byte ({12.5 * lm:.1f}%), {fmt} {own:.3f} ({12.5 * own:.1f}%)",
                    "" if lm < own else f"LMIC's result is a 70B model's in-context learning; {who} is {WHY[method]}"
                    + (", where bytes of 0x80 and above are rare, so it spends more than 8 bits on most of them" if method == "ac" else "")))
    return checks


LMS = (("ac", "M1"), ("llm", "smollm2"))  # the language models a benchmark may hold, and what the checks call them
WHY = {"ac": "a small model (600k parameters) trained on 10 MB of English literature",
       "llm": "SmolLM2-135M, 50x smaller than LMIC's 70B and trained on text and code"}


def lmic_table(totals: dict[tuple[str, str], dict]) -> str:
    """Ours beside LMIC's chunked rates where both have the (kind, method)."""
    rows = [[kind, method, f"{(bpb := totals[kind, method]['bits_per_byte']):.3f}", f"{12.5 * bpb:.1f}%", f"{rate}%"]
            for kind, method, rate in papers()["lmic"]["chunked_rates"] if (kind, method) in totals]
    return markdown_table(["kind", "method", "ours bits/byte", "ours rate", "LMIC rate"], rows, "llrrr") if rows else ""


def bench_section(path: Path, result: dict) -> Section:
    """The benchmark's tables and figures; in LMIC's chunked mode (2048 bytes) its rates beside ours
    and its findings checked."""
    text, checks = _md(path), []
    if result.get("chunk") == 2048:
        totals = {(r["kind"], r["method"]): r for r in result["rows"] if r["data"] == "total"}
        table = lmic_table(totals)
        if table:
            text += ("\nBeside LMIC (1 GB each of enwik9, ImageNet and LibriSpeech, not our data; rate = compressed / "
                     "raw = bits/byte / 8):\n\n" + table)
        texts = [r["data"] for r in result["rows"] if r["kind"] == "text" and r["data"] != "total"]
        checks = bench_checks(totals, list(dict.fromkeys(texts)))
    mode = f"{result['chunk']}-byte chunks" if result.get("chunk") else "whole files"
    if "collection" in result:  # nct bench --corpus: a streamed collection, in pieces
        mode = f"a collection in {result['collection']['piece']:,}-byte pieces, {result['collection']['engine']} engine"
    return Section(f"LM as compressor: benchmark {path.parent.name} ({mode})", path, text, sorted(path.parent.glob("*.png")), checks)


def generic_section(title: str) -> Callable[[Path, Any], Section]:
    """A section of a result's own tables and figures (benchmark, scaling study)."""
    return lambda path, result: Section(title, path, _md(path), sorted(path.parent.glob("*.png")))


SECTIONS: dict[str, Callable[[Path, Any], Section]] = {  # result kind (nct.results.KINDS) -> its section
    "reproduce": reproduce_section,
    "bench": bench_section,
    "scaling": generic_section("LM as compressor: scaling study"),
    "compression-table": generic_section("Training over compressed text: bytes per token by tokenizer"),
    "stability": stability_section,
    "uniformity": uniformity_section,
    "positions": positions_section,
    "learn-ac": learn_ac_section,
}


def section_for(path: Path) -> Section | None:
    """The section of a result file, or None for a file nct did not write."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    kind = kind_of(path, result)
    return SECTIONS[kind](path, result) if kind else None


def collect(root: str | Path) -> list[Section]:
    """Every result under ``root`` as a section: TLNCT's grid, LMIC's results, then the analyses."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root}: no such directory")
    found = sorted(p for name in ("results.json", *ANALYSIS_FILES) for p in root.rglob(name) if "shards" not in p.parts)
    order = ["Training over compressed text", "LM as compressor", "Token stability", "Uniformity", "Accuracy", "Learning"]
    sections = sorted((s for s in map(section_for, found) if s), key=lambda s: next(i for i, o in enumerate(order) if s.title.startswith(o)))
    if not sections:
        raise UsageError(f"no nct results under {root} (results.json of reproduce/bench/scaling, or analysis JSON)")
    return sections


# ----- rendering -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _markdown() -> Any:
    """CommonMark with pipe tables, raw HTML off; right-aligned body cells get class ``r`` (the
    page's style), header cells no alignment of their own."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def cell(self: Any, tokens: list, i: int, options: Any, env: Any) -> str:
        right = tokens[i].attrGet("style") == "text-align:right"
        tokens[i].attrs.pop("style", None)
        if right and tokens[i].type == "td_open":
            tokens[i].attrSet("class", "r")
        return self.renderToken(tokens, i, options, env)

    md.add_render_rule("td_open", cell)
    md.add_render_rule("th_open", cell)
    return md


def markdown_to_html(text: str) -> str:
    """The markdown nct writes (pipe tables, paragraphs, **bold**, `code`) as HTML."""
    return _markdown().render(text)


def _check_md(c: Check) -> str:
    """A check as one markdown list item."""
    why = f" Why: {c.why}" if c.why else ""
    return f"- **{'agrees' if c.agrees else 'disagrees'}**: {c.claim}. Ours: {c.evidence}.{why}"


def _data_uri(path: Path) -> str:
    """A PNG as a data URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def render_markdown(sections: list[Section], environment: dict, root: Path) -> str:
    """The report as markdown (figures linked relative to ``root``)."""
    parts = ["# nct report", "", _summary(sections), ""]
    for s in sections:
        parts += [f"## {s.title}", "", f"Source: `{s.source.relative_to(root)}`", "", s.text.strip(), ""]
        parts += [f"![{f.stem}]({f.relative_to(root)})" for f in s.figures] + [""] if s.figures else []
        if s.checks:
            parts += ["Against the paper:", "", *map(_check_md, s.checks), ""]
    parts += ["## Environment", "", "```json", json.dumps(environment, indent=2), "```", ""]
    return "\n".join(parts)


def _summary(sections: list[Section]) -> str:
    """One line: how many of the paper's findings our figures show."""
    checks = [c for s in sections for c in s.checks]
    agree = sum(c.agrees for c in checks)
    return f"{len(sections)} sections; of {len(checks)} findings of the papers checked, our figures agree with {agree} and disagree with {len(checks) - agree}."


STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}th,td{border:1px solid #ccc;padding:.25rem .5rem}
td.r{text-align:right}th{background:#f3f3f3}img{max-width:100%;margin:.5rem 0}code{background:#f3f3f3}
.agrees{color:#176117}.disagrees{color:#a11}pre{background:#f6f6f6;padding:.5rem;overflow:auto}"""


def render_html(sections: list[Section], environment: dict, root: Path) -> str:
    """The report as one self-contained HTML page (figures embedded), from ``report_data/report.html.j2``."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files("nct").joinpath("report_data/report.html.j2").read_text())
    return template.render(
        style=Markup(STYLE), summary=_summary(sections), environment=json.dumps(environment, indent=2),
        sections=[{
            "title": s.title, "source": str(s.source.relative_to(root)), "html": Markup(markdown_to_html(s.text)),
            "figures": [{"uri": _data_uri(f), "stem": f.stem, "name": f.name} for f in s.figures],
            "checks": [{"verdict": "agrees" if c.agrees else "disagrees", "claim": c.claim, "evidence": c.evidence, "why": c.why}
                       for c in s.checks],
        } for s in sections],
    )


def build_report(root: str | Path, out: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (into ``out``, default ``root``); returns their paths."""
    from .results import environment
    from .util import atomic_path

    root = Path(root)
    sections = collect(root)
    out = Path(out) if out else root
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    paths = (out / "report.html", out / "report.md")
    for path, text in zip(paths, (render_html(sections, env, root), render_markdown(sections, env, root))):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return paths
