"""Settings come from the environment once, and a bad one stops the API naming the variable."""

from __future__ import annotations

import pytest

from apps.api.deps import s3_recordings
from apps.api.settings import Backend, Settings
from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN
from voxcore_adapters.s3 import S3RecordingStore
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


def test_the_recording_variables_are_read() -> None:
    env = REQUIRED | {
        "VOX_S3_URL": "http://minio:9000",
        "VOX_S3_ACCESS_KEY": "vox",
        "VOX_S3_SECRET_KEY": "s3-secret-value",
        "VOX_S3_REGION": "eu-west-1",
        "VOX_S3_BUCKET": "calls",
        "VOX_S3_PUBLIC_URL": "https://media.example.com",
        "VOX_API_RECORDING_URL_TTL_S": "60",
    }
    settings = Settings.from_env(env)
    assert (settings.s3_url, settings.s3_access_key, settings.s3_secret_key) == (
        "http://minio:9000",
        "vox",
        "s3-secret-value",
    )
    assert (settings.s3_region, settings.s3_bucket) == ("eu-west-1", "calls")
    assert settings.s3_public_url == "https://media.example.com"
    assert settings.recording_url_ttl_s == 60.0
    assert "s3-secret-value" not in repr(settings)
    assert isinstance(s3_recordings(settings), S3RecordingStore)
    # Without credentials the API signs no recording URLs.
    assert s3_recordings(Settings.from_env(REQUIRED)) is None


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VOX_API_RECORDING_URL_TTL_S": "0"}, "VOX_API_RECORDING_URL_TTL_S"),
        ({"VOX_API_RECORDING_URL_TTL_S": "soon"}, "VOX_API_RECORDING_URL_TTL_S"),
        (
            {"VOX_S3_URL": "minio:9000", "VOX_S3_ACCESS_KEY": "a", "VOX_S3_SECRET_KEY": "b"},
            "VOX_S3_URL",
        ),
        (
            {"VOX_S3_PUBLIC_URL": "media", "VOX_S3_ACCESS_KEY": "a", "VOX_S3_SECRET_KEY": "b"},
            "VOX_S3_PUBLIC_URL",
        ),
    ],
)
def test_a_bad_recording_variable_is_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env(REQUIRED | env)
    assert refused.value.field == variable
