"""`ReportSender` over HTTP: `POST /v1/internal/call-events` with the internal token.

202 is a new report, 200 a duplicate (the API had this call id and sequence already); 404 (no
attempt for the call) and 400/422 (a bad body) are the API refusing the report itself; anything
else (no answer, a timeout, 401/403, 429, 5xx) is a report that may go through later.
"""

from __future__ import annotations

import httpx

from voxcore_adapters.internal_api.connection import ApiConnection
from voxcore_adapters.internal_api.wire import report_body
from voxcore_domain.ports import ReportAnswer, ReportRejected, ReportUndelivered
from voxcore_domain.voice.report import WorkerReport

PATH = "/v1/internal/call-events"
_REJECTED = frozenset({400, 404, 422})


class HttpReportSender:
    """The API's call-event endpoint."""

    def __init__(self, connection: ApiConnection) -> None:
        self._connection = connection

    async def send(self, report: WorkerReport) -> ReportAnswer:
        try:
            answer = await self._connection.client().post(PATH, json=report_body(report))
        except httpx.HTTPError as error:
            raise ReportUndelivered(f"the API did not answer: {error!r}") from error
        if answer.status_code == 202:
            return ReportAnswer.ACCEPTED
        if answer.status_code == 200:
            return ReportAnswer.DUPLICATE
        if answer.status_code in _REJECTED:
            message, field = _error(answer)
            raise ReportRejected(answer.status_code, message, field)
        raise ReportUndelivered(f"the API answered {answer.status_code}")


def _error(answer: httpx.Response) -> tuple[str, str | None]:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200], None
    if not isinstance(body, dict):
        return str(body)[:200], None
    field = body.get("field")
    return str(body.get("message") or body.get("detail") or body)[:200], (
        None if field is None else str(field)
    )
