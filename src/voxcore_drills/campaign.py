"""A drill's campaign, made through the public API as a tenant makes one: a trunk, a campaign
on it, a handful of contacts, started. Its calling window is open now wherever the drill runs:
the campaign's time zone is the fixed-offset zone where it is early afternoon."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import httpx

from voxcore_adapters.testing import provisioning as provision
from voxcore_adapters.testing.provisioning import Tenant

CALLER_ID = "+14155550100"


def afternoon_zone(now: datetime) -> str:
    """An `Etc/GMT±N` zone where the local hour is about 14 at `now` (UTC)."""
    offset = (14 - now.astimezone(UTC).hour + 12) % 24 - 12
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@attrs.frozen
class Campaign:
    """One started campaign and what it dials through."""

    id: str
    trunk_id: str
    provider_trunk: str
    contacts: int


def tenant(api_url: str, admin_key: str, name: str) -> Tenant:
    """The drills' tenant, with its API key and agent."""
    with httpx.Client(base_url=api_url, timeout=30.0) as http:
        return provision.tenant(
            http,
            admin_key,
            name,
            key_name="drills",
            agent={"name": "Drill bot", "greeting": "Hello, a short call.", "provider": "scripted"},
        )


def campaign(
    api_url: str,
    owner: Tenant,
    name: str,
    contacts: int,
    *,
    provider_trunk: str,
    number_prefix: str,
    cps: float = 5.0,
) -> Campaign:
    """A campaign of `contacts` people (`+<number_prefix><n>`), on a trunk of its own that the
    carrier knows as `provider_trunk`, started."""
    with httpx.Client(base_url=api_url, timeout=60.0) as http:
        trunk_id = provision.trunk(
            http,
            owner.headers,
            {
                "name": f"{name} trunk",
                "livekit_trunk_id": provider_trunk,
                "caller_ids": [CALLER_ID],
                "cps": cps,
            },
        )
        campaign_id = provision.campaign(
            http,
            owner.headers,
            {
                "name": name,
                "agent_id": owner.agent_id,
                "trunk_id": trunk_id,
                "caller_id": CALLER_ID,
                "timezone": afternoon_zone(datetime.now(UTC)),
                "window": {"start": "08:00", "end": "21:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
                "pacing": {"mode": "progressive", "ring_timeout_s": 15},
            },
        )
        rows = [{"phone": f"+{number_prefix}{n:04d}"} for n in range(contacts)]
        provision.import_contacts(http, owner.headers, campaign_id, rows, f"contacts of {name}")
        provision.command(http, owner.headers, campaign_id, "start", f"start {name}")
    return Campaign(campaign_id, trunk_id, provider_trunk, contacts)


def pause(api_url: str, owner: Tenant, campaign_id: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30.0) as http:
        provision.command(http, owner.headers, campaign_id, "pause", "pause")


def abandoned_in_stats(api_url: str, owner: Tenant, campaign_id: str) -> int:
    with httpx.Client(base_url=api_url, timeout=30.0) as http:
        stats = provision.answer(
            http.get(f"/v1/campaigns/{campaign_id}/stats", headers=owner.headers), "stats", 200
        )
    window = stats["last_hour"]
    if not isinstance(window, dict):
        raise provision.ProvisionError(f"stats: unexpected last_hour {window!r}")
    return int(window["abandoned"])
