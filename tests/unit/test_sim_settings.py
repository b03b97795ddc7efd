"""The simulated carrier's `VOX_SIM_*` settings."""

from __future__ import annotations

from datetime import datetime

import pytest

from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.sim import MediaTarget, SimTelephony
from voxcore_adapters.sim.settings import SimSettings
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Slot, SlotState, utc


class FixedClock:
    def now(self) -> datetime:
        return utc(2026, 1, 1)


def test_settings_from_the_environment() -> None:
    settings = SimSettings.from_env(
        {
            "VOX_SIM_ANSWER_RATE": "0.4",
            "VOX_SIM_MACHINE_RATE": "0.1",
            "VOX_SIM_TALK_S": "30",
            "VOX_SIM_SEED": "9",
            "VOX_SIM_MEDIA_TARGET": "unix:/tmp/demo/fleet-{worker}.sock",
            "VOX_SIM_MEDIA_WAIT_S": "4",
        }
    )
    assert settings.callees.answer_rate == 0.4
    assert settings.callees.machine_rate == 0.1
    assert settings.callees.mean_talk_s == 30.0
    assert settings.seed == 9
    assert settings.media_wait_s == 4.0
    assert settings.media_target == MediaTarget("unix:/tmp/demo/fleet-{worker}.sock")
    assert isinstance(settings.telephony(InMemorySlotRegistry(FixedClock())), SimTelephony)


def test_defaults_carry_no_media() -> None:
    assert SimSettings.from_env({}).media_target is None


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("VOX_SIM_ANSWER_RATE", "most", "answer_rate"),
        ("VOX_SIM_ANSWER_RATE", "1.5", "answer_rate"),
        ("VOX_SIM_SEED", "x", "seed"),
        ("VOX_SIM_MEDIA_TARGET", "ws://somewhere", "media_target"),
        ("VOX_SIM_MEDIA_TARGET", "unix:/tmp/{slot}.sock", "media_target"),
    ],
)
def test_bad_settings_name_the_field(name: str, value: str, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SimSettings.from_env({name: value})
    assert refused.value.field == field


def test_the_media_target_is_filled_from_the_slot() -> None:
    slot = Slot("demo", "w3", SlotState.BUSY, utc(2026, 1, 1), "call-1")
    over_tcp = MediaTarget("http://127.0.0.1:8080/w/{host}/{worker}/").address(slot)
    assert over_tcp == (None, "http://127.0.0.1:8080/w/demo/w3")
    on_socket = MediaTarget("unix:/run/vox/fleet-{worker}.sock").address(slot)
    assert on_socket == ("/run/vox/fleet-w3.sock", "http://fleet")
