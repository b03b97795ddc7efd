"""The compiled pacer (scripts/build_native.py) is never older than its source: Python would
import a stale extension before the `.py` beside it, and every role would run old code."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import voxcore_domain.pacing
from bench.pacing_builds import builds, is_compiled

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_native.py"


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_native", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_module_imported_is_compiled_exactly_when_a_current_build_is_there() -> None:
    compiled = is_compiled(voxcore_domain.pacing)
    assert compiled == build_script().is_current(), (
        "the compiled voxcore_domain.pacing is older than its source: run scripts/bootstrap.sh"
        if compiled
        else "a current build is there, yet the source was imported"
    )


def test_the_pure_build_runs_the_source() -> None:
    pure = builds()["pure"]
    assert str(pure.__file__).endswith("pacing.py")
    assert not is_compiled(pure)
