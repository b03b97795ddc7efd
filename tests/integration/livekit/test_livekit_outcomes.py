"""The SIP outcome rules, and the fake and the LiveKit adapter agreeing on every SIP status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.livekit.test_telephony_contract import dial
from voxcore_adapters.fakes.media_fakes import Callee, FakeTelephony
from voxcore_adapters.livekit import LiveKitSettings, LiveKitTelephony
from voxcore_adapters.livekit.outcomes import (
    disposition_for_sip,
    is_trunk_limit,
    twirp_code_for_sip,
)
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.model import Disposition
from voxcore_domain.ports import DialResult, TelephonyError

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("sip_status", "disposition"),
    [
        (486, Disposition.BUSY),
        (600, Disposition.BUSY),
        (480, Disposition.NO_ANSWER),
        (408, Disposition.NO_ANSWER),
        (603, Disposition.DECLINED),
        (403, Disposition.DECLINED),
        (404, Disposition.INVALID_NUMBER),
        (484, Disposition.INVALID_NUMBER),
        (503, Disposition.FAILED),
        (488, Disposition.FAILED),
    ],
)
def test_sip_statuses_map_to_dispositions(sip_status: int, disposition: Disposition) -> None:
    assert disposition_for_sip(sip_status) is disposition


def test_only_a_5xx_naming_a_trunk_limit_is_a_trunk_limit() -> None:
    assert is_trunk_limit(503, "Trunk CPS limit exceeded. Region: us1")
    assert is_trunk_limit(500, "concurrent call limit exceeded")
    assert not is_trunk_limit(503, "Service Unavailable")
    assert not is_trunk_limit(486, "CPS limit exceeded")


@pytest.mark.parametrize(
    ("sip_status", "code"),
    [
        (486, "resource_exhausted"),
        (600, "resource_exhausted"),
        (480, "resource_exhausted"),
        (603, "permission_denied"),
        (403, "permission_denied"),
        (503, "failed_precondition"),
        (599, "failed_precondition"),
        (404, "not_found"),
        (484, "invalid_argument"),
        (408, "deadline_exceeded"),
        (504, "deadline_exceeded"),
        (499, "invalid_argument"),
    ],
)
def test_twirp_codes_are_derived_from_sip_statuses_as_livekit_does(
    sip_status: int, code: str
) -> None:
    assert twirp_code_for_sip(sip_status) == code


class Runner:
    """One event loop for a whole Hypothesis run, with the fake and the adapter living on it."""

    def __init__(self, double: LiveKitDouble) -> None:
        self.double = double
        self.loop = asyncio.new_event_loop()
        self.fake = FakeTelephony(trunks=["ST_vox"])
        self.real = LiveKitTelephony(LiveKitSettings(double.url, double.api_key, double.api_secret))

    def outcome(self, telephony: FakeTelephony | LiveKitTelephony, call_id: str) -> object:
        try:
            result = self.loop.run_until_complete(telephony.place_call(dial(call_id)))
        except TelephonyError as error:
            return (type(error), getattr(error, "sip_status", None), error.code)
        assert isinstance(result, DialResult)
        return (result.answered_at is not None, result.disposition, result.sip_status)

    def close(self) -> None:
        self.loop.run_until_complete(self.real.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    with LiveKitDouble(trunks=["ST_vox"]) as double:
        running = Runner(double)
        yield running
        running.close()


REASONS = st.sampled_from(["", "Busy Here", "Trunk CPS limit exceeded", "Server Error"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sip_status=st.integers(300, 699), reason=REASONS, serial=st.integers(0, 10**9))
def test_the_fake_and_livekit_agree_on_every_sip_status(
    runner: Runner, sip_status: int, reason: str, serial: int
) -> None:
    callee = Callee.rejecting(sip_status, reason)
    runner.fake.script("+14155550123", callee)
    runner.double.script("+14155550123", callee)

    fake = runner.outcome(runner.fake, f"fake-{serial}")
    real = runner.outcome(runner.real, f"real-{serial}")

    assert fake == real
