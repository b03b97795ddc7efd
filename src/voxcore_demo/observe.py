"""What the running platform did, read through the API as an operator's tools read it: each
campaign's figures from `GET /v1/campaigns/{id}/stats`, the fleet's slots from
`GET /v1/fleet/slots`, the call log from `GET /v1/calls`. Only the recordings are counted in the
S3 bucket itself, where the workers store them. Read-only: the demo watches, it never writes.

The workers report each call's steps to the API (`POST /v1/internal/call-events`, with the
internal token `Stack` gives them), so the call log holds the disposition of every call, those
the workers ran as well as those the dialler ended itself (unanswered, abandoned).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import httpx

from voxcore_adapters.s3 import S3Connection

WINDOW = "last_30_days"
"""The stats window the demo reads: it holds every dial of a run (the data is new each run)."""

RETRIES = 5
"""Times a request the API refused for now (429, 503) is tried again after its Retry-After."""


class ObserveError(RuntimeError):
    pass


@attrs.frozen
class CampaignFigures:
    """One campaign's counts so far, as its stats API reports them."""

    dials: int = 0
    ended: int = 0
    """Dials whose outcome is in the call log."""
    live_answers: int = 0
    """Answered by a person, or abandoned (the regulators' count)."""
    machine_answers: int = 0
    abandoned: int = 0
    busy: int = 0
    """Slots busy with its calls now: attached, no end reported yet."""

    @property
    def answered(self) -> int:
        """Answered by a person or a machine: the carrier cannot tell them apart."""
        return self.live_answers + self.machine_answers

    @classmethod
    def of(cls, stats: Mapping[str, Any]) -> CampaignFigures:
        """From one answer of `GET /v1/campaigns/{id}/stats`."""
        window = stats[WINDOW]
        return cls(
            dials=int(window["dials"]),
            ended=int(window["ended"]),
            live_answers=int(window["live_answers"]),
            machine_answers=int(window["machine_answers"]),
            abandoned=int(window["abandoned"]),
            busy=int(stats["busy_slots"]),
        )


@attrs.frozen
class Sample:
    """The platform at one moment."""

    elapsed_s: float
    slots: int
    """Live, non-draining slots in the fleet."""
    busy: int
    campaigns: Mapping[str, CampaignFigures]
    """Campaign id → its figures."""
    outcomes: Mapping[str, int] = attrs.field(factory=dict)
    """Ended calls by disposition, from the call log (as of its last reading)."""
    ran: int = 0
    """Calls a worker took (attached), from the call log (as of its last reading)."""

    @property
    def dials(self) -> int:
        return sum(c.dials for c in self.campaigns.values())

    @property
    def live_answers(self) -> int:
        return sum(c.live_answers for c in self.campaigns.values())

    @property
    def abandoned(self) -> int:
        return sum(c.abandoned for c in self.campaigns.values())


def fleet_slots(view: Mapping[str, Any]) -> tuple[int, int]:
    """(live non-draining slots, busy slots) from one answer of `GET /v1/fleet/slots`."""
    hosts = view["hosts"]
    return (
        sum(int(h["idle"]) + int(h["busy"]) for h in hosts),
        sum(int(h["busy"]) for h in hosts),
    )


def outcomes(calls: Iterable[Mapping[str, Any]]) -> tuple[dict[str, int], int]:
    """(ended calls by disposition, calls a worker took) from `GET /v1/calls` items."""
    ended: Counter[str] = Counter()
    ran = 0
    for call in calls:
        if call.get("disposition") is not None:
            ended[str(call["disposition"])] += 1
        ran += call.get("attached_at") is not None
    return dict(ended), ran


class Observer:
    """Reads the figures as the demo tenant (its API key); `sample` is one reading."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        campaigns: Sequence[str],
        s3: S3Connection,
        bucket: str,
    ) -> None:
        self._http = httpx.Client(
            base_url=api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10.0
        )
        self._campaigns = tuple(campaigns)
        self._s3 = s3
        self._bucket = bucket
        self._started = time.monotonic()
        self._calls: list[dict[str, Any]] = []

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        for _ in range(RETRIES):
            response = self._http.get(path, params=params)
            if response.status_code not in (429, 503):
                break
            # The demo's own readings share the tenant's rate limit with the Console.
            time.sleep(float(response.headers.get("Retry-After", "1")))
        if response.status_code != 200:
            raise ObserveError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def stats(self, campaign_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._get(f"/v1/campaigns/{campaign_id}/stats")
        return body

    def calls(self) -> list[dict[str, Any]]:
        """Every call of the tenant, newest dial first, page after page; kept for `sample`."""
        found: list[dict[str, Any]] = []
        params: dict[str, str | int] = {"limit": 500}
        while True:
            page = self._get("/v1/calls", params)
            found += page["items"]
            if page.get("next_cursor") is None:
                break
            params["cursor"] = page["next_cursor"]
        self._calls = found
        return found

    def sample(self) -> Sample:
        """The stats of each campaign and the fleet's slots now; the call log's outcomes as of
        the last `calls`."""
        figures = {cid: CampaignFigures.of(self.stats(cid)) for cid in self._campaigns}
        slots, busy = fleet_slots(self._get("/v1/fleet/slots"))
        ended, ran = outcomes(self._calls)
        return Sample(
            elapsed_s=time.monotonic() - self._started,
            slots=slots,
            busy=busy,
            campaigns=figures,
            outcomes=ended,
            ran=ran,
        )

    def recordings(self) -> list[str]:
        """Keys of every recording in the bucket."""
        client = self._s3.client()
        if not client.bucket_exists(self._bucket):
            return []
        return [
            str(item.object_name)
            for item in client.list_objects(self._bucket, recursive=True)
            if item.object_name is not None
        ]
