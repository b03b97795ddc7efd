"""`LoopThread`: an aiohttp app served from its own loop thread, started and stopped from
synchronous code."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest
from aiohttp import web

from voxcore_adapters.testing.loop_thread import LoopThread
from voxcore_adapters.testing.process import LOOPBACK


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello from {threading.current_thread().name}")


def test_it_serves_the_app_on_a_loopback_port_from_its_thread() -> None:
    app = web.Application()
    app.router.add_get("/", _hello)
    server = LoopThread("loop-thread-test")
    port = server.start(app, access_log=None)
    try:
        assert port == server.port > 0
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/", timeout=5) as answer:
            assert answer.read() == b"hello from loop-thread-test"
    finally:
        server.stop()


def test_run_returns_what_the_coroutine_returns_on_the_servers_loop() -> None:
    server = LoopThread("loop-thread-run")
    server.start(web.Application())
    try:

        async def where() -> str:
            return threading.current_thread().name

        assert server.run(where()) == "loop-thread-run"
    finally:
        server.stop()


def test_after_stop_the_port_is_closed_and_run_refuses() -> None:
    server = LoopThread("loop-thread-stop")
    port = server.start(web.Application())
    server.stop()
    server.stop()  # a second stop is a no-op
    assert server.port == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=5).close()

    async def never() -> None:
        raise AssertionError("ran on a stopped server")

    with pytest.raises(RuntimeError, match="loop-thread-stop is not started"):
        server.run(never())


def test_its_url_names_the_loopback_port_and_only_while_started() -> None:
    server = LoopThread("loop-thread-url")
    with pytest.raises(RuntimeError, match="loop-thread-url is not started"):
        server.url("http")
    port = server.start(web.Application())
    try:
        assert server.url("ws", "/v1/x") == f"ws://{LOOPBACK}:{port}/v1/x"
    finally:
        server.stop()
