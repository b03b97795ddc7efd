"""The fleet's call reports and the agent config's script: pure values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from voxcore_domain.agents import VoicemailPolicy
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallOrigin, Disposition
from voxcore_domain.voice import report
from voxcore_domain.voice.agent_config import AgentConfig
from voxcore_domain.voice.call import CallOutcome, CallSetup, Step, StepKind, never_connected
from voxcore_domain.voice.report import ReportKind, WorkerReport
from voxcore_domain.voice.script import Script

CALL = CallSetup("c1", "t1", "k1", "a1", "lease-1")
AT = datetime(2026, 11, 26, 20, tzinfo=UTC)


def test_an_ended_report_carries_the_outcome_and_the_recording() -> None:
    outcome = CallOutcome(
        Disposition.VOICEMAIL, "a machine", steps=(Step(3600, StepKind.MACHINE, ""),)
    )
    ended = report.ended(CALL, outcome, 2, AT, "h/1", "t1/c1/call.wav")
    assert (ended.kind, ended.disposition, ended.lease_token) == (
        ReportKind.ENDED,
        Disposition.VOICEMAIL,
        "lease-1",
    )
    assert ended.detail == {
        "transcript": [{"at_ms": 3600, "kind": "machine", "detail": ""}],
        "reason": "a machine",
        "recording_key": "t1/c1/call.wav",
    }
    assert report.attached(CALL, 1, AT, "h/1").disposition is None


def test_a_disposition_belongs_to_ended_reports_only() -> None:
    with pytest.raises(ValidationError) as refused:
        WorkerReport("c1", 1, "attached", AT, "t1", "k1", None, "h/1", Disposition.COMPLETED)
    assert refused.value.field == "disposition"
    with pytest.raises(ValidationError):
        WorkerReport("c1", 2, "ended", AT, "t1", "k1", None, "h/1")
    with pytest.raises(ValidationError) as refused:
        WorkerReport("c1", 0, "attached", AT, "t1", "k1", None, "h/1")
    assert refused.value.field == "sequence"


def config(**fields: object) -> AgentConfig:
    values: dict[str, object] = {
        "agent_id": "a1",
        "tenant_id": "t1",
        "version": 3,
        "name": "Reminders",
        "greeting": "Hello {name}.",
        "language": "en",
        "voice": "alloy",
        "instructions": "",
        "provider": "scripted",
        "voicemail_policy": "hang_up",
    }
    values.update(fields)
    return AgentConfig(**values)  # type: ignore[arg-type]


def test_the_script_takes_numbered_replies_in_order_and_the_closing() -> None:
    script = config(
        prompts={"reply_10": "Tenth.", "reply_2": "Second.", "goodbye": "Bye.", "other": "x"}
    ).script()
    assert script.greeting == "Hello {name}."
    assert script.replies == ("Second.", "Tenth.")
    assert script.closing == "Bye."
    assert script.voicemail is None


def test_without_prompts_the_script_keeps_the_defaults_and_leaves_the_agents_message() -> None:
    script = config(
        voicemail_policy=VoicemailPolicy.LEAVE_MESSAGE, voicemail_message="Call us back."
    ).script()
    assert (script.replies, script.closing) == (Script().replies, Script().closing)
    assert script.voicemail == "Call us back."


def test_a_stand_alone_calls_reports_name_its_origin_and_agent_not_its_campaign() -> None:
    dialout = CallSetup("lk-1", "t1", "adhoc", "a1", origin="dialout")
    attached = report.attached(dialout, 1, AT, "h/1")
    assert (attached.campaign_id, attached.lease_token) == (None, None)
    assert (attached.origin, attached.agent_id) == (CallOrigin.DIALOUT, "a1")
    failed = report.not_connected(dialout, Disposition.BUSY, "busy", 2, AT, "h/1")
    assert (failed.origin, failed.agent_id, failed.campaign_id) == (CallOrigin.DIALOUT, "a1", None)
    # A call handed over keeps its campaign and lease, and names no origin.
    handed = report.attached(CALL, 1, AT, "h/1")
    assert (handed.campaign_id, handed.lease_token, handed.origin, handed.agent_id) == (
        "k1",
        "lease-1",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"campaign_id": None}, "campaign_id"),
        ({"agent_id": "a1"}, "agent_id"),
        ({"origin": CallOrigin.DIALOUT}, "campaign_id"),
        ({"origin": CallOrigin.INBOUND, "campaign_id": None, "agent_id": "a1"}, "origin"),
        ({"origin": CallOrigin.WIDGET, "campaign_id": None}, "agent_id"),
        ({"origin": CallOrigin.WIDGET, "campaign_id": None, "lease_token": "x"}, "campaign_id"),
    ],
)
def test_only_a_stand_alone_report_goes_without_a_campaign(
    fields: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"campaign_id": "k1", "lease_token": None} | fields
    with pytest.raises(ValidationError) as refused:
        WorkerReport("c1", 1, "attached", AT, "t1", worker="h/1", **values)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_only_a_dialout_or_a_widget_call_is_stand_alone() -> None:
    with pytest.raises(ValidationError) as refused:
        CallSetup("c1", "t1", "k1", "a1", origin="campaign")
    assert refused.value.field == "origin"
    assert CallSetup("c1", "t1", "k1", "a1", origin="widget").origin is CallOrigin.WIDGET


def test_a_call_its_agent_never_reached_is_abandoned_only_if_someone_answered() -> None:
    assert never_connected(answered=True) is Disposition.ABANDONED
    assert never_connected(answered=False) is Disposition.FAILED
