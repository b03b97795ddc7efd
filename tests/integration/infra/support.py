"""Real nginx, HAProxy and fleet workers for the infra tests, each a process on loopback.

nginx and HAProxy are Debian's packages (`scripts/system-deps.sh`, run by `make test`); their
configs are rendered by the operator's own scripts in `infra/`; nginx runs under the wrapper
`voxcore_adapters.testing.nginx` writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from voxcore_adapters.testing import nginx as testing_nginx
from voxcore_adapters.testing.asgi_server import healthy_on, spawn_worker
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_adapters.testing.process import LOOPBACK

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"


def binary(name: str) -> str:
    """The Debian package's binary (/usr/sbin is not on every user's PATH)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(f"{name} is not installed: run scripts/system-deps.sh (make test does)")
    return found


def shared_dir(prefix: str) -> Path:
    """A temporary directory nginx's worker user can traverse: when the tests run as root,
    nginx's workers run as `nobody` and must reach the sockets and the Console's files."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


class FleetWorker:
    """One fleet worker as `voxcore@<i>.service` runs it: Granian, one worker process, on its
    own Unix socket, in-memory adapters (the infra tests are about the routing, not Redis/S3)."""

    def __init__(self, number: int, sockets: Path, host: str, media_wait_s: float) -> None:
        self.number = number
        self.socket = sockets / f"voxcore_{number}.sock"
        self.log = sockets / f"worker_{number}.log"
        self.env = {
            "VOX_FLEET_WORKER": str(number),
            "VOX_FLEET_HOST": host,
            "VOX_FLEET_SOCKET": str(self.socket),
            "VOX_FLEET_BACKEND": "memory",
            "VOX_FLEET_SPOOL_DIR": str(sockets / f"spool_{number}"),
            "VOX_FLEET_MEDIA_WAIT_S": str(media_wait_s),
            "VOX_FLEET_MEDIA_IDLE_S": "20",
            "VOX_FLEET_HEARTBEAT_S": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> FleetWorker:
        # What the unit's ExecStartPre does: a socket left by a killed worker blocks the bind.
        self.socket.unlink(missing_ok=True)
        self.process = spawn_worker(self.socket, self.env, self.log, "0666")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.number} exited at start: {self.output()}")
            if healthy_on(self.socket):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"worker {self.number} did not answer: {self.output()}")

    def health(self) -> dict[str, Any]:
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket))) as client:
            body: dict[str, Any] = client.get("http://fleet/health").json()
            return body

    def attach_directly(self, call_id: str) -> int:
        """An attach on this worker's own socket, bypassing nginx."""
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket))) as client:
            return client.post("http://fleet/attach", json=attach_body(call_id)).status_code

    def kill(self) -> None:
        """`kill -9` of the whole instance (Granian's main process and its worker): the socket
        file stays behind, as after a crash."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def output(self) -> str:
        return self.log.read_bytes()[-3000:].decode(errors="replace")


def wait_idle(workers: list[FleetWorker], timeout_s: float = 30.0) -> None:
    """Until every worker's slot is free again (an attach with no media stream frees its slot
    after VOX_FLEET_MEDIA_WAIT_S)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(worker.health()["slot"]["state"] == "idle" for worker in workers):
            return
        time.sleep(0.1)
    raise AssertionError([worker.health()["slot"] for worker in workers])


class Nginx(testing_nginx.Nginx):
    """nginx with the rendered fleet site, two worker processes as on a fleet host (the
    upstream's shared zone keeps `max_conns=1` across them), its access log naming the sockets
    each request was tried on (`UPSTREAMS`)."""

    def __init__(self, site: Path, name: str = "nginx") -> None:
        super().__init__(site, name=name, worker_processes=2, error_level="info")

    def for_workers(
        self, workers: int, sockets: Path, console: Path, api: str | None = None
    ) -> Nginx:
        """The site for `FleetWorker`s 1…`workers` on their sockets in `sockets`."""
        self.render(workers, str(sockets / "voxcore_%i.sock"), console, api)
        return self


def attach_body(call_id: str) -> dict[str, object]:
    return {
        "call_id": call_id,
        "tenant_id": "tenant-i",
        "campaign_id": "campaign-i",
        "agent_id": "agent-i",
        "lease_token": "lease-i",
        "media": {"kind": "stream", "carrier": "twilio"},
    }


async def greeted_stream(ws: aiohttp.ClientWebSocketResponse, call_id: str) -> TwilioCarrier:
    """Open a Twilio media stream for `call_id` and talk until the agent's greeting played."""
    carrier = TwilioCarrier(
        {
            "call_id": call_id,
            "tenant_id": "tenant-i",
            "campaign_id": "campaign-i",
            "agent_id": "agent-i",
            "name": "Ines",
        }
    )
    for frame in carrier.opening() + carrier.say(voice(600) + quiet(700)):
        await ws.send_str(frame)
    async with asyncio.timeout(15):
        while "greeting-1" not in carrier.marks:
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.TEXT, (message.type, message.data)
            for frame in carrier.hear(message.data):
                await ws.send_str(frame)
    return carrier


async def hang_up(ws: aiohttp.ClientWebSocketResponse, carrier: TwilioCarrier) -> tuple[int, str]:
    """Send `stop` and read to the worker's close frame: (code, reason)."""
    for frame in carrier.stop():
        await ws.send_str(frame)
    async with asyncio.timeout(15):
        while True:
            message = await ws.receive()
            if message.type is aiohttp.WSMsgType.TEXT:
                carrier.hear(message.data)
                continue
            assert message.type is aiohttp.WSMsgType.CLOSE, (message.type, message.data)
            return int(message.data), str(message.extra)


def json_body(text: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(text)
    return body


def port_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) != 0


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key for `CN=fleet.test` (openssl)."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    made = run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=fleet.test", "-keyout", str(key), "-out", str(cert)),
        ]
    )
    assert made.returncode == 0, made.stderr
    return cert, key
