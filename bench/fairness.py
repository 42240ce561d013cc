"""Fair shares under a burst: one member's 500 cold lookups, then another server's one card.

Measured the way users meet it: the real composition (one shared httpx client, the production
rate limits — Crossref 10/s and 3 concurrent, Semantic Scholar 1/s — and the SQLite cache,
cold), real sockets to the replay server on 127.0.0.1, every upstream answering after an
injected latency (default 100 ms). Prints the other server's wait in seconds and in round trips,
and how many of the burst's lookups had finished by then.

    python bench/fairness.py [--latency 0.1] [--burst 500] [--fifo]

``--fifo`` runs the victim as the same requester as the burst, which is what first come, first
served would give it (expect the whole burst's duration).
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

from bot.errors import LitError  # noqa: E402
from bot.models import Identifier, IdKind  # noqa: E402
from bot.papers import PaperService  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.sources import build_upstreams, make_client  # noqa: E402
from bot.sources.fairness import acting_for  # noqa: E402
from bot.storage.database import open_database  # noqa: E402
from bot.storage.works import WorkCache  # noqa: E402
from tests.fakes.upstreams import FIXTURES, UpstreamServer  # noqa: E402
from tests.upstream_mock import MockUpstreams  # noqa: E402

VICTIM = "10.1016/j.addr.2015.01.008"


async def main(args: argparse.Namespace) -> None:
    world = MockUpstreams(FIXTURES)
    world.latency = dict.fromkeys(
        ("openalex", "crossref", "unpaywall", "s2", "datacite"), args.latency
    )
    async with UpstreamServer(world) as server:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(_env_file=None, **server.env, LITBOT_DB=f"{tmp}/bench.sqlite3")
            db = await open_database(settings.db_path)
            async with make_client(settings) as client:
                papers = PaperService(build_upstreams(settings, client), WorkCache(db))
                done = 0

                async def burst_one(i: int) -> None:
                    nonlocal done
                    with acting_for("g-burst", "u-burst"):
                        doi = f"10.9999/burst.{i}"
                        try:
                            await papers.lookup(Identifier(IdKind.DOI, doi, doi))
                        except LitError:
                            pass
                    done += 1

                burst = [asyncio.ensure_future(burst_one(i)) for i in range(args.burst)]
                await asyncio.sleep(1.0)
                who = ("g-burst", "u-burst") if args.fifo else ("g-other", "u-other")
                started = time.perf_counter()
                with acting_for(*who):
                    await papers.lookup(Identifier(IdKind.DOI, VICTIM, VICTIM))
                waited = time.perf_counter() - started
                finished = done
                for task in burst:
                    task.cancel()
                await asyncio.gather(*burst, return_exceptions=True)
                await papers.close()  # the burst's requests and settling, before the client
            await db.close()
    mode = "same requester as the burst (FIFO)" if args.fifo else "another server"
    print(f"burst: {args.burst} distinct cold /paper lookups from one member")
    print(f"upstream latency: {args.latency * 1000:.0f} ms; production rate limits")
    print(
        f"one cold card for {mode}, asked 1 s into the burst: {waited:.2f} s "
        f"= {waited / args.latency:.1f} round trips; burst lookups finished by then: {finished}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--fifo", action="store_true")
    asyncio.run(main(parser.parse_args()))
