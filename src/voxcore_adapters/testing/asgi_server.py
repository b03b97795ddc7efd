"""An ASGI app served by a real Granian process on a loopback TCP port, for tests that talk to a
role (the API, a stand-in for one of its routes) over real HTTP; or on a Unix socket, as fleet
workers are served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port

REPO = Path(__file__).resolve().parents[3]


def granian_on_port(port: int, factory: str) -> list[str]:
    """The command an HTTP role runs as: Granian, one process, serving `factory` on loopback
    `port`."""
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--host", LOOPBACK,
        "--port", str(port), "--workers", "1", "--factory", factory,
    ]  # fmt: skip


def served(name: str, factory: str, env: dict[str, str]) -> ServerProcess:
    """`granian --interface asgi --factory <factory>` on a free port; not started yet.
    `ServerProcess.stop` then `start` again makes "the API is down" and "back"."""
    port = free_port()
    return ServerProcess(
        name,
        lambda _: granian_on_port(port, factory),
        port,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def url(server: ServerProcess) -> str:
    return f"http://{LOOPBACK}:{server.port}"


def granian_on_socket(
    socket: Path, permissions: str = "0600", factory: str = "apps.fleet.main:create_app"
) -> list[str]:
    """The command a fleet worker runs as (docs/fleet.md): Granian, one process, serving
    `factory` on the Unix socket `socket` with the given file mode."""
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1",
        "--uds", str(socket), "--uds-permissions", permissions, "--factory", factory,
    ]  # fmt: skip


def spawn_worker(
    socket: Path,
    env: Mapping[str, str],
    log: Path,
    permissions: str = "0600",
    without: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """A fleet worker (`granian_on_socket`) started in this repository with `env` over this
    process's environment less the variables named in `without`, its output appended to `log`,
    in a session of its own (so that its whole process group, Granian's main process and its
    worker, can be signalled at once)."""
    inherited = {name: value for name, value in os.environ.items() if name not in without}
    with log.open("ab") as out:
        return subprocess.Popen(
            granian_on_socket(socket, permissions),
            cwd=REPO,
            env={**inherited, "PYTHONPATH": str(REPO), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_worker(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """Stop a worker `spawn_worker` started as systemd does: SIGINT (Granian stops gracefully),
    SIGKILL if it is still up after `timeout_s`."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def served_on_socket(name: str, factory: str, socket: Path, env: dict[str, str]) -> ServerProcess:
    """`granian --interface asgi --uds <socket> --factory <factory>`, as a fleet worker runs
    (docs/fleet.md); ready once `GET /health` answers 200 on the socket. Not started yet. Its
    `port` is 0: it listens on no TCP port."""
    return ServerProcess(
        name,
        lambda _: granian_on_socket(socket, factory=factory),
        0,
        ready=lambda: healthy_on(socket),
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def answers(url: str, socket: Path | None = None) -> bool:
    """`GET url` answers 200 now (over the Unix socket `socket` when one is given)."""
    transport = httpx.HTTPTransport(uds=str(socket)) if socket else None
    try:
        with httpx.Client(transport=transport, timeout=2.0) as client:
            return client.get(url).status_code == 200
    except httpx.TransportError:
        return False


def healthy_on(socket: Path) -> bool:
    """A fleet worker's `GET /health` answers 200 on `socket` now."""
    return socket.exists() and answers("http://fleet/health", socket)
