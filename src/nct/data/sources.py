"""A diverse training corpus built offline from what the package registries ship.

``build_corpus`` fetches packages (Debian .debs via ``apt-get download`` + ``dpkg-deb -x``, PyPI
sdists via ``pip download``), keeps their UTF-8 text files, sorts them into categories (prose,
code, markup, man pages, data, non-English), fills each category's share of the target size, and
writes ``train.bin``/``validation.bin`` (documents each followed by ``SEPARATOR``), their
``.idx.npy`` start offsets and ``manifest.json``. Where packages come from is one function (a
``Fetcher``), so tests build from a local directory.

Evaluation hygiene: evaluation corpora (Canterbury, Calgary, Silesia, enwik, Python's docs) and
copies of the works in them never enter; see ``EXCLUDED_PACKAGES``, ``EVAL_NAME``,
``EVAL_TITLES`` and the 64-byte overlap check against ``nct.data.suites`` when it exists.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

SEPARATOR = b"\n\n"  # the same separator as nct.train.m1 puts between documents
CATEGORIES = ("prose", "code", "markup", "man", "data", "nonenglish")
SHARES = {"prose": 0.25, "code": 0.25, "markup": 0.15, "man": 0.10, "data": 0.10, "nonenglish": 0.15}
VALIDATION_EVERY = 50
MIN_FILE = 200
MAX_FILE = 1 << 20
PACKAGE_CAP = 3 << 20
WINDOW = 64
EVAL_STEP = 32

# file names of evaluation-corpus members (Canterbury, Calgary, Silesia, enwik)
EVAL_NAME = re.compile(
    r"alice29|asyoulik|lcet10|plrabn12|cp\.html|fields\.c|grammar\.lsp|xargs\.1|book1|book2|paper[1-6]|"
    r"progc|progl|progp|enwik|dickens|webster|world192|bible\.txt|e\.coli|kennedy\.xls|ptt5|reymont|"
    r"\bsamba\b|ooffice|osdb|x-ray|\bnci\b",
    re.IGNORECASE,
)
# a document that names one of the evaluation works is dropped (it may quote it)
EVAL_TITLES = (
    "Alice's Adventures in Wonderland", "ALICE'S ADVENTURES IN WONDERLAND", "Alice in Wonderland",
    "Through the Looking-Glass", "Paradise Lost", "PARADISE LOST", "As You Like It", "AS YOU LIKE IT",
    "Far from the Madding Crowd", "FAR FROM THE MADDING CROWD", "Webster's Revised Unabridged",
    "Webster's Unabridged", "World Factbook", "A Tale of Two Cities", "Oliver Twist", "Great Expectations",
    "David Copperfield", "Pickwick Papers", "Bleak House", "A Christmas Carol", "Chłopi",
)
# packages that are evaluation data or ship compression libraries' test corpora
EXCLUDED_PACKAGES = re.compile(
    r"^(python3(\.\d+)?-doc|.*(brotli|zstd|zstandard|lz4|snappy|xz-utils|liblzma|zlib|bzip2|bz2|zpaq|ppmd|"
    r"lzma|samba).*)$",
    re.IGNORECASE,
)
# paths inside packages that are evaluation data (CPython's Doc/, compression test dirs)
EXCLUDED_PATHS = re.compile(
    r"(^|/)(cpython[^/]*/Doc|python3(\.\d+)?-doc|Python-3[^/]*/Doc)(/|$)|(^|/)(canterbury|calgary|silesia|"
    r"large-?corpus|testdata/(brotli|zstd|lz4|snappy|xz|zlib|bzip2))(/|$)",
    re.IGNORECASE,
)
SKIP_NAMES = re.compile(r"^(copyright|COPYING.*|LICEN[CS]E.*|.*\.(pem|crt|key|asc|sig|gpg|map|min\.js|min\.css))$")

CODE_EXT = set(
    "c h cc cpp cxx hpp hh hxx ipp inl tcc py pyx pxd pyi rs go js mjs cjs ts tsx jsx sh bash zsh ksh fish pl pm t "
    "rb lua tcl tk java kt scala el lisp lsp scm ss rkt clj cljs hs lhs ml mli erl hrl ex exs php r jl swift m4 cmake "
    "mk am in ac s asm f f90 f95 cs vim awk sed sql go.mod gradle groovy d nim zig v sv vhd proto thrift y l".split()
)
CODE_NAMES = {"Makefile", "makefile", "GNUmakefile", "CMakeLists.txt", "Dockerfile", "configure", "meson.build",
              "SConstruct", "Rakefile", "Gemfile", "Kconfig", "Kbuild", "rules", "Vagrantfile", "BUILD", "WORKSPACE"}
MARKUP_EXT = set("md markdown rst html htm xhtml xml xsl xslt tex ltx sty cls bib texi texinfo txi sgml dbk docbook "
                 "page pod adoc asciidoc org rdoc textile wiki mallard".split())
DATA_EXT = set("csv tsv json jsonl geojson yaml yml toml ini cfg conf properties log lst dat ids svg desktop service "
               "socket timer target rules ldif pot xkb kbd list tab".split())
LANGS = ("de fr it es ja zh zh_CN zh_TW zh-cn zh-tw pt pt_BR pt-br pl ru nl cs sv fi da uk ro hu tr ko el ca eu gl "
         "nb nn no sk sl sr hr bg be et lt lv vi id th he ar fa hi eo ga br is mk").split()
LANG_DIR = re.compile(r"(^|/)(" + "|".join(re.escape(x) for x in LANGS) + r")(\.[A-Za-z0-9@_-]+)?/", re.IGNORECASE)
LANG_INFIX = re.compile(r"\.(" + "|".join(re.escape(x) for x in LANGS) + r")\.(html?|txt|xml|md|rst|page|po)$", re.IGNORECASE)
MAN_PATH = re.compile(r"(^|/)man/((?P<lang>[^/]+)/)?man[0-9a-z]+/[^/]+$")


@dataclass(frozen=True)
class SourceSpec:
    """One package to take text from: ``kind`` is 'deb', 'pypi' or 'dir'; ``category`` forces one."""

    kind: str
    name: str
    version: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class FetchedPackage:
    """A package extracted under ``root``, with the version and license it declares."""

    spec: SourceSpec
    root: Path
    version: str
    license: str


Fetcher = Callable[[SourceSpec, Path], FetchedPackage]


@dataclass(frozen=True)
class Candidate:
    """One accepted text file: where it lives, its category and (decoded) size."""

    source: str  # kind:package/relative/path -- the document's identity
    package: str
    path: Path
    category: str
    size: int


@dataclass
class BuildResult:
    """What ``build_corpus`` wrote."""

    out: Path
    manifest: dict = field(default_factory=dict)


# ---------------------------------------------------------------- filters


def is_text(data: bytes) -> bool:
    """UTF-8 text: no NUL byte and valid UTF-8."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def is_eval_name(path: str) -> bool:
    """Whether a file's name (or path) names an evaluation-corpus member."""
    return bool(EVAL_NAME.search(Path(path).name)) or bool(EXCLUDED_PATHS.search(path))


