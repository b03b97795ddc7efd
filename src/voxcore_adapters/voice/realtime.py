"""A speech-to-speech `CallPipeline`: the caller talks straight to a realtime model over a
WebSocket in the OpenAI Realtime API's event protocol (GA shapes, with the beta audio event
names accepted too).

One session per call:

- `session.update` sets the model's instructions (the agent's, plus the contact's variables),
  its voice, G.711 μ-law audio both ways (`audio/pcmu`, the leg's 8 kHz without resampling),
  server-side voice activity detection that answers and interrupts on its own, and one tool,
  `end_call`, the model calls to end the conversation. A `response.create` makes the agent
  speak first.
- The caller's audio goes up as `input_audio_buffer.append` (base64 μ-law); a key press as a
  user message ("The caller pressed 5") and a `response.create`.
- `response.output_audio.delta` (beta: `response.audio.delta`) plays on the leg, each delta
  followed by a mark, so the worker knows how much of each item the caller has heard.
- `input_audio_buffer.speech_started` is barge-in: the leg's queued audio is cleared and the
  item being played is truncated (`conversation.item.truncate`) to what was heard.
- `error` events are logged (the API keeps the session open after most); the session closing
  fails the call.

The API key never appears in logs, outcomes or `repr`. Tests run it against
`voxcore_adapters.testing.realtime_server`, a local server that follows these event shapes;
whether a given vendor's model answers sensibly is not something they can show.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import CallLeg
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.audio import duration_ms
from voxcore_domain.voice.call import (
    Audio,
    CallOutcome,
    CallSetup,
    Digit,
    Hangup,
    Played,
    Step,
    StepKind,
)

log = logging.getLogger(__name__)

PROVIDER = "realtime"
"""The agent `provider` that selects this pipeline."""
DEFAULT_URL = "wss://api.openai.com/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"
DEFAULT_VOICE = "marin"
AUDIO_DELTAS = frozenset({"response.output_audio.delta", "response.audio.delta"})
END_CALL = "end_call"
_END_CALL_TOOL = {
    "type": "function",
    "name": END_CALL,
    "description": "End the phone call once the conversation is over and you said goodbye.",
    "parameters": {"type": "object", "properties": {}, "required": []},
}


def _ws_url(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValidationError(attribute.name, f"{value!r} must be a ws:// or wss:// URL")


def _text(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, "must be non-empty text")


def _seconds(_: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 600:
        raise ValidationError(attribute.name, f"must be above 0 and at most 600, got {value!r}")


@attrs.frozen
class RealtimeSettings:
    """One agent's realtime session."""

    api_key: str = attrs.field(repr=False, validator=_text)
    url: str = attrs.field(default=DEFAULT_URL, validator=_ws_url)
    """The realtime WebSocket endpoint, without the model."""
    model: str = attrs.field(default=DEFAULT_MODEL, validator=_text)
    voice: str = attrs.field(default=DEFAULT_VOICE, validator=_text)
    instructions: str = ""
    """The agent's system prompt."""
    greeting: str = ""
    """What the agent should open with; empty: the model opens as its instructions say."""
    connect_timeout_s: float = attrs.field(default=10.0, validator=_seconds)

    @classmethod
    def from_provider(
        cls,
        provider_settings: Mapping[str, object],
        *,
        api_key: str | None,
        instructions: str = "",
        greeting: str = "",
    ) -> RealtimeSettings:
        """From an agent's `provider_settings` (`url`, `model`, `voice`, `connect_timeout_s`);
        `ValidationError` naming `provider_settings.<name>` for a bad one."""
        if not api_key:
            raise ValidationError(
                "realtime_api_key",
                "the worker has no realtime API key (VOX_FLEET_REALTIME_API_KEY)",
            )
        known = {"url", "model", "voice", "connect_timeout_s"}
        values = {k: v for k, v in provider_settings.items() if k in known}
        try:
            return cls(
                api_key=api_key,
                instructions=instructions,
                greeting=greeting,
                **values,  # type: ignore[arg-type]
            )
        except ValidationError as error:
            raise ValidationError(f"provider_settings.{error.field}", error.message) from None


