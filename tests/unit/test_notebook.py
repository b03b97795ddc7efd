"""The notebook user's script runs, start to finish, and draws its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).parents[2] / "docs" / "notebooks" / "pacing.py"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_pacing_notebook_runs_and_plots(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(NOTEBOOK), "--out", str(tmp_path), "--hours", "0.5", "--slots", "30"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("progressive") for line in lines)
    assert any(line.startswith("predictive") for line in lines)
    for name in ("occupancy.png", "abandon.png"):
        figure = tmp_path / name
        assert figure.read_bytes().startswith(PNG_MAGIC)
        assert figure.stat().st_size > 10_000, "an empty plot is a few kB; a drawn one more"
