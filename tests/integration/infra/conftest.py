"""One fleet host for the nginx tests: 4 real workers under Granian on Unix sockets behind real
nginx, with the config rendered by `infra/nginx/render.sh`; started once per module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.integration.infra.support import FleetWorker, Nginx, shared_dir

WORKERS = 4
MEDIA_WAIT_S = 3.0
"""An attach with no media stream holds its slot this long: long enough to see the fleet full,
short enough to wait for it to empty."""


@attrs.frozen
class FleetHost:
    nginx: Nginx
    workers: list[FleetWorker]
    home: Path
    """Sockets, worker logs and the Console's files."""

    def worker(self, number: int) -> FleetWorker:
        return self.workers[number - 1]


@pytest.fixture(scope="module")
def fleet_host() -> Iterator[FleetHost]:
    home = shared_dir("vox-fleet-host-")
    console = home / "console"
    console.mkdir()
    console.chmod(0o755)
    (console / "index.html").write_text("<!doctype html><title>VoxBridge Console</title>\n")
    (console / "index.html").chmod(0o644)
    workers: list[FleetWorker] = []
    nginx: Nginx | None = None
    try:
        workers.extend(
            FleetWorker(number, home, "host-a", MEDIA_WAIT_S).start()
            for number in range(1, WORKERS + 1)
        )
        site = home / "voxcore-fleet.conf"
        nginx = Nginx(site).for_workers(WORKERS, home, console)
        yield FleetHost(nginx.start(), workers, home)
    finally:
        if nginx is not None:
            nginx.stop()
        for worker in workers:
            worker.stop()
        shutil.rmtree(home, ignore_errors=True)
