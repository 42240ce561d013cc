"""Load benchmark: is a warm card still instant while the bot is busy with everything else?

litbot is built by its composition root (``bot.__main__.open_services``: worker processes,
production rate limits, SQLite on disk); the scholarly APIs are the replaying fake of
``tests/fakes/upstreams.py`` in a process of its own, answering after ``--latency``.

**Mixed burst**: at once — 100 cold lookups (recorded works never asked before), 500 warm
lookups, a 500-entry APA citation and the 500-entry bibliography exported as BibTeX and as APA,
a 2,000-entry ``.bib`` import, and 50 local TL;DRs with key sentences. Meanwhile a probe asks
for a warm card every 20 ms (what ``/paper`` does for a card in memory: look up, render the
embed and its buttons) and a watchdog measures how late the event loop wakes (a stall).

**200-DOI burst**: 200 distinct cold DOIs asked at once (``--burst-latency``, 250 ms a
request): seconds until every card is shown, and the requests each API received.

Prints min / median / max over ``--runs``: the warm card's p50 and p99, the longest loop stall
and the stalls over 50 ms, the burst's wall time; then the 200-DOI burst.

``--why``: a monitor thread (``bench/stalls.py``) explains each stall over 50 ms: the CPU this
process and each of its threads used during it, the CPU every other process used, and where
the busy threads were (stacks sampled while the loop was late). It costs CPU itself: count
stalls without it.

    python bench/load.py [--runs 3] [--latency 0.1] [--why]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cite import distinct, templates  # noqa: E402
from lookup import FIXTURES, ServerProcess, ident, known_dois, percentile, settings_for  # noqa: E402
from stalls import StallMonitor  # noqa: E402

from bot.__main__ import open_services  # noqa: E402
from bot.bibliographies import Actor  # noqa: E402
from bot.exports import to_bibtex  # noqa: E402
from bot.storage.bibliographies import NewEntry, Owner  # noqa: E402
from bot.summaries import key_sentences  # noqa: E402
from bot.ui.cards import card_links, render_card  # noqa: E402
from bot.ui.components import card_view  # noqa: E402
from bot.ui.cycles import release_view  # noqa: E402
from tests.upstream_mock import MockUpstreams  # noqa: E402

GUILD = 4242
STALL_MS = 50.0


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


async def watchdog(stop: asyncio.Event, lags: list[float], tick: float = 0.005) -> None:
    """How late the loop wakes a task that sleeps ``tick``: the loop's stalls, in ms."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(tick)
        lags.append((loop.time() - start - tick) * 1000)


async def probe(stop: asyncio.Event, services, dois: list[str], out: list[float]) -> None:
    """A warm card every 20 ms, as /paper builds it (lookup, embed, buttons)."""
    papers = services.papers
    i = 0
    while not stop.is_set():
        doi = dois[i % len(dois)]
        i += 1
        start = time.perf_counter()
        work = papers.peek(ident(doi)) or await papers.lookup(ident(doi))
        render_card(work)
        view = card_view(doi, card_links(work), has_neighbourhood=bool(work.openalex_id))
        release_view(view)  # what the bot does once discord.py has sent it
        out.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.02)