def names_eval_work(data: bytes) -> bool:
    """Whether a document names one of the evaluation works (so may quote it)."""
    text = data.decode("utf-8", "replace")
    return any(t in text for t in EVAL_TITLES)


def cap_bytes(data: bytes, limit: int = MAX_FILE) -> bytes:
    """At most ``limit`` bytes, cut after a newline (or a UTF-8 character boundary)."""
    if len(data) <= limit:
        return data
    cut = data.rfind(b"\n", 0, limit)
    cut = cut + 1 if cut > limit // 2 else limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
        cut -= 1
    return data[:cut]


def _digest(s: str, salt: str = "") -> int:
    """A stable 64-bit hash of a string."""
    return int.from_bytes(hashlib.blake2b((salt + s).encode(), digest_size=8).digest(), "big")


def is_validation(source: str) -> bool:
    """The validation rule: 1 document in 50, by a hash of its source path."""
    return _digest(source, "validation:") % VALIDATION_EVERY == 0


def classify(relpath: str, forced: str | None = None) -> str:
    """The category of a file from its path inside a package."""
    if forced:
        return forced
    name = relpath.rsplit("/", 1)[-1]
    base = re.sub(r"\.(gz|dz)$", "", name)
    m = MAN_PATH.search(re.sub(r"\.(gz|dz)$", "", relpath))
    if m:
        lang = (m.group("lang") or "").split(".")[0]
        return "nonenglish" if lang and not lang.lower().startswith(("en", "c")) else "man"
    if base.endswith(".po"):
        return "nonenglish"
    if LANG_INFIX.search(base) or LANG_DIR.search(relpath):
        return "nonenglish"
    ext = base.rsplit(".", 1)[-1].lower() if "." in base else ""
    if base in CODE_NAMES or ext in CODE_EXT:
        return "code"
    if ext in MARKUP_EXT:
        return "markup"
    if ext in DATA_EXT or base.lower().startswith(("changelog", "changes", "history.log")):
        return "data"
    return "prose"


def read_text_file(path: Path) -> bytes | None:
    """A file's text (gzip/dictzip transparently decompressed), capped at 1 MB; None unless UTF-8 text."""
    try:
        raw = path.read_bytes()
        if path.name.endswith((".gz", ".dz")):
            with gzip.open(path) as f:
                raw = f.read(4 * MAX_FILE)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    data = cap_bytes(raw)
    if len(data) < MIN_FILE or not is_text(data):
        return None
    return data


# ---------------------------------------------------------------- overlap check


_P = 0x100000001B3 | 1
_P_INV = pow(_P, -1, 1 << 64)


def window_hashes(data: bytes, step: int = 1, width: int = WINDOW) -> np.ndarray:
    """64-bit polynomial hashes of every ``width``-byte window starting at multiples of ``step``."""
    n = len(data)
    if n < width:
        return np.zeros(0, dtype=np.uint64)
    b = np.frombuffer(data, dtype=np.uint8).astype(np.uint64) + np.uint64(1)
    pw, ipw = _powers(n)
    with np.errstate(over="ignore"):
        s = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(b * pw, out=s[1:])
        starts = np.arange(0, n - width + 1, step)
        return (s[starts + width] - s[starts]) * ipw[starts]


