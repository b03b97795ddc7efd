"""`GET /health`: whether the API can reach MongoDB and Redis, and if not, which."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from apps.api.deps import HealthCheck
from apps.api.params import ChecksArg

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
"""A dependency slower than this to answer a ping counts as down: a load balancer's probe
should not hang."""


class HealthReport(msgspec.Struct, frozen=True):
    """Each dependency's state: `ok`, or why not."""

    status: str
    """`ok` when every check passed, else `unavailable`."""
    checks: dict[str, str]


async def _run(name: str, check: HealthCheck) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check()
    except TimeoutError:
        log.warning("health: %s did not answer within %s s", name, CHECK_TIMEOUT_S)
        return "timeout"
    except Exception as error:
        # Whatever the failure, it is this dependency's: reported and logged, not raised.
        log.warning("health: %s failed: %r", name, error)
        return f"error: {type(error).__name__}"
    return "ok"


@get(
    "/health",
    exclude_from_auth=True,
    summary="Liveness and dependencies",
    description="200 when MongoDB and Redis answer; 503 naming the one(s) that do not.",
    responses={
        503: ResponseSpec(HealthReport, description="A dependency is down; `checks` says which.")
    },
)
async def health(
    health_checks: ChecksArg,
) -> Response[HealthReport]:
    names = sorted(health_checks)
    results = await asyncio.gather(*(_run(name, health_checks[name]) for name in names))
    checks = dict(zip(names, results, strict=True))
    healthy = all(result == "ok" for result in checks.values())
    report = HealthReport("ok" if healthy else "unavailable", checks)
    return Response(report, status_code=200 if healthy else 503)
