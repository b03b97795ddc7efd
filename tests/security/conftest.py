"""The security tests' servers: the real Mongo-wire server and Redis, started once per session
(the API tests' own fixtures), and an API over them with a database of each test's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest

from apps.api.settings import Backend, Settings
from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN
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
    run = uuid.uuid4().hex[:12]
    yield Settings(
        admin_key=ADMIN_KEY,
        internal_token=INTERNAL_TOKEN,
        backend=Backend.REAL,
        mongo_url=mongo_server_url,
        mongo_database=f"vox_sec_{run}",
        redis_url=redis_server_url,
        redis_prefix=f"vox-sec-{run}",
        rate_limit_per_s=10_000.0,
        rate_limit_burst=10_000,
        livekit_api_key=LIVEKIT_KEY,
        livekit_api_secret=LIVEKIT_SECRET,
    )
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_server_url)
    client.drop_database(f"vox_sec_{run}")
    client.close()
