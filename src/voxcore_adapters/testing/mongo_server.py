"""A MongoDB-wire server for tests, benchmarks and the embedded demo.

`mongo_url()` yields the URL of a server to use: `VOX_TEST_MONGO_URL` when it is set (a real
`mongod` someone runs; nothing is started), else a SecantusDB started on a free loopback port in
a temporary directory, stopped and removed on exit. SecantusDB is GPL: it is only ever started as
a separate process from the development dependencies, never imported by the library.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port

URL_VARIABLE = "VOX_TEST_MONGO_URL"
"""Points the tests and benchmarks at an existing MongoDB instead of starting one."""


def _answers_ping(url: str) -> bool:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


def secantus_server(port: int | None = None) -> ServerProcess:
    """A SecantusDB process (not started yet) on `port`, or a free loopback port."""
    port = port or free_port()
    url = f"mongodb://{LOOPBACK}:{port}/"

    def command(data_dir: Path) -> list[str]:
        # An explicit, empty config file: otherwise the daemon would pick up a secantusd.toml
        # from the user's home or /etc and the tests would depend on the machine.
        config = data_dir / "secantusd.toml"
        config.write_text("")
        return [
            sys.executable,
            "-m",
            "secantus",
            "--config",
            str(config),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--storage-path",
            str(data_dir / "db"),
            "--cache-size",
            "256M",
            "--log-level",
            "WARNING",
        ]

    return ServerProcess("secantusdb", command, port, ready=lambda: _answers_ping(url))


def server_url(server: ServerProcess) -> str:
    return f"mongodb://{LOOPBACK}:{server.port}/"


def configured_url() -> str | None:
    """`VOX_TEST_MONGO_URL`, if it is set."""
    return os.environ.get(URL_VARIABLE, "").strip() or None


@contextlib.contextmanager
def mongo_url() -> Iterator[str]:
    """The URL of a MongoDB to use: `VOX_TEST_MONGO_URL`, or a SecantusDB started for the
    duration of the `with` block."""
    configured = configured_url()
    if configured:
        yield configured
        return
    with secantus_server() as server:
        yield server_url(server)
