"""The console in Debian's Chromium, driven by Playwright, against the API under Granian on the
real Mongo-wire, Redis and S3 servers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing.asgi_server import served, url
from voxcore_adapters.testing.mongo_server import mongo_url
from voxcore_adapters.testing.redis_server import redis_url
from voxcore_adapters.testing.s3_server import s3_server

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "apps" / "console" / "static"
SCREENSHOTS = ROOT / "build" / "test-output" / "console"
ADMIN_KEY = "admin-" + "c" * 40
INTERNAL_TOKEN = "internal-" + "d" * 40

# Chromium as the machine's probe runs it: without the background-networking flags it keeps
# trying to reach Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    """Debian's Chromium, which `make test` installs (scripts/system-deps.sh); Playwright's own
    browser download is never used."""
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("chromium is not installed: run `make test`, which installs it")
    return found


@attrs.frozen
class Servers:
    mongo: str
    redis: str
    s3: S3Connection


@attrs.frozen
class RunningApi:
    url: str
    env: dict[str, str]
    """The API's settings, as its environment."""

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10
        )

    def internal(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}, timeout=10
        )


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with mongo_url() as mongo, redis_url() as redis, s3_server() as s3:
        yield Servers(mongo, redis, s3)


@pytest.fixture
def api(servers: Servers) -> Iterator[RunningApi]:
    """The API under Granian on a loopback port, serving the console at `/console/`."""
    run = uuid.uuid4().hex[:12]
    env = {
        "VOX_API_ADMIN_KEY": ADMIN_KEY,
        "VOX_API_INTERNAL_TOKEN": INTERNAL_TOKEN,
        "VOX_MONGO_URL": servers.mongo,
        "VOX_MONGO_DATABASE": f"vox_console_{run}",
        "VOX_REDIS_URL": servers.redis,
        "VOX_REDIS_PREFIX": f"vox-console-{run}",
        "VOX_S3_URL": servers.s3.url,
        "VOX_S3_ACCESS_KEY": servers.s3.access_key,
        "VOX_S3_SECRET_KEY": servers.s3.secret_key,
        "VOX_S3_REGION": servers.s3.region,
        "VOX_S3_BUCKET": f"rec-{run}",
        "VOX_API_CONSOLE_DIR": str(CONSOLE),
        "VOX_API_RATE_LIMIT_PER_S": "1000",
        "VOX_API_RATE_LIMIT_BURST": "1000",
    }
    server = served("api", "apps.api.main:create_app", env)
    with server:
        yield RunningApi(url(server), env)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API keeps an event loop running while it is
    # open, and the asyncio tests of the other folders need the thread's loop free.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    """Where the test's screenshots go: under the test output folder, by test name."""
    folder: Path = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
