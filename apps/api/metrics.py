"""Prometheus metrics of the API: requests by route and status, and their latency.

Each app has its own registry (two apps in one process, as in the tests, do not collide). With
several Granian workers each worker counts its own requests: scrape each, or run one worker.
"""

from __future__ import annotations

import time

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; fine-grained below 10 ms, where the runtime-config hot path should stay."""


class ApiMetrics:
    """The API's counters, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vox_api_requests",
            "Requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vox_api_request_seconds",
            "Time to answer a request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every request that reached a route, errors included, by its route template (not
    its path: ids would make one series per object)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, observe_status)
        except Exception as error:
            # Raised by middleware inside this one (401, 429); the app turns it into a response.
            status = int(getattr(error, "status_code", 500))
            raise
        finally:
            route = str(scope.get("path_template", "unmatched"))
            method = str(scope.get("method", ""))
            self._metrics.requests.labels(method, route, str(status)).inc()
            self._metrics.latency.labels(method, route).observe(time.perf_counter() - started)


@get("/metrics", exclude_from_auth=True, include_in_schema=False, sync_to_thread=False)
def metrics(api_metrics: NamedDependency[ApiMetrics]) -> Response[bytes]:
    """The Prometheus exposition of this process's metrics."""
    return Response(api_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
