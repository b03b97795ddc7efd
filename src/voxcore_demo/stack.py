"""Every role of the platform on this machine: the embedded Mongo-wire, Valkey and S3 servers,
the API on a loopback port, N fleet workers on Unix sockets and the dialler with the simulated
carrier, each a real process started as its docs say (Granian, `--factory`).

The fleet is reached in one of two ways:

- **behind nginx** (when `nginx` is installed, and `DemoConfig.nginx`): the workers are one
  fleet host (`VOX_FLEET_HOST=demo`, workers `1`…`N`) behind nginx with the operator's own site
  (`infra/nginx/render.sh`, run by `voxcore_adapters.testing.nginx`) on a free loopback port,
  its pid and temp files in the demo's own folders. The dialler names that one host, nginx's
  address (`VOX_DIALLER_FLEET_HOSTS=demo=http://127.0.0.1:<port>`), and nginx hands each
  `/attach` to a free worker; the simulated carrier streams a call's audio to the per-worker
  path of the worker that took it (`VOX_SIM_MEDIA_TARGET=http://127.0.0.1:<port>/w/{worker}`),
  as a carrier's stream reaches a fleet host. nginx also serves the Console at `/`.
- **directly** (no nginx): the dialler reaches each worker's socket as a fleet host of its own
  (`VOX_DIALLER_FLEET_HOSTS=w1=unix:/…/w1.sock,…`), and the carrier streams to the socket of the
  worker that took the call (`VOX_SIM_MEDIA_TARGET=unix:/…/{worker}.sock`).

Nothing else changes between the two. When the demo runs as root, nginx's worker processes run
as `nobody`, so the worker sockets are made reachable by other users (a traverse-only directory
with an unguessable name, sockets `0666`): acceptable for a demo on one's own machine, not how a
fleet host is set up (`infra/systemd`).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import attrs

from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing import nginx
from voxcore_adapters.testing.asgi_server import (
    answers,
    granian_on_port,
    granian_on_socket,
    healthy_on,
)
from voxcore_adapters.testing.lifecycle import AllOrNothing
from voxcore_adapters.testing.mongo_server import secantus_server
from voxcore_adapters.testing.mongo_server import server_url as mongo_server_url
from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port, port_open
from voxcore_adapters.testing.redis_server import redis_server
from voxcore_adapters.testing.redis_server import server_url as redis_server_url
from voxcore_adapters.testing.s3_server import SeaweedS3
from voxcore_demo.config import DemoConfig
from voxcore_demo.processes import Child, Supervisor, alive

REPO = Path(__file__).resolve().parents[2]
CONSOLE = REPO / "apps" / "console" / "static"
"""The Console's static files, which the API serves at `/console/` in the embedded mode."""
BUCKET = "recordings"
PREFIX = "vox-demo"
FLEET_HOST = "demo"
"""The fleet host's name behind nginx, as the dialler's host list and the slots know it."""


@attrs.frozen
class Endpoints:
    """Where the running platform answers."""

    mongo_url: str
    redis_url: str
    s3: S3Connection
    api_url: str
    dialler_url: str
    sockets: tuple[Path, ...]
    admin_key: str = attrs.field(repr=False)
    internal_token: str = attrs.field(repr=False)
    nginx_url: str | None = None
    """nginx in front of the workers; None: the dialler reaches their sockets directly."""

    @property
    def console_url(self) -> str:
        """The Console, served by the API (`VOX_API_CONSOLE_DIR`)."""
        return f"{self.api_url}/console/"

    def workers(self) -> dict[str, Path]:
        """Each worker's socket by the socket's name (`w1`…): without nginx also the worker's
        id and fleet host name; behind nginx the worker's id is its number."""
        return {path.stem: path for path in self.sockets}

    def fleet_hosts(self) -> dict[str, str]:
        """The dialler's fleet hosts: nginx's address, or each worker's socket."""
        if self.nginx_url is not None:
            return {FLEET_HOST: self.nginx_url}
        return {name: f"unix:{path}" for name, path in self.workers().items()}

    def fleet_mode(self) -> str:
        """How the dialler and the carrier reach the workers, in words for the live view."""
        if self.nginx_url is not None:
            return (
                f"fleet: nginx at {self.nginx_url} in front of {len(self.sockets)} worker "
                f"sockets (the Console is also at {self.nginx_url}/)"
            )
        return (
            f"fleet: no nginx; the dialler reaches the {len(self.sockets)} worker sockets directly"
        )


