"""Every console module parses as an ES module (Node's own parser): a syntax error in a page
fails here, not in an operator's browser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

MODULES = sorted((Path(__file__).resolve().parents[2] / "apps/console/static/js").rglob("*.js"))


def test_there_are_modules_to_check() -> None:
    assert len(MODULES) >= 8


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_the_module_parses(module: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed: run `make test`, which installs it"
    checked = subprocess.run([node, "--check", str(module)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
