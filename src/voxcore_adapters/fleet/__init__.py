"""The fleet's `POST /attach` over HTTP, shared by every role that hands a call to a worker
(the dialler for answered outbound calls, the API for inbound ones)."""

from voxcore_adapters.fleet.http import AttachMedia, AttachRefused, CarrierStream, HttpFleetClient

__all__ = ["AttachMedia", "AttachRefused", "CarrierStream", "HttpFleetClient"]
