"""A simulated carrier behind the telephony port: dials that ring, get answered or refused in
real time by callees drawn from the simulator's model, with no telephony account.

It answers `place_call`, `hang_up` and `transfer` exactly as the LiveKit adapter does: the same
request checks, the same SIP final responses turned into the same `DialResult` or error
(`voxcore_adapters.livekit.outcomes`), the same timings (a dial returns when the callee answers
or refuses, or at the ring timeout). A number may be scripted with a fixed `Callee` (the contract
tests do); every other number's callee is drawn from `CalleeModel` with a seeded RNG.

Once a call is answered, `CalleeMedia` (when given) carries the callee's side to the fleet
worker that takes the call, over the same Twilio media stream a real carrier would open, and
hangs up after the drawn talk time. The dialler and the fleet cannot tell it from a carrier.

The platform can also speak to a callee itself (`speak`: the dialler's abandon message, through
`voxcore_adapters.sim.abandon`): the audio reaches the callee in real time, 20 ms frame by
frame, and what the callee heard is kept in `heard`, as the platform's hang-ups are in
`hung_up`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum

import attrs

from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.livekit import outcomes
from voxcore_adapters.sim.media import CalleeMedia
from voxcore_domain.model import Disposition
from voxcore_domain.ports import (
    Clock,
    DialRequest,
    DialResult,
    TelephonyError,
    TelephonyRefused,
    TransferResult,
)
from voxcore_domain.simulation.callees import Answerer, CalleeModel, DrawnCallee
from voxcore_domain.voice.audio import FRAME_BYTES, FRAME_MS

log = logging.getLogger(__name__)


class TrunkFault(StrEnum):
    """What the simulated carrier does to every dial on one trunk, for fault drills: the same
    SIP final responses a real carrier gives, so the dialler takes them the same way."""

    THROTTLE = "throttle"
    """503 `CPS limit exceeded`: the trunk is over its calls-per-second cap (`TrunkThrottled`,
    as the LiveKit adapter raises it)."""
    FAIL = "fail"
    """503 `Service Unavailable`: the carrier itself fails (a failed dial with its 5xx status,
    which counts against the trunk's breaker)."""

    def callee(self) -> Callee:
        if self is TrunkFault.THROTTLE:
            return Callee.rejecting(503, "CPS limit exceeded")
        return Callee.rejecting(503, "Service Unavailable")


HUNG_UP = "hung up by the platform"
"""How `ended` records a call the platform hung up."""

STREAM_STOP_S = 1.0
"""How long `hang_up` waits for the callee's stream task to stop."""

SPEAK_CHUNK_FRAMES = 5
"""Audio spoken to a callee goes out 100 ms at a time, paced on the clock (as `CalleeMedia`)."""


@attrs.frozen
class HeardAudio:
    """What a simulated callee heard the platform say into its call."""

    frames: int
    """20 ms frames that reached the callee."""
    sent: int
    """20 ms frames the platform had to say (the last one padded with silence)."""

    @property
    def ms(self) -> int:
        """How long the callee listened."""
        return self.frames * FRAME_MS

    @property
    def complete(self) -> bool:
        """All of it reached the callee: the call was not over before the end."""
        return self.frames == self.sent


class SimTelephony:
    """`CallControl` over simulated callees; `aclose()` ends every call still up."""

    def __init__(
        self,
        model: CalleeModel,
        *,
        seed: int = 0,
        media: CalleeMedia | None = None,
        trunks: Iterable[str] | None = None,
        clock: Clock | None = None,
        throttle_backoff_s: float = 1.0,
        trunk_faults: Mapping[str, TrunkFault] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`trunk_faults`: provider trunk id → the fault every dial on it meets."""
        self._monotonic = monotonic
        self._model = model
        self._rng = random.Random(seed)
        self._media = media
        self._trunks = None if trunks is None else frozenset(trunks)
        self._clock: Clock = clock or UtcClock()
        self._backoff = throttle_backoff_s
        self._faults = dict(trunk_faults or {})
        self._script: dict[str, Callee] = {}
        self._machines: set[str] = set()
        self._live: dict[str, str] = {}
        """call id → room of each answered call still up."""
        self._streams: dict[str, asyncio.Task[str]] = {}
        self.ended: dict[str, str] = {}
        """call id → how its media stream ended, for the calls whose stream has."""
        self.heard: dict[str, HeardAudio] = {}
        """call id → what the platform said to its callee (`speak`), as far as it got."""
        self.hung_up: list[str] = []
        """The calls the platform hung up, in order (`hang_up`)."""

    def script(self, number: str, callee: Callee, *, machine: bool = False) -> None:
        """Make `number` behave as `callee` instead of a drawn one; its talk time (when media
        is on) is the model's mean. With `machine`, an answering machine answers: its greeting
        then silence for the model's `voicemail_s`."""
        self._script[number] = callee
        if machine:
            self._machines.add(number)
        else:
            self._machines.discard(number)

    @property
    def live_calls(self) -> dict[str, str]:
        """Answered calls not yet hung up or transferred away: call id → room."""
        return dict(self._live)

    async def open_rooms(self, prefix: str) -> list[str]:
        """The rooms of the calls still up whose name starts with `prefix`, as LiveKit lists
        them: what a new leader closes out of a dead one's calls."""
        return sorted(room for room in self._live.values() if room.startswith(prefix))

    def _callee(self, number: str, ring_timeout_s: float) -> tuple[Callee, DrawnCallee | None]:
        scripted = self._script.get(number)
        if scripted is not None:
            if number in self._machines:
                talk = DrawnCallee(Answerer.MACHINE, scripted.after_s, self._model.voicemail_s)
            else:
                talk = DrawnCallee(Answerer.PERSON, scripted.after_s, self._model.mean_talk_s)
            return scripted, talk if scripted.answers else None
        drawn = self._model.draw(self._rng, ring_timeout_s)
        if drawn.answerer is Answerer.NOBODY:
            return Callee.no_answer(), None
        return Callee.answering(drawn.answer_after_s), drawn

    async def place_call(self, request: DialRequest) -> DialResult:
        """Dial and wait until answered or failed (at most the ring time)."""
        outcomes.check_dial(request)
        if self._trunks is not None and request.trunk_id not in self._trunks:
            raise TelephonyRefused(f"no SIP trunk {request.trunk_id}", code="not_found")
        fault = self._faults.get(request.trunk_id)
        if fault is not None:
            callee, talk = fault.callee(), None
        else:
            callee, talk = self._callee(request.to, request.ring_timeout_s)
        if callee.answers and callee.after_s < request.ring_timeout_s:
            await asyncio.sleep(callee.after_s)
            self._answered(request, talk)
            return DialResult(request.call_id, self._clock.now())
        if callee.sip_status is None or callee.after_s >= request.ring_timeout_s:
            await asyncio.sleep(request.ring_timeout_s)
            return DialResult(request.call_id, None, Disposition.NO_ANSWER)
        await asyncio.sleep(callee.after_s)
        outcome = outcomes.dial_refused(
            request, callee.sip_status, callee.reason, retry_after_s=self._backoff
        )
        if isinstance(outcome, TelephonyError):
            raise outcome
        return outcome

    def _answered(self, request: DialRequest, talk: DrawnCallee | None) -> None:
        self._live[request.call_id] = request.room
        if self._media is None or talk is None:
            return
        stream = asyncio.get_running_loop().create_task(self._media.play(request.call_id, talk))
        self._streams[request.call_id] = stream
        stream.add_done_callback(lambda task: self._stream_done(request.call_id, task))

    def _stream_done(self, call_id: str, task: asyncio.Task[str]) -> None:
        self._streams.pop(call_id, None)
        self._live.pop(call_id, None)
        if task.cancelled() or self.ended.get(call_id) == HUNG_UP:
            self.ended[call_id] = HUNG_UP
            return
        error = task.exception()
        if error is not None:
            # The stream's task is the top of its own stack: nobody else would see this.
            log.error("call %s: the callee's media stream failed", call_id, exc_info=error)
            self.ended[call_id] = f"media failed: {error!r}"
            return
        self.ended[call_id] = task.result()
        log.info("call %s: %s", call_id, self.ended[call_id])

    async def hang_up(self, call_id: str, room: str) -> None:
        """End the call (and its media stream); a call that is already over is fine."""
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        self._live.pop(call_id, None)
        self.hung_up.append(call_id)
        stream = self._streams.pop(call_id, None)
        if stream is not None:
            # The hang-up is how this call ended, however its stream task winds down, and a
            # carrier's hang-up does not wait on the callee's side: the wait is bounded. A
            # stream stops within a Redis round trip, or its websocket's close handshake with
            # the worker (aiohttp waits up to 10 s for the worker's close frame). The bound
            # also keeps the platform's hang-up apart from a lost cancellation, as redis-py's
            # write once lost one (`voxcore_adapters.redis.cancel_guard`); such a stream is
            # logged rather than waited for.
            self.ended[call_id] = HUNG_UP
            stream.cancel()
            _, running = await asyncio.wait([stream], timeout=STREAM_STOP_S)
            if running:
                log.warning(
                    "call %s: the callee's stream is still running %.1f s after the hang-up",
                    call_id,
                    STREAM_STOP_S,
                )

    async def speak(self, call_id: str, room: str, pcm: bytes) -> HeardAudio:
        """Say `pcm` (8 kHz mono, 16-bit) to the callee of the answered call in `room`, in real
        time; returns once it has all been heard. `TelephonyError` if the call is not up, or
        ends (hung up by either side) before the end: `heard` then keeps how far it got."""
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        if self._live.get(call_id) != room:
            raise TelephonyError(f"call {call_id} is not up in room {room}", code="not_found")
        sent = -(-len(pcm) // FRAME_BYTES)
        heard = 0
        self.heard[call_id] = HeardAudio(heard, sent)
        started = self._monotonic()
        while heard < sent:
            chunk = min(sent, heard + SPEAK_CHUNK_FRAMES)
            # Paced on the clock: the callee hears it as fast as it is said, no faster.
            delay = started + chunk * FRAME_MS / 1000 - self._monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._live.get(call_id) != room:
                raise TelephonyError(
                    f"call {call_id} ended {heard * FRAME_MS} ms into {sent * FRAME_MS} ms of "
                    "audio",
                    code="not_found",
                )
            heard = chunk
            self.heard[call_id] = HeardAudio(heard, sent)
        return self.heard[call_id]

    async def transfer(
        self, call_id: str, room: str, to: str, ring_timeout_s: float = 30.0
    ) -> TransferResult:
        """Hand the call to `to`, which behaves as scripted (or answers at once)."""
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        outcomes.transfer_target(to)
        outcomes.check_ring_timeout("ring_timeout_s", ring_timeout_s)
        if self._live.get(call_id) != room:
            raise TelephonyError(f"call {call_id} is no longer in its room", code="not_found")
        callee = self._script.get(to, Callee.answering())
        if callee.answers and callee.after_s < ring_timeout_s:
            await asyncio.sleep(callee.after_s)
            await self.hang_up(call_id, room)
            return TransferResult()
        if callee.sip_status is None or callee.after_s >= ring_timeout_s:
            await asyncio.sleep(ring_timeout_s)
            return TransferResult(failure=Disposition.NO_ANSWER)
        await asyncio.sleep(callee.after_s)
        return TransferResult(
            failure=outcomes.disposition_for_sip(callee.sip_status), sip_status=callee.sip_status
        )

    async def aclose(self) -> None:
        """End every call still up (the carrier goes away with the process)."""
        for call_id, room in list(self._live.items()):
            await self.hang_up(call_id, room)