_POWERS: list[np.ndarray] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^i and P^-i mod 2^64 for i < n (cached, grown by doubling)."""
    if not _POWERS or len(_POWERS[0]) < n:
        m = max(n, 2 * len(_POWERS[0]) if _POWERS else MAX_FILE + 1)
        out = []
        for base in (_P, _P_INV):
            a = np.empty(m, dtype=np.uint64)
            a[0] = 1
            with np.errstate(over="ignore"):
                a[1:] = np.cumprod(np.full(m - 1, base, dtype=np.uint64))
            out.append(a)
        _POWERS[:] = out
    return _POWERS[0][:n], _POWERS[1][:n]


class OverlapIndex:
    """Hashes of the 64-byte windows (at 32-byte steps) of evaluation files."""

    def __init__(self, files: Iterable[bytes]) -> None:
        parts = [window_hashes(f, EVAL_STEP) for f in files]
        self.hashes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)

    def matches(self, data: bytes) -> np.ndarray:
        """The distinct indexed windows that occur in ``data`` (checked at every offset)."""
        if not len(self.hashes):
            return np.zeros(0, dtype=np.uint64)
        w = window_hashes(data, 1)
        if not len(w):
            return w
        i = np.searchsorted(self.hashes, w)
        return np.unique(w[self.hashes[np.minimum(i, len(self.hashes) - 1)] == w])

    def overlaps(self, data: bytes) -> bool:
        """Whether any 64-byte window of ``data`` (at every offset) is an indexed window."""
        return bool(len(self.matches(data)))


def overlap_verdicts(matched: dict[str, np.ndarray], boilerplate_docs: int, max_shared: int) -> tuple[set[str], int]:
    """Which documents to drop, given each one's matched evaluation windows: an evaluation window
    found in ``boilerplate_docs`` or more corpus documents is boilerplate (a license header, a po4a
    banner); a document is dropped if it shares any other window, or ``max_shared`` windows in all.
    Returns (dropped sources, number of boilerplate windows)."""
    df: dict[int, int] = {}
    for m in matched.values():
        for h in m.tolist():
            df[h] = df.get(h, 0) + 1
    common = {h for h, n in df.items() if n >= boilerplate_docs}
    drop = {src for src, m in matched.items() if len(m) >= max_shared or any(h not in common for h in m.tolist())}
    return drop, len(common)


def _suite_files(suite: object) -> list[bytes]:
    """The files' bytes of whatever ``load_suite`` returns (a corpus, a mapping, or a list)."""
    if isinstance(suite, (bytes, bytearray)):
        return [bytes(suite)]
    if hasattr(suite, "documents"):
        return [bytes(d.data) for d in suite.documents]
    if isinstance(suite, dict):
        return [x for v in suite.values() for x in _suite_files(v)]
    if isinstance(suite, (list, tuple)):
        out: list[bytes] = []
        for x in suite:
            if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], (bytes, bytearray)):
                out.append(bytes(x[1]))
            else:
                out.extend(_suite_files(x))
        return out
    data = getattr(suite, "data", None)
    return [bytes(data)] if isinstance(data, (bytes, bytearray)) else []


def evaluation_hygiene() -> tuple[set[str], OverlapIndex | None, dict]:
    """Packages named by ``nct.data.suites.evaluation_sources()`` and an index of every suite's
    files, when that module is importable; else (empty, None, a note)."""
    try:
        from . import suites  # type: ignore[attr-defined]
    except ImportError as e:
        return set(), None, {"checked": False, "note": f"nct.data.suites not importable ({e}); overlap check not run"}
    names: set[str] = set()
    try:
        for item in suites.evaluation_sources():
            pkg = item if isinstance(item, str) else (item.get("package") if isinstance(item, dict) else getattr(item, "package", None))
            if pkg:
                names.add(str(pkg))
    except Exception as e:  # noqa: BLE001 -- record, never silently pass
        return set(), None, {"checked": False, "note": f"evaluation_sources() failed: {e!r}"}
    files: list[bytes] = []
    loaded: list[str] = []
    for name in getattr(suites, "SUITES", ()):
        try:
            files.extend(_suite_files(suites.load_suite(name)))
            loaded.append(str(name))
        except Exception as e:  # noqa: BLE001 -- a suite that cannot load here is reported
            loaded.append(f"{name} (not loaded: {e!r})")
    index = OverlapIndex(files)
    return names, index, {"checked": True, "suites": loaded, "eval_files": len(files), "eval_windows": int(len(index.hashes))}


# ---------------------------------------------------------------- fetching


