"""`infra/jenkins/deploy-host.sh fleet`: the roll one worker at a time. systemd is a recording
stand-in (it cannot run here), the workers are real Granian processes whose /health the script
waits for over their sockets, as on a host. The Jenkinsfile itself needs a Jenkins: not run."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.infra.support import INFRA, FleetWorker, run, shared_dir

pytestmark = pytest.mark.integration


@pytest.fixture
def home() -> Iterator[Path]:
    path = shared_dir("vox-deploy-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def stand_in_systemctl(home: Path, units: list[str]) -> Path:
    calls = home / "calls"
    calls.write_text("")
    listing = "".join(f"{unit} loaded active running worker\\n" for unit in units)
    script = home / "systemctl"
    script.write_text(
        f"""#!/bin/sh
echo "$*" >> {calls}
case "$1" in list-units) printf '{listing}' ;; esac
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def deploy(home: Path, role: str, timeout_s: int = 20) -> tuple[int, str]:
    env = {
        **os.environ,
        "VOX_SYSTEMCTL": str(home / "systemctl"),
        "VOX_UV": "true",
        "VOX_FLEET_SOCKET_PATTERN": str(home / "voxcore_%i.sock"),
        "VOX_DEPLOY_HEALTH_TIMEOUT": str(timeout_s),
    }
    done = run([str(INFRA / "jenkins" / "deploy-host.sh"), role], env=env)
    return done.returncode, done.stderr


def test_the_fleet_rolls_one_worker_at_a_time_in_order(home: Path) -> None:
    units = ["voxcore@10.service", "voxcore@2.service", "voxcore@1.service"]
    stand_in_systemctl(home, units)
    workers = [FleetWorker(n, home, "deploy-host", 3.0).start() for n in (1, 2, 10)]
    try:
        code, err = deploy(home, "fleet")
    finally:
        for worker in workers:
            worker.stop()
    assert code == 0, err
    calls = (home / "calls").read_text().splitlines()
    assert [c for c in calls if c.startswith("restart")] == [
        "restart voxcore@1.service",
        "restart voxcore@2.service",
        "restart voxcore@10.service",
    ]


def test_a_worker_that_does_not_come_back_stops_the_roll(home: Path) -> None:
    stand_in_systemctl(home, ["voxcore@1.service", "voxcore@2.service"])
    # Worker 1 has no process behind its socket path: it never answers /health.
    code, err = deploy(home, "fleet", timeout_s=2)
    assert code == 1
    assert "voxcore@1.service did not answer /health" in err
    calls = (home / "calls").read_text().splitlines()
    assert [c for c in calls if c.startswith("restart")] == ["restart voxcore@1.service"]


def test_the_api_and_dialler_restart_their_unit(home: Path) -> None:
    stand_in_systemctl(home, [])
    assert deploy(home, "api")[0] == 0
    assert deploy(home, "dialler")[0] == 0
    calls = (home / "calls").read_text().splitlines()
    assert calls == [
        "restart voxbridge.service",
        "is-active --quiet voxbridge.service",
        "restart voxdialler.service",
        "is-active --quiet voxdialler.service",
    ]
    assert deploy(home, "console") == (
        2,
        f"usage: {INFRA / 'jenkins' / 'deploy-host.sh'} api|fleet|dialler\n",
    )
