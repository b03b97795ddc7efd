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
echo "$uv"
