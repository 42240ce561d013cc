"""What one upstream request costs beyond its answer.

Keep-alive across answers that are not records: a 404, a redirect or an error page is read
and dropped (bounded in size and time) so that its connection serves the next request. An
unread body closes the connection, and the next request to that API would pay a new TCP and TLS
handshake on a card's critical path. A real HTTP server on 127.0.0.1 (aiohttp) counts the
connections it is asked on.

The time budget of a request starts at its turn: waiting for the rate limiter is not in it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web

from bot.sources import _http
from bot.sources._http import Upstream
from bot.sources.fairness import FairLimiter
from tests.collector import collector_off, left_for_the_collector

NOT_FOUND = b'{"message": "not found"}'


class Server:
    """Routes: /ok (a record), /missing (a 404 with a body), /moved (a redirect to /ok),
    /huge (a 404 larger than what is drained), /slow (a 404 whose body never finishes)."""

    def __init__(self) -> None:
        self.peers: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.peers.append(peer[1] if peer else -1)
        name = request.match_info["name"]
        if name == "ok":
            return web.json_response({"ok": True})
        if name == "moved":
            return web.Response(status=302, headers={"Location": "/ok"}, text="moved")
        if name == "huge":
            return web.Response(status=404, body=b"x" * (_http.DRAIN_BYTES + 1))
        if name == "slow":
            response = web.StreamResponse(status=404, headers={"Content-Length": "100"})
            await response.prepare(request)
            await response.write(b"{")
            await asyncio.sleep(30)  # the rest never comes in time
            return response
        return web.Response(status=404, body=NOT_FOUND, content_type="application/json")

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_get("/{name}", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def connections(self) -> int:
        return len(set(self.peers))


@pytest.fixture
async def server():
    async with Server() as running:
        yield running


async def test_a_404_and_a_redirect_keep_the_connection(server):
    async with httpx.AsyncClient() as client:
        up = Upstream(client, "api", server.url, FairLimiter(100), retries=0)
        assert await up.get_json("/missing") is None
        assert await up.get_json("/missing") is None
        assert await up.get_json("/moved") == {"ok": True}
        assert await up.get_json("/ok") == {"ok": True}
    assert len(server.peers) == 5  # (the redirect is two requests)
    assert server.connections() == 1


async def test_answered_requests_leave_nothing_for_the_garbage_collector(server):
    """A record, a 404 and a redirect: each response (and its request, headers, streams) goes
    with its last reference, not in a collection on the event loop."""
    async with httpx.AsyncClient() as client:
        up = Upstream(client, "api", server.url, FairLimiter(100), retries=0)
        assert await up.get_json("/ok") == {"ok": True}  # the connection made
        with collector_off():
            assert await up.get_json("/ok") == {"ok": True}
            assert await up.get_json("/missing") is None
            assert await up.get_json("/moved") == {"ok": True}
            left = left_for_the_collector(httpx.Response)
    assert left == []


async def test_a_404_too_big_to_drain_is_still_unknown_and_costs_its_connection(server):
    async with httpx.AsyncClient() as client:
        up = Upstream(client, "api", server.url, FairLimiter(100), retries=0)
        assert await up.get_json("/huge") is None
        assert await up.get_json("/ok") == {"ok": True}
    assert server.connections() == 2


async def test_a_404_whose_body_trickles_is_still_unknown(server, monkeypatch):
    monkeypatch.setattr(_http, "DRAIN_SECONDS", 0.2)
    async with httpx.AsyncClient() as client:
        up = Upstream(client, "api", server.url, FairLimiter(100), retries=0, timeout=10)
        assert await up.get_json("/slow") is None  # not "timed out": the 404 is the answer
        assert await up.get_json("/ok") == {"ok": True}


async def test_a_request_that_queued_for_its_turn_still_gets_a_whole_attempt():
    # one request every 2 s (Semantic Scholar's kind of limit): the second request waits
    # longer than the whole budget (2 x timeout) before it is sent, then takes 0.3 s
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
        up = Upstream(
            client, "api", "http://api.test", FairLimiter(0.5, burst=1), timeout=0.5, retries=0
        )
        first, second = await asyncio.gather(up.get_json("/a"), up.get_json("/b"))
    assert first == second == {"ok": True}
