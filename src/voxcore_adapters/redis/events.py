"""Each campaign's live call events as a Redis stream (`CallEvents`).

`vox:events:<campaign_id>` gets one entry per event (XADD with an approximate MAXLEN, so
trimming costs nothing: Redis drops whole nodes, and a stream may hold a little more than
`maxlen`). Readers page with XRANGE from an exclusive id, or block on XREAD for the next events.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from voxcore_adapters.redis.codec import event_fields, event_from_fields, text
from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text
from voxcore_domain.callevents import CallEvent, StreamedEvent
from voxcore_domain.errors import ValidationError

if TYPE_CHECKING:
    # Types only: the in-memory fake shares this module's checks without loading redis-py.
    from redis.asyncio import Redis
    from redis.typing import EncodableT, FieldT, StreamEntry, StreamRangeResponse, XReadResponse

DEFAULT_MAXLEN = 10_000
"""Events kept per campaign: minutes of a busy campaign, enough for the console's charts."""

STREAM_ID = re.compile(r"^[0-9]+-[0-9]+$")


def stream_key(prefix: str, campaign_id: str) -> str:
    return f"{prefix}:events:{part(require_text('campaign_id', campaign_id))}"


def check_read(after: str, count: int, wait: timedelta | None) -> None:
    """The arguments of `read`, checked the same way for Redis and the fake."""
    if not isinstance(after, str) or not STREAM_ID.match(after):
        raise ValidationError("after", f"must be a stream id like 1718000000000-0, got {after!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
        raise ValidationError("count", f"must be a whole number from 1 to 10000, got {count!r}")
    if wait is not None and (not isinstance(wait, timedelta) or wait <= timedelta(0)):
        raise ValidationError("wait", f"must be a positive duration or None, got {wait!r}")


def check_maxlen(maxlen: int) -> int:
    if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1:
        raise ValidationError("maxlen", f"must be a whole number above 0, got {maxlen!r}")
    return maxlen


def _read_entries(reply: XReadResponse) -> StreamRangeResponse:
    """The entries of an XREAD of one stream, from a RESP2 list of `[key, entries]` pairs or a
    RESP3 map of key to entries."""
    per_stream: list[Any] = (
        list(reply.values()) if isinstance(reply, dict) else [item[1] for item in reply]
    )
    entries: StreamRangeResponse = []
    for stream_entries in per_stream:
        entries.extend(stream_entries)
    return entries


def _streamed(entry: StreamEntry) -> StreamedEvent:
    entry_id, fields = entry
    if entry_id is None or fields is None:
        # Only XCLAIM of a deleted entry answers this; XRANGE and XREAD never do.
        raise ValueError(f"stream entry without id or fields: {entry!r}")
    return StreamedEvent(text(entry_id), event_from_fields(fields))


class RedisCallEvents:
    """`CallEvents` over Redis Streams."""

    def __init__(
        self, client: Redis, prefix: str = DEFAULT_PREFIX, maxlen: int = DEFAULT_MAXLEN
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._maxlen = check_maxlen(maxlen)

    async def publish(self, event: CallEvent) -> str:
        """Append `event` to its campaign's stream; its stream id (ids grow with time)."""
        key = stream_key(self._prefix, event.campaign_id)
        fields: dict[FieldT, EncodableT] = dict(event_fields(event).items())
        entry_id = await self._client.xadd(key, fields, maxlen=self._maxlen, approximate=True)
        return text(entry_id)

    async def read(
        self,
        campaign_id: str,
        after: str = "0-0",
        count: int = 100,
        wait: timedelta | None = None,
    ) -> list[StreamedEvent]:
        """Up to `count` events after `after`, oldest first; with `wait`, wait up to that long
        when there are none yet."""
        key = stream_key(self._prefix, campaign_id)
        check_read(after, count, wait)
        entries = await self._client.xrange(key, min=f"({after}", max="+", count=count) or []
        if not entries and wait is not None:
            block_ms = max(1, wait // timedelta(milliseconds=1))
            reply = await self._client.xread({key: after}, count=count, block=block_ms)
            entries = _read_entries(reply)
        return [_streamed(entry) for entry in entries]

    async def last_id(self, campaign_id: str) -> str:
        """The newest event's id, `0-0` for an empty stream."""
        newest = await self._client.xrevrange(stream_key(self._prefix, campaign_id), count=1)
        return _streamed(newest[0]).id if newest else "0-0"