def _deb_license(root: Path, name: str) -> str:
    """Licenses named in a package's Debian copyright file (DEP-5 'License:' lines)."""
    docs = sorted((root / "usr/share/doc").glob("*/copyright")) if (root / "usr/share/doc").exists() else []
    docs = sorted(docs, key=lambda p: p.parent.name != name)
    for c in docs:
        try:
            text = c.read_text("utf-8", "replace")
        except OSError:
            continue
        found = []
        for m in re.finditer(r"^License:\s*(\S[^\n]*)", text, re.MULTILINE):
            lic = m.group(1).strip()
            if lic not in found:
                found.append(lic)
        if found:
            return ", ".join(found[:6])
        for key in ("GPL", "LGPL", "BSD", "MIT", "Apache", "Artistic", "public domain", "GFDL", "Expat"):
            if key.lower() in text.lower():
                return f"{key} (per copyright file)"
        return "see copyright file"
    link = root / "usr/share/doc" / name
    if link.is_symlink():  # the doc dir (and its copyright) belongs to another binary package
        return f"see the copyright of Debian package {Path(os.readlink(link)).name} (same source package)"
    return "unknown"


def _pypi_license(root: Path) -> str:
    """License from an sdist's PKG-INFO (License-Expression, License, or classifiers)."""
    for info in sorted(root.glob("*/PKG-INFO")) + sorted(root.glob("PKG-INFO")):
        text = info.read_text("utf-8", "replace").split("\n\n", 1)[0]
        expr = re.search(r"^License-Expression:\s*(.+)$", text, re.MULTILINE)
        if expr:
            return expr.group(1).strip()
        lic = re.search(r"^License:\s*(.+)$", text, re.MULTILINE)
        if lic and len(lic.group(1).strip()) < 80 and lic.group(1).strip().upper() != "UNKNOWN":
            return lic.group(1).strip()
        cls = re.findall(r"^Classifier:\s*License :: (.+)$", text, re.MULTILINE)
        if cls:
            return "; ".join(c.split(" :: ")[-1] for c in cls)
    return "unknown"


def _run(cmd: list[str], cwd: Path) -> str:
    """Run a command, raising with its stderr on failure."""
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()[-400:]}")
    return r.stdout


def fetch_from_registries(spec: SourceSpec, scratch: Path) -> FetchedPackage:
    """Download and extract one package into ``scratch`` (reused if already there)."""
    dest = scratch / "x" / f"{spec.kind}-{spec.name}"
    done = dest / ".nct-fetched.json"
    if done.exists():
        meta = json.loads(done.read_text())
        lic = meta["license"]
        if spec.kind == "deb" and lic == "unknown":  # written by an older builder: look again
            lic = _deb_license(dest / "root", spec.name)
        return FetchedPackage(spec, dest / "root", meta["version"], lic)
    shutil.rmtree(dest, ignore_errors=True)
    dl = scratch / "dl" / f"{spec.kind}-{spec.name}"
    shutil.rmtree(dl, ignore_errors=True)
    dl.mkdir(parents=True)
    root = dest / "root"
    root.mkdir(parents=True)
    if spec.kind == "deb":
        _run(["apt-get", "download", "-q", spec.name + (f"={spec.version}" if spec.version else "")], dl)
        deb = next(dl.glob("*.deb"))
        _run(["dpkg-deb", "-x", str(deb), str(root)], dl)
        version = _run(["dpkg-deb", "-f", str(deb), "Version"], dl).strip()
        lic = _deb_license(root, spec.name)
    elif spec.kind == "pypi":
        req = spec.name + (f"=={spec.version}" if spec.version else "")
        norm = re.sub(r"[-_.]+", "_", spec.name).lower()
        cached = [p for p in sorted((scratch / "sdists").glob("*")) if spec.version and
                  re.sub(r"[-_.]+", "_", p.name).lower().startswith(f"{norm}_{spec.version}".replace(".", "_") + "_tar")]
        if cached:  # an sdist placed in SCRATCH/sdists earlier (same name and pinned version)
            shutil.copy(cached[0], dl / cached[0].name)
        else:
            pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", spec.name, "-d", str(dl), req]
            try:  # fast when the build backend is installed; else pip builds metadata in isolation
                _run(pip + ["--no-build-isolation"], dl)
            except RuntimeError:
                _run(pip, dl)
        archive = next(p for p in dl.iterdir() if p.name.endswith((".tar.gz", ".zip", ".tgz", ".tar.bz2")))
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                z.extractall(root)
        else:
            with tarfile.open(archive) as t:
                t.extractall(root, filter="data")
        m = re.match(r".*?-(\d[^-]*?)(\.tar\.gz|\.zip|\.tgz|\.tar\.bz2)$", archive.name)
        version = m.group(1) if m else "unknown"
        lic = _pypi_license(root)
    else:
        raise ValueError(f"unknown source kind {spec.kind!r}")
    shutil.rmtree(dl, ignore_errors=True)
    done.write_text(json.dumps({"version": version, "license": lic}))
    return FetchedPackage(spec, root, version, lic)


def local_fetcher(base: Path) -> Fetcher:
    """A fetcher that reads package ``NAME`` from ``base/NAME`` (version and license from
    ``base/NAME.meta.json`` if present): for tests and offline use."""

    def fetch(spec: SourceSpec, scratch: Path) -> FetchedPackage:
        meta_file = base / f"{spec.name}.meta.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        return FetchedPackage(spec, base / spec.name, meta.get("version", "local"), meta.get("license", "unknown"))

    return fetch


