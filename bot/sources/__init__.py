"""One module per upstream. Raw JSON is parsed into ``SourceRecord`` here and nowhere else.

``build_upstreams`` wires each API to the shared client with its base URL, identification and
rate limit, all from settings.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from bot.settings import Settings
from bot.sources import _pool
from bot.sources._http import Sleep, Upstream
from bot.sources.fairness import FairLimiter

# (requests per second, burst, concurrent requests), from each API's published etiquette.
RATE_LIMITS: dict[str, tuple[float, int, int]] = {
    "openalex": (10.0, 10, 10),  # documented max 100/s; stay well below
    "crossref": (10.0, 10, 3),  # polite pool since Dec 2025: 10/s, 3 concurrent
    "unpaywall": (10.0, 10, 5),  # 100,000 calls/day suggested
    "s2": (1.0, 1, 1),  # keys start at 1 request/second
    "datacite": (3.0, 3, 3),  # ~1,000 requests / 5 min for identified clients
    "arxiv": (1 / 3, 1, 1),  # terms of use: one request every 3 seconds, one connection
    "ncbi": (3.0, 3, 3),  # E-utilities etiquette without an API key: 3 requests/second
}


@dataclass(frozen=True)
class Upstreams:
    openalex: Upstream
    crossref: Upstream
    unpaywall: Upstream
    s2: Upstream
    datacite: Upstream
    arxiv: Upstream
    ncbi: Upstream

    def all(self) -> tuple[Upstream, ...]:
        return (
            self.openalex,
            self.crossref,
            self.unpaywall,
            self.s2,
            self.datacite,
            self.arxiv,
            self.ncbi,
        )

    def get(self, name: str) -> Upstream:
        """The upstream called ``name`` (``"s2"``, ``"arxiv"`` …)."""
        return getattr(self, name)


def build_upstreams(
    settings: Settings,
    client: httpx.AsyncClient,
    *,
    sleep: Sleep = asyncio.sleep,
    rate_limits: dict[str, tuple[float, int, int]] | None = None,
) -> Upstreams:
    """Every upstream on the shared client, configured from ``settings``."""
    limits = {**RATE_LIMITS, **(rate_limits or {})}
    email = settings.contact_email

    def make(name: str, base: str, params=None, headers=None) -> Upstream:
        rate, burst, concurrency = limits[name]
        return Upstream(
            client=client,
            name=name,
            base_url=base,
            limiter=FairLimiter(rate, burst=burst, concurrency=concurrency),
            params=params,
            headers=headers,
            timeout=settings.http_timeout,
            retries=settings.http_retries,
            max_retry_wait=settings.max_retry_wait,
            max_bytes=settings.http_max_bytes,
            sleep=sleep,
        )

    openalex_params = {"mailto": email}
    if settings.openalex_api_key:
        openalex_params["api_key"] = settings.openalex_api_key.get_secret_value()
    s2_headers = (
        {"x-api-key": settings.s2_api_key.get_secret_value()} if settings.s2_api_key else None
    )
    return Upstreams(
        openalex=make("openalex", settings.openalex_url, openalex_params),
        crossref=make("crossref", settings.crossref_url, {"mailto": email}),
        unpaywall=make("unpaywall", settings.unpaywall_url, {"email": email}),
        s2=make("s2", settings.s2_url, None, s2_headers),
        datacite=make("datacite", settings.datacite_url),
        arxiv=make("arxiv", settings.arxiv_url),
        # NCBI asks every caller of its tools to name itself and a contact address.
        ncbi=make("ncbi", settings.ncbi_url, {"tool": "litbot", "email": email}),
    )


def make_client(settings: Settings) -> httpx.AsyncClient:
    """The one shared client (created in the composition root), its pool's sockets looked up
    once per connection (``bot.sources._pool``)."""
    client = httpx.AsyncClient(
        # Accept-Encoding is set per request by Upstream, the reader that bounds decoding.
        headers={"User-Agent": settings.user_agent, "Accept": "application/json"},
        timeout=settings.http_timeout,
        follow_redirects=False,  # Upstream follows them itself, bounded and read with a cap
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )
    _pool.install(client)
    return client
