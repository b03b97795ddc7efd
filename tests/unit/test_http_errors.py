"""The error answers both HTTP roles share (`voxcore_adapters.http_errors`), on a small Litestar
app of their own: each API and fleet test covers its role's routes; these the rules themselves."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.exceptions import HTTPException
from litestar.params import JSONBody, QueryParameter
from litestar.testing import TestClient

from voxcore_adapters.http_errors import exception_handlers
from voxcore_domain.errors import ValidationError


class Window(msgspec.Struct, forbid_unknown_fields=True):
    start: int
    end: int


class Plan(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    window: Window


@post("/plans")
async def make_plan(data: JSONBody[Plan]) -> str:
    if data.window.end <= data.window.start:
        raise ValidationError("window.end", "must be after window.start")
    return data.name


@get("/items")
async def items(
    in_state: Annotated[int, QueryParameter(name="state")],
    limit: Annotated[int, QueryParameter(ge=1)] = 10,
) -> int:
    return in_state * limit


@get("/teapot")
async def teapot() -> str:
    raise HTTPException(status_code=418, detail="short and stout")


def client(codes: dict[int, str]) -> TestClient[Litestar]:
    app = Litestar([make_plan, items, teapot], exception_handlers=exception_handlers(codes))
    return TestClient(app)


def test_a_body_off_the_schema_is_400_naming_the_nested_field() -> None:
    with client({}) as http:
        answer = http.post("/plans", json={"name": "a", "window": {"start": 1, "end": "x"}})
    assert answer.status_code == 400
    assert answer.json()["error"] == "bad_request"
    assert answer.json()["field"] == "window.end"


def test_malformed_json_is_400_naming_the_body() -> None:
    with client({}) as http:
        answer = http.post(
            "/plans", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert (answer.status_code, answer.json()["field"]) == (400, "body")


def test_a_bad_query_parameter_is_named_as_the_client_sent_it() -> None:
    with client({}) as http:
        not_a_number = http.get("/items", params={"state": "ready"})
        too_small = http.get("/items", params={"state": 1, "limit": 0})
    assert (not_a_number.status_code, not_a_number.json()["field"]) == (400, "state")
    assert (too_small.status_code, too_small.json()["field"]) == (400, "limit")


def test_a_value_the_domain_refuses_is_422_naming_the_field() -> None:
    with client({}) as http:
        answer = http.post("/plans", json={"name": "a", "window": {"start": 2, "end": 1}})
    assert answer.status_code == 422
    assert answer.json() == {
        "error": "validation",
        "message": "must be after window.start",
        "field": "window.end",
    }


@pytest.mark.parametrize(
    ("codes", "error"),
    [({}, "i'm_a_teapot"), ({418: "teapot"}, "teapot")],
    ids=["by-phrase", "by-role"],
)
def test_other_http_errors_keep_their_status_with_a_code_of_one_word(
    codes: dict[int, str], error: str
) -> None:
    with client(codes) as http:
        answer = http.get("/teapot")
    assert answer.status_code == 418
    assert answer.json() == {"error": error, "message": "short and stout"}
