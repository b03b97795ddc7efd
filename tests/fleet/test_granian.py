"""The worker as it runs in production: a Granian process on a Unix socket, with Redis for its
slot and the real S3 server for its recordings. One call per process, carrier media over the
socket, and a drain on SIGTERM that lets the call in progress finish before the process exits."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from voxcore_adapters.redis import RedisSlotRegistry, connect
from voxcore_adapters.s3 import S3Connection, S3RecordingStore
from voxcore_adapters.testing.asgi_server import healthy_on, spawn_worker, stop_worker
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_domain.model import SlotState
from voxcore_domain.voice.recording import read_stereo_wav

REPO = Path(__file__).resolve().parents[2]
PARAMETERS = {
    "call_id": "call-g1",
    "tenant_id": "tenant-g",
    "campaign_id": "campaign-g",
    "agent_id": "agent-g",
    "name": "Gus",
}


class Worker:
    """`granian --interface asgi --workers 1 --uds <socket> --factory apps.fleet.main:create_app`,
    as docs/fleet.md runs it."""

    def __init__(self, socket: Path, env: dict[str, str], log: Path) -> None:
        self.socket = socket
        self.log = log
        self.process = spawn_worker(socket, env, log, "0660")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"granian exited at start: {self.output()}")
            if healthy_on(socket):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"granian did not answer on {socket}: {self.output()}")

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(self.socket)), base_url="http://fleet"
        )

    def output(self) -> str:
        return self.log.read_bytes()[-3000:].decode(errors="replace")

    def stop(self) -> None:
        stop_worker(self.process)


@pytest.fixture
def prefix() -> str:
    return f"vox-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def start_worker(
    tmp_path: Path,
    redis_server_url: str,
    s3_connection: S3Connection,
    bucket: str,
    prefix: str,
) -> Iterator[Callable[[], Worker]]:
    workers: list[Worker] = []

    def start() -> Worker:
        env = {
            "VOX_FLEET_WORKER": "g1",
            "VOX_FLEET_HOST": "granian-test",
            "VOX_FLEET_SOCKET": str(tmp_path / "w.sock"),
            "VOX_FLEET_BACKEND": "real",
            "VOX_REDIS_URL": redis_server_url,
            "VOX_REDIS_PREFIX": prefix,
            "VOX_S3_URL": s3_connection.url,
            "VOX_S3_ACCESS_KEY": s3_connection.access_key,
            "VOX_S3_SECRET_KEY": s3_connection.secret_key,
            "VOX_S3_REGION": s3_connection.region,
            "VOX_S3_BUCKET": bucket,
            "VOX_FLEET_SPOOL_DIR": str(tmp_path / "spool"),
            "VOX_FLEET_MEDIA_WAIT_S": "0.5",
            "VOX_FLEET_MEDIA_IDLE_S": "5",
            "VOX_FLEET_HEARTBEAT_S": "0.5",
        }
        worker = Worker(tmp_path / "w.sock", env, tmp_path / "granian.log")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
async def registry(redis_server_url: str, prefix: str) -> AsyncIterator[RedisSlotRegistry]:
    client = connect(redis_server_url)
    yield RedisSlotRegistry(client, prefix)
    await client.aclose()


def attach_body(call_id: str) -> dict[str, object]:
    return {
        "call_id": call_id,
        "tenant_id": "tenant-g",
        "campaign_id": "campaign-g",
        "agent_id": "agent-g",
        "lease_token": "lease-g",
        "media": {"kind": "stream", "carrier": "twilio"},
    }


class Stream:
    """A `TwilioCarrier` on an aiohttp WebSocket over the worker's Unix socket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, carrier: TwilioCarrier) -> None:
        self.ws = ws
        self.carrier = carrier

    async def send(self, frames: list[str]) -> None:
        for frame in frames:
            await self.ws.send_str(frame)

    async def pump(self, until: Callable[[], bool], timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not until():
                message = await self.ws.receive()
                if message.type is not aiohttp.WSMsgType.TEXT:
                    ended = f"{message.type} {message.data} {message.extra}"
                    raise AssertionError(f"the stream ended: {ended}")
                await self.send(self.carrier.hear(message.data))

    async def closed(self, timeout_s: float = 10.0) -> tuple[int, str]:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.ws.receive()
                if message.type is aiohttp.WSMsgType.TEXT:
                    await self.send(self.carrier.hear(message.data))
                    continue
                assert message.type is aiohttp.WSMsgType.CLOSE, message
                return int(message.data), str(message.extra)

    async def answer(self) -> None:
        await self.send(self.carrier.opening())
        await self.send(self.carrier.say(voice(600) + quiet(700)))
        await self.pump(lambda: "greeting-1" in self.carrier.marks)

    async def listen(self) -> None:
        await self.send(self.carrier.say(quiet(self.carrier.queued_ms + 40)))

    async def reply(self) -> None:
        prompts = len(self.carrier.marks)
        await self.send(self.carrier.say(voice(500) + quiet(700)))
        await self.pump(lambda: len(self.carrier.marks) > prompts)


def media_session(worker: Worker) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(worker.socket)))


