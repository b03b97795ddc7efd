"""A drill's campaign, made through the public API as a tenant makes one: a trunk, a campaign
on it, a handful of contacts, started. Its calling window is open now wherever the drill runs:
the campaign's time zone is the fixed-offset zone where it is early afternoon."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import httpx

CALLER_ID = "+14155550100"


class SeedError(RuntimeError):
    pass


def _ok(response: httpx.Response, doing: str) -> dict[str, object]:
    if response.status_code not in (200, 201):
        raise SeedError(f"{doing}: {response.status_code} {response.text[:300]}")
    body = response.json()
    if not isinstance(body, dict):
        raise SeedError(f"{doing}: unexpected answer {body!r}")
    return body


def afternoon_zone(now: datetime) -> str:
    """An `Etc/GMT±N` zone where the local hour is about 14 at `now` (UTC)."""
    offset = (14 - now.astimezone(UTC).hour + 12) % 24 - 12
    # POSIX-style names: Etc/GMT-3 is three hours *ahead* of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@attrs.frozen
class Tenant:
    """The drills' tenant: its id, its API key and its agent."""

    id: str
    agent_id: str
    key: str = attrs.field(repr=False)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@attrs.frozen
class Campaign:
    """One started campaign and what it dials through."""

    id: str
    trunk_id: str
    provider_trunk: str
    contacts: int


def tenant(api_url: str, admin_key: str, name: str) -> Tenant:
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=api_url, timeout=30.0) as http:
        made = _ok(http.post("/v1/tenants", json={"name": name}, headers=admin), "tenant")
        tenant_id = str(made["id"])
        key = _ok(
            http.post(f"/v1/tenants/{tenant_id}/api-keys", json={"name": "drills"}, headers=admin),
            "API key",
        )
        auth = {"Authorization": f"Bearer {key['token']}"}
        agent = _ok(
            http.post(
                "/v1/agents",
                json={
                    "name": "Drill bot",
                    "greeting": "Hello, a short call.",
                    "provider": "scripted",
                },
                headers=auth,
            ),
            "agent",
        )
    return Tenant(tenant_id, str(agent["id"]), str(key["token"]))


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
    with httpx.Client(base_url=api_url, timeout=60.0, headers=owner.auth) as http:
        trunk = _ok(
            http.post(
                "/v1/trunks",
                json={
                    "name": f"{name} trunk",
                    "livekit_trunk_id": provider_trunk,
                    "caller_ids": [CALLER_ID],
                    "cps": cps,
                },
            ),
            "trunk",
        )
        made = _ok(
            http.post(
                "/v1/campaigns",
                json={
                    "name": name,
                    "agent_id": owner.agent_id,
                    "trunk_id": trunk["id"],
                    "caller_id": CALLER_ID,
                    "timezone": afternoon_zone(datetime.now(UTC)),
                    "window": {"start": "08:00", "end": "21:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
                    "pacing": {"mode": "progressive", "ring_timeout_s": 15},
                },
            ),
            f"campaign {name}",
        )
        campaign_id = str(made["id"])
        rows = [{"phone": f"+{number_prefix}{n:04d}"} for n in range(contacts)]
        report = _ok(
            http.post(f"/v1/campaigns/{campaign_id}/contacts/import", json=rows),
            f"contacts of {name}",
        )
        if report.get("rejected"):
            raise SeedError(f"contacts of {name} refused: {report.get('errors')}")
        _ok(http.post(f"/v1/campaigns/{campaign_id}/start"), f"start {name}")
    return Campaign(campaign_id, str(trunk["id"]), provider_trunk, contacts)


def pause(api_url: str, owner: Tenant, campaign_id: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30.0, headers=owner.auth) as http:
        _ok(http.post(f"/v1/campaigns/{campaign_id}/pause"), "pause")


def abandoned_in_stats(api_url: str, owner: Tenant, campaign_id: str) -> int:
    with httpx.Client(base_url=api_url, timeout=30.0, headers=owner.auth) as http:
        stats = _ok(http.get(f"/v1/campaigns/{campaign_id}/stats"), "stats")
    window = stats["last_hour"]
    if not isinstance(window, dict):
        raise SeedError(f"stats: unexpected last_hour {window!r}")
    return int(window["abandoned"])
