"""nginx in front of the demo's fleet workers, as on a fleet host: the site is the operator's own
`infra/nginx/render.sh` output for the demo's sockets; only the `http {}` wrapper a distribution's
nginx.conf would give is written here, with pid, logs and temp files in the demo's own folders.

The demo runs it on a free loopback port. When the demo runs as root, nginx's worker processes
run as `nobody`, so the worker sockets are made reachable by other users (a traverse-only
directory with an unguessable name, sockets `0666`): acceptable for a demo on one's own machine,
not how a fleet host is set up (`infra/systemd`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from voxcore_adapters.testing.process import LOOPBACK

INFRA = Path(__file__).resolve().parents[2] / "infra" / "nginx"


def binary() -> str | None:
    """Debian's nginx, if installed (/usr/sbin is not on every user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


class NginxError(RuntimeError):
    pass


def configure(
    prefix: Path,
    logs: Path,
    *,
    workers: int,
    socket: str,
    port: int,
    console: Path,
    api_url: str,
) -> Path:
    """Render the fleet site for `workers` sockets (`socket` with `%i` for the worker number)
    listening on loopback `port`, serving the Console at `/` with the API's `/v1/` on the same
    origin, and write the wrapper that includes it; the wrapper's path, for `nginx -c`."""
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)
    site = prefix / "voxcore-fleet.conf"
    rendered = subprocess.run(
        [
            str(INFRA / "render.sh"),
            *("--workers", str(workers), "--socket", socket),
            *("--listen", f"{LOOPBACK}:{port}", "--console-root", str(console)),
            *("--api", api_url, "--out", str(site)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if rendered.returncode != 0:
        raise NginxError(f"infra/nginx/render.sh failed: {rendered.stderr.strip()}")
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {logs}/nginx.error.log notice;
events {{ worker_connections 512; }}
http {{
    access_log {logs}/nginx.access.log;
    default_type application/octet-stream;
    types {{
        text/html html;
        text/css css;
        text/javascript js;
        image/svg+xml svg;
    }}
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
"""
    )
    return conf


def command(nginx: str, prefix: Path, conf: Path, logs: Path) -> list[str]:
    """nginx in the foreground with `conf`; it reports start-up errors before its own error
    log is open to `logs`."""
    return [nginx, "-p", str(prefix), "-e", str(logs / "nginx.error.log"), "-c", str(conf)]


def check(nginx: str, prefix: Path, conf: Path, logs: Path) -> None:
    """`nginx -t`: the config is refused before anything starts with it."""
    done = subprocess.run(
        [nginx, "-t", *command(nginx, prefix, conf, logs)[1:]],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise NginxError(f"nginx -t refused the demo's config: {done.stderr.strip()}")
