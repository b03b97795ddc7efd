"""One fleet worker, measured: resident memory idle and in a call, attach-to-first-audio
latency, and the processing time of one 20 ms media frame.

    make bench-fleet                 # 50 calls; --calls N for more

The worker is the real thing: `granian --interface asgi --workers 1 --uds <socket> --factory
apps.fleet.main:create_app` (docs/fleet.md), on the memory backend (no Redis, S3 or API
behind it, so their round trips are not in the figures), with its spool in a temporary
directory. Each call: `POST /attach` over the Unix socket, then a Twilio media stream
(`/media/twilio`) that opens, says "hello" (600 ms of voice, 700 ms of quiet, sent as fast as
the socket takes it) and waits for the agent's first `media` frame; then `stop`. The agent's
time is the caller's audio, so sending it faster than real time measures the worker, not the
conversation's waits. "Model time" is the scripted agent's tone synthesizer rendering the
greeting (a real agent's text-to-speech), timed here in-process and subtracted.

The caller's frames of each call are encoded before its clock starts (the simulator's work,
not the worker's). The worker is told nothing of the calls ahead: each attach and stream is
new to it.

Resident memory (VmRSS of the worker process) is read idle after start (once the worker has
released what starting freed), in each call after its
first audio, and `--long-s` seconds into a long call (once the worker has written all of it to
its caller track): with the recording streamed to disk, a longer call costs no more memory.
(After a call the memory backend's store holds the uploaded WAV in memory, so RSS is not read
then.) A second worker on the real backend (the Redis test server; S3 and API clients loaded,
not contacted while idle) gives the idle memory as production runs it.

A third worker runs on the real backend with a LiveKit server and key (the LiveKit Twirp
double, `voxcore_adapters.testing.livekit_double`): its idle memory, then two `/livekit/widget`
calls one after the other. LiveKit's client (`livekit-api`, aiohttp, protobuf) is imported at
the first LiveKit request, so the first call's answer (room created, browser token made) is
timed against the second's: the difference is what the deferred import costs that call. Each
room call's media runs in a room process of its own (the RTC SDK is never imported by the
worker); its room join cannot succeed here (the double speaks Twirp, not WebRTC: no LiveKit
media server runs on this machine), so each call ends failed and frees the slot, its room
process gone. The room process itself is measured apart: five started as a worker starts them
(`join_in_child`), with the room double (`voxcore_adapters.testing.room_double`) in place of
the WebRTC join, timed from start to in the room, the last one's memory read once the agent has
spoken a second in it; the media of a real room (WebRTC, audio buffers) is not in it. The
LiveKit worker's memory is read as RSS, PSS and USS (`/proc/<pid>/smaps_rollup`) as soon as it
answers, idle, after the calls (before the worker gives what they freed back with
`malloc_trim`, `apps.fleet.memory`) and after that release, with a second LiveKit worker
alongside that took the same calls (so the libraries' pages are shared as on a host; the share
of one of 16 is estimated from them). The LiveKit workers run with the systemd unit's
`MALLOC_*` settings; two more run with malloc's defaults, to show what they save. The LiveKit
worker runs twice more with its bytecode kept in a private cache: the first run compiles it,
the second is measured, as a worker installed with `uv sync --compile-bytecode` starts (the
other workers use whatever bytecode the environment has; the table's last line says when they
compile their sources).

Frame processing is measured in-process on the same pieces a worker runs per frame: Twilio
frame decode (JSON, base64, μ-law), the recorded leg (spooled to disk), the scripted agent's
framing, level and turn rules.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import attrs
import httpx

from apps.fleet.live_recording import LiveRecording
from apps.fleet.memory import RELEASE_DELAY_S
from voxcore_adapters.carriers import CODECS
from voxcore_adapters.carriers.leg import StreamLeg, open_stream
from voxcore_adapters.livekit.room_child import join_in_child
from voxcore_adapters.testing import room_double
from voxcore_adapters.testing.asgi_server import healthy_on, spawn_worker, stop_worker
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_adapters.testing.redis_server import redis_url
from voxcore_adapters.voice.recorded import RecordedLeg
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.voice.call import CallSetup, Played
from voxcore_domain.voice.script import Script


@attrs.frozen
class Memory:
    """One reading of a worker's memory, in MB."""

    rss: float
    """Resident: every page the worker maps, shared or not (`ps`, `top`)."""
    pss: float
    """Proportional: each shared page divided among the processes that map it."""
    uss: float
    """Unique: the pages no other process maps, given back if the worker exits."""
    anonymous: float
    """Not backed by a file: Python's objects, malloc's heaps, thread stacks."""
    threads: int
    """The worker's threads."""

    @property
    def files(self) -> float:
        """Resident pages of mapped files (libraries' code and data)."""
        return self.rss - self.anonymous

    def per_worker(self, workers: int) -> float:
        """Estimated share of one of `workers` alike on a host: its unique pages, and its
        shared ones divided among them all (as its PSS is with the workers it shares with)."""
        return self.uss + (self.rss - self.uss) / workers

    def cells(self) -> str:
        return f"{self.rss:.1f} / {self.pss:.1f} / {self.uss:.1f} MB"


