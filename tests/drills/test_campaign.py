"""A drill's campaign calls now, whatever the hour: its zone is one where it is 14:00."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from voxcore_drills.campaign import afternoon_zone


@pytest.mark.parametrize("hour", range(24))
def test_the_campaigns_zone_is_in_the_afternoon(hour: int) -> None:
    now = datetime(2026, 11, 26, hour, 37, tzinfo=UTC)
    assert now.astimezone(ZoneInfo(afternoon_zone(now))).hour == 14
