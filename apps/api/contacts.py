"""`/v1/campaigns/{campaign_id}/contacts`: a campaign's contacts: streamed bulk import, listing
and counts by state."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.contact_import import (
    PARSERS,
    BodyTooLarge,
    ImportOutcome,
    Row,
    contact_of,
    run_import,
    tally,
)
from apps.api.deps import Deps
from apps.api.errors import responses
from apps.api.params import CallerArg, DepsArg, PathId, SettingsArg
from apps.api.raw_bodies import raw_body
from apps.api.scope import own_campaign
from apps.api.wire import Out
from voxcore_adapters.http_errors import ErrorBody
from voxcore_domain.model import Campaign, Contact, ContactState, Disposition
from voxcore_domain.ports import MAX_PAGE, ImportReport

log = logging.getLogger(__name__)


class ContactOut(Out):
    id: str
    campaign_id: str
    phone: str
    timezone: str | None
    variables: dict[str, str]
    state: ContactState
    attempts: int
    next_attempt_at: datetime
    """Not dialled before this instant."""
    last_disposition: Disposition | None

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.id,
            campaign_id=contact.campaign_id,
            phone=contact.phone,
            timezone=contact.timezone,
            variables=dict(contact.variables),
            state=contact.state,
            attempts=contact.attempts,
            next_attempt_at=contact.next_attempt_at,
            last_disposition=contact.last_disposition,
        )


class ContactPage(Out):
    items: list[ContactOut]
    next_after: str | None
    """Pass as `after` for the next page; null on the last one."""


class StateCounts(Out):
    campaign_id: str
    total: int
    states: dict[ContactState, int]
    """Every state, 0 included."""


class RowErrorOut(Out):
    row: int
    """1 for the first row after a CSV header, the first array element, the first line."""
    field: str
    """The column or key at fault; `row` for the row as a whole, `body` for the body."""
    reason: str


class ImportResult(Out, omit_defaults=True):
    """What an import stored and what it refused, row by row."""

    rows: int
    """Rows read."""
    inserted: int
    rejected: int
    errors: list[RowErrorOut]
    """The rejected rows in row order (the first 1000); a stop is the last, field `body`."""
    errors_truncated: bool
    complete: bool
    """False when the body could not be read to its end: rows after `errors`' last were not
    read. The rows before it are stored."""
    error: str | None = None
    message: str | None = None
    field: str | None = None


IMPORT_DESCRIPTION = """\
Stream contacts into the campaign, as `text/csv` (a header naming `phone`, optionally `timezone`;
other columns become the contact's variables), `application/json` (an array of
`{"phone", "timezone", "variables"}` objects) or `application/x-ndjson` (one such object a line).
The body is parsed as it arrives and stored in batches, so any size is fine up to the configured
limit. Numbers must be E.164; a number the campaign already has is refused as a duplicate. Good
rows are stored, bad ones reported with their row number, field and reason (200). A body that
cannot be read on (malformed JSON, an unterminated quote, not UTF-8) stops the import: the rows
before are stored, and the answer is 400 with the same report. Importing again is safe: the rows
already stored come back as duplicates."""


def _media_type(request: Request[Any, Any, Any]) -> str:
    media_type, options = request.content_type
    charset = options.get("charset", "utf-8").lower()
    if media_type not in PARSERS or charset not in ("utf-8", "utf8"):
        accepted = ", ".join(PARSERS)
        raise HTTPException(
            status_code=415, detail=f"send one of {accepted}, in UTF-8; got {media_type!r}"
        )
    return media_type


async def _limited(request: Request[Any, Any, Any], max_bytes: int) -> AsyncIterator[bytes]:
    """The request's body as it arrives; `BodyTooLarge` once it is over `max_bytes` (a body
    sent without `Content-Length`, chunked, is only known to be too large then)."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > max_bytes:
            raise BodyTooLarge(f"the body is over the limit of {max_bytes} bytes")
        yield chunk


def _contact(row: Row, *, deps: Deps, campaign: Campaign) -> Contact:
    return contact_of(row, deps.new_id(), campaign, deps.clock.now())


async def _store(deps: Deps, contacts: list[Contact]) -> ImportReport:
    # pymongo blocks: one batch at a time off the event loop, while the body waits.
    return await anyio.to_thread.run_sync(deps.contact_import.import_contacts, contacts)


