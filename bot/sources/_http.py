"""The one way litbot talks HTTP to an upstream: timeouts, retries, backoff, rate limits.

Every source module builds an ``Upstream`` around the shared ``httpx.AsyncClient`` (created
once in the composition root) and calls ``get_json``/``get_text``. 404 means "this source does
not know the work" and returns ``None`` whatever the body's content type (OpenAlex answers 404
with HTML, Crossref with plain text). Everything else that is not a usable 200 raises
``SourceError`` after the retries, so ``PaperService`` can fall back to other sources.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524})
Sleep = Callable[[float], Awaitable[None]]


class SourceError(Exception):
    """One upstream failed for this request (timeout, 429, 5xx, junk). Not shown verbatim."""

    def __init__(self, source: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.status = status


class RateLimiter:
    """Token bucket (``rate`` per second, bursts of ``burst``) plus a concurrency cap.

    Crossref, for instance, allows 10 requests/s and 3 concurrent requests in its polite pool;
    arXiv one request every 3 seconds. The limiter is per upstream (one upstream, one host).
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int | None = None,
        concurrency: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self.tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(concurrency)

    async def _take(self, sleep: Sleep) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await sleep((1 - self.tokens) / self.rate)

    async def acquire(self, sleep: Sleep = asyncio.sleep) -> None:
        await self._slots.acquire()
        try:
            await self._take(sleep)
        except BaseException:
            self._slots.release()
            raise

    def release(self) -> None:
        self._slots.release()


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds (fractions tolerated) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


@dataclass
class Upstream:
    """One upstream API reached through the shared client.

    ``params`` and ``headers`` are added to every request (``mailto``, ``api_key``,
    ``x-api-key``); they are never logged.
    """

    client: httpx.AsyncClient
    name: str
    base_url: str
    limiter: RateLimiter
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    timeout: float = 8.0
    retries: int = 2
    max_retry_wait: float = 5.0
    backoff: float = 0.25
    sleep: Sleep = asyncio.sleep

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    async def _request(self, path: str, params: Mapping[str, str] | None) -> httpx.Response | None:
        merged = {**(self.params or {}), **(params or {})}
        attempt = 0
        while True:
            await self.limiter.acquire(self.sleep)
            try:
                response = await self.client.get(
                    self.url(path),
                    params=merged or None,
                    headers=dict(self.headers or {}),
                    timeout=self.timeout,
                    follow_redirects=True,
                )
                wait: float | None = None
                if response.status_code == 404:
                    return None
                if response.status_code == 200:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    log.warning("%s: HTTP %s for %s", self.name, response.status_code, path)
                    raise SourceError(
                        self.name, f"HTTP {response.status_code}", status=response.status_code
                    )
                reason = f"HTTP {response.status_code}"
                status: int | None = response.status_code
                wait = parse_retry_after(response.headers.get("Retry-After"))
            except httpx.TimeoutException:
                reason, status, wait = "timed out", None, None
            except httpx.TransportError as exc:
                reason, status, wait = f"connection failed ({type(exc).__name__})", None, None
            finally:
                self.limiter.release()

            if attempt >= self.retries:
                log.warning(
                    "%s: giving up on %s after %d attempts: %s",
                    self.name,
                    path,
                    attempt + 1,
                    reason,
                )
                raise SourceError(self.name, reason, status=status)
            if wait is None:
                wait = self.backoff * (2**attempt) * (1 + random.random() / 2)
            elif wait > self.max_retry_wait:
                log.warning(
                    "%s: %s for %s, Retry-After %.1fs exceeds %.1fs; not waiting",
                    self.name,
                    reason,
                    path,
                    wait,
                    self.max_retry_wait,
                )
                raise SourceError(
                    self.name, f"rate limited (retry after {wait:.0f} s)", status=status
                )
            log.info("%s: %s for %s; retry %d in %.2fs", self.name, reason, path, attempt + 1, wait)
            attempt += 1
            await self.sleep(wait)

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any | None:
        """GET ``path`` and decode JSON; ``None`` on 404; ``SourceError`` on anything unusable."""
        response = await self._request(path, params)
        if response is None:
            return None
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            log.warning("%s: malformed JSON for %s: %s", self.name, path, exc)
            raise SourceError(self.name, "malformed JSON") from exc

    async def get_text(self, path: str, params: Mapping[str, str] | None = None) -> str | None:
        """GET ``path`` as text (the arXiv Atom feed); ``None`` on 404."""
        response = await self._request(path, params)
        return None if response is None else response.text
