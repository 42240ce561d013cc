"""The shared client's connection pool, made cheap to keep large.

httpcore places every request (and tidies up after every response) by walking the whole pool
and asking each idle connection whether its socket has become readable — a server's close shows
that way. Through httpcore's anyio stream, each such question rebuilds anyio's table of socket
attributes (several objects and a ``getpeername`` call) to find the socket. With fifty pooled
connections during a burst that walk cost more than the request itself, on the event loop.

``CachedSocketBackend`` wraps the pool's own backend and keeps each stream's socket from the
moment it connects; reading, writing, TLS and timeouts stay the wrapped stream's. The answer to
"readable?" is the same one httpcore computes (a zero-timeout poll of the socket).
"""

# The signatures are httpcore's (its network interface takes timeouts as arguments).
# ruff: noqa: ASYNC109

from __future__ import annotations

import logging
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

log = logging.getLogger(__name__)


def _readable(sock: socket.socket | None) -> bool:
    """Whether ``sock`` has bytes (or its end) waiting; a socket that is gone counts as readable
    (the next read returns the end of the stream), as in httpcore."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class CachedSocketStream(httpcore.AsyncNetworkStream):
    """A pool stream whose raw socket is looked up once."""

    __slots__ = ("_inner", "_socket")

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return CachedSocketStream(inner)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        if info == "socket":
            return self._socket
        return self._inner.get_extra_info(info)


class CachedSocketBackend(httpcore.AsyncNetworkBackend):
    """The pool's backend, its streams wrapped in ``CachedSocketStream``."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return CachedSocketStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return CachedSocketStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install(client: httpx.AsyncClient) -> bool:
    """Wrap the backend of ``client``'s default pool; ``False`` (and the client unchanged) when
    this httpx or httpcore keeps its pool elsewhere (tests/test_sources.py notices)."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.AsyncNetworkBackend):
        log.debug("httpx keeps no httpcore pool where expected; its backend stays as it is")
        return False
    if not isinstance(backend, CachedSocketBackend):
        pool._network_backend = CachedSocketBackend(backend)  # type: ignore[union-attr]
    return True


async def load_network_stack() -> None:
    """Import what httpcore imports at the client's first request — anyio and its asyncio
    backend, ~40 ms of imports — now: at start-up, before the collector freezes what start-up
    built (``bot.__main__.quiet_collector``), not on the event loop while a member waits for
    the first card."""
    import anyio

    await anyio.lowlevel.checkpoint()  # the backend module loads on anyio's first call
