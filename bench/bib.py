"""Bibliography benchmark (offline): a large bibliography stored, exported and paged.

Entries are the real Crossref records of ../shared/fixtures, repeated with a distinct DOI,
title suffix and first author per copy, a tenth sharing the first author and year of the one
before (see bench/cite.py), stored through BibliographyStore in a temporary SQLite database.
Each figure is measured ``--runs`` times and printed as min / median / max:

  add_many             entries per second into an empty bibliography (one transaction)
  export BibTeX        seconds and peak RSS (MB) of the export
  export APA, cold     the same with the citation cache emptied first
  export APA, cached   the same again, formatted strings from the cache
  first page           p50 / p99 ms of /bib list's page 1 of 10 entries, by author
  page by button       p50 / p99 ms of ▶ from random pages (keyset: seeking the index)
  page by number       p50 / p99 ms of random pages by number (an offset on the index: what a
                       button falls back to when the entry next to its page was removed)

Each page line ends with the p99 of the CPU the page cost this process (every thread: the
event loop's and SQLite's): on a machine shared with other work, the wall-clock p99 is mostly
the time this process waited for a CPU, and the CPU p99 is what the code itself costs.

Each export runs in a child process of its own (``--child``) with the bot's real worker
processes, timed from the call to the finished file; its peak RSS is the export process's
(VmHWM) and, beside it, the largest of its worker processes', read from /proc before the pool
closes (every worker of the bulk pool takes part). The harness's own memory is not in them.

    python bench/bib.py [--entries 1000] [--runs 3] [--pages 300] [--formats bibtex,apa]
    python bench/bib.py --entries 50000 --runs 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
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
from bot.workers import Workers  # noqa: E402
from tests.processes import descendants  # noqa: E402

ACTOR = Actor.administrator(Actor.in_guild(1, 1, 1, can_manage=True).owner)
NAME = "big"


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """min / median / max."""
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def services(db, workers: Workers) -> BibliographyService:
    store = BibliographyStore(db, workers)
    cites = CiteService(None, CitationCache(db), Preferences(db), workers=workers)  # type: ignore[arg-type]
    return BibliographyService(store, None, cites, workers=workers)  # type: ignore[arg-type]


async def child(path: str, fmt: str, cold: bool) -> None:
    """One export in this process (``--child``): prints seconds, bytes and peak RSS as JSON."""
    db = await open_database(path)
    try:
        if cold:
            async with db.transaction() as conn:
                await conn.execute("DELETE FROM citations")
        async with Workers() as workers:
            await workers.warm()
            bibs = services(db, workers)
            t0 = time.perf_counter()
            exported = await bibs.export(ACTOR, NAME, fmt)
            seconds = time.perf_counter() - t0
            size = exported.size
            exported.close()
            peaks = [_status_kb(pid, "VmHWM") for pid in sorted(descendants(os.getpid()))]
    finally:
        await db.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "bytes": size,
                "rss_mb": _status_kb(os.getpid(), "VmHWM") / 1024,
                "worker_rss_mb": max(peaks, default=0) / 1024,
            }
        )
    )


def export_in_child(path: Path, fmt: str, *, cold: bool = False) -> dict:
    args = [sys.executable, __file__, "--child", str(path), "--format", fmt]
    done = subprocess.run(
        args + (["--cold"] if cold else []), capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"the {fmt} export failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def store_entries(path: Path, works) -> tuple[float, int]:
    """Seconds to add ``works`` to a new bibliography in one ``add_many``; its id."""
    db = await open_database(path)
    try:
        async with Workers() as workers:
            await workers.warm()
            bibs = services(db, workers)
            bib = await bibs.create(ACTOR, NAME)
            items = [NewEntry(w) for w in works]
            t0 = time.perf_counter()
            await bibs.store.add_many(ACTOR.owner, bib.id, items, by=1)
            return time.perf_counter() - t0, bib.id
    finally:
        await db.close()


async def page_latencies(path: Path, bibliography_id: int, n: int, pages: int, seed: int):
    """(wall ms, CPU ms) per page: (the first, by the ▶ button, by number), each over ``pages``
    pages."""
    db = await open_database(path)
    try:
        bibs = services(db, Workers.inline())
        rng = random.Random(seed)
        count = -(-n // 10)
        first, by_number, by_button = ([], []), ([], []), ([], [])

        async def timed(out: tuple[list[float], list[float]], **kwargs):
            t0, cpu = time.perf_counter(), time.process_time()
            page = await bibs.page(ACTOR, bibliography_id=bibliography_id, sort="author", **kwargs)
            out[0].append((time.perf_counter() - t0) * 1000)
            out[1].append((time.process_time() - cpu) * 1000)
            return page

        for _ in range(pages):
            await timed(first)
            page = await timed(by_number, page=rng.randrange(count))
            await timed(by_button, page=page.page + 1, after=page.last_id)
        return first, by_button, by_number
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--formats", default="bibtex,apa")
    parser.add_argument("--fixtures", type=Path, default=ROOT.parent / "shared" / "fixtures")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.format, args.cold))
        return

    n, runs = args.entries, max(1, args.runs)
    works = distinct(templates(args.fixtures), n)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        stored, bibliography_id = [], 0
        for run in range(runs):  # the first run's database is the one exported and paged
            target = path if run == 0 else Path(tmp) / f"again{run}.sqlite3"
            seconds, bib_id = asyncio.run(store_entries(target, works))
            stored.append(n / seconds)
            bibliography_id = bib_id if run == 0 else bibliography_id
            if run:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(target) + suffix).unlink(missing_ok=True)
        del works
        print(f"{n:,} entries, {runs} run(s); min / median / max", flush=True)
        print(f"  add_many               {spread(stored, '{:,.0f}')} entries/s", flush=True)

        for fmt in formats:
            cases = [("", False)] if fmt in ("bibtex", "ris", "csl-json") else [
                (", cold", True),
                (", cached", False),
            ]  # fmt: skip
            for suffix, cold in cases:
                results = [export_in_child(path, fmt, cold=cold) for _ in range(runs)]
                label = f"export {fmt}{suffix}"
                seconds = [r["seconds"] for r in results]
                rss = [r["rss_mb"] for r in results]
                workers = [r["worker_rss_mb"] for r in results]
                print(
                    f"  {label:<22} {spread(seconds)} s · peak RSS {spread(rss, '{:.0f}')} MB"
                    f" (largest worker {spread(workers, '{:.0f}')} MB)"
                    f" · {results[0]['bytes'] / 1e6:.1f} MB",
                    flush=True,
                )

        kinds = ("first page", "page by button", "page by number")
        p50s: dict[str, list[float]] = {kind: [] for kind in kinds}
        p99s: dict[str, list[float]] = {kind: [] for kind in kinds}
        cpu99s: dict[str, list[float]] = {kind: [] for kind in kinds}
        for run in range(runs):
            measured = asyncio.run(page_latencies(path, bibliography_id, n, args.pages, seed=run))
            for kind, (latencies, cpu) in zip(kinds, measured, strict=True):
                p50s[kind].append(statistics.median(latencies))
                p99s[kind].append(percentile(latencies, 0.99))
                cpu99s[kind].append(percentile(cpu, 0.99))
        for kind in kinds:
            print(
                f"  {kind + ', p50':<22} {spread(p50s[kind])} ms · p99 {spread(p99s[kind])} ms"
                f" · CPU p99 {spread(cpu99s[kind])} ms"
            )


if __name__ == "__main__":
    main()
