"""Calls made the way the dialler makes them, for the call-event and call tests: a contact
imported through the API, leased and dialled through the same stores the API uses, and its
attempt in the call log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import attrs
from litestar.testing import TestClient

from apps.api.deps import Deps
from tests.api.support import INTERNAL, TenantSession
from voxcore_domain.model import CallAttempt, ContactState, Lease

LEASE_TTL = timedelta(minutes=10)


@attrs.frozen
class Dialled:
    attempt: CallAttempt
    lease: Lease

    @property
    def call_id(self) -> str:
        return self.attempt.id


def dial(
    client: TestClient[Any],
    deps: Deps,
    tenant: TenantSession,
    campaign_id: str,
    phone: str,
    call_id: str,
    *,
    until: ContactState = ContactState.ATTACHED,
) -> Dialled:
    """Import `phone` into the running campaign, lease and dial it up to `until`, and record the
    attempt as the dialler does."""
    imported = client.post(
        f"/v1/campaigns/{campaign_id}/contacts/import",
        content=json.dumps([{"phone": phone}]).encode(),
        headers=tenant.headers | {"content-type": "application/json"},
    )
    assert imported.json()["inserted"] == 1, imported.text
    campaign = deps.campaigns.get(campaign_id)
    assert campaign is not None
    now = deps.clock.now()
    leases = deps.leases.lease(campaign, 1, "dialler-1", now, LEASE_TTL)
    assert len(leases) == 1, "the contact could not be leased"
    lease = leases[0]
    for state in (ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED):
        deps.leases.advance(lease, state, now)
        if state is until:
            break
    attempt = CallAttempt(call_id, lease.contact_id, campaign_id, tenant.id, 1, lease.token, now)
    deps.call_log.record(attempt)
    return Dialled(attempt, lease)


def report(
    dialled: Dialled, sequence: int, kind: str, at: datetime, **fields: Any
) -> dict[str, Any]:
    """A call-event body for `dialled`'s call."""
    body: dict[str, Any] = {
        "call_id": dialled.call_id,
        "sequence": sequence,
        "kind": kind,
        "at": at.isoformat(),
        "tenant_id": dialled.attempt.tenant_id,
        "campaign_id": dialled.attempt.campaign_id,
        "lease_token": dialled.lease.token,
    }
    return body | fields


def post_report(client: TestClient[Any], body: dict[str, Any]) -> Any:
    return client.post("/v1/internal/call-events", json=body, headers=INTERNAL)
