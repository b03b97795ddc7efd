"""The demo's tenant, agent, trunk, campaigns and contacts, made through the public API as an
operator and a tenant would make them."""

from __future__ import annotations

import random

import attrs
import httpx

from voxcore_demo.config import TIMEZONES, DemoConfig

CALLER_ID = "+14155550100"
FIRST_NAMES = ("Ann", "Ben", "Chloe", "Dev", "Emi", "Femi", "Gus", "Hana", "Ivo", "Jia")


@attrs.frozen
class Seeded:
    """What the seeding made."""

    tenant_id: str
    agent_id: str
    trunk_id: str
    campaigns: dict[str, str]
    """Campaign name → id."""
    contacts: dict[str, int]
    """Campaign id → contacts imported."""
    api_key: str = attrs.field(repr=False)
    """The demo tenant's API key: a secret made for this run, never written to a log."""


class SeedError(RuntimeError):
    pass


def _ok(response: httpx.Response, doing: str) -> dict[str, object]:
    if response.status_code not in (200, 201):
        raise SeedError(f"{doing}: {response.status_code} {response.text[:500]}")
    body = response.json()
    if not isinstance(body, dict):
        raise SeedError(f"{doing}: unexpected answer {body!r}")
    return body


def contacts(config: DemoConfig, campaign_index: int, count: int) -> list[dict[str, object]]:
    """`count` synthetic contacts, spread over the time zones; numbers unique per campaign."""
    rng = random.Random(f"{config.seed}:{campaign_index}")
    rows: list[dict[str, object]] = []
    for n in range(count):
        zone, prefix = TIMEZONES[n % len(TIMEZONES)]
        rows.append(
            {
                "phone": f"{prefix}{campaign_index}{n:06d}",
                "timezone": zone,
                "variables": {"name": rng.choice(FIRST_NAMES), "amount": f"{rng.randint(5, 90)}"},
            }
        )
    return rows


def seed(api_url: str, admin_key: str, config: DemoConfig) -> Seeded:
    with httpx.Client(base_url=api_url, timeout=60.0) as http:
        admin = {"Authorization": f"Bearer {admin_key}"}
        tenant = _ok(http.post("/v1/tenants", json={"name": "Demo Co"}, headers=admin), "tenant")
        tenant_id = str(tenant["id"])
        key = _ok(
            http.post(f"/v1/tenants/{tenant_id}/api-keys", json={"name": "demo"}, headers=admin),
            "API key",
        )
        auth = {"Authorization": f"Bearer {key['token']}"}
        agent = _ok(
            http.post(
                "/v1/agents",
                json={
                    "name": "Reminder bot",
                    "greeting": "Hello, this is an automated assistant calling for Demo Co.",
                    "provider": "scripted",
                },
                headers=auth,
            ),
            "agent",
        )
        trunk = _ok(
            http.post(
                "/v1/trunks",
                json={
                    "name": "Simulated carrier",
                    "livekit_trunk_id": "ST_demo_sim",
                    "caller_ids": [CALLER_ID],
                    "cps": 10,
                    "channels": config.workers * 4,
                },
                headers=auth,
            ),
            "trunk",
        )
        trunk_id = str(trunk["id"])
        campaigns: dict[str, str] = {}
        imported: dict[str, int] = {}
        per_campaign = max(1, config.contacts // len(config.campaigns))
        for index, spec in enumerate(config.campaigns, start=1):
            campaign = _ok(
                http.post(
                    "/v1/campaigns",
                    json={
                        "name": spec.name,
                        "agent_id": agent["id"],
                        "trunk_id": trunk_id,
                        "caller_id": CALLER_ID,
                        "window": {"start": "08:00", "end": "21:00"},
                        "pacing": {
                            "mode": config.mode,
                            "abandon_target": config.abandon_target,
                            "ring_timeout_s": config.ring_timeout_s,
                        },
                        "weight": spec.weight,
                    },
                    headers=auth,
                ),
                f"campaign {spec.name}",
            )
            campaign_id = str(campaign["id"])
            campaigns[spec.name] = campaign_id
            report = _ok(
                http.post(
                    f"/v1/campaigns/{campaign_id}/contacts/import",
                    json=contacts(config, index, per_campaign),
                    headers=auth,
                ),
                f"contacts of {spec.name}",
            )
            if report.get("rejected"):
                raise SeedError(f"contacts of {spec.name} refused: {report.get('errors')}")
            imported[campaign_id] = int(str(report["inserted"]))
        for name, campaign_id in campaigns.items():
            _ok(http.post(f"/v1/campaigns/{campaign_id}/start", headers=auth), f"start {name}")
        return Seeded(tenant_id, str(agent["id"]), trunk_id, campaigns, imported, str(key["token"]))
