"""Calls: the fleet's reports of each call (internal token), and a tenant's calls to search and
read in detail (its transcript and a presigned URL of its recording).

A call of another tenant answers 404 as a missing one does.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Response, get, post
from litestar.exceptions import ValidationException
from litestar.params import JSONBody, QueryParameter

from apps.api.auth import allow
from apps.api.call_reporting import ContactOutcome, receive
from apps.api.caller import Role
from apps.api.deps import Deps
from apps.api.errors import NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId, SettingsArg
from apps.api.scope import own_tenant_id
from apps.api.wire import Body, Out, Ref
from voxcore_domain.callevents import CallEvent
from voxcore_domain.callreports import CallReport, Standalone, recording_key, transcript
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallAttempt, CallOrigin, Disposition
from voxcore_domain.ports import MAX_CALLS_PAGE, CallQuery, RecordingNotFound

Sequence = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class CallEventIn(Body):
    """One step of a call, as a fleet worker reports it."""

    call_id: Ref
    sequence: Sequence
    """1 for the worker's first report of the call, then one more with each report."""
    kind: str
    """`dialed`, `answered`, `attached` or `ended`."""
    at: datetime
    """When the step happened, with its offset (UTC: `Z`)."""
    tenant_id: Ref
    campaign_id: Ref | None = None
    """The call's campaign; None (or absent) for a stand-alone call, which has none."""
    lease_token: Ref | None = None
    """The dialler's lease on the contact, as the attach request carried it; None (or empty)
    for a call without a contact (inbound, stand-alone), required for a campaign's call."""
    origin: str | None = None
    """Set on every report of a stand-alone call the worker started itself: `dialout` or
    `widget`. The first such report records the call (no campaign, no contact)."""
    agent_id: Ref | None = None
    """The agent that ran a stand-alone call: required with `origin`, and must be of
    `tenant_id`."""
    disposition: str | None = None
    """How the call ended: required for `ended`, absent otherwise."""
    worker: Ref | None = None
    """Who ran the call, e.g. `host-1/voxcore_3`."""
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
    """Kept for call detail: a `reason`, a `transcript` (a list), a `recording_key`."""

    def to_domain(self) -> CallReport:
        for name, kind in (("transcript", list), ("recording_key", str), ("reason", str)):
            if name in self.detail and not isinstance(self.detail[name], kind):
                raise ValidationError(f"detail.{name}", f"must be a {kind.__name__}")
        standalone = None
        if self.origin is not None:
            if self.agent_id is None:
                raise ValidationError("agent_id", "is required with `origin`")
            standalone = Standalone(self.origin, self.agent_id)
        elif self.agent_id is not None:
            raise ValidationError("agent_id", "is only for a stand-alone call (with `origin`)")
        event = CallEvent(
            self.kind,
            self.call_id,
            self.campaign_id or "",
            self.tenant_id,
            # BSON keeps milliseconds: every store then holds the same instant.
            self.at.replace(microsecond=self.at.microsecond // 1000 * 1000),
            self.disposition,
            self.worker,
        )
        return CallReport(
            self.call_id, self.sequence, event, self.lease_token or "", self.detail, standalone
        )


class CallEventAnswer(Out):
    duplicate: bool
    """A repeat of a report already applied: nothing changed."""
    contact: ContactOutcome
    """`closed`: this `ended` closed the contact by the retry policy; `stale`: it ended the
    call, but its lease token no longer holds the contact in a call, so the contact was left
    as it is (the attempt's outcome is still recorded); `unchanged`: not the call's end."""
    contact_state: str | None = None
    """The contact's state after it was closed."""


def _bad_body(error: ValidationError) -> ValidationException:
    """The contract answers a report it cannot read with 400, naming the field."""
    return ValidationException(
        detail=error.message, extra=[{"key": error.field, "message": error.message}]
    )


class CallEventController(Controller):
    path = "/internal/call-events"
    tags = ("calls",)
    guards = (allow(Role.INTERNAL),)

    @post(
        "/",
        summary="Report a step of a call (fleet workers, internal token)",
        description=(
            "Idempotent by `(call_id, sequence)`: a repeat answers 200 `{duplicate: true}` and "
            "changes nothing; a new report answers 202. Reports may arrive out of order: the "
            "call's attempt only grows, and the first `ended` decides how the call ended. That "
            "`ended` closes the contact through the campaign's retry policy, fenced by "
            "`lease_token` (`contact: stale` when the token no longer holds it). Every new "
            "report is published to the campaign's event stream. A call without an attempt is "
            "404; a sequence number already used by another step of the call is 409. A "
            "stand-alone call (a worker's own dial-out or widget call) has no attempt before "
            "its first report: each of its reports carries `origin` (`dialout`, `widget`) and "
            "`agent_id`, with no `campaign_id` or `lease_token`, and the first to arrive "
            "records the call under `tenant_id` once `agent_id` is found to be that tenant's "
            "(400 naming `agent_id` otherwise). Such a call closes no contact and is published "
            "to no campaign's stream."
        ),
        status_code=202,
        responses=responses(400, 401, 403, 404, 409, 429, 503),
    )
    async def report(self, data: JSONBody[CallEventIn], deps: DepsArg) -> Response[CallEventAnswer]:
        try:
            report = data.to_domain()
        except ValidationError as error:
            raise _bad_body(error) from None
        try:
            applied = await receive(deps, report)
        except ValidationError as error:
            raise _bad_body(error) from None
        answer = CallEventAnswer(
            duplicate=applied.duplicate,
            contact=applied.contact,
            contact_state=None if applied.contact_state is None else applied.contact_state.value,
        )
        return Response(answer, status_code=200 if applied.duplicate else 202)


# -- a tenant's calls ---------------------------------------------------------------------------


class CallOut(Out):
    """One dial of one contact and what became of it, or one stand-alone call."""

    id: str
    campaign_id: str | None
    """None for a stand-alone call (`origin` `dialout` or `widget`)."""
    contact_id: str | None
    """None for a stand-alone call."""
    number: int
    """1 for the contact's first attempt (and for a stand-alone call)."""
    dialed_at: datetime
    answered_at: datetime | None
    attached_at: datetime | None
    ended_at: datetime | None
    disposition: Disposition | None
    worker: str | None
    origin: CallOrigin
    """`campaign` (the dialler dialled a contact), `inbound`, or a stand-alone call a fleet
    worker started: `dialout` or `widget`."""

    @classmethod
    def of(cls, attempt: CallAttempt) -> CallOut:
        return cls(
            id=attempt.id,
            campaign_id=attempt.campaign_id or None,
            contact_id=attempt.contact_id or None,
            number=attempt.number,
            dialed_at=attempt.dialed_at,
            answered_at=attempt.answered_at,
            attached_at=attempt.attached_at,
            ended_at=attempt.ended_at,
            disposition=attempt.disposition,
            worker=attempt.worker,
            origin=attempt.origin,
        )


class CallPage(Out):
    items: list[CallOut]
    next_cursor: str | None
    """Pass as `cursor` for the next (older) page; None once a page comes back short (a full
    last page is followed by an empty one)."""


class CallEventOut(Out):
    sequence: int
    kind: str
    at: datetime
    disposition: Disposition | None
    worker: str | None
    detail: dict[str, Any]


class CallDetail(Out):
    call: CallOut
    events: list[CallEventOut]
    """The fleet's reports of the call, in sequence order."""
    transcript: list[Any] | None
    """As the latest report carrying one gave it."""
    recording_key: str | None
    recording_url: str | None
    """A presigned GET URL of the recording, valid for the API's `recording_url_ttl_s`; None
    when the call has no stored recording or the API has no S3 credentials."""


def encode_cursor(attempt: CallAttempt) -> str:
    text = f"{attempt.dialed_at.isoformat()}|{attempt.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        instant, call_id = text.split("|", 1)
        at = datetime.fromisoformat(instant)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationError("cursor", "is not a cursor this API gave out") from None
    if at.utcoffset() is None or not call_id:
        raise ValidationError("cursor", "is not a cursor this API gave out")
    return at, call_id


def own_call(deps: Deps, tenant_id: str, call_id: str) -> CallAttempt:
    attempt = deps.call_log.get(call_id)
    if attempt is None or attempt.tenant_id != tenant_id:
        raise NotFound("call", call_id)
    return attempt


def _recording_url(
    deps: Deps, attempt: CallAttempt, key: str | None, ttl: timedelta
) -> tuple[str | None, str | None]:
    """The call's recording key and its presigned URL. A key a report names is used only in
    the call's own folder (`<tenant>/<call>/`), so a report cannot point at another call."""
    store = deps.recordings
    prefix = f"{attempt.tenant_id}/{attempt.id}/"
    if key is not None and not key.startswith(prefix):
        key = None
    if key is None and store is not None:
        found = store.for_call(attempt.tenant_id, attempt.id)
        key = found[0].key if found else None
    if key is None or store is None:
        return key, None
    try:
        return key, store.url(key, ttl)
    except RecordingNotFound:
        return key, None


class CallController(Controller):
    path = "/calls"
    tags = ("calls",)
    guards = (allow(Role.TENANT),)

    @get(
        "/",
        summary="The tenant's calls, newest dial first",
        responses=responses(400, 401, 403, 422, 429, 503),
    )
    async def search(
        self,
        deps: DepsArg,
        caller: CallerArg,
        campaign_id: Annotated[str | None, QueryParameter(max_length=200)] = None,
        disposition: Annotated[Disposition | None, QueryParameter()] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="Dialled at or after (with offset).")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="Dialled before (with offset).")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_CALLS_PAGE)] = 100,
        cursor: Annotated[str | None, QueryParameter(max_length=400)] = None,
    ) -> CallPage:
        query = CallQuery(
            own_tenant_id(caller),
            campaign_id=campaign_id,
            disposition=disposition,
            since=since,
            until=until,
            before=None if cursor is None else decode_cursor(cursor),
            limit=limit,
        )
        found = await anyio.to_thread.run_sync(deps.call_log.search, query)
        more = len(found) == limit
        return CallPage(
            items=[CallOut.of(attempt) for attempt in found],
            next_cursor=encode_cursor(found[-1]) if more else None,
        )

    @get(
        "/{call_id:str}",
        summary="A call: its attempt, the fleet's reports, transcript and recording URL",
        responses=responses(401, 403, 404, 429, 503),
    )
    async def detail(
        self, call_id: PathId, deps: DepsArg, caller: CallerArg, settings: SettingsArg
    ) -> CallDetail:
        tenant_id = own_tenant_id(caller)
        ttl = timedelta(seconds=settings.recording_url_ttl_s)

        def read() -> CallDetail:
            attempt = own_call(deps, tenant_id, call_id)
            reports = deps.call_reports.for_call(call_id)
            key, url = _recording_url(deps, attempt, recording_key(reports), ttl)
            return CallDetail(
                call=CallOut.of(attempt),
                events=[
                    CallEventOut(
                        sequence=r.sequence,
                        kind=r.event.kind.value,
                        at=r.event.at,
                        disposition=r.event.disposition,
                        worker=r.event.worker,
                        detail=dict(r.detail),
                    )
                    for r in reports
                ],
                transcript=transcript(reports),
                recording_key=key,
                recording_url=url,
            )

        return await anyio.to_thread.run_sync(read)
