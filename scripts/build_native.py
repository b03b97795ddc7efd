"""Compile `voxcore_domain.pacing` with mypyc, next to its source, unless it already is.

    python scripts/build_native.py          # what scripts/bootstrap.sh runs (quiet when current)
    python scripts/build_native.py --check  # exit 1 if the compiled module is missing or stale

The predictive pacer sums over every call and dial of every campaign each tick; compiled, those
sums run as C arithmetic on doubles, the same operations in the same order as the Python source,
so the decisions are the same to the last bit (tests/unit/test_pacing_equivalence.py runs on both
modules). Python imports the extension before the `.py` beside it; without one (no C compiler,
a failed build) the source runs as it is.

A compiled module must never outlive its source: `pacing.native.txt` beside it records the
fingerprint it was built from (the sources it was compiled against, mypy's and Python's versions),
and any difference removes it and builds again. A build that fails leaves no compiled module.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "voxcore_domain"
MODULE = "voxcore_domain/pacing.py"
STAMP = PACKAGE / "pacing.native.txt"
BUILD = ROOT / "build" / "native"
COMPILED_AGAINST = ("pacing.py", "estimators.py", "model.py")
"""The compiled code relies on the types of what it imports from these."""


def fingerprint() -> str:
    import mypy.version

    digest = hashlib.sha256()
    for name in COMPILED_AGAINST:
        digest.update((PACKAGE / name).read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(f"{mypy.version.__version__} {sys.version} {sysconfig.get_platform()}".encode())
    return digest.hexdigest()


def compiled_files() -> list[Path]:
    """The extension and mypyc's runtime library for it, as built in place."""
    return sorted(PACKAGE.glob("pacing.*.so")) + sorted(PACKAGE.glob("pacing__mypyc.*.so"))


def is_current() -> bool:
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return (
        (PACKAGE / f"pacing{suffix}").exists()
        and STAMP.exists()
        and STAMP.read_text().strip() == fingerprint()
    )


def remove() -> None:
    for path in [*compiled_files(), STAMP]:
        path.unlink(missing_ok=True)


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    BUILD.mkdir(parents=True, exist_ok=True)
    # mypy resolves `voxcore_domain` from the working directory; its cache stays under build/.
    os.environ["MYPY_CACHE_DIR"] = str(BUILD / "mypy_cache")
    os.chdir(SRC)
    setup(
        name="voxcore_domain_native",
        ext_modules=mypycify([MODULE], target_dir=str(BUILD / "c")),
        script_args=[
            "--quiet",
            "build_ext",
            "--inplace",
            "--build-temp",
            str(BUILD / "temp"),
            "--build-lib",
            str(BUILD / "lib"),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    if is_current():
        return 0
    if args.check:
        print("voxcore_domain.pacing: no compiled module built from this source", file=sys.stderr)
        return 1
    BUILD.mkdir(parents=True, exist_ok=True)
    # Two `make` runs at once bootstrap at once: one builds, the other waits and finds it done.
    with (BUILD / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_current():
            return 0
        # Removed, not overwritten: a process that loaded the old extension keeps its copy.
        remove()
        print("build_native: compiling voxcore_domain.pacing with mypyc…", file=sys.stderr)
        try:
            build()
        except (Exception, SystemExit):
            remove()
            raise
        STAMP.write_text(fingerprint() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
