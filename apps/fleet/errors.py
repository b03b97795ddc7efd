"""Every error the worker answers an HTTP request with, in one shape.

The body is `ErrorBody`, as the Backend API answers (`voxcore_adapters.http_errors`: schema
errors are 400 and values the domain refuses 422, both naming the field). Besides those:

- a worker that holds a call or is draining is 429 with `Retry-After`: nginx turns it into a
  retry on the next socket, the dialler into a try on the next host.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from voxcore_adapters.http_errors import ErrorBody, error_response, exception_handlers
from voxcore_domain.errors import DomainError
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.ports import TelephonyError


class LiveKitNotConfigured(DomainError):
    """This worker has no LiveKit server or key for what was asked (503)."""


class SlotTaken(Exception):
    """This worker cannot take a call now: it holds one, or it is draining."""

    def __init__(self, slot: Slot, retry_after_s: int) -> None:
        draining = slot.state is SlotState.DRAINING
        super().__init__("this worker is draining" if draining else "this worker holds a call")
        self.code = "draining" if draining else "busy"
        self.retry_after_s = retry_after_s


def _slot_taken(_: Request[Any, Any, Any], error: SlotTaken) -> Response[ErrorBody]:
    return error_response(
        429, ErrorBody(error.code, str(error)), {"Retry-After": str(error.retry_after_s)}
    )


def _livekit_not_configured(
    _: Request[Any, Any, Any], error: LiveKitNotConfigured
) -> Response[ErrorBody]:
    return error_response(503, ErrorBody("livekit_not_configured", str(error)))


def _telephony_error(_: Request[Any, Any, Any], error: TelephonyError) -> Response[ErrorBody]:
    # LiveKit refused or could not be reached: not the request's fault, nor this worker's.
    return error_response(502, ErrorBody("livekit", str(error)))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    # The status's phrase names Litestar's HTTP errors here (`not_found`, `unauthorized`).
    **exception_handlers({}),
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
