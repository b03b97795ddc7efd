"""The WSS ingress: real HAProxy, rendered by `infra/haproxy/render.sh`, in front of two fleet
"hosts" (each its own nginx and two Granian workers on loopback). The second host joins with
`add-fleet.sh` and a reload, as an operator adds one."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import attrs
import httpx
import pytest

from tests.integration.infra.support import (
    INFRA,
    FleetWorker,
    Nginx,
    attach_body,
    binary,
    greeted_stream,
    hang_up,
    run,
    self_signed,
    shared_dir,
    wait_idle,
)
from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port

pytestmark = pytest.mark.integration


@attrs.frozen
class Host:
    name: str
    nginx: Nginx
    workers: list[FleetWorker]


@attrs.frozen
class Ingress:
    haproxy: ServerProcess
    hosts: dict[str, Host]
    stats: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.haproxy.port}"

    def server_status(self) -> dict[str, str]:
        """Each fleet host's state as HAProxy sees it (`show stat` on the admin socket)."""
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(self.stats))
            client.sendall(b"show stat\n")
            data = b""
            while chunk := client.recv(65536):
                data += chunk
        rows = [line.split(",") for line in data.decode().splitlines() if line]
        header = rows[0]
        at = {name: header.index(name) for name in ("svname", "status", "# pxname")}
        return {
            row[at["svname"]]: row[at["status"]]
            for row in rows[1:]
            if row[at["# pxname"]] == "fleet_hosts" and row[at["svname"]] not in ("BACKEND",)
        }

    def wait_status(self, wanted: dict[str, str], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while (status := self.server_status()) != wanted:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)


def start_host(name: str, home: Path) -> Host:
    place = home / name
    place.mkdir()
    place.chmod(0o755)
    console = place / "console"
    console.mkdir()
    console.chmod(0o755)
    workers = [FleetWorker(number, place, name, media_wait_s=3.0) for number in (1, 2)]
    nginx = Nginx(place / "voxcore-fleet.conf", name=f"nginx-{name}")
    nginx.for_workers(len(workers), place, console)
    for worker in workers:
        worker.start()
    return Host(name, nginx.start(), workers)


@pytest.fixture
def ingress() -> Iterator[Ingress]:
    home = shared_dir("vox-ingress-")
    hosts: dict[str, Host] = {}
    haproxy: ServerProcess | None = None
    try:
        for name in ("host-a", "host-b"):
            hosts[name] = start_host(name, home)
        host_list = home / "fleet-hosts"
        host_list.write_text(f"# fleet hosts\nhost-a {LOOPBACK}:{hosts['host-a'].nginx.port}\n")
        config = home / "haproxy.cfg"
        stats = home / "admin.sock"
        port = free_port()
        pidfile = home / "haproxy.pid"
        options = [
            *("--bind", f"{LOOPBACK}:{port}", "--run-as", "none", "--maxconn", "200"),
            *("--stats-socket", str(stats), "--check-interval", "200ms"),
        ]
        render = str(INFRA / "haproxy" / "render.sh")
        rendered = run([render, "--hosts", str(host_list), *options, "--out", str(config)])
        assert rendered.returncode == 0, rendered.stderr
        haproxy = ServerProcess(
            "haproxy",
            lambda _: [binary("haproxy"), "-W", "-db", "-p", str(pidfile), "-f", str(config)],
            port,
        ).start()
        ingress = Ingress(haproxy, hosts, stats)
        ingress.wait_status({"host-a": "UP"})
        # The second host joins as an operator adds one: add-fleet.sh, then a reload (SIGUSR2
        # to HAProxy's master process is what `systemctl reload haproxy` sends).
        master = int(pidfile.read_text().split()[0])
        added = run(
            [
                str(INFRA / "haproxy" / "add-fleet.sh"),
                "host-b",
                f"{LOOPBACK}:{hosts['host-b'].nginx.port}",
            ],
            env={
                **os.environ,
                "PATH": os.environ.get("PATH", "") + ":/usr/sbin",
                "VOX_HAPROXY_HOSTS": str(host_list),
                "VOX_HAPROXY_CONFIG": str(config),
                "VOX_HAPROXY_RENDER": " ".join(options),
                "VOX_HAPROXY_RELOAD": f"kill -USR2 {master}",
            },
        )
        assert added.returncode == 0, added.stderr
        ingress.wait_status({"host-a": "UP", "host-b": "UP"})
        yield ingress
    finally:
        if haproxy is not None:
            haproxy.stop()
        for host in hosts.values():
            host.nginx.stop()
            for worker in host.workers:
                worker.stop()
        shutil.rmtree(home, ignore_errors=True)


