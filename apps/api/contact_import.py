"""Contact import from a streamed body: CSV, a JSON array, or JSON lines, parsed as it arrives.

Memory stays bounded whatever the body's size: the parsers hold one received chunk and at most
one row in progress (`MAX_ROW_CHARS`), the importer one batch of contacts, and the report at most
`MAX_REPORTED_ERRORS` row errors (the rest are counted).

Rows are numbered from 1: the CSV header is not a row, and a blank line still counts, so row N
is the Nth record after the header (the Nth element of a JSON array, the Nth line of JSON lines).
A row that cannot be stored is reported with its number, the field at fault and the reason; the
others are stored. A body that cannot be read on (malformed JSON, an unterminated CSV quote, a
row over `MAX_ROW_CHARS`, text that is not UTF-8) stops the import there: the rows before it are
stored and the report says where it stopped.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Campaign, Contact
from voxcore_domain.ports import ImportReport

MAX_ROW_CHARS = 64 * 1024
"""Longest row accepted: a longer one is almost surely an unclosed quote or bracket."""
MAX_REPORTED_ERRORS = 1000
"""Row errors listed in a report; more are counted in `rejected` only."""


class BodyError(Exception):
    """The body cannot be read past this point."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BodyTooLarge(BodyError):
    """The body went past the import's size limit (a 413, where other stops are 400s)."""


@attrs.frozen
class RowError:
    """Why row `row` was not stored."""

    row: int
    field: str
    """The column or key at fault; `row` for the row as a whole, `body` for the body."""
    reason: str


@attrs.frozen
class Row:
    """One row as read, before its values are checked."""

    number: int
    phone: object
    timezone: object = None
    variables: object = attrs.field(factory=dict)


Rows = AsyncIterator[Row | RowError]


# -- reading text --------------------------------------------------------------------------------


