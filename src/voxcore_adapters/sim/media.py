"""The simulated callee's side of an answered call: a Twilio media stream to the fleet worker
that took the call, carrying speech-like audio in real time until the callee hangs up.

Which worker took the call is what the slot registry says: a worker reports its slot busy with
the call's id within a round trip of `/attach` (`apps.fleet.slot`), so the carrier waits for that
report and connects to the worker's media address, the way a real carrier's stream is routed to
the worker by the host's nginx. `MediaTarget` turns the slot into the address: a worker's Unix
socket (`unix:/run/vox/fleet-{worker}.sock`) or a base URL (`http://127.0.0.1:8080/w/{worker}`
behind nginx); `{host}` and `{worker}` are filled from the slot.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import aiohttp
import attrs

from voxcore_adapters.tasks import cancel_and_wait
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.ports import SlotRegistry
from voxcore_domain.simulation.callees import Answerer, DrawnCallee

log = logging.getLogger(__name__)

CHUNK_MS = 100
"""Audio goes out in 100 ms batches of 20 ms frames: real time, at a tenth of the wake-ups."""
_SPEECH = voice(CHUNK_MS)
_SILENCE = quiet(CHUNK_MS)


@attrs.frozen
class MediaTarget:
    """Where a worker's media stream connects, as a template over the slot's host and worker."""

    template: str

    def __attrs_post_init__(self) -> None:
        if not self.template.startswith(("unix:", "http://", "https://")):
            raise ValidationError(
                "media_target", f"{self.template!r} must start with unix:, http:// or https://"
            )
        try:
            self.template.format(host="h", worker="w")
        except (KeyError, IndexError, ValueError) as error:
            raise ValidationError(
                "media_target", f"{self.template!r} may only use {{host}} and {{worker}}"
            ) from error

    def address(self, slot: Slot) -> tuple[str | None, str]:
        """The Unix socket to connect through (None over TCP) and the base URL to use."""
        address = self.template.format(host=slot.host, worker=slot.worker)
        if address.startswith("unix:"):
            return address.removeprefix("unix:"), "http://fleet"
        return None, address.rstrip("/")


TURN_GAP_MAX_S = 7.0
"""The longest a person waits between two things they say: the agent closes a call after 8 s
without input (`ConversationSettings.no_input_ms`), and a callee still on the line answers."""


def _talk(callee: DrawnCallee, rng: random.Random) -> list[bytes]:
    """The callee's audio, in 100 ms chunks. A person says something short at even intervals
    over the drawn talk time (at most `TURN_GAP_MAX_S` apart), so a scripted agent, which
    answers each turn and closes after its last reply, holds the call for about that time, as
    the simulator assumes; a machine plays its greeting, then silence while the agent leaves its
    message."""
    chunks = max(1, round(callee.talk_s * 1000 / CHUNK_MS))
    if callee.answerer is Answerer.MACHINE:
        greeting = min(chunks, 40)
        return [_SPEECH] * greeting + [_SILENCE] * (chunks - greeting)
    gap = max(15, min(round(TURN_GAP_MAX_S * 1000 / CHUNK_MS), chunks // 4))
    talk: list[bytes] = []
    while len(talk) < chunks:
        said = rng.randint(6, 12)
        talk += [_SPEECH] * said + [_SILENCE] * max(6, gap - said)
    return talk[:chunks]


class CalleeMedia:
    """Plays answered callees to the fleet: `play` runs one call's stream to its end."""

    def __init__(
        self,
        slots: SlotRegistry,
        target: MediaTarget,
        *,
        wait_s: float = 10.0,
        poll_s: float = 0.05,
        seed: int = 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slots = slots
        self._target = target
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._seed = seed
        self._monotonic = monotonic

    async def locate(self, call_id: str) -> Slot | None:
        """The slot that reports `call_id` busy, once one does within `wait_s`."""
        deadline = self._monotonic() + self._wait_s
        while self._monotonic() < deadline:
            for slot in await self._slots.slots():
                if slot.call_id == call_id and slot.state is SlotState.BUSY:
                    return slot
            await asyncio.sleep(self._poll_s)
        return None

    async def play(self, call_id: str, callee: DrawnCallee) -> str:
        """Stream the callee's side of `call_id` to the worker holding it; returns how the call
        ended: `callee hung up`, the worker's close, or `no worker took the call`."""
        slot = await self.locate(call_id)
        if slot is None:
            return "no worker took the call"
        socket, base = self._target.address(slot)
        connector = aiohttp.UnixConnector(path=socket) if socket else None
        session = aiohttp.ClientSession(connector=connector)
        carrier = TwilioCarrier(
            {"call_id": call_id},
            stream_sid="MZ" + call_id[:32].ljust(32, "0"),
            call_sid="CA" + call_id[:32].ljust(32, "0"),
        )
        rng = random.Random(f"{self._seed}:{call_id}")
        async with session, session.ws_connect(f"{base}/media/twilio") as ws:
            listener = asyncio.get_running_loop().create_task(_listen(ws, carrier))
            try:
                for frame in carrier.opening():
                    await ws.send_str(frame)
                started = self._monotonic()
                for index, chunk in enumerate(_talk(callee, rng)):
                    if listener.done():
                        return listener.result()
                    for frame in carrier.say(chunk):
                        await ws.send_str(frame)
                    # Paced on the clock, not on the sends: a slow send shortens the next wait.
                    delay = started + (index + 1) * CHUNK_MS / 1000 - self._monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                for frame in carrier.stop():
                    await ws.send_str(frame)
                return "callee hung up"
            except (aiohttp.ClientError, ConnectionResetError):
                # A send that failed because the worker had just closed the stream: its close
                # is how the call ended.
                if listener.done():
                    return listener.result()
                raise
            finally:
                await cancel_and_wait(listener)


async def _listen(ws: aiohttp.ClientWebSocketResponse, carrier: TwilioCarrier) -> str:
    """Take the agent's frames (its audio, marks, clears) until the worker closes the stream;
    returns the close reason."""
    while True:
        message = await ws.receive()
        if message.type is aiohttp.WSMsgType.TEXT:
            for echo in carrier.hear(message.data):
                await ws.send_str(echo)
            continue
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
            return f"worker closed the stream: {message.data} {message.extra}"
        return f"stream ended: {message.type.name}"
