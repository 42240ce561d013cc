"""The one way litbot talks HTTP to an upstream: the bounded reader every upstream byte passes.

Every source module builds an ``Upstream`` around the shared ``httpx.AsyncClient`` (created
once in the composition root) and calls ``get_json``/``get_text``/``get_bytes``. Each
request is bounded:

* **time**: one deadline per attempt covers connecting, the headers and every read of the body
  (httpx's own timeouts are per read, so a server trickling one byte a second would never trip
  them), and one budget covers all attempts of a call;
* **size**: the body is streamed and counted, raw and after decompression (gzip and deflate
  are inflated here, in bounded steps, so a decompression bomb stops at the cap);
* **redirects**: followed here, at most ``MAX_REDIRECTS``, http(s) only, and secret headers are
  dropped when the host changes;
* **shape**: JSON is parsed only when its nesting stays within ``MAX_JSON_DEPTH``.

404 means "this source does not know the work" and returns ``None`` whatever the body's content
type (OpenAlex answers 404 with HTML, Crossref with plain text). Every other failure, whatever
raised it (httpx, zlib, the JSON decoder, a ``RecursionError``), becomes that source's
``SourceError``, so ``PaperService`` degrades only that source.

Requests wait for their upstream's ``FairLimiter`` (``bot.sources.fairness``): the rate budget
is shared round-robin between servers and users, and bulk work waits behind interactive work.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from bot.sources.fairness import FairLimiter

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_BODY_BYTES = 4 * 1024 * 1024  # Crossref's largest work records (thousands of refs) ~2 MB
# A 404, a redirect or an error page is read (and dropped) up to this size, so that its keep-alive
# connection serves the next request: an unread body closes the connection, and the next request
# to that API pays a new TCP and TLS handshake (a round trip or two) on a card's critical path.
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 1.0  # a body trickling in slower than this is not waited for (the answer stands)
MAX_JSON_DEPTH = 64  # the APIs nest ~8 deep; a `[[[[…` body is an attack, not a record
# Sent explicitly so that no server can answer in an encoding this module does not bound.
ACCEPT_ENCODING = "gzip, deflate"
Sleep = Callable[[float], Awaitable[None]]


class SourceError(Exception):
    """One upstream failed for this request (timeout, 429, 5xx, junk). Not shown verbatim."""

    def __init__(self, source: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.status = status


class _Unusable(Exception):
    """A response that cannot be used (too big, undecodable); not retried."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions tolerated) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is not a delay
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        return max(0.0, when.timestamp() - (now if now is not None else time.time()))
    except (OverflowError, ValueError, OSError):
        return None


