"""A simulated carrier for tests and benchmarks: Twilio's side of a bidirectional media stream,
with a caller whose audio the test scripts.

It makes the frames Twilio sends (`connected`, `start`, 20 ms μ-law `media`, `dtmf`, `stop`)
and takes the frames the agent sends back (`media`, `mark`, `clear`) as Twilio does: the agent's
audio is queued and played out, each mark comes back once the audio before it has played, and
`clear` drops the queue and sends the waiting marks back at once.

Time is the caller's audio: every 20 ms frame the test sends plays 20 ms of the queue, so a
test runs a minute of call as fast as it can send frames, and the agent (whose clock is the
same frames) sees exactly the timing a real call would have. The simulator has no socket of its
own: a test feeds it the agent's frames (`hear`) and sends what it returns.
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from collections import deque
from collections.abc import Mapping
from typing import Any

from voxcore_domain.voice import mulaw
from voxcore_domain.voice.audio import FRAME_BYTES, SAMPLE_RATE, silence
from voxcore_domain.voice.mulaw import to_pcm


def voice(ms: int, hertz: float = 180.0, level_dbfs: float = -20.0) -> bytes:
    """`ms` of a steady voiced sound (a tone and its second harmonic) at about `level_dbfs`:
    loud enough for any turn detector to call it speech."""
    count = SAMPLE_RATE * ms // 1000
    peak = 32767 * math.sqrt(2) * 10 ** (level_dbfs / 20) / 1.2
    step = 2 * math.pi * hertz / SAMPLE_RATE
    return to_pcm(
        array(
            "h",
            (
                round(peak * (math.sin(step * i) + 0.5 * math.sin(2 * step * i)))
                for i in range(count)
            ),
        )
    )


def quiet(ms: int) -> bytes:
    """`ms` of digital silence: a caller who says nothing still streams it."""
    return silence(ms)


class TwilioCarrier:
    """One Twilio media stream as the carrier sees it."""

    def __init__(
        self,
        parameters: Mapping[str, str],
        stream_sid: str = "MZ00000000000000000000000000000001",
        call_sid: str = "CA00000000000000000000000000000001",
    ) -> None:
        self.parameters = dict(parameters)
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.sent = bytearray()
        """The caller's audio as sent, decoded from μ-law: what the agent received."""
        self.heard = bytearray()
        """All the agent's audio that arrived, decoded."""
        self.played = bytearray()
        """The agent's audio as the caller heard it, on the caller's timeline (silence where
        nothing played)."""
        self.prompts: dict[str, bytes] = {}
        """The agent's audio that arrived before each of its marks, by mark name."""
        self.marks: list[str] = []
        """The agent's marks, in the order they arrived."""
        self.echoed: list[str] = []
        """Marks sent back, in order."""
        self.clears = 0
        self.events: list[str] = []
        """The agent's frames in order: `media`, `mark:<name>` or `clear`."""
        self._queue: deque[bytes | str] = deque()
        """Audio still to play, and marks behind it."""
        self._since_mark = bytearray()
        self._sequence = 0
        self._chunk = 0

    # -- what the carrier sends --------------------------------------------------------------

    def opening(self) -> list[str]:
        return [
            self._frame({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
            self._frame(
                {
                    "event": "start",
                    "streamSid": self.stream_sid,
                    "start": {
                        "accountSid": "AC00000000000000000000000000000001",
                        "streamSid": self.stream_sid,
                        "callSid": self.call_sid,
                        "tracks": ["inbound"],
                        "mediaFormat": {
                            "encoding": "audio/x-mulaw",
                            "sampleRate": 8000,
                            "channels": 1,
                        },
                        "customParameters": self.parameters,
                    },
                }
            ),
        ]

    def say(self, pcm: bytes) -> list[str]:
        """The caller's audio as 20 ms media frames, each followed by the marks whose audio
        finished playing during it."""
        frames: list[str] = []
        for at in range(0, len(pcm) - len(pcm) % FRAME_BYTES, FRAME_BYTES):
            payload = mulaw.encode(pcm[at : at + FRAME_BYTES])
            self.sent += mulaw.decode(payload)
            self._chunk += 1
            frames.append(
                self._frame(
                    {
                        "event": "media",
                        "streamSid": self.stream_sid,
                        "media": {
                            "track": "inbound",
                            "chunk": str(self._chunk),
                            "timestamp": str((self._chunk - 1) * 20),
                            "payload": base64.b64encode(payload).decode(),
                        },
                    }
                )
            )
            frames += self._play(FRAME_BYTES)
        return frames

    def press(self, digit: str) -> list[str]:
        return [
            self._frame(
                {
                    "event": "dtmf",
                    "streamSid": self.stream_sid,
                    "dtmf": {"track": "inbound_track", "digit": digit},
                }
            )
        ]

    def stop(self) -> list[str]:
        return [
            self._frame(
                {
                    "event": "stop",
                    "streamSid": self.stream_sid,
                    "stop": {
                        "accountSid": "AC00000000000000000000000000000001",
                        "callSid": self.call_sid,
                    },
                }
            )
        ]

    # -- what the agent sends ----------------------------------------------------------------

    def hear(self, text: str) -> list[str]:
        """Take one frame from the agent; returns the frames the carrier answers with at once
        (marks sent back by `clear`, or a mark that has no audio in front of it)."""
        body: dict[str, Any] = json.loads(text)
        event = body["event"]
        if body.get("streamSid") != self.stream_sid:
            raise AssertionError(f"{event} frame for stream {body.get('streamSid')!r}")
        if event == "media":
            pcm = mulaw.decode(base64.b64decode(body["media"]["payload"], validate=True))
            self.heard += pcm
            self._since_mark += pcm
            self._queue.append(pcm)
            self.events.append("media")
            return []
        if event == "mark":
            name = body["mark"]["name"]
            self.marks.append(name)
            self.prompts[name] = bytes(self._since_mark)
            self._since_mark.clear()
            self._queue.append(name)
            self.events.append(f"mark:{name}")
            return self._play(0)
        if event == "clear":
            self.clears += 1
            self.events.append("clear")
            self._since_mark.clear()
            waiting = [item for item in self._queue if isinstance(item, str)]
            self._queue.clear()
            return [self._echo(name) for name in waiting]
        raise AssertionError(f"the agent sent an unknown event {event!r}")

    @property
    def queued_ms(self) -> int:
        """How much of the agent's audio is still to play."""
        size = sum(len(item) for item in self._queue if isinstance(item, bytes))
        return size * 1000 // (SAMPLE_RATE * 2)

    # -- internals -----------------------------------------------------------------------------

    def _play(self, budget: int) -> list[str]:
        """Play `budget` bytes of queued audio; the marks reached on the way go back."""
        echoes: list[str] = []
        played = bytearray()
        while self._queue:
            head = self._queue[0]
            if isinstance(head, str):
                self._queue.popleft()
                echoes.append(self._echo(head))
                continue
            if budget == 0:
                break
            take = min(budget, len(head))
            played += head[:take]
            budget -= take
            if take == len(head):
                self._queue.popleft()
            else:
                self._queue[0] = head[take:]
        if played or budget:
            self.played += played + bytes(budget)
        return echoes

    def _echo(self, name: str) -> str:
        self.echoed.append(name)
        return self._frame({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    def _frame(self, body: dict[str, Any]) -> str:
        self._sequence += 1
        return json.dumps({**body, "sequenceNumber": str(self._sequence)})
