"""In-memory fakes of the recording store and the telephony provider.

`InMemoryRecordingStore` checks keys, ids, payloads and expiries with the same helpers as the S3
adapter (`voxcore_adapters.s3.layout`); `FakeTelephony` turns a scripted callee into a
`DialResult` with the same SIP rules as the LiveKit adapter (`voxcore_adapters.livekit.outcomes`).
Both pass the contract suites in `tests/integration/s3` and `tests/integration/livekit`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import parse_qs, quote, unquote, urlsplit

import attrs

from voxcore_adapters.clock import UtcClock
from voxcore_adapters.livekit import outcomes
from voxcore_adapters.s3 import layout
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import (
    Clock,
    DialRequest,
    DialResult,
    RecordingInfo,
    RecordingNotFound,
    TelephonyError,
    TelephonyRefused,
    TransferResult,
)

# -- recordings -----------------------------------------------------------------------------


@attrs.frozen
class _Stored:
    data: bytes
    content_type: str
    metadata: dict[str, str]


class ExpiredUrl(Exception):
    """A fake presigned URL fetched after it expired (S3 answers 403 then)."""


class InMemoryRecordingStore:
    """`CallRecordings` in a dict. Its URLs are `memory://` ones that `fetch` resolves, checking
    their expiry against the clock as S3 checks a presigned URL's."""

    def __init__(self, bucket: str = "recordings", clock: Clock | None = None) -> None:
        self._bucket = layout.check_bucket(bucket)
        self._clock: Clock = clock or UtcClock()
        self._objects: dict[str, _Stored] = {}

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        layout.check_key(key)
        layout.check_payload(data, content_type)
        self._objects[key] = _Stored(bytes(data), content_type, {})

    def put_recording(
        self,
        tenant_id: str,
        campaign_id: str,
        call_id: str,
        name: str,
        data: bytes,
        content_type: str = "audio/wav",
    ) -> RecordingInfo:
        key = layout.recording_key(tenant_id, call_id, name)
        metadata = layout.recording_metadata(tenant_id, campaign_id, call_id)
        layout.check_payload(data, content_type)
        self._objects[key] = _Stored(bytes(data), content_type, metadata)
        return RecordingInfo(key, tenant_id, call_id, campaign_id, content_type, len(data))

    def get(self, key: str) -> bytes:
        return self._stored(layout.check_key(key)).data

    def url(self, key: str, expires: timedelta) -> str:
        layout.check_key(key)
        layout.check_expiry(expires)
        self._stored(key)
        deadline = int((self._clock.now() + expires).timestamp())
        return f"memory://{self._bucket}/{quote(key)}?expires={deadline}"

    def fetch(self, url: str) -> bytes:
        """What a browser would get from `url`: the bytes, `ExpiredUrl` or `RecordingNotFound`."""
        parts = urlsplit(url)
        if parts.scheme != "memory" or parts.netloc != self._bucket:
            raise ValidationError("url", f"{url!r} is not a URL of this store")
        expires = parse_qs(parts.query).get("expires", ["0"])[0]
        if self._clock.now().timestamp() > int(expires):
            raise ExpiredUrl(url)
        return self._stored(unquote(parts.path.lstrip("/"))).data

    def for_call(self, tenant_id: str, call_id: str) -> list[RecordingInfo]:
        prefix = layout.call_prefix(tenant_id, call_id)
        found = []
        for key in sorted(k for k in self._objects if k.startswith(prefix)):
            stored = self._objects[key]
            campaign = stored.metadata.get(layout.METADATA_PREFIX + layout.CAMPAIGN_META)
            found.append(
                RecordingInfo(
                    key, tenant_id, call_id, campaign, stored.content_type, len(stored.data)
                )
            )
        return found

    def _stored(self, key: str) -> _Stored:
        try:
            return self._objects[key]
        except KeyError:
            raise RecordingNotFound(key) from None


# -- telephony -------------------------------------------------------------------------------


