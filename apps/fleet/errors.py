"""Every error the worker answers an HTTP request with, in one shape.

The body is `{"error", "message"}` plus `"field"` when one input was at fault, as the Backend
API answers:

- a body that does not match the schema (wrong type, missing or unknown field, malformed JSON)
  is 400 naming the field;
- a value the domain refuses (`ValidationError`) is 422 naming the field;
- a worker that holds a call or is draining is 429 with `Retry-After`: nginx turns it into a
  retry on the next socket, the dialler into a try on the next host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from voxcore_domain.errors import DomainError, ValidationError
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.ports import TelephonyError


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """What went wrong."""

    error: str
    """A stable code: `bad_request`, `validation`, `busy`, `draining`, …"""
    message: str
    field: str | None = None
    """The input at fault, dotted for nested fields (`media.kind`), when there is one."""


class LiveKitNotConfigured(DomainError):
    """This worker has no LiveKit server or key for what was asked (503)."""


class SlotTaken(Exception):
    """This worker cannot take a call now: it holds one, or it is draining."""

    def __init__(self, slot: Slot, retry_after_s: int) -> None:
        draining = slot.state is SlotState.DRAINING
        super().__init__("this worker is draining" if draining else "this worker holds a call")
        self.code = "draining" if draining else "busy"
        self.retry_after_s = retry_after_s


def _response(
    status: int, body: ErrorBody, headers: Mapping[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(body, status_code=status, headers=dict(headers or {}))


# Litestar names the body `data` when an object as a whole is wrong; the field is in the message.
_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")


def _schema_field(detail: Mapping[str, Any]) -> str:
    key = str(detail.get("key") or "")
    named = _FIELD_IN_MESSAGE.search(str(detail.get("message", "")))
    if named is None:
        return key or "body"
    return named.group(1) if key in ("", "data") else f"{key}.{named.group(1)}"


def _schema_error(_: Request[Any, Any, Any], error: ValidationException) -> Response[ErrorBody]:
    details = error.extra if isinstance(error.extra, list) else []
    if details and isinstance(details[0], Mapping):
        first = details[0]
        message = str(first.get("message", error.detail))
        return _response(400, ErrorBody("bad_request", message, _schema_field(first)))
    # Malformed JSON and the like: the body as a whole is at fault.
    return _response(400, ErrorBody("bad_request", error.detail, "body"))


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorBody]:
    code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_")
    field = "body" if error.status_code == 400 else None
    return _response(error.status_code, ErrorBody(code, error.detail, field), error.headers)


def _validation_error(_: Request[Any, Any, Any], error: ValidationError) -> Response[ErrorBody]:
    return _response(422, ErrorBody("validation", error.message, error.field))


def _slot_taken(_: Request[Any, Any, Any], error: SlotTaken) -> Response[ErrorBody]:
    return _response(
        429, ErrorBody(error.code, str(error)), {"Retry-After": str(error.retry_after_s)}
    )


def _livekit_not_configured(
    _: Request[Any, Any, Any], error: LiveKitNotConfigured
) -> Response[ErrorBody]:
    return _response(503, ErrorBody("livekit_not_configured", str(error)))


def _telephony_error(_: Request[Any, Any, Any], error: TelephonyError) -> Response[ErrorBody]:
    # LiveKit refused or could not be reached: not the request's fault, nor this worker's.
    return _response(502, ErrorBody("livekit", str(error)))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: _schema_error,
    HTTPException: _http_error,
    ValidationError: _validation_error,
    SlotTaken: _slot_taken,
    LiveKitNotConfigured: _livekit_not_configured,
    TelephonyError: _telephony_error,
}

RESPONSES: dict[int, ResponseSpec] = {
    400: ResponseSpec(
        ErrorBody, description="The body does not match the schema; `field` names it."
    ),
    422: ResponseSpec(ErrorBody, description="A value breaks a rule; `field` names it."),
    429: ResponseSpec(
        ErrorBody,
        description="The worker holds a call (`busy`) or is draining (`draining`): try another "
        "worker after `Retry-After` seconds.",
    ),
}
"""OpenAPI entries for the errors a call-taking route answers with."""
