"""Shard settings, and the pause switch's command line against a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.dialler import pause
from apps.dialler.settings import Settings
from voxcore_adapters.testing.redis_server import redis_url
from voxcore_domain.errors import ValidationError


def test_one_shard_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.shards == 1
    assert settings.shard == "0"


def test_a_shard_index_among_several() -> None:
    settings = Settings.from_env({"VOX_DIALLER_SHARDS": "4", "VOX_DIALLER_SHARD": "3"})
    assert (settings.shards, settings.shard) == (4, "3")


@pytest.mark.parametrize(
    ("shards", "shard", "field"),
    [("0", "0", "shards"), ("many", "0", "shards"), ("4", "4", "shard"), ("2", "s1", "shard")],
)
def test_bad_shard_settings_name_the_field(shards: str, shard: str, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Settings.from_env({"VOX_DIALLER_SHARDS": shards, "VOX_DIALLER_SHARD": shard})
    assert error.value.field == field


@pytest.fixture(scope="module")
def redis_settings() -> Iterator[Settings]:
    with redis_url() as url:
        yield Settings(redis_url=url, redis_prefix="pause-test")


@pytest.mark.integration
async def test_the_pause_command_turns_the_switch(redis_settings: Settings) -> None:
    assert await pause.run("status", redis_settings) == "dialling"
    assert await pause.run("on", redis_settings) == "paused"
    assert await pause.run("status", redis_settings) == "paused"
    assert await pause.run("off", redis_settings) == "dialling"


def test_the_pause_command_refuses_other_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert pause.main(["maybe"]) == 2
    assert "usage" in capsys.readouterr().err
