"""The demo's own child processes: each started in a process group of its own, logged to a
file, and stopped (SIGINT, then SIGKILL to the whole group) when the demo ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

MARKER = "VOX_DEMO_RUN"


@attrs.define
class Child:
    """One started process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, size: int = 3000) -> str:
        return self.log.read_bytes()[-size:].decode(errors="replace") if self.log.exists() else ""


class Supervisor:
    """Starts children and stops them in the reverse order of their start."""

    def __init__(self, logs: Path, cwd: Path) -> None:
        self._logs = logs
        self._cwd = cwd
        self.children: list[Child] = []
        self.pids: list[int] = []
        """Every pid ever started, to check afterwards that none is left."""

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        """Start `argv` with `env` over this process's environment, plus `VOX_DEMO_RUN` naming
        the run's log directory, by which any process of the run can be found."""
        log = self._logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=self._cwd,
                env={**os.environ, **env, MARKER: str(self._logs)},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        self.pids.append(process.pid)
        return child

    def wait_until(self, child: Child, ready: Callable[[], bool], timeout_s: float = 60.0) -> None:
        """Poll `ready` until it is true; `RuntimeError` with the log's tail if the child exits
        or the time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited at start:\n{child.tail()}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{child.name} not ready within {timeout_s:.0f} s:\n{child.tail()}")

    def stop(self, children: Sequence[Child], grace_s: float = 20.0) -> None:
        """SIGINT to each (Granian's graceful stop) at once, then SIGKILL to each one's whole
        group once it has exited or `grace_s` has passed."""
        for child in children:
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace_s
        for child in children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"demo: {child.name} did not stop in {grace_s:.0f} s; killing it",
                    file=sys.stderr,
                )
            # The group too: a Granian worker outliving its parent would keep its socket.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
            if child in self.children:
                self.children.remove(child)

    def stop_all(self, order: Sequence[str] = ()) -> None:
        """Stop the children whose names start with each of `order` in turn (a group at a
        time), then the rest, newest first."""
        for prefix in order:
            self.stop([c for c in self.children if c.name.startswith(prefix)])
        self.stop(list(reversed(self.children)))


def alive(pid: int) -> bool:
    """Whether a process with this pid still exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        # Field 3 is the state; Z is a zombie nobody reaped yet: gone for our purposes.
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def marked(logs: Path) -> list[int]:
    """Pids of the live processes started for the run whose log directory is `logs`."""
    needle = f"{MARKER}={logs}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes() + b"\0" and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Pids of the live processes below `pid` (children, theirs, …), whatever their session
    or environment: what a run started, found without trusting its own records."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # Field 4 is the parent's pid; the name before it may hold spaces or parentheses.
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if alive(child):
                found.append(child)
            todo.append(child)
    return found
