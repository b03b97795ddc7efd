"""Domain values as documents, the indexes, connecting, and the test server's own life cycle."""

from __future__ import annotations

import os
from datetime import UTC, time, timedelta
from pathlib import Path

import pymongo
import pytest
from pymongo.database import Database

from voxcore_adapters.mongo import connect, ensure_indexes, from_document, to_document
from voxcore_adapters.mongo.documents import Document, to_millis
from voxcore_adapters.mongo.schema import CAMPAIGNS, CONTACTS, INDEXES, collection
from voxcore_adapters.testing import mongo_server
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import (
    CallAttempt,
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    Lease,
    PacingKind,
    PacingMode,
    PacingSettings,
    RetryPolicy,
    Tenant,
    utc,
)

pytestmark = pytest.mark.integration

AT = utc(2024, 6, 5, 12, 30)
CAMPAIGN = Campaign(
    "c1",
    "t1",
    "Collections",
    "a1",
    "trunk-1",
    "+442071838750",
    window=CallingWindow(time(9), time(20, 30), {1, 2, 3, 4, 5, 6}),
    timezone="Europe/London",
    pacing=PacingSettings(PacingMode(PacingKind.RATIO, 1.5), abandon_target=0.025),
    retry=RetryPolicy(max_attempts=4, no_answer_after=timedelta(hours=2, seconds=1)),
    weight=3.0,
    max_concurrency=20,
    state=CampaignState.PAUSED,
)
VARIABLES = {"name": "Ada", "amount": "12.50"}
CONTACT = Contact(
    "k1",
    "c1",
    "t1",
    "+14155550123",
    AT,
    "America/Chicago",
    VARIABLES,
    ContactState.ANSWERED,
    2,
    Lease("k1", "dialler-a", "ab" * 16, AT + timedelta(seconds=30)),
    Disposition.NO_ANSWER,
)
ATTEMPT = CallAttempt(
    "k1-2",
    "k1",
    "c1",
    "t1",
    2,
    "ab" * 16,
    AT,
    answered_at=AT + timedelta(seconds=8),
    disposition=Disposition.VOICEMAIL,
    worker="host-1/3",
)
TENANT = Tenant("t1", "Acme", 2.5, 30)


@pytest.mark.parametrize("value", [CAMPAIGN, CONTACT, ATTEMPT, TENANT], ids=type)
def test_values_survive_the_round_trip_through_the_server(
    mongo_db: Database[Document], value: object
) -> None:
    stored = collection(mongo_db, "round_trip")
    stored.insert_one(to_document(value))
    [document] = stored.find()
    assert from_document(document, type(value)) == value


def test_documents_read_well_in_the_mongo_shell() -> None:
    campaign = to_document(CAMPAIGN)
    assert campaign["_id"] == "c1"
    assert "id" not in campaign
    assert campaign["state"] == "paused"
    assert type(campaign["state"]) is str
    assert campaign["window"] == {
        "start": "09:00:00",
        "end": "20:30:00",
        "weekdays": [1, 2, 3, 4, 5, 6],
    }
    assert campaign["pacing"]["mode"] == "ratio:1.5"
    assert campaign["retry"]["no_answer_after"] == 7201.0
    contact = to_document(CONTACT)
    # The lease is the contact's: its contact id is the document's own.
    assert contact["lease"] == {
        "owner": "dialler-a",
        "token": "ab" * 16,
        "expires_at": AT + timedelta(seconds=30),
        # Taken outside a dialler shard's leadership: no leader stamp.
        "shard": None,
        "leader_token": None,
    }
    assert contact["last_disposition"] == "no_answer"


def test_an_unreadable_document_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as raised:
        from_document({"_id": "c1", "name": "no tenant"}, Campaign)
    assert raised.value.field == "campaign"
    document = to_document(CAMPAIGN) | {"timezone": "Mars/Olympus"}
    with pytest.raises(ValidationError) as zone:
        from_document(document, Campaign)
    assert zone.value.field == "timezone"
    for broken in ({"state": "lost"}, {"next_attempt_at": "yesterday"}):
        with pytest.raises(ValidationError) as contact:
            from_document(to_document(CONTACT) | broken, Contact)
        assert contact.value.field == "contact"


def test_millisecond_truncation_never_rounds_up() -> None:
    instant = utc(2024, 6, 5, 12).replace(microsecond=999_999)
    assert to_millis(instant) == utc(2024, 6, 5, 12).replace(microsecond=999_000)


def test_indexes_are_created_once_whatever_the_number_of_calls(
    mongo_db: Database[Document],
) -> None:
    ensure_indexes(mongo_db)
    ensure_indexes(mongo_db)
    for name, indexes in INDEXES.items():
        have = set(mongo_db.get_collection(name).index_information()) if indexes else set()
        assert {index.document["name"] for index in indexes} <= have
    unique = mongo_db.get_collection(CONTACTS).index_information()["campaign_phone"]
    assert unique.get("unique") is True


def test_connect_gives_a_ready_database_with_aware_times(mongo_url: str) -> None:
    db = connect(mongo_url, "vox_test_connect")
    try:
        assert "lease_order" in db.get_collection(CONTACTS).index_information()
        collection(db, CAMPAIGNS).insert_one(to_document(CAMPAIGN))
        document = db.get_collection(CAMPAIGNS).find_one()
        assert document is not None
        assert from_document(document, Campaign) == CAMPAIGN
        db.get_collection("times").insert_one({"at": AT})
        found = db.get_collection("times").find_one()
        assert found is not None
        assert found["at"].tzinfo is not None
    finally:
        db.client.drop_database(db.name)
        db.client.close()


def test_the_url_variable_points_the_suite_at_an_existing_server(
    mongo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(mongo_server.URL_VARIABLE, mongo_url)
    with mongo_server.mongo_url() as url:
        assert url == mongo_url


def test_the_test_server_starts_on_a_free_port_and_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if os.environ.get(mongo_server.URL_VARIABLE):
        monkeypatch.delenv(mongo_server.URL_VARIABLE)
    server = mongo_server.secantus_server()
    with server:
        data_dir = Path(server.data_dir)
        client: pymongo.MongoClient[Document] = pymongo.MongoClient(
            mongo_server.server_url(server), tz_aware=True, tzinfo=UTC
        )
        assert client.admin.command("ping")["ok"] == 1
        client.close()
        assert data_dir.exists()
    assert not data_dir.exists()