# ---------------------------------------------------------------- scanning and selection


def scan_package(pkg: FetchedPackage, cap: int, seen: set[bytes], stats: dict) -> list[Candidate]:
    """The package's accepted text files, in a stable hashed order, until ``cap`` bytes."""
    files = [p for p in pkg.root.rglob("*") if p.is_file() and not p.is_symlink()]
    rels = sorted((str(p.relative_to(pkg.root)), p) for p in files)
    rels.sort(key=lambda rp: _digest(rp[0], "order:"))
    out: list[Candidate] = []
    taken = 0
    for rel, path in rels:
        if taken >= cap:
            break
        name = path.name
        if SKIP_NAMES.match(re.sub(r"\.(gz|dz)$", "", name)) or rel.startswith(".nct"):
            continue
        if is_eval_name(rel):
            stats["eval_name"] = stats.get("eval_name", 0) + 1
            continue
        data = read_text_file(path)
        if data is None:
            stats["not_text_or_small"] = stats.get("not_text_or_small", 0) + 1
            continue
        if names_eval_work(data):
            stats["names_eval_work"] = stats.get("names_eval_work", 0) + 1
            continue
        h = hashlib.blake2b(data, digest_size=16).digest()
        if h in seen:
            stats["duplicate"] = stats.get("duplicate", 0) + 1
            continue
        seen.add(h)
        out.append(Candidate(f"{pkg.spec.kind}:{pkg.spec.name}/{rel}", pkg.spec.name, path, classify(rel, pkg.spec.category), len(data)))
        taken += len(data)
    return out


def select(cands: list[Candidate], size: int, shares: dict[str, float], seed: int) -> list[Candidate]:
    """Each category's share of ``size`` in a seeded hashed order; left-over room is filled from
    every category's remaining candidates in the same order."""
    order = sorted(cands, key=lambda c: (_digest(c.source, f"select:{seed}:"), c.source))
    chosen: list[Candidate] = []
    left: list[Candidate] = []
    used = dict.fromkeys(shares, 0)
    for c in order:
        budget = int(size * shares.get(c.category, 0.0))
        if used.get(c.category, 0) + c.size <= budget:
            chosen.append(c)
            used[c.category] = used.get(c.category, 0) + c.size
        else:
            left.append(c)
    total = sum(used.values())
    for c in left:
        if total >= size:
            break
        if total + c.size <= size:
            chosen.append(c)
            total += c.size
    return chosen


