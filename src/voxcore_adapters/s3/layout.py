"""How recordings are named and checked, shared by the S3 adapter and its in-memory fake so both
refuse the same input and file a recording under the same key."""

from __future__ import annotations

import re
from datetime import timedelta

from voxcore_domain.errors import ValidationError

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
"""A tenant, campaign or call id as it may appear in a key: no `/`, nothing a URL must escape."""
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
"""A recording's file name within its call, e.g. `mixed.wav`."""
SEGMENT = re.compile(r"^[A-Za-z0-9._:=+@-]+$")
CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})

METADATA_PREFIX = "x-amz-meta-"
TENANT_META = "tenant-id"
CAMPAIGN_META = "campaign-id"
CALL_META = "call-id"

MAX_KEY_BYTES = 1024
MIN_EXPIRY = timedelta(seconds=1)
MAX_EXPIRY = timedelta(days=7)
"""S3 signature V4 refuses presigned URLs that live longer than a week."""

BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_id(field: str, value: str) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise ValidationError(
            field, f"{value!r} must be 1-128 letters, digits, '.', '_', ':' or '-', no '/'"
        )
    return value


def check_name(value: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ValidationError(
            "name", f"{value!r} must be a file name of letters, digits, '.', '_' or '-'"
        )
    return value


def check_key(key: str) -> str:
    """A key of `/`-separated segments with no empty, `.` or `..` segment."""
    if not isinstance(key, str) or not key:
        raise ValidationError("key", "must not be empty")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValidationError("key", f"must be at most {MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        if segment in ("", ".", "..") or not SEGMENT.match(segment):
            raise ValidationError(
                "key", f"{key!r}: segments are letters, digits and ._:=+@- (no empty, . or ..)"
            )
    return key


def check_bucket(bucket: str) -> str:
    if not isinstance(bucket, str) or not BUCKET.match(bucket) or ".." in bucket:
        raise ValidationError("bucket", f"{bucket!r} is not a valid S3 bucket name")
    return bucket


def check_payload(data: bytes, content_type: str) -> None:
    """`data` is non-empty bytes of the declared type; a WAV must start with a RIFF/WAVE header."""
    if not isinstance(content_type, str) or not CONTENT_TYPE.match(content_type):
        raise ValidationError("content_type", f"{content_type!r} is not a type/subtype")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError("data", f"must be bytes, got {type(data).__name__}")
    if not data:
        raise ValidationError("data", "must not be empty")
    # Only the header is checked: Python's `wave` module rejects the μ-law WAVs telephony makes.
    head = bytes(data[:12])
    if content_type.lower() in WAV_TYPES and (head[:4] != b"RIFF" or head[8:12] != b"WAVE"):
        raise ValidationError("data", f"is declared {content_type} but has no RIFF/WAVE header")


def check_expiry(expires: timedelta) -> timedelta:
    if not isinstance(expires, timedelta) or not MIN_EXPIRY <= expires <= MAX_EXPIRY:
        raise ValidationError("expires", f"must be from 1 second to 7 days, got {expires!r}")
    return expires


def call_prefix(tenant_id: str, call_id: str) -> str:
    """The prefix every recording of one call is stored under."""
    return f"{check_id('tenant_id', tenant_id)}/{check_id('call_id', call_id)}/"


def recording_key(tenant_id: str, call_id: str, name: str) -> str:
    return call_prefix(tenant_id, call_id) + check_name(name)


def split_key(key: str) -> tuple[str, str, str] | None:
    """(tenant_id, call_id, name) of a key in the recordings layout, else None."""
    parts = key.split("/")
    if len(parts) != 3 or not (ID.match(parts[0]) and ID.match(parts[1])):
        return None
    return parts[0], parts[1], parts[2]


def recording_metadata(tenant_id: str, campaign_id: str, call_id: str) -> dict[str, str]:
    """The object's user metadata, as `x-amz-meta-*` headers."""
    return {
        METADATA_PREFIX + TENANT_META: check_id("tenant_id", tenant_id),
        METADATA_PREFIX + CAMPAIGN_META: check_id("campaign_id", campaign_id),
        METADATA_PREFIX + CALL_META: check_id("call_id", call_id),
    }
