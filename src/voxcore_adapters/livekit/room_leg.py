"""A call's media in a LiveKit room: the `CallLeg` port over the LiveKit RTC SDK (`livekit.rtc`).

The worker joins the call's room as an agent participant, subscribes to the caller's audio (the
SIP participant of a phone call, or the browser of a widget call), and publishes the agent's
voice on an `AudioSource`. Three layers, so that all but the last can be tested without a
LiveKit server:

- `TelephoneAudio` converts frames: whatever rate and channel count the room delivers becomes
  8 kHz mono 16-bit PCM cut into 20 ms frames (the SDK's native resampler, then our `Framer`),
  and the agent's PCM becomes 20 ms `AudioFrame`s for the source.
- `RoomLeg` is the `CallLeg`. It is fed through a narrow interface (`audio`, `dtmf`,
  `participant_joined`, `participant_left`, `attributes_changed`, `disconnected`) and speaks
  through `RoomOutput` (capture a frame, clear the queue, wait for playout, leave the room).
- `join_room` wires a real `rtc.Room` to a `RoomLeg`: room events call the interface above, the
  caller's audio track is read with `rtc.AudioStream`.

`publish_voice` is the same join for a participant that only speaks (the dialler's abandon
message, `voxcore_adapters.livekit.abandon`).

**Not tested here:** `join_room` and `publish_voice` need a LiveKit server (WebRTC signalling
and media), which cannot run on this machine; the tests cover only their failure to connect.
Everything `join_room` feeds (frame conversion, event translation, marks, clear, hang-up) is
tested through `RoomLeg`.
"""

from __future__ import annotations

import array
import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from typing import Protocol

from livekit import rtc
from livekit.rtc.participant import PublishTrackError

from voxcore_adapters.livekit.joining import CallerControls
from voxcore_adapters.livekit.joining import EndCall as EndCall
from voxcore_adapters.livekit.joining import RoomJoiner as RoomJoiner
from voxcore_adapters.livekit.joining import RoomJoinFailed as RoomJoinFailed
from voxcore_adapters.livekit.joining import Transfer as Transfer
from voxcore_adapters.livekit.outcomes import SIP_CALL_STATUS
from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.audio import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, Framer
from voxcore_domain.voice.call import Audio, Digit, Played

log = logging.getLogger(__name__)

SOURCE_QUEUE_MS = 1000
"""How much agent audio the `AudioSource` holds ahead of playout; `clear` drops it."""


# -- frame conversion -----------------------------------------------------------------------------


