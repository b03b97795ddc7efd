"""Where a call's recording goes: S3 (the host's MinIO), retried with backoff, else the spool.

A recording is never dropped: when S3 refuses it after every attempt it is written to the
worker's spool directory (the WAV, then a JSON file naming its call, written last so a
half-written entry is never read), and the spool is sent again at the worker's next start and
every `VOX_FLEET_RECORDING_RESEND_S` while it runs, so an S3 outage ends with every recording
uploaded without a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from enum import StrEnum
from pathlib import Path

from apps.fleet.live_recording import LiveRecording, tracks_to_wav
from apps.fleet.metrics import FleetMetrics
from voxcore_domain.ports import CallRecordings
from voxcore_domain.voice.call import CallSetup

log = logging.getLogger(__name__)

RECORDING_NAME = "call.wav"
"""The stereo recording's file name within its call's folder (`<tenant>/<call>/call.wav`)."""


class Kept(StrEnum):
    UPLOADED = "uploaded"
    SPOOLED = "spooled"


class RecordingArchive:
    """Uploads recordings to `store`; spools them to `spool_dir` when it cannot."""

    def __init__(
        self,
        store: CallRecordings,
        spool_dir: Path,
        metrics: FleetMetrics,
        *,
        attempts: int,
        backoff_s: float,
    ) -> None:
        self._store = store
        self._spool = spool_dir
        self._metrics = metrics
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._live: set[str] = set()
        """Calls whose recording is being written now: not orphans."""
        self._uploading: set[str] = set()
        """Calls whose spooled WAV `keep_live` is uploading now: not for `resend`."""

    async def keep(self, call: CallSetup, wav: bytes) -> Kept:
        """Upload `wav` as `call`'s recording, or spool it if every attempt fails."""
        try:
            await self._upload(call.tenant_id, call.campaign_id, call.call_id, wav)
        except Exception as error:
            # Any failure of the store (unreachable, refusing, timing out) ends the same way:
            # the recording waits on disk for the next start.
            log.error("recording of call %s not uploaded, spooling it: %r", call.call_id, error)
            await asyncio.to_thread(self._write_spool, call, wav)
            self._metrics.recordings.labels(Kept.SPOOLED.value).inc()
            return Kept.SPOOLED
        self._metrics.recordings.labels(Kept.UPLOADED.value).inc()
        return Kept.UPLOADED

    @property
    def live_dir(self) -> Path:
        """Where the recordings of calls in progress are written."""
        return self._spool / "live"

    def start(self, call: CallSetup) -> LiveRecording:
        """A recording of `call`, written to disk as the call runs."""
        live = LiveRecording(self.live_dir, call)
        self._live.add(call.call_id)
        return live

    def forget(self, call_id: str) -> None:
        """`call_id`'s recording was discarded (nothing was recorded)."""
        self._live.discard(call_id)

    async def keep_live(self, live: LiveRecording) -> Kept:
        """Make `live`'s stereo WAV and upload it, or leave it spooled if every attempt fails.
        Each step leaves a complete spool entry behind it, so a crash loses nothing."""
        call = live.call
        live.close()
        self._uploading.add(call.call_id)
        try:
            try:
                wav_path = self._spool / f"{call.call_id}.wav"
                await asyncio.to_thread(self._spool_live, live, wav_path)
            finally:
                self._live.discard(call.call_id)
            try:
                wav = await asyncio.to_thread(wav_path.read_bytes)
                await self._upload(call.tenant_id, call.campaign_id, call.call_id, wav)
            except Exception as error:
                # As in `keep`: whatever the store's failure, the recording waits on disk.
                log.error("recording of call %s not uploaded, spooled: %r", call.call_id, error)
                self._metrics.recordings.labels(Kept.SPOOLED.value).inc()
                return Kept.SPOOLED
            await asyncio.to_thread(_remove_entry, self._spool / f"{call.call_id}.json", wav_path)
        finally:
            self._uploading.discard(call.call_id)
        self._metrics.recordings.labels(Kept.UPLOADED.value).inc()
        return Kept.UPLOADED

    def _spool_live(self, live: LiveRecording, wav_path: Path) -> None:
        tracks_to_wav(live.caller_path, live.agent_path, wav_path)
        _write_atomically(wav_path.with_suffix(".json"), live.meta_path.read_bytes())
        live.discard()

    async def recover(self) -> int:
        """Spool the recordings of calls a previous run of the worker left unfinished (killed
        mid-call): their tracks become WAVs that `resend` sends. How many were found."""
        found = 0
        for meta_path in sorted(await asyncio.to_thread(self._live_entries)):
            call_id = meta_path.name.removesuffix(".json")
            if call_id in self._live:
                continue
            directory = meta_path.parent
            try:
                await asyncio.to_thread(
                    _spool_orphan, directory, call_id, self._spool / f"{call_id}.wav"
                )
            except OSError as error:
                log.error("unfinished recording %s could not be spooled: %r", call_id, error)
                self._metrics.recordings.labels("failed").inc()
                continue
            log.warning("recording of call %s was left unfinished: spooled", call_id)
            found += 1
        return found

    def _live_entries(self) -> list[Path]:
        if not self.live_dir.is_dir():
            return []
        return list(self.live_dir.glob("*.json"))

    async def resend(self) -> int:
        """Send every spooled recording again (with those of calls a killed worker left
        unfinished); each sent one leaves the spool. How many went."""
        await self.recover()
        sent = 0
        for entry in sorted(await asyncio.to_thread(self._entries)):
            if entry.stem in self._uploading:
                continue
            wav_path = entry.with_suffix(".wav")
            try:
                meta, wav = await asyncio.to_thread(_read_entry, entry, wav_path)
            except (OSError, ValueError, KeyError) as error:
                # Left in place for an operator: resending cannot repair it.
                log.error("spooled recording %s is unreadable: %r", entry.name, error)
                self._metrics.recordings.labels("failed").inc()
                continue
            try:
                await self._upload(meta["tenant_id"], meta["campaign_id"], meta["call_id"], wav)
            except Exception as error:
                # Still refused: it stays spooled for the next start.
                log.warning("spooled recording %s not resent: %r", entry.stem, error)
                self._metrics.recordings.labels("failed").inc()
                continue
            await asyncio.to_thread(_remove_entry, entry, wav_path)
            sent += 1
            self._metrics.recordings.labels("resent").inc()
        if sent:
            log.info("resent %d spooled recording(s)", sent)
        return sent

    async def resend_every(self, interval_s: float) -> None:
        """`resend` now and every `interval_s`, until cancelled: recordings spooled while S3 was
        down go up once it is back."""
        while True:
            try:
                await self.resend()
            except OSError as error:
                # The spool itself unreadable (a disk problem): logged, tried again later.
                log.error("could not read the recording spool: %r", error)
            await asyncio.sleep(interval_s)

    async def _upload(self, tenant_id: str, campaign_id: str, call_id: str, wav: bytes) -> None:
        delay = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                # The minio client blocks: a thread keeps the call's event loop free.
                await asyncio.to_thread(
                    self._store.put_recording, tenant_id, campaign_id, call_id, RECORDING_NAME, wav
                )
                return
            except Exception as error:
                if attempt == self._attempts:
                    raise
                log.warning(
                    "recording upload %d/%d of call %s failed: %r",
                    attempt,
                    self._attempts,
                    call_id,
                    error,
                )
            await asyncio.sleep(delay)
            delay *= 2

    def _entries(self) -> list[Path]:
        if not self._spool.is_dir():
            return []
        return list(self._spool.glob("*.json"))

    def _write_spool(self, call: CallSetup, wav: bytes) -> None:
        self._spool.mkdir(parents=True, exist_ok=True)
        # Call ids are checked to be file-name safe (no `/`) when the call is taken.
        _write_atomically(self._spool / f"{call.call_id}.wav", wav)
        meta = {
            "tenant_id": call.tenant_id,
            "campaign_id": call.campaign_id,
            "call_id": call.call_id,
        }
        _write_atomically(self._spool / f"{call.call_id}.json", json.dumps(meta).encode())


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    partial.replace(path)


def _read_entry(entry: Path, wav_path: Path) -> tuple[dict[str, str], bytes]:
    meta = json.loads(entry.read_text())
    if not isinstance(meta, dict):
        raise ValueError("not a JSON object")
    ids = {key: str(meta[key]) for key in ("tenant_id", "campaign_id", "call_id")}
    return ids, wav_path.read_bytes()


def _remove_entry(meta_path: Path, wav_path: Path) -> None:
    meta_path.unlink(missing_ok=True)
    wav_path.unlink(missing_ok=True)


def _spool_orphan(directory: Path, call_id: str, wav_path: Path) -> None:
    caller = directory / f"{call_id}.caller.pcm"
    agent = directory / f"{call_id}.agent.pcm"
    meta = directory / f"{call_id}.json"
    tracks_to_wav(caller, agent, wav_path)
    _write_atomically(wav_path.with_suffix(".json"), meta.read_bytes())
    for path in (caller, agent, meta):
        path.unlink(missing_ok=True)
