#!/usr/bin/env bash
# Issue 19: what the GPU machine needs beside this tree, put where `bench/gpu_run.py` reads it (both
# folders are ignored by git and named in the device run's `carry`): the wheels it lacks (.whl/,
# Python 3.12 manylinux builds of the versions installed here) and the training text (.gpu/).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl .gpu .git/info
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
grep -qx '/.gpu/' .git/info/exclude || echo /.gpu/ >> .git/info/exclude
for name in zstandard brotli pyppmd; do
  version=$(python3 -m pip show "$name" | awk '/^Version:/ {print $2}')
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl "$name==$version"
done
cp ../shared/corpora/linux-docs.txt.xz .gpu/
du -sh .whl .gpu
