"""A fleet worker's settings: every one an environment variable, read once at start.

`docs/configuration.md` ("Fleet") lists each variable with its default. Secrets (the internal
token, the S3 secret key, URLs that may carry passwords) are left out of `repr`, so logging the
settings is safe.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import attrs

from voxcore_adapters import environment
from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError

DEFAULT_REALTIME_URL = "wss://api.openai.com/v1/realtime"

MIN_SECRET_LENGTH = 32
"""The internal token is shared with the API, which refuses shorter ones."""


class Backend(StrEnum):
    REAL = "real"
    """Redis for the slot registry and S3/MinIO for recordings, at the configured URLs."""
    MEMORY = "memory"
    """In-process fakes: for demos and tests; slots and recordings vanish at exit."""


def _one_call(_: Any, attribute: attrs.Attribute[int], value: int) -> None:
    # The seed's unit of failure is one call per process: nginx's max_conns=1 per socket, the
    # slot registry and the 429 retry all assume it.
    if value != 1:
        raise ValidationError(
            attribute.name,
            f"must be 1: a worker runs one call; add workers instead (got {value!r})",
        )


def _optional_secret(_: Any, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and len(value) < MIN_SECRET_LENGTH:
        raise ValidationError(attribute.name, f"must be at least {MIN_SECRET_LENGTH} characters")


def _http_url(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValidationError(attribute.name, f"{value!r} must be an http(s) URL")


def _optional_livekit_url(
    _: Any, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and not value.startswith(("ws://", "wss://", "http://", "https://")):
        raise ValidationError(attribute.name, f"{value!r} must be a ws(s):// or http(s):// URL")


def _ws_url(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith(("ws://", "wss://")):
        raise ValidationError(attribute.name, f"{value!r} must be a ws:// or wss:// URL")


def _worker(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    # It names the slot in Redis and the default socket and spool paths: no separators.
    if not value or not all(ch.isalnum() or ch in "-_." for ch in value):
        raise ValidationError(attribute.name, f"{value!r} must be letters, digits, '-', '_' or '.'")


@attrs.frozen
class Settings:
    """What a fleet worker needs to know about its surroundings."""

    worker: str = attrs.field(default="1", validator=_worker)
    """This worker's id on its host: the `%i` of `voxcore@%i.service`."""
    host: str = attrs.field(factory=socket.gethostname, validator=v.non_empty)
    """The fleet host's name, as the dialler's host list and the slot registry know it."""
    socket_path: str | None = None
    """The Unix socket Granian serves this worker on (`--uds`); None: `/tmp/voxcore_<worker>.sock`.
    Granian binds it; the worker reports it in `/health`."""
    max_concurrent_calls: int = attrs.field(default=1, validator=_one_call)
    backend: Backend = attrs.field(default=Backend.REAL, converter=Backend)
    api_url: str = attrs.field(default="http://127.0.0.1:8080", validator=_http_url)
    """The Backend API, for runtime config and call outcomes."""
    api_token: str | None = attrs.field(default=None, repr=False, validator=_optional_secret)
    """The internal token the API expects from fleet workers and the dialler."""
    redis_url: str = attrs.field(default="redis://127.0.0.1:6379/0", repr=False)
    redis_prefix: str = "vox"
    s3_url: str = attrs.field(default="http://127.0.0.1:9000", repr=False)
    """The host's MinIO."""
    s3_access_key: str | None = attrs.field(default=None, repr=False)
    s3_secret_key: str | None = attrs.field(default=None, repr=False)
    s3_region: str = "us-east-1"
    s3_bucket: str = "recordings"
    s3_timeout_s: float = attrs.field(default=10.0, validator=v.positive)
    spool_dir: str | None = None
    """Where recordings wait when S3 cannot take them; None: `/var/spool/voxcore/<worker>`. One
    directory per worker, so two workers never resend the same file."""
    heartbeat_s: float = attrs.field(default=2.0, validator=v.positive)
    """How often the slot is reported to the registry (and at once on every change)."""
    slot_ttl_s: float = attrs.field(default=10.0, validator=v.positive)
    """How long a report lives without the next one: a dead worker's slot vanishes after it."""
    retry_after_s: int = attrs.field(default=1, validator=v.positive_int)
    """What a 429 tells the caller to wait before trying this worker again."""
    media_wait_s: float = attrs.field(default=10.0, validator=v.positive)
    """How long an attached call waits for its media stream before it fails."""
    media_idle_s: float = attrs.field(default=5.0, validator=v.positive)
    """Silence on the wire (no frame at all) that ends a stream: carriers send audio
    continuously, silence included."""
    max_call_s: float = attrs.field(default=3600.0, validator=v.positive)
    """The longest a call may run; it also bounds how long a drain waits."""
    upload_attempts: int = attrs.field(default=3, validator=v.positive_int)
    upload_backoff_s: float = attrs.field(default=0.5, validator=v.positive)
    """Wait before the second upload attempt; doubled before each later one."""
    livekit_url: str | None = attrs.field(default=None, validator=_optional_livekit_url)
    """The LiveKit server whose rooms carry LiveKit calls (`wss://…` or `https://…`); None: this
    worker takes no LiveKit calls."""
    livekit_api_key: str | None = None
    livekit_api_secret: str | None = attrs.field(default=None, repr=False)
    """With the key: mints the worker's own room tokens and places calls (CreateRoom,
    CreateSIPParticipant, TransferSIPParticipant, DeleteRoom)."""
    livekit_ring_timeout_s: float = attrs.field(default=30.0, validator=v.positive)
    """How long `/livekit/dialout` lets the phone ring before the call counts as no answer."""
    livekit_join_wait_s: float = attrs.field(default=30.0, validator=v.positive)
    """How long the caller (the phone leg, the widget's browser) has to be in the room once the
    agent joined it; the call fails after it."""
    realtime_api_key: str | None = attrs.field(default=None, repr=False)
    """The API key of the speech-to-speech provider (an agent with `provider: realtime`)."""
    realtime_url: str = attrs.field(default=DEFAULT_REALTIME_URL, validator=_ws_url)
    """The speech-to-speech provider's realtime endpoint: the only place the key is sent (an
    agent whose `provider_settings.url` names another is refused)."""
    api_timeout_s: float = attrs.field(default=5.0, validator=v.positive)
    """How long one request to the API (runtime config, call report) may take."""
    config_ttl_s: float = attrs.field(default=30.0, validator=v.positive)
    """How long an agent's runtime config is used before the API is asked again (while the API
    is unreachable, the last known one is used past it)."""
    report_attempts: int = attrs.field(default=3, validator=v.positive_int)
    """Sends of a call report before it waits in the spool for the next resend."""
    report_backoff_s: float = attrs.field(default=0.5, validator=v.positive)
    """Wait before the second send of a report; doubled before each later one."""
    report_resend_s: float = attrs.field(default=30.0, validator=v.positive)
    """How often the spooled reports are sent again (and once at start)."""
    report_max_age_s: float = attrs.field(default=86400.0, validator=v.positive)
    """How long a report the API refuses (404, 400) is kept and tried again before it is
    dropped from the spool with an error in the log."""
    max_body_bytes: int = attrs.field(default=1024 * 1024, validator=v.positive_int)
    """The largest request body the worker reads (413 past it). An attach is well under a
    kilobyte; the default is the fleet nginx template's `client_max_body_size 1m`."""
    recording_resend_s: float = attrs.field(default=60.0, validator=v.positive)
    """How often the spooled recordings are sent again while the worker runs (and once at
    start): an S3 outage ends with them uploaded, no restart needed."""

    def __attrs_post_init__(self) -> None:
        if self.backend is Backend.REAL and not (self.s3_access_key and self.s3_secret_key):
            raise ValidationError(
                "s3_access_key", "S3 credentials must be set for the real backend"
            )
        if self.heartbeat_s >= self.slot_ttl_s:
            raise ValidationError("slot_ttl_s", "must be longer than heartbeat_s")
        if bool(self.livekit_api_key) != bool(self.livekit_api_secret):
            raise ValidationError(
                "livekit_api_secret", "the LiveKit API key and secret are set together"
            )
        if self.livekit_api_key and not self.livekit_url:
            raise ValidationError("livekit_url", "must be set with the LiveKit API key")

    @property
    def livekit(self) -> LiveKitSettings | None:
        """The LiveKit server with the worker's key, when both are configured."""
        if not (self.livekit_url and self.livekit_api_key and self.livekit_api_secret):
            return None
        return LiveKitSettings(self.livekit_url, self.livekit_api_key, self.livekit_api_secret)

    @property
    def socket(self) -> str:
        return self.socket_path or f"/tmp/voxcore_{self.worker}.sock"

    @property
    def spool(self) -> str:
        return self.spool_dir or f"/var/spool/voxcore/{self.worker}"

    @property
    def reports_spool(self) -> str:
        """Where call reports wait until the API has them."""
        return os.path.join(self.spool, "reports")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (the process environment by default). A bad variable raises
        `ValidationError` naming the variable."""
        return environment.from_env(cls, os.environ if env is None else env, _VARIABLES)


_NUMBER = "a number"
_WHOLE = "a whole number"
_TEXT = "text"

_VARIABLES: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "VOX_FLEET_WORKER": ("worker", str, _TEXT),
    "VOX_FLEET_HOST": ("host", str, _TEXT),
    "VOX_FLEET_SOCKET": ("socket_path", str, _TEXT),
    "VOX_FLEET_MAX_CONCURRENT_CALLS": ("max_concurrent_calls", int, _WHOLE),
    "VOX_FLEET_BACKEND": ("backend", Backend, "one of " + ", ".join(Backend)),
    "VOX_FLEET_API_URL": ("api_url", str, _TEXT),
    "VOX_FLEET_API_TOKEN": ("api_token", str, _TEXT),
    "VOX_REDIS_URL": ("redis_url", str, _TEXT),
    "VOX_REDIS_PREFIX": ("redis_prefix", str, _TEXT),
    "VOX_S3_URL": ("s3_url", str, _TEXT),
    "VOX_S3_ACCESS_KEY": ("s3_access_key", str, _TEXT),
    "VOX_S3_SECRET_KEY": ("s3_secret_key", str, _TEXT),
    "VOX_S3_REGION": ("s3_region", str, _TEXT),
    "VOX_S3_BUCKET": ("s3_bucket", str, _TEXT),
    "VOX_S3_TIMEOUT_S": ("s3_timeout_s", float, _NUMBER),
    "VOX_FLEET_SPOOL_DIR": ("spool_dir", str, _TEXT),
    "VOX_FLEET_HEARTBEAT_S": ("heartbeat_s", float, _NUMBER),
    "VOX_FLEET_SLOT_TTL_S": ("slot_ttl_s", float, _NUMBER),
    "VOX_FLEET_RETRY_AFTER_S": ("retry_after_s", int, _WHOLE),
    "VOX_FLEET_MEDIA_WAIT_S": ("media_wait_s", float, _NUMBER),
    "VOX_FLEET_MEDIA_IDLE_S": ("media_idle_s", float, _NUMBER),
    "VOX_FLEET_MAX_CALL_S": ("max_call_s", float, _NUMBER),
    "VOX_FLEET_UPLOAD_ATTEMPTS": ("upload_attempts", int, _WHOLE),
    "VOX_FLEET_UPLOAD_BACKOFF_S": ("upload_backoff_s", float, _NUMBER),
    "VOX_FLEET_LIVEKIT_URL": ("livekit_url", str, _TEXT),
    "VOX_FLEET_LIVEKIT_API_KEY": ("livekit_api_key", str, _TEXT),
    "VOX_FLEET_LIVEKIT_API_SECRET": ("livekit_api_secret", str, _TEXT),
    "VOX_FLEET_LIVEKIT_RING_TIMEOUT_S": ("livekit_ring_timeout_s", float, _NUMBER),
    "VOX_FLEET_LIVEKIT_JOIN_WAIT_S": ("livekit_join_wait_s", float, _NUMBER),
    "VOX_FLEET_REALTIME_API_KEY": ("realtime_api_key", str, _TEXT),
    "VOX_FLEET_REALTIME_URL": ("realtime_url", str, _TEXT),
    "VOX_FLEET_API_TIMEOUT_S": ("api_timeout_s", float, _NUMBER),
    "VOX_FLEET_CONFIG_TTL_S": ("config_ttl_s", float, _NUMBER),
    "VOX_FLEET_REPORT_ATTEMPTS": ("report_attempts", int, _WHOLE),
    "VOX_FLEET_REPORT_BACKOFF_S": ("report_backoff_s", float, _NUMBER),
    "VOX_FLEET_REPORT_RESEND_S": ("report_resend_s", float, _NUMBER),
    "VOX_FLEET_REPORT_MAX_AGE_S": ("report_max_age_s", float, _NUMBER),
    "VOX_FLEET_MAX_BODY_BYTES": ("max_body_bytes", int, _WHOLE),
    "VOX_FLEET_RECORDING_RESEND_S": ("recording_resend_s", float, _NUMBER),
}
"""Each variable: the field it sets, how its text is read, and what that expects."""
