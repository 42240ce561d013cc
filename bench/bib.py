"""Bibliography benchmark (offline): a 5,000-entry bibliography exported and paged.

Entries are the real Crossref records of ../shared/fixtures, repeated with a distinct DOI,
title suffix and first author per copy (see bench/cite.py), stored through BibliographyStore
in a temporary SQLite database. Prints:
  export to BibTeX                      (s)
  export to APA, cold / cached          (s; cached = formatted strings from the citation cache)
  list page latency p50 / p99           (ms, random pages of 10, sorted by author)

    python bench/bib.py [--entries 5000] [--pages 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cite import distinct, templates  # noqa: E402

from bot.bibliographies import Actor, BibliographyService  # noqa: E402
from bot.citing import CiteService  # noqa: E402
from bot.storage.bibliographies import BibliographyStore, NewEntry  # noqa: E402
from bot.storage.citations import CitationCache  # noqa: E402
from bot.storage.database import open_database  # noqa: E402
from bot.storage.preferences import Preferences  # noqa: E402


async def timed(coro) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = await coro
    return time.perf_counter() - t0, result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--fixtures", type=Path, default=ROOT.parent / "shared" / "fixtures")
    args = parser.parse_args()

    works = distinct(templates(args.fixtures), args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(Path(tmp) / "bench.sqlite3")
        try:
            store = BibliographyStore(db)
            cites = CiteService(None, CitationCache(db), Preferences(db))  # type: ignore[arg-type]
            bibs = BibliographyService(store, None, cites)  # type: ignore[arg-type]
            actor = Actor.in_guild(1, 1, 1, can_manage=True)
            bib = await bibs.create(actor, "big")
            load, _ = await timed(
                store.add_many(actor.owner, bib.id, [NewEntry(w) for w in works], by=1)
            )

            bibtex_s, bibtex = await timed(bibs.export(actor, "big", "bibtex"))
            cold_s, apa = await timed(bibs.export(actor, "big", "apa"))
            warm_s, apa_again = await timed(bibs.export(actor, "big", "apa"))
            assert apa_again.data == apa.data  # type: ignore[attr-defined]

            pages = -(-args.entries // 10)
            latencies = []
            rng = random.Random(1)
            for _ in range(args.pages):
                number = rng.randrange(pages)
                t0 = time.perf_counter()
                await bibs.page(actor, bibliography_id=bib.id, page=number, sort="author")
                latencies.append((time.perf_counter() - t0) * 1000)
        finally:
            await db.close()

    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    n = args.entries
    print(f"{n} entries (stored in one transaction in {load:.2f} s)")
    print(f"  export BibTeX           {bibtex_s:6.2f} s  ({len(bibtex.data) / 1e6:.1f} MB)")  # type: ignore[attr-defined]
    print(f"  export APA, cold        {cold_s:6.2f} s  ({cold_s * 1000 / n:.2f} ms per entry)")
    print(f"  export APA, cached      {warm_s:6.2f} s  ({warm_s * 1000 / n:.3f} ms per entry)")
    print(
        f"  list page (10 entries)  p50 {statistics.median(latencies):.2f} ms · p99 {p99:.2f} ms"
        f"  over {len(latencies)} random pages"
    )


if __name__ == "__main__":
    asyncio.run(main())