async def test_a_real_worker_takes_one_attach_and_refuses_the_rest_with_429(
    start_worker: Callable[[], Worker], registry: RedisSlotRegistry
) -> None:
    worker = start_worker()
    async with worker.http() as client:
        answers = await asyncio.gather(
            *(client.post("/attach", json=attach_body(f"call-{i}")) for i in range(12))
        )
        assert sorted(answer.status_code for answer in answers) == [202] + [429] * 11
        for answer in answers:
            if answer.status_code == 429:
                assert answer.headers["Retry-After"] == "1"
                assert answer.json()["error"] == "busy"
        (slot,) = await registry.slots()
        assert (slot.host, slot.worker, slot.state) == ("granian-test", "g1", SlotState.BUSY)
        # No media stream comes: the slot is freed after VOX_FLEET_MEDIA_WAIT_S.
        async with asyncio.timeout(5):
            while (await client.get("/health")).json()["slot"]["state"] != "idle":
                await asyncio.sleep(0.05)
        assert (await client.post("/attach", json=attach_body("call-next"))).status_code == 202


async def test_a_carrier_call_over_the_unix_socket_is_recorded_in_s3(
    start_worker: Callable[[], Worker], s3_connection: S3Connection, bucket: str
) -> None:
    worker = start_worker()
    async with (
        media_session(worker) as session,
        session.ws_connect("http://fleet/media/twilio") as ws,
    ):
        stream = Stream(ws, TwilioCarrier(PARAMETERS))
        await stream.answer()
        await stream.send(stream.carrier.say(quiet(200) + voice(600)))
        await stream.pump(lambda: stream.carrier.clears == 1)
        await stream.send(stream.carrier.say(quiet(700)))
        await stream.pump(lambda: "reply-2" in stream.carrier.marks)
        await stream.listen()
        await stream.send(stream.carrier.press("9"))
        await stream.pump(lambda: "reply-3" in stream.carrier.marks)
        await stream.send(stream.carrier.stop())
        assert await stream.closed() == (1000, "call ended: hung_up")
    store = S3RecordingStore(s3_connection, bucket)
    wav = await _recording(store, "tenant-g", "call-g1")
    caller, agent = read_stereo_wav(wav)
    sent = bytes(stream.carrier.sent)
    assert caller[: len(sent)] == sent
    assert agent.find(stream.carrier.prompts["reply-2"]) > 0


