"""What Exotel and Telnyx copy of Twilio's Media Streams protocol.

In: `connected`, `dtmf` (`dtmf.digit`), `mark` (`mark.name`, our mark played) and `stop` read
alike. Out: `media`, `mark` and `clear`, each naming the stream under the dialect's own key
(Telnyx names it nowhere). `start` and `media` in differ per carrier: each codec reads those.
"""

from __future__ import annotations

from typing import Any, ClassVar

from voxcore_adapters.carriers.frames import (
    CloseCode,
    Connected,
    Dtmf,
    Frame,
    FrameError,
    Mark,
    Start,
    Stop,
    dumps,
    encode_payload,
    section,
    text_field,
)


class TwilioDialect:
    stream_key: ClassVar[str | None]
    """The key that names the stream in each frame sent; None: frames name no stream."""

    def decode_common(self, event: str, body: dict[str, Any]) -> Frame:
        """The frames every dialect of the family sends alike; `FrameError` for any other."""
        if event == "connected":
            return Connected()
        if event == "dtmf":
            return Dtmf(text_field(section(body, "dtmf", event), "digit", event))
        if event == "mark":
            return Mark(text_field(section(body, "mark", event), "name", event))
        if event == "stop":
            return Stop("the carrier stopped the stream")
        raise FrameError(CloseCode.INVALID, f"unknown event {event!r}")

    def media(self, start: Start, payload: bytes) -> str:
        return self._frame(start, "media", media={"payload": encode_payload(payload)})

    def mark(self, start: Start, name: str) -> str:
        return self._frame(start, "mark", mark={"name": name})

    def clear(self, start: Start) -> str:
        return self._frame(start, "clear")

    def _frame(self, start: Start, event: str, **fields: Any) -> str:
        head = {"event": event}
        if self.stream_key is not None:
            head[self.stream_key] = start.stream_id
        return dumps({**head, **fields})