class _Inflater:
    """gzip or deflate, inflated in bounded steps: never more than ``room`` bytes at once."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # gzip: header required; deflate: zlib-wrapped per RFC 9110, raw deflate seen in the wild.
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = self._z.decompress(data, room)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, room)
        self._first = False
        if self._z.unconsumed_tail:
            raise _Unusable("body larger than allowed once decompressed")
        return out

    def flush(self, room: int) -> bytes:
        out = self._z.flush(room)
        if not self._z.eof:
            raise zlib.error("truncated compressed body")
        return out


_SPENT = httpx.ByteStream(b"")


def unbind(response: httpx.Response) -> None:
    """Let a closed streamed response go with its last reference. httpx binds a streamed
    response and its stream to each other (``BoundAsyncStream``), so every request left a
    cycle of ~35 objects (response, request, headers, URLs, httpcore's streams) that only the
    garbage collector freed, on the event loop: a burst's young collections freed thousands
    at once. Once closed, the response holds an empty stream instead (its status, headers and
    the body already read are kept)."""
    if response.is_closed:
        response.stream = _SPENT


async def drain(response: httpx.Response, limit: int = DRAIN_BYTES) -> None:
    """Read and drop a body not wanted (up to ``limit`` raw bytes), so that the connection can
    be reused; a larger body, or a failure while reading it, just closes the connection."""
    if response.is_stream_consumed:
        return
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return
    raw = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in response.aiter_raw():
                raw += len(chunk)
                if raw > limit:
                    return
    except (TimeoutError, httpx.HTTPError, httpx.StreamError, OSError):
        return


async def read_body(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed ``response``, decoded, at most ``limit`` bytes or ``_Unusable``."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Unusable(f"body of {int(declared):,} bytes exceeds {limit:,}")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise _Unusable(f"unsupported content encoding {encoding[:40]!r}")
    inflater = (
        _Inflater("gzip" if "gzip" in encoding else encoding)
        if encoding
        in (
            "gzip",
            "x-gzip",
            "deflate",
        )
        else None
    )
    if response.is_stream_consumed:
        # In-process transports (httpx.MockTransport) hand over a body already read.
        if len(response.content) > limit:
            raise _Unusable(f"body exceeds {limit:,} bytes")
        return response.content
    body = bytearray()
    raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > limit:
            raise _Unusable(f"body exceeds {limit:,} bytes")
        body += inflater.feed(chunk, limit + 1 - len(body)) if inflater else chunk
        if len(body) > limit:
            raise _Unusable(f"body exceeds {limit:,} bytes")
    if inflater:
        body += inflater.flush(limit + 1 - len(body))
        if len(body) > limit:
            raise _Unusable(f"body exceeds {limit:,} bytes")
    return bytes(body)


def json_depth_ok(value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed JSON) nests at most ``limit`` levels.

    Level by level: each pass keeps only the containers of the level below, in a tight loop
    with exact type checks (``json.loads`` builds plain dicts and lists), several times
    faster than a step per value: a 50-record list body costs well under a millisecond of the
    event loop. Memory is bounded by the body's values (``MAX_JSON_VALUES``).
    """
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return False
        below: list[Any] = []
        for container in level:
            for item in container.values() if type(container) is dict else container:
                if type(item) is dict or type(item) is list:
                    below.append(item)
        level = below
    return True


# A lone surrogate (a ``\ud800`` escape without its pair) decodes into a str that cannot be
# encoded again: SQLite, the terminal and Discord would all fail on it.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every JSON value costs tens of bytes as a Python object; a body of 4 MiB of ``{},`` would
# cost hundreds of MB. Real records hold a few tens of thousands of values.
MAX_JSON_VALUES = 300_000


def _no_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("JSON number out of range")
    return value


def _replace_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def parse_json(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Upstream JSON, bounded: ``ValueError`` for anything a well-formed record is not.

    UTF-8/16/32 as RFC 8259 allows; nesting at most ``max_depth`` (the C decoder itself stops
    at the interpreter's recursion limit with ``RecursionError``, so a body of 100,000 ``[``
    costs one shallow pass); at most ``MAX_JSON_VALUES`` containers and items (counted on the
    bytes before parsing, so the objects are never built); no ``NaN``/``Infinity`` nor numbers
    beyond a float; lone surrogates replaced. Linear in the body.
    """
    values = body.count(b"{") + body.count(b"[") + body.count(b",")
    if values > MAX_JSON_VALUES:
        raise ValueError(f"JSON with more than {MAX_JSON_VALUES:,} values")
    text = body.decode(json.detect_encoding(body))
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError as exc:
        raise ValueError("JSON nested too deep") from exc
    if not json_depth_ok(value, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth}")
    if _SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text):
        value = _replace_surrogates(value)
    return value


def _decode_text(body: bytes, response: httpx.Response) -> str:
    charset = response.charset_encoding or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


@dataclass
class Upstream:
    """One upstream API reached through the shared client.

    ``params`` and ``headers`` are added to every request (``mailto``, ``api_key``,
    ``x-api-key``); they are never logged. ``timeout`` is the deadline of one attempt (connect
    and every read together); all attempts of one call share ``2 × timeout``, counted from the
    first attempt's turn (time spent queued for the rate limiter is not in it).
    """

    client: httpx.AsyncClient
    name: str
    base_url: str
    limiter: FairLimiter
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    timeout: float = 8.0
    retries: int = 2
    max_retry_wait: float = 5.0
    backoff: float = 0.25
    sleep: Sleep = asyncio.sleep
    max_bytes: int = MAX_BODY_BYTES
    max_depth: int = MAX_JSON_DEPTH
    # Request batchers by kind (``bot.sources.batching``), created on first use.
    batchers: dict[str, Any] = field(default_factory=dict, repr=False)
    # Runs ``fn(*args, heavy=…)`` in a worker process (``Workers.run``): big list bodies are
    # parsed there (``bot.sources.batching.in_worker``). None: on the loop.
    cpu: Callable[..., Awaitable[Any]] | None = field(default=None, repr=False)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    async def _once(
        self, url: str, params: Mapping[str, str] | None
    ) -> tuple[int, httpx.Response | None, bytes | None]:
        """One attempt, redirects included: ``(status, response, body)``; body only for 200."""
        headers = {**(self.headers or {}), "Accept-Encoding": ACCEPT_ENCODING}
        origin = httpx.URL(url).host
        request_params: Mapping[str, str] | None = params
        for _ in range(MAX_REDIRECTS + 1):
            response: httpx.Response | None = None
            try:
                async with self.client.stream(
                    "GET",
                    url,
                    params=request_params or None,
                    headers=headers,
                    timeout=self.timeout,
                    follow_redirects=False,
                ) as response:
                    status = response.status_code
                    if status in REDIRECT_STATUSES:
                        location = response.headers.get("location", "")
                        target = httpx.URL(urljoin(str(response.url), location))
                        if not location or target.scheme not in ("http", "https"):
                            raise _Unusable(f"redirect to an unusable location ({status})")
                        url, request_params = str(target), None
                        if target.host != origin:
                            headers = {"Accept-Encoding": ACCEPT_ENCODING}  # keys stay home
                        await drain(response)
                        continue
                    if status != 200:
                        await drain(response)
                        return status, response, None
                    return status, response, await read_body(response, self.max_bytes)
            finally:
                if response is not None:
                    unbind(response)
        raise _Unusable(f"more than {MAX_REDIRECTS} redirects")

    async def _request(
        self, path: str, params: Mapping[str, str] | None, *, acquired: bool = False
    ) -> tuple[httpx.Response, bytes] | None:
        """``acquired``: the caller already holds a limiter slot for the first attempt (a
        batch, see ``bot.sources.batching``); it is released here like any other."""
        merged = {**(self.params or {}), **(params or {})}
        attempt = 0
        started: float | None = None
        budget = 2 * self.timeout
        while True:
            if not acquired:
                await self.limiter.acquire()
            acquired = False
            # The budget bounds the upstream's time, from the first turn: a request that queued
            # behind a burst (Semantic Scholar's one a second) still gets a whole attempt, not
            # what is left of a budget spent waiting (a sure timeout that costs its token).
            if started is None:
                started = time.monotonic()
            status: int | None = None
            wait: float | None = None
            retry = True
            try:
                left = max(0.1, min(self.timeout, budget - (time.monotonic() - started)))
                async with asyncio.timeout(left):
                    status, response, body = await self._once(self.url(path), merged)
                if status == 404:
                    return None
                if status == 200:
                    assert response is not None and body is not None
                    return response, body
                reason = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    log.warning("%s: HTTP %s for %s", self.name, status, path)
                    raise SourceError(self.name, reason, status=status)
                assert response is not None
                wait = parse_retry_after(response.headers.get("Retry-After"))
            except TimeoutError:
                # The deadline was spent: another attempt would only spend the budget again.
                reason, retry = "timed out", False
            except httpx.TimeoutException:
                reason = "timed out"
            except _Unusable as exc:
                reason, retry = str(exc), False
            except httpx.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL, zlib.error) as exc:
                reason, retry = f"unusable response ({type(exc).__name__})", False
            except OSError as exc:  # ssl and socket errors httpx did not wrap
                reason = f"connection failed ({type(exc).__name__})"
            finally:
                self.limiter.release()

            elapsed = time.monotonic() - started
            if not retry or attempt >= self.retries or elapsed >= budget:
                log.warning(
                    "%s: giving up on %s after %d attempt(s): %s",
                    self.name,
                    path,
                    attempt + 1,
                    reason,
                )
                raise SourceError(self.name, reason, status=status)
            if wait is None:
                wait = self.backoff * (2**attempt) * (1 + random.random() / 2)
            elif wait > self.max_retry_wait or elapsed + wait >= budget:
                log.warning(
                    "%s: %s for %s, Retry-After %.1fs exceeds what is left; not waiting",
                    self.name,
                    reason,
                    path,
                    wait,
                )
                raise SourceError(
                    self.name, f"rate limited (retry after {min(wait, 1e6):.0f} s)", status=status
                )
            log.info("%s: %s for %s; retry %d in %.2fs", self.name, reason, path, attempt + 1, wait)
            attempt += 1
            await self.sleep(wait)

    def unexpected(self, path: str) -> SourceError:
        """A 200 whose JSON is not the shape this API documents: a failure, not "unknown"."""
        log.warning("%s: unexpected response shape for %s", self.name, path)
        return SourceError(self.name, "unexpected response")

    async def get_json(
        self, path: str, params: Mapping[str, str] | None = None, *, acquired: bool = False
    ) -> Any | None:
        """GET ``path`` and decode JSON; ``None`` on 404; ``SourceError`` on anything unusable."""
        answer = await self._request(path, params, acquired=acquired)
        if answer is None:
            return None
        try:
            value = parse_json(answer[1], max_depth=self.max_depth)
        except (ValueError, UnicodeDecodeError, LookupError, RecursionError) as exc:
            log.warning("%s: malformed JSON for %s: %s", self.name, path, str(exc)[:200])
            raise SourceError(self.name, "malformed JSON") from exc
        if value is None:  # a 200 with `null` is not "unknown": that is what 404 says
            raise self.unexpected(path)
        return value

    async def get_text(self, path: str, params: Mapping[str, str] | None = None) -> str | None:
        """GET ``path`` as text; ``None`` on 404."""
        answer = await self._request(path, params)
        return None if answer is None else _decode_text(answer[1], answer[0])

    async def get_bytes(
        self, path: str, params: Mapping[str, str] | None = None, *, acquired: bool = False
    ) -> bytes | None:
        """GET ``path`` as raw bytes (XML, whose parser reads the declared encoding itself);
        ``None`` on 404. The same deadline, size cap and redirect rules as ``get_json``."""
        answer = await self._request(path, params, acquired=acquired)
        return None if answer is None else answer[1]
