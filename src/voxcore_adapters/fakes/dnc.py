"""Do-not-call lists in a dict of sets."""

from __future__ import annotations

from collections.abc import Sequence

from voxcore_domain.errors import ValidationError
from voxcore_domain.validators import E164


def checked_numbers(tenant_id: str, phones: Sequence[str]) -> list[str]:
    """`phones` without repeats, in order; `ValidationError` on the first bad one."""
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise ValidationError("tenant_id", "must not be empty")
    if isinstance(phones, str):
        raise ValidationError("phone", "give a list of numbers, not one string")
    for phone in phones:
        if not isinstance(phone, str) or not E164.match(phone):
            raise ValidationError("phone", f"{phone!r} is not an E.164 number like +14155550123")
    return list(dict.fromkeys(phones))


class InMemoryDncList:
    """The `DncList` port over a dict of sets."""

    def __init__(self) -> None:
        self._numbers: dict[str, set[str]] = {}

    def add(self, tenant_id: str, phones: Sequence[str]) -> int:
        numbers = checked_numbers(tenant_id, phones)
        listed = self._numbers.setdefault(tenant_id, set())
        new = [phone for phone in numbers if phone not in listed]
        listed.update(new)
        return len(new)

    def remove(self, tenant_id: str, phone: str) -> bool:
        [number] = checked_numbers(tenant_id, [phone])
        listed = self._numbers.get(tenant_id, set())
        if number not in listed:
            return False
        listed.remove(number)
        return True

    def blocked(self, tenant_id: str, phones: Sequence[str]) -> frozenset[str]:
        numbers = checked_numbers(tenant_id, phones)
        return frozenset(numbers) & self._numbers.get(tenant_id, set())
