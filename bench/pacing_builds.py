"""The two builds of `voxcore_domain.pacing`: compiled by mypyc (`scripts/build_native.py`, when
built) and its pure-Python source. The bench times both; the pacing tests run on both.

`import voxcore_domain.pacing` gives the compiled one when it is there: every role runs it. The
source is loaded here a second time, as its own module, to be measured and tested beside it. Its
pacers accept the compiled module's values (`PacingInput`, `PacerMemory`), not the other way
round: the compiled code checks the classes of its arguments.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import voxcore_domain.pacing

SOURCE = Path(voxcore_domain.__file__).parent / "pacing.py"
PURE_NAME = "voxcore_domain_pacing_source"


def is_compiled(module: ModuleType) -> bool:
    return not str(module.__file__).endswith(".py")


def pure() -> ModuleType:
    """`voxcore_domain/pacing.py` run by the interpreter, whatever `import` would pick."""
    if not is_compiled(voxcore_domain.pacing):
        return voxcore_domain.pacing
    loaded = sys.modules.get(PURE_NAME)
    if loaded is None:
        spec = importlib.util.spec_from_file_location(PURE_NAME, SOURCE)
        assert spec is not None
        assert spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[PURE_NAME] = loaded
        spec.loader.exec_module(loaded)
    return loaded


def builds() -> dict[str, ModuleType]:
    """ "compiled" (if built) and "pure"."""
    found = {"pure": pure()}
    if is_compiled(voxcore_domain.pacing):
        found["compiled"] = voxcore_domain.pacing
    return found