async def test_websocket_calls_spread_across_hosts_and_move_off_a_stopped_host(
    ingress: Ingress,
) -> None:
    async with aiohttp.ClientSession() as session:
        first_ws = await session.ws_connect(ingress.url + "/media/twilio")
        first = await greeted_stream(first_ws, "spread-1")
        second_ws = await session.ws_connect(ingress.url + "/media/twilio")
        second = await greeted_stream(second_ws, "spread-2")
        busy = {
            name: sorted(
                w.health()["slot"]["call_id"] for w in host.workers if w.health()["slot"]["call_id"]
            )
            for name, host in ingress.hosts.items()
        }
        # leastconn: the second call goes to the host that has none.
        assert sorted(busy.values()) == [["spread-1"], ["spread-2"]], busy
        assert await hang_up(first_ws, first) == (1000, "call ended: hung_up")
        assert await hang_up(second_ws, second) == (1000, "call ended: hung_up")
        await first_ws.close()
        await second_ws.close()

    for host in ingress.hosts.values():
        wait_idle(host.workers)
    ingress.hosts["host-a"].nginx.stop()
    ingress.wait_status({"host-a": "DOWN", "host-b": "UP"})
    async with httpx.AsyncClient(base_url=ingress.url, timeout=10) as client:
        answers = [await client.post("/attach", json=attach_body(f"moved-{i}")) for i in (1, 2)]
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert {a.json()["host"] for a in answers} == {"host-b"}
    # Both of host-b's workers hold an attached call: the stream that names one of them reaches
    # it, through the host's own path.
    attached = answers[0].json()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{ingress.url}/h/host-b/w/{attached['worker']}{attached['media_path']}"
        ) as ws,
    ):
        carrier = await greeted_stream(ws, "moved-1")
        assert await hang_up(ws, carrier) == (1000, "call ended: hung_up")


async def test_a_host_path_reaches_that_host(ingress: Ingress) -> None:
    async with httpx.AsyncClient(base_url=ingress.url, timeout=10) as client:
        for name in ("host-a", "host-b"):
            for worker in ("1", "2"):
                health = await client.get(f"/h/{name}/w/{worker}/health")
                assert health.status_code == 200, health.text
                assert (health.json()["host"], health.json()["worker"]) == (name, worker)


def test_add_fleet_refuses_a_config_that_does_not_check(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("host-a 127.0.0.1:8001\n")
    config = tmp_path / "haproxy.cfg"
    config.write_text("# the live config, untouched by a failed add\n")
    env = {
        **os.environ,
        "PATH": os.environ.get("PATH", "") + ":/usr/sbin",
        "VOX_HAPROXY_HOSTS": str(hosts),
        "VOX_HAPROXY_CONFIG": str(config),
        "VOX_HAPROXY_RENDER": (
            f"--run-as none --maxconn 100 --stats-socket {tmp_path}/s.sock --bind 127.0.0.1:1"
        ),
        "VOX_HAPROXY_RELOAD": "false",
    }
    # A port HAProxy cannot parse gets past the host list's shape check but not `haproxy -c`.
    bad = run([str(INFRA / "haproxy" / "add-fleet.sh"), "host-b", "127.0.0.1:99999999"], env=env)
    assert bad.returncode == 1, bad.stderr
    assert "nothing changed" in bad.stderr
    assert hosts.read_text() == "host-a 127.0.0.1:8001\n"
    assert config.read_text() == "# the live config, untouched by a failed add\n"
    twice = run([str(INFRA / "haproxy" / "add-fleet.sh"), "host-a", "127.0.0.1:8002"], env=env)
    assert twice.returncode == 1
    assert "already" in twice.stderr


def test_a_tls_bind_renders_into_a_config_haproxy_accepts(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    pem = tmp_path / "fleet.pem"
    pem.write_text(cert.read_text() + key.read_text())
    hosts = tmp_path / "hosts"
    hosts.write_text("host-a 127.0.0.1:8001\n")
    config = tmp_path / "haproxy.cfg"
    rendered = run(
        [
            *(str(INFRA / "haproxy" / "render.sh"), "--hosts", str(hosts), "--run-as", "none"),
            *("--maxconn", "100", "--stats-socket", str(tmp_path / "s.sock")),
            *("--bind", "127.0.0.1:8443", "--tls-cert", str(pem), "--out", str(config)),
        ]
    )
    assert rendered.returncode == 0, rendered.stderr
    assert f"bind 127.0.0.1:8443 ssl crt {pem} alpn http/1.1" in config.read_text()
    checked = run([binary("haproxy"), "-c", "-f", str(config)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The same config with a certificate that is not there is refused by the check.
    pem.unlink()
    assert run([binary("haproxy"), "-c", "-f", str(config)]).returncode != 0
