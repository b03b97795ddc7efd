"""The whole platform on this machine, for breaking on purpose: the embedded Mongo-wire
(SecantusDB), Valkey and SeaweedFS S3 servers, the API, N fleet workers on Unix sockets behind a
real nginx (rendered by `infra/nginx/render.sh`, as an operator renders it), and two diallers
(a leader and a standby) dialling the simulated carrier.

Unlike `voxcore_demo.stack`, everything a drill breaks can be broken here: each server can be
halted and restarted on its port and data, each worker or dialler killed with SIGKILL and
started again under its own name. The dialler reaches the fleet through nginx
(`VOX_DIALLER_FLEET_HOSTS=h1=http://127.0.0.1:<nginx>`), and the simulated carrier streams each
call's audio to `/w/<worker>/media/twilio` on nginx, the worker's own location.

Every process's output goes to `<run>/logs/`; `logs()` also returns the servers' own output,
which lives in their data directories until they stop.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
import httpx

from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing import nginx as testing_nginx
from voxcore_adapters.testing.asgi_server import (
    answers,
    granian_on_port,
    granian_on_socket,
    healthy_on,
)
from voxcore_adapters.testing.lifecycle import AllOrNothing
from voxcore_adapters.testing.mongo_server import secantus_server
from voxcore_adapters.testing.mongo_server import server_url as mongo_server_url
from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port
from voxcore_adapters.testing.redis_server import redis_server
from voxcore_adapters.testing.redis_server import server_url as redis_server_url
from voxcore_adapters.testing.s3_server import SeaweedS3
from voxcore_demo.processes import Child, Supervisor

REPO = Path(__file__).resolve().parents[2]
BUCKET = "recordings"
PREFIX = "vox-drills"
HOST = "h1"
"""The one fleet host: nginx and its workers."""


@attrs.frozen
class Timings:
    """The bounds the drills are run with: short, so a drill takes seconds, not minutes."""

    heartbeat_s: float = 1.0
    slot_ttl_s: float = 3.0
    staleness_s: float = 4.0
    """The dialler takes a slot silent this long as gone (VOX_DIALLER_SLOT_STALENESS_SECONDS)."""
    outcome_grace_s: float = 4.0
    """How long the dialler waits for a freed call's reported outcome before closing it."""
    leader_ttl_s: float = 4.0
    tick_s: float = 1.0
    report_resend_s: float = 2.0
    recording_resend_s: float = 2.0


@attrs.frozen
class Callees:
    """The simulated carrier's callees: most answer at once and talk a few seconds."""

    answer_rate: float = 0.85
    answer_delay_s: float = 0.5
    talk_s: float = 6.0
    talk_cv: float = 0.2
    seed: int = 7


class Nginx(testing_nginx.Nginx):
    """nginx with the fleet site `infra/nginx/render.sh` renders for the platform's workers."""

    def __init__(self, workers: int, sockets: Path, site_dir: Path) -> None:
        super().__init__(site_dir / "voxcore-fleet.conf", error_level="warn")
        console = site_dir / "console"
        console.mkdir(exist_ok=True)
        self.render(workers, str(sockets / "voxcore_%i.sock"), console)

    def attaches(self) -> list[Attach]:
        """Every `/attach` nginx has logged so far."""
        found = []
        for line in self.access_log():
            logged = _LOGGED.fullmatch(line)
            if logged is None:
                raise ValueError(f"nginx logged a line out of its format: {line!r}")
            at, uri, status, upstreams = logged.groups()
            if uri == "/attach":
                tried = [u.strip() for u in upstreams.split(",") if u.strip()]
                found.append(Attach(float(at), int(status), tuple(tried)))
        return found


_LOGGED = re.compile(r'(\S+) (\S+) (\d+) "[^"]*" "([^"]*)"')
"""A line of `testing_nginx.UPSTREAMS`: time, URI, status, (each upstream's status), sockets."""


