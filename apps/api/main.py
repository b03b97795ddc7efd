"""The Backend API's composition root.

    granian --interface asgi --host 0.0.0.0 --port 8080 --factory apps.api.main:create_app

reads the settings from the environment once, builds the adapters they ask for, and serves the
versioned routes under `/v1`, `GET /health`, `GET /metrics` and the OpenAPI schema at `/schema`.
"""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from apps.api.agents import AgentController
from apps.api.api_keys import ApiKeyController
from apps.api.auth import Authenticator, AuthMiddleware, current_caller
from apps.api.calls import CallController, CallEventController
from apps.api.campaigns import CampaignController
from apps.api.contacts import ContactController
from apps.api.deps import Deps, build_deps
from apps.api.dnc import DncController
from apps.api.errors import EXCEPTION_HANDLERS
from apps.api.fleet import FleetController
from apps.api.fleet_hosts import FleetHostController
from apps.api.health import health
from apps.api.inbound_numbers import InboundNumberController
from apps.api.livekit_webhook import livekit_webhook
from apps.api.metrics import ApiMetrics, MetricsMiddleware, metrics
from apps.api.runtime_config import RuntimeConfigController, RuntimeConfigs
from apps.api.settings import Settings
from apps.api.stats import CampaignStatsController
from apps.api.tenants import TenantController
from apps.api.throttle import Throttle
from apps.api.trunks import TrunkController

API_VERSION = "1"


def openapi_config() -> OpenAPIConfig:
    """A fresh config per app: Litestar adds each app's schemas to the config's components."""
    return OpenAPIConfig(
        title="VoxBridge Backend API",
        version=API_VERSION,
        description=(
            "The control plane: tenants, API keys, voice agents, campaigns, contacts, "
            "do-not-call lists, SIP trunks, inbound numbers, fleet hosts and LiveKit webhooks. "
            "The admin key acts for one tenant on a tenant's routes with `X-Vox-Tenant`. "
            "Send `Authorization: Bearer <key>`; errors are `{error, message, field}`."
        ),
        path="/schema",
        render_plugins=[SwaggerRenderPlugin()],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A tenant's API key, the admin key or the internal token.",
                )
            }
        ),
        security=[{"bearer": []}],
    )


# The schema is public; `/health` and `/metrics` opt out of auth on their handlers (load
# balancers and Prometheus ask without a key).
UNAUTHENTICATED = ["^/schema", "^/console"]


def console_files(settings: Settings) -> list[Router]:
    """The console's static files at `/console/` in the embedded mode (the console signs in
    with an API key of its own, so its files need none)."""
    if settings.console_dir is None:
        return []
    return [
        create_static_files_router(
            path="/console", directories=[settings.console_dir], html_mode=True, name="console"
        )
    ]


def create_app(settings: Settings | None = None, deps: Deps | None = None) -> Litestar:
    """The API over `deps` (built from `settings` when not given), with `settings` read from
    the environment when not given."""
    settings = settings or Settings.from_env()
    deps = deps or build_deps(settings)
    api_metrics = ApiMetrics()
    authenticator = Authenticator(
        settings.admin_key, settings.internal_token, deps.api_keys, deps.tenants
    )
    throttle = Throttle(deps.rate_limiter, settings.rate_limit)
    runtime_configs = RuntimeConfigs(deps, timedelta(seconds=settings.runtime_config_ttl_s))
    v1 = Router(
        path="/v1",
        route_handlers=[
            TenantController,
            ApiKeyController,
            AgentController,
            CampaignController,
            ContactController,
            DncController,
            RuntimeConfigController,
            CallEventController,
            CallController,
            CampaignStatsController,
            TrunkController,
            FleetHostController,
            FleetController,
            InboundNumberController,
            livekit_webhook,
        ],
    )
    return Litestar(
        route_handlers=[v1, health, metrics, *console_files(settings)],
        dependencies={
            "deps": Provide(lambda: deps, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "caller": Provide(current_caller, sync_to_thread=False),
            "health_checks": Provide(lambda: deps.checks, use_cache=True, sync_to_thread=False),
            "api_metrics": Provide(lambda: api_metrics, use_cache=True, sync_to_thread=False),
            "runtime_configs": Provide(
                lambda: runtime_configs, use_cache=True, sync_to_thread=False
            ),
        },
        middleware=[
            DefineMiddleware(MetricsMiddleware, metrics=api_metrics),
            DefineMiddleware(
                AuthMiddleware,
                authenticator=authenticator,
                throttle=throttle,
                exclude=UNAUTHENTICATED,
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        # JSON routes; the import and the webhook set their own limits.
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        lifespan=[deps.lifespan],
    )
