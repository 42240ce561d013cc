"""Lookup benchmark (offline): cold vs warm, and single-flight under concurrency.

Every upstream answers the recorded response for 10.1016/j.addr.2015.01.008 after an injected
latency (default 100 ms), through the real PaperService, HTTP layer, parsers, merge and SQLite
cache. Prints:
  (a) a cold lookup's time as a multiple of the injected latency (parallel fan-out ≈ 1×),
  (b) warm lookups' p50/p99 in ms (served from the cache),
  (c) upstream requests made by 100 concurrent lookups of one uncached DOI (single flight).

    python bench/lookup.py [--latency 0.1] [--warm 2000] [--fixtures ../shared/fixtures]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.models import Identifier, IdKind  # noqa: E402
from bot.papers import PaperService  # noqa: E402
from bot.sources import build_upstreams  # noqa: E402
from bot.storage.database import open_database  # noqa: E402
from bot.storage.works import WorkCache  # noqa: E402
from tests.upstream_mock import MockUpstreams, make_settings  # noqa: E402

SOURCES = ("openalex", "crossref", "unpaywall", "s2")
DOIS = (
    "10.1016/j.addr.2015.01.008",
    "10.1016/j.xgen.2025.100814",
    "10.1073/pnas.1414271111",
    "10.1023/a:1007154515475",
    "10.1007/s40278-023-41815-2",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    mock = MockUpstreams(Path(args.fixtures))
    mock.latency = dict.fromkeys(SOURCES, args.latency)
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp))
        db = await open_database(settings.db_path)
        async with mock.client() as client:
            # Rate limits are lifted so the numbers measure litbot, not the etiquette pauses.
            upstreams = build_upstreams(
                settings,
                client,
                rate_limits={s: (1e6, 10**6, 1000) for s in (*SOURCES, "datacite")},
            )
            service = PaperService(upstreams, WorkCache(db))

            colds = []
            for doi in DOIS:
                start = time.perf_counter()
                await service.lookup(Identifier(IdKind.DOI, doi, doi))
                colds.append(time.perf_counter() - start)
            cold = statistics.median(colds)

            warm = []
            for i in range(args.warm):
                doi = DOIS[i % len(DOIS)]
                start = time.perf_counter()
                await service.lookup(Identifier(IdKind.DOI, doi, doi))
                warm.append((time.perf_counter() - start) * 1000)

            # A restart: empty memory cache, same database (the SQLite path).
            disk_service = PaperService(upstreams, WorkCache(db))
            disk = []
            for doi in DOIS:
                start = time.perf_counter()
                await disk_service.lookup(Identifier(IdKind.DOI, doi, doi))
                disk.append((time.perf_counter() - start) * 1000)

            before = dict(mock.calls)
            target = "10.1371/journal.pone.0000030"
            await asyncio.gather(
                *(service.lookup(Identifier(IdKind.DOI, target, target)) for _ in range(100))
            )
            after = {s: mock.calls[s] - before.get(s, 0) for s in SOURCES}
        await db.close()

    print(
        f"injected upstream latency      {args.latency * 1000:.0f} ms on each of "
        f"{len(SOURCES)} sources (rate limits lifted)"
    )
    print(
        f"(a) cold lookup (median of {len(DOIS)})   {cold * 1000:.1f} ms = "
        f"{cold / args.latency:.2f}x latency"
    )
    print(
        f"(b) warm lookups ({args.warm})         p50 {percentile(warm, 50):.3f} ms   "
        f"p99 {percentile(warm, 99):.3f} ms"
    )
    print(
        f"    first lookup after restart  p50 {percentile(disk, 50):.3f} ms   "
        f"max {max(disk):.3f} ms (SQLite)"
    )
    print(f"(c) 100 concurrent lookups of one DOI: upstream requests per source {after}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--fixtures", default=str(ROOT.parent / "shared" / "fixtures"))
    asyncio.run(main(parser.parse_args()))
