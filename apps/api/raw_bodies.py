"""OpenAPI request bodies for the routes that read their body themselves (a streamed contact
import, a signed webhook): Litestar sees no `data` parameter there, so the schema would say
they take none and clients (and Schemathesis) would send none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema


def raw_body(description: str, media_types: Sequence[str]) -> type[Operation]:
    """An `operation_class` whose request body is text in one of `media_types`."""
    body = RequestBody(
        content={
            kind: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)) for kind in media_types
        },
        description=description,
        required=True,
    )

    @dataclass
    class WithRawBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = body

    return WithRawBody
