"""The SeaweedFS server the S3 tests run on: loopback only, and nothing left behind."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from voxcore_adapters.testing.s3_server import (
    ACCESS_KEY_VARIABLE,
    REGION_VARIABLE,
    SECRET_KEY_VARIABLE,
    URL_VARIABLE,
    SeaweedS3,
    connection_from_env,
    s3_server,
)

pytestmark = pytest.mark.integration

LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
TCP_LISTEN = "0A"


def _sockets() -> dict[str, tuple[str, str, str, str]]:
    """inode → (protocol, local address, remote address, state) of every socket in /proc/net."""
    found = {}
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            found[fields[9]] = (protocol, fields[1], fields[2], fields[3])
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _pid_listening_on(port: int) -> int:
    wanted = {
        inode
        for inode, (_, local, _, state) in _sockets().items()
        if state == TCP_LISTEN and int(local.split(":")[1], 16) == port
    }
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if _socket_inodes(int(proc.name)) & wanted:
                    return int(proc.name)
            except (PermissionError, FileNotFoundError):
                continue  # another user's process, or one that just exited
    raise AssertionError(f"nothing listens on port {port}")


def _is_loopback(address: str) -> bool:
    host = address.split(":")[0]
    unspecified = set(host) == {"0"}
    v6_loopback = host == "0" * 24 + "01000000"
    v4_mapped = host.endswith("FFFF0000" + LOOPBACK_V4)
    return host == LOOPBACK_V4 or unspecified or v6_loopback or v4_mapped


def test_weed_uses_nothing_but_loopback_and_leaves_nothing_behind() -> None:
    server = SeaweedS3()
    with server as connection:
        assert connection.url.startswith("http://127.0.0.1:")
        pid = _pid_listening_on(server.ports["s3.port"])
        sockets = _sockets()
        mine = [sockets[inode] for inode in _socket_inodes(pid) if inode in sockets]
        listening = [s for s in mine if s[3] == TCP_LISTEN]
        assert len(listening) >= 5
        # Listening on 127.0.0.1 only, and every connection is to loopback (no telemetry).
        assert all(local.startswith(LOOPBACK_V4 + ":") for _, local, _, _ in listening)
        assert all(_is_loopback(local) and _is_loopback(remote) for _, local, remote, _ in mine)
        data_dir = server.data_dir
        assert data_dir.is_dir()
    assert not data_dir.exists()
    assert not Path(f"/proc/{pid}").exists()
    grpc_ports = {str(port) for name, port in server.ports.items() if name.endswith(".grpc")}
    sockets_left = glob.glob("/tmp/seaweedfs-*.sock")
    assert [p for p in sockets_left if Path(p).stem.split("-")[-1] in grpc_ports] == []


def test_an_existing_server_is_used_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_VARIABLE, "http://127.0.0.1:9")
    monkeypatch.setenv(ACCESS_KEY_VARIABLE, "someone")
    monkeypatch.setenv(SECRET_KEY_VARIABLE, "their-secret")
    monkeypatch.setenv(REGION_VARIABLE, "eu-west-1")

    with s3_server() as connection:
        assert (connection.url, connection.access_key, connection.region) == (
            "http://127.0.0.1:9",
            "someone",
            "eu-west-1",
        )
        assert connection.secret_key == "their-secret"


def test_without_the_variable_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    assert connection_from_env() is None
