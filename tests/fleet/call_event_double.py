"""A stand-in for the API's `POST /v1/internal/call-events`, enforcing the call-event contract
of docs/repository-map.md, for the fleet's HTTP adapter tests while the API's own endpoint is
built on another branch (the end-to-end test against the real API comes with the merge).

- `Authorization: Bearer <VOX_TEST_INTERNAL_TOKEN>`, else 401;
- a body that does not match the contract (missing, unknown or mistyped field; `disposition`
  without `kind=ended` or missing on it; `sequence` below 1) → 400 naming the field;
- a call id not in `VOX_TEST_CALLS` (comma separated) → 404, but for a stand-alone call
  (`origin` and `agent_id` set, no `campaign_id`), whose first report records the call;
- a repeated (`call_id`, `sequence`) → 200 `{"duplicate": true}`; a new one → 202.

`GET /events` lists the accepted bodies, for the tests to look at.

Serve it with `granian --interface asgi --factory tests.fleet.call_event_double:create_app`.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Litestar, Request, Response, get, post

Kind = Literal["attached", "ended"]
Origin = Literal["dialout", "widget"]
Disposition = Literal["completed", "transferred", "hung_up", "voicemail", "failed"]


class Step(msgspec.Struct, forbid_unknown_fields=True):
    at_ms: int
    kind: str
    detail: str


class Detail(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None
    transcript: list[Step] | None = None
    recording_key: str | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True):
    call_id: str
    sequence: int
    kind: Kind
    at: datetime
    tenant_id: str
    campaign_id: str | None
    lease_token: str | None
    worker: str
    disposition: Disposition | None = None
    detail: Detail | None = None
    origin: Origin | None = None
    agent_id: str | None = None


def _refused(status: int, message: str, field: str | None = None) -> Response[Any]:
    error = "not_found" if status == 404 else "bad_request"
    return Response({"error": error, "message": message, "field": field}, status_code=status)


def create_app() -> Litestar:
    token = os.environ["VOX_TEST_INTERNAL_TOKEN"]
    calls = set(filter(None, os.environ.get("VOX_TEST_CALLS", "").split(",")))
    accepted: dict[tuple[str, int], Any] = {}

    @post("/v1/internal/call-events")
    async def call_event(request: Request[Any, Any, Any]) -> Response[Any]:
        if request.headers.get("authorization") != f"Bearer {token}":
            return Response({"error": "unauthorized"}, status_code=401)
        raw = await request.body()
        try:
            event = msgspec.json.decode(raw, type=Event)
        except msgspec.ValidationError as error:
            # msgspec names the field as `$.detail.bogus`.
            text = str(error)
            field = text.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in text else "body"
            return _refused(400, text, field)
        except msgspec.DecodeError as error:
            return _refused(400, str(error), "body")
        if event.sequence < 1:
            return _refused(400, "must be 1 or more", "sequence")
        if (event.kind == "ended") != (event.disposition is not None):
            return _refused(400, "is set on ended events, and only on them", "disposition")
        if (event.campaign_id is None) != (event.origin is not None):
            return _refused(400, "is required but for a stand-alone call", "campaign_id")
        if (event.agent_id is None) != (event.origin is None):
            return _refused(400, "is required with `origin`, and only with it", "agent_id")
        if event.call_id not in calls:
            if event.origin is None:
                return _refused(404, f"no call attempt {event.call_id!r}")
            calls.add(event.call_id)
        key = (event.call_id, event.sequence)
        if key in accepted:
            return Response({"duplicate": True}, status_code=200)
        accepted[key] = msgspec.json.decode(raw)
        return Response({"duplicate": False}, status_code=202)

    @get("/events")
    async def events() -> list[Any]:
        return list(accepted.values())

    return Litestar([call_event, events])
