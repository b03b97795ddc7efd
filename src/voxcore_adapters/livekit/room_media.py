"""The attach body's media for a call LiveKit dialled into a room: the room, a token for the
agent to join it with, and the phone leg it is to talk to.

The dialler places a call with `CreateSIPParticipant` into room `call-<call id>` and, once the
callee answers, hands the call to a fleet worker (`POST /attach`). The token is made here, with
the dialler's LiveKit key, by the same `agent_token` the worker uses for the rooms it sets up
itself: identity `agent-<call id>`, `roomJoin` on that one room, publish the microphone,
subscribe, no data and no admin rights. The worker checks that the token grants that room and
has not expired (422 `media.token` otherwise), joins the room with the RTC SDK in a room
process of the call's own (`voxcore_adapters.livekit.joining.join_room`) and talks to
`sip-<call id>`.

**Not tested here:** the worker's WebRTC join of the room, which needs a LiveKit server (none
can run on the test machine). The tests check the body on the wire against the worker's own
validation, the token's claims decoded with the key, the worker joining with exactly this token
(through a stand-in for `join_room`), and, end to end against the LiveKit Twirp double, the real
join failing cleanly with the call ended `failed`, its room deleted and the slot freed.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from voxcore_adapters.livekit.outcomes import agent_identity, sip_identity
from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_adapters.livekit.tokens import AGENT_TOKEN_TTL, MAX_WIDGET_TTL, agent_token
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import AttachRequest


def _ttl(_: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or not timedelta(0) < value <= MAX_WIDGET_TTL:
        raise ValidationError(attribute.name, f"must be above 0 and at most 24 hours: {value!r}")


@attrs.frozen
class LiveKitRoomMedia:
    """`AttachMedia` for calls placed through LiveKit SIP: the worker joins the call's room."""

    livekit: LiveKitSettings
    """The server the calls were placed on and the key their join tokens are signed with."""
    token_ttl: timedelta = attrs.field(default=AGENT_TOKEN_TTL, validator=_ttl)
    """How long the agent may use its token (to join, and to rejoin after a network blip)."""

    def describe(self, request: AttachRequest) -> dict[str, object]:
        token = agent_token(
            self.livekit.api_key,
            self.livekit.api_secret,
            request.room,
            agent_identity(request.call_id),
            ttl=self.token_ttl,
        )
        return {
            "kind": "livekit",
            "room": request.room,
            "token": token,
            "caller_identity": sip_identity(request.call_id),
        }