def crlf(data: bytes) -> bytes:
    """The document with CRLF line endings."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def render_man(data: bytes) -> bytes | None:
    """A man page rendered to plain UTF-8 text by groff, or None if that fails."""
    try:
        r = subprocess.run(["groff", "-man", "-t", "-Tutf8", "-P-cbou"], input=data,
                           capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = r.stdout
    if r.returncode or len(out) < MIN_FILE or not is_text(out):
        return None
    return cap_bytes(out)


def build_corpus(
    specs: list[SourceSpec],
    out: str | Path,
    size: int = 200_000_000,
    scratch: str | Path | None = None,
    fetcher: Fetcher = fetch_from_registries,
    seed: int = 0,
    crlf_fraction: float = 0.10,
    render_man_fraction: float = 0.25,
    package_cap: int = PACKAGE_CAP,
    shares: dict[str, float] | None = None,
    jobs: int = 4,
    boilerplate_docs: int = 10,
    max_shared: int = 64,
    log: Callable[[str], None] = lambda s: None,
) -> BuildResult:
    """Fetch ``specs``, select ~``size`` bytes of text by category, write the streaming corpus to ``out``."""
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(scratch) if scratch else out / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    settings = _Settings(seed, size, shares or SHARES, crlf_fraction, render_man_fraction, package_cap)
    eval_packages, index, overlap = evaluation_hygiene()
    excluded = [s.name for s in specs if EXCLUDED_PACKAGES.match(s.name) or s.name in eval_packages]
    usable = [s for s in specs if s.name not in excluded]
    fetched, failed = _fetch_all(usable, scratch, fetcher, jobs, log)
    found = _Found(excluded=excluded, eval_packages=eval_packages, failed=failed, seconds={"fetch": round(time.time() - t0, 1)})

    cands: list[Candidate] = []
    seen: set[bytes] = set()
    for pkg in fetched:  # in spec order, so de-duplication is deterministic
        cands.extend(scan_package(pkg, package_cap, seen, found.skipped))
    chosen = select(cands, size, settings.shares, seed)
    chosen.sort(key=lambda c: (_digest(c.source, f"layout:{seed}:"), c.source))
    log(f"{len(cands)} candidates, {len(chosen)} chosen")

    drop = _overlapping(chosen, index, overlap, boilerplate_docs, max_shared, log) if index is not None else set()
    _write_parts(chosen, drop, out, settings, found)
    found.overlap = {**overlap, "dropped_documents": len(found.dropped), "dropped": found.dropped[:200]}
    meta = {p.spec.name: p for p in fetched}
    sources = [{"kind": s.kind, "package": s.name, "version": meta[s.name].version, "license": meta[s.name].license,
                **found.per_package.get(s.name, {"bytes": 0, "documents": 0, "categories": {}})} for s in usable if s.name in meta]
    found.seconds["total"] = round(time.time() - t0, 1)
    manifest = _manifest(found, settings, sources)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return BuildResult(out, manifest)


@dataclass(frozen=True)
class _Settings:
    """How a corpus is built: what is selected, and which documents are written in another form
    (by a seeded hash of their source: man pages rendered by groff, prose and markup with CRLF)."""

    seed: int
    size: int
    shares: dict[str, float]
    crlf_fraction: float
    render_man_fraction: float
    package_cap: int


@dataclass
class _Found:
    """What a build found and wrote: per part the documents' offsets and bytes, and what the
    manifest counts."""

    excluded: list[str]
    eval_packages: set[str]
    failed: dict[str, str]  # why each package that could not be fetched failed
    seconds: dict[str, float]
    skipped: dict[str, int] = field(default_factory=dict)  # files passed over, by reason
    offsets: dict[str, list[int]] = field(default_factory=lambda: {"train": [], "validation": []})
    pos: dict[str, int] = field(default_factory=lambda: {"train": 0, "validation": 0})
    category_bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    per_package: dict[str, dict] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    overlap: dict = field(default_factory=dict)
    crlf_documents: int = 0
    crlf_bytes: int = 0
    rendered: int = 0


def _fetch_all(
    specs: list[SourceSpec], scratch: Path, fetcher: Fetcher, jobs: int, log: Callable[[str], None]
) -> tuple[list[FetchedPackage], dict[str, str]]:
    """(the packages fetched, in spec order; why each other one failed), ``jobs`` at a time."""
    fetched: list[FetchedPackage] = []
    failed: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(s, pool.submit(fetcher, s, scratch)) for s in specs]
        for s, f in futures:
            try:
                fetched.append(f.result())
                log(f"fetched {s.kind}:{s.name}")
            except Exception as e:  # noqa: BLE001 -- a missing package is recorded, the build goes on
                failed[f"{s.kind}:{s.name}"] = str(e)[-300:]
                log(f"FAILED {s.kind}:{s.name}: {str(e)[-200:]}")
    return fetched, failed


def _overlapping(
    chosen: list[Candidate], index: OverlapIndex, overlap: dict, boilerplate_docs: int, max_shared: int, log: Callable[[str], None]
) -> set[str]:
    """The chosen documents to drop for sharing 64-byte windows with evaluation files
    (``overlap_verdicts``); what was found is added to ``overlap``."""
    matched = {}
    for c in chosen:
        data = read_text_file(c.path)
        if data is not None:
            m = index.matches(data)
            if len(m):
                matched[c.source] = m
    drop, n_common = overlap_verdicts(matched, boilerplate_docs, max_shared)
    overlap.update({"documents_sharing_any_window": len(matched), "boilerplate_windows": n_common,
                    "rule": f"drop a document sharing any 64-byte window with an evaluation file, except windows "
                    f"found in >= {boilerplate_docs} corpus documents (boilerplate), and any sharing >= {max_shared} windows"})
    log(f"overlap: {len(matched)} documents share a window, {len(drop)} dropped, {n_common} boilerplate windows")
    return drop


def _write_parts(chosen: list[Candidate], drop: set[str], out: Path, settings: _Settings, found: _Found) -> None:
    """Stream the chosen documents (less ``drop``), each with its separator, into
    ``out/{train,validation}.bin`` and their offsets into ``.idx.npy``, counting in ``found``."""
    files = {part: open(out / f"{part}.bin.tmp", "wb") for part in found.offsets}
    try:
        for c in chosen:
            data = read_text_file(c.path)
            if data is None:
                continue
            if c.source in drop:
                found.dropped.append(c.source)
                continue
            data = _variant(c, data, settings, found)
            part = "validation" if is_validation(c.source) else "train"
            found.offsets[part].append(found.pos[part])
            files[part].write(data + SEPARATOR)
            found.pos[part] += len(data) + len(SEPARATOR)
            found.category_bytes[c.category] = found.category_bytes.get(c.category, 0) + len(data)
            p = found.per_package.setdefault(c.package, {"bytes": 0, "documents": 0, "categories": {}})
            p["bytes"] += len(data)
            p["documents"] += 1
            p["categories"][c.category] = p["categories"].get(c.category, 0) + len(data)
    finally:
        for f in files.values():
            f.close()
    for part in found.offsets:
        (out / f"{part}.bin.tmp").replace(out / f"{part}.bin")
        np.save(out / f"{part}.idx.npy", np.asarray(found.offsets[part], dtype=np.int64))


def _variant(c: Candidate, data: bytes, settings: _Settings, found: _Found) -> bytes:
    """The document as written: a man page rendered, prose or markup with CRLF, where the
    settings' seeded hash picks it (counted in ``found``)."""
    if c.category in ("man", "nonenglish") and MAN_PATH.search(re.sub(r"\.(gz|dz)$", "", c.source)) and \
            _digest(c.source, f"render:{settings.seed}:") % 1000 < settings.render_man_fraction * 1000:
        rendered = render_man(data)
        if rendered is not None:
            data = rendered
            found.rendered += 1
    if c.category in ("prose", "markup") and _digest(c.source, f"crlf:{settings.seed}:") % 1000 < settings.crlf_fraction * 1000:
        data = crlf(data)
        found.crlf_documents += 1
        found.crlf_bytes += len(data)
    return data


