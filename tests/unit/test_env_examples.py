"""Each role's `.env.example` loads into its settings once its placeholders are filled in, so the
examples an operator copies cannot drift from the variables the code reads."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from apps.api.settings import Settings as ApiSettings
from apps.dialler.settings import Settings as DiallerSettings
from apps.fleet.settings import Settings as FleetSettings

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"<[^>]+>")


def example(role: str) -> dict[str, str]:
    values: dict[str, str] = {}
    fills = iter(f"{n}-filled-in-secret-long-enough-for-any-check" for n in range(100))
    for line in (ROOT / "apps" / role / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = PLACEHOLDER.sub(lambda _: next(fills), value)
    return values


@pytest.mark.parametrize(
    ("role", "load"),
    [
        ("api", ApiSettings.from_env),
        ("fleet", FleetSettings.from_env),
        ("dialler", DiallerSettings.from_env),
    ],
)
def test_the_example_environment_loads(
    role: str, load: Callable[[Mapping[str, str]], object]
) -> None:
    values = example(role)
    assert values, f"apps/{role}/.env.example sets nothing"
    # The dialler composes its names from a prefix and a suffix.
    source = (ROOT / "apps" / role / "settings.py").read_text()
    unread = [
        name
        for name in values
        if name not in source and f'"{name.removeprefix("VOX_DIALLER_")}"' not in source
    ]
    assert unread == [], f"variables the settings never read: {unread}"
    load(values)
