"""The `CallEvents` contract, on the in-memory fake and on Redis Streams."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import InMemoryCallEvents, ManualClock
from voxcore_adapters.redis import RedisCallEvents
from voxcore_domain.callevents import CallEvent, CallEventKind
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition

pytestmark = pytest.mark.integration

Now = Callable[[], datetime]
Events = InMemoryCallEvents | RedisCallEvents
MakeEvents = Callable[[int], Events]


@pytest.fixture
def make_events(backend: str, clock: ManualClock, redis_client: Redis) -> MakeEvents:
    def make(maxlen: int = 10_000) -> Events:
        if backend == "fake":
            return InMemoryCallEvents(clock, maxlen=maxlen)
        return RedisCallEvents(redis_client, maxlen=maxlen)

    return make


@pytest.fixture
def events(make_events: MakeEvents) -> Events:
    return make_events(10_000)


def call(now: Now, number: int, campaign: str = "camp-1") -> list[CallEvent]:
    """The events of one answered call, in order."""
    call_id = f"call-{number}"
    return [
        CallEvent(CallEventKind.DIALED, call_id, campaign, "tenant-1", now()),
        CallEvent(CallEventKind.ANSWERED, call_id, campaign, "tenant-1", now()),
        CallEvent(CallEventKind.ATTACHED, call_id, campaign, "tenant-1", now(), worker="h1/w0"),
        CallEvent(CallEventKind.ENDED, call_id, campaign, "tenant-1", now(), Disposition.COMPLETED),
    ]


def order(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence)


async def test_an_empty_stream_reads_nothing(events: Events) -> None:
    assert await events.read("camp-1") == []
    assert await events.last_id("camp-1") == "0-0"


async def test_events_read_back_in_order_with_growing_ids(events: Events, now: Now) -> None:
    published = call(now, 1) + call(now, 2)
    ids = [await events.publish(event) for event in published]
    assert [order(i) for i in ids] == sorted({order(i) for i in ids})
    read = await events.read("camp-1")
    assert [entry.event for entry in read] == published
    assert [entry.id for entry in read] == ids
    assert await events.last_id("camp-1") == ids[-1]


async def test_reading_after_an_id_pages_through_the_stream(events: Events, now: Now) -> None:
    published = call(now, 1) + call(now, 2) + call(now, 3)
    for event in published:
        await events.publish(event)
    seen: list[CallEvent] = []
    after = "0-0"
    while page := await events.read("camp-1", after=after, count=5):
        assert len(page) <= 5
        seen.extend(entry.event for entry in page)
        after = page[-1].id
    assert seen == published


async def test_campaigns_have_separate_streams(events: Events, now: Now) -> None:
    for event in call(now, 1, "camp-1") + call(now, 2, "camp:2"):
        await events.publish(event)
    assert {e.event.call_id for e in await events.read("camp-1")} == {"call-1"}
    assert {e.event.call_id for e in await events.read("camp:2")} == {"call-2"}


async def test_a_waiting_reader_gets_the_next_event(events: Events, now: Now) -> None:
    start = await events.last_id("camp-1")
    reader = asyncio.create_task(events.read("camp-1", after=start, wait=timedelta(seconds=5)))
    await asyncio.sleep(0.05)
    assert not reader.done()
    first = call(now, 1)[0]
    await events.publish(first)
    read = await asyncio.wait_for(reader, 5)
    assert [entry.event for entry in read] == [first]


async def test_a_wait_without_events_ends_empty(events: Events) -> None:
    started = asyncio.get_running_loop().time()
    assert await events.read("camp-1", wait=timedelta(milliseconds=100)) == []
    assert asyncio.get_running_loop().time() - started >= 0.09


async def test_old_events_are_trimmed_and_the_newest_kept(
    make_events: MakeEvents, now: Now
) -> None:
    events = make_events(50)
    published = [event for number in range(75) for event in call(now, number)]
    for event in published:
        await events.publish(event)
    kept = [entry.event for entry in await events.read("camp-1", count=10_000)]
    # Redis trims approximately (whole nodes of 100 entries), the fake exactly: both keep at
    # least the newest `maxlen`, and neither keeps everything.
    assert 50 <= len(kept) < len(published)
    assert kept == published[-len(kept) :]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"after": "yesterday"}, "after"),
        ({"after": "$"}, "after"),
        ({"count": 0}, "count"),
        ({"wait": timedelta(0)}, "wait"),
        ({"campaign_id": ""}, "campaign_id"),
    ],
)
async def test_bad_read_arguments_are_refused_by_name(
    events: Events, arguments: dict[str, object], field: str
) -> None:
    call_arguments: dict[str, object] = {"campaign_id": "camp-1", **arguments}
    with pytest.raises(ValidationError) as refused:
        await events.read(**call_arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_maxlen_must_be_positive(make_events: MakeEvents) -> None:
    with pytest.raises(ValidationError) as refused:
        make_events(0)
    assert refused.value.field == "maxlen"
