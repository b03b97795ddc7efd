"""A local realtime speech-to-speech server in the OpenAI Realtime API's WebSocket protocol, for
tests and demos: `with RealtimeServer(api_key) as server:` serves `server.url` on loopback.

It follows the API's shapes, not its intelligence:

- The handshake needs `Authorization: Bearer <api_key>` (else HTTP 401 with the REST error body
  `{"error": {"message", "type", "code"}}`) and a `model` query parameter (else 400).
- `session.created` comes first; `session.update` answers `session.updated` with the merged
  session. Audio is accepted only as `audio/pcmu` (8 kHz G.711 μ-law): the fake does not
  resample, so a session that keeps the default 24 kHz PCM gets an `error` on its first append.
- Server VAD on the appended audio (the platform's own turn detector): `speech_started` /
  `speech_stopped` with `audio_start_ms` / `audio_end_ms` and the user item's id; speech that
  starts during a response cancels it (`response.done` with status `cancelled`), as
  `interrupt_response` does; a finished utterance is committed and answered.
- A response speaks the next scripted reply (`replies`) as tones, μ-law, base64, in 100 ms
  `response.output_audio.delta` events, then `response.output_audio.done`,
  `response.output_item.done` and `response.done`. A reply scripted with `end_call=True` also
  outputs a `function_call` item named `end_call`.
- `conversation.item.create`, `conversation.item.truncate` (checked against the item's audio),
  `response.cancel` and `response.create` behave as documented; anything malformed answers an
  `error` event `{"type": "error", "event_id", "error": {"type", "code", "message", "param",
  "event_id"}}` and the session stays open.

Every client event is recorded (`received`) for tests to assert on; `drop_sessions` closes every
open session from the server's side.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from aiohttp import WSMsgType, web

from voxcore_adapters.testing.lifecycle import StartStop
from voxcore_adapters.testing.loop_thread import LoopThread
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.audio import FRAME_MS, Framer, duration_ms, level_dbfs
from voxcore_domain.voice.turns import Turn, TurnChange, TurnSettings, step

DELTA_MS = 100
"""Audio per delta; the real API sends deltas of varying length."""


@attrs.frozen
class Reply:
    """What the fake model says in one response."""

    text: str
    end_call: bool = False
    """Also call the `end_call` tool."""


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Session:
    """One client's session on the fake server."""

    def __init__(self, server: RealtimeServer, ws: web.WebSocketResponse, model: str) -> None:
        self.server = server
        self.ws = ws
        self.ids = itertools.count(1)
        self.config: dict[str, Any] = {
            "type": "realtime",
            "object": "realtime.session",
            "id": self.new_id("sess"),
            "model": model,
            "output_modalities": ["audio"],
            "instructions": "",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "turn_detection": {
                        "type": "server_vad",
                        "create_response": True,
                        "interrupt_response": True,
                    },
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
            },
            "tools": [],
        }
        self.framer = Framer()
        self.turn = Turn()
        self.frames = 0
        self.user_item: str | None = None
        self.items: dict[str, int] = {}
        """Assistant item id → ms of its audio."""
        self.responding: asyncio.Task[None] | None = None
        self.replies = 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):06d}"

    async def emit(self, kind: str, **fields: Any) -> None:
        await self.ws.send_str(
            json.dumps({"type": kind, "event_id": self.new_id("event"), **fields})
        )

    async def error(
        self, code: str, message: str, event_id: str | None, param: str | None = None
    ) -> None:
        await self.emit(
            "error",
            error={
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": param,
                "event_id": event_id,
            },
        )

    # -- client events ------------------------------------------------------------------------

    async def handle(self, text: str) -> None:
        try:
            event = json.loads(text)
        except ValueError:
            await self.error("invalid_json", "The client event is not valid JSON.", None)
            return
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            await self.error("invalid_value", "The client event has no type.", None, "type")
            return
        self.server.record(event)
        kind = event["type"]
        event_id = event.get("event_id")
        handler = {
            "session.update": self.session_update,
            "input_audio_buffer.append": self.append,
            "response.create": self.response_create,
            "response.cancel": self.response_cancel,
            "conversation.item.create": self.item_create,
            "conversation.item.truncate": self.truncate,
        }.get(kind)
        if handler is None:
            await self.error("invalid_value", f"Invalid value: '{kind}'.", event_id, "type")
            return
        await handler(event, event_id)

    async def session_update(self, event: Mapping[str, Any], event_id: str | None) -> None:
        session = event.get("session")
        if not isinstance(session, dict) or session.get("type") != "realtime":
            await self.error(
                "invalid_value", "session.type must be 'realtime'.", event_id, "session.type"
            )
            return
        self.config = _merge(self.config, session)
        await self.emit("session.updated", session=self.config)

    async def append(self, event: Mapping[str, Any], event_id: str | None) -> None:
        try:
            audio = base64.b64decode(str(event.get("audio", "")), validate=True)
        except (binascii.Error, ValueError):
            await self.error("invalid_value", "audio is not valid base64.", event_id, "audio")
            return
        if self.config["audio"]["input"]["format"].get("type") != "audio/pcmu":
            await self.error(
                "unsupported_format",
                "This fake server speaks only audio/pcmu.",
                event_id,
                "session.audio.input.format",
            )
            return
        for frame in self.framer.push(mulaw.decode(audio)):
            self.frames += 1
            self.turn, change = step(self.server.turns, self.turn, level_dbfs(frame))
            if change is TurnChange.SPEECH_STARTED:
                await self.speech_started()
            elif change is TurnChange.SPEECH_ENDED:
                await self.speech_stopped()

    async def speech_started(self) -> None:
        self.user_item = self.new_id("item")
        started = (self.frames - self.turn.speech_frames) * FRAME_MS
        await self.emit(
            "input_audio_buffer.speech_started", audio_start_ms=started, item_id=self.user_item
        )
        if self.responding is not None and not self.responding.done():
            self.responding.cancel()

    async def speech_stopped(self) -> None:
        item_id = self.user_item or self.new_id("item")
        ended = self.frames * FRAME_MS
        await self.emit("input_audio_buffer.speech_stopped", audio_end_ms=ended, item_id=item_id)
        await self.emit("input_audio_buffer.committed", previous_item_id=None, item_id=item_id)
        detection = self.config["audio"]["input"].get("turn_detection") or {}
        if detection.get("create_response", True):
            await self.respond()

    async def response_create(self, event: Mapping[str, Any], event_id: str | None) -> None:
        if self.responding is not None and not self.responding.done():
            await self.error(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress.",
                event_id,
            )
            return
        await self.respond()

    async def response_cancel(self, event: Mapping[str, Any], event_id: str | None) -> None:
        if self.responding is None or self.responding.done():
            await self.error(
                "response_cancel_not_active",
                "Cancellation failed: no active response found.",
                event_id,
            )
            return
        self.responding.cancel()

    async def item_create(self, event: Mapping[str, Any], event_id: str | None) -> None:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") not in (
            "message",
            "function_call_output",
        ):
            await self.error("invalid_value", "item.type is not supported.", event_id, "item.type")
            return
        created = {"id": self.new_id("item"), "object": "realtime.item", **item}
        await self.emit("conversation.item.created", previous_item_id=None, item=created)

    async def truncate(self, event: Mapping[str, Any], event_id: str | None) -> None:
        item_id = event.get("item_id")
        end = event.get("audio_end_ms")
        if item_id not in self.items:
            await self.error("item_not_found", f"Item {item_id!r} not found.", event_id, "item_id")
            return
        if not isinstance(end, int) or not 0 <= end <= self.items[str(item_id)]:
            await self.error(
                "invalid_value",
                "audio_end_ms is longer than the item's audio.",
                event_id,
                "audio_end_ms",
            )
            return
        await self.emit(
            "conversation.item.truncated", item_id=item_id, content_index=0, audio_end_ms=end
        )

    # -- responses ----------------------------------------------------------------------------

    async def respond(self) -> None:
        reply = self.server.reply(self.replies)
        self.replies += 1
        self.responding = asyncio.get_running_loop().create_task(self.speak(reply))

    async def speak(self, reply: Reply) -> None:
        response_id = self.new_id("resp")
        item_id = self.new_id("item")
        output: list[dict[str, Any]] = []
        await self.emit(
            "response.created",
            response={"object": "realtime.response", "id": response_id, "status": "in_progress"},
        )
        part = {
            "response_id": response_id,
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
        }
        message = {"id": item_id, "type": "message", "role": "assistant", "status": "completed"}
        try:
            await self.emit(
                "response.output_item.added", response_id=response_id, output_index=0, item=message
            )
            pcm = self.server.synth.tones(reply.text)
            step = 8 * DELTA_MS * 2
            for at in range(0, len(pcm), step):
                chunk = pcm[at : at + step]
                self.items[item_id] = self.items.get(item_id, 0) + duration_ms(chunk)
                delta = base64.b64encode(mulaw.encode(chunk)).decode("ascii")
                await self.emit("response.output_audio.delta", delta=delta, **part)
                # Faster than real time, as the API is, but slow enough to be talked over.
                await asyncio.sleep(self.server.delta_pause_s)
            await self.emit("response.output_audio.done", **part)
            await self.emit(
                "response.output_item.done", response_id=response_id, output_index=0, item=message
            )
            output.append(message)
            if reply.end_call:
                call = {
                    "id": self.new_id("item"),
                    "type": "function_call",
                    "name": "end_call",
                    "call_id": self.new_id("call"),
                    "arguments": "{}",
                    "status": "completed",
                }
                output.append(call)
                await self.emit(
                    "response.function_call_arguments.done",
                    response_id=response_id,
                    item_id=call["id"],
                    output_index=1,
                    call_id=call["call_id"],
                    name="end_call",
                    arguments="{}",
                )
            status = "completed"
        except asyncio.CancelledError:
            if self.ws.closed:
                raise
            status = "cancelled"
        self.server.finished(status)
        await self.emit(
            "response.done",
            response={
                "object": "realtime.response",
                "id": response_id,
                "status": status,
                "status_details": {"type": status, "reason": "turn_detected"}
                if status == "cancelled"
                else None,
                "output": output,
            },
        )


