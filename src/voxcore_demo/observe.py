"""What the running platform did, read where each role keeps it: call attempts in MongoDB (the
dialler's log), call slots in Redis (the workers' reports), ended calls in each worker's
`/metrics`, recordings in S3. Read-only: the demo watches, it never writes.

The workers report each call's steps to the API (`POST /v1/internal/call-events`, with the
internal token `Stack` gives them), so the call log holds the disposition of every call, those
the workers ran as well as those the dialler ended itself (unanswered, abandoned).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import pymongo

from voxcore_adapters.mongo.schema import CALL_ATTEMPTS
from voxcore_adapters.s3 import S3Connection
from voxcore_domain.model import Slot, SlotState

_CALLS = re.compile(r'^vox_fleet_calls_total\{disposition="([a-z_]+)"\} ([0-9.e+]+)$', re.M)


@attrs.frozen
class CampaignFigures:
    """One campaign's counts so far, from the call log."""

    dials: int = 0
    answered: int = 0
    """Answered by a person or a machine: the carrier cannot tell them apart."""
    attached: int = 0
    abandoned: int = 0
    busy: int = 0
    """Slots busy with its calls now."""


@attrs.frozen
class Sample:
    """The platform at one moment."""

    elapsed_s: float
    slots: int
    busy: int
    campaigns: Mapping[str, CampaignFigures]
    ended: Mapping[str, int]
    """Calls the workers ran to their end, by disposition."""

    @property
    def answered(self) -> int:
        return sum(c.answered for c in self.campaigns.values())

    @property
    def abandoned(self) -> int:
        return sum(c.abandoned for c in self.campaigns.values())


def campaign_figures(
    attempts: Sequence[Mapping[str, Any]], busy_calls: set[str]
) -> dict[str, CampaignFigures]:
    """Counts per campaign id from call-attempt documents."""
    counts: dict[str, Counter[str]] = {}
    for attempt in attempts:
        count = counts.setdefault(str(attempt["campaign_id"]), Counter())
        count["dials"] += 1
        count["answered"] += attempt.get("answered_at") is not None
        count["attached"] += attempt.get("attached_at") is not None
        count["abandoned"] += attempt.get("disposition") == "abandoned"
        count["busy"] += attempt["_id"] in busy_calls
    return {campaign: CampaignFigures(**count) for campaign, count in counts.items()}


def ended_calls(metrics_text: str) -> dict[str, int]:
    """`vox_fleet_calls_total` by disposition from one worker's Prometheus text."""
    return {match[1]: int(float(match[2])) for match in _CALLS.finditer(metrics_text)}


class Observer:
    """Reads the figures; `sample` is one reading."""

    def __init__(
        self, mongo_url: str, sockets: Sequence[Path], s3: S3Connection, bucket: str
    ) -> None:
        self._client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            mongo_url, tz_aware=True
        )
        self._attempts = self._client.get_default_database()[CALL_ATTEMPTS]
        self._sockets = tuple(sockets)
        self._s3 = s3
        self._bucket = bucket
        self._started = time.monotonic()

    def close(self) -> None:
        self._client.close()

    def attempts(self) -> list[dict[str, Any]]:
        return list(self._attempts.find({}))

    def sample(self, slots: Sequence[Slot]) -> Sample:
        busy_calls = {
            s.call_id for s in slots if s.state is SlotState.BUSY and s.call_id is not None
        }
        ended: Counter[str] = Counter()
        for socket in self._sockets:
            ended.update(self._worker_calls(socket))
        return Sample(
            elapsed_s=time.monotonic() - self._started,
            slots=len(slots),
            busy=len(busy_calls),
            campaigns=campaign_figures(self.attempts(), busy_calls),
            ended=dict(ended),
        )

    @staticmethod
    def _worker_calls(socket: Path) -> dict[str, int]:
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), timeout=2.0) as c:
                return ended_calls(c.get("http://fleet/metrics").text)
        except httpx.TransportError:
            # A worker that is stopping has no figures to give; the next sample asks again.
            return {}

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
