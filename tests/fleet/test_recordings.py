"""A recording is never lost: S3 is retried with backoff, a refused recording is spooled to
disk, and the spool is sent again when the worker next starts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from litestar.testing import TestClient

from apps.fleet.live_recording import LiveRecording, tracks_to_wav
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


# -- recordings written to disk as the call runs -------------------------------------------------


def test_a_live_recording_on_disk_makes_the_same_wav_as_the_domains_recording(
    tmp_path: Path,
) -> None:
    memory = Recording()
    live = LiveRecording(tmp_path / "live", CALL)
    steps: tuple[Callable[[Recording | LiveRecording], None], ...]
    # A prompt, the caller barging in over it, a longer caller turn, a last prompt past the end.
    steps = (
        lambda r: r.hear(b"\x01\x00" * 800),
        lambda r: r.say(b"\x02\x00" * 2000),
        lambda r: r.hear(b"\x03\x00" * 300),
        lambda r: r.cut(),
        lambda r: r.hear(b"\x04\x00" * 3001),
        lambda r: r.say(b"\x05\x00" * 500),
        lambda r: r.say(b"\x06\x00" * 500),
    )
    for step in steps:
        step(memory)
        step(live)
    live.close()
    # Smaller chunks than the tracks, so the interleaving crosses chunk boundaries.
    tracks_to_wav(live.caller_path, live.agent_path, tmp_path / "call.wav", chunk_samples=700)
    assert (tmp_path / "call.wav").read_bytes() == memory.stereo_wav()
    assert live.caller_path.stat().st_size == len(memory.caller)


async def test_a_live_recording_is_uploaded_and_leaves_nothing_behind(tmp_path: Path) -> None:
    store = FlakyStore(failures=0)
    kept = archive(store, tmp_path)
    live = kept.start(CALL)
    live.hear(b"\x01\x00" * 800)
    live.say(b"\x02\x00" * 400)
    assert await kept.keep_live(live) is Kept.UPLOADED
    assert store.get("tenant-1/call.1/call.wav") == wav()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_a_live_recording_s3_refuses_is_spooled_and_resent(tmp_path: Path) -> None:
    store = FlakyStore(failures=3)
    kept = archive(store, tmp_path)
    live = kept.start(CALL)
    live.hear(b"\x01\x00" * 800)
    live.say(b"\x02\x00" * 400)
    assert await kept.keep_live(live) is Kept.SPOOLED
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "call.1.json",
        "call.1.wav",
    ]
    assert await archive(store, tmp_path).resend() == 1
    assert store.get("tenant-1/call.1/call.wav") == wav()


async def test_the_recording_of_a_call_a_killed_worker_left_is_spooled_and_sent(
    tmp_path: Path,
) -> None:
    store = FlakyStore(failures=0)
    live = archive(store, tmp_path).start(CALL)
    live.hear(b"\x01\x00" * 800)
    live.say(b"\x02\x00" * 400)
    # The process dies here: the files stay as they were written. The next start:
    restarted = archive(store, tmp_path)
    in_progress = restarted.start(CallSetup("call.2", "tenant-1", "campaign-1", "agent-1"))
    assert await restarted.resend() == 1
    assert store.get("tenant-1/call.1/call.wav") == wav()
    # The call running now is not mistaken for an orphan.
    assert in_progress.caller_path.exists()
    assert not live.caller_path.exists()


async def test_a_running_worker_sends_its_spool_once_s3_is_back(tmp_path: Path) -> None:
    store = FlakyStore(failures=3)
    kept = archive(store, tmp_path)
    live = kept.start(CALL)
    live.hear(b"\x01\x00" * 800)
    live.say(b"\x02\x00" * 400)
    assert await kept.keep_live(live) is Kept.SPOOLED
    # The same worker, still running, sends it by itself once the store takes uploads again.
    resending = asyncio.create_task(kept.resend_every(0.02))
    try:
        async with asyncio.timeout(5):
            while any(p.is_file() for p in tmp_path.rglob("*")):
                await asyncio.sleep(0.01)
    finally:
        resending.cancel()
    assert store.get("tenant-1/call.1/call.wav") == wav()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_a_resend_leaves_alone_the_recording_its_call_is_uploading(tmp_path: Path) -> None:
    class HeldStore(FlakyStore):
        """Holds the upload of the call that is ending until released."""

        def __init__(self) -> None:
            super().__init__(failures=0)
            self.entered = threading.Event()
            self.release = threading.Event()

        def put_recording(self, *args: object, **kwargs: object) -> RecordingInfo:
            self.entered.set()
            self.release.wait(5)
            return super().put_recording(*args, **kwargs)  # type: ignore[arg-type]

    store = HeldStore()
    kept = archive(store, tmp_path)
    live = kept.start(CALL)
    live.hear(b"\x01\x00" * 800)
    ending = asyncio.create_task(kept.keep_live(live))
    await asyncio.to_thread(store.entered.wait, 5)
    # The WAV is spooled while its upload is under way: a resend now must not take it.
    assert await kept.resend() == 0
    store.release.set()
    assert await ending is Kept.UPLOADED
    assert store.attempts == 1
