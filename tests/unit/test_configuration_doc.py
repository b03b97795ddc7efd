"""docs/configuration.md against the settings classes, so the page cannot drift: each service's
section lists exactly the variables its `Settings.from_env` reads, and every default written as a
plain value there is the default the class really has.

The variables read are found by handing `from_env` a mapping that records each name asked for,
so a variable added to a settings class (by any branch) fails this test until it is documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from apps.api.settings import Settings as ApiSettings
from apps.dialler.settings import Settings as DiallerSettings
from apps.fleet.settings import Settings as FleetSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

SECRET = "s" * 40
SERVICES: dict[str, tuple[Callable[[Mapping[str, str]], Any], dict[str, str]]] = {
    # Section → (the settings loader, the least environment it loads from).
    "API": (
        ApiSettings.from_env,
        {"VOX_API_ADMIN_KEY": SECRET, "VOX_API_INTERNAL_TOKEN": "t" * 40},
    ),
    "Fleet": (
        FleetSettings.from_env,
        {"VOX_S3_ACCESS_KEY": "access", "VOX_S3_SECRET_KEY": SECRET},
    ),
    "Dialler": (DiallerSettings.from_env, {}),
}


class Recording(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked.add(name)
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def read_by(service: str) -> set[str]:
    load, base = SERVICES[service]
    env = Recording(base)
    load(env)
    return env.asked


def documented(service: str) -> dict[str, str]:
    """The section's rows: variable → its Default cell."""
    text = DOC.read_text()
    found = re.search(rf"^## {service}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert found, f"docs/configuration.md has no '## {service}' section"
    rows: dict[str, str] = {}
    for line in found.group(1).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`VOX_[A-Z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1]
    return rows


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_section_lists_exactly_the_variables_its_settings_read(service: str) -> None:
    doc = set(documented(service))
    read = read_by(service)
    assert read - doc == set(), f"read by {service} but not in docs/configuration.md"
    assert doc - read == set(), f"in docs/configuration.md ({service}) but not read"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_plain_defaults_in_the_doc_are_the_real_defaults(service: str) -> None:
    """A Default cell that starts with one plain `value` (no placeholder) must change nothing
    when that value is set explicitly."""
    load, base = SERVICES[service]
    default = load(base)
    checked = 0
    for name, cell in documented(service).items():
        plain = re.match(r"`([^`<>]*)`", cell)
        if plain is None or name in base:
            continue
        assert load({**base, name: plain.group(1)}) == default, (name, cell)
        checked += 1
    assert checked > 0


def test_a_wrong_default_is_caught() -> None:
    load, base = SERVICES["API"]
    assert load({**base, "VOX_API_RATE_LIMIT_BURST": "41"}) != load(base)


def test_the_recording_environment_sees_every_lookup() -> None:
    env = Recording({"A": "1"})
    assert env.get("A") == "1"
    assert env.get("B") is None
    assert env.asked == {"A", "B"}
