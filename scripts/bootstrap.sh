#!/usr/bin/env bash
# Prepare a fresh machine for `make test` / `make demo`: find or install uv, then create the
# project's virtual environment from the committed lock file. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# uv must never try to download a Python from outside: the machines here have CPython 3.11.
export UV_PYTHON_DOWNLOADS=never

if command -v uv >/dev/null 2>&1; then
    uv=$(command -v uv)
else
    if [ ! -x .tools/bin/uv ]; then
        echo "bootstrap: uv not found, installing it into .tools/" >&2
        python3 -m venv .tools
        .tools/bin/pip install --quiet --disable-pip-version-check uv
    fi
    uv=.tools/bin/uv
fi

"$uv" sync --locked --quiet
# The predictive pacer compiled with mypyc (scripts/build_native.py; seconds, and only when its
# source changed). Without it the same source runs as pure Python: the same decisions, slower.
if ! "$uv" run --locked --no-sync python scripts/build_native.py >&2; then
    echo "bootstrap: voxcore_domain.pacing could not be compiled; it runs as pure Python" >&2
fi
echo "$uv"