def downmix(pcm: bytes, channels: int) -> bytes:
    """Interleaved 16-bit PCM of `channels` channels as one channel, each sample the mean."""
    if channels == 1:
        return pcm
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % (2 * channels)])
    mono = array.array(
        "h",
        (sum(samples[at : at + channels]) // channels for at in range(0, len(samples), channels)),
    )
    return mono.tobytes()


class TelephoneAudio:
    """Converts a room's audio to telephone PCM and back.

    Rooms carry 48 kHz Opus, often decoded to 48 kHz (stereo from some browsers); the pipeline
    wants 8 kHz mono in 20 ms frames. A resampler keeps state between frames (its filter's
    tail), so one converter serves one caller track.
    """

    def __init__(self) -> None:
        self._resamplers: dict[int, rtc.AudioResampler] = {}
        self._framer = Framer()

    def incoming(self, frame: rtc.AudioFrame) -> list[bytes]:
        """The whole 20 ms telephone frames `frame` completes, oldest first."""
        pcm = downmix(bytes(frame.data), frame.num_channels)
        if frame.sample_rate != SAMPLE_RATE:
            resampler = self._resamplers.get(frame.sample_rate)
            if resampler is None:
                resampler = rtc.AudioResampler(frame.sample_rate, SAMPLE_RATE, num_channels=1)
                self._resamplers[frame.sample_rate] = resampler
            mono = rtc.AudioFrame(pcm, frame.sample_rate, 1, len(pcm) // 2)
            pcm = b"".join(bytes(out.data) for out in resampler.push(mono))
        return self._framer.push(pcm)

    @staticmethod
    def outgoing(pcm: bytes) -> list[rtc.AudioFrame]:
        """`pcm` (8 kHz mono) as 20 ms frames for an `AudioSource`; the last padded with
        silence, so the source is never fed a partial frame."""
        if len(pcm) % FRAME_BYTES:
            pcm += bytes(FRAME_BYTES - len(pcm) % FRAME_BYTES)
        return [
            rtc.AudioFrame(pcm[at : at + FRAME_BYTES], SAMPLE_RATE, 1, FRAME_SAMPLES)
            for at in range(0, len(pcm), FRAME_BYTES)
        ]


# -- the leg --------------------------------------------------------------------------------------


class RoomOutput(Protocol):
    """What a `RoomLeg` needs of the room to speak in it."""

    async def capture(self, frame: rtc.AudioFrame) -> None:
        """Queue one frame of the agent's voice (waits while the queue is full)."""
        ...

    def clear(self) -> None:
        """Drop the queued voice not yet played."""
        ...

    async def wait_for_playout(self) -> None:
        """Return once everything queued so far has played."""
        ...

    async def leave(self) -> None:
        """Leave the room (idempotent)."""
        ...


class RoomLeg(CallerControls):
    """`CallLeg` for one caller in a LiveKit room.

    `caller` is the caller's participant identity; None takes the first participant who joins.
    `end_call` runs when the agent hangs up; `transfer` hands the caller's phone leg to another
    number (None when the leg cannot be transferred, e.g. a browser).
    """

    def __init__(
        self,
        output: RoomOutput,
        caller: str | None = None,
        *,
        end_call: EndCall | None = None,
        transfer: Transfer | None = None,
    ) -> None:
        super().__init__(end_call=end_call, transfer=transfer)
        self._output = output
        self._caller = caller
        self._audio = TelephoneAudio()
        self._present = asyncio.Event()
        self._outbound: deque[tuple[bytes, str]] = deque()
        self._speaker: asyncio.Task[None] | None = None
        self._left = False

    @property
    def caller(self) -> str | None:
        return self._caller

    # -- what the room reports ------------------------------------------------------------------

    def is_caller(self, identity: str) -> bool:
        return identity == self._caller

    def participant_joined(self, identity: str) -> None:
        """A participant is in the room (joined now, or was there when the agent came)."""
        if self._caller is None:
            self._caller = identity
        if identity == self._caller:
            self._present.set()

    async def wait_for_caller(self, timeout_s: float) -> None:
        """Return once the caller is in the room; `RoomJoinFailed` after `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._present.wait()
        except TimeoutError:
            who = self._caller or "a caller"
            raise RoomJoinFailed(f"{who} did not join the room within {timeout_s:g} s") from None

    def audio(self, identity: str, frame: rtc.AudioFrame) -> None:
        """A frame of `identity`'s audio; only the caller's is heard."""
        if self._ended is not None or identity != self._caller:
            return
        frames = self._audio.incoming(frame)
        if frames:
            self._events.put_nowait(Audio(b"".join(frames)))

    def dtmf(self, identity: str | None, digit: str) -> None:
        """A SIP DTMF key; from the caller, or from the server (no participant)."""
        if self._ended is not None or (identity is not None and identity != self._caller):
            return
        try:
            event = Digit(digit)
        except ValidationError as error:
            # A key the keypad does not have: a carrier's oddity, not a reason to end the call.
            log.warning("ignoring DTMF from %s: %s", identity, error.message)
            return
        self._events.put_nowait(event)

    def participant_left(self, identity: str, reason: str = "") -> None:
        if identity == self._caller:
            self._end(f"the caller left the room{': ' + reason if reason else ''}")

    def attributes_changed(self, identity: str, attributes: Mapping[str, str]) -> None:
        # A phone leg says it hung up in its attributes before it leaves the room.
        if identity == self._caller and attributes.get(SIP_CALL_STATUS) == "hangup":
            self._end("the caller hung up")

    def disconnected(self, reason: str) -> None:
        self._end(f"the agent lost the room: {reason}")

    def _end(self, reason: str) -> None:
        if self._ended is None:
            self._stop_speaking()
        super()._end(reason)

    # -- CallLeg ----------------------------------------------------------------------------------

    async def play(self, pcm: bytes, mark: str) -> None:
        if self._ended is not None:
            return
        self._outbound.append((pcm, mark))
        if self._speaker is None or self._speaker.done():
            self._speaker = asyncio.get_running_loop().create_task(self._speak())

    async def clear(self) -> None:
        # Cleared prompts' marks are never reported: the conversation ignores them anyway.
        self._stop_speaking()
        self._output.clear()

    async def _leave(self) -> None:
        if not self._left:
            self._left = True
            await self._output.leave()

    async def _speak(self) -> None:
        while self._outbound:
            pcm, mark = self._outbound.popleft()
            for frame in self._audio.outgoing(pcm):
                await self._output.capture(frame)
            await self._output.wait_for_playout()
            self._events.put_nowait(Played(mark))

    def _stop_speaking(self) -> None:
        self._outbound.clear()
        if self._speaker is not None and not self._speaker.done():
            self._speaker.cancel()
        self._speaker = None


# -- a real room ----------------------------------------------------------------------------------


def signal_url(url: str) -> str:
    """The server's WebSocket signalling URL: the API's `https://` is the room's `wss://`."""
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    return url


class _SourceOutput:
    """`RoomOutput` on a connected room's published `AudioSource`."""

    def __init__(self, room: rtc.Room, source: rtc.AudioSource) -> None:
        self._room = room
        self._source = source
        self._left = False

    async def capture(self, frame: rtc.AudioFrame) -> None:
        await self._source.capture_frame(frame)

    def clear(self) -> None:
        self._source.clear_queue()

    async def wait_for_playout(self) -> None:
        await self._source.wait_for_playout()

    async def leave(self) -> None:
        if self._left:
            return
        self._left = True
        await self._source.aclose()
        await self._room.disconnect()


async def join_room(
    url: str,
    token: str,
    *,
    caller: str | None,
    caller_wait_s: float,
    connect_timeout_s: float = 10.0,
    end_call: EndCall | None = None,
    transfer: Transfer | None = None,
) -> RoomLeg:
    """Join the room `token` grants, publish the agent's voice, and wait up to `caller_wait_s`
    for the caller; `RoomJoinFailed` if either fails (the agent has left again by then)."""
    room = rtc.Room()
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=SOURCE_QUEUE_MS)
    output = _SourceOutput(room, source)
    leg = RoomLeg(output, caller, end_call=end_call, transfer=transfer)
    readers: set[asyncio.Task[None]] = set()

    async def read(track: rtc.Track, identity: str) -> None:
        stream = rtc.AudioStream.from_track(
            track=track, sample_rate=SAMPLE_RATE, num_channels=1, frame_size_ms=20
        )
        try:
            async for event in stream:
                leg.audio(identity, event.frame)
        finally:
            await stream.aclose()

    def subscribed(
        track: rtc.Track, _: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and leg.is_caller(participant.identity):
            task = asyncio.get_running_loop().create_task(read(track, participant.identity))
            readers.add(task)
            task.add_done_callback(readers.discard)

    def dtmf(event: rtc.SipDTMF) -> None:
        leg.dtmf(event.participant.identity if event.participant else None, event.digit)

    room.on("participant_connected", lambda p: leg.participant_joined(p.identity))
    room.on("participant_disconnected", lambda p: leg.participant_left(p.identity))
    room.on(
        "participant_attributes_changed",
        lambda _changed, p: leg.attributes_changed(p.identity, p.attributes),
    )
    room.on("track_subscribed", subscribed)
    room.on("sip_dtmf_received", dtmf)
    room.on("disconnected", lambda reason: leg.disconnected(str(reason)))
    await _connect(room, source, url, token, subscribe=True, connect_timeout_s=connect_timeout_s)
    try:
        await _publish(room, source, "agent-voice")
        for participant in room.remote_participants.values():
            leg.participant_joined(participant.identity)
        await leg.wait_for_caller(caller_wait_s)
    except BaseException:
        await _leave_after_failure(output, "join")
        raise
    return leg


async def publish_voice(url: str, token: str, *, connect_timeout_s: float = 10.0) -> RoomOutput:
    """Join the room `token` grants as a participant that only speaks: its voice published on
    an 8 kHz mono `AudioSource`, nothing subscribed. `RoomJoinFailed` if either step fails
    (nothing is left connected by then). What the dialler says into a call nobody took."""
    room = rtc.Room()
    source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=SOURCE_QUEUE_MS)
    output = _SourceOutput(room, source)
    await _connect(room, source, url, token, subscribe=False, connect_timeout_s=connect_timeout_s)
    try:
        await _publish(room, source, "voice")
    except BaseException:
        await _leave_after_failure(output, "publish")
        raise
    return output


async def _connect(
    room: rtc.Room,
    source: rtc.AudioSource,
    url: str,
    token: str,
    *,
    subscribe: bool,
    connect_timeout_s: float,
) -> None:
    """Connect `room`; `RoomJoinFailed` if the server turns it away. On any failure the
    unpublished `source` is closed."""
    try:
        await room.connect(
            signal_url(url),
            token,
            rtc.RoomOptions(auto_subscribe=subscribe, connect_timeout=connect_timeout_s),
        )
    except BaseException as error:
        await source.aclose()
        if isinstance(error, rtc.ConnectError):
            raise RoomJoinFailed(f"cannot join the LiveKit room: {error.message}") from error
        raise


async def _publish(room: rtc.Room, source: rtc.AudioSource, name: str) -> None:
    """Publish `source` as the connected participant's microphone; `RoomJoinFailed` if the
    room refuses it."""
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    try:
        await room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
    except PublishTrackError as error:
        raise RoomJoinFailed(f"cannot publish audio in the LiveKit room: {error}") from error


async def _leave_after_failure(output: RoomOutput, step: str) -> None:
    """Leave the room after a failed `step`. That failure is what the caller must hear about,
    so a failure to leave is only logged."""
    try:
        await output.leave()
    except Exception as error:
        log.warning("could not leave the room after a failed %s: %r", step, error)
