"""Lookup benchmark: cold cards in upstream round trips, through real sockets and real limits.

The scholarly APIs are the replaying fake of ``tests/fakes/upstreams.py`` on 127.0.0.1 (in a
process of its own, as remote APIs are), each request answered after an injected latency. litbot is
built by its composition root (``bot.__main__.open_services``): the production rate limits
(Crossref 3 concurrent, Semantic Scholar 1 request/s …), the shared httpx client, SQLite on disk.
Caches are cold where a user meets them cold: each cold lookup is a DOI never asked before.

Prints, each figure as min / median / max over ``--runs`` runs:
  (a) a cold card (``PaperService.lookup``) in round trips of the injected latency, DOIs asked
      one after another (so Semantic Scholar's 1 request/s meets back-to-back lookups); beside
      it, the harness's own floor in the same unit: one bare ``httpx`` GET of a recorded
      OpenAlex record from the fake (the request litbot sends), from a client of its own (the
      fake's and the sockets' time on top of the injected latency, which no client avoids), and
      the first answer when the card's five requests leave together from that bare client (the
      fake serves five at once, the client reads five answers: the floor of a fan-out);
  (b) the settled work (every core source and the local TL;DR) in round trips;
  (c) warm lookups' p50 / p99 in ms;
  (d) upstream requests per source for 100 identical concurrent lookups of an uncached DOI;
  (e) 200 distinct cold DOIs asked at once (``--burst-latency``, default 250 ms): seconds until
      every card is shown, and the requests each API received (within its documented limits).

    python bench/lookup.py [--latency 0.1] [--runs 5] [--warm 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.__main__ import open_services  # noqa: E402
from bot.models import Identifier, IdKind  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.sources._common import quote_doi  # noqa: E402
from bot.sources.batching import batchable_doi  # noqa: E402
from bot.sources.ncbi import PATH as NCBI_PATH  # noqa: E402
from bot.sources.openalex import WORK_FIELDS  # noqa: E402
from bot.sources.semanticscholar import FIELDS as S2_FIELDS  # noqa: E402
from tests.upstream_mock import MockUpstreams  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures"
SOURCES = ("openalex", "crossref", "unpaywall", "s2", "datacite", "arxiv", "ncbi")
SELECT = {"select": WORK_FIELDS}  # what litbot asks OpenAlex for a work


def ident(doi: str) -> Identifier:
    return Identifier(IdKind.DOI, doi, doi)


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class ServerProcess:
    """The fake upstreams on 127.0.0.1 in a process of their own (as remote APIs are: their
    work never competes with litbot's event loop for the interpreter)."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.env: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.upstreams",
                "--port",
                "0",
                "--latency",
                str(self.latency),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            if line.startswith("#"):
                break
            key, _, value = line.strip().partition("=")
            self.env[key] = value
        return self

    def calls(self) -> dict[str, int]:
        base = self.env["LITBOT_OPENALEX_URL"].rsplit("/", 1)[0]
        return httpx.get(f"{base}/_calls").json()

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait()


def settings_for(server: ServerProcess, folder: str) -> Settings:
    env = {
        **server.env,
        "LITBOT_DB": str(Path(folder) / "litbot.sqlite3"),
        "LITBOT_CONTACT_EMAIL": "bench@example.org",
    }
    return Settings(_env_file=None, **env)


def known_dois(world: MockUpstreams) -> tuple[list[str], list[str]]:
    """DOIs the fakes know: those OpenAlex and Crossref both answer (cards like a real one),
    and the Crossref corpus (a burst of distinct works)."""
    both = sorted(set(world.files["openalex"]) & set(world.files["crossref"]))
    corpus = sorted(d for d in world.files["crossref"] if batchable_doi(d))
    return both, corpus


async def fan_out(client: httpx.AsyncClient, env: dict[str, str], doi: str) -> float:
    """Seconds until the first of a cold card's requests is read (OpenAlex's), when all of them
    leave together from a bare client, as litbot sends them: the harness's floor for a fan-out
    (the fake answers five requests at once, and the client reads the others' answers too)."""
    quoted = quote_doi(doi)
    email = {"mailto": "bench@example.org"}
    requests = [
        (f"{env['LITBOT_OPENALEX_URL']}/works/doi:{quoted}", {**email, **SELECT}),
        (f"{env['LITBOT_CROSSREF_URL']}/works/{quoted}", email),
        (f"{env['LITBOT_UNPAYWALL_URL']}/v2/{quoted}", {"email": email["mailto"]}),
        (f"{env['LITBOT_S2_URL']}/graph/v1/paper/DOI:{quoted}", {"fields": S2_FIELDS}),
        (f"{env['LITBOT_NCBI_URL']}{NCBI_PATH}", {"ids": doi, "idtype": "doi", "format": "json"}),
    ]
    start = time.perf_counter()
    first: list[float] = []

    async def get(url: str, params: dict[str, str]) -> None:
        response = await client.get(url, params=params)
        if response.status_code == 200 and not first:
            first.append(time.perf_counter() - start)

    await asyncio.gather(*(get(url, params) for url, params in requests))
    return first[0]


async def one_run(args: argparse.Namespace, run: int) -> dict[str, object]:
    both, corpus = known_dois(MockUpstreams(FIXTURES))
    with ServerProcess(args.latency) as server, tempfile.TemporaryDirectory() as folder:
        bare, fanned = [], []
        async with httpx.AsyncClient() as client:
            base = server.env["LITBOT_OPENALEX_URL"]
            for doi in [both[0], *both[:10]]:  # the first opens the connection: not counted
                start = time.perf_counter()
                (await client.get(f"{base}/works/doi:{doi}", params=SELECT)).raise_for_status()
                bare.append((time.perf_counter() - start) / args.latency)
            for doi in [both[0], *both[:10]]:
                fanned.append(await fan_out(client, server.env, doi) / args.latency)
        async with open_services(settings_for(server, folder)) as services:
            papers = services.papers
            cold, settled = [], []
            for doi in both:
                start = time.perf_counter()
                await papers.lookup(ident(doi))
                cold.append((time.perf_counter() - start) / args.latency)
            await papers.drain()
            fresh = [d for d in corpus if d not in both][: len(both)]
            for doi in fresh:
                start = time.perf_counter()
                await papers.lookup(ident(doi), settled=True)
                settled.append((time.perf_counter() - start) / args.latency)
            await papers.drain()

            warm = []
            for i in range(args.warm):
                doi = both[i % len(both)]
                start = time.perf_counter()
                await papers.lookup(ident(doi))
                warm.append((time.perf_counter() - start) * 1000)

            target = corpus[-1]  # never asked before
            before = server.calls()
            await asyncio.gather(*(papers.lookup(ident(target)) for _ in range(100)))
            await papers.drain()
            after = server.calls()
            single = {s: n - before.get(s, 0) for s, n in after.items() if n - before.get(s, 0)}
            await papers.close()

    # (e) a fresh process-like world: 200 distinct cold DOIs at once
    burst = corpus[: args.burst]
    with ServerProcess(args.burst_latency) as server, tempfile.TemporaryDirectory() as folder:
        async with open_services(settings_for(server, folder)) as services:
            start = time.perf_counter()
            works = await asyncio.gather(*(services.papers.lookup(ident(d)) for d in burst))
            burst_seconds = time.perf_counter() - start
            assert all(w.title for w in works)
            burst_calls = server.calls()
            await services.papers.close()
    return {
        "cold": statistics.median(cold),
        "bare": statistics.median(bare[1:]),
        "fanned": statistics.median(fanned[1:]),
        "settled": statistics.median(settled),
        "warm50": percentile(warm, 50),
        "warm99": percentile(warm, 99),
        "single": single,
        "burst": burst_seconds,
        "burst_calls": burst_calls,
    }


async def main(args: argparse.Namespace) -> None:
    results = [await one_run(args, run) for run in range(args.runs)]
    pick = lambda key: [float(r[key]) for r in results]  # noqa: E731
    print(
        f"fake upstreams on 127.0.0.1, {args.latency * 1000:.0f} ms a request; production rate "
        f"limits; {args.runs} runs; {os.cpu_count()} CPUs        min / median / max"
    )
    print(f"(a) cold card, DOIs back to back          {spread(pick('cold'))} round trips")
    print(f"    one bare GET to the fake (the floor)  {spread(pick('bare'))} round trips")
    print(f"    the card's five requests, bare: first {spread(pick('fanned'))} round trips")
    print(f"(b) settled work (core sources + TL;DR)   {spread(pick('settled'))} round trips")
    print(f"(c) warm lookup p50                       {spread(pick('warm50'), '{:.3f}')} ms")
    print(f"    warm lookup p99                       {spread(pick('warm99'), '{:.3f}')} ms")
    print(f"(d) 100 identical concurrent lookups: requests per source {results[-1]['single']}")
    print(
        f"(e) {args.burst} distinct cold DOIs at once, {args.burst_latency * 1000:.0f} ms a "
        f"request: every card in {spread(pick('burst'))} s; "
        f"requests {results[-1]['burst_calls']}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--burst-latency", type=float, default=0.25)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
