"""WebSocket `/media/{carrier}`: a carrier's media stream, the audio of one call.

The socket is accepted first so that a refusal can say why: every stream that cannot run ends
with a close code and a reason (`voxcore_adapters.carriers.frames.CloseCode`): 1013 when the
worker is busy or draining, 1008 for an unknown carrier or a stream that does not say which
call it is, 1003 for audio the worker does not speak, 1007 for a malformed frame.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from apps.fleet.errors import SlotTaken
from apps.fleet.params import PathName, RunnerArg, SettingsArg
from voxcore_adapters.carriers import CODECS
from voxcore_adapters.carriers.frames import CloseCode, FrameError, close_reason
from voxcore_adapters.carriers.leg import Receive, Send, StreamClosed, StreamLeg, open_stream

log = logging.getLogger(__name__)


@websocket("/media/{carrier:str}")
async def media_stream(
    socket: WebSocket[Any, Any, Any], carrier: PathName, runner: RunnerArg, settings: SettingsArg
) -> None:
    await socket.accept()
    codec = CODECS.get(carrier)
    if codec is None:
        known = ", ".join(sorted(CODECS))
        await _close(socket, CloseCode.POLICY, f"unknown carrier {carrier!r}: one of {known}")
        return
    receive = _receiver(socket)
    send = _sender(socket)
    try:
        start = await open_stream(
            codec, receive, settings.media_idle_s, dict(socket.query_params.items())
        )
        call = runner.take_stream(start, carrier)
    except FrameError as error:
        await _close(socket, error.code, error.reason)
        return
    except SlotTaken as error:
        await _close(socket, CloseCode.TRY_AGAIN, f"{error.code}: {error}")
        return
    leg = StreamLeg(codec, start, receive, send, settings.media_idle_s)
    outcome = await runner.run(call, leg)
    if leg.failure is not None:
        await _close(socket, leg.failure.code, leg.failure.reason)
    else:
        await _close(socket, CloseCode.NORMAL, f"call ended: {outcome.disposition.value}")


def _receiver(socket: WebSocket[Any, Any, Any]) -> Receive:
    async def receive() -> str | bytes | None:
        try:
            message = await socket.receive()
        except WebSocketDisconnect:
            return None
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if isinstance(text, str):
            return text
        data = message.get("bytes")
        return data if isinstance(data, bytes) else b""

    return receive


def _sender(socket: WebSocket[Any, Any, Any]) -> Send:
    async def send(frame: str) -> None:
        try:
            await socket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError) as error:
            # Granian raises RuntimeError for a send after the peer left.
            raise StreamClosed(str(error)) from error

    return send


async def _close(socket: WebSocket[Any, Any, Any], code: CloseCode, reason: str) -> None:
    try:
        await socket.close(code=int(code), reason=close_reason(reason))
    except (WebSocketDisconnect, RuntimeError, OSError) as error:
        # The carrier already closed its side: there is nothing left to close.
        log.debug("stream already closed (%s) before close %d: %r", reason, code, error)
