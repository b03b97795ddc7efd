"""An API over in-memory fakes for each test, on a manual clock; and, for the tests that ask,
the real Mongo-wire and Redis servers, started once per session on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from apps.api.deps import Deps, memory_deps
from apps.api.main import create_app
from apps.api.settings import Backend, Settings
from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN, TenantSession, make_tenant
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_adapters.testing.mongo_server import mongo_url
from voxcore_adapters.testing.redis_server import redis_url


@pytest.fixture
def settings() -> Settings:
    # A generous limit: only the rate-limit tests spend it.
    return Settings(
        admin_key=ADMIN_KEY,
        internal_token=INTERNAL_TOKEN,
        backend=Backend.MEMORY,
        rate_limit_per_s=1000.0,
        rate_limit_burst=1000,
        import_batch_rows=50,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def deps(clock: ManualClock) -> Deps:
    return memory_deps(clock)


@pytest.fixture
def app(settings: Settings, deps: Deps) -> Litestar:
    return create_app(settings, deps)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def acme(client: TestClient[Any]) -> TenantSession:
    return make_tenant(client, "Acme")


@pytest.fixture
def globex(client: TestClient[Any]) -> TenantSession:
    return make_tenant(client, "Globex")


@pytest.fixture(scope="session")
def mongo_server_url() -> Iterator[str]:
    with mongo_url() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with redis_url() as url:
        yield url
