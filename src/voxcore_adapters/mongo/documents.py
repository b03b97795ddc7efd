"""Domain values as MongoDB documents, through one cattrs converter.

A value's `id` is its document's `_id`, and a contact's lease is stored without the contact's id,
which is the document's; enums are stored as their values, times of day as ISO
text, durations as seconds and pacing modes as their text (`ratio:2`). BSON dates hold
milliseconds, so the adapters truncate the instants they store with `to_millis` and hand back
exactly what they stored: the lease expiry a dialler holds is the one the store fences with.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from cattrs.errors import CattrsError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.bson import BsonConverter, make_converter

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallAttempt, Campaign, Contact, Lease, PacingMode, Tenant

Document = dict[str, Any]
"""A MongoDB document as pymongo reads and writes it."""

T = TypeVar("T")

WITH_ID = (Contact, Campaign, CallAttempt, Tenant)
"""Values stored one per document, keyed by their `id`."""


def _make() -> BsonConverter:
    # Without detailed validation the domain's own ValidationError (naming the field) reaches
    # the caller instead of a cattrs exception group around it.
    converter = make_converter(detailed_validation=False)
    # The domain's enums are StrEnums: stored as their plain text value, not as a str subclass.
    converter.register_unstructure_hook(StrEnum, lambda value: value.value)
    converter.register_unstructure_hook(time, time.isoformat)
    converter.register_structure_hook(time, lambda value, _: time.fromisoformat(value))
    converter.register_unstructure_hook(timedelta, timedelta.total_seconds)
    converter.register_structure_hook(timedelta, lambda value, _: timedelta(seconds=value))
    converter.register_unstructure_hook(PacingMode, str)
    converter.register_structure_hook(PacingMode, lambda value, _: PacingMode.parse(value))
    # Before the values that hold one: their generated functions take the hook in force then.
    converter.register_unstructure_hook(
        Lease, make_dict_unstructure_fn(Lease, converter, contact_id=override(omit=True))
    )
    for kind in WITH_ID:
        converter.register_unstructure_hook(
            kind, make_dict_unstructure_fn(kind, converter, id=override(rename="_id"))
        )
        converter.register_structure_hook(
            kind, make_dict_structure_fn(kind, converter, id=override(rename="_id"))
        )
    structure_contact = converter.get_structure_hook(Contact)

    def contact_with_lease(document: Document, kind: type[Contact]) -> Contact:
        lease = document.get("lease")
        if lease is not None:
            document = {**document, "lease": {**lease, "contact_id": document.get("_id")}}
        contact: Contact = structure_contact(document, kind)
        return contact

    converter.register_structure_hook(Contact, contact_with_lease)
    return converter


converter = _make()


def to_document(value: object) -> Document:
    """`value` (an attrs value of the domain) as a document."""
    document = converter.unstructure(value)
    if not isinstance(document, dict):
        raise TypeError(f"{type(value).__name__} is not stored as a document")
    return document


def from_document(document: Document, kind: type[T]) -> T:
    """The `kind` value a document holds; `ValidationError` if it breaks the domain's rules."""
    try:
        return converter.structure(document, kind)
    except ValidationError:
        raise
    except (KeyError, TypeError, ValueError, CattrsError) as error:
        # A document written by something else (or an older schema) is bad input too.
        raise ValidationError(kind.__name__.lower(), f"unreadable document: {error!r}") from error


def to_millis(instant: datetime) -> datetime:
    """`instant` truncated to the millisecond, as BSON stores it: never later than it was."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)
