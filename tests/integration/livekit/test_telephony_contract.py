"""The telephony contract, on the fake, on the simulated carrier and on the LiveKit adapter
against the Twirp double: the same scripted callee gives the same `DialResult`, or the same
error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.livekit.conftest import TRUNK, Phone
from voxcore_adapters.fakes.media_fakes import Callee, FakeTelephony
from voxcore_adapters.livekit import LiveKitTelephony
from voxcore_adapters.sim import SimTelephony
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import (
    CallControl,
    DialRequest,
    DialResult,
    TelephonyError,
    TelephonyRefused,
    TrunkThrottled,
)

pytestmark = pytest.mark.integration

NUMBER = "+14155550123"
CALLER = "+14155550000"
RING_S = 1.0


def dial(call_id: str = "call-1", to: str = NUMBER, **changes: object) -> DialRequest:
    values: dict[str, object] = {
        "call_id": call_id,
        "trunk_id": TRUNK,
        "to": to,
        "caller_id": CALLER,
        "ring_timeout_s": RING_S,
        "room": f"room-{call_id}",
        **changes,
    }
    return DialRequest(**values)  # type: ignore[arg-type]


def _all_are_call_control(
    fake: FakeTelephony, sim: SimTelephony, real: LiveKitTelephony
) -> list[CallControl]:
    """Never run: mypy checking this proves that all three implement the port."""
    return [fake, sim, real]


async def test_an_answered_call_is_stamped_when_it_was_answered(phone: Phone) -> None:
    phone.script(NUMBER, Callee.answering(after_s=0.2))
    before = datetime.now(UTC)

    result = await phone.telephony.place_call(dial())

    assert result.disposition is None
    assert result.sip_status is None
    assert result.answered_at is not None
    assert before <= result.answered_at <= datetime.now(UTC)
    assert phone.live("call-1", "room-call-1")


@pytest.mark.parametrize(
    ("callee", "disposition", "sip_status"),
    [
        (Callee.busy(), Disposition.BUSY, 486),
        (Callee.busy_everywhere(), Disposition.BUSY, 600),
        (Callee.unavailable(), Disposition.NO_ANSWER, 480),
        (Callee.declining(603), Disposition.DECLINED, 603),
        (Callee.declining(403), Disposition.DECLINED, 403),
        (Callee.invalid(404), Disposition.INVALID_NUMBER, 404),
        (Callee.invalid(484), Disposition.INVALID_NUMBER, 484),
        (Callee.rejecting(604, "Does Not Exist Anywhere"), Disposition.INVALID_NUMBER, 604),
        (Callee.carrier_error(503), Disposition.FAILED, 503),
        (Callee.carrier_error(500, "Server Internal Error"), Disposition.FAILED, 500),
        (Callee.carrier_error(502, "Bad Gateway"), Disposition.FAILED, 502),
        (Callee.rejecting(487, "Request Terminated"), Disposition.NO_ANSWER, 487),
        (Callee.busy(after_s=0.3), Disposition.BUSY, 486),
    ],
    ids=lambda v: str(v.sip_status) if isinstance(v, Callee) else None,
)
async def test_a_refused_dial_says_why(
    phone: Phone, callee: Callee, disposition: Disposition, sip_status: int
) -> None:
    phone.script(NUMBER, callee)

    result = await phone.telephony.place_call(dial())

    assert result == DialResult("call-1", None, disposition, sip_status)
    assert not phone.live("call-1", "room-call-1")


@pytest.mark.parametrize(
    "callee", [Callee.no_answer(), Callee.answering(after_s=5.0), Callee.busy(after_s=5.0)]
)
async def test_a_phone_that_rings_out_is_no_answer(phone: Phone, callee: Callee) -> None:
    phone.script(NUMBER, callee)

    result = await phone.telephony.place_call(dial())

    assert result == DialResult("call-1", None, Disposition.NO_ANSWER, None)


async def test_a_trunk_over_its_cps_limit_is_throttled_not_a_failed_attempt(
    phone: Phone,
) -> None:
    phone.script(NUMBER, Callee.cps_limit())

    with pytest.raises(TrunkThrottled) as throttled:
        await phone.telephony.place_call(dial())

    assert (throttled.value.trunk_id, throttled.value.sip_status) == (TRUNK, 503)
    assert throttled.value.retry_after_s == 2.5
    assert isinstance(throttled.value, TelephonyError)
    assert throttled.value.code == "failed_precondition"
    assert str(throttled.value) == (
        f"trunk {TRUNK}: carrier refused the dial: 503 Trunk CPS limit exceeded"
    )


async def test_concurrent_call_limit_of_the_trunk_is_throttled_too(phone: Phone) -> None:
    phone.script(NUMBER, Callee.carrier_error(503, "Concurrent call limit exceeded"))

    with pytest.raises(TrunkThrottled):
        await phone.telephony.place_call(dial())


async def test_a_carrier_asking_for_credentials_is_a_trunk_problem(phone: Phone) -> None:
    phone.script(NUMBER, Callee.rejecting(407, "Proxy Authentication Required"))

    with pytest.raises(TelephonyRefused) as refused:
        await phone.telephony.place_call(dial())

    assert str(refused.value) == (
        f"trunk {TRUNK}: carrier asks for credentials (407 Proxy Authentication Required)"
    )
    assert refused.value.code == "unauthenticated"


async def test_an_unknown_trunk_is_refused(phone: Phone) -> None:
    with pytest.raises(TelephonyRefused) as refused:
        await phone.telephony.place_call(dial(trunk_id="ST_nope"))
    assert refused.value.code == "not_found"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to": "5550123"}, "to"),
        ({"caller_id": "+0123"}, "caller_id"),
        ({"ring_timeout_s": 0}, "ring_timeout_s"),
        ({"ring_timeout_s": 601}, "ring_timeout_s"),
        ({"room": " "}, "room"),
        ({"call_id": ""}, "call_id"),
        ({"trunk_id": ""}, "trunk_id"),
    ],
)
async def test_a_bad_dial_is_refused_naming_the_field(
    phone: Phone, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await phone.telephony.place_call(dial(**changes))
    assert refused.value.field == field


async def test_hanging_up_ends_the_call_and_can_be_repeated(phone: Phone) -> None:
    await phone.telephony.place_call(dial())
    assert phone.live("call-1", "room-call-1")

    await phone.telephony.hang_up("call-1", "room-call-1")
    await phone.telephony.hang_up("call-1", "room-call-1")

    assert not phone.live("call-1", "room-call-1")


async def test_a_transfer_hands_the_call_over(phone: Phone) -> None:
    await phone.telephony.place_call(dial())
    phone.script("+14155550999", Callee.answering(after_s=0.1))

    result = await phone.telephony.transfer("call-1", "room-call-1", "+14155550999", 2.0)

    assert result.completed
    assert result.failure is None
    assert not phone.live("call-1", "room-call-1")


@pytest.mark.parametrize(
    ("callee", "failure", "sip_status"),
    [
        (Callee.busy(), Disposition.BUSY, 486),
        (Callee.declining(603), Disposition.DECLINED, 603),
        (Callee.no_answer(), Disposition.NO_ANSWER, None),
    ],
)
async def test_a_transfer_the_target_refuses_keeps_the_call(
    phone: Phone, callee: Callee, failure: Disposition, sip_status: int | None
) -> None:
    await phone.telephony.place_call(dial())
    phone.script("+14155550999", callee)

    result = await phone.telephony.transfer("call-1", "room-call-1", "+14155550999", 1.0)

    assert (result.completed, result.failure, result.sip_status) == (False, failure, sip_status)
    assert phone.live("call-1", "room-call-1")


async def test_a_call_that_is_gone_cannot_be_transferred(phone: Phone) -> None:
    await phone.telephony.place_call(dial())
    await phone.telephony.hang_up("call-1", "room-call-1")

    with pytest.raises(TelephonyError) as gone:
        await phone.telephony.transfer("call-1", "room-call-1", "+14155550999")
    assert gone.value.code == "not_found"


@pytest.mark.parametrize(
    ("to", "ring", "field"),
    [("agent desk", 5.0, "to"), ("+14155550999", 0.0, "ring_timeout_s")],
)
async def test_a_bad_transfer_is_refused_naming_the_field(
    phone: Phone, to: str, ring: float, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await phone.telephony.transfer("call-1", "room-call-1", to, ring)
    assert refused.value.field == field


async def test_an_empty_caller_id_dials_with_the_trunks_own_number(phone: Phone) -> None:
    result = await phone.telephony.place_call(dial(caller_id=""))
    assert result.disposition is None
    assert phone.live("call-1", "room-call-1")