def session_update(settings: RealtimeSettings, call: CallSetup) -> dict[str, Any]:
    """The `session.update` that opens a call's session."""
    instructions = settings.instructions
    if call.variables:
        details = "\n".join(f"- {key}: {value}" for key, value in sorted(call.variables.items()))
        instructions = f"{instructions}\n\nAbout the person on the call:\n{details}".strip()
    if settings.greeting:
        instructions = f"{instructions}\n\nOpen the call with: {settings.greeting}".strip()
    pcmu = {"type": "audio/pcmu"}
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "instructions": instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": pcmu,
                    "turn_detection": {
                        "type": "server_vad",
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": pcmu, "voice": settings.voice},
            },
            "tools": [_END_CALL_TOOL],
            "tool_choice": "auto",
        },
    }


class SessionClosed(Exception):
    """The realtime session ended from the provider's side."""


@attrs.define
class _Playing:
    """Agent audio of one output item, as sent to the leg and as heard."""

    item_id: str
    sent_ms: int = 0
    heard_ms: int = 0


class _Call:
    """One call's session: the leg on one side, the WebSocket on the other."""

    def __init__(self, call: CallSetup, leg: CallLeg, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.call = call
        self.leg = leg
        self.ws = ws
        self.caller_ms = 0
        self.steps: list[Step] = []
        self.turns = 0
        self.digits = ""
        self.errors = 0
        self.playing: dict[str, _Playing] = {}
        self.current: str | None = None
        self.ending = False
        self.end_mark: str | None = None

    def log(self, kind: StepKind, detail: str = "") -> None:
        self.steps.append(Step(self.caller_ms, kind, detail))

    def outcome(self, disposition: Disposition, reason: str = "") -> CallOutcome:
        return CallOutcome(disposition, reason, self.digits, self.turns, tuple(self.steps))

    async def send(self, event: Mapping[str, Any]) -> None:
        try:
            await self.ws.send_str(json.dumps(event, separators=(",", ":")))
        except (ConnectionResetError, aiohttp.ClientError) as error:
            raise SessionClosed(f"the realtime session broke: {type(error).__name__}") from error

    # -- the caller's side --------------------------------------------------------------------

    async def from_leg(self) -> CallOutcome:
        """Forward the leg's events until the caller hangs up or the agent's goodbye played."""
        while True:
            event = await self.leg.receive()
            if isinstance(event, Audio):
                self.caller_ms += duration_ms(event.pcm)
                payload = base64.b64encode(mulaw.encode(event.pcm)).decode("ascii")
                await self.send({"type": "input_audio_buffer.append", "audio": payload})
            elif isinstance(event, Digit):
                self.digits += event.digit
                self.log(StepKind.DTMF, event.digit)
                await self.send(_user_text(f"The caller pressed the key {event.digit}."))
                await self.send({"type": "response.create"})
            elif isinstance(event, Played):
                if event.mark == self.end_mark:
                    await self.leg.hang_up()
                    return self.outcome(Disposition.COMPLETED, "the agent ended the call")
                self._heard(event.mark)
            elif isinstance(event, Hangup):
                self.log(StepKind.HANGUP, event.reason)
                return self.outcome(Disposition.HUNG_UP, event.reason)

    def _heard(self, mark: str) -> None:
        item_id, _, end = mark.rpartition("@")
        playing = self.playing.get(item_id)
        if playing is not None and end.isdigit():
            playing.heard_ms = max(playing.heard_ms, int(end))

    # -- the model's side ---------------------------------------------------------------------

    async def from_model(self) -> CallOutcome:
        """Act on the server's events until the session closes (which fails the call)."""
        async for message in self.ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                await self._event(_decode(message.data))
            elif message.type is aiohttp.WSMsgType.ERROR:
                raise SessionClosed(f"the realtime session broke: {self.ws.exception()!r}")
        code = self.ws.close_code
        raise SessionClosed(f"the realtime provider closed the session ({code})")

    async def _event(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind in AUDIO_DELTAS:
            await self._play(event)
        elif kind == "input_audio_buffer.speech_started":
            self.log(StepKind.SPEECH_STARTED)
            await self._barge_in()
        elif kind == "input_audio_buffer.speech_stopped":
            self.log(StepKind.SPEECH_ENDED)
        elif kind == "response.done":
            await self._response_done(event.get("response") or {})
        elif kind == "error":
            self.errors += 1
            error = event.get("error") or {}
            # Most errors leave the session open (the API's own advice is to log them).
            log.warning(
                "call %s: the realtime provider reports %s %s: %s",
                self.call.call_id,
                error.get("type"),
                error.get("code"),
                error.get("message"),
            )

    async def _play(self, event: Mapping[str, Any]) -> None:
        item_id = str(event.get("item_id") or "")
        try:
            pcm = mulaw.decode(base64.b64decode(str(event.get("delta", "")), validate=True))
        except (binascii.Error, ValueError):
            log.warning("call %s: dropped an audio delta that is not base64", self.call.call_id)
            return
        playing = self.playing.setdefault(item_id, _Playing(item_id))
        if self.current != item_id:
            self.current = item_id
            self.log(StepKind.PROMPT, item_id)
        playing.sent_ms += duration_ms(pcm)
        await self.leg.play(pcm, f"{item_id}@{playing.sent_ms}")

    async def _barge_in(self) -> None:
        playing = self.playing.get(self.current or "")
        if playing is None or playing.heard_ms >= playing.sent_ms:
            return
        self.log(StepKind.BARGE_IN, playing.item_id)
        await self.leg.clear()
        # The model should remember only what the caller heard of its answer.
        await self.send(
            {
                "type": "conversation.item.truncate",
                "item_id": playing.item_id,
                "content_index": 0,
                "audio_end_ms": playing.heard_ms,
            }
        )
        playing.sent_ms = playing.heard_ms
        self.current = None

    async def _response_done(self, response: Mapping[str, Any]) -> None:
        if response.get("status") == "completed":
            self.turns += 1
        for item in response.get("output") or ():
            if item.get("type") == "function_call" and item.get("name") == END_CALL:
                self.ending = True
                await self.send(_tool_output(str(item.get("call_id", ""))))
        if self.ending and self.end_mark is None:
            # Hang up once everything said so far has played: the goodbye included.
            self.end_mark = f"end@{uuid.uuid4().hex[:8]}"
            await self.leg.play(b"", self.end_mark)


def _decode(data: str) -> Mapping[str, Any]:
    try:
        event = json.loads(data)
    except ValueError:
        raise SessionClosed("the realtime provider sent something that is not JSON") from None
    if not isinstance(event, dict):
        raise SessionClosed("the realtime provider sent a JSON value that is not an event")
    return event


def _user_text(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        },
    }


def _tool_output(call_id: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": call_id, "output": "ok"},
    }


class RealtimeAgent:
    """`CallPipeline` over a realtime speech-to-speech session; `session` is an aiohttp
    session to reuse (one per call otherwise)."""

    def __init__(
        self, settings: RealtimeSettings, session: aiohttp.ClientSession | None = None
    ) -> None:
        self._settings = settings
        self._session = session

    async def run(self, call: CallSetup, leg: CallLeg) -> CallOutcome:
        if self._session is not None:
            return await self._run(self._session, call, leg)
        async with aiohttp.ClientSession() as session:
            return await self._run(session, call, leg)

    async def _run(self, http: aiohttp.ClientSession, call: CallSetup, leg: CallLeg) -> CallOutcome:
        settings = self._settings
        url = f"{settings.url}?{urlencode({'model': settings.model})}"
        try:
            ws = await http.ws_connect(
                url,
                headers={"Authorization": f"Bearer {settings.api_key}"},
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                heartbeat=20.0,
                max_msg_size=16 * 1024 * 1024,
            )
        except aiohttp.WSServerHandshakeError as error:
            await leg.hang_up()
            return CallOutcome.failed(f"the realtime provider refused the session: {error.status}")
        except (aiohttp.ClientError, TimeoutError) as error:
            await leg.hang_up()
            return CallOutcome.failed(f"cannot reach the realtime provider: {type(error).__name__}")
        state = _Call(call, leg, ws)
        try:
            await state.send(session_update(settings, call))
            await state.send({"type": "response.create"})
            return await _first_of(state)
        except SessionClosed as error:
            await leg.hang_up()
            return state.outcome(Disposition.FAILED, str(error))
        finally:
            await ws.close()


async def _first_of(state: _Call) -> CallOutcome:
    """Run both directions until one ends the call; the other is stopped."""
    leg_side = asyncio.ensure_future(state.from_leg())
    model_side = asyncio.ensure_future(state.from_model())
    try:
        done, _ = await asyncio.wait({leg_side, model_side}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (leg_side, model_side):
            task.cancel()
        await asyncio.gather(leg_side, model_side, return_exceptions=True)
    # The leg's side ends the call when both ended in the same turn: its outcome is the caller's.
    finished = leg_side if leg_side in done else model_side
    return finished.result()
