"""The runtime-config read a fleet worker makes before each call, through Granian: requests per
second and p50/p99 latency at a fixed concurrency, answered from the API's near copy, from
Redis, and from MongoDB.

    make bench-api                                    # SecantusDB and Redis started here
    VOX_TEST_MONGO_URL=… VOX_TEST_REDIS_URL=… make bench-api

The API runs as it does in production (`granian --interface asgi --factory
apps.api.main:create_app`, `--workers` processes, one by default) on a loopback port over the
real Mongo-wire and Redis test servers. Each of the `--concurrency` clients reads its own agent
over one keep-alive connection. `cached`: the default settings, so reads are answered from the
API's near copy (kept in step over Redis pub/sub). `Redis only`: a second API with near copies
off, so every read is a Redis GET. `uncached`: that API again, the client deleting its agent's
Redis entry before each read (not timed), so every timed read misses Redis, reads MongoDB and
fills the entry again. Redis's own counters (GET calls, keyspace misses) show which path each
phase took.

The clients share the machine with the API and both servers, and SecantusDB is a test server
written in Python: the uncached figures say how much a miss costs here, not how fast MongoDB is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from redis import Redis

from apps.api.deps import Deps, build_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from voxcore_adapters.redis.config_cache import config_key
from voxcore_adapters.redis.near_cache import NearRuntimeConfigCache
from voxcore_adapters.testing.mongo_server import mongo_url
from voxcore_adapters.testing.process import LOOPBACK, free_port
from voxcore_adapters.testing.redis_server import redis_url

ADMIN_KEY = "bench-admin-" + "a" * 32
INTERNAL_TOKEN = "bench-internal-" + "i" * 32
TARGET_P99_MS = 10.0
"""What a cached read must stay under at the 99th percentile."""


@attrs.frozen
class Phase:
    """One timed phase: how many reads, over how long, and each read's latency."""

    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@contextlib.contextmanager
def granian_api(env: dict[str, str], workers: int) -> Iterator[str]:
    """The API under Granian on a free loopback port; its base URL."""
    port = free_port()
    granian = Path(sys.executable).with_name("granian")
    process = subprocess.Popen(
        [
            str(granian),
            "--interface",
            "asgi",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-ws",
            "--log-level",
            "warning",
            "--factory",
            "apps.api.main:create_app",
        ],
        env=os.environ | env,
    )
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API did not start under granian") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def call(base: str, method: str, path: str, token: str, body: object | None = None) -> object:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def make_agents(base: str, n: int) -> list[str]:
    """A tenant with `n` agents, made through the API as an operator would."""
    tenant = call(base, "POST", "/v1/tenants", ADMIN_KEY, {"name": "Bench"})
    assert isinstance(tenant, dict)
    issued = call(base, "POST", f"/v1/tenants/{tenant['id']}/api-keys", ADMIN_KEY, {"name": "b"})
    assert isinstance(issued, dict)
    agents = []
    for i in range(n):
        body = {"name": f"Agent {i}", "greeting": "Hello, an automated assistant calling."}
        agent = call(base, "POST", "/v1/agents", issued["token"], body)
        assert isinstance(agent, dict)
        agents.append(str(agent["id"]))
    return agents


