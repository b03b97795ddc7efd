"""An operator's first session in the console, in a real browser: sign in, create a campaign,
import a CSV with one bad row and read its error, start the campaign, watch the live numbers move
as calls are reported, and play a call's recording.

The calls are made the way the platform makes them, without a carrier: contacts leased and their
attempts written through the same Mongo stores the dialler uses, and their steps reported to the
API's call-event endpoint with the internal token, as a fleet worker reports them.
"""

from __future__ import annotations

import io
import math
import re
import struct
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.api.deps import build_deps
from apps.api.settings import Settings
from tests.api.support import daytime_zone
from tests.console.conftest import RunningApi
from voxcore_adapters.s3 import layout
from voxcore_domain.model import CallAttempt, ContactState

pytestmark = pytest.mark.integration

CALLER_ID = "+14155550100"


def tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A stereo 8 kHz WAV (caller left, agent right), as the fleet records calls."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        sample = int(8000 * math.sin(2 * math.pi * 440 * n / rate))
        frames += struct.pack("<hh", sample, -sample)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def seed_tenant(api: RunningApi) -> str:
    """A tenant with an agent and a trunk, made by the platform admin; the tenant's key."""
    with api.admin() as admin:
        tenant = admin.post("/v1/tenants", json={"name": "Acme Dental"}).json()
        key = admin.post(f"/v1/tenants/{tenant['id']}/api-keys", json={"name": "console"}).json()
    token: str = key["token"]
    with api.admin() as client:
        client.headers["Authorization"] = f"Bearer {token}"
        agent = client.post(
            "/v1/agents",
            json={
                "name": "Reminders",
                "greeting": "Hello, this is an automated assistant calling for Acme Dental.",
            },
        )
        assert agent.status_code == 201, agent.text
        trunk = client.post(
            "/v1/trunks",
            json={"name": "Main trunk", "livekit_trunk_id": "ST_main", "caller_ids": [CALLER_ID]},
        )
        assert trunk.status_code == 201, trunk.text
    return token


def place_calls(api: RunningApi, campaign_id: str, answered: int, abandoned: int) -> list[str]:
    """Lease contacts of the running campaign and report their calls to the end, as the dialler
    and a fleet worker do; the call ids, answered ones first."""
    deps = build_deps(Settings.from_env(api.env))
    campaign = deps.campaigns.get(campaign_id)
    assert campaign is not None
    now = datetime.now(UTC)
    leases = deps.leases.lease(
        campaign, answered + abandoned, "dialler-test", now, timedelta(minutes=5)
    )
    assert len(leases) == answered + abandoned
    call_ids = []
    with api.internal() as internal:
        for n, lease in enumerate(leases):
            call_id = f"call{n:04d}{campaign_id[:8]}"
            for state in (ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED):
                deps.leases.advance(lease, state, now)
            attempt = CallAttempt(
                call_id, lease.contact_id, campaign_id, campaign.tenant_id, 1, lease.token, now
            )
            deps.call_log.record(attempt)
            disposition = "completed" if n < answered else "abandoned"
            detail: dict[str, object] = {}
            if disposition == "completed":
                key = layout.recording_key(campaign.tenant_id, call_id, "call.wav")
                assert deps.recordings is not None
                deps.recordings.put(key, tone_wav(), "audio/wav")
                detail = {
                    "recording_key": key,
                    "transcript": [
                        {"speaker": "agent", "text": "Hello, this is an automated assistant."},
                        {"speaker": "caller", "text": "Hi, yes, I can talk."},
                    ],
                }
            base = {
                "call_id": call_id,
                "tenant_id": campaign.tenant_id,
                "campaign_id": campaign_id,
                "lease_token": lease.token,
            }
            steps = [
                {"sequence": 1, "kind": "attached", "at": now.isoformat(), "worker": "h1/w1"},
                {
                    "sequence": 2,
                    "kind": "ended",
                    "at": (now + timedelta(seconds=30)).isoformat(),
                    "disposition": disposition,
                    "detail": detail,
                },
            ]
            for step in steps:
                sent = internal.post("/v1/internal/call-events", json=base | step)
                assert sent.status_code == 202, sent.text
            call_ids.append(call_id)
    return call_ids


def test_an_operator_runs_a_campaign_from_the_console(
    api: RunningApi, page: Page, screenshots: Path, tmp_path: Path
) -> None:
    token = seed_tenant(api)

    page.goto(f"{api.url}/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Your API key").fill("vbk_nobody_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#problem")).to_contain_text("Your API key was not accepted")
    page.get_by_label("Your API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    page.screenshot(path=screenshots / "1-campaigns.png", full_page=True)

    # A bad caller id first: the API's refusal is shown in words, naming the field.
    page.get_by_label("Name").fill("June reminders")
    # Contacts are leased on the wall clock: a zone where it is daytime now, whenever this runs.
    page.get_by_label("Time zone").fill(daytime_zone())
    page.get_by_label("Caller id").fill("0800 123")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator("#problem")).to_contain_text("caller id")
    page.get_by_label("Caller id").fill(CALLER_ID)
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="June reminders")).to_be_visible()
    expect(page.locator("#campaign-state")).to_have_text("draft")
    campaign_id = page.url.rsplit("/", 1)[-1]

    csv = tmp_path / "contacts.csv"
    csv.write_text("phone,name\n+14155550101,Ada\n+0123,Bob\n+14155550103,Cy\n")
    page.locator("input[type=file]").set_input_files(csv)
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text("2 of 3 rows imported, 1 refused")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report.locator("tbody tr td").nth(0)).to_have_text("2")
    expect(report.locator("tbody tr td").nth(1)).to_have_text("phone")
    page.screenshot(path=screenshots / "2-import-report.png", full_page=True)

    page.get_by_role("button", name="start").click()
    expect(page.locator("#campaign-state")).to_have_text("running")
    dials = page.locator("[data-stat='Dials today'] .value")
    expect(dials).to_have_text("0")

    place_calls(api, campaign_id, answered=1, abandoned=1)
    # The page polls every 2 s: the numbers move without a reload.
    expect(dials).to_have_text("2")
    expect(page.locator("[data-stat='Abandon, today'] .value")).to_have_text("50.0 %")
    expect(page.locator("[data-stat='Abandon, today']")).to_have_class("tile over")
    # The charts grow a point per poll; the newest one is drawn as a dot.
    expect(page.locator("#chart-abandon path.series").first).to_have_attribute(
        "data-points", re.compile(r"^([2-9]|\d{2,})$")
    )
    expect(page.locator("#chart-abandon circle.latest").first).to_be_visible()
    page.screenshot(path=screenshots / "3-live.png", full_page=True)

    page.get_by_role("link", name="This campaign's calls →").click()
    expect(page.locator("tr[data-call]")).to_have_count(2)
    page.get_by_label("Outcome").select_option("completed")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tr[data-call]")).to_have_count(1)
    page.locator("tr[data-call] a").click()
    expect(page.locator("#transcript")).to_contain_text("I can talk")
    audio = page.locator("#recording")
    expect(audio).to_be_visible()
    page.evaluate("document.getElementById('recording').play()")
    page.wait_for_function(
        "(() => { const a = document.getElementById('recording');"
        " return a.error === null && a.currentTime > 0.2; })()"
    )
    page.screenshot(path=screenshots / "4-call.png", full_page=True)


def test_the_fleet_page_says_when_no_worker_reports(api: RunningApi, page: Page) -> None:
    token = seed_tenant(api)
    page.goto(f"{api.url}/console/")
    page.get_by_label("Your API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Fleet").click()
    expect(page.get_by_text("No fleet worker has reported")).to_be_visible()
