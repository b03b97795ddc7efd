"""Call events check themselves: an ended call says how it ended, other steps do not."""

from __future__ import annotations

import pytest

from voxcore_domain.callevents import CallEvent, CallEventKind
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition, utc

NOW = utc(2024, 6, 5, 12)


def test_an_ended_call_carries_its_disposition() -> None:
    event = CallEvent("ended", "call-1", "camp-1", "tenant-1", NOW, "abandoned")
    assert event.kind is CallEventKind.ENDED
    assert event.disposition is Disposition.ABANDONED


@pytest.mark.parametrize(
    ("kind", "disposition", "field"),
    [
        ("ended", None, "disposition"),
        ("answered", "completed", "disposition"),
        ("ended", "hung up", "disposition"),
        ("rang", None, "kind"),
    ],
)
def test_inconsistent_events_are_refused_by_name(
    kind: str, disposition: str | None, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CallEvent(kind, "call-1", "camp-1", "tenant-1", NOW, disposition)
    assert refused.value.field == field


@pytest.mark.parametrize("missing", ["call_id", "campaign_id", "tenant_id"])
def test_ids_must_not_be_empty(missing: str) -> None:
    ids = {"call_id": "call-1", "campaign_id": "camp-1", "tenant_id": "tenant-1", missing: " "}
    with pytest.raises(ValidationError) as refused:
        CallEvent(CallEventKind.DIALED, at=NOW, **ids)
    assert refused.value.field == missing


def test_the_instant_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError) as refused:
        CallEvent(CallEventKind.DIALED, "call-1", "camp-1", "tenant-1", NOW.replace(tzinfo=None))
    assert refused.value.field == "at"