async def read_loop(
    port: int,
    agent_id: str,
    until: float,
    latencies: list[float],
    evict: Redis | None,
    cache_key: str,
) -> None:
    """Read one agent's config over one keep-alive connection until `until`; with `evict`,
    delete its cache entry before each read (untimed)."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    request = (
        f"GET /v1/runtime-config/{agent_id} HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {INTERNAL_TOKEN}\r\n\r\n"
    ).encode()
    try:
        while time.perf_counter() < until:
            if evict is not None:
                await asyncio.to_thread(evict.delete, cache_key)
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"runtime config answered {head.splitlines()[0]!r}")
    finally:
        writer.close()


async def phase(
    port: int, agents: list[str], seconds: float, evict: Redis | None, prefix: str
) -> Phase:
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(
            read_loop(port, agent, until, latencies, evict, config_key(prefix, agent))
            for agent in agents
        )
    )
    return Phase(len(latencies), time.perf_counter() - started, latencies)


def in_process_cpu_us(env: dict[str, str], agent_id: str, reads: int = 2000) -> float:
    """CPU microseconds this process spends per cached read when it calls the API's ASGI app
    directly (no HTTP server, no client; Redis's own time not counted): what a read costs the
    API itself, whatever else the machine is doing."""
    settings = Settings.from_env(env)
    deps = build_deps(settings)
    app = create_app(settings, deps)
    path = f"/v1/runtime-config/{agent_id}"
    scope: Any = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {INTERNAL_TOKEN}".encode()), (b"host", b"b")],
        "client": (LOOPBACK, 1),
        "server": (LOOPBACK, 80),
    }

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def read_all(n: int) -> None:
        status: list[int] = []

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        for _ in range(n):
            await app(scope | {"state": {}}, receive, send)
        if set(status) != {200}:
            raise RuntimeError(f"runtime config answered {sorted(set(status))}")

    async def measure() -> list[float]:
        async with app.lifespan():
            await near_cache_live(deps)
            await read_all(200)
            samples = []
            for _ in range(5):
                started = time.process_time()
                await read_all(reads // 5)
                samples.append((time.process_time() - started) / (reads // 5) * 1e6)
            return samples

    return statistics.median(asyncio.run(measure()))


async def near_cache_live(deps: Deps, within_s: float = 5.0) -> None:
    """Wait until the API's near config cache serves (its change subscription is confirmed);
    with near copies turned off there is nothing to wait for."""
    cache = deps.config_cache
    deadline = time.monotonic() + within_s
    while isinstance(cache, NearRuntimeConfigCache) and not cache.live:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the near config cache was not live within {within_s:g} s")
        await asyncio.sleep(0.01)


def redis_counts(redis: Redis) -> tuple[int, int]:
    """Redis's own totals so far: GET commands served, and keys looked up but missing."""
    gets = redis.info("commandstats").get("cmdstat_get", {}).get("calls", 0)
    return int(gets), int(redis.info("stats")["keyspace_misses"])


@attrs.frozen
class Row:
    """One line of the table: a phase's rounds, and Redis's work per read in them."""

    name: str
    phases: list[Phase]
    gets_per_read: float
    misses_per_read: float

    def median(self, value: str) -> float:
        return statistics.median(
            p.rps if value == "rps" else p.percentile(50 if value == "p50" else 99)
            for p in self.phases
        )


def timed_rounds(
    name: str, port: int, agents: list[str], args: argparse.Namespace, redis: Redis, evict: bool
) -> Row:
    phases: list[Phase] = []
    gets = misses = 0
    for _ in range(args.rounds):
        gets_before, misses_before = redis_counts(redis)
        measured = asyncio.run(
            phase(port, agents, args.seconds, redis if evict else None, args.prefix)
        )
        gets_after, misses_after = redis_counts(redis)
        phases.append(measured)
        gets += gets_after - gets_before
        misses += misses_after - misses_before
    reads = sum(p.requests for p in phases)
    return Row(name, phases, gets / reads, misses / reads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0, help="per phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="granian worker processes")
    args = parser.parse_args(argv)

    run = uuid.uuid4().hex[:10]
    args.prefix = f"bench-{run}"
    with mongo_url() as mongo, redis_url() as redis_address:
        env = {
            "VOX_API_ADMIN_KEY": ADMIN_KEY,
            "VOX_API_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "VOX_API_BACKEND": "real",
            "VOX_MONGO_URL": mongo,
            "VOX_MONGO_DATABASE": f"bench_{run}",
            "VOX_REDIS_URL": redis_address,
            "VOX_REDIS_PREFIX": args.prefix,
            "VOX_API_RATE_LIMIT_PER_S": "1000000",
            "VOX_API_RATE_LIMIT_BURST": "1000000",
        }
        redis_only = env | {"VOX_API_RUNTIME_CONFIG_NEAR_TTL_S": "0"}
        redis = Redis.from_url(redis_address, decode_responses=True)
        rows: list[Row] = []
        with granian_api(env, args.workers) as base:
            port = int(base.rsplit(":", 1)[1])
            agents = make_agents(base, args.concurrency)
            asyncio.run(phase(port, agents, 1.0, None, args.prefix))
            rows.append(timed_rounds("cached", port, agents, args, redis, evict=False))
        with granian_api(redis_only, args.workers) as base:
            port = int(base.rsplit(":", 1)[1])
            asyncio.run(phase(port, agents, 1.0, None, args.prefix))
            asyncio.run(phase(port, agents, 1.0, redis, args.prefix))
            rows.append(timed_rounds("Redis only", port, agents, args, redis, evict=False))
            rows.append(timed_rounds("uncached", port, agents, args, redis, evict=True))
        cpu_us = {
            "cached": in_process_cpu_us(env, agents[0]),
            "Redis only": in_process_cpu_us(redis_only, agents[0]),
        }
        redis.close()

    print(
        f"GET /v1/runtime-config/{{agent_id}} through granian, concurrency {args.concurrency}, "
        f"{args.workers} granian worker(s), {args.rounds} rounds of {args.seconds:g} s per phase "
        "(medians)"
    )
    print(
        f"{'':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'Redis GETs/read':>16} "
        f"{'misses/read':>12} {'API CPU/read':>13}"
    )
    for row in rows:
        cpu = f"{cpu_us[row.name]:.0f} µs" if row.name in cpu_us else ""
        print(
            f"{row.name:10} {row.median('rps'):9.0f} {row.median('p50'):8.2f} "
            f"{row.median('p99'):8.2f} {row.gets_per_read:16.2f} {row.misses_per_read:12.2f} "
            f"{cpu:>13}"
        )
    cached, redis_row, uncached = rows
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        "cached: the API's near copy (the default); Redis only: near copies off "
        "(VOX_API_RUNTIME_CONFIG_NEAR_TTL_S=0), every read a Redis GET; uncached: every read "
        "misses Redis and reads MongoDB. API CPU/read: in-process, no HTTP server or client."
    )
    print(f"load average at the end (1, 5, 15 min) on {os.cpu_count()} cores: {load}")
    print(
        f"cached/Redis only: {cached.median('rps') / redis_row.median('rps'):.1f}x and "
        f"cached/uncached: {cached.median('rps') / uncached.median('rps'):.1f}x the requests "
        f"per second; cached p99 target ≤ {TARGET_P99_MS:g} ms: "
        f"{'met' if cached.median('p99') <= TARGET_P99_MS else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