def _manifest(found: _Found, settings: _Settings, sources: list[dict]) -> dict:
    """The corpus's manifest.json: what was written and how."""
    total = sum(found.category_bytes.values())
    return {
        "format": "nct-corpus-1",
        "separator": SEPARATOR.decode(),
        "seed": settings.seed,
        "target_bytes": settings.size,
        "total_bytes": total,
        "documents": {part: len(offsets) for part, offsets in found.offsets.items()},
        "bin_bytes": dict(found.pos),
        "category_bytes": found.category_bytes,
        "category_share": {k: round(v / max(1, total), 4) for k, v in found.category_bytes.items()},
        "target_shares": settings.shares,
        "validation_rule": f"blake2b-64('validation:' + source) % {VALIDATION_EVERY} == 0 (source = kind:package/path)",
        "crlf": {"fraction": settings.crlf_fraction, "applies_to": ["prose", "markup"], "documents": found.crlf_documents,
                 "bytes": found.crlf_bytes},
        "rendered_man_pages": {"fraction": settings.render_man_fraction, "documents": found.rendered,
                               "renderer": "groff -man -Tutf8 -P-cbou"},
        "filters": {"min_file": MIN_FILE, "max_file": MAX_FILE, "package_cap": settings.package_cap,
                    "text": "no NUL byte, valid UTF-8; .gz/.dz decompressed", "skipped": found.skipped},
        "exclusions": {"packages_pattern": EXCLUDED_PACKAGES.pattern, "paths_pattern": EXCLUDED_PATHS.pattern,
                       "file_names_pattern": EVAL_NAME.pattern, "titles": list(EVAL_TITLES),
                       "excluded_packages": found.excluded, "evaluation_suite_packages": sorted(found.eval_packages)},
        "overlap_check": found.overlap,
        "packages": len([s for s in sources if s["bytes"]]),
        "licenses": _license_summary(sources),
        "failed": found.failed,
        "sources": sources,
        "seconds": found.seconds,
    }


