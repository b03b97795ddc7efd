"""What the API's JSON bodies share: strict request structs, and field names that follow the JSON.

Request bodies are `msgspec.Struct`s that refuse unknown fields (a misspelt optional field would
otherwise be ignored without a word). They carry plain types; the domain's values are built from
them in the handlers' `to_domain` calls, so the domain's own checks decide what is valid and name
the field. A nested value's field is named by its path in the JSON (`window.end`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any

import msgspec

from voxcore_domain.errors import ValidationError

Name = Annotated[str, msgspec.Meta(max_length=200)]
"""A human-readable name: bounded, so a body cannot carry megabytes in one."""
Ref = Annotated[str, msgspec.Meta(max_length=200)]
"""An id of another object."""


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are refused with a 400 that names them."""


class Out(msgspec.Struct, kw_only=True):
    """A response body."""


@contextmanager
def under(prefix: str, renames: Mapping[str, str] | None = None) -> Iterator[None]:
    """Re-raise a `ValidationError` from a nested value with its field as the JSON names it:
    `prefix.` in front, after `renames` (domain field → JSON field)."""
    try:
        yield
    except ValidationError as error:
        field = (renames or {}).get(error.field, error.field)
        raise ValidationError(f"{prefix}.{field}" if prefix else field, error.message) from None


def given(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields of a patch body that were sent (not left `UNSET`)."""
    return {
        name: value
        for name in patch.__struct_fields__
        if (value := getattr(patch, name)) is not msgspec.UNSET
    }
