"""The scripted agent's prompts and their variables."""

from __future__ import annotations

from typing import Any

import pytest

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.script import Script


def test_variables_fill_placeholders_and_missing_ones_leave_no_gap() -> None:
    script = Script(greeting="Hello {name}, your balance is {amount}.", replies=("Thanks {name}.",))
    assert script.render({"name": "Ann", "amount": "12 dollars"}).greeting == (
        "Hello Ann, your balance is 12 dollars."
    )
    rendered = script.render({})
    assert rendered.greeting == "Hello, your balance is."
    assert rendered.replies == ("Thanks.",)


def test_only_plain_names_are_placeholders() -> None:
    script = Script(greeting="Hi {name.__class__} and {0} and {name}!")
    assert script.render({"name": "Bo"}).greeting == "Hi {name.__class__} and {0} and Bo!"


def test_a_machine_may_get_no_message() -> None:
    assert Script(voicemail=None).render({"name": "x"}).voicemail is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("greeting", "{name}"), ("closing", "  "), ("replies", ("ok", "{x}")), ("voicemail", "")],
)
def test_every_prompt_must_say_something_besides_placeholders(field: str, value: object) -> None:
    prompts: dict[str, Any] = {field: value}
    with pytest.raises(ValidationError) as error:
        Script(**prompts)
    assert error.value.field == field
