"""The test Redis itself: on loopback, nothing on disk, gone afterwards; or the one named by
`VOX_TEST_REDIS_URL`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import redis

from voxcore_adapters.testing import redis_server as server_module
from voxcore_adapters.testing.process import LOOPBACK, port_open
from voxcore_adapters.testing.redis_server import redis_server, redis_url, server_binary

pytestmark = pytest.mark.integration


def test_a_started_server_is_private_and_leaves_nothing_behind() -> None:
    with redis_server() as server:
        data_dir = server.data_dir
        client = redis.Redis(host=LOOPBACK, port=server.port, decode_responses=True)
        try:
            assert client.ping()
            assert client.config_get("bind") == {"bind": LOOPBACK}
            assert client.config_get("save") == {"save": ""}
            assert client.config_get("appendonly") == {"appendonly": "no"}
            assert client.config_get("dir") == {"dir": str(data_dir)}
        finally:
            client.close()
    assert not data_dir.exists()
    assert not port_open(server.port)


def test_the_url_variable_points_at_an_existing_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(server_module.URL_VARIABLE, " redis://redis.internal:6380/3 ")

    def refuse() -> None:
        raise AssertionError("must not start a server when the URL is given")

    monkeypatch.setattr(server_module, "redis_server", refuse)
    with redis_url() as url:
        assert url == "redis://redis.internal:6380/3"


def test_redis_server_on_the_path_is_preferred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert server_binary() == fake


def test_without_redis_server_the_bundled_valkey_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = server_binary()
    assert binary.name == "valkey-server"
    assert os.access(binary, os.X_OK)
