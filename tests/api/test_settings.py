"""Settings come from the environment once, and a bad one stops the API naming the variable."""

from __future__ import annotations

import pytest

from apps.api.settings import Backend, Settings
from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN
from voxcore_domain.errors import ValidationError

REQUIRED = {"VOX_API_ADMIN_KEY": ADMIN_KEY, "VOX_API_INTERNAL_TOKEN": INTERNAL_TOKEN}


def test_defaults_need_only_the_two_secrets() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings == Settings(ADMIN_KEY, INTERNAL_TOKEN)
    assert settings.backend is Backend.REAL
    assert settings.mongo_url == "mongodb://127.0.0.1:27017/voxbridge"
    assert (settings.rate_limit.rate, settings.rate_limit.burst) == (20.0, 40)


def test_every_variable_is_read() -> None:
    env = REQUIRED | {
        "VOX_API_BACKEND": "memory",
        "VOX_MONGO_URL": "mongodb://user:pw@db:27017/prod?replicaSet=rs0",
        "VOX_MONGO_DATABASE": "vox",
        "VOX_REDIS_URL": "redis://:pw@cache:6379/2",
        "VOX_REDIS_PREFIX": "vb",
        "VOX_API_STORE_TIMEOUT_S": "2.5",
        "VOX_API_RATE_LIMIT_PER_S": "5",
        "VOX_API_RATE_LIMIT_BURST": " 10 ",
        "VOX_API_IMPORT_BATCH_ROWS": "250",
        "VOX_API_IMPORT_MAX_BYTES": "1000000",
        "VOX_API_RUNTIME_CONFIG_TTL_S": "30",
    }
    settings = Settings.from_env(env)
    assert settings == Settings(
        ADMIN_KEY,
        INTERNAL_TOKEN,
        backend=Backend.MEMORY,
        mongo_url="mongodb://user:pw@db:27017/prod?replicaSet=rs0",
        mongo_database="vox",
        redis_url="redis://:pw@cache:6379/2",
        redis_prefix="vb",
        store_timeout_s=2.5,
        rate_limit_per_s=5.0,
        rate_limit_burst=10,
        import_batch_rows=250,
        import_max_bytes=1_000_000,
        runtime_config_ttl_s=30.0,
    )
    # Secrets and URLs that may hold passwords stay out of the repr, hence out of logs.
    shown = repr(settings)
    for secret in (ADMIN_KEY, INTERNAL_TOKEN, "pw@"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "VOX_API_ADMIN_KEY"),
        ({"VOX_API_ADMIN_KEY": ADMIN_KEY}, "VOX_API_INTERNAL_TOKEN"),
        (REQUIRED | {"VOX_API_ADMIN_KEY": "short"}, "VOX_API_ADMIN_KEY"),
        (REQUIRED | {"VOX_API_INTERNAL_TOKEN": ADMIN_KEY}, "VOX_API_INTERNAL_TOKEN"),
        (REQUIRED | {"VOX_API_BACKEND": "sqlite"}, "VOX_API_BACKEND"),
        (REQUIRED | {"VOX_API_STORE_TIMEOUT_S": "soon"}, "VOX_API_STORE_TIMEOUT_S"),
        (REQUIRED | {"VOX_API_STORE_TIMEOUT_S": "0"}, "VOX_API_STORE_TIMEOUT_S"),
        (REQUIRED | {"VOX_API_RATE_LIMIT_BURST": "2.5"}, "VOX_API_RATE_LIMIT_BURST"),
        (REQUIRED | {"VOX_API_RATE_LIMIT_BURST": "2000000"}, "VOX_API_RATE_LIMIT_BURST"),
        (REQUIRED | {"VOX_API_RATE_LIMIT_PER_S": "0.0001"}, "VOX_API_RATE_LIMIT_PER_S"),
        (REQUIRED | {"VOX_API_IMPORT_BATCH_ROWS": "-1"}, "VOX_API_IMPORT_BATCH_ROWS"),
        (REQUIRED | {"VOX_API_RUNTIME_CONFIG_TTL_S": "0"}, "VOX_API_RUNTIME_CONFIG_TTL_S"),
    ],
)
def test_a_bad_variable_is_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env(env)
    assert refused.value.field == variable
    assert ADMIN_KEY not in str(refused.value)
