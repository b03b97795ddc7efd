"""The worker's LiveKit and realtime settings: set together or not at all, secrets out of `repr`."""

from __future__ import annotations

import pytest

from apps.fleet.settings import Settings
from voxcore_domain.errors import ValidationError

BASE = {"VOX_FLEET_BACKEND": "memory"}
SECRET = "a-livekit-secret-that-must-never-be-logged"


def test_the_livekit_server_comes_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "VOX_FLEET_LIVEKIT_URL": "wss://lk.example.com",
            "VOX_FLEET_LIVEKIT_API_KEY": "APIkey",
            "VOX_FLEET_LIVEKIT_API_SECRET": SECRET,
            "VOX_FLEET_LIVEKIT_RING_TIMEOUT_S": "20",
            "VOX_FLEET_LIVEKIT_JOIN_WAIT_S": "15",
            "VOX_FLEET_REALTIME_API_KEY": "sk-realtime-secret",
        }
    )
    livekit = settings.livekit
    assert livekit is not None
    assert (livekit.url, livekit.api_key, livekit.api_secret) == (
        "wss://lk.example.com",
        "APIkey",
        SECRET,
    )
    assert (settings.livekit_ring_timeout_s, settings.livekit_join_wait_s) == (20.0, 15.0)
    assert SECRET not in repr(settings)
    assert "sk-realtime-secret" not in repr(settings)
    assert Settings.from_env(BASE).livekit is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VOX_FLEET_LIVEKIT_URL": "lk.example.com"}, "VOX_FLEET_LIVEKIT_URL"),
        (
            {"VOX_FLEET_LIVEKIT_URL": "wss://lk", "VOX_FLEET_LIVEKIT_API_KEY": "APIkey"},
            "VOX_FLEET_LIVEKIT_API_SECRET",
        ),
        (
            {"VOX_FLEET_LIVEKIT_API_KEY": "APIkey", "VOX_FLEET_LIVEKIT_API_SECRET": SECRET},
            "VOX_FLEET_LIVEKIT_URL",
        ),
        ({"VOX_FLEET_LIVEKIT_JOIN_WAIT_S": "0"}, "VOX_FLEET_LIVEKIT_JOIN_WAIT_S"),
        ({"VOX_FLEET_LIVEKIT_RING_TIMEOUT_S": "soon"}, "VOX_FLEET_LIVEKIT_RING_TIMEOUT_S"),
    ],
)
def test_a_bad_livekit_setting_names_its_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({**BASE, **env})
    assert refused.value.field == variable
    assert SECRET not in refused.value.message
