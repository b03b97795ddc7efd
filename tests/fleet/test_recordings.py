"""A recording is never lost: S3 is retried with backoff, a refused recording is spooled to
disk, and the spool is sent again when the worker next starts."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from litestar.testing import TestClient

from apps.fleet.metrics import FleetMetrics
from apps.fleet.recordings import Kept, RecordingArchive
from apps.fleet.settings import Settings
from tests.fleet.support import worker_app
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.s3 import S3RecordingStore
from voxcore_domain.ports import RecordingInfo
from voxcore_domain.voice.call import CallSetup
from voxcore_domain.voice.recording import Recording

CALL = CallSetup("call.1", "tenant-1", "campaign-1", "agent-1")


def wav() -> bytes:
    recording = Recording()
    recording.hear(b"\x01\x00" * 800)
    recording.say(b"\x02\x00" * 400)
    return recording.stereo_wav()


class FlakyStore(InMemoryRecordingStore):
    """Refuses the first `failures` uploads, as an unreachable MinIO does."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def put_recording(
        self,
        tenant_id: str,
        campaign_id: str,
        call_id: str,
        name: str,
        data: bytes,
        content_type: str = "audio/wav",
    ) -> RecordingInfo:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionRefusedError(111, "Connection refused")
        return super().put_recording(tenant_id, campaign_id, call_id, name, data, content_type)


def archive(store: InMemoryRecordingStore | S3RecordingStore, spool: Path) -> RecordingArchive:
    return RecordingArchive(store, spool, FleetMetrics(), attempts=3, backoff_s=0.01)


async def test_a_failed_upload_is_retried_with_backoff(tmp_path: Path) -> None:
    store = FlakyStore(failures=2)
    started = asyncio.get_running_loop().time()
    assert await archive(store, tmp_path).keep(CALL, wav()) is Kept.UPLOADED
    assert store.attempts == 3
    # 0.01 s, then 0.02 s.
    assert asyncio.get_running_loop().time() - started >= 0.03
    assert store.get("tenant-1/call.1/call.wav") == wav()
    assert list(tmp_path.iterdir()) == []


async def test_a_recording_s3_keeps_refusing_is_spooled(tmp_path: Path) -> None:
    store = FlakyStore(failures=99)
    assert await archive(store, tmp_path).keep(CALL, wav()) is Kept.SPOOLED
    assert store.attempts == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["call.1.json", "call.1.wav"]
    assert (tmp_path / "call.1.wav").read_bytes() == wav()
    assert json.loads((tmp_path / "call.1.json").read_text()) == {
        "tenant_id": "tenant-1",
        "campaign_id": "campaign-1",
        "call_id": "call.1",
    }
    # Still refused at the next attempt: it stays spooled.
    assert await archive(store, tmp_path).resend() == 0
    assert len(list(tmp_path.iterdir())) == 2


def test_the_next_start_sends_the_spool_to_s3(
    settings: Settings, s3_recordings: S3RecordingStore
) -> None:
    spool = Path(settings.spool)
    assert asyncio.run(archive(FlakyStore(failures=99), spool).keep(CALL, wav())) is Kept.SPOOLED
    (spool / "broken.json").write_text("{not json")
    with TestClient(worker_app(settings, recordings=s3_recordings)) as client:
        for _ in range(200):
            if not (spool / "call.1.json").exists():
                break
            time.sleep(0.02)  # the app runs on the test client's thread
        assert 'vox_fleet_recordings_total{result="resent"} 1.0' in client.get("/metrics").text
        assert 'vox_fleet_recordings_total{result="failed"} 1.0' in client.get("/metrics").text
    (info,) = s3_recordings.for_call("tenant-1", "call.1")
    assert info.campaign_id == "campaign-1"
    assert s3_recordings.get(info.key) == wav()
    # The unreadable entry stays for an operator to look at.
    assert sorted(path.name for path in spool.iterdir()) == ["broken.json"]
