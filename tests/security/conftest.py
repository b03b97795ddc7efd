"""The security tests' servers: the real Mongo-wire server and Redis, started once per session
(the API tests' own fixtures), and an API over them with a database of each test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.api.settings import Settings
from tests.api.support import real_backend
from tests.api.webhooks import LIVEKIT_KEY, LIVEKIT_SECRET
from voxcore_adapters.testing.mongo_server import mongo_url
from voxcore_adapters.testing.redis_server import redis_url


@pytest.fixture(scope="session")
def mongo_server_url() -> Iterator[str]:
    with mongo_url() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with redis_url() as url:
        yield url


@pytest.fixture
def real_settings(mongo_server_url: str, redis_server_url: str) -> Iterator[Settings]:
    """The API on the real servers, in a database and a Redis prefix of the test's own, with
    LiveKit webhooks configured."""
    with real_backend(
        mongo_server_url,
        redis_server_url,
        rate_limit_per_s=10_000.0,
        rate_limit_burst=10_000,
        livekit_api_key=LIVEKIT_KEY,
        livekit_api_secret=LIVEKIT_SECRET,
    ) as settings:
        yield settings
