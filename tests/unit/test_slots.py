"""Call slots: one call per worker, and the fleet's capacity as the dialler counts it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.errors import InvalidTransition, ValidationError
from voxcore_domain.model import Slot, SlotState, utc
from voxcore_domain.slots import (
    DEFAULT_STALENESS,
    FleetCapacity,
    HostCapacity,
    beat,
    claim,
    drain,
    free,
    is_stale,
    summarize,
)

NOW = utc(2025, 3, 4, 12, 0)


def slot(
    host: str = "h1",
    worker: str = "w1",
    state: SlotState = SlotState.IDLE,
    age_s: float = 1.0,
    busy_for_s: float | None = None,
) -> Slot:
    busy_since = None if busy_for_s is None else NOW - timedelta(seconds=busy_for_s)
    return Slot(
        host,
        worker,
        state,
        heartbeat_at=NOW - timedelta(seconds=age_s),
        call_id=None if busy_since is None else f"call-{worker}",
        busy_since=busy_since,
    )


# -- staleness ---------------------------------------------------------------------------------


def test_a_slot_is_stale_once_its_heartbeat_is_older_than_the_limit() -> None:
    assert not is_stale(slot(age_s=10), NOW)
    assert is_stale(slot(age_s=10.001), NOW)
    assert is_stale(slot(age_s=3), NOW, staleness=timedelta(seconds=2))


def test_a_heartbeat_from_a_clock_ahead_of_ours_is_fresh() -> None:
    assert not is_stale(slot(age_s=-5), NOW)


# -- summary -----------------------------------------------------------------------------------


def test_summarize_counts_each_host_and_keeps_stale_slots_apart() -> None:
    fleet = summarize(
        [
            slot("h1", "w1", SlotState.IDLE),
            slot("h1", "w2", SlotState.BUSY, busy_for_s=30),
            slot("h1", "w3", SlotState.IDLE, age_s=60),
            slot("h2", "w1", SlotState.DRAINING),
            slot("h2", "w2", SlotState.BUSY, busy_for_s=5),
            slot("h2", "w3", SlotState.BUSY, age_s=60, busy_for_s=500),
        ],
        NOW,
    )
    assert fleet.hosts == {
        "h1": HostCapacity("h1", idle=1, busy=1, draining=0, stale=1),
        "h2": HostCapacity("h2", idle=0, busy=1, draining=1, stale=1),
    }
    assert (fleet.free, fleet.busy, fleet.total) == (1, 2, 3)
    assert fleet.busy_elapsed == (5.0, 30.0)


def test_a_busy_slot_without_its_start_counts_as_just_begun() -> None:
    reported = Slot("h1", "w1", SlotState.BUSY, heartbeat_at=NOW, call_id="c1")
    assert summarize([reported], NOW).busy_elapsed == (0.0,)
    ahead = slot(state=SlotState.BUSY, busy_for_s=-3)
    assert summarize([ahead], NOW).busy_elapsed == (0.0,)


def test_an_empty_fleet_has_no_capacity() -> None:
    fleet = summarize([], NOW)
    assert (fleet.free, fleet.busy, fleet.total, fleet.busy_elapsed) == (0, 0, 0, ())
    assert fleet.attach_order() == []


def test_attach_order_tries_the_freest_hosts_first_and_skips_hosts_that_take_no_calls() -> None:
    fleet = FleetCapacity(
        hosts={
            "a": HostCapacity("a", idle=1, busy=3, draining=0, stale=0),
            "b": HostCapacity("b", idle=3, busy=0, draining=0, stale=0),
            "c": HostCapacity("c", idle=1, busy=0, draining=2, stale=0),
            "d": HostCapacity("d", idle=0, busy=4, draining=0, stale=0),
            "e": HostCapacity("e", idle=0, busy=0, draining=2, stale=3),
        },
        busy_elapsed=(),
    )
    assert fleet.attach_order() == ["b", "a", "c", "d"]


# -- transitions -------------------------------------------------------------------------------


def test_claim_takes_an_idle_slot_for_one_call() -> None:
    later = NOW + timedelta(seconds=3)
    taken = claim(slot(), "call-1", later)
    assert taken.state is SlotState.BUSY
    assert (taken.call_id, taken.busy_since, taken.heartbeat_at) == ("call-1", later, later)


@pytest.mark.parametrize("state", [SlotState.BUSY, SlotState.DRAINING])
def test_claim_is_refused_unless_the_slot_is_idle(state: SlotState) -> None:
    with pytest.raises(InvalidTransition) as refused:
        claim(slot(state=state, busy_for_s=4), "call-2", NOW)
    assert (refused.value.current, refused.value.wanted) == (state.value, "busy")


def test_claim_needs_a_call_id() -> None:
    with pytest.raises(ValidationError) as refused:
        claim(slot(), "", NOW)
    assert refused.value.field == "call_id"


def test_free_ends_the_call_and_a_draining_slot_stays_draining() -> None:
    busy = claim(slot(), "call-1", NOW)
    idle = free(busy, NOW + timedelta(seconds=90))
    assert (idle.state, idle.call_id, idle.busy_since) == (SlotState.IDLE, None, None)
    assert idle.heartbeat_at == NOW + timedelta(seconds=90)
    drained = free(drain(busy, NOW), NOW)
    assert (drained.state, drained.call_id, drained.busy_since) == (SlotState.DRAINING, None, None)
    assert free(idle, NOW) == beat(idle, NOW)


def test_drain_lets_the_call_in_progress_run_on() -> None:
    busy = claim(slot(), "call-1", NOW)
    draining = drain(busy, NOW + timedelta(seconds=1))
    assert draining.state is SlotState.DRAINING
    assert (draining.call_id, draining.busy_since) == ("call-1", NOW)
    assert drain(slot(), NOW).state is SlotState.DRAINING


def test_beat_refreshes_the_heartbeat_only() -> None:
    busy = slot(state=SlotState.BUSY, age_s=30, busy_for_s=40)
    fresh = beat(busy, NOW)
    assert fresh.heartbeat_at == NOW
    assert (fresh.state, fresh.call_id, fresh.busy_since) == (
        busy.state,
        busy.call_id,
        busy.busy_since,
    )
    assert not is_stale(fresh, NOW)


# -- properties --------------------------------------------------------------------------------


@st.composite
def slots(draw: st.DrawFn) -> Slot:
    state = draw(st.sampled_from(SlotState))
    elapsed = st.floats(0, 900)
    return slot(
        host=draw(st.sampled_from(["h1", "h2", "h3"])),
        worker=draw(st.sampled_from(["w1", "w2", "w3", "w4"])),
        state=state,
        age_s=draw(st.floats(-5, 30)),
        busy_for_s={
            SlotState.IDLE: None,
            SlotState.BUSY: draw(elapsed),
            SlotState.DRAINING: draw(st.none() | elapsed),
        }[state],
    )


@given(st.lists(slots(), max_size=30), st.integers(1, 20))
def test_summary_counts_add_up(fleet: list[Slot], staleness_s: int) -> None:
    staleness = timedelta(seconds=staleness_s)
    capacity = summarize(fleet, NOW, staleness)
    counted = sum(h.idle + h.busy + h.draining + h.stale for h in capacity.hosts.values())
    assert counted == len(fleet)
    assert set(capacity.hosts) == {s.host for s in fleet}
    fresh = [s for s in fleet if not is_stale(s, NOW, staleness)]
    assert capacity.free == sum(s.state is SlotState.IDLE for s in fresh)
    assert capacity.total == sum(s.state is not SlotState.DRAINING for s in fresh)
    assert len(capacity.busy_elapsed) == capacity.busy
    assert list(capacity.busy_elapsed) == sorted(capacity.busy_elapsed)
    assert all(elapsed >= 0 for elapsed in capacity.busy_elapsed)
    order = capacity.attach_order()
    assert order == sorted(order, key=lambda h: (-capacity.hosts[h].idle, h))


@given(st.lists(slots(), max_size=30))
def test_free_never_counts_a_stale_or_draining_slot(fleet: list[Slot]) -> None:
    unusable = [
        s for s in fleet if s.state is SlotState.DRAINING or is_stale(s, NOW, DEFAULT_STALENESS)
    ]
    usable = [s for s in fleet if s not in unusable]
    assert summarize(fleet, NOW).free == summarize(usable, NOW).free
    assert summarize(unusable, NOW).free == 0
    assert summarize(unusable, NOW).total == 0


@given(slots(), st.text(min_size=1, max_size=8))
def test_only_an_idle_slot_can_be_claimed(current: Slot, call_id: str) -> None:
    if current.state is SlotState.IDLE:
        assert claim(current, call_id, NOW).call_id == call_id
    else:
        with pytest.raises(InvalidTransition):
            claim(current, call_id, NOW)


@given(slots(), st.lists(st.sampled_from(["claim", "free", "drain", "beat"]), max_size=12))
def test_a_slot_holds_a_call_exactly_while_busy_or_draining_with_one(
    current: Slot, steps: list[str]
) -> None:
    for step in steps:
        if step == "claim":
            try:
                current = claim(current, "call-x", NOW)
            except InvalidTransition:
                assert current.state is not SlotState.IDLE
        elif step == "free":
            current = free(current, NOW)
        elif step == "drain":
            current = drain(current, NOW)
        else:
            current = beat(current, NOW)
        assert (current.state is SlotState.BUSY) <= (current.call_id is not None)
        assert (current.state is SlotState.IDLE) <= (current.call_id is None)
        assert (current.call_id is None) == (current.busy_since is None)
