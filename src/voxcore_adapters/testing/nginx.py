"""Real nginx on loopback in front of fleet worker sockets, as on a fleet host: the site is the
operator's own `infra/nginx/render.sh` output; only the `http {}` wrapper a distribution's
nginx.conf would give is written here, with pid, logs and temp files in one prefix directory, so
nginx runs unprivileged. Used by the infra and security tests, the drills and the demo.

nginx is Debian's package (`scripts/system-deps.sh`, run by `make test`).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from voxcore_adapters.testing.lifecycle import StartStop
from voxcore_adapters.testing.process import LOOPBACK, ServerProcess, free_port

RENDER = Path(__file__).resolve().parents[3] / "infra" / "nginx" / "render.sh"
UPSTREAMS = '$msec $request_uri $status "$upstream_status" "$upstream_addr"'
"""An access log format naming the sockets nginx tried for each request and what each answered
(`"429, 202"` / `"unix:/…/voxcore_1.sock, unix:/…/voxcore_2.sock"`)."""


class NginxError(RuntimeError):
    """render.sh or `nginx -t` refused, or nginx is not installed."""


def installed() -> str | None:
    """Debian's nginx, if installed (/usr/sbin is not on every user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def binary() -> str:
    found = installed()
    if found is None:
        raise NginxError("nginx is not installed: run scripts/system-deps.sh (make test does)")
    return found


def render_site(
    out: Path,
    *,
    workers: int,
    socket: str,
    port: int,
    console: Path,
    api: str | None = None,
    options: Sequence[str] = (),
) -> Path:
    """The fleet site for `workers` sockets (`socket` with `%i` for the worker number) on
    loopback `port`, the Console's files at `/` (and the API's `/v1/` when `api` is given),
    written to `out` by render.sh; `options` are more of render.sh's (`--tls-cert …`)."""
    rendered = subprocess.run(
        [
            str(RENDER),
            *("--workers", str(workers), "--socket", socket),
            *("--listen", f"{LOOPBACK}:{port}", "--console-root", str(console)),
            *(("--api", api) if api else ()),
            *options,
            *("--out", str(out)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if rendered.returncode != 0:
        raise NginxError(f"infra/nginx/render.sh failed: {rendered.stderr.strip()}")
    return out


def write_conf(
    prefix: Path,
    site: Path,
    *,
    logs: Path | None = None,
    worker_processes: int = 1,
    error_level: str = "notice",
    access_format: str | None = None,
) -> Path:
    """Write `prefix/nginx.conf`, the wrapper that includes `site`; its path, for `nginx -c`.
    The logs are `nginx.error.log` and `nginx.access.log` in `logs` (default: `prefix`), the
    access log in nginx's combined format unless `access_format` is given."""
    logs = logs or prefix
    # nginx's workers may run as another user (nobody, under root): they read from here.
    prefix.chmod(0o755)
    access_log = f"access_log {logs}/nginx.access.log"
    if access_format is not None:
        access_log = f"log_format custom '{access_format}';\n    {access_log} custom"
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes {worker_processes};
pid {prefix}/nginx.pid;
error_log {logs}/nginx.error.log {error_level};
events {{ worker_connections 512; }}
http {{
    {access_log};
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


def command(prefix: Path, logs: Path | None = None) -> list[str]:
    """nginx in the foreground with `prefix/nginx.conf`; `-e` because nginx reports start-up
    errors before its own error log is open."""
    error_log = (logs or prefix) / "nginx.error.log"
    conf = prefix / "nginx.conf"
    return [binary(), "-p", str(prefix), "-e", str(error_log), "-c", str(conf)]


def check(prefix: Path, logs: Path | None = None) -> str:
    """`nginx -t` of `prefix/nginx.conf`: what nginx says of it; `NginxError` if refused."""
    argv = command(prefix, logs)
    done = subprocess.run([argv[0], "-t", *argv[1:]], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NginxError(f"nginx -t refused the config: {done.stderr.strip()}")
    return done.stderr


class Nginx(StartStop["Nginx"]):
    """nginx on a free loopback port with the site at `site` (render it with `render`), its
    prefix (pid, logs, temp files) a fresh temporary directory each start."""

    def __init__(
        self,
        site: Path,
        *,
        name: str = "nginx",
        worker_processes: int = 1,
        error_level: str = "notice",
        access_format: str | None = UPSTREAMS,
    ) -> None:
        self.site = site
        self.port = free_port()
        self.worker_processes = worker_processes
        self.error_level = error_level
        self.access_format = access_format
        self.server = ServerProcess(name, self._command, self.port)

    def render(
        self,
        workers: int,
        socket: str,
        console: Path,
        api: str | None = None,
        options: Sequence[str] = (),
    ) -> Self:
        """Render the fleet site for this nginx's port (see `render_site`)."""
        render_site(
            self.site,
            workers=workers,
            socket=socket,
            port=self.port,
            console=console,
            api=api,
            options=options,
        )
        return self

    def write_conf(self, prefix: Path) -> Path:
        return write_conf(
            prefix,
            self.site,
            worker_processes=self.worker_processes,
            error_level=self.error_level,
            access_format=self.access_format,
        )

    def check(self, prefix: Path) -> str:
        """`nginx -t` of this site under a wrapper in `prefix` (see `check`)."""
        self.write_conf(prefix)
        return check(prefix)

    def _command(self, prefix: Path) -> list[str]:
        self.write_conf(prefix)
        return command(prefix)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def access_log(self) -> list[str]:
        path = self.server.data_dir / "nginx.access.log"
        return path.read_text().splitlines() if path.exists() else []

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
