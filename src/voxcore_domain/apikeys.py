"""Tenant API keys: how a key's secret is made, shown once, stored and checked.

A key is handed out as one token, `vbk_<id>_<secret>`. The id is not secret: a store looks the key
up by it, so checking a token costs one read whatever the number of keys. Only the SHA-256 digest
of the secret is stored. A slow password hash (bcrypt, argon2) protects guessable human passwords;
these secrets are 256 random bits, so no dictionary or brute force can find a preimage of the
digest, and a fast hash keeps the check off the request's latency.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError

PREFIX = "vbk"
"""Starts every token, so a leaked one is recognisable (secret scanners, logs)."""
ID_BYTES = 8
SECRET_BYTES = 32
"""256 bits: far beyond any guessing, which is what makes a plain SHA-256 enough."""
_ID_LENGTH = 2 * ID_BYTES


def digest(secret: str) -> str:
    """The hex SHA-256 digest of `secret`, as stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@attrs.frozen
class ApiKey:
    """A tenant's API key as stored: the secret only as its digest."""

    id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    name: str = attrs.field(validator=v.non_empty)
    """What the tenant calls it (which system uses it), to know what revoking it breaks."""
    secret_sha256: str = attrs.field(repr=False)
    created_at: datetime = attrs.field(validator=v.aware)
    revoked_at: datetime | None = attrs.field(default=None, validator=v.aware)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def matches(self, secret: str) -> bool:
        """Whether `secret` is this key's; compares in constant time."""
        return hmac.compare_digest(digest(secret), self.secret_sha256)

    def revoke(self, at: datetime) -> ApiKey:
        """This key revoked at `at`; a revoked key keeps its first revocation time."""
        return self if self.revoked_at is not None else attrs.evolve(self, revoked_at=at)


@attrs.frozen
class IssuedKey:
    """A new key and its token: the only moment the token exists outside its holder."""

    key: ApiKey
    token: str = attrs.field(repr=False)


def issue(
    tenant_id: str, name: str, now: datetime, random_bytes: Callable[[int], bytes]
) -> IssuedKey:
    """A new key of `tenant_id`; `random_bytes(n)` must come from a cryptographic source
    (`secrets.token_bytes`) outside tests."""
    key_id = random_bytes(ID_BYTES).hex()
    secret = base64.urlsafe_b64encode(random_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    key = ApiKey(key_id, tenant_id, name, digest(secret), now)
    return IssuedKey(key, f"{PREFIX}_{key_id}_{secret}")


@attrs.frozen
class TokenParts:
    """A token split into the key id to look up and the secret to check."""

    key_id: str
    secret: str = attrs.field(repr=False)


def parse_token(token: str) -> TokenParts:
    """The parts of a `vbk_<id>_<secret>` token; `ValidationError` on `token` if it is not one."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if (
        prefix != PREFIX
        or len(key_id) != _ID_LENGTH
        or not all(c in "0123456789abcdef" for c in key_id)
        or not secret
    ):
        # The message never repeats the token: it is a secret even when it is wrong.
        raise ValidationError("token", "is not a VoxBridge API key")
    return TokenParts(key_id, secret)
