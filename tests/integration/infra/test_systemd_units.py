"""The systemd units and `infra/fleet/scale.sh`. systemd cannot run here (no init in the test
machines), so the units are checked by `systemd-analyze verify` (the real parser, with the
ExecStart paths pointed at this checkout) and against the settings and the nginx template they
must agree with; scale.sh runs for real against a recording stand-in for `systemctl` and a real
`nginx -t`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
from pathlib import Path

import pytest

from apps.fleet.settings import Backend
from apps.fleet.settings import Settings as FleetSettings
from tests.integration.infra.support import INFRA, REPO, Nginx, binary, run, shared_dir
from voxcore_adapters.testing.nginx import command as nginx_command

pytestmark = pytest.mark.integration

UNITS = INFRA / "systemd"


def unit(name: str) -> dict[str, list[str]]:
    """A unit's `Key=value` lines (continuations joined), by key."""
    text = (UNITS / name).read_text().replace("\\\n", " ")
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(" ".join(value.split()))
    return values


def test_the_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    for path in UNITS.iterdir():
        text = re.sub(r"/opt/vox(core|bridge|dialler)", str(REPO), path.read_text())
        (tmp_path / path.name).write_text(text)
    # A template is verified through an instance of it.
    shutil.copy(tmp_path / "voxcore@.service", tmp_path / "voxcore@3.service")
    names = ["voxcore@3.service", "voxcore.target", "voxbridge.service", "voxdialler.service"]
    checked = run([binary("systemd-analyze"), "verify", *names], cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    # verify exits 0 on directives it ignores: any complaint at all is a failure here.
    assert checked.stdout + checked.stderr == ""


def test_a_worker_unit_matches_the_socket_nginx_expects_and_outlasts_the_longest_call() -> None:
    worker = unit("voxcore@.service")
    assert "VOX_FLEET_WORKER=%i" in worker["Environment"]
    assert "VOX_FLEET_SOCKET=/tmp/voxcore_%i.sock" in worker["Environment"]
    # Two malloc arenas (bench-fleet measures what they save after a LiveKit call).
    assert "MALLOC_ARENA_MAX=2" in worker["Environment"]
    # Granian binds the socket the worker reports and nginx's default upstream lists.
    assert FleetSettings(worker="3", backend=Backend.MEMORY).socket == "/tmp/voxcore_3.sock"
    (start,) = worker["ExecStart"]
    assert "--uds /tmp/voxcore_%i.sock" in start
    assert "--workers 1" in start
    assert "--factory apps.fleet.main:create_app" in start
    assert worker["ExecStartPre"] == ["-/bin/rm -f /tmp/voxcore_%i.sock"]
    assert worker["Restart"] == ["on-failure"]
    assert worker["KillSignal"] == ["SIGTERM"]
    assert worker["PrivateTmp"] == ["no"]
    assert int(worker["TimeoutStopSec"][0]) > FleetSettings(backend=Backend.MEMORY).max_call_s
    rendered = run([str(INFRA / "nginx" / "render.sh"), "--workers", "2"])
    assert "server unix:/tmp/voxcore_2.sock max_conns=1 max_fails=0;" in rendered.stdout
    assert worker["WantedBy"] == ["voxcore.target"]
    assert worker["PartOf"] == ["voxcore.target"]


@pytest.mark.parametrize(
    ("name", "factory"),
    [
        ("voxbridge.service", "apps.api.main:create_app"),
        ("voxdialler.service", "apps.dialler.main:create_app"),
    ],
)
def test_the_role_units_start_the_roles_app(name: str, factory: str) -> None:
    (start,) = unit(name)["ExecStart"]
    assert f"--factory {factory}" in start
    module, _, attribute = factory.partition(":")
    assert (REPO / (module.replace(".", "/") + ".py")).read_text().count(f"def {attribute}(") == 1


class ScaleHost:
    """What scale.sh touches on a fleet host: systemd (a stand-in that records each call and
    lists the instances it has), the site config, and nginx (real, for `nginx -t`)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.calls = home / "systemctl.calls"
        self.instances = home / "instances"
        self.instances.write_text("")
        systemctl = home / "systemctl"
        systemctl.write_text(
            f"""#!/bin/sh
echo "$*" >> {self.calls}
case "$1" in
    list-units) sed 's/$/ loaded active running worker/' {self.instances} ;;
    enable) grep -qx "$3" {self.instances} || echo "$3" >> {self.instances} ;;
    disable) grep -vx "$4" {self.instances} > {self.instances}.new
             mv {self.instances}.new {self.instances} ;;
esac
"""
        )
        systemctl.chmod(systemctl.stat().st_mode | stat.S_IEXEC)
        self.site = home / "voxcore-fleet.conf"
        self.nginx = Nginx(self.site)
        self.prefix = shared_dir("vox-scale-nginx-")
        self.nginx.write_conf(self.prefix)

    def scale(self, workers: int, listen: str | None = None) -> tuple[int, str]:
        port = listen or f"127.0.0.1:{self.nginx.port}"
        prefix = self.prefix
        env = {
            **os.environ,
            "VOX_SYSTEMCTL": str(self.home / "systemctl"),
            "VOX_NGINX_SITE": str(self.site),
            "VOX_NGINX_RENDER_OPTIONS": f"--listen {port} --console-root {self.home}",
            "VOX_NGINX": shlex.join(nginx_command(prefix)),
        }
        self.calls.write_text("")
        done = run([str(INFRA / "fleet" / "scale.sh"), str(workers)], env=env)
        return done.returncode, done.stderr

    def systemctl_calls(self) -> list[str]:
        return [
            line
            for line in self.calls.read_text().splitlines()
            if not line.startswith("list-units")
        ]


def test_scale_up_enables_workers_then_renders_checks_and_reloads_nginx(tmp_path: Path) -> None:
    host = ScaleHost(tmp_path)
    try:
        assert host.scale(2) == (0, "scale.sh: 2 workers on this host (was 0)\n")
        code, err = host.scale(4)
        assert (code, err) == (0, "scale.sh: 4 workers on this host (was 2)\n")
        assert host.systemctl_calls() == [
            *(f"enable --now voxcore@{i}.service" for i in range(1, 5)),
            "reload nginx",
        ]
        assert host.site.read_text().count("max_conns=1 max_fails=0;") == 4

        assert host.scale(1)[0] == 0
        # nginx stops routing to the extra workers before they are stopped (and drained).
        assert host.systemctl_calls() == [
            "enable --now voxcore@1.service",
            "reload nginx",
            "disable --now --no-block voxcore@2.service",
            "disable --now --no-block voxcore@3.service",
            "disable --now --no-block voxcore@4.service",
        ]
        assert host.site.read_text().count("max_conns=1 max_fails=0;") == 1
    finally:
        shutil.rmtree(host.prefix)


def test_scale_puts_the_previous_config_back_when_nginx_t_refuses_the_new_one(
    tmp_path: Path,
) -> None:
    host = ScaleHost(tmp_path)
    try:
        assert host.scale(2)[0] == 0
        before = host.site.read_text()
        code, err = host.scale(3, listen="127.0.0.1:99999")
        assert code == 1
        assert "nginx -t refused" in err
        assert host.site.read_text() == before
        assert "reload nginx" not in host.systemctl_calls()
    finally:
        shutil.rmtree(host.prefix)