def _health_on(socket: Path) -> Callable[[], bool]:
    return lambda: healthy_on(socket)


class Stack(AllOrNothing):
    """`with Stack(config, run_dir) as stack:` starts everything but the dialler (which
    `start_dialler` starts once campaigns are seeded) and stops everything on the way out."""

    def __init__(self, config: DemoConfig, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.supervisor = Supervisor(self.logs, REPO)
        self.servers: list[ServerProcess] = []
        self.s3_server: SeaweedS3 | None = None
        self.endpoints: Endpoints | None = None
        self.ports: list[int] = []
        """Every loopback port the demo's processes listened on, to check afterwards."""
        self.nginx = nginx.installed() if config.nginx else None
        """nginx's binary when the workers run behind it."""
        # Unix socket paths are limited to 108 bytes: keep them short, under /tmp.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="vox-demo-"))
        if self.nginx is not None:
            # nginx's workers may run as another user (nobody, under root): they must reach
            # the sockets, though not list them.
            self._socket_dir.chmod(0o711)

    def _start(self) -> None:
        mongo = secantus_server()
        redis = redis_server()
        for server in (mongo, redis):
            self.servers.append(server)
            server.start()
            self.ports.append(server.port)
        self.s3_server = SeaweedS3()
        s3 = self.s3_server.start()
        self.ports += list(self.s3_server.ports.values())
        admin_key, internal = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        mongo_url = mongo_server_url(mongo) + "voxbridge"
        redis_url = redis_server_url(redis)
        api_port = free_port()
        self.ports.append(api_port)
        api_url = f"http://{LOOPBACK}:{api_port}"
        api = self.supervisor.start(
            "api",
            granian_on_port(api_port, "apps.api.main:create_app"),
            {
                "VOX_API_ADMIN_KEY": admin_key,
                "VOX_API_INTERNAL_TOKEN": internal,
                "VOX_MONGO_URL": mongo_url,
                "VOX_REDIS_URL": redis_url,
                "VOX_REDIS_PREFIX": PREFIX,
                "VOX_API_CONSOLE_DIR": str(CONSOLE),
                # For the presigned URLs the Console plays recordings from.
                "VOX_S3_URL": s3.url,
                "VOX_S3_ACCESS_KEY": s3.access_key,
                "VOX_S3_SECRET_KEY": s3.secret_key,
                "VOX_S3_REGION": s3.region,
                "VOX_S3_BUCKET": BUCKET,
            },
        )
        sockets = tuple(self._socket_dir / f"w{n}.sock" for n in range(1, self.config.workers + 1))
        workers = [
            self._worker(n, path, redis_url, s3, api_url, internal)
            for n, path in enumerate(sockets, start=1)
        ]
        self.supervisor.wait_until(api, lambda: answers(f"{api_url}/health"))
        for path, worker in zip(sockets, workers, strict=True):
            self.supervisor.wait_until(worker, _health_on(path))
        nginx_url = None if self.nginx is None else self._start_nginx(api_url)
        dialler_port = free_port()
        self.ports.append(dialler_port)
        self.endpoints = Endpoints(
            mongo_url=mongo_url,
            redis_url=redis_url,
            s3=s3,
            api_url=api_url,
            dialler_url=f"http://{LOOPBACK}:{dialler_port}",
            sockets=sockets,
            admin_key=admin_key,
            internal_token=internal,
            nginx_url=nginx_url,
        )

    def _start_nginx(self, api_url: str) -> str:
        """nginx serving the Console at `/` with the API's `/v1/` on the same origin; its logs
        with the demo's own."""
        port = free_port()
        self.ports.append(port)
        prefix = self._socket_dir / "nginx"
        prefix.mkdir()
        site = nginx.render_site(
            prefix / "voxcore-fleet.conf",
            workers=self.config.workers,
            socket=str(self._socket_dir / "w%i.sock"),
            port=port,
            console=CONSOLE,
            api=api_url,
        )
        nginx.write_conf(prefix, site, logs=self.logs)
        nginx.check(prefix, self.logs)
        url = f"http://{LOOPBACK}:{port}"
        child = self.supervisor.start("nginx", nginx.command(prefix, self.logs), {})
        self.supervisor.wait_until(child, lambda: answers(f"{url}/health"))
        return url

    def _worker(
        self, number: int, socket: Path, redis_url: str, s3: S3Connection, api_url: str, token: str
    ) -> Child:
        # Behind nginx the workers are one host, numbered as its per-worker paths (/w/<n>/);
        # without it each worker is a fleet host of its own, reached at its socket.
        worker, host = (str(number), FLEET_HOST) if self.nginx else (socket.stem, socket.stem)
        return self.supervisor.start(
            f"fleet-{socket.stem}",
            granian_on_socket(socket, "0666" if self.nginx else "0600"),
            {
                "VOX_FLEET_WORKER": worker,
                "VOX_FLEET_HOST": host,
                "VOX_FLEET_SOCKET": str(socket),
                "VOX_FLEET_BACKEND": "real",
                # Call outcomes go to the API's call log (POST /v1/internal/call-events).
                "VOX_FLEET_API_URL": api_url,
                "VOX_FLEET_API_TOKEN": token,
                "VOX_REDIS_URL": redis_url,
                "VOX_REDIS_PREFIX": PREFIX,
                "VOX_S3_URL": s3.url,
                "VOX_S3_ACCESS_KEY": s3.access_key,
                "VOX_S3_SECRET_KEY": s3.secret_key,
                "VOX_S3_REGION": s3.region,
                "VOX_S3_BUCKET": BUCKET,
                "VOX_FLEET_SPOOL_DIR": str(self.run_dir / "spool" / socket.stem),
                "VOX_FLEET_HEARTBEAT_S": "1",
                "VOX_FLEET_SLOT_TTL_S": "5",
            },
        )

    def start_dialler(self) -> Child:
        endpoints = self._running()
        port = int(endpoints.dialler_url.rsplit(":", 1)[1])
        hosts = ",".join(f"{name}={url}" for name, url in endpoints.fleet_hosts().items())
        media = (
            f"{endpoints.nginx_url}/w/{{worker}}"
            if endpoints.nginx_url
            else f"unix:{self._socket_dir}/{{worker}}.sock"
        )
        callees = self.config.callees
        child = self.supervisor.start(
            "dialler",
            granian_on_port(port, "apps.dialler.main:create_app"),
            {
                "VOX_DIALLER_MONGO_URL": endpoints.mongo_url,
                "VOX_DIALLER_REDIS_URL": endpoints.redis_url,
                "VOX_DIALLER_REDIS_PREFIX": PREFIX,
                "VOX_DIALLER_FLEET_HOSTS": hosts,
                "VOX_DIALLER_INTERNAL_TOKEN": endpoints.internal_token,
                "VOX_DIALLER_OWNER": "demo-dialler",
                "VOX_DIALLER_SLOT_STALENESS_SECONDS": "5",
                "VOX_DIALLER_TELEPHONY": "sim",
                "VOX_SIM_SEED": str(self.config.seed),
                "VOX_SIM_ANSWER_RATE": str(callees.answer_rate),
                "VOX_SIM_MACHINE_RATE": str(callees.machine_rate),
                "VOX_SIM_ANSWER_DELAY_S": str(callees.mean_answer_delay_s),
                "VOX_SIM_TALK_S": str(callees.mean_talk_s),
                "VOX_SIM_TALK_CV": str(callees.talk_cv),
                "VOX_SIM_VOICEMAIL_S": str(callees.voicemail_s),
                "VOX_SIM_MEDIA_TARGET": media,
            },
        )
        self.supervisor.wait_until(child, lambda: answers(f"{endpoints.dialler_url}/health"))
        return child

    def _running(self) -> Endpoints:
        if self.endpoints is None:
            raise RuntimeError("the stack is not started")
        return self.endpoints

    def stop(self) -> None:
        """The dialler first (it hangs up its callees), then the workers (their calls have
        ended), nginx, the API, and the servers; the socket directory last."""
        try:
            self.supervisor.stop_all(order=("dialler", "fleet", "nginx", "api"))
        finally:
            if self.s3_server is not None:
                self.s3_server.stop()
            for server in reversed(self.servers):
                server.stop()
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """What is still running or bound after `stop`: pids of our children, open ports."""
        left = [f"pid {pid}" for pid in self.supervisor.pids if alive(pid)]
        left += [f"port {port}" for port in self.ports if port_open(port)]
        left += [f"socket {path}" for path in self._socket_dir.glob("*.sock")]
        return left