class RealtimeServer(StartStop["RealtimeServer"]):
    """The fake realtime server, on a background thread."""

    def __init__(
        self,
        api_key: str = "sk-test-realtime-key",
        replies: Iterable[Reply] = (Reply("Hello, how can I help you today?"),),
        *,
        turns: TurnSettings | None = None,
        delta_pause_s: float = 0.01,
    ) -> None:
        self.api_key = api_key
        self._replies = tuple(replies)
        self.turns = turns or TurnSettings(start_ms=60, end_ms=300)
        self.delta_pause_s = delta_pause_s
        self.synth = ToneSynth()
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._responses: list[str] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self.handshakes: list[Mapping[str, str]] = []
        """Each handshake's query parameters."""
        self._server = LoopThread("realtime-fake")

    @property
    def port(self) -> int:
        """The port it listens on while started; 0 otherwise."""
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url("ws", "/v1/realtime")

    @property
    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._received)

    def received_types(self) -> list[str]:
        return [str(event["type"]) for event in self.received]

    def record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._received.append(event)

    @property
    def responses(self) -> list[str]:
        """The status of each response finished so far: `completed` or `cancelled`."""
        with self._lock:
            return list(self._responses)

    def finished(self, status: str) -> None:
        with self._lock:
            self._responses.append(status)

    def reply(self, index: int) -> Reply:
        return self._replies[min(index, len(self._replies) - 1)]

    def drop_sessions(self) -> None:
        """Close every open session from the server's side (code 1011)."""

        async def close() -> None:
            for ws in list(self._sockets):
                await ws.close(code=1011, message=b"server error")

        self._server.run(close())

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> RealtimeServer:
        app = web.Application()
        app.router.add_get("/v1/realtime", self._handle)
        self._server.start(app, shutdown_timeout=1.0, access_log=None)
        return self

    def stop(self) -> None:
        self._server.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.handshakes.append(dict(request.query))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(
                {
                    "error": {
                        "message": "Incorrect API key provided.",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                        "param": None,
                    }
                },
                status=401,
            )
        model = request.query.get("model", "")
        if not model:
            return web.json_response(
                {
                    "error": {
                        "message": "Missing required parameter: 'model'.",
                        "type": "invalid_request_error",
                        "code": "missing_required_parameter",
                        "param": "model",
                    }
                },
                status=400,
            )
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        session = _Session(self, ws, model)
        try:
            await session.emit("session.created", session=session.config)
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await session.handle(message.data)
                elif message.type is WSMsgType.BINARY:
                    await session.error("invalid_json", "Binary frames are not events.", None)
        finally:
            self._sockets.discard(ws)
            if session.responding is not None:
                session.responding.cancel()
        return ws
