"""The shared client's pool keeps each connection's socket (bot/sources/_pool.py): real sockets
on 127.0.0.1, the client litbot builds."""

from __future__ import annotations

import asyncio

import httpcore
import httpx

from bot.settings import Settings
from bot.sources import _pool, make_client
from tests.processes import fresh_python

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


class Server:
    """Answers every request with ``{}`` on a kept-alive connection; ``close_after`` requests
    on one connection, it closes that connection while the client holds it idle."""

    def __init__(self, close_after: int | None = None) -> None:
        self.close_after = close_after
        self.connections = 0
        self.requests = 0
        self._server: asyncio.base_events.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                served += 1
                writer.write(RESPONSE)
                await writer.drain()
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


def _client() -> httpx.AsyncClient:
    return make_client(Settings(_env_file=None))


def test_the_shared_client_pool_uses_the_cached_socket_backend():
    # An httpx or httpcore that keeps its pool elsewhere is noticed here, not in production.
    client = _client()
    backend = client._transport._pool._network_backend
    assert isinstance(backend, _pool.CachedSocketBackend)
    assert _pool.install(client) is True
    assert client._transport._pool._network_backend is backend  # installed once


async def test_requests_reuse_one_connection_and_ask_for_its_socket_once():
    asks: list[str] = []

    class Counting(httpcore.AsyncNetworkBackend):
        def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
            self.inner = inner

        async def connect_tcp(self, *args, **kwargs):
            stream = await self.inner.connect_tcp(*args, **kwargs)
            original = stream.get_extra_info

            def counted(info: str):
                asks.append(info)
                return original(info)

            stream.get_extra_info = counted
            return stream

    async with Server() as base, _client() as client:
        pool = client._transport._pool
        pool._network_backend = _pool.CachedSocketBackend(Counting(httpcore.AnyIOBackend()))
        for _ in range(20):
            response = await client.get(f"{base}/x")
            assert response.json() == {}
        # twenty requests on one kept-alive connection, whose socket was looked up once (the
        # pool asked "readable?" of it before each request after the first)
        assert asks.count("socket") == 1
        assert "is_readable" not in asks
        assert len(pool.connections) == 1


async def test_a_connection_the_server_closed_while_idle_is_replaced_not_reused():
    async with Server(close_after=1) as base, _client() as client:
        first = await client.get(f"{base}/a")
        await asyncio.sleep(0.05)  # the server's close reaches the idle pooled socket
        second = await client.get(f"{base}/b")
        assert first.json() == second.json() == {}


async def test_the_readable_check_sees_pending_bytes_and_a_closed_peer():
    async with Server() as base, _client() as client:
        await client.get(f"{base}/a")
        (connection,) = client._transport._pool.connections
        stream = connection._connection._network_stream
        assert isinstance(stream, _pool.CachedSocketStream)
        assert stream.get_extra_info("is_readable") is False
        raw = stream.get_extra_info("socket")
        assert raw is not None
    assert _pool._readable(None) is True


def test_the_composition_root_loads_what_the_first_request_would_import(tmp_path):
    # In a fresh interpreter: after open_services, a first request imports nothing more (the
    # ~40 ms of anyio that httpcore imports lazily stay off the event loop's first card).
    script = """
import asyncio, sys
from bot.__main__ import open_services
from bot.settings import Settings

async def main():
    settings = Settings(_env_file=None, LITBOT_DB=sys.argv[1])
    async with open_services(settings) as services:
        server = await asyncio.start_server(
            lambda r, w: (w.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"), w.close()),
            "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        before = set(sys.modules)
        await services.papers.up.openalex.client.get(f"http://127.0.0.1:{port}/")
        print(sorted(set(sys.modules) - before))
        server.close()

asyncio.run(main())
"""
    assert fresh_python(script, str(tmp_path / "db.sqlite3")).strip() == "[]"