def _result(outcome: ImportOutcome) -> Response[ImportResult]:
    errors = [RowErrorOut(row=e.row, field=e.field, reason=e.reason) for e in outcome.errors]
    stopped = outcome.stopped
    if stopped is not None:
        errors.append(RowErrorOut(row=stopped.row, field=stopped.field, reason=stopped.reason))
    result = ImportResult(
        rows=outcome.rows,
        inserted=outcome.inserted,
        rejected=outcome.rejected,
        errors=errors,
        errors_truncated=outcome.errors_truncated,
        complete=stopped is None,
    )
    if stopped is None:
        return Response(result, status_code=200)
    # The shape of every other 400 (413) too, so a client's generic error handling reads it.
    stop = msgspec.structs.replace(
        result,
        error="too_large" if outcome.too_large else "bad_request",
        message=f"the import stopped at row {stopped.row}: {stopped.reason}",
        field="body",
    )
    return Response(stop, status_code=413 if outcome.too_large else 400)


class ContactController(Controller):
    path = "/campaigns/{campaign_id:str}/contacts"
    tags = ("contacts",)
    guards = (allow(Role.TENANT, Role.ADMIN),)

    @post(
        "/import",
        status_code=200,
        # Counted against the settings' limit as the body streams in (see `_limited`).
        request_max_body_size=None,
        operation_class=raw_body(
            "The contacts, streamed", ["text/csv", "application/json", "application/x-ndjson"]
        ),
        summary="Import contacts from CSV, JSON or JSON lines, streamed",
        description=IMPORT_DESCRIPTION,
        responses={
            **responses(401, 403, 404, 415, 429),
            413: ResponseSpec(
                ImportResult | ErrorBody,
                description="The body is over `VOX_API_IMPORT_MAX_BYTES`: announced so "
                "(`Content-Length`, nothing stored, an error), or found so while streaming "
                "(the import's report; the rows before the limit are stored).",
            ),
            400: ResponseSpec(
                ImportResult | ErrorBody,
                description="The body could not be read to its end; the rows before are stored "
                "(the import's report). Or the admin key sent no `X-Vox-Tenant` (an error).",
            ),
        },
    )
    async def import_contacts(
        self,
        campaign_id: PathId,
        request: Request[Any, Any, Any],
        caller: CallerArg,
        deps: DepsArg,
        settings: SettingsArg,
    ) -> Response[ImportResult]:
        campaign = await anyio.to_thread.run_sync(own_campaign, deps.campaigns, caller, campaign_id)
        parse = PARSERS[_media_type(request)]
        announced = request.content_length
        if announced is not None and announced > settings.import_max_bytes:
            raise HTTPException(
                status_code=413, detail=f"the body is over {settings.import_max_bytes} bytes"
            )
        outcome = await run_import(
            parse(_limited(request, settings.import_max_bytes)),
            functools.partial(_contact, deps=deps, campaign=campaign),
            functools.partial(_store, deps),
            settings.import_batch_rows,
        )
        log.info("contact import into campaign %s: %s", campaign.id, tally(outcome))
        return _result(outcome)

    @get(
        "/",
        sync_to_thread=True,
        summary="List a campaign's contacts, a page at a time, in id order",
        responses=responses(400, 401, 403, 404, 429),
    )
    def list_contacts(
        self,
        campaign_id: PathId,
        caller: CallerArg,
        deps: DepsArg,
        # `state` is a name Litestar keeps for the app's state: the query parameter is aliased.
        in_state: Annotated[ContactState | None, QueryParameter(name="state")] = None,
        after: Annotated[
            str | None, QueryParameter(description="`next_after` of the last page")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 100,
    ) -> ContactPage:
        own_campaign(deps.campaigns, caller, campaign_id)
        contacts = deps.contacts.page(campaign_id, state=in_state, after=after, limit=limit)
        return ContactPage(
            items=[ContactOut.of(contact) for contact in contacts],
            next_after=contacts[-1].id if len(contacts) == limit else None,
        )

    @get(
        "/counts",
        sync_to_thread=True,
        summary="How many of the campaign's contacts are in each state",
        responses=responses(400, 401, 403, 404, 429),
    )
    def counts(
        self,
        campaign_id: PathId,
        caller: CallerArg,
        deps: DepsArg,
    ) -> StateCounts:
        own_campaign(deps.campaigns, caller, campaign_id)
        states = deps.contacts.state_counts(campaign_id)
        return StateCounts(campaign_id=campaign_id, total=sum(states.values()), states=states)
