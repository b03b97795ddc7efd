"""The domain imports only the standard library, attrs and cattrs: the simulator, notebooks and
every role run it without a database, a network or an event loop."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import voxcore_domain

ALLOWED_THIRD_PARTY = {"attrs", "cattrs"}
# Standard-library modules that are I/O or concurrency frameworks: the domain takes `now` and a
# random generator instead of reaching for them.
FORBIDDEN_STDLIB = {"asyncio", "socket", "subprocess", "threading", "multiprocessing", "http"}

DOMAIN = Path(voxcore_domain.__file__).parent


def imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def offending_imports(source: str) -> set[str]:
    return {
        root
        for root in imported_roots(source)
        if root != "voxcore_domain"
        and root != "__future__"
        and root not in ALLOWED_THIRD_PARTY
        and (root not in sys.stdlib_module_names or root in FORBIDDEN_STDLIB)
    }


def test_domain_imports_only_stdlib_attrs_and_cattrs() -> None:
    modules = sorted(DOMAIN.rglob("*.py"))
    assert modules, "the domain package has no modules"
    offenders = {
        str(path.relative_to(DOMAIN)): bad
        for path in modules
        if (bad := offending_imports(path.read_text()))
    }
    assert offenders == {}


def test_the_check_catches_io_and_outer_layers() -> None:
    source = (
        "import pymongo\nfrom redis.asyncio import Redis\nimport asyncio\nfrom apps.api import x\n"
    )
    assert offending_imports(source) == {"pymongo", "redis", "asyncio", "apps"}
    assert offending_imports("import attrs\nfrom datetime import UTC\n") == set()
