"""A Mongo-wire server for the session (or `VOX_TEST_MONGO_URL`), a fresh database per test, and
factories that build each port's fake or MongoDB adapter from the same set-up."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterator, Mapping
from datetime import UTC

import pymongo
import pytest
from pymongo.database import Database

from tests.integration.mongo.support import LeaseStore, MakeLeases, fresh_database, seed_mongo
from voxcore_adapters.fakes import InMemoryContactLeases
from voxcore_adapters.mongo import MongoContactLeases
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.testing import mongo_server
from voxcore_domain.model import Contact

BACKENDS = ["fake", "mongo"]


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    with mongo_server.mongo_url() as url:
        yield url


@pytest.fixture(scope="session")
def mongo_client(mongo_url: str) -> Iterator[pymongo.MongoClient[Document]]:
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(
        mongo_url, tz_aware=True, tzinfo=UTC
    )
    yield client
    client.close()


@pytest.fixture
def mongo_db(mongo_client: pymongo.MongoClient[Document]) -> Iterator[Database[Document]]:
    """A database of its own for one test, indexes ensured, dropped afterwards."""
    db = fresh_database(mongo_client)
    yield db
    mongo_client.drop_database(db.name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_if_mongo(backend: str, request: pytest.FixtureRequest) -> Database[Document] | None:
    """The test's database when the backend is MongoDB; the fake needs no server."""
    if backend != "mongo":
        return None
    db: Database[Document] = request.getfixturevalue("mongo_db")
    return db


@pytest.fixture
def make_leases(db_if_mongo: Database[Document] | None) -> MakeLeases:
    """Build the backend's `ContactLeases` holding `contacts`, with `dnc` as the tenants'
    do-not-call lists and a seeded token generator."""

    def make(
        *contacts: Contact, dnc: Mapping[str, Collection[str]] | None = None, seed: int = 7
    ) -> LeaseStore:
        if db_if_mongo is None:
            return InMemoryContactLeases(contacts, dnc, rng=random.Random(seed))
        seed_mongo(db_if_mongo, contacts, dnc or {})
        return MongoContactLeases(db_if_mongo, rng=random.Random(seed))

    return make