@attrs.frozen
class Attach:
    """One `/attach` through nginx."""

    at: float
    """When nginx logged it (Unix time)."""
    status: int
    tried: tuple[str, ...]
    """The sockets nginx tried in turn (`unix:/…/voxcore_2.sock`); the last one answered."""


@attrs.define
class Secrets:
    """What must never appear in a log."""

    admin_key: str = attrs.field(factory=lambda: secrets.token_urlsafe(32), repr=False)
    internal_token: str = attrs.field(factory=lambda: secrets.token_urlsafe(32), repr=False)
    s3_secret: str = attrs.field(default="", repr=False)
    tenant_keys: list[str] = attrs.field(factory=list, repr=False)

    def all(self) -> dict[str, str]:
        named = {
            "admin API key": self.admin_key,
            "internal token": self.internal_token,
            "S3 secret key": self.s3_secret,
        }
        named |= {f"tenant API key {n}": key for n, key in enumerate(self.tenant_keys, 1)}
        return {name: value for name, value in named.items() if value}


class Platform(AllOrNothing):
    """`with Platform(run_dir, workers=3) as platform:` starts the servers, the API, nginx and
    the workers (`start_dialler` starts each dialler) and stops everything on the way out."""

    def __init__(
        self,
        run_dir: Path,
        *,
        workers: int = 3,
        timings: Timings | None = None,
        callees: Callees | None = None,
        trunk_faults: Mapping[str, str] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.workers = workers
        self.timings = timings or Timings()
        self.callees = callees or Callees()
        self.trunk_faults = dict(trunk_faults or {})
        self.log_dir = run_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.supervisor = Supervisor(self.log_dir, REPO)
        self.secrets = Secrets()
        # Unix socket paths are limited to 108 bytes: keep them short, under /tmp; nginx's
        # workers (`nobody` when run as root) must traverse the directory.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="vox-drills-"))
        self.socket_dir.chmod(0o755)
        self.mongo: ServerProcess = secantus_server()
        self.redis: ServerProcess = redis_server()
        self.s3_server = SeaweedS3()
        self.nginx: Nginx | None = None
        self.s3: S3Connection | None = None
        self.mongo_url = ""
        self.redis_url = ""
        self.api_url = ""
        self.fleet: dict[int, Child] = {}
        self.diallers: dict[str, Child] = {}
        self.dialler_ports: dict[str, int] = {}
        self._starts: dict[str, int] = {}
        self._server_logs: dict[str, str] = {}

    # -- start and stop ----------------------------------------------------------------------

    def _start(self) -> None:
        self.mongo.start()
        self.redis.start()
        self.s3 = self.s3_server.start()
        self.secrets.s3_secret = self.s3.secret_key
        self.mongo_url = mongo_server_url(self.mongo) + "voxbridge"
        self.redis_url = redis_server_url(self.redis)
        api_port = free_port()
        self.api_url = f"http://{LOOPBACK}:{api_port}"
        api = self._launch(
            "api",
            granian_on_port(api_port, "apps.api.main:create_app"),
            {
                "VOX_API_ADMIN_KEY": self.secrets.admin_key,
                "VOX_API_INTERNAL_TOKEN": self.secrets.internal_token,
                "VOX_MONGO_URL": self.mongo_url,
                "VOX_REDIS_URL": self.redis_url,
                "VOX_REDIS_PREFIX": PREFIX,
            },
        )
        site = self.run_dir / "nginx"
        site.mkdir(exist_ok=True)
        self.nginx = Nginx(self.workers, self.socket_dir, site)
        self.nginx.start()
        for number in range(1, self.workers + 1):
            self.start_worker(number, wait=False)
        self.supervisor.wait_until(api, lambda: answers(f"{self.api_url}/health"))
        for number in self.fleet:
            self._wait_worker(number)

    def stop(self) -> None:
        """Diallers first (they hang up their callees), then the workers, the API, nginx and
        the servers; the socket directory last. The servers' output is kept for `logs`."""
        try:
            self.supervisor.stop_all(order=("dialler", "fleet", "api"))
        finally:
            servers = [("mongo", self.mongo), ("redis", self.redis)]
            if self.nginx is not None:
                servers.insert(0, ("nginx", self.nginx.server))
            for name, server in servers:
                self._keep_server_log(name, server)
                server.stop()
            self._keep_server_log("s3", None)
            self.s3_server.stop()
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def _keep_server_log(self, name: str, server: ServerProcess | None) -> None:
        try:
            directory = server.data_dir if server is not None else self.s3_server.data_dir
        except RuntimeError:
            return
        text = ""
        for path in sorted(directory.glob("*.log")):
            text += path.read_text(errors="replace")
        if text:
            (self.log_dir / f"server-{name}.log").write_text(text)

    # -- processes ----------------------------------------------------------------------------

    def _launch(self, name: str, argv: list[str], env: Mapping[str, str]) -> Child:
        """Start `name`; a restart gets a log of its own (`name.2.log`), the first one's kept."""
        count = self._starts[name] = self._starts.get(name, 0) + 1
        return self.supervisor.start(name if count == 1 else f"{name}.{count}", argv, env)

    def socket(self, number: int) -> Path:
        return self.socket_dir / f"voxcore_{number}.sock"

    def spool(self, number: int) -> Path:
        return self.run_dir / "spool" / str(number)

    def start_worker(self, number: int, *, wait: bool = True) -> Child:
        """Worker `number` as `voxcore@<number>.service` runs it: its stale socket removed
        first (a killed worker leaves it behind), its spool the one it had before."""
        assert self.s3 is not None
        socket = self.socket(number)
        socket.unlink(missing_ok=True)
        t = self.timings
        child = self._launch(
            f"fleet-{number}",
            granian_on_socket(socket, "0666"),
            {
                "VOX_FLEET_WORKER": str(number),
                "VOX_FLEET_HOST": HOST,
                "VOX_FLEET_SOCKET": str(socket),
                "VOX_FLEET_BACKEND": "real",
                "VOX_FLEET_API_URL": self.api_url,
                "VOX_FLEET_API_TOKEN": self.secrets.internal_token,
                "VOX_REDIS_URL": self.redis_url,
                "VOX_REDIS_PREFIX": PREFIX,
                "VOX_S3_URL": self.s3.url,
                "VOX_S3_ACCESS_KEY": self.s3.access_key,
                "VOX_S3_SECRET_KEY": self.s3.secret_key,
                "VOX_S3_REGION": self.s3.region,
                "VOX_S3_BUCKET": BUCKET,
                "VOX_S3_TIMEOUT_S": "2",
                "VOX_FLEET_UPLOAD_ATTEMPTS": "2",
                "VOX_FLEET_UPLOAD_BACKOFF_S": "0.5",
                "VOX_FLEET_SPOOL_DIR": str(self.spool(number)),
                "VOX_FLEET_HEARTBEAT_S": str(t.heartbeat_s),
                "VOX_FLEET_SLOT_TTL_S": str(t.slot_ttl_s),
                "VOX_FLEET_REPORT_ATTEMPTS": "2",
                "VOX_FLEET_REPORT_BACKOFF_S": "0.5",
                "VOX_FLEET_REPORT_RESEND_S": str(t.report_resend_s),
                "VOX_FLEET_RECORDING_RESEND_S": str(t.recording_resend_s),
                "VOX_FLEET_API_TIMEOUT_S": "2",
            },
        )
        self.fleet[number] = child
        if wait:
            self._wait_worker(number)
        return child

    def _wait_worker(self, number: int) -> None:
        socket = self.socket(number)
        self.supervisor.wait_until(self.fleet[number], lambda: healthy_on(socket))

    def start_dialler(self, owner: str) -> Child:
        """A dialler named `owner`; the first one started leads, the next stands by."""
        assert self.nginx is not None
        port = self.dialler_ports.setdefault(owner, free_port())
        t, c = self.timings, self.callees
        env = {
            "VOX_DIALLER_MONGO_URL": self.mongo_url,
            "VOX_DIALLER_REDIS_URL": self.redis_url,
            "VOX_DIALLER_REDIS_PREFIX": PREFIX,
            "VOX_DIALLER_FLEET_HOSTS": f"{HOST}={self.nginx.url}",
            # The workers take calls only with the internal token.
            "VOX_DIALLER_INTERNAL_TOKEN": self.secrets.internal_token,
            "VOX_DIALLER_OWNER": owner,
            "VOX_DIALLER_LOOP_INTERVAL_SECONDS": str(t.tick_s),
            "VOX_DIALLER_LEADER_TTL_SECONDS": str(t.leader_ttl_s),
            "VOX_DIALLER_SLOT_STALENESS_SECONDS": str(t.staleness_s),
            "VOX_DIALLER_OUTCOME_GRACE_SECONDS": str(t.outcome_grace_s),
            "VOX_DIALLER_STORE_TIMEOUT_SECONDS": "1",
            "VOX_DIALLER_TELEPHONY": "sim",
            "VOX_SIM_SEED": str(c.seed),
            "VOX_SIM_ANSWER_RATE": str(c.answer_rate),
            "VOX_SIM_MACHINE_RATE": "0",
            "VOX_SIM_ANSWER_DELAY_S": str(c.answer_delay_s),
            "VOX_SIM_TALK_S": str(c.talk_s),
            "VOX_SIM_TALK_CV": str(c.talk_cv),
            "VOX_SIM_MEDIA_TARGET": f"{self.nginx.url}/w/{{worker}}",
        }
        if self.trunk_faults:
            env["VOX_SIM_TRUNK_FAULTS"] = ",".join(f"{k}={v}" for k, v in self.trunk_faults.items())
        child = self._launch(
            f"dialler-{owner}",
            granian_on_port(port, "apps.dialler.main:create_app"),
            env,
        )
        self.diallers[owner] = child
        self.supervisor.wait_until(child, lambda: answers(self.dialler_url(owner) + "/health"))
        return child

    def dialler_url(self, owner: str) -> str:
        return f"http://{LOOPBACK}:{self.dialler_ports[owner]}"

    def dialler_health(self, owner: str) -> dict[str, object] | None:
        try:
            with httpx.Client(timeout=2.0) as client:
                body = client.get(self.dialler_url(owner) + "/health").json()
        except (httpx.TransportError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    def leader(self) -> str | None:
        """The owner of the dialler that leads now, if any says so."""
        for owner, child in self.diallers.items():
            if child.process.poll() is None:
                health = self.dialler_health(owner)
                if health is not None and health.get("role") == "leader":
                    return owner
        return None

    def kill(self, child: Child) -> None:
        """`kill -9` of the whole process group (Granian's main process and its worker)."""
        os.killpg(child.pid, signal.SIGKILL)
        child.process.wait()
        if child in self.supervisor.children:
            self.supervisor.children.remove(child)

    def stop_child(self, child: Child) -> None:
        self.supervisor.stop([child])

    # -- what the drills read -------------------------------------------------------------------

    def logs(self) -> dict[str, str]:
        """Every process's output in the run's log directory: file name → text. Complete once
        the platform has stopped (the servers' own output is copied there at their stop)."""
        return {
            path.name: path.read_text(errors="replace")
            for path in sorted(self.log_dir.iterdir())
            if path.is_file()
        }


def until(check: Callable[[], bool], within_s: float, what: str, poll_s: float = 0.2) -> float:
    """Poll `check` until true; the seconds it took. `TimeoutError` naming `what` if never."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if check():
            return time.monotonic() - started
        time.sleep(poll_s)
    raise TimeoutError(f"{what}: not within {within_s:.0f} s")
