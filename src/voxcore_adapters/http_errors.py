"""The error answer of both HTTP roles, the Backend API and the fleet workers: a body of
`{"error", "message"}` plus `"field"` when one input was at fault, and the Litestar handlers for
the errors both answer alike:

- a request that does not match the schema (wrong type, missing or unknown field, bad query
  parameter, malformed JSON) is 400 with Litestar's own check turned into that shape, the field
  named as the client sent it;
- Litestar's other HTTP errors keep their status, with a stable code;
- a value the domain refuses (`ValidationError`, e.g. a number that is not E.164) is 422.

Each role adds the errors of its own (`apps/api/errors.py`, `apps/fleet/errors.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from voxcore_domain.errors import ValidationError


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """What went wrong."""

    error: str
    """A stable code: `bad_request`, `validation`, `not_found`, `busy`, …"""
    message: str
    field: str | None = None
    """The input at fault, dotted for nested fields (`window.end`), when there is one."""


def error_response(
    status: int, body: ErrorBody, headers: Mapping[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(body, status_code=status, headers=dict(headers or {}))


def exception_handlers(codes: Mapping[int, str]) -> ExceptionHandlersMap:
    """The handlers of the errors both roles answer alike; `codes` names the `error` of
    Litestar's HTTP errors by status (the status's phrase in snake case for any other)."""

    def http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorBody]:
        status = error.status_code
        code = codes.get(status) or HTTPStatus(status).phrase.lower().replace(" ", "_")
        # Litestar's other 400s are about the body as a whole: malformed JSON, a bad length.
        field = "body" if status == 400 else None
        return error_response(status, ErrorBody(code, error.detail, field), error.headers)

    return {
        ValidationException: _schema_error,
        HTTPException: http_error,
        ValidationError: _validation_error,
    }


# Litestar names the body `data` when an object as a whole is wrong; the field is in the message.
_FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")


def _schema_field(detail: Mapping[str, Any]) -> str:
    key = str(detail.get("key") or "")
    named = _FIELD_IN_MESSAGE.search(str(detail.get("message", "")))
    if named is None:
        return key or "body"
    return named.group(1) if key in ("", "data") else f"{key}.{named.group(1)}"


def _public_name(request: Request[Any, Any, Any], field: str) -> str:
    """The name a client sent `field` under: a parameter aliased in its handler (`state` for
    `in_state`) is reported by its alias."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get(field)
    alias = getattr(getattr(parameter, "kwarg_definition", None), "name", None)
    return alias if isinstance(alias, str) and alias else field


def _schema_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[ErrorBody]:
    details = error.extra if isinstance(error.extra, list) else []
    if details and isinstance(details[0], Mapping):
        first = details[0]
        field = _public_name(request, _schema_field(first))
        body = ErrorBody("bad_request", str(first.get("message", error.detail)), field)
    else:
        # Malformed JSON and the like: the body as a whole is at fault.
        body = ErrorBody("bad_request", error.detail, "body")
    return error_response(400, body)


def _validation_error(_: Request[Any, Any, Any], error: ValidationError) -> Response[ErrorBody]:
    return error_response(422, ErrorBody("validation", error.message, error.field))
