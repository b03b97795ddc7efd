"""The streamed parsers: however the body is cut into chunks, they read the same rows as a
parser given the whole body at once, and they never hold more than a row in progress."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.api.contact_import import (
    MAX_ROW_CHARS,
    BodyError,
    Row,
    RowError,
    Rows,
    csv_rows,
    json_array_rows,
    ndjson_rows,
)

Parser = Callable[[AsyncIterator[bytes]], Rows]


async def chunks_of(body: bytes, cuts: Sequence[int] = ()) -> AsyncIterator[bytes]:
    """`body` cut at `cuts` (positions, any order)."""
    start = 0
    for cut in sorted({c for c in cuts if 0 < c < len(body)}):
        yield body[start:cut]
        start = cut
    yield body[start:]


async def read(parser: Parser, body: bytes, cuts: Sequence[int] = ()) -> list[Row | RowError]:
    return [row async for row in parser(chunks_of(body, cuts))]


async def read_error(parser: Parser, body: bytes, cuts: Sequence[int] = ()) -> str:
    with pytest.raises(BodyError) as stopped:
        await read(parser, body, cuts)
    return stopped.value.reason


cells = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\r\x00"),
    max_size=12,
)
tables = st.lists(st.lists(cells, min_size=3, max_size=3), max_size=8)
cut_points = st.lists(st.integers(0, 2000), max_size=12)


def csv_body(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["phone", "timezone", "name"])
    writer.writerows(rows)
    return text.getvalue().encode()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rows=tables, cuts=cut_points)
async def test_csv_reads_the_same_rows_however_it_is_cut(
    rows: list[list[str]], cuts: list[int]
) -> None:
    body = csv_body(rows)
    expected = [
        Row(number, phone.strip(), timezone.strip() or None, {"name": name})
        for number, (phone, timezone, name) in enumerate(rows, start=1)
    ]
    assert await read(csv_rows, body, cuts) == expected


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    values=st.lists(
        st.fixed_dictionaries(
            {"phone": cells},
            optional={"timezone": st.none() | cells, "variables": st.dictionaries(cells, cells)},
        )
        | st.integers(-(10**12), 10**12)
        | st.booleans()
        | st.lists(st.integers(), max_size=2),
        max_size=8,
    ),
    cuts=cut_points,
    indent=st.none() | st.integers(0, 2),
)
async def test_json_reads_the_same_rows_however_it_is_cut(
    values: list[object], cuts: list[int], indent: int | None
) -> None:
    body = json.dumps(values, indent=indent, ensure_ascii=False).encode()
    whole = await read(json_array_rows, body)
    assert await read(json_array_rows, body, cuts) == whole
    assert [r.number if isinstance(r, Row) else r.row for r in whole] == list(
        range(1, len(values) + 1)
    )
    lines = "\n".join(json.dumps(v, ensure_ascii=False) for v in values).encode()
    assert await read(ndjson_rows, lines, cuts) == whole


async def test_csv_columns_become_variables_and_short_rows_are_padded() -> None:
    body = "\ufeffphone, timezone ,name,due\n+14155550101,Europe/London,Ada,12.50\n\n+1415,\n"
    rows = await read(csv_rows, body.encode("utf-8"))
    assert rows == [
        Row(1, "+14155550101", "Europe/London", {"name": "Ada", "due": "12.50"}),
        # Row 2 is the blank line: counted, not read.
        Row(3, "+1415", None, {}),
    ]


async def test_a_quoted_csv_field_may_hold_newlines_and_commas() -> None:
    body = b'phone,note\r\n+14155550101,"line one\r\nline two, ""quoted"""\r\n+14155550102,x\r\n'
    rows = await read(csv_rows, body, cuts=range(0, len(body), 3))
    assert rows == [
        Row(1, "+14155550101", None, {"note": 'line one\r\nline two, "quoted"'}),
        Row(2, "+14155550102", None, {"note": "x"}),
    ]


async def test_a_csv_row_with_too_many_cells_is_reported() -> None:
    rows = await read(csv_rows, b"phone,name\n+14155550101,Ada,extra\n+14155550102,Bo\n")
    assert rows == [
        RowError(1, "row", "has 3 cells, the header 2"),
        Row(2, "+14155550102", None, {"name": "Bo"}),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the CSV body is empty"),
        (b"name,timezone\nAda,UTC\n", "no `phone` column"),
        (b"phone,name,name\n", "repeats name"),
        (b'phone,note\n+14155550101,"never closed\n', "cannot be read after row 0"),
        (b"phone\n\xff\xfe\n", "not UTF-8"),
        (b"phone,note\n+1415," + b"x" * (MAX_ROW_CHARS + 1) + b"\n", "longer than"),
        (b'phone,note\n+1415,"' + b"x\n" * MAX_ROW_CHARS + b'"\n', "longer than"),
    ],
)
async def test_a_csv_body_that_cannot_be_read_on_stops(body: bytes, reason: str) -> None:
    assert reason in await read_error(csv_rows, body, cuts=range(0, len(body), 4096))


async def test_json_rows_must_be_contact_objects() -> None:
    body = b'[{"phone": "+1", "variables": {"a": 1}}, 7, {"phone": "+2", "email": "x"}]'
    assert await read(json_array_rows, body) == [
        Row(1, "+1", None, {"a": 1}),
        RowError(2, "row", "must be an object with a `phone`"),
        RowError(3, "email", "is not a contact field (phone, timezone, variables)"),
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "ended where `[` was expected"),
        (b'{"phone": "+1"}', "expected `[`"),
        (b'[{"phone": "+1"}', "ended where `,` or `]` was expected"),
        (b'[{"phone": "+1"} {"phone": "+2"}]', "expected `,` or `]` after row 1"),
        (b'[{"phone": "+1"},]', "row 2 is not JSON"),
        (b'[{"phone": "+1"}, {"phone": }]', "row 2 is not JSON"),
        (b"[] []", "expected the end of the body"),
        (b"[" + b" " * 10 + b'{"phone": "' + b"1" * (MAX_ROW_CHARS + 10), "row 1 is not JSON"),
    ],
)
async def test_a_json_body_that_cannot_be_read_on_stops(body: bytes, reason: str) -> None:
    assert reason in await read_error(json_array_rows, body, cuts=range(0, len(body), 1000))


async def test_a_bad_json_line_is_reported_and_the_next_read() -> None:
    body = b'{"phone": "+1"}\nnot json\n\n[1]\n{"phone": "+2"}'
    assert await read(ndjson_rows, body) == [
        Row(1, "+1", None, {}),
        RowError(2, "row", "is not JSON: Expecting value"),
        RowError(4, "row", "must be an object with a `phone`"),
        Row(5, "+2", None, {}),
    ]