def memory_of(pid: int) -> Memory:
    """Process `pid`'s memory now, from `/proc/<pid>/smaps_rollup`."""
    kib: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        kib[name] = int(value.split()[0])
    return Memory(
        rss=kib["Rss"] / 1024,
        pss=kib["Pss"] / 1024,
        uss=(kib["Private_Clean"] + kib["Private_Dirty"]) / 1024,
        anonymous=kib["Anonymous"] / 1024,
        threads=len(list(Path(f"/proc/{pid}/task").iterdir())),
    )


CALL = {"tenant_id": "bench-t", "campaign_id": "bench-k", "agent_id": "bench-a"}

SETTLE_S = RELEASE_DELAY_S + 0.5
"""How long after it starts a worker is read idle: once it has released what starting freed."""


class Worker:
    """A Granian fleet worker on a Unix socket in `directory`."""

    def __init__(
        self,
        directory: Path,
        backend: dict[str, str] | None = None,
        without: Sequence[str] = (),
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.socket = directory / "w.sock"
        self.spool = directory / "spool"
        env = {
            "VOX_FLEET_WORKER": "bench",
            "VOX_FLEET_HOST": "bench",
            "VOX_FLEET_BACKEND": "memory",
            "VOX_FLEET_SOCKET": str(self.socket),
            "VOX_FLEET_SPOOL_DIR": str(self.spool),
            **(backend or {}),
        }
        self.process = spawn_worker(self.socket, env, directory / "granian.log", "0660", without)
        deadline = time.monotonic() + 30
        while not healthy_on(self.socket):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the worker did not start; see {directory / 'granian.log'}")
            time.sleep(0.05)
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        self.pid = int(children.split()[0])
        self.healthy_at = time.monotonic()

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def memory(self) -> Memory:
        """The worker's memory now."""
        return memory_of(self.pid)

    def stop(self) -> None:
        stop_worker(self.process, timeout_s=20.0)


async def one_call(
    worker: Worker, http: httpx.AsyncClient, session: aiohttp.ClientSession, n: int, long_s: float
) -> tuple[float, float]:
    """One attached call: (seconds from the attach to the agent's first audio, the worker's
    RSS in MB then). With `long_s`, the caller then talks on for that long before the end."""
    call_id = f"bench-{n}"
    carrier = TwilioCarrier({"call_id": call_id})
    # The carrier's frames are made before the clock starts: encoding them (μ-law in Python,
    # 5-30 ms on a loaded machine) is the simulator's time, not the worker's.
    hello = carrier.opening() + carrier.say(voice(600) + quiet(700))
    started = time.perf_counter()
    answer = await http.post(
        "/attach",
        json={
            **CALL,
            "call_id": call_id,
            "lease_token": "bench",
            "media": {"kind": "stream", "carrier": "twilio"},
        },
    )
    assert answer.status_code == 202, answer.text
    async with session.ws_connect("http://fleet/media/twilio") as ws:
        for frame in hello:
            await ws.send_str(frame)
        while True:
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.TEXT, message
            if '"event":"media"' in message.data.replace(" ", ""):
                break
        first_audio = time.perf_counter() - started
        rss = worker.rss_mb()
        if long_s:
            # A caller who keeps talking (long utterances are a machine's greeting: the agent
            # waits for it to end), sent in 1 s batches.
            for _ in range(int(long_s)):
                for frame in carrier.say(voice(1000)):
                    await ws.send_str(frame)
            # Late in the call: once the worker has taken every frame (its caller track on
            # disk is as long as what was sent), before the recording is kept.
            track = worker.spool / "live" / f"{call_id}.caller.pcm"
            while track.stat().st_size < len(carrier.sent):
                await asyncio.sleep(0.01)
            rss = worker.rss_mb()
        for frame in carrier.stop():
            await ws.send_str(frame)
        while (await ws.receive()).type is aiohttp.WSMsgType.TEXT:
            pass
    # The slot is freed once the recording is kept: wait for it before the next attach.
    while (await http.get("/health")).json()["slot"]["state"] != "idle":
        await asyncio.sleep(0.001)
    return first_audio, rss


async def run_calls(worker: Worker, calls: int, long_s: float) -> dict[str, object]:
    transport = httpx.AsyncHTTPTransport(uds=str(worker.socket))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://fleet") as http,
        aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(worker.socket))) as session,
    ):
        await asyncio.sleep(SETTLE_S)
        idle = worker.rss_mb()
        await one_call(worker, http, session, -1, 0)  # warm-up: imports, first allocations
        latencies: list[float] = []
        in_call: list[float] = []
        for n in range(calls):
            latency, rss = await one_call(worker, http, session, n, 0)
            latencies.append(latency)
            in_call.append(rss)
        _, late_in_long = await one_call(worker, http, session, calls, long_s)
    return {
        "idle": idle,
        "in_call": max(in_call),
        "late_in_long": late_in_long,
        "latencies": latencies,
    }


