"""`ServerProcess`: a server that dies at start says why."""

from __future__ import annotations

import sys

import pytest

from voxcore_adapters.testing.process import ServerProcess, free_port


def test_a_server_that_exits_at_start_reports_its_output() -> None:
    dying = ServerProcess(
        "dying",
        lambda _: [sys.executable, "-c", "print('bad flag --nope'); raise SystemExit(3)"],
        free_port(),
    )
    with pytest.raises(RuntimeError, match="bad flag --nope"):
        dying.start()
