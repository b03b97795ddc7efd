"""The Backend API's settings: every one an environment variable, read once at start.

`docs/configuration.md` ("API") lists each variable with its default. Secrets (the admin key, the
internal token, URLs that may carry passwords) are left out of `repr`, so logging the settings is
safe.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import attrs

from voxcore_adapters import environment
from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.ratelimit import TokenBucket

_HTTP_URL = re.compile(r"^https?://[^/?#@]+/?$")
"""An S3 endpoint: scheme, host and port, no path or credentials."""

MIN_SECRET_LENGTH = 32
"""A shared secret shorter than this is refused: it could be guessed."""


class Backend(StrEnum):
    REAL = "real"
    """MongoDB and Redis at the configured URLs."""
    MEMORY = "memory"
    """In-process fakes: for demos and tests; everything is lost on restart."""


def _secret(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if len(value) < MIN_SECRET_LENGTH:
        raise ValidationError(
            attribute.name, f"must be at least {MIN_SECRET_LENGTH} characters (random, not chosen)"
        )


@attrs.frozen
class Settings:
    """What the API needs to know about its surroundings."""

    admin_key: str = attrs.field(repr=False, validator=_secret)
    """The platform operator's key: manages tenants and their API keys."""
    internal_token: str = attrs.field(repr=False, validator=_secret)
    """Shared by the fleet and the dialler for their calls to the API."""
    backend: Backend = attrs.field(default=Backend.REAL, converter=Backend)
    mongo_url: str = attrs.field(default="mongodb://127.0.0.1:27017/voxbridge", repr=False)
    mongo_database: str | None = None
    """None: the URL's database, else `voxbridge`."""
    redis_url: str = attrs.field(default="redis://127.0.0.1:6379/0", repr=False)
    redis_prefix: str = "vox"
    store_timeout_s: float = attrs.field(default=5.0, validator=v.positive)
    """How long a MongoDB or Redis call may wait for its server before the request fails."""
    rate_limit_per_s: float = attrs.field(default=20.0, validator=v.positive)
    """Requests per second each API key (and the admin key) may make, sustained."""
    rate_limit_burst: int = attrs.field(default=40, validator=v.positive_int)
    """Requests a key may make back to back after a quiet spell."""
    import_batch_rows: int = attrs.field(default=1000, validator=v.positive_int)
    """Contacts a streamed import stores per round trip; bounds the import's memory."""
    import_max_bytes: int = attrs.field(default=512 * 1024 * 1024, validator=v.positive_int)
    """Largest contact import body accepted."""
    runtime_config_ttl_s: float = attrs.field(default=300.0, validator=v.positive)
    """How long a fleet worker's copy of an agent's config stays in Redis. Every change through
    the API invalidates it at once; the TTL only bounds how long a missed invalidation (Redis
    down at that moment) can serve a stale config."""
    runtime_config_near_ttl_s: float = attrs.field(default=30.0, validator=v.non_negative)
    """How long an API process keeps a config it read from Redis, to answer the next reads
    without a round trip; every change through any API process drops the copies at once (Redis
    pub/sub). 0 turns the near copies off."""
    s3_url: str = attrs.field(default="http://127.0.0.1:9000", repr=False)
    """Where call recordings are, for the presigned URLs of call detail."""
    s3_access_key: str | None = attrs.field(default=None, repr=False)
    """None (with the secret key): the API cannot sign recording URLs and answers none."""
    s3_secret_key: str | None = attrs.field(default=None, repr=False)
    s3_region: str = "us-east-1"
    s3_bucket: str = "recordings"
    s3_public_url: str | None = attrs.field(default=None, repr=False)
    """The S3 endpoint as browsers reach it, when it differs from `s3_url`."""
    recording_url_ttl_s: float = attrs.field(default=900.0, validator=v.positive)
    """How long a presigned recording URL in call detail stays valid."""

    livekit_api_key: str | None = None
    """The LiveKit API key whose webhooks `POST /v1/livekit/webhook` accepts; unset: the route
    refuses every webhook (401)."""
    livekit_api_secret: str | None = attrs.field(default=None, repr=False)
    """The secret LiveKit signs its webhooks with."""
    webhook_dedupe_ttl_s: float = attrs.field(default=24 * 3600.0, validator=v.positive)
    """How long a webhook's event id is remembered, so a redelivery has no second effect."""
    fleet_media_carrier: str = "twilio"
    """The carrier media stream an inbound call's `/attach` names (as the dialler's does)."""
    fleet_attach_timeout_s: float = attrs.field(default=5.0, validator=v.positive)
    """How long one fleet host may take to answer an inbound call's `/attach`."""
    console_dir: str | None = None
    """A folder of the console's static files (`apps/console/static`) to serve at `/console/`,
    for the embedded mode; None in production, where nginx serves them."""
    max_body_bytes: int = attrs.field(default=4 * 1024 * 1024, validator=v.positive_int)
    """The largest body a JSON route reads (413 past it): an agent with every bounded text at its
    longest, in escaped non-ASCII (`\\uXXXX`), is about 3 MiB. The contact import
    has its own limit (`import_max_bytes`), the LiveKit webhook its own 1 MiB."""

    def __attrs_post_init__(self) -> None:
        if (self.livekit_api_key is None) != (self.livekit_api_secret is None):
            raise ValidationError("livekit_api_secret", "set both the LiveKit key and secret")
        if self.admin_key == self.internal_token:
            raise ValidationError("internal_token", "must differ from the admin key")
        for field in ("s3_url", "s3_public_url"):
            url = getattr(self, field)
            if url is not None and not _HTTP_URL.match(url):
                raise ValidationError(field, "must look like http(s)://host:port")
        try:
            TokenBucket(self.rate_limit_per_s, self.rate_limit_burst)
        except ValidationError as error:
            field = {"rate": "rate_limit_per_s", "burst": "rate_limit_burst"}[error.field]
            raise ValidationError(field, error.message) from None

    @property
    def rate_limit(self) -> TokenBucket:
        """Each key's bucket."""
        return TokenBucket(self.rate_limit_per_s, self.rate_limit_burst)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (the process environment by default). A missing or bad variable
        raises `ValidationError` naming the variable."""
        return environment.from_env(cls, os.environ if env is None else env, _VARIABLES, REQUIRED)


_NUMBER = "a number"
_WHOLE = "a whole number"

_VARIABLES: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "VOX_API_ADMIN_KEY": ("admin_key", str, "text"),
    "VOX_API_INTERNAL_TOKEN": ("internal_token", str, "text"),
    "VOX_API_BACKEND": ("backend", Backend, "one of " + ", ".join(Backend)),
    "VOX_MONGO_URL": ("mongo_url", str, "text"),
    "VOX_MONGO_DATABASE": ("mongo_database", str, "text"),
    "VOX_REDIS_URL": ("redis_url", str, "text"),
    "VOX_REDIS_PREFIX": ("redis_prefix", str, "text"),
    "VOX_API_STORE_TIMEOUT_S": ("store_timeout_s", float, _NUMBER),
    "VOX_API_RATE_LIMIT_PER_S": ("rate_limit_per_s", float, _NUMBER),
    "VOX_API_RATE_LIMIT_BURST": ("rate_limit_burst", int, _WHOLE),
    "VOX_API_IMPORT_BATCH_ROWS": ("import_batch_rows", int, _WHOLE),
    "VOX_API_IMPORT_MAX_BYTES": ("import_max_bytes", int, _WHOLE),
    "VOX_API_RUNTIME_CONFIG_TTL_S": ("runtime_config_ttl_s", float, _NUMBER),
    "VOX_API_RUNTIME_CONFIG_NEAR_TTL_S": ("runtime_config_near_ttl_s", float, _NUMBER),
    "VOX_S3_URL": ("s3_url", str, "text"),
    "VOX_S3_ACCESS_KEY": ("s3_access_key", str, "text"),
    "VOX_S3_SECRET_KEY": ("s3_secret_key", str, "text"),
    "VOX_S3_REGION": ("s3_region", str, "text"),
    "VOX_S3_BUCKET": ("s3_bucket", str, "text"),
    "VOX_S3_PUBLIC_URL": ("s3_public_url", str, "text"),
    "VOX_API_RECORDING_URL_TTL_S": ("recording_url_ttl_s", float, _NUMBER),
}
_VARIABLES |= {
    "VOX_API_LIVEKIT_API_KEY": ("livekit_api_key", str, "text"),
    "VOX_API_LIVEKIT_API_SECRET": ("livekit_api_secret", str, "text"),
    "VOX_API_WEBHOOK_DEDUPE_TTL_S": ("webhook_dedupe_ttl_s", float, _NUMBER),
    "VOX_API_FLEET_MEDIA_CARRIER": ("fleet_media_carrier", str, "text"),
    "VOX_API_FLEET_ATTACH_TIMEOUT_S": ("fleet_attach_timeout_s", float, _NUMBER),
    "VOX_API_CONSOLE_DIR": ("console_dir", str, "text"),
    "VOX_API_MAX_BODY_BYTES": ("max_body_bytes", int, _WHOLE),
}
"""Each variable: the field it sets, how its text is read, and what that expects."""

REQUIRED = ("VOX_API_ADMIN_KEY", "VOX_API_INTERNAL_TOKEN")
