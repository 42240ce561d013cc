"""The scholarly APIs on 127.0.0.1, replaying ``../shared/fixtures``.

One aiohttp server answers for every upstream under its own prefix, so each
``LITBOT_*_URL`` points at ``http://127.0.0.1:PORT/<source>``::

    python -m tests.fakes.upstreams --port 8765                # serve until Ctrl-C
    python -m tests.fakes.upstreams --port 8765 --print-env    # the settings, then exit
    python -m tests.fakes.upstreams --port 0 --latency 0.1     # any free port, 100 ms a request

Routes mirror the real APIs (``/openalex/works/doi:10.…``, ``/crossref/works/10.…``,
``/unpaywall/v2/10.…``, ``/s2/graph/v1/paper/DOI:10.…``, ``/datacite/dois/10.…``,
``/arxiv/api/query?id_list=…``, ``/ncbi/pmc/utils/idconv/v1.0/?ids=…``). The world
behind them is a ``MockUpstreams`` (``tests/upstream_mock.py``): tests that run the bot or the
CLI as a subprocess shape it in-process — latency, failures, timeouts, extra records — and read
its request counts. Any path the fake does not model answers 501, loudly, never a guess.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from aiohttp import web

from bot.sources.openalex import WORK_FIELDS
from tests.upstream_mock import BASES, JUNK, Canned, MockUpstreams

log = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
SOURCES = tuple(BASES)
SETTING = {
    "openalex": "LITBOT_OPENALEX_URL",
    "crossref": "LITBOT_CROSSREF_URL",
    "unpaywall": "LITBOT_UNPAYWALL_URL",
    "s2": "LITBOT_S2_URL",
    "datacite": "LITBOT_DATACITE_URL",
    "arxiv": "LITBOT_ARXIV_URL",
    "ncbi": "LITBOT_NCBI_URL",
}
ROUTES = {
    "openalex": ("/works",),
    "crossref": ("/works",),  # a DOI, or a list (filter=doi:a,doi:b)
    "unpaywall": ("/v2/",),
    "s2": ("/graph/v1/paper/",),
    "datacite": ("/dois/",),
    "arxiv": ("/api/query",),
    "ncbi": ("/pmc/utils/idconv/v1.0/",),
}
TIMEOUT_HOLD = 60.0  # a "timeout" holds the request longer than any client waits


def environment(base: str) -> dict[str, str]:
    """The settings that point litbot at a server whose root is ``base``."""
    base = base.rstrip("/")
    return {SETTING[source]: f"{base}/{source}" for source in SOURCES}


class UpstreamServer:
    """``async with UpstreamServer(world) as server:`` → ``server.env`` for a subprocess."""

    def __init__(self, world: MockUpstreams | None = None, *, port: int = 0) -> None:
        self.world = world or MockUpstreams(FIXTURES)
        self.port = port
        self.unmodelled: list[str] = []
        self._runner: web.AppRunner | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return environment(self.base)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        source = request.match_info["source"]
        path = "/" + request.match_info["tail"]
        if source not in ROUTES or not any(
            path.startswith(route) or path == route for route in ROUTES[source]
        ):
            self.unmodelled.append(f"{request.method} {request.path_qs}")
            log.error("fake upstreams: unmodelled route %s %s", request.method, request.path_qs)
            return web.Response(status=501, text=f"not modelled: {request.path}")
        # aiohttp has already decoded %2F and friends; the APIs route on the decoded DOI too.
        outcome = await self.world.respond(source, path, dict(request.query))
        if outcome == "timeout":
            await asyncio.sleep(TIMEOUT_HOLD)
            outcome = JUNK
        if outcome == "junk":
            outcome = JUNK
        assert isinstance(outcome, Canned)
        content_type, _, charset = outcome.content_type.partition("; charset=")
        return web.Response(
            status=outcome.status,
            body=outcome.body,
            content_type=content_type,
            charset=charset or None,
            headers=outcome.headers,
        )

    async def _calls(self, request: web.Request) -> web.Response:
        """The requests each source received so far (benchmarks in another process)."""
        return web.json_response(dict(self.world.calls))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/_calls", self._calls)
        app.router.add_route("GET", "/{source}/{tail:.*}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._unmodelled)
        return app

    async def _unmodelled(self, request: web.Request) -> web.Response:
        self.unmodelled.append(f"{request.method} {request.path_qs}")
        return web.Response(status=501, text=f"not modelled: {request.path}")

    async def start(self) -> UpstreamServer:
        self._runner = web.AppRunner(
            self.app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if self.port == 0:
            sockets = site._server.sockets  # type: ignore[union-attr]
            self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> UpstreamServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _serve(port: int, latency: float = 0.0) -> None:
    world = MockUpstreams(FIXTURES)
    world.latency = dict.fromkeys(SOURCES, latency)
    world.preselect(WORK_FIELDS)  # what litbot asks OpenAlex for, ready before the first request
    server = await UpstreamServer(world, port=port).start()
    for key, value in server.env.items():
        print(f"{key}={value}", flush=True)
    print(f"# replaying {FIXTURES} on {server.base}; Ctrl-C stops", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.upstreams",
        description="Replay recorded scholarly-API responses on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--print-env", action="store_true", help="print the LITBOT_*_URL settings and exit"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds each request waits (benchmarks)"
    )
    args = parser.parse_args(argv)
    if args.print_env:
        for key, value in environment(f"http://127.0.0.1:{args.port}").items():
            print(f"{key}={value}")
        return 0
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.latency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
