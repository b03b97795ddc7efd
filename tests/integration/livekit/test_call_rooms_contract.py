"""`CallRooms`: the rooms a new dialler leader lists to close out calls a dead one left, on the
fake telephony and on the LiveKit adapter against the double."""

from __future__ import annotations

import pytest

from tests.integration.livekit.conftest import Phone
from tests.integration.livekit.test_telephony_contract import dial
from voxcore_adapters.fakes.media_fakes import Callee, FakeTelephony
from voxcore_adapters.livekit import LiveKitTelephony
from voxcore_adapters.sim import SimTelephony

pytestmark = pytest.mark.integration


async def test_open_rooms_lists_the_live_calls_rooms_by_prefix_until_hung_up(
    phone: Phone,
) -> None:
    telephony = phone.telephony
    assert isinstance(telephony, FakeTelephony | LiveKitTelephony | SimTelephony)
    for call_id in ("a", "b"):
        await telephony.place_call(dial(call_id, room=f"call-{call_id}"))
    await telephony.place_call(dial("c", to="+442079460001", room="inbound-c"))
    phone.script("+442079460002", Callee.answering())
    await telephony.place_call(dial("d", to="+442079460002", room="call-d"))

    assert await telephony.open_rooms("call-") == ["call-a", "call-b", "call-d"]
    await telephony.hang_up("b", "call-b")
    assert await telephony.open_rooms("call-") == ["call-a", "call-d"]
    assert await telephony.open_rooms("nothing-") == []