@attrs.frozen
class Callee:
    """What the phone at a number does when dialled, in SIP terms: answers after `after_s`, or
    ends the dial with the final response `sip_status` `reason` after `after_s`, or (with
    neither) rings until the dial's ring timeout. `FakeTelephony` and the LiveKit test double
    (`voxcore_adapters.testing.livekit_double`) both play these scripts."""

    answers: bool = True
    after_s: float = attrs.field(default=0.0)
    sip_status: int | None = None
    reason: str = ""

    @after_s.validator
    def _after(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not isinstance(value, int | float) or value < 0:
            raise ValidationError(attribute.name, f"must be 0 or more seconds, got {value!r}")

    def __attrs_post_init__(self) -> None:
        if self.answers and self.sip_status is not None:
            raise ValidationError("sip_status", "a callee that answers has no failure status")
        if self.sip_status is not None and not 300 <= self.sip_status <= 699:
            raise ValidationError(
                "sip_status", f"must be a final failure 300-699, got {self.sip_status!r}"
            )

    @property
    def rings_out(self) -> bool:
        return not self.answers and self.sip_status is None

    @classmethod
    def answering(cls, after_s: float = 0.0) -> Callee:
        return cls(True, after_s)

    @classmethod
    def rejecting(cls, sip_status: int, reason: str, after_s: float = 0.0) -> Callee:
        return cls(False, after_s, sip_status, reason)

    @classmethod
    def no_answer(cls) -> Callee:
        return cls(False)

    @classmethod
    def busy(cls, after_s: float = 0.0) -> Callee:
        return cls.rejecting(486, "Busy Here", after_s)

    @classmethod
    def busy_everywhere(cls) -> Callee:
        return cls.rejecting(600, "Busy Everywhere")

    @classmethod
    def unavailable(cls) -> Callee:
        return cls.rejecting(480, "Temporarily Unavailable")

    @classmethod
    def declining(cls, sip_status: int = 603) -> Callee:
        return cls.rejecting(sip_status, "Decline" if sip_status == 603 else "Forbidden")

    @classmethod
    def invalid(cls, sip_status: int = 404) -> Callee:
        return cls.rejecting(sip_status, "Not Found" if sip_status == 404 else "Address Incomplete")

    @classmethod
    def carrier_error(cls, sip_status: int = 503, reason: str = "Service Unavailable") -> Callee:
        return cls.rejecting(sip_status, reason)

    @classmethod
    def cps_limit(cls) -> Callee:
        """What a carrier (Twilio's words) answers when the trunk is over its CPS cap."""
        return cls.rejecting(503, "Trunk CPS limit exceeded")


@attrs.frozen
class PlacedCall:
    request: DialRequest
    result: DialResult


class FakeTelephony:
    """`CallControl` in memory: each number behaves as scripted (`script`), unscripted numbers
    answer at once. `time_scale` multiplies the script's delays (0: no waiting at all).

    Records every dial, hang-up and transfer for tests to assert on.
    """

    def __init__(
        self,
        *,
        trunks: Iterable[str] | None = None,
        clock: Clock | None = None,
        time_scale: float = 0.0,
        throttle_backoff_s: float = 1.0,
    ) -> None:
        self._trunks = None if trunks is None else frozenset(trunks)
        self._clock: Clock = clock or UtcClock()
        self._time_scale = time_scale
        self._backoff = throttle_backoff_s
        self._script: dict[str, Callee] = {}
        self._live: dict[str, str] = {}
        """call id → room of each answered call still up."""
        self.placed: list[PlacedCall] = []
        self.hung_up: list[str] = []
        self.transfers: list[tuple[str, str, TransferResult]] = []

    def script(self, number: str, callee: Callee) -> None:
        self._script[number] = callee

    @property
    def live_calls(self) -> dict[str, str]:
        """Answered calls not yet hung up or transferred away: call id → room."""
        return dict(self._live)

    async def place_call(self, request: DialRequest) -> DialResult:
        outcomes.check_dial(request)
        if self._trunks is not None and request.trunk_id not in self._trunks:
            raise TelephonyRefused(f"no SIP trunk {request.trunk_id}", code="not_found")
        callee = self._script.get(request.to, Callee.answering())
        if callee.answers and callee.after_s < request.ring_timeout_s:
            await self._wait(callee.after_s)
            result = DialResult(request.call_id, self._clock.now())
            self._live[request.call_id] = request.room
        elif callee.sip_status is None or callee.after_s >= request.ring_timeout_s:
            await self._wait(request.ring_timeout_s)
            result = DialResult(request.call_id, None, Disposition.NO_ANSWER)
        else:
            await self._wait(callee.after_s)
            outcome = outcomes.dial_refused(
                request, callee.sip_status, callee.reason, retry_after_s=self._backoff
            )
            if isinstance(outcome, TelephonyError):
                raise outcome
            result = outcome
        self.placed.append(PlacedCall(request, result))
        return result

    async def open_rooms(self, prefix: str) -> list[str]:
        """The rooms of answered calls still up, as a provider lists them (`CallRooms`)."""
        return sorted(room for room in self._live.values() if room.startswith(prefix))

    async def hang_up(self, call_id: str, room: str) -> None:
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        self._live.pop(call_id, None)
        self.hung_up.append(call_id)

    async def transfer(
        self, call_id: str, room: str, to: str, ring_timeout_s: float = 30.0
    ) -> TransferResult:
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        target = outcomes.transfer_target(to)
        outcomes.check_ring_timeout("ring_timeout_s", ring_timeout_s)
        if self._live.get(call_id) != room:
            raise TelephonyError(f"call {call_id} is no longer in its room", code="not_found")
        callee = self._script.get(to, Callee.answering())
        if callee.answers and callee.after_s < ring_timeout_s:
            await self._wait(callee.after_s)
            result = TransferResult()
            del self._live[call_id]
        elif callee.sip_status is None or callee.after_s >= ring_timeout_s:
            await self._wait(ring_timeout_s)
            result = TransferResult(failure=Disposition.NO_ANSWER)
        else:
            await self._wait(callee.after_s)
            result = TransferResult(
                failure=outcomes.disposition_for_sip(callee.sip_status),
                sip_status=callee.sip_status,
            )
        self.transfers.append((call_id, target, result))
        return result

    async def _wait(self, seconds: float) -> None:
        if self._time_scale > 0:
            await asyncio.sleep(seconds * self._time_scale)


class FakeAbandonMessages:
    """`AbandonMessages` in memory: records what it was asked to say, or, with `fail`, raises
    `TelephonyError` as a room that cannot be reached would. `said` lists (call id, room, text)."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str, str]] = []
        self.fail = False

    async def play(self, call_id: str, room: str, text: str) -> None:
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        if not text.strip():
            raise ValidationError("text", "must not be empty")
        if self.fail:
            raise TelephonyError(f"cannot play into room {room}")
        self.said.append((call_id, room, text))
