"""Search benchmark: `/bib search` over a 5,000-entry bibliography (SQLite FTS5).

Entries are the recorded Crossref works made distinct (bench/cite.py), stored through
BibliographyStore in a temporary database on disk; queries are one or two words taken from the
stored titles and authors (each word's beginning, as users type). Prints the latency of
``BibliographyService.search`` p50 / p99 / max over ``--queries``, and the matches per query.

    python bench/search.py [--entries 5000] [--queries 500]
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
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cite import distinct, templates  # noqa: E402

from bot.bibliographies import Actor  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.storage.bibliographies import NewEntry, Owner  # noqa: E402
from bot.storage.database import open_database  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    works = distinct(templates(FIXTURES), args.entries)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "litbot.sqlite3")
        try:
            no_lookups = SimpleNamespace(up=None, ttl_seconds=0)  # search makes none
            bibs = build_services(no_lookups, db).bibs  # type: ignore[arg-type]
            actor = Actor.administrator(Owner.guild(1))
            bib = await bibs.resolve(actor, None)
            await bibs.store.add_many(actor.owner, bib.id, [NewEntry(w) for w in works], by=0)
            queries = []
            for _ in range(args.queries):
                work = rng.choice(works)
                words = [w for w in work.title.split() if len(w) > 3] or [work.title]
                pick = rng.choice(words)[: rng.randint(3, 8)]
                if rng.random() < 0.5 and work.authors:
                    pick += " " + (work.authors[0].family or work.authors[0].name)[:4]
                queries.append(pick)
            latencies, hits = [], []
            for query in queries:
                start = time.perf_counter()
                _, found = await bibs.search(actor, query)
                latencies.append((time.perf_counter() - start) * 1000)
                hits.append(len(found))
        finally:
            await db.close()
    print(f"/bib search over {args.entries:,} entries, {args.queries} queries (FTS5 on disk)")
    print(
        f"latency p50 {percentile(latencies, 50):.2f} ms   p99 {percentile(latencies, 99):.2f} ms"
        f"   max {max(latencies):.2f} ms; matches per query (≤ 10 shown) median "
        f"{statistics.median(hits):.0f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
