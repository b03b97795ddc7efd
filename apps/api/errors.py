"""Every error the API answers with, mapped once from the domain's, Litestar's and the stores'.

Each body is `ErrorBody`, as the fleet workers answer (`voxcore_adapters.http_errors`: schema
errors are 400 and values the domain refuses 422, both naming the field). Besides those:

- a lifecycle move the domain forbids (`InvalidTransition`) is 409 with the reason, and so is
  an edit that lost a race with another edit of the same object (`Conflict`);
- an object that does not exist, or belongs to another tenant, is 404: the same answer either
  way, so ids never tell one tenant about another's objects;
- a store that cannot be reached is 503 with `Retry-After`, never 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.types import ExceptionHandlersMap
from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from voxcore_adapters.http_errors import ErrorBody, error_response, exception_handlers
from voxcore_domain.errors import InvalidTransition

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_S = 5
"""What a 503 tells the client to wait: about how long a replica set takes to elect."""


class Conflict(Exception):
    """The object changed since the caller read it: its edit was not stored."""

    def __init__(self, message: str, field: str = "version") -> None:
        super().__init__(message)
        self.field = field


class BadRequest(Exception):
    """The request lacks something no schema can say, e.g. a header one kind of caller needs."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(Exception):
    """No `kind` with this id that the caller may see; `field` is the input that named it."""

    def __init__(self, kind: str, object_id: str, field: str | None = None) -> None:
        super().__init__(f"no {kind} {object_id!r}")
        self.field = field or f"{kind}_id"


_CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    429: "rate_limited",
    503: "unavailable",
}

_DESCRIPTIONS: Mapping[int, str] = {
    400: "The request does not match the schema; `field` names the input at fault.",
    401: "No valid API key, admin key or internal token in `Authorization: Bearer …`.",
    403: "The caller's role may not use this route.",
    404: "No such object, or it belongs to another tenant.",
    409: "The lifecycle does not allow this move, or the object changed since it was read; "
    "`message` says why.",
    413: "The body is larger than the route accepts.",
    415: "The body's content type is not one the route reads.",
    422: "A value breaks a rule of the domain; `field` names it.",
    429: "This key's rate limit is spent; retry after `Retry-After` seconds.",
    503: "A store (MongoDB or Redis) cannot be reached; retry after `Retry-After` seconds.",
}


def responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses a route can answer with, in the `ErrorBody`
    shape (they replace Litestar's default 400 entry, which has another shape)."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody,
            description=_DESCRIPTIONS[code],
            generate_examples=False,
            examples=[Example(value={"error": _CODES[code], "message": HTTPStatus(code).phrase})],
        )
        for code in codes
    }


def _invalid_transition(_: Request[Any, Any, Any], error: InvalidTransition) -> Response[ErrorBody]:
    return error_response(409, ErrorBody("invalid_transition", str(error), "state"))


def _conflict(_: Request[Any, Any, Any], error: Conflict) -> Response[ErrorBody]:
    return error_response(409, ErrorBody("conflict", str(error), error.field))


def _not_found(_: Request[Any, Any, Any], error: NotFound) -> Response[ErrorBody]:
    return error_response(404, ErrorBody("not_found", str(error), error.field))


def _bad_request(_: Request[Any, Any, Any], error: BadRequest) -> Response[ErrorBody]:
    return error_response(400, ErrorBody("bad_request", str(error), error.field))


def _unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[ErrorBody]:
    store = "mongo" if isinstance(error, ConnectionFailure) else "redis"
    # The error's text names hosts, never credentials; the traceback helps the operator.
    log.error(
        "%s unreachable during %s %s", store, request.method, request.url.path, exc_info=error
    )
    return error_response(
        503,
        ErrorBody("unavailable", f"{store} is unavailable, retry later"),
        {"Retry-After": str(UNAVAILABLE_RETRY_S)},
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    **exception_handlers(_CODES),
    InvalidTransition: _invalid_transition,
    NotFound: _not_found,
    Conflict: _conflict,
    BadRequest: _bad_request,
    ConnectionFailure: _unavailable,
    RedisConnectionError: _unavailable,
    RedisTimeoutError: _unavailable,
}