async def _text(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The body as text; a UTF-8 byte-order mark (as spreadsheets write) is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        async for chunk in chunks:
            if text := decoder.decode(chunk):
                yield text
        if text := decoder.decode(b"", final=True):
            yield text
    except UnicodeDecodeError as error:
        raise BodyError(f"the body is not UTF-8 text ({error.reason})") from None


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The body's lines, each with its `\\n` (the last one may have none)."""
    pending = ""
    async for text in _text(chunks):
        # Only the new text can hold the next line's end: earlier text was searched already.
        search = len(pending)
        pending += text
        start = 0
        while (end := pending.find("\n", search)) >= 0:
            yield pending[start : end + 1]
            start = search = end + 1
        pending = pending[start:]
        if len(pending) > MAX_ROW_CHARS:
            raise BodyError(f"a line is longer than {MAX_ROW_CHARS} characters")
    if pending:
        yield pending


# -- CSV -----------------------------------------------------------------------------------------


class _NeedMore(Exception):
    """The CSV reader wants a line that has not arrived yet."""


class _Feed:
    """Lines for `csv.reader`, which pulls them synchronously. When it asks for one that has not
    arrived, `_NeedMore` aborts the record; `rewind` puts the record's lines back, to be parsed
    again once more have arrived."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.waiting = 0
        """Characters in `lines`."""
        self.taken: list[str] = []
        self.taken_chars = 0
        self.ended = False

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.lines:
            line = self.lines.popleft()
            self.waiting -= len(line)
            self.taken.append(line)
            self.taken_chars += len(line)
            if self.taken_chars > MAX_ROW_CHARS:
                raise BodyError(f"a row is longer than {MAX_ROW_CHARS} characters")
            return line
        if self.ended:
            raise StopIteration
        raise _NeedMore

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.waiting += len(line)

    def rewind(self) -> None:
        self.lines.extendleft(reversed(self.taken))
        self.waiting += self.taken_chars
        self.commit()

    def commit(self) -> None:
        """The lines taken so far made a whole record."""
        self.taken.clear()
        self.taken_chars = 0


def _header(cells: Sequence[str]) -> list[str]:
    names = [cell.strip() for cell in cells]
    if "phone" not in names:
        raise BodyError("the CSV header has no `phone` column")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BodyError(f"the CSV header repeats {', '.join(repeated)}")
    return names


def _csv_row(number: int, names: Sequence[str], cells: Sequence[str]) -> Row | RowError:
    if len(cells) > len(names):
        return RowError(number, "row", f"has {len(cells)} cells, the header {len(names)}")
    # Cells missing at the end of a row (spreadsheets drop trailing empties) are left out.
    values = dict(zip(names, cells, strict=False))
    phone = values.pop("phone").strip() if "phone" in values else None
    timezone = values.pop("timezone", "").strip() or None
    return Row(number, phone, timezone, values)


async def csv_rows(chunks: AsyncIterator[bytes]) -> Rows:
    """Rows of a CSV body whose header names the columns: `phone`, optionally `timezone`, and
    any others, which become the contact's variables."""
    feed = _Feed()
    # strict: an unterminated quote at the end is an error, not a silently truncated row.
    reader = csv.reader(feed, strict=True)
    names: list[str] | None = None
    number = 0
    lines = _lines(chunks)
    # After a record turned out unfinished, it is parsed again only once the waiting text has
    # doubled: a record over many lines costs linear time, not quadratic.
    retry_at = 0
    while not feed.ended:
        line = await anext(lines, None)
        if line is None:
            feed.ended = True
        else:
            feed.add(line)
            if feed.waiting < retry_at:
                continue
        while True:
            try:
                cells = next(reader)
            except _NeedMore:
                feed.rewind()
                retry_at = 2 * feed.waiting
                break
            except StopIteration:
                break
            except csv.Error as error:
                raise BodyError(f"CSV cannot be read after row {number}: {error}") from None
            feed.commit()
            retry_at = 0
            if names is None:
                names = _header(cells)
                continue
            number += 1
            if cells:
                yield _csv_row(number, names, cells)
    if names is None:
        raise BodyError("the CSV body is empty: it needs a header with a `phone` column")


# -- JSON ----------------------------------------------------------------------------------------

_KEYS = frozenset({"phone", "timezone", "variables"})


def _json_row(number: int, value: object) -> Row | RowError:
    if not isinstance(value, dict):
        return RowError(number, "row", "must be an object with a `phone`")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        return RowError(number, unknown[0], "is not a contact field (phone, timezone, variables)")
    return Row(number, value.get("phone"), value.get("timezone"), value.get("variables", {}))


async def ndjson_rows(chunks: AsyncIterator[bytes]) -> Rows:
    """Rows of a JSON-lines body: one object per line; blank lines are skipped."""
    number = 0
    async for line in _lines(chunks):
        number += 1
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            yield RowError(number, "row", f"is not JSON: {error.msg}")
            continue
        yield _json_row(number, value)


_WHITESPACE = " \t\r\n"


class _Array(Enum):
    """Where a JSON array's reader is: what it expects next."""

    OPEN = "`[`"
    FIRST = "a contact or `]`"
    ELEMENT = "a contact"
    SEPARATOR = "`,` or `]`"
    CLOSED = "the end of the body"


async def json_array_rows(chunks: AsyncIterator[bytes]) -> Rows:
    """Rows of a body holding one JSON array of objects, decoded element by element."""
    decoder = json.JSONDecoder()
    buffer = ""
    pos = 0
    number = 0
    state = _Array.OPEN
    text = _text(chunks)
    ended = False
    # As for CSV: an unfinished element is decoded again once the text after it has doubled.
    retry_at = 0
    while not ended:
        piece = await anext(text, None)
        if piece is None:
            ended = True
        else:
            buffer = buffer[pos:] + piece
            pos = 0
            if len(buffer) < retry_at:
                continue
        retry_at = 0
        while True:
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            if pos == len(buffer):
                break
            char = buffer[pos]
            if state is _Array.OPEN and char == "[":
                state = _Array.FIRST
            elif state is _Array.FIRST and char == "]":
                state = _Array.CLOSED
            elif state is _Array.SEPARATOR and char in ",]":
                state = _Array.ELEMENT if char == "," else _Array.CLOSED
            elif state in (_Array.FIRST, _Array.ELEMENT):
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError as error:
                    if ended or len(buffer) - pos > MAX_ROW_CHARS:
                        raise BodyError(f"row {number + 1} is not JSON: {error.msg}") from None
                    retry_at = 2 * (len(buffer) - pos)
                    break
                if end == len(buffer) and not ended:
                    # A number or literal at the end of the text may go on in the next chunk.
                    break
                number += 1
                pos = end
                state = _Array.SEPARATOR
                yield _json_row(number, value)
                continue
            else:
                raise BodyError(f"expected {state.value} after row {number}, found {char!r}")
            pos += 1
    if state is not _Array.CLOSED:
        raise BodyError(f"the body ended where {state.value} was expected")


PARSERS: Mapping[str, Callable[[AsyncIterator[bytes]], Rows]] = {
    "text/csv": csv_rows,
    "application/json": json_array_rows,
    "application/x-ndjson": ndjson_rows,
    "application/jsonl": ndjson_rows,
}
"""The parser for each media type the import reads."""


# -- rows to contacts ----------------------------------------------------------------------------


def _variables(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError("variables", "must be an object of names to values")
    variables: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, str):
            variables[name] = item
        elif isinstance(item, int | float) and not isinstance(item, bool):
            variables[name] = str(item)
        else:
            raise ValidationError(f"variables.{name}", "must be text or a number")
    return variables


def contact_of(row: Row, contact_id: str, campaign: Campaign, now: datetime) -> Contact:
    """The contact `row` describes, due at once; `ValidationError` naming the field if the row
    breaks a rule."""
    if row.phone is None:
        raise ValidationError("phone", "is missing")
    if not isinstance(row.phone, str):
        raise ValidationError("phone", "must be text, an E.164 number like +14155550123")
    if row.timezone is not None and not isinstance(row.timezone, str):
        raise ValidationError("timezone", "must be text, an IANA zone like Europe/London")
    return Contact(
        id=contact_id,
        campaign_id=campaign.id,
        tenant_id=campaign.tenant_id,
        phone=row.phone,
        next_attempt_at=now,
        timezone=row.timezone,
        variables=_variables(row.variables),
    )


# -- the import ----------------------------------------------------------------------------------


@attrs.define
class ImportOutcome:
    """What an import did, as it goes."""

    rows: int = 0
    """The last row number read."""
    inserted: int = 0
    rejected: int = 0
    errors: list[RowError] = attrs.field(factory=list)
    """Up to `MAX_REPORTED_ERRORS` of the rejected rows, in row order."""
    stopped: RowError | None = None
    """Where and why the body could not be read on; None if it was read to its end."""
    too_large: bool = False
    """The body stopped because it went past the size limit."""

    @property
    def errors_truncated(self) -> bool:
        return self.rejected > len(self.errors)

    def reject(self, error: RowError) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)


