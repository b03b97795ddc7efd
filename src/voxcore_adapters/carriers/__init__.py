"""Carrier media streams over WebSocket: one codec module per carrier's dialect (Twilio,
Exotel, Plivo, Telnyx) and `StreamLeg`, which runs a call's media over any of them."""

from __future__ import annotations

from collections.abc import Mapping

from voxcore_adapters.carriers.exotel import ExotelCodec
from voxcore_adapters.carriers.frames import CarrierCodec
from voxcore_adapters.carriers.plivo import PlivoCodec
from voxcore_adapters.carriers.telnyx import TelnyxCodec
from voxcore_adapters.carriers.twilio import TwilioCodec

CODECS: Mapping[str, CarrierCodec] = {
    codec.name: codec for codec in (TwilioCodec(), ExotelCodec(), PlivoCodec(), TelnyxCodec())
}
"""Each carrier's codec by the name in the stream's URL, `/media/<name>`."""

__all__ = ["CODECS", "ExotelCodec", "PlivoCodec", "TelnyxCodec", "TwilioCodec"]
