"""A call's recording written to disk as the call runs, so neither a long call nor a crash costs
memory or audio.

Each track goes to its own file in `<spool>/live/` (`<call_id>.caller.pcm`,
`<call_id>.agent.pcm`, 16-bit 8 kHz mono), next to `<call_id>.json` naming the call. Writes are
unbuffered: each frame reaches the kernel at once (a few hundred bytes per 20 ms, no `fsync`),
so a worker killed with `kill -9` loses nothing it had written. The placement rules are the
domain's (`voxcore_domain.voice.recording`): the caller is the clock, agent audio plays from
the caller's present or after the agent's earlier audio, a barge-in cuts what was queued.

At the end the tracks become a stereo WAV (caller left, agent right), interleaved in chunks so
that this too never holds the whole call.
"""

from __future__ import annotations

import io
import json
import os
import wave
from array import array
from pathlib import Path
from typing import BinaryIO

from voxcore_domain.voice.audio import SAMPLE_BYTES, SAMPLE_RATE
from voxcore_domain.voice.call import CallSetup
from voxcore_domain.voice.mulaw import samples, to_pcm

CHUNK_SAMPLES = 8000 * 10
"""Samples per track interleaved at a time when the WAV is made: 10 s, 160 kB per track."""


def _even(pcm: bytes) -> bytes:
    return pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES]


class LiveRecording:
    """Both tracks of one call, on disk as they grow."""

    def __init__(self, directory: Path, call: CallSetup) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.call = call
        self.caller_path = directory / f"{call.call_id}.caller.pcm"
        self.agent_path = directory / f"{call.call_id}.agent.pcm"
        self.meta_path = directory / f"{call.call_id}.json"
        self.meta_path.write_text(
            json.dumps(
                {
                    "tenant_id": call.tenant_id,
                    "campaign_id": call.campaign_id,
                    "call_id": call.call_id,
                }
            )
        )
        self._caller: BinaryIO = self.caller_path.open("wb", buffering=0)
        self._agent: BinaryIO = self.agent_path.open("wb", buffering=0)
        self._caller_bytes = 0
        self._agent_bytes = 0

    @property
    def empty(self) -> bool:
        return self._caller_bytes == 0 and self._agent_bytes == 0

    def hear(self, pcm: bytes) -> None:
        """The caller's next audio."""
        pcm = _even(pcm)
        self._caller.write(pcm)
        self._caller_bytes += len(pcm)

    def say(self, pcm: bytes) -> None:
        """Audio the agent queued now."""
        if self._agent_bytes < self._caller_bytes:
            self._agent.write(bytes(self._caller_bytes - self._agent_bytes))
            self._agent_bytes = self._caller_bytes
        pcm = _even(pcm)
        self._agent.write(pcm)
        self._agent_bytes += len(pcm)

    def cut(self) -> None:
        """The agent's queued audio was dropped (barge-in): nothing past now was played."""
        if self._agent_bytes > self._caller_bytes:
            self._agent.truncate(self._caller_bytes)
            self._agent.seek(self._caller_bytes)
            self._agent_bytes = self._caller_bytes

    def close(self) -> None:
        self._caller.close()
        self._agent.close()

    def discard(self) -> None:
        """Remove the call's files (once its WAV is made)."""
        self.close()
        for path in (self.caller_path, self.agent_path, self.meta_path):
            path.unlink(missing_ok=True)


def tracks_to_wav(
    caller: Path, agent: Path, wav_path: Path, *, chunk_samples: int = CHUNK_SAMPLES
) -> None:
    """Write the stereo WAV of two track files to `wav_path` (through a `.partial` file, so a
    crash never leaves half a WAV under the final name); a missing track is silence."""
    partial = wav_path.with_name(wav_path.name + ".partial")
    with (
        _open_or_empty(caller) as left_file,
        _open_or_empty(agent) as right_file,
        wave.open(str(partial), "wb") as wav,
    ):
        wav.setnchannels(2)
        wav.setsampwidth(SAMPLE_BYTES)
        wav.setframerate(SAMPLE_RATE)
        while True:
            left = samples(left_file.read(chunk_samples * SAMPLE_BYTES))
            right = samples(right_file.read(chunk_samples * SAMPLE_BYTES))
            length = max(len(left), len(right))
            if length == 0:
                break
            left.extend(array("h", bytes(SAMPLE_BYTES * (length - len(left)))))
            right.extend(array("h", bytes(SAMPLE_BYTES * (length - len(right)))))
            frames = array("h", bytes(2 * SAMPLE_BYTES * length))
            frames[0::2] = left
            frames[1::2] = right
            wav.writeframes(to_pcm(frames))
    with partial.open("rb+") as file:
        os.fsync(file.fileno())
    partial.replace(wav_path)


def _open_or_empty(path: Path) -> BinaryIO:
    if path.exists():
        return path.open("rb")
    return io.BytesIO()
