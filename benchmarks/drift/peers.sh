#!/usr/bin/env bash
# Build benchmarks/drift/.venv-peers: the drift tools the benchmark compares against, kept out of
# Watchkeeper's own dependencies. torch is pinned in the same pip command as alibi-detect so pip
# takes the CPU build already pinned and never resolves a CUDA one; alibi-detect is installed
# without extras, so TensorFlow is not pulled in. alibi-detect 0.13 needs numpy < 2, and pyarrow
# 26 needs numpy >= 2: hence pyarrow < 26.
#
#   bash benchmarks/drift/peers.sh            # create or update the venv
#   PYTHON=python3.11 bash benchmarks/drift/peers.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
python="${PYTHON:-python3.11}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check)
"${pip[@]}" --upgrade pip
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" "torch==2.13.0" \
    "evidently==0.7.23" "nannyml==0.13.1" "alibi-detect==0.13.0" scipy "pyarrow<26" pandas
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("torch", "evidently", "nannyml", "alibi-detect", "scipy", "numpy", "pandas",
             "pyarrow", "tensorflow"):
    try:
        print(f"{name} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name} not installed")
PY
du -sh "$venv"