async def test_sigterm_drains_refuses_new_calls_finishes_the_call_then_exits(
    start_worker: Callable[[], Worker],
    registry: RedisSlotRegistry,
    s3_connection: S3Connection,
    bucket: str,
) -> None:
    worker = start_worker()
    async with (
        media_session(worker) as session,
        worker.http() as client,
        session.ws_connect("http://fleet/media/twilio") as ws,
    ):
        stream = Stream(ws, TwilioCarrier(PARAMETERS))
        await stream.answer()
        # systemd's stop: SIGTERM to Granian's main process, which passes it to the worker.
        worker.process.send_signal(signal.SIGTERM)
        answer = await _refused_as_draining(client)
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "1"
        health = await client.get("/health")
        assert health.status_code == 503
        slot_report = health.json()["slot"]
        assert (slot_report["state"], slot_report["call_id"]) == ("draining", "call-g1")
        (slot,) = await registry.slots()
        assert slot.state is SlotState.DRAINING
        # The call in progress goes on to its natural end.
        await stream.listen()
        await stream.reply()
        await stream.listen()
        await stream.reply()
        await stream.listen()
        await stream.reply()
        assert stream.carrier.marks[-1] == "closing-4"
        await stream.listen()
        assert await stream.closed() == (1000, "call ended: completed")
    assert await asyncio.to_thread(worker.process.wait, 15) == 0, worker.output()
    assert not worker.socket.exists()
    assert await registry.slots() == []
    store = S3RecordingStore(s3_connection, bucket)
    caller, _ = read_stereo_wav(await _recording(store, "tenant-g", "call-g1"))
    assert caller == bytes(stream.carrier.sent[: len(caller)])


async def _refused_as_draining(client: httpx.AsyncClient) -> httpx.Response:
    """An attach, once the worker has taken the SIGTERM (signals arrive when they arrive)."""
    async with asyncio.timeout(5):
        while True:
            answer = await client.post("/attach", json=attach_body("late"))
            if answer.json().get("error") == "draining":
                return answer
            await asyncio.sleep(0.02)


async def _recording(store: S3RecordingStore, tenant_id: str, call_id: str) -> bytes:
    """The call's recording, once the worker has uploaded it (it does so before it frees the
    slot, so it is there when the stream closes; the wait only covers the socket's close
    racing the upload's last bytes)."""
    async with asyncio.timeout(5):
        while not (found := await asyncio.to_thread(store.for_call, tenant_id, call_id)):
            await asyncio.sleep(0.05)
    return await asyncio.to_thread(store.get, found[0].key)


def _worker_pid(main_pid: int) -> int:
    """The pid of the worker process Granian's main process runs (its only child)."""
    children = Path(f"/proc/{main_pid}/task/{main_pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


async def test_a_worker_killed_mid_call_leaves_its_recording_and_the_next_start_uploads_it(
    start_worker: Callable[[], Worker],
    tmp_path: Path,
    s3_connection: S3Connection,
    bucket: str,
) -> None:
    worker = start_worker()
    caller_track = tmp_path / "spool" / "live" / "call-g1.caller.pcm"
    async with (
        media_session(worker) as session,
        session.ws_connect("http://fleet/media/twilio") as ws,
    ):
        stream = Stream(ws, TwilioCarrier(PARAMETERS))
        await stream.answer()
        await stream.send(stream.carrier.say(quiet(400)))
        async with asyncio.timeout(5):
            while not caller_track.exists() or caller_track.stat().st_size < len(
                stream.carrier.sent
            ):
                await asyncio.sleep(0.02)
        os.kill(_worker_pid(worker.process.pid), signal.SIGKILL)
        # The unit goes down with it (systemd kills the rest of the control group).
        os.killpg(worker.process.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.process.wait, 10)
    store = S3RecordingStore(s3_connection, bucket)
    assert await asyncio.to_thread(store.for_call, "tenant-g", "call-g1") == []
    left = sorted(path.name for path in caller_track.parent.iterdir())
    assert left == ["call-g1.agent.pcm", "call-g1.caller.pcm", "call-g1.json"]
    # systemd's ExecStartPre removes the socket a killed worker leaves behind, with `rm -f`:
    # Granian's main process, when it sees its worker die before the group's kill reaches it,
    # shuts down and removes the socket itself (seen on a loaded machine).
    worker.socket.unlink(missing_ok=True)
    start_worker()
    caller, agent = read_stereo_wav(await _recording(store, "tenant-g", "call-g1"))
    # Everything the caller said before the kill; then silence as long as the agent's track
    # (its greeting was queued past the caller's present).
    sent = bytes(stream.carrier.sent)
    assert caller[: len(sent)] == sent
    assert set(caller[len(sent) :]) <= {0}
    assert agent.find(stream.carrier.prompts["greeting-1"]) > 0
    assert list(caller_track.parent.iterdir()) == []