async def mixed_run(args: argparse.Namespace) -> dict[str, float]:
    asyncio.get_running_loop().slow_callback_duration = STALL_MS / 1000
    both, corpus = known_dois(MockUpstreams(FIXTURES))
    recorded = templates(FIXTURES)
    works = distinct(recorded, 2500)
    # The import: the recorded works with their real DOIs (looked up, as an import does), the
    # rest distinct works without a DOI (kept as the file says)
    imported = recorded + [replace(w, doi=None) for w in works[500 + len(recorded) : 2500]]
    bib_file = to_bibtex(imported, None).encode()
    with ServerProcess(args.latency) as server, tempfile.TemporaryDirectory() as folder:
        async with open_services(settings_for(server, folder)) as services:
            papers, bibs, cites = services.papers, services.domain.bibs, services.domain.cites
            await services.workers.warm()
            for doi in both:  # warm cards
                await papers.lookup(ident(doi), settled=True)
            await papers.drain()
            actor = Actor.administrator(Owner.guild(GUILD))
            bib = await bibs.resolve(actor, None)
            await bibs.store.add_many(actor.owner, bib.id, [NewEntry(w) for w in works[:500]], by=0)
            importer = Actor.administrator(Owner.guild(GUILD + 1))
            await bibs.resolve(importer, None)

            stop = asyncio.Event()
            lags: list[float] = []
            warm: list[float] = []
            watcher = asyncio.ensure_future(watchdog(stop, lags))
            prober = asyncio.ensure_future(probe(stop, services, both, warm))
            monitor = StallMonitor() if args.why else None
            if monitor is not None:
                monitor.start()
            await asyncio.sleep(0.5)  # the probe's baseline

            async def export(fmt: str) -> None:
                exported = await bibs.export(actor, None, fmt)
                exported.close()

            async def tldrs() -> None:
                for work in works[:50]:
                    if work.abstract:
                        await services.workers.run(key_sentences, work.title, work.abstract, 3)

            start = time.perf_counter()
            cold = corpus[-100:]
            await asyncio.gather(
                *(papers.lookup(ident(d)) for d in cold),
                *(papers.lookup(ident(both[i % len(both)])) for i in range(500)),
                cites.format(works[:500], "apa"),
                export("bibtex"),
                export("apa"),
                bibs.import_file(importer, "library.bib", bib_file),
                tldrs(),
                return_exceptions=False,
            )
            took = time.perf_counter() - start
            stop.set()
            await asyncio.gather(watcher, prober)
            if monitor is not None:
                await monitor.stop()
                print(monitor.report(STALL_MS), flush=True)
            await papers.close()
    return {
        "p50": percentile(warm, 50),
        "p99": percentile(warm, 99),
        "stall": max(lags),
        "stalls": float(sum(lag > STALL_MS for lag in lags)),
        "took": took,
        "probes": float(len(warm)),
    }


async def burst_run(args: argparse.Namespace) -> tuple[float, dict[str, int]]:
    _, corpus = known_dois(MockUpstreams(FIXTURES))
    with ServerProcess(args.burst_latency) as server, tempfile.TemporaryDirectory() as folder:
        async with open_services(settings_for(server, folder)) as services:
            start = time.perf_counter()
            works = await asyncio.gather(
                *(services.papers.lookup(ident(d)) for d in corpus[: args.burst])
            )
            took = time.perf_counter() - start
            assert all(w.title for w in works)
            calls = server.calls()
            await services.papers.close()
    return took, calls


async def main(args: argparse.Namespace) -> None:
    runs = [await mixed_run(args) for _ in range(args.runs)]
    bursts = [await burst_run(args) for _ in range(args.runs)]
    pick = lambda key: [r[key] for r in runs]  # noqa: E731
    print(
        f"litbot under load: composition root, worker processes, fake upstreams "
        f"({args.latency * 1000:.0f} ms) in another process; {args.runs} runs, "
        f"{os.cpu_count()} CPUs                  min / median / max"
    )
    print(f"mixed burst, wall time                          {spread(pick('took'))} s")
    print(f"warm card during the burst, p50                 {spread(pick('p50'), '{:.2f}')} ms")
    print(f"warm card during the burst, p99                 {spread(pick('p99'), '{:.2f}')} ms")
    print(f"longest event-loop stall                        {spread(pick('stall'))} ms")
    print(f"event-loop stalls over {STALL_MS:.0f} ms                    "
          f"{spread(pick('stalls'), '{:.0f}')}")  # fmt: skip
    print(f"warm cards probed per run                       {spread(pick('probes'), '{:.0f}')}")
    took = [b[0] for b in bursts]
    print(
        f"{args.burst} distinct cold DOIs at once ({args.burst_latency * 1000:.0f} ms a request): "
        f"every card in {spread(took, '{:.2f}')} s; requests {bursts[-1][1]}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--burst-latency", type=float, default=0.25)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--slow", action="store_true", help="log callbacks that stall > 50 ms")
    parser.add_argument("--why", action="store_true", help="explain each stall over 50 ms")
    options = parser.parse_args()
    if options.slow:
        import logging

        logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(options), debug=options.slow)
