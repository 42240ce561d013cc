"""A misbehaving upstream on 127.0.0.1: every fault an API (or an attacker) can serve.

The first path segment names the fault, so one server plays every broken source at once::

    LITBOT_CROSSREF_URL=http://127.0.0.1:PORT/trickle     # Crossref now trickles
    python -m tests.fakes.faults --port 8766               # serve until Ctrl-C

It speaks raw HTTP/1.1 over asyncio streams (no framework), so it can do what a well-behaved
server library will not: trickle bytes, lie about encodings, never end a body, or never answer.
``FaultServer.start_in_thread()`` runs it beside synchronous tests and subprocesses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import json
import os
import threading
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable

Writer = asyncio.StreamWriter
HOLD = 3600.0

_BOMB: bytes | None = None
BOMB_EXPANDED = 512 * 1024 * 1024


def gzip_bomb() -> bytes:
    """512 MiB of zeros, gzipped (about 0.5 MB), built once per process."""
    global _BOMB
    if _BOMB is None:
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1024 * 1024)
        parts = [z.compress(block) for _ in range(BOMB_EXPANDED // len(block))]
        parts.append(z.flush())
        _BOMB = b"".join(parts)
    return _BOMB


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send(writer: Writer, status: str, body: bytes, **headers: str) -> None:
    head = {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}
    writer.write(_head(status, {k.replace("_", "-"): v for k, v in head.items()}) + body)
    await writer.drain()


async def deep_json(w: Writer, path: str) -> None:
    await _send(w, "200 OK", b"[" * 100_000)


async def deep_object(w: Writer, path: str) -> None:
    await _send(w, "200 OK", b'{"a":' * 50_000 + b"1" + b"}" * 50_000)


async def redirect_loop(w: Writer, path: str) -> None:
    await _send(w, "302 Found", b"", Location=path)


async def redirect_scheme(w: Writer, path: str) -> None:
    await _send(w, "302 Found", b"", Location="file:///etc/passwd")


async def corrupt_gzip(w: Writer, path: str) -> None:
    await _send(w, "200 OK", os.urandom(4096), Content_Encoding="gzip")


async def gzip_bomb_(w: Writer, path: str) -> None:
    await _send(w, "200 OK", gzip_bomb(), Content_Encoding="gzip")


async def unknown_encoding(w: Writer, path: str) -> None:
    await _send(w, "200 OK", b"\x28\xb5\x2f\xfd" + os.urandom(64), Content_Encoding="zstd")


async def trickle(w: Writer, path: str) -> None:
    """Valid headers, then one byte of a never-finished body every half second."""
    w.write(_head("200 OK", {"Content-Type": "application/json", "Content-Length": "1000000"}))
    while True:
        w.write(b" ")
        await w.drain()
        await asyncio.sleep(0.5)


async def trickle_headers(w: Writer, path: str) -> None:
    w.write(b"HTTP/1.1 200 OK\r\n")
    while True:
        w.write(b"X")
        await w.drain()
        await asyncio.sleep(0.5)


async def endless(w: Writer, path: str) -> None:
    """A chunked body that never ends, as fast as the client reads it."""
    w.write(_head("200 OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
    chunk = b'{"a": "' + b"x" * 65_000
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while True:
        w.write(frame)
        await w.drain()


async def oversize(w: Writer, path: str) -> None:
    """An honest Content-Length of 64 MiB."""
    size = 64 * 1024 * 1024
    w.write(_head("200 OK", {"Content-Type": "application/json", "Content-Length": str(size)}))
    block = b"[" + b"0," * 32_000 + b"0]"
    sent = 0
    while sent < size:
        w.write(block)
        sent += len(block)
        await w.drain()


async def oversize_chunked(w: Writer, path: str) -> None:
    """64 MiB of valid JSON with no Content-Length: the cap must hold while streaming."""
    w.write(_head("200 OK", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
    piece = b'"' + b"y" * 65_000 + b'",'
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    w.write(b"1\r\n[\r\n")
    for _ in range(64 * 1024 * 1024 // len(piece)):
        w.write(frame)
        await w.drain()
    w.write(b'3\r\n""]\r\n0\r\n\r\n')
    await w.drain()


WRONG_SHAPES = (
    b"[1, 2, 3]",
    b'"a string"',
    b"null",
    b"{}",
    json.dumps(
        {
            "id": {"x": 1},
            "doi": 7,
            "title": ["a", {"b": None}],
            "authorships": "everyone",
            "message-type": "work",
            "message": {"title": 5, "author": "x", "issued": {"date-parts": "2020"}},
            "paperId": ["x"],
            "data": {"attributes": [1]},
            "best_oa_location": 3,
            "oa_locations": {"x": 1},
            "results": 5,
        }
    ).encode(),
)


async def wrong_shape(w: Writer, path: str) -> None:
    body = WRONG_SHAPES[sum(path.encode()) % len(WRONG_SHAPES)]
    await _send(w, "200 OK", body)


async def non_utf8(w: Writer, path: str) -> None:
    body = '{"title": "Caf\u00e9 \u00fcber", "message": {"title": ["Na\u00efve"]}}'
    await _send(w, "200 OK", body.encode("latin-1"))


async def html_200(w: Writer, path: str) -> None:
    body = b"<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>"
    await _send(w, "200 OK", body, Content_Type="text/html")


async def empty_200(w: Writer, path: str) -> None:
    await _send(w, "200 OK", b"")


async def rate_limited_seconds(w: Writer, path: str) -> None:
    await _send(w, "429 Too Many Requests", b'{"message": "slow down"}', Retry_After="1")


async def rate_limited_date(w: Writer, path: str) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    await _send(w, "429 Too Many Requests", b"Too many requests", Retry_After=when)


async def rate_limited_long(w: Writer, path: str) -> None:
    await _send(w, "429 Too Many Requests", b"", Retry_After="86400")


async def server_error(w: Writer, path: str) -> None:
    await _send(
        w, "503 Service Unavailable", b"<html>upstream down</html>", Content_Type="text/html"
    )


async def server_error_500(w: Writer, path: str) -> None:
    await _send(w, "500 Internal Server Error", b'{"error": "boom"}')


async def timeout(w: Writer, path: str) -> None:
    await asyncio.sleep(HOLD)


async def reset(w: Writer, path: str) -> None:
    w.transport.abort()


async def garbage(w: Writer, path: str) -> None:
    w.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\xff\xfe garbage \r\n\r\n")
    await w.drain()


FAULTS: dict[str, Callable[[Writer, str], Awaitable[None]]] = {
    "deep-json": deep_json,
    "deep-object": deep_object,
    "redirect-loop": redirect_loop,
    "redirect-scheme": redirect_scheme,
    "corrupt-gzip": corrupt_gzip,
    "gzip-bomb": gzip_bomb_,
    "unknown-encoding": unknown_encoding,
    "trickle": trickle,
    "trickle-headers": trickle_headers,
    "endless": endless,
    "oversize": oversize,
    "oversize-chunked": oversize_chunked,
    "wrong-shape": wrong_shape,
    "non-utf8": non_utf8,
    "html-200": html_200,
    "empty-200": empty_200,
    "429-seconds": rate_limited_seconds,
    "429-date": rate_limited_date,
    "429-long": rate_limited_long,
    "503": server_error,
    "500": server_error_500,
    "timeout": timeout,
    "reset": reset,
    "garbage": garbage,
}


class FaultServer:
    """Serves ``/<fault>/…``; ``calls`` counts requests per fault."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.calls: Counter[str] = Counter()
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def url(self, fault: str) -> str:
        assert fault in FAULTS, fault
        return f"http://127.0.0.1:{self.port}/{fault}"

    async def _handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            target = request.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
            fault = target.lstrip("/").split("/", 1)[0].split("?", 1)[0]
            self.calls[fault] += 1
            handler = FAULTS.get(fault)
            if handler is None:
                await _send(writer, "501 Not Implemented", b"unknown fault")
            else:
                await handler(writer, target)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            IndexError,
            asyncio.LimitOverrunError,
        ):
            pass
        except asyncio.CancelledError:  # the server is shutting down
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def start(self) -> FaultServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> FaultServer:
        """Serve from a daemon thread with its own event loop (for subprocess tests)."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="fault-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop_thread(self) -> None:
        loop = self._loop
        if loop is None:
            return

        def shutdown() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.call_later(0.2, loop.stop)

        loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.faults",
        description="Serve broken upstream responses on 127.0.0.1: /<fault>/… for each fault.",
    )
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)

    async def serve() -> None:
        server = await FaultServer(args.port).start()
        for name in FAULTS:
            print(server.url(name), flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
