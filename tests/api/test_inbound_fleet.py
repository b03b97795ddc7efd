"""An inbound call end to end: LiveKit's signed webhook reaches the API, which attaches the call
to a real fleet worker (the fleet app under Granian on a Unix socket, as in production) past a
host that is unreachable and one that is full, and remembers the event in Redis so that the
same webhook delivered again has no second effect.

What cannot run here: a LiveKit server with a SIP trunk bringing in a real phone call; the
webhook is signed with livekit-api's own token code as LiveKit signs it, and the fleet takes the
call's audio from a carrier media stream (it has no LiveKit room media yet, see docs/fleet.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from litestar.testing import TestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from apps.api.deps import memory_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, bearer, make_tenant
from tests.api.webhooks import CALLED, CALLER, LIVEKIT_KEY, LIVEKIT_SECRET, caller_joined, signed
from tests.fleet.test_granian import Worker
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_adapters.redis.dedupe import RedisEventDedupe, event_key
from voxcore_domain.model import Disposition

WEBHOOK = "/v1/livekit/webhook"


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str, float], Worker]]:
    """Workers on the memory backend; a call whose media never comes holds the slot for
    `media_wait_s` (long enough for the test, short enough for the drain at stop)."""
    workers: list[Worker] = []

    def start(name: str, media_wait_s: float) -> Worker:
        socket = tmp_path / f"{name}.sock"
        env = {
            "VOX_FLEET_WORKER": "1",
            "VOX_FLEET_HOST": name,
            "VOX_FLEET_SOCKET": str(socket),
            "VOX_FLEET_BACKEND": "memory",
            "VOX_FLEET_SPOOL_DIR": str(tmp_path / f"{name}-spool"),
            "VOX_FLEET_MEDIA_WAIT_S": str(media_wait_s),
        }
        worker = Worker(socket, env, tmp_path / f"{name}.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def slot(worker: Worker) -> dict[str, Any]:
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(worker.socket))) as client:
        report: dict[str, Any] = client.get("http://fleet/health").json()["slot"]
        return report


def test_an_inbound_call_is_attached_once_past_dead_and_full_hosts(
    start_worker: Callable[[str, float], Worker],
    settings: Settings,
    redis_server_url: str,
    tmp_path: Path,
) -> None:
    full = start_worker("full", 10.0)
    live = start_worker("live", 10.0)
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(full.socket))) as fleet:
        taken = fleet.post(
            "http://fleet/attach",
            json={
                "call_id": "outbound-1",
                "tenant_id": "t",
                "campaign_id": "c",
                "agent_id": "a",
                "lease_token": "l",
                "media": {"kind": "stream", "carrier": "twilio"},
            },
        )
        assert taken.status_code == 202, taken.text

    prefix = f"vox-inbound-{tmp_path.name[-8:]}"
    redis: Redis = Redis.from_url(redis_server_url, decode_responses=True)
    deps = attrs.evolve(
        memory_deps(ManualClock()),
        event_dedupe=RedisEventDedupe(redis, prefix),
        closers=(redis.aclose,),
    )
    configured = attrs.evolve(
        settings, livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET
    )
    check = SyncRedis.from_url(redis_server_url)
    with TestClient(create_app(configured, deps)) as client, check:
        acme = make_tenant(client, "Acme")
        entry = client.post(
            "/v1/inbound-numbers",
            json={"number": CALLED, "agent_id": acme.agent_id},
            headers=bearer(acme.token),
        ).json()
        # Tried in id order: a disabled host (that would take the call) is skipped, then one
        # whose socket is gone, then the full one (429), then the live one.
        for host_id, url, enabled in [
            ("h0-off", f"unix:{live.socket}", False),
            ("h1-gone", f"unix:{tmp_path / 'gone.sock'}", True),
            ("h2-full", f"unix:{full.socket}", True),
            ("h3-live", f"unix:{live.socket}", True),
        ]:
            added = client.post(
                "/v1/fleet-hosts",
                json={"id": host_id, "url": url, "enabled": enabled},
                headers=ADMIN,
            )
            assert added.status_code == 201, added.text

        body, headers = signed(caller_joined())
        first = client.post(WEBHOOK, content=body, headers=headers)
        assert first.status_code == 200, first.text
        assert first.json() == {"outcome": "attached", "call_id": "in-SCL_in1", "host": "h3-live"}
        assert slot(live)["state"] == "busy"
        assert slot(live)["call_id"] == "in-SCL_in1"
        assert slot(full)["call_id"] == "outbound-1"

        attempt = deps.call_log.get("in-SCL_in1")
        assert attempt is not None
        assert attempt.attached_at is not None
        assert attempt.disposition is None
        assert (attempt.tenant_id, attempt.campaign_id, attempt.contact_id, attempt.worker) == (
            acme.id,
            f"inbound:{entry['id']}",
            f"inbound:{CALLER}",
            "h3-live",
        )

        # LiveKit delivers the same event again: no second attach, no second record.
        again = client.post(WEBHOOK, content=body, headers=headers)
        assert again.json() == {"outcome": "duplicate"}
        assert slot(live)["call_id"] == "in-SCL_in1"

        # The claim is in Redis, with the configured TTL, for every API process to see.
        ttl_ms = check.pttl(event_key(prefix, "EV_in_1"))
        assert 0 < ttl_ms <= configured.webhook_dedupe_ttl_s * 1000

        # A second caller finds every enabled host full: 503, and the event is not kept, so
        # LiveKit's redelivery can place it once a worker is free.
        second_body, second_headers = signed(caller_joined("EV_in_2", sip_call_id="SCL_in2"))
        refused = client.post(WEBHOOK, content=second_body, headers=second_headers)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
        assert check.exists(event_key(prefix, "EV_in_2")) == 0
        unplaced = deps.call_log.get("in-SCL_in2")
        assert unplaced is not None
        assert (unplaced.disposition, unplaced.attached_at, unplaced.worker) == (
            Disposition.FAILED,
            None,
            None,
        )


def test_a_call_the_fleet_refuses_for_itself_is_not_retried(
    start_worker: Callable[[str, float], Worker], settings: Settings
) -> None:
    live = start_worker("live", 1.0)
    deps = memory_deps(ManualClock())
    # A carrier the fleet does not know: every host would answer 422 naming `media.carrier`.
    configured = attrs.evolve(
        settings,
        livekit_api_key=LIVEKIT_KEY,
        livekit_api_secret=LIVEKIT_SECRET,
        fleet_media_carrier="no-such-carrier",
    )
    with TestClient(create_app(configured, deps)) as client:
        acme = make_tenant(client, "Acme")
        client.post(
            "/v1/inbound-numbers",
            json={"number": CALLED, "agent_id": acme.agent_id},
            headers=bearer(acme.token),
        )
        client.post(
            "/v1/fleet-hosts", json={"id": "h1", "url": f"unix:{live.socket}"}, headers=ADMIN
        )
        body, headers = signed(caller_joined())
        refused = client.post(WEBHOOK, content=body, headers=headers)
        assert refused.status_code == 200, refused.text
        assert refused.json() == {"outcome": "refused", "call_id": "in-SCL_in1"}
        assert slot(live)["state"] == "idle"
        attempt = deps.call_log.get("in-SCL_in1")
        assert attempt is not None
        assert attempt.disposition is Disposition.FAILED
        # Kept: a redelivery would be refused the same way.
        assert client.post(WEBHOOK, content=body, headers=headers).json() == {
            "outcome": "duplicate"
        }
