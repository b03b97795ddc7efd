"""Settings from the environment, and the health server beside the loop."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import datetime

import jwt
import pytest
from litestar.testing import AsyncTestClient

from apps.dialler.loop import TickReport
from apps.dialler.main import Wired, attach_media, create_app
from apps.dialler.settings import Settings, parse_fleet_hosts
from tests.dialler.conftest import World
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Campaign
from voxcore_domain.ports import AttachRequest


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "VOX_DIALLER_LOOP_INTERVAL_SECONDS": "1.5",
            "VOX_DIALLER_OWNER": "dialler-a",
            "VOX_DIALLER_SHARD": "s1",
            "VOX_DIALLER_LEASE_TTL_SECONDS": "600",
            "VOX_DIALLER_FLEET_HOSTS": "h1=http://10.0.0.1:8081, h2=https://h2.example/",
            "VOX_DIALLER_REDIS_URL": "redis://:secret@r:6379/0",
            "VOX_DIALLER_SLOT_STALENESS_SECONDS": "15",
        }
    )
    assert settings.loop_interval_s == 1.5
    assert settings.owner == "dialler-a"
    assert settings.shard == "s1"
    assert settings.lease_ttl.total_seconds() == 600
    assert settings.fleet_hosts == {"h1": "http://10.0.0.1:8081", "h2": "https://h2.example"}
    assert settings.slot_staleness.total_seconds() == 15
    assert "secret" not in repr(settings)


def test_defaults_tick_every_two_seconds() -> None:
    assert Settings.from_env({}).loop_interval_s == 2.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VOX_DIALLER_LOOP_INTERVAL_SECONDS", "0"),
        ("VOX_DIALLER_LOOP_INTERVAL_SECONDS", "soon"),
        ("VOX_DIALLER_LEASE_TTL_SECONDS", "-1"),
        ("VOX_DIALLER_FLEET_HOSTS", "h1"),
    ],
)
def test_bad_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({name: value})


def test_the_telephony_adapter_is_livekit_unless_the_simulated_carrier_is_asked_for() -> None:
    assert Settings.from_env({}).telephony == "livekit"
    assert Settings.from_env({"VOX_DIALLER_TELEPHONY": "sim"}).telephony == "sim"
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"VOX_DIALLER_TELEPHONY": "twilio"})
    assert refused.value.field == "telephony"


def test_a_fleet_host_may_be_a_workers_unix_socket() -> None:
    hosts = parse_fleet_hosts("w1=unix:/run/vox/w1.sock,w2=unix:/run/vox/w2.sock")
    assert hosts == {"w1": "unix:/run/vox/w1.sock", "w2": "unix:/run/vox/w2.sock"}


def test_fleet_hosts_need_a_url() -> None:
    with pytest.raises(ValidationError):
        parse_fleet_hosts("h1=ftp://x")


async def test_health_and_metrics_while_the_loop_runs(world: World) -> None:
    world.add_contacts(3)
    await world.add_workers(2)
    dialler = world.dialler("d1")
    app = create_app(Settings(owner="d1", loop_interval_s=0.01), Wired(dialler))

    async with AsyncTestClient(app) as client:
        for _ in range(200):
            if dialler.last_tick_at is not None:
                break
            await asyncio.sleep(0.01)
        health = (await client.get("/health")).json()
        metrics = (await client.get("/metrics")).text

    assert health["role"] == "leader"
    assert health["owner"] == "d1"
    assert health["last_tick_at"] is not None
    assert health["tick_duration_s"] >= 0
    assert "in_flight_calls" in health
    assert "vox_dialler_ticks_total" in metrics
    assert dialler.failures == []
    # Stopping the app let every dial finish and gave the lock back.
    assert not dialler.leader


async def test_what_start_up_wired_is_frozen_out_of_the_collector_while_the_app_runs(
    world: World,
) -> None:
    dialler = world.dialler("d1")
    app = create_app(Settings(owner="d1", loop_interval_s=0.01), Wired(dialler))

    def collected() -> bool:
        """The dialler is in a generation the collector walks."""
        return any(obj is dialler for gen in range(3) for obj in gc.get_objects(gen))

    assert gc.get_freeze_count() == 0
    assert collected()

    async with AsyncTestClient(app):
        # The dialler, built before start-up, is among the objects frozen.
        assert gc.get_freeze_count() > 0
        assert not collected()

    assert gc.get_freeze_count() == 0
    assert collected()


def test_livekit_calls_reach_workers_as_rooms_and_simulated_ones_as_streams() -> None:
    secret = "a-secret-long-enough-for-hs256-signing"
    env = {
        "VOX_DIALLER_LIVEKIT_URL": "https://lk.example.com",
        "VOX_DIALLER_LIVEKIT_API_KEY": "APIkey",
        "VOX_DIALLER_LIVEKIT_API_SECRET": secret,
        "VOX_DIALLER_MEDIA_CARRIER": "telnyx",
    }
    request = AttachRequest("c1", "t1", "camp1", "a1", "lease-1", "call-c1")
    room = attach_media(Settings.from_env(env)).describe(request)
    assert (room["kind"], room["room"], room["caller_identity"]) == ("livekit", "call-c1", "sip-c1")
    claims = jwt.decode(str(room["token"]), secret, algorithms=["HS256"], issuer="APIkey")
    assert claims["video"]["room"] == "call-c1"
    simulated = attach_media(Settings.from_env({**env, "VOX_DIALLER_TELEPHONY": "sim"}))
    assert simulated.describe(request) == {"kind": "stream", "carrier": "telnyx"}
    # LiveKit telephony without its key cannot sign a join token: refused at start.
    with pytest.raises(ValidationError) as refused:
        attach_media(Settings.from_env({"VOX_DIALLER_LIVEKIT_URL": "https://lk.example.com"}))
    assert refused.value.field == "api_key"


class SlowCampaigns:
    """The campaigns store whose `slow`th read takes `seconds` (blocking, as pymongo inline
    would); the others answer at once."""

    def __init__(self, world: World, slow: int, seconds: float) -> None:
        self.world = world
        self.slow = slow
        self.seconds = seconds
        self.reads = 0

    def running(self) -> list[Campaign]:
        self.reads += 1
        if self.reads == self.slow:
            time.sleep(self.seconds)
        return self.world.campaigns.running()

    def get(self, campaign_id: str) -> Campaign | None:
        return self.world.campaigns.get(campaign_id)


async def test_a_tick_longer_than_the_interval_is_counted_and_not_made_up(world: World) -> None:
    """The third tick takes 200 ms, twenty intervals of 10 ms: the ticks never overlap, the
    ones after it come an interval apart again (the twenty missed are not made up in a burst),
    and the slow tick is counted in the metric and in /health."""
    world.add_contacts(3)
    await world.add_workers(2)
    dialler = world.dialler("d1", campaigns=SlowCampaigns(world, 3, 0.2), tick_s=0.01)
    spans: list[tuple[float, float]] = []
    ticking = 0
    overlapped = 0
    real_tick = dialler.tick

    async def tick(now: datetime) -> TickReport:
        nonlocal ticking, overlapped
        ticking += 1
        overlapped = max(overlapped, ticking)
        started = time.monotonic()
        try:
            return await real_tick(now)
        finally:
            ticking -= 1
            spans.append((started, time.monotonic()))

    dialler.tick = tick  # type: ignore[method-assign]
    app = create_app(Settings(owner="d1", loop_interval_s=0.01), Wired(dialler))
    async with AsyncTestClient(app) as client:
        while len(spans) < 10:
            await asyncio.sleep(0.01)
        health = (await client.get("/health")).json()
        metrics = (await client.get("/metrics")).text

    assert overlapped == 1
    slow = max(range(len(spans)), key=lambda i: spans[i][1] - spans[i][0])
    assert spans[slow][1] - spans[slow][0] >= 0.2
    ended = spans[slow][1]
    after = [begun for begun, _ in spans[slow + 1 : 10]]
    assert len(after) >= 3
    # The first starts at once; the j-th an interval later each, on the loop's new grid (a
    # busy loop may wake a tick late, never early; 2 ms for the clock's grain). Making the
    # missed ticks up would start them back to back.
    assert all(begun >= ended + j * 0.01 - 0.002 for j, begun in enumerate(after)), [
        round(begun - ended, 4) for begun in after
    ]
    assert health["tick_overruns"] >= 1
    assert f"vox_dialler_tick_overruns_total {float(dialler.tick_overruns)}" in metrics
    assert dialler.failures == []
