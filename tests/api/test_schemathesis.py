"""Schemathesis against the API's own OpenAPI schema, in process over ASGI with the in-memory
fakes: for every operation, generated requests (valid and invalid) never get a 5xx, a status
the schema does not list, or a body that breaks the documented response schema.

Bounded and deterministic: `MAX_EXAMPLES` per operation, derandomized (the same examples every
run). Each request goes as the admin key acting for one tenant (`X-Vox-Tenant`), so every tenant
route is reached past auth, and as the admin key alone (a tenant route's 400 naming the header);
the internal token is used for the internal routes.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.api.deps import memory_deps
from apps.api.main import create_app
from apps.api.settings import Backend, Settings
from tests.api.support import ADMIN, ADMIN_KEY, INTERNAL, INTERNAL_TOKEN
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_domain.model import Tenant

MAX_EXAMPLES = 25
TENANT = "t-schemathesis"


def api_schema() -> Any:
    """The schema of an app over fakes that knows one tenant; a generous rate limit."""
    deps = memory_deps(ManualClock())
    deps.tenants.put(Tenant(TENANT, "Schemathesis"))
    settings = Settings(
        admin_key=ADMIN_KEY,
        internal_token=INTERNAL_TOKEN,
        backend=Backend.MEMORY,
        rate_limit_per_s=1_000_000.0,
        rate_limit_burst=1_000_000,
    )
    return schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(settings, deps))


# JSON lines are text: sent as the generated string is.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schema = api_schema()


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_schema(case: Any) -> None:
    internal = case.path.startswith("/v1/runtime-config")
    callers = [INTERNAL] if internal else [ADMIN | {"X-Vox-Tenant": TENANT}, ADMIN]
    for headers in callers:
        case.call_and_validate(
            headers=headers,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )
