from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.shards import check_shards, shard_of


def test_one_shard_holds_every_campaign() -> None:
    assert {shard_of(f"c{i}") for i in range(100)} == {0}


def test_the_mapping_is_stable_across_processes() -> None:
    # Fixed values (blake2b): a change here would move running campaigns to other diallers.
    assert [shard_of(f"c{i}", 4) for i in range(8)] == [3, 2, 1, 2, 0, 0, 2, 1]
    assert shard_of("campaign-1", 16) == 5


def test_campaigns_spread_over_the_shards() -> None:
    counts = [0] * 8
    for i in range(8000):
        counts[shard_of(f"camp-{i}", 8)] += 1
    assert min(counts) > 850
    assert max(counts) < 1150


@given(st.text(min_size=1), st.integers(1, 64))
def test_a_shard_is_in_range(campaign_id: str, shards: int) -> None:
    assert 0 <= shard_of(campaign_id, shards) < shards


@pytest.mark.parametrize(("shards", "index"), [(0, None), (4097, None), (2, 2), (2, -1), (1, 1)])
def test_bad_shard_settings_are_refused(shards: int, index: int | None) -> None:
    with pytest.raises(ValidationError):
        check_shards(shards, index)
