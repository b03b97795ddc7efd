"""Trunks and fleet hosts check themselves like every other value."""

from __future__ import annotations

import pytest

from voxcore_domain.errors import ValidationError
from voxcore_domain.trunks import FleetHost, Trunk


def test_a_trunk_keeps_its_caller_ids_and_limits() -> None:
    trunk = Trunk("tr1", "t1", "main", "ST_abc", ["+14155550100"], cps=5, channels=30)
    assert trunk.caller_ids == ("+14155550100",)
    assert trunk.allows_caller_id("+14155550100")
    assert not trunk.allows_caller_id("+14155550199")


def test_a_trunk_without_caller_ids_allows_any() -> None:
    assert Trunk("tr1", "t1", "main", "ST_abc").allows_caller_id("+14155550199")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"caller_ids": ["0800"]}, "caller_ids"),
        ({"caller_ids": "+14155550100"}, "caller_ids"),
        ({"cps": 0}, "cps"),
        ({"channels": 0}, "channels"),
        ({"livekit_trunk_id": ""}, "livekit_trunk_id"),
    ],
)
def test_a_bad_trunk_names_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "id": "tr1",
        "tenant_id": "t1",
        "name": "main",
        "livekit_trunk_id": "ST_abc",
    }
    with pytest.raises(ValidationError) as raised:
        Trunk(**(base | kwargs))  # type: ignore[arg-type]
    assert raised.value.field == field


def test_a_fleet_host_needs_a_url_it_can_reach() -> None:
    assert FleetHost("h1", "http://10.0.0.5:8000").enabled
    assert FleetHost("h2", "unix:/tmp/voxcore_1.sock").url.startswith("unix:")
    with pytest.raises(ValidationError) as raised:
        FleetHost("h3", "10.0.0.5:8000")
    assert raised.value.field == "url"
