"""API keys: tokens carry their key's id, only the secret's digest is kept, and a token is
checked against it in constant time."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.apikeys import ApiKey, digest, issue, parse_token
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import utc

NOW = utc(2024, 6, 5, 12)


def test_an_issued_token_names_its_key_and_only_its_digest_is_kept() -> None:
    issued = issue("t1", "crm", NOW, secrets.token_bytes)
    key = issued.key
    parts = parse_token(issued.token)
    assert parts.key_id == key.id
    assert len(key.id) == 16
    assert key.matches(parts.secret)
    assert key.secret_sha256 == digest(parts.secret)
    assert parts.secret not in repr(key) + repr(issued) + repr(parts)
    assert (key.tenant_id, key.name, key.created_at, key.active) == ("t1", "crm", NOW, True)


def test_the_secret_holds_256_random_bits() -> None:
    asked: list[int] = []

    def random_bytes(n: int) -> bytes:
        asked.append(n)
        return bytes(n)

    issued = issue("t1", "crm", NOW, random_bytes)
    assert asked == [8, 32]
    assert issued.token == "vbk_0000000000000000_" + "A" * 43


def test_a_wrong_secret_does_not_match() -> None:
    issued = issue("t1", "crm", NOW, secrets.token_bytes)
    other = issue("t1", "crm", NOW, secrets.token_bytes)
    assert not issued.key.matches(parse_token(other.token).secret)
    assert not issued.key.matches("")


def test_revoking_keeps_the_first_time() -> None:
    key = issue("t1", "crm", NOW, secrets.token_bytes).key
    revoked = key.revoke(utc(2024, 6, 6))
    assert not revoked.active
    assert revoked.revoke(utc(2024, 6, 7)) == revoked


@pytest.mark.parametrize(
    "token",
    [
        "",
        "vbk",
        "vbk_",
        "vbk_0123456789abcdef",
        "vbk_0123456789abcdef_",
        "vbx_0123456789abcdef_secret",
        "vbk_0123456789ABCDEF_secret",
        "vbk_0123456789abcde_secret",
        "vbk_0123456789abcdef0_secret",
    ],
)
def test_a_token_that_is_not_a_key_is_refused_without_repeating_it(token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_token(token)
    assert refused.value.field == "token"
    assert not token or token not in str(refused.value)


@given(st.binary(min_size=40, max_size=40))
def test_every_issued_token_parses_back(entropy: bytes) -> None:
    chunks = iter([entropy[:8], entropy[8:]])
    issued = issue("t1", "k", NOW, lambda n: next(chunks))
    parts = parse_token(issued.token)
    assert parts.key_id == entropy[:8].hex()
    assert issued.key.matches(parts.secret)


def test_a_key_checks_its_fields() -> None:
    with pytest.raises(ValidationError) as refused:
        ApiKey("k1", "t1", " ", digest("s"), NOW)
    assert refused.value.field == "name"
