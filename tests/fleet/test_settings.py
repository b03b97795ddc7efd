"""The worker's settings, read from the environment."""

from __future__ import annotations

import pytest

from apps.fleet.settings import Backend, Settings
from voxcore_domain.errors import ValidationError

KEYS = {"VOX_S3_ACCESS_KEY": "minio", "VOX_S3_SECRET_KEY": "minio-secret-key"}


def test_defaults_follow_the_seeds_worker_model() -> None:
    settings = Settings.from_env({**KEYS, "VOX_FLEET_WORKER": "3"})
    assert settings.max_concurrent_calls == 1
    assert settings.socket == "/tmp/voxcore_3.sock"
    assert settings.spool == "/var/spool/voxcore/3"
    assert settings.backend is Backend.REAL


def test_every_variable_reaches_its_field() -> None:
    token = "t" * 40
    settings = Settings.from_env(
        {
            **KEYS,
            "VOX_FLEET_WORKER": "12",
            "VOX_FLEET_HOST": "fleet-2",
            "VOX_FLEET_SOCKET": "/run/voxcore/12.sock",
            "VOX_FLEET_MAX_CONCURRENT_CALLS": "1",
            "VOX_FLEET_API_URL": "https://api.example.com",
            "VOX_FLEET_API_TOKEN": token,
            "VOX_REDIS_URL": "redis://redis:6379/2",
            "VOX_REDIS_PREFIX": "vb",
            "VOX_S3_URL": "http://minio:9000",
            "VOX_S3_REGION": "eu-west-1",
            "VOX_S3_BUCKET": "calls",
            "VOX_S3_TIMEOUT_S": "4",
            "VOX_FLEET_SPOOL_DIR": "/data/spool",
            "VOX_FLEET_HEARTBEAT_S": "1.5",
            "VOX_FLEET_SLOT_TTL_S": "6",
            "VOX_FLEET_RETRY_AFTER_S": "2",
            "VOX_FLEET_MEDIA_WAIT_S": "3",
            "VOX_FLEET_MEDIA_IDLE_S": "4",
            "VOX_FLEET_MAX_CALL_S": "900",
            "VOX_FLEET_UPLOAD_ATTEMPTS": "5",
            "VOX_FLEET_UPLOAD_BACKOFF_S": "0.25",
        }
    )
    assert (settings.worker, settings.host, settings.socket) == (
        "12",
        "fleet-2",
        "/run/voxcore/12.sock",
    )
    assert (settings.api_url, settings.api_token) == ("https://api.example.com", token)
    assert (settings.redis_url, settings.redis_prefix) == ("redis://redis:6379/2", "vb")
    assert (settings.s3_url, settings.s3_region, settings.s3_bucket) == (
        "http://minio:9000",
        "eu-west-1",
        "calls",
    )
    assert (settings.s3_timeout_s, settings.spool) == (4.0, "/data/spool")
    assert (settings.heartbeat_s, settings.slot_ttl_s, settings.retry_after_s) == (1.5, 6.0, 2)
    assert (settings.media_wait_s, settings.media_idle_s, settings.max_call_s) == (3, 4, 900)
    assert (settings.upload_attempts, settings.upload_backoff_s) == (5, 0.25)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"VOX_FLEET_MAX_CONCURRENT_CALLS": "2"}, "VOX_FLEET_MAX_CONCURRENT_CALLS"),
        ({"VOX_FLEET_HEARTBEAT_S": "often"}, "VOX_FLEET_HEARTBEAT_S"),
        ({"VOX_FLEET_WORKER": "a/b"}, "VOX_FLEET_WORKER"),
        ({"VOX_FLEET_BACKEND": "disk"}, "VOX_FLEET_BACKEND"),
        ({"VOX_FLEET_API_TOKEN": "short"}, "VOX_FLEET_API_TOKEN"),
        ({"VOX_FLEET_API_URL": "api:8080"}, "VOX_FLEET_API_URL"),
        ({"VOX_FLEET_HEARTBEAT_S": "20"}, "VOX_FLEET_SLOT_TTL_S"),
        ({"VOX_S3_SECRET_KEY": ""}, "VOX_S3_ACCESS_KEY"),
    ],
)
def test_a_bad_variable_is_named(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings.from_env({**KEYS, **env})
    assert error.value.field == variable


def test_the_memory_backend_needs_no_credentials_and_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {"VOX_FLEET_BACKEND": "memory", "VOX_FLEET_API_TOKEN": "s" * 40, **KEYS}
    )
    assert settings.backend is Backend.MEMORY
    assert "s" * 40 not in repr(settings)
    assert "minio-secret-key" not in repr(settings)
    assert Settings.from_env({"VOX_FLEET_BACKEND": "memory"}).s3_access_key is None
