"""An ASGI app served by a real Granian process on a loopback TCP port, for tests that talk to a
role (the API, a stand-in for one of its routes) over real HTTP."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port

REPO = Path(__file__).resolve().parents[3]


def served(name: str, factory: str, env: dict[str, str]) -> ServerProcess:
    """`granian --interface asgi --factory <factory>` on a free port; not started yet.
    `ServerProcess.stop` then `start` again makes "the API is down" and "back"."""
    port = free_port()
    return ServerProcess(
        name,
        lambda _: [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--workers",
            "1",
            "--factory",
            factory,
        ],
        port,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def url(server: ServerProcess) -> str:
    return f"http://{LOOPBACK}:{server.port}"
