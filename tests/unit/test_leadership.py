"""Leader election per shard: one live holder, tokens that only grow, lapsed holders fenced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from voxcore_domain import leadership
from voxcore_domain.errors import ValidationError
from voxcore_domain.leadership import Leader, ShardLock, fenced_out
from voxcore_domain.model import utc

NOW = utc(2024, 6, 5, 12)
TTL = timedelta(seconds=10)


def test_a_free_shard_goes_to_the_first_comer_with_token_1() -> None:
    lock, token = leadership.acquire(ShardLock(), "a", NOW, TTL)
    assert token == 1
    assert lock.holder(NOW) == Leader("a", 1)
    assert lock.expires_at == NOW + TTL


def test_a_held_shard_is_refused_to_everyone_its_holder_included() -> None:
    lock, _ = leadership.acquire(ShardLock(), "a", NOW, TTL)
    assert leadership.acquire(lock, "b", NOW, TTL) == (lock, None)
    assert leadership.acquire(lock, "a", NOW, TTL) == (lock, None)


def test_the_lease_lapses_at_its_expiry_and_the_next_holder_gets_a_larger_token() -> None:
    lock, _ = leadership.acquire(ShardLock(), "a", NOW, TTL)
    assert lock.holder(NOW + TTL - timedelta(microseconds=1)) == Leader("a", 1)
    assert lock.holder(NOW + TTL) is None
    lock, token = leadership.acquire(lock, "b", NOW + TTL, TTL)
    assert token == 2


def test_only_the_live_holder_with_its_token_renews() -> None:
    lock, _ = leadership.acquire(ShardLock(), "a", NOW, TTL)
    later = NOW + timedelta(seconds=5)
    assert leadership.renew(lock, "a", 2, later, TTL) == (lock, False)
    assert leadership.renew(lock, "b", 1, later, TTL) == (lock, False)
    renewed, ok = leadership.renew(lock, "a", 1, later, TTL)
    assert ok
    assert renewed.expires_at == later + TTL
    assert leadership.renew(lock, "a", 1, NOW + TTL, TTL) == (lock, False)


def test_release_frees_only_for_the_live_holder_and_keeps_the_token_count() -> None:
    lock, _ = leadership.acquire(ShardLock(), "a", NOW, TTL)
    assert leadership.release(lock, "a", 2, NOW) == lock
    assert leadership.release(lock, "a", 1, NOW) == ShardLock(last_token=1)


def test_a_write_with_an_older_token_is_fenced_out() -> None:
    assert fenced_out(3, newest_seen=4)
    assert not fenced_out(4, newest_seen=4)
    assert not fenced_out(5, newest_seen=4)


@pytest.mark.parametrize(
    ("owner", "ttl", "field"), [("", TTL, "owner"), ("a", timedelta(0), "ttl")]
)
def test_bad_arguments_are_refused_by_name(owner: str, ttl: timedelta, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        leadership.acquire(ShardLock(), owner, NOW, ttl)
    assert refused.value.field == field


OWNERS = st.sampled_from(["a", "b", "c"])


class OneLeaderAtATime(RuleBasedStateMachine):
    """Any interleaving of contenders and clock jumps keeps one live holder at most, with the
    newest token; a holder that lapsed never renews."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = ShardLock()
        self.now = NOW
        self.tokens: list[int] = []

    @rule(owner=OWNERS, seconds=st.integers(1, 30))
    def acquire(self, owner: str, seconds: int) -> None:
        had_holder = self.lock.holder(self.now) is not None
        self.lock, token = leadership.acquire(
            self.lock, owner, self.now, timedelta(seconds=seconds)
        )
        assert (token is None) == had_holder
        if token is not None:
            assert all(token > earlier for earlier in self.tokens)
            self.tokens.append(token)

    @rule(owner=OWNERS, token=st.integers(0, 10), seconds=st.integers(1, 30))
    def renew(self, owner: str, token: int, seconds: int) -> None:
        holder = self.lock.holder(self.now)
        self.lock, ok = leadership.renew(
            self.lock, owner, token, self.now, timedelta(seconds=seconds)
        )
        assert ok == (holder == Leader(owner, token))

    @rule(owner=OWNERS, token=st.integers(0, 10))
    def release(self, owner: str, token: int) -> None:
        self.lock = leadership.release(self.lock, owner, token, self.now)

    @rule(seconds=st.integers(0, 40))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @invariant()
    def a_live_holder_has_the_newest_token(self) -> None:
        holder = self.lock.holder(self.now)
        assert self.lock.last_token == (self.tokens[-1] if self.tokens else 0)
        if holder is not None:
            assert holder.token == self.tokens[-1]


OneLeaderAtATime.TestCase.settings = settings(max_examples=200, stateful_step_count=50)
test_one_leader_at_a_time = OneLeaderAtATime.TestCase
