"""Watch benchmark: a 5,000-entry bibliography re-checked while members look papers up.

litbot is built by its composition root (``bot.__main__.open_services``: worker processes,
production rate limits, SQLite on disk); the scholarly APIs are the replaying fake of
``tests/fakes/upstreams.py`` in a process of its own, answering after ``--latency`` (one
round trip). The bibliography holds ``--entries`` distinct works: the recorded Crossref works
copied with distinct DOIs (``bench/cite.py``'s ``distinct``; the fake answers ``<DOI>.b<n>``
with the recorded record, DOI and title changed), so every re-check reaches the upstreams.

A probe asks for one **cold** card every ``--every`` seconds (a DOI never asked before, as
``/paper`` does) and measures it in round trips; first alone (the baseline), then while
``Watch.run_once`` re-checks every saved work at bulk priority. Printed, min / median / max
over ``--runs``:

* the re-check: seconds for all entries, and the requests each API received;
* the cold card alone and during the re-check: p50, p99 and max, in round trips;
* the delay the re-check adds to a cold card: (during − alone) at p50, p99 and max, in round
  trips (goal: at most one);
* the longest event-loop stall during the re-check, and the stalls over 50 ms.

    python bench/watch.py [--entries 5000] [--runs 3] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cite import distinct, templates  # noqa: E402
from load import spread, watchdog  # noqa: E402
from lookup import FIXTURES, ServerProcess, ident, known_dois, percentile, settings_for  # noqa: E402

from bot.__main__ import open_services  # noqa: E402
from bot.bibliographies import Actor  # noqa: E402
from bot.storage.bibliographies import NewEntry, Owner  # noqa: E402
from bot.storage.watch import WatchStore  # noqa: E402
from bot.watch import Watch  # noqa: E402
from tests.upstream_mock import MockUpstreams  # noqa: E402

GUILD = 5151


async def probe(papers, dois: list[str], every: float, latency: float, stop) -> list[float]:
    """Cold cards one after another, ``every`` apart, until ``stop`` is set: round trips."""
    out: list[float] = []
    for doi in dois:
        if stop.is_set():
            break
        start = time.perf_counter()
        await papers.lookup(ident(doi))
        out.append((time.perf_counter() - start) / latency)
        await asyncio.sleep(every)
    return out


async def one_run(args: argparse.Namespace, run: int) -> dict[str, object]:
    _, corpus = known_dois(MockUpstreams(FIXTURES))
    works = distinct(templates(FIXTURES), args.entries)
    # Cold cards for the probe: recorded DOIs copied under numbers no entry uses
    probes = [f"{corpus[i % len(corpus)]}.b{900000 + run * 10000 + i}" for i in range(4000)]
    with ServerProcess(args.latency) as server, tempfile.TemporaryDirectory() as folder:
        async with open_services(settings_for(server, folder)) as services:
            papers, bibs = services.papers, services.domain.bibs
            await services.workers.warm()
            actor = Actor.administrator(Owner.guild(GUILD))
            bib = await bibs.resolve(actor, None)
            await bibs.store.add_many(actor.owner, bib.id, [NewEntry(w) for w in works], by=0)
            watch = Watch(WatchStore(services.db), papers)

            never = asyncio.Event()
            half = len(probes) // 2
            alone = await probe(papers, probes[: args.baseline], args.every, args.latency, never)
            await papers.drain()
            before = server.calls()

            done = asyncio.Event()
            lags: list[float] = []
            watcher = asyncio.ensure_future(watchdog(done, lags))
            monitor = None
            if args.why:
                from stalls import StallMonitor

                monitor = StallMonitor()
                monitor.start()
            start = time.perf_counter()
            checking = asyncio.ensure_future(watch.run_once(force=True))
            checking.add_done_callback(lambda _: done.set())
            during = await probe(papers, probes[half:], args.every, args.latency, done)
            report = await checking
            took = time.perf_counter() - start
            await watcher
            if monitor is not None:
                await monitor.stop()
                print(monitor.report(min_ms=50))
            await papers.drain()
            after = server.calls()
            await papers.close()
    calls = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return {
        "took": took,
        "checked": report.checked,
        "failed": report.failed,
        "alone50": percentile(alone, 50),
        "alone99": percentile(alone, 99),
        "alone_max": max(alone),
        "during50": percentile(during, 50),
        "during99": percentile(during, 99),
        "during_max": max(during),
        "delay50": percentile(during, 50) - percentile(alone, 50),
        "delay99": percentile(during, 99) - percentile(alone, 99),
        "delay_max": max(during) - max(alone),
        "probes": len(during),
        "stall": max(lags),
        "stalls": float(sum(lag > 50 for lag in lags)),
        "calls": calls,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds a request takes")
    parser.add_argument("--every", type=float, default=0.25, help="seconds between cold cards")
    parser.add_argument("--baseline", type=int, default=40, help="cold cards measured alone")
    parser.add_argument(
        "--why", action="store_true", help="sample the stacks of event-loop stalls (stalls.py)"
    )
    args = parser.parse_args(argv)

    results = [asyncio.run(one_run(args, run)) for run in range(args.runs)]

    def col(name: str) -> list[float]:
        return [float(r[name]) for r in results]  # type: ignore[arg-type]

    print(
        f"Watch: {args.entries:,} saved works re-checked beside cold cards "
        f"({args.latency * 1000:.0f} ms a request, a card every {args.every:.2f} s), "
        f"{args.runs} runs, min / median / max"
    )
    print(f"  re-check, seconds                 {spread(col('took'), '{:.1f}')}")
    print(f"  works checked / failed            {spread(col('checked'), '{:.0f}')}"
          f"  /  {spread(col('failed'), '{:.0f}')}")  # fmt: skip
    print(f"  cold card alone, p50 (RT)         {spread(col('alone50'), '{:.2f}')}")
    print(f"  cold card alone, p99 (RT)         {spread(col('alone99'), '{:.2f}')}")
    print(f"  cold card alone, max (RT)         {spread(col('alone_max'), '{:.2f}')}")
    print(f"  cold card during, p50 (RT)        {spread(col('during50'), '{:.2f}')}")
    print(f"  cold card during, p99 (RT)        {spread(col('during99'), '{:.2f}')}")
    print(f"  cold card during, max (RT)        {spread(col('during_max'), '{:.2f}')}")
    print(f"  delay added, p50 (RT)             {spread(col('delay50'), '{:.2f}')}")
    print(f"  delay added, p99 (RT)             {spread(col('delay99'), '{:.2f}')}")
    print(f"  delay added, max (RT)             {spread(col('delay_max'), '{:.2f}')}   goal ≤ 1")
    print(f"  cold cards measured during        {spread(col('probes'), '{:.0f}')}")
    print(f"  longest event-loop stall, ms      {spread(col('stall'), '{:.0f}')}")
    print(f"  stalls over 50 ms                 {spread(col('stalls'), '{:.0f}')}")
    calls = results[-1]["calls"]
    assert isinstance(calls, dict)
    listed = ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items()))
    print(f"  requests during the last run      {listed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