Store = Callable[[list[Contact]], Awaitable[ImportReport]]
"""Stores one batch (the `ContactImport` port, off the event loop)."""


async def run_import(
    rows: Rows, make_contact: Callable[[Row], Contact], store: Store, batch_rows: int
) -> ImportOutcome:
    """Read `rows`, build their contacts with `make_contact` and store them `batch_rows` at a
    time; rows that break a rule or repeat a stored number are reported, not stored."""
    outcome = ImportOutcome()
    batch: list[tuple[int, Contact]] = []

    async def flush() -> None:
        if not batch:
            return
        numbers = [number for number, _ in batch]
        report = await store([contact for _, contact in batch])
        batch.clear()
        outcome.inserted += len(report.inserted)
        # Merged into row order: duplicates come after errors of earlier rows found on reading.
        for duplicate in report.duplicates:
            reason = "the campaign already has this number"
            outcome.reject(RowError(numbers[duplicate.row], duplicate.field, reason))
        outcome.errors.sort(key=lambda error: error.row)

    try:
        async for item in rows:
            outcome.rows = item.number if isinstance(item, Row) else item.row
            if isinstance(item, RowError):
                outcome.reject(item)
                continue
            try:
                batch.append((item.number, make_contact(item)))
            except ValidationError as error:
                outcome.reject(RowError(item.number, error.field, error.message))
                continue
            if len(batch) >= batch_rows:
                await flush()
    except BodyError as error:
        outcome.stopped = RowError(outcome.rows + 1, "body", error.reason)
        outcome.too_large = isinstance(error, BodyTooLarge)
    # The good rows read before a body error are stored too, as the module says.
    await flush()
    return outcome


def tally(outcome: ImportOutcome) -> dict[str, Any]:
    """The outcome as plain values, for logging."""
    return {
        "rows": outcome.rows,
        "inserted": outcome.inserted,
        "rejected": outcome.rejected,
        "stopped": outcome.stopped is not None,
    }
