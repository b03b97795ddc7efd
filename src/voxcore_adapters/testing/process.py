"""A server process on a free loopback port, started, awaited and cleaned up."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from voxcore_adapters.testing.lifecycle import StartStop

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports nobody listens on right now: each probe stays bound until
    all are picked, so the OS cannot hand out one port twice (as separate `free_port` calls
    can, right after a probe closes)."""
    with contextlib.ExitStack() as probes:
        ports = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind((LOOPBACK, 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class ServerProcess(StartStop["ServerProcess"]):
    """One server process with its own temporary data directory.

    `command` receives the data directory and returns the argv to run. `ready` is polled until
    it returns True (default: the port accepts TCP connections) or `timeout_s` passes, in which
    case the process is stopped and the error carries the tail of its output.
    """

    def __init__(
        self,
        name: str,
        command: Callable[[Path], Sequence[str]],
        port: int,
        ready: Callable[[], bool] | None = None,
        timeout_s: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self._command = command
        self._ready = ready or (lambda: port_open(port))
        self._timeout_s = timeout_s
        self._env = env
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        if self._dir is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._dir

    def start(self) -> ServerProcess:
        self._dir = Path(tempfile.mkdtemp(prefix=f"vox-{self.name}-"))
        return self._launch()

    def _launch(self) -> ServerProcess:
        log = (self.data_dir / "server.log").open("ab")
        self._process = subprocess.Popen(
            list(self._command(self.data_dir)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.data_dir,
            env=self._env,
            start_new_session=True,
        )
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                # Read its output before `stop` removes the directory that holds it.
                tail = self._log_tail()
                self.stop()
                raise RuntimeError(f"{self.name} exited at start: {tail}")
            if self._ready():
                return self
            time.sleep(0.1)
        tail = self._log_tail()
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {self._timeout_s:.0f} s: {tail}")

    def halt(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) but keep its data directory and port, for
        outage tests; `restart` starts it again on both."""
        process, self._process = self._process, None
        if process is not None:
            _end(process)

    def restart(self) -> ServerProcess:
        """Start the halted server again on its port and data directory; whatever it persisted
        there (a Redis started without persistence: nothing) is what it comes back with."""
        if self._process is not None:
            raise RuntimeError(f"{self.name} is running")
        return self._launch()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP), for fault tests; `resume` thaws it."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _end(process)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _log_tail(self) -> str:
        path = self.data_dir / "server.log" if self._dir else None
        if path is None or not path.exists():
            return "(no output)"
        return path.read_bytes()[-2000:].decode(errors="replace")


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