def real_backend(redis: str) -> dict[str, str]:
    """The real backend's settings: Redis (the test server; heartbeats flowing), the S3 and API
    clients loaded. S3 and the API are not contacted while the worker is idle, so their URLs
    lead nowhere here."""
    return {
        "VOX_FLEET_BACKEND": "real",
        "VOX_REDIS_URL": redis,
        "VOX_S3_URL": "http://127.0.0.1:9",
        "VOX_S3_ACCESS_KEY": "bench",
        "VOX_S3_SECRET_KEY": "bench-secret",
        "VOX_FLEET_API_URL": "http://127.0.0.1:9",
        "VOX_FLEET_API_TOKEN": "bench-" + "t" * 40,
        "VOX_FLEET_HEARTBEAT_S": "0.2",
    }


def real_backend_idle(directory: Path) -> float:
    """RSS (MB) of an idle worker on the real backend, as production runs it."""
    with redis_url() as redis:
        worker = Worker(directory, real_backend(redis))
        try:
            time.sleep(SETTLE_S)  # a few heartbeats too: the Redis connection is open
            return worker.rss_mb()
        finally:
            worker.stop()


async def widget_call(http: httpx.AsyncClient, n: int, token: str) -> float:
    """Seconds to the answer of one `/livekit/widget` call; returns once the call has ended
    (its room join fails here) and the slot is idle again."""
    started = time.perf_counter()
    answer = await http.post(
        "/livekit/widget",
        json={**CALL, "call_id": f"bench-lk-{n}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    answered = time.perf_counter() - started
    assert answer.status_code == 202, answer.text
    while (await http.get("/health")).json()["slot"]["state"] != "idle":
        await asyncio.sleep(0.01)
    return answered


@attrs.frozen
class LiveKitRun:
    """A LiveKit worker's memory and answer times (`livekit_worker`)."""

    started: Memory
    """As soon as it answers: before it releases what starting freed."""
    idle: Memory
    unreleased: Memory
    """Right after the calls: before the worker releases the memory they freed."""
    after: Memory
    """Once it has (`apps.fleet.memory`)."""
    first: float
    second: float


async def livekit_calls(worker: Worker, token: str) -> tuple[float, float, Memory, Memory]:
    """Two widget calls, then the worker's memory as the second call freed its slot (before
    the worker releases what the call freed, `RELEASE_DELAY_S` later) and once it has."""
    transport = httpx.AsyncHTTPTransport(uds=str(worker.socket))
    async with httpx.AsyncClient(transport=transport, base_url="http://fleet") as http:
        first = await widget_call(http, 1, token)
        second = await widget_call(http, 2, token)
        idle_seen = time.monotonic()
        unreleased = worker.memory()
        if time.monotonic() - idle_seen > RELEASE_DELAY_S / 2:
            raise RuntimeError("the memory after the calls was read too late: released already")
        await asyncio.sleep(RELEASE_DELAY_S + 1.0)
    return first, second, unreleased, worker.memory()


def with_livekit(backend: dict[str, str], livekit: LiveKitDouble) -> dict[str, str]:
    return {
        **backend,
        "VOX_FLEET_LIVEKIT_URL": livekit.url,
        "VOX_FLEET_LIVEKIT_API_KEY": livekit.api_key,
        "VOX_FLEET_LIVEKIT_API_SECRET": livekit.api_secret,
        "VOX_FLEET_LIVEKIT_JOIN_WAIT_S": "1",
    }


UNIT = Path(__file__).resolve().parents[1] / "infra" / "systemd" / "voxcore@.service"


def production_malloc() -> dict[str, str]:
    """glibc's malloc settings (`MALLOC_*`) the worker's systemd unit gives it."""
    settings: dict[str, str] = {}
    for line in UNIT.read_text().splitlines():
        if line.startswith("Environment=MALLOC_"):
            name, value = line.removeprefix("Environment=").split("=", 1)
            settings[name] = value
    return settings


def livekit_worker(
    directory: Path,
    bytecode: Path | None = None,
    malloc: dict[str, str] | None = None,
    neighbours: int = 0,
) -> LiveKitRun:
    """An idle worker on the real backend with a LiveKit server and key, then two widget calls
    (see the module's docstring): its memory idle, after the calls and once it has released
    what they freed; the answer times (s).

    `malloc`: the worker's glibc malloc settings (by default the systemd unit's).
    `neighbours`: workers started alike before it, each through the same calls, and left
    running while it is measured: on a host the workers share their libraries' pages, which
    PSS and USS show.
    With `bytecode`, the worker keeps its modules' compiled bytecode in that directory
    (`PYTHONPYCACHEPREFIX`, written whatever `PYTHONDONTWRITEBYTECODE` says), and reads what an
    earlier run left there."""
    env = production_malloc() if malloc is None else dict(malloc)
    without = [name for name in os.environ if name.startswith("MALLOC_")]
    if bytecode is not None:
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
        without.append("PYTHONDONTWRITEBYTECODE")
    with redis_url() as redis, LiveKitDouble() as livekit:
        backend = real_backend(redis)
        token = backend["VOX_FLEET_API_TOKEN"]
        workers: list[Worker] = []
        try:
            for n in range(neighbours + 1):
                worker = Worker(
                    directory / f"w{n}",
                    {**with_livekit(backend, livekit), **env, "VOX_FLEET_WORKER": f"bench-{n}"},
                    without,
                )
                started = worker.memory()
                if time.monotonic() - worker.healthy_at > RELEASE_DELAY_S / 2:
                    raise RuntimeError("the started worker was read too late: released already")
                workers.append(worker)
                if n < neighbours:
                    asyncio.run(livekit_calls(worker, token))
            time.sleep(SETTLE_S)
            idle = worker.memory()
            first, second, unreleased, after = asyncio.run(livekit_calls(worker, token))
            return LiveKitRun(started, idle, unreleased, after, first, second)
        finally:
            for worker in workers:
                worker.stop()


def sources_compiled_at_start() -> bool:
    """Whether a worker started from this environment compiles its modules' sources (no
    bytecode beside them, and `PYTHONDONTWRITEBYTECODE` or a read-only install keeps it so)."""
    cached = Path(importlib.util.cache_from_source(httpx.__file__ or ""))
    return not cached.exists()


def precompiled(directory: Path) -> LiveKitRun:
    """`livekit_worker` when its modules' bytecode is compiled already, as `uv sync
    --compile-bytecode` installs it (`uv sync` alone leaves only sources, and a worker that may
    not write into the install compiles them at every start; the compiler's passing
    allocations leave its heap fragmented). A first run writes the bytecode of everything it
    imports, LiveKit calls included, to a private cache; the second, measured, reads it."""
    livekit_worker(directory / "compile", directory / "pycache")
    return livekit_worker(directory / "measure", directory / "pycache")


@attrs.frozen
class RoomProcessRun:
    """A room process's start and memory (`room_process`)."""

    ready: list[float]
    """Seconds from starting each child to its `Joined`."""
    memory: Memory
    """The last child's, in its call."""


async def room_process(calls: int) -> RoomProcessRun:
    """`calls` room calls' media processes, one after the other, as a worker starts them
    (`join_in_child`), the WebRTC join replaced by the room double (no LiveKit server here):
    the time each takes to be in the room (the interpreter, the RTC SDK's import, the relay),
    and the last one's memory once the agent has spoken a second in it."""
    seam = {
        "VOX_ROOM_PROCESS_TEST_JOIN": "voxcore_adapters.testing.room_double:join",
        room_double.SCENARIO: "holds:600",
    }
    saved = {name: os.environ.get(name) for name in seam}
    os.environ.update(seam)
    try:
        ready: list[float] = []
        for _ in range(calls):
            started = time.perf_counter()
            leg = await join_in_child("wss://bench", "bench", caller="sip-bench", caller_wait_s=5)
            ready.append(time.perf_counter() - started)
            try:
                await leg.play(voice(1000), "spoken")
                while not isinstance(await leg.receive(), Played):
                    pass
                memory = memory_of(leg.pid)
            finally:
                await leg.close()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return RoomProcessRun(ready, memory)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def synth_time(repeats: int) -> float:
    """Median seconds the tone synthesizer takes to render the default greeting."""
    synth = ToneSynth()
    greeting = Script().render({}).greeting
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await synth.render(greeting)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def frame_time(frames: int, directory: Path) -> float:
    """Seconds per 20 ms Twilio media frame through decode, the recorded leg and the scripted
    agent, in this process."""
    carrier = TwilioCarrier({"call_id": "frames", **CALL})
    wire = carrier.opening() + carrier.say(voice(frames * 20))
    feed = iter(wire)

    async def receive() -> str | None:
        return next(feed, None)

    async def send(frame: str) -> None:
        return None

    codec = CODECS["twilio"]
    start = await open_stream(codec, receive, 5.0)
    leg = StreamLeg(codec, start, receive, send, 5.0)
    call = CallSetup("frames", CALL["tenant_id"], CALL["campaign_id"], CALL["agent_id"])
    recording = LiveRecording(directory, call)
    agent = ScriptedAgent(Script(), ToneSynth())
    started = time.perf_counter()
    await agent.run(call, RecordedLeg(leg, recording))
    elapsed = time.perf_counter() - started
    recording.discard()
    return elapsed / frames


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--long-s", type=float, default=120.0)
    parser.add_argument("--frames", type=int, default=15000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vox-bench-fleet-") as tmp:
        directory = Path(tmp)
        worker = Worker(directory)
        try:
            measured = asyncio.run(run_calls(worker, args.calls, args.long_s))
        finally:
            worker.stop()
        real_idle = real_backend_idle(directory / "real")
        livekit = livekit_worker(directory / "livekit", neighbours=1)
        default_malloc = livekit_worker(directory / "livekit-malloc", malloc={}, neighbours=1)
        compiled = precompiled(directory / "precompiled")
        child = asyncio.run(room_process(5))
        synth = asyncio.run(synth_time(20))
        per_frame = asyncio.run(frame_time(args.frames, directory / "frames"))
    latencies: list[float] = measured["latencies"]  # type: ignore[assignment]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    rows = [
        ("worker RSS idle (after start)", f"{measured['idle']:.1f} MB", "≤ 80 MB"),
        ("worker RSS idle, real backend (Redis, S3, API)", f"{real_idle:.1f} MB", "≤ 80 MB"),
        ("worker RSS idle, real backend + LiveKit key", f"{livekit.idle.rss:.1f} MB", "≤ 80 MB"),
        (
            "  after LiveKit room calls (media in a room process)",
            f"{livekit.after.rss:.1f} MB",
            "≤ 80 MB",
        ),
        (
            "  first /livekit/widget answer (imports the SDKs)",
            f"{livekit.first * 1000:.0f} ms",
            "",
        ),
        ("  second /livekit/widget answer", f"{livekit.second * 1000:.0f} ms", ""),
        ("LiveKit worker, RSS / PSS / USS (2 side by side):", "", ""),
        ("  started, before the release", livekit.started.cells(), ""),
        ("  idle, after the release (malloc_trim)", livekit.idle.cells(), "≤ 80 MB"),
        ("  after the calls, before the release", livekit.unreleased.cells(), ""),
        (
            "  after the release (malloc_trim)",
            livekit.after.cells(),
            f"RSS ≤ 80 MB: {'met' if livekit.after.rss <= 80 else 'not met'}",
        ),
        (
            "    of it anonymous / files (RSS)",
            f"{livekit.after.anonymous:.1f} / {livekit.after.files:.1f} MB",
            "",
        ),
        (
            "    threads idle / after the calls",
            f"{livekit.idle.threads} / {livekit.after.threads}",
            "",
        ),
        (
            "    estimated share with 16 on a host",
            f"{livekit.after.per_worker(16):.1f} MB",
            "≤ 80 MB",
        ),
        ("  malloc's defaults (no MALLOC_ARENA_MAX), 2 side by side:", "", ""),
        ("    after the calls, before the release", default_malloc.unreleased.cells(), ""),
        ("    after the release", default_malloc.after.cells(), ""),
        ("the same, bytecode precompiled: idle", f"{compiled.idle.rss:.1f} MB", "≤ 80 MB"),
        ("  after LiveKit room calls", f"{compiled.after.rss:.1f} MB", ""),
        ("  first /livekit/widget answer", f"{compiled.first * 1000:.0f} ms", ""),
        ("  second /livekit/widget answer", f"{compiled.second * 1000:.0f} ms", ""),
        ("room process (one per room call; room double, no WebRTC):", "", ""),
        (
            "  start → in the room, median / max of 5",
            f"{statistics.median(child.ready) * 1000:.0f} / {max(child.ready) * 1000:.0f} ms",
            "",
        ),
        ("  in its call, RSS / PSS / USS", child.memory.cells(), ""),
        ("worker RSS in a call (max over calls)", f"{measured['in_call']:.1f} MB", ""),
        (f"worker RSS {args.long_s:g} s into a call", f"{measured['late_in_long']:.1f} MB", ""),
        ("attach → first audio p50", f"{p50 * 1000:.1f} ms", ""),
        ("attach → first audio p99", f"{p99 * 1000:.1f} ms", ""),
        ("  model time (tone synth, greeting)", f"{synth * 1000:.2f} ms", ""),
        ("attach → first audio p99 − model time", f"{(p99 - synth) * 1000:.1f} ms", "≤ 50 ms"),
        ("processing per 20 ms frame", f"{per_frame * 1e6:.0f} µs", ""),
    ]
    width = max(len(row[0]) for row in rows)
    cell = max(len(row[1]) for row in rows)
    print(f"fleet worker: {args.calls} calls over its Unix socket (Twilio stream, memory backend)")
    print(f"{'measure':<{width}}  {'value':>{cell}}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>{cell}}  {target}")
    if sources_compiled_at_start():
        print("(but for the precompiled one, the workers compile their sources at start here)")


if __name__ == "__main__":
    main()
