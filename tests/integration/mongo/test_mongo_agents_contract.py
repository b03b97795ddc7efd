"""The `Agents` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes.agents import InMemoryAgents
from voxcore_adapters.mongo.agents import MongoAgents
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.agents import Agent, VoicemailPolicy
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import Agents

pytestmark = pytest.mark.integration

REMINDER = Agent(
    "a1",
    "t1",
    "Reminders",
    greeting="Hello, this is an automated assistant calling for Acme Dental.",
    language="en-GB",
    voice="alloy",
    instructions="Confirm the appointment; offer to reschedule.",
    prompts={"goodbye": "Thank you, goodbye.", "opt_out": "You will not be called again."},
    provider="realtime",
    provider_settings={"model": "speech-1", "temperature": 0.3, "max_turns": 12, "vad": True},
    voicemail_policy=VoicemailPolicy.LEAVE_MESSAGE,
    voicemail_message="Please call Acme Dental back about your appointment.",
)


@pytest.fixture
def agents(db_if_mongo: Database[Document] | None) -> Agents:
    return InMemoryAgents() if db_if_mongo is None else MongoAgents(db_if_mongo)


def test_an_agent_round_trips_with_every_setting(agents: Agents) -> None:
    assert agents.get("a1") is None
    agents.put(REMINDER)
    assert agents.get("a1") == REMINDER


def test_put_replaces_and_tenants_see_only_their_own(agents: Agents) -> None:
    agents.put(REMINDER)
    agents.put(attrs.evolve(REMINDER, id="a0", name="Surveys"))
    agents.put(attrs.evolve(REMINDER, id="b1", tenant_id="t2"))
    changed = attrs.evolve(REMINDER, greeting="Hi, an automated assistant here.", version=2)
    agents.put(changed)
    assert [a.id for a in agents.of_tenant("t1")] == ["a0", "a1"]
    assert agents.get("a1") == changed
    assert [a.id for a in agents.of_tenant("t2")] == ["b1"]
    assert agents.of_tenant("t3") == []


def test_delete_says_whether_the_agent_existed(agents: Agents) -> None:
    agents.put(REMINDER)
    assert agents.delete("a1") is True
    assert agents.delete("a1") is False
    assert agents.get("a1") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"greeting": " "}, "greeting"),
        ({"voicemail_message": None}, "voicemail_message"),
        ({"provider_settings": {"model": ["a", "b"]}}, "provider_settings"),
        ({"prompts": {"goodbye": 3}}, "prompts"),
        ({"version": 0}, "version"),
        ({"voicemail_policy": "sing"}, "voicemail_policy"),
    ],
)
def test_bad_agents_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        attrs.evolve(REMINDER, **changes)
    assert error.value.field == field


def test_replace_stores_only_over_the_expected_version(agents: Agents) -> None:
    agents.put(REMINDER)
    first = attrs.evolve(REMINDER, name="First edit", version=2)
    second = attrs.evolve(REMINDER, name="Second edit", version=2)
    assert agents.replace(first, expected_version=1) is True
    # The second edit was read at version 1 too: it lost the race and changes nothing.
    assert agents.replace(second, expected_version=1) is False
    assert agents.get("a1") == first
    assert agents.replace(attrs.evolve(first, version=3), expected_version=2) is True
    assert agents.get("a1") == attrs.evolve(first, version=3)


def test_replace_never_creates_an_agent(agents: Agents) -> None:
    assert agents.replace(REMINDER, expected_version=1) is False
    assert agents.get("a1") is None
    agents.put(REMINDER)
    agents.delete("a1")
    assert agents.replace(attrs.evolve(REMINDER, version=2), expected_version=1) is False
    assert agents.get("a1") is None