def _license_summary(sources: list[dict]) -> dict[str, int]:
    """Bytes per declared license string."""
    out: dict[str, int] = {}
    for s in sources:
        if s["bytes"]:
            out[s["license"]] = out.get(s["license"], 0) + s["bytes"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def parse_size(text: str) -> int:
    """'200MB', '150M', '1.5GB', '4096' -> bytes (decimal units)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([kKmMgG]?)[bB]?\s*", text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()])


# ---------------------------------------------------------------- the default package list

_NONEN = "nonenglish"
_DEBS: list[tuple[str, str | None]] = [
    # prose / docs
    *[(p, None) for p in "doc-debian debian-history debian-faq developers-reference debian-policy maint-guide "
      "debian-handbook debian-refcard debian-reference-en vim-runtime emacs-common perl-doc git-doc bash-doc "
      "sqlite3-doc postgresql-doc-15 nodejs-doc golang-1.19-doc tcl8.6-doc tk8.6-doc "
      "libssl-doc gnu-standards zsh-doc mutt ruby3.1-doc haskell98-report groff flex-doc "
      "gnome-devel-docs gnome-user-docs systemd sphinx-common python3-docutils".split()],
    *[(p, "prose") for p in "dict-foldoc dict-vera dict-elements fortunes fortunes-min fortunes-bofh-excuses "
      "fortunes-mario fortunes-debian-hints".split()],
    # man pages
    *[(p, "man") for p in "manpages manpages-dev freebsd-manpages git-man".split()],
    # code
    *[(p, None) for p in "bash-completion devscripts debhelper autoconf automake libtool dh-python m4 cmake-data "
      "meson libboost1.81-dev libglib2.0-dev libssl-dev linux-libc-dev libgtk-3-dev libeigen3-dev "
      "libstdc++-12-dev libc6-dev libsdl2-dev libpng-dev libcurl4-openssl-dev libsqlite3-dev libxml2-dev "
      "libpython3.11-dev libgmp-dev libffi-dev libuv1-dev libevent-dev libyaml-dev libjson-c-dev libgit2-dev "
      "nlohmann-json3-dev libfmt-dev libspdlog-dev libgtest-dev rapidjson-dev libpugixml-dev libtinyxml2-dev "
      "libabsl-dev libprotobuf-dev libgrpc++-dev libncurses-dev emacs-el perl-modules-5.36 lintian "
      "golang-github-spf13-cobra-dev golang-golang-x-net-dev golang-github-gorilla-mux-dev "
      "golang-github-prometheus-client-golang-dev golang-golang-x-sys-dev golang-golang-x-text-dev "
      "golang-github-stretchr-testify-dev golang-github-sirupsen-logrus-dev golang-gopkg-yaml.v3-dev "
      "golang-github-google-go-cmp-dev golang-golang-x-tools-dev golang-github-pelletier-go-toml-dev "
      "golang-github-burntsushi-toml-dev golang-github-gin-gonic-gin-dev golang-github-urfave-cli-dev "
      "librust-serde-dev librust-regex-dev librust-syn-dev librust-tokio-dev librust-clap-dev librust-rand-dev "
      "librust-serde-json-dev librust-regex-syntax-dev librust-hyper-dev librust-futures-util-dev librust-nom-dev "
      "librust-itertools-dev librust-rayon-core-dev librust-chrono-dev librust-log-dev librust-anyhow-dev "
      "librust-bytes-dev librust-toml-dev librust-libc-dev librust-crossbeam-channel-dev "
      "libjs-jquery node-lodash node-express node-typescript node-acorn node-react node-d3 libjs-bootstrap "
      "node-underscore node-async node-commander node-yargs node-chalk node-semver node-babel7 node-marked "
      "node-highlight.js ruby-rack ruby-rails ruby-nokogiri ruby-rspec-core ruby-thor ruby-sinatra rake tcl8.6 "
      "tk8.6 lua-penlight ocaml-base-nox erlang-src elixir "
      "php-common php-symfony-console php-guzzlehttp-guzzle "
      "python3-sphinx".split()],
    # data
    *[(p, "data") for p in "iso-codes tzdata unicode-data pci.ids usb.ids hwdata publicsuffix media-types "
      "shared-mime-info osinfo-db unicode-cldr-core mobile-broadband-provider-info xkb-data console-data "
      "wamerican dict-wn".split()],
    # other languages
    *[(p, _NONEN) for p in "debian-reference-de debian-reference-fr debian-reference-it debian-reference-ja "
      "debian-reference-es debian-reference-pt debian-reference-zh-cn manpages-de manpages-de-dev manpages-fr "
      "manpages-fr-dev manpages-es manpages-es-dev manpages-it manpages-pl manpages-pl-dev manpages-ru "
      "manpages-ja manpages-ja-dev manpages-zh manpages-nl manpages-pt-br manpages-ro manpages-uk manpages-cs "
      "manpages-da manpages-fi manpages-sv manpages-mk manpages-pt manpages-tr manpages-hu fortunes-de "
      "fortunes-it fortunes-es fortunes-ru fortunes-pl fortunes-cs fortunes-eo fortunes-ga fortunes-br "
      "dict-freedict-fra-eng dict-freedict-spa-eng dict-freedict-ita-eng "
      "dict-freedict-nld-eng dict-freedict-por-eng dict-freedict-pol-eng dict-freedict-swe-eng locales "
      "wngerman wfrench witalian wspanish wportuguese".split()],
]
_PYPI = (
    "requests flask click jinja2 werkzeug attrs rich httpx orjson pyyaml lxml simplejson "
    "ujson msgpack regex pillow psutil greenlet markupsafe sqlalchemy pytest django sympy tornado aiohttp black "
    "mypy setuptools pip sphinx docutils babel networkx cython uvloop redis celery fastapi starlette typer toolz "
    "more-itertools polars maturin grpcio protobuf numba boto3"
).split()


def default_sources() -> list[SourceSpec]:
    """The default package list (Debian bookworm packages and PyPI sdists)."""
    specs = [SourceSpec("deb", name, None, cat) for name, cat in _DEBS]
    specs += [SourceSpec("pypi", name, PYPI_VERSIONS.get(name)) for name in _PYPI]
    return specs


# pinned so that the same package list gives the same bytes
PYPI_VERSIONS: dict[str, str] = {
    "aiohttp": "3.14.5",
    "attrs": "26.1.0",
    "babel": "2.19.0",
    "black": "26.10.1",
    "boto3": "1.44.8",
    "celery": "5.7.0",
    "click": "8.5.1",
    "cython": "3.3.1",
    "django": "5.2.19",
    "docutils": "0.23",
    "fastapi": "0.165.0",
    "flask": "3.1.3",
    "greenlet": "3.5.6",
    "grpcio": "1.85.3",
    "httpx": "0.28.1",
    "jinja2": "3.1.6",
    "lxml": "6.1.3",
    "markupsafe": "3.0.4",
    "maturin": "1.16.0",
    "more-itertools": "11.2.1",
    "msgpack": "1.2.4",
    "mypy": "2.4.1",
    "networkx": "3.6.1",
    "numba": "0.68.1",
    "orjson": "3.13.0",
    "pillow": "13.0.0",
    "pip": "26.3",
    "polars": "2.1.0",
    "protobuf": "7.36.2",
    "psutil": "7.2.2",
    "pyyaml": "6.0.4",
    "regex": "2026.11.19",
    "requests": "2.34.2",
    "setuptools": "84.2.1",
    "simplejson": "4.3.0",
    "sqlalchemy": "2.1.9",
    "sympy": "1.14.0",
    "toolz": "1.0.0",
    "tornado": "6.6.1",
    "uvloop": "0.23.0",
}
