"""Citation benchmark (offline): 1,000 records in APA, cold and warm, and as one export.

The records are the real Crossref records of ../shared/fixtures (crossref/ and
crossref-corpus/, parsed and merged as litbot does), repeated with a distinct DOI and title
suffix per copy. Most copies get a first author of their own; ``--shared`` of them (10% by
default) share their first author, given name and year with the copy before them, as an
author's own papers do in a lab's list: those are disambiguated together (2023a/2023b, added
names) and formatted together, cached under the digest of their whole group. Everything
but the last line goes through CiteService: the bulk worker processes (bot.workers, started
and warmed first), citeproc-py, and the SQLite citation cache. Prints ms per entry for:
  style load     parsing the CSL style once (paid by the first call in a process)
  cold           formatting all records with an empty cache (chunks in the worker processes)
  warm (memory)  the same records again: served from the in-memory LRU
  warm (SQLite)  a fresh cache object over the same database: served from SQLite
  one export     all records as one bibliography (format_bibliography: sorting and
                 disambiguation across the whole list, as a reference-list export)

    python bench/cite.py [--records 1000] [--style apa] [--shared 0.1] [--fixtures …]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import citations  # noqa: E402
from bot.citing import CiteService  # noqa: E402
from bot.merge import merge  # noqa: E402
from bot.models import Author  # noqa: E402
from bot.sources.crossref import parse_work  # noqa: E402
from bot.storage.citations import CitationCache  # noqa: E402
from bot.storage.database import open_database  # noqa: E402
from bot.storage.preferences import Preferences  # noqa: E402
from bot.workers import Workers  # noqa: E402


def templates(fixtures: Path):
    out = []
    for folder in ("crossref", "crossref-corpus"):
        for path in sorted((fixtures / folder).glob("*.json")):
            data = json.loads(path.read_text())
            if data.get("message-type") != "work":
                continue
            work = merge({"crossref": parse_work(data)})
            if work.title and work.authors:
                out.append(work)
    return out


def distinct(works, n: int, shared: float = 0.1):
    """``n`` distinct works; about ``shared`` of them share their first author (and year)
    with the work before them."""
    out = []
    every = round(1 / shared) if shared > 0 else 0
    for i in range(n):
        base = works[i % len(works)]
        first = base.authors[0]
        family = f"{first.family or first.name}{i:04d}"
        author = Author(f"{first.given or ''} {family}".strip(), family, first.given, None)
        year = base.year
        if every and i % every == every - 1 and out:  # same first author as the work before
            author, year = out[-1].authors[0], out[-1].year
        out.append(
            replace(
                base,
                doi=f"{base.doi or '10.5555/x'}.b{i}",
                title=f"{base.title} ({i})",
                authors=(author, *base.authors[1:]),
                year=year,
                published=str(year) if year else base.published,
            )
        )
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--style", default="apa")
    parser.add_argument("--fixtures", type=Path, default=ROOT.parent / "shared" / "fixtures")
    parser.add_argument("--shared", type=float, default=0.1, help="share of shared authors")
    args = parser.parse_args()

    works = distinct(templates(args.fixtures), args.records, args.shared)
    style = citations.resolve_style(args.style)
    t0 = time.perf_counter()
    citations.format_bibliography(works[:1], style)  # parse and cache the style
    load = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(Path(tmp) / "bench.sqlite3")
        workers = Workers()
        await workers.warm()
        try:
            cites = CiteService(None, CitationCache(db), Preferences(db), workers=workers)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            cold = await cites.entries(works, style)
            cold_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            warm = await cites.entries(works, style)
            warm_s = time.perf_counter() - t0
            assert warm == cold

            fresh = CiteService(None, CitationCache(db), Preferences(db), workers=workers)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            from_db = await fresh.entries(works, style)
            db_s = time.perf_counter() - t0
            assert from_db == cold
        finally:
            await workers.close()
            await db.close()

    t0 = time.perf_counter()
    export = citations.format_bibliography(works, style, style_order=True)
    export_s = time.perf_counter() - t0
    assert len(export) == len(works)

    n = len(works)
    firsts = [(w.authors[0].family, w.authors[0].given) for w in works]
    shared_n = sum(firsts.count(f) > 1 for f in firsts)
    print(f"{n} distinct records ({shared_n} share a first author), style {style}")
    print(f"  style load            {load * 1000:8.1f} ms (once per process)")
    print(f"  cold                  {cold_s * 1000 / n:8.3f} ms per entry  ({cold_s:.2f} s)")
    print(f"  warm (memory cache)   {warm_s * 1000 / n:8.4f} ms per entry")
    print(f"  warm (SQLite cache)   {db_s * 1000 / n:8.4f} ms per entry")
    print(f"  one export            {export_s * 1000 / n:8.3f} ms per entry  ({export_s:.2f} s)")
    print(f"  example: {cold[0][:160]}")


if __name__ == "__main__":
    asyncio.run(main())
