"""The demo's tenant, agent, trunk, campaigns and contacts, made through the public API as an
operator and a tenant would make them."""

from __future__ import annotations

import random

import attrs
import httpx

from voxcore_adapters.testing import provisioning as provision
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
        made = provision.tenant(
            http,
            admin_key,
            "Demo Co",
            key_name="demo",
            agent={
                "name": "Reminder bot",
                "greeting": "Hello, this is an automated assistant calling for Demo Co.",
                "provider": "scripted",
            },
        )
        auth = made.headers
        trunk_id = provision.trunk(
            http,
            auth,
            {
                "name": "Simulated carrier",
                "livekit_trunk_id": "ST_demo_sim",
                "caller_ids": [CALLER_ID],
                "cps": 10,
                "channels": config.workers * 4,
            },
        )
        campaigns: dict[str, str] = {}
        imported: dict[str, int] = {}
        per_campaign = max(1, config.contacts // len(config.campaigns))
        for index, spec in enumerate(config.campaigns, start=1):
            campaign_id = provision.campaign(
                http,
                auth,
                {
                    "name": spec.name,
                    "agent_id": made.agent_id,
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
            )
            campaigns[spec.name] = campaign_id
            imported[campaign_id] = provision.import_contacts(
                http,
                auth,
                campaign_id,
                contacts(config, index, per_campaign),
                f"contacts of {spec.name}",
            )
        for name, campaign_id in campaigns.items():
            provision.command(http, auth, campaign_id, "start", f"start {name}")
        return Seeded(made.id, made.agent_id, trunk_id, campaigns, imported, made.token)
