"""The dialler's settings: every one an environment variable (`VOX_DIALLER_*`), read once at
start. `docs/dialler.md` lists them. URLs that may carry passwords are left out of `repr`, so
logging the settings is safe."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.shards import check_shards

PREFIX = "VOX_DIALLER_"
TELEPHONY = ("livekit", "sim")


def _positive(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValidationError(attribute.name, f"must be above 0, got {value!r}")


def _telephony(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in TELEPHONY:
        raise ValidationError(attribute.name, f"{value!r} is not one of {', '.join(TELEPHONY)}")


def parse_fleet_hosts(text: str) -> dict[str, str]:
    """`name=http://addr:port,name2=...`: the fleet host names the slot registry reports, each
    with the base URL its `/attach` answers on (the host's nginx), or `unix:/path.sock` for a
    worker reached on its own socket (one worker per name; the demo without nginx)."""
    hosts: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not name or not url.startswith(("http://", "https://", "unix:/")):
            raise ValidationError(
                "fleet_hosts", f"{item!r} must be name=http(s)://address or name=unix:/path"
            )
        hosts[name] = url.rstrip("/")
    return hosts


@attrs.frozen
class Settings:
    """What the dialler needs to know about its surroundings."""

    loop_interval_s: float = attrs.field(default=2.0, validator=_positive)
    """LOOP_INTERVAL_SECONDS: the tick; the pacer plans for exactly this long."""
    owner: str = attrs.field(factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    """Names this process in leader locks and contact leases; unique per process."""
    shard: str = attrs.field(default="0", validator=v.non_empty)
    """The campaign shard this dialler competes for (one shard by default)."""
    leader_ttl_s: float = attrs.field(default=6.0, validator=_positive)
    """How long the leader lock lasts unrenewed: a standby takes over within this."""
    lease_ttl_s: float = attrs.field(default=120.0, validator=_positive)
    """How long a contact lease lasts unrenewed. Every tick renews the leases of the calls in
    progress, so this only bounds how long a dead dialler's contacts stay held when no standby
    takes over (a standby adopts or closes them out at once), and how long a MongoDB outage
    may last before the calls in progress lose their leases."""
    attach_budget_s: float = attrs.field(default=2.0, validator=_positive)
    """From the answer to a worker holding the call; past it, the call is abandoned."""
    slot_staleness_s: float = attrs.field(default=10.0, validator=_positive)
    mongo_url: str = attrs.field(default="mongodb://127.0.0.1:27017/voxbridge", repr=False)
    redis_url: str = attrs.field(default="redis://127.0.0.1:6379/0", repr=False)
    redis_prefix: str = "vox"
    livekit_url: str = attrs.field(default="http://127.0.0.1:7880", repr=False)
    livekit_api_key: str = attrs.field(default="", repr=False)
    livekit_api_secret: str = attrs.field(default="", repr=False)
    fleet_hosts: Mapping[str, str] = attrs.field(factory=dict)
    """Fleet host name → base URL of its `/attach`: used while the fleet-host store (the API's
    `/v1/fleet-hosts`) holds no host; the store's enabled hosts otherwise."""
    channel_ttl_s: float = attrs.field(default=30.0, validator=_positive)
    """How long a call's trunk channel stays counted in Redis unrenewed (every tick renews it):
    how soon a dead dialler's channels are free again. Longer than a take-over (leader TTL and
    a tick), so the calls a new leader adopts are never left uncounted."""
    fleet_hosts_ttl_s: float = attrs.field(default=10.0, validator=_positive)
    """How often the fleet-host store is read again: a host added or disabled there is used or
    dropped within this long."""
    media_carrier: str = "twilio"
    """With `telephony` `sim`: the carrier whose media stream brings an attached call's audio to
    its worker (`/attach` `media.kind` `stream`). With `livekit` the worker joins the call's
    room instead (`media.kind` `livekit`), and this is not used."""
    internal_token: str | None = attrs.field(default=None, repr=False)
    """The internal token (`VOX_API_INTERNAL_TOKEN`), sent with every `/attach`: fleet workers
    that have it refuse an attach without it."""
    store_timeout_s: float = attrs.field(default=2.0, validator=_positive)
    """How long a MongoDB call waits for a server before the store counts as down (pymongo's
    server selection and connect timeouts): a down store costs a tick this much, not 30 s."""
    outcome_grace_s: float = attrs.field(default=120.0, validator=_positive)
    """How long after its worker let go of an attached call the dialler waits for the call's
    reported outcome before closing the contact as failed."""
    telephony: str = attrs.field(default="livekit", validator=_telephony)
    """TELEPHONY: `livekit`, or `sim` for the simulated carrier (`make demo`), which reads its
    own `VOX_SIM_*` settings."""
    shards: int = 1
    """How many shards the campaigns are split into (`shard_of`); with more than one, `shard`
    is this dialler's shard index, 0 to shards - 1."""

    def __attrs_post_init__(self) -> None:
        check_shards(self.shards)
        if self.shards > 1:
            index = int(self.shard) if self.shard.isdigit() else -1
            check_shards(self.shards, index)

    @property
    def outcome_grace(self) -> timedelta:
        return timedelta(seconds=self.outcome_grace_s)

    @property
    def channel_ttl(self) -> timedelta:
        return timedelta(seconds=self.channel_ttl_s)

    @property
    def fleet_hosts_ttl(self) -> timedelta:
        return timedelta(seconds=self.fleet_hosts_ttl_s)

    @property
    def leader_ttl(self) -> timedelta:
        return timedelta(seconds=self.leader_ttl_s)

    @property
    def slot_staleness(self) -> timedelta:
        return timedelta(seconds=self.slot_staleness_s)

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_ttl_s)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(PREFIX + name)

        values: dict[str, Any] = {}
        floats = {
            "LOOP_INTERVAL_SECONDS": "loop_interval_s",
            "LEADER_TTL_SECONDS": "leader_ttl_s",
            "LEASE_TTL_SECONDS": "lease_ttl_s",
            "ATTACH_BUDGET_SECONDS": "attach_budget_s",
            "SLOT_STALENESS_SECONDS": "slot_staleness_s",
            "STORE_TIMEOUT_SECONDS": "store_timeout_s",
            "OUTCOME_GRACE_SECONDS": "outcome_grace_s",
            "FLEET_HOSTS_TTL_SECONDS": "fleet_hosts_ttl_s",
            "CHANNEL_TTL_SECONDS": "channel_ttl_s",
        }
        for name, field in floats.items():
            raw = get(name)
            if raw is not None:
                try:
                    values[field] = float(raw)
                except ValueError:
                    raise ValidationError(field, f"{raw!r} is not a number") from None
        texts = {
            "OWNER": "owner",
            "SHARD": "shard",
            "MONGO_URL": "mongo_url",
            "REDIS_URL": "redis_url",
            "REDIS_PREFIX": "redis_prefix",
            "LIVEKIT_URL": "livekit_url",
            "LIVEKIT_API_KEY": "livekit_api_key",
            "LIVEKIT_API_SECRET": "livekit_api_secret",
            "MEDIA_CARRIER": "media_carrier",
            "TELEPHONY": "telephony",
            "INTERNAL_TOKEN": "internal_token",
        }
        for name, field in texts.items():
            raw = get(name)
            if raw is not None:
                values[field] = raw
        shards = get("SHARDS")
        if shards is not None:
            try:
                values["shards"] = int(shards)
            except ValueError:
                raise ValidationError("shards", f"{shards!r} is not a whole number") from None
        hosts = get("FLEET_HOSTS")
        if hosts is not None:
            values["fleet_hosts"] = parse_fleet_hosts(hosts)
        return cls(**values)
