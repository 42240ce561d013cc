"""The pacer: a crowd of cold lookups starts a few per pass of the event loop, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest

from bot.pacing import PER_PASS, Pacer
from bot.papers import PaperService
from bot.sources import RATE_LIMITS, build_upstreams
from bot.sources.batching import batchable_doi
from bot.sources.fairness import acting_for, bulk_work
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.processes import fresh_python
from tests.test_papers import doi
from tests.upstream_mock import MockUpstreams, make_settings


class Passes:
    """Counts the event loop's passes: a callback that schedules itself again runs once in
    each (``call_soon`` from one pass runs in the next)."""

    def __init__(self) -> None:
        self.now = 0
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.now += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


async def test_a_crowd_takes_its_turns_a_few_per_pass_in_arrival_order():
    pacer = Pacer(per_pass=4)
    passes = Passes()
    turns: list[tuple[int, int]] = []  # (caller, pass)

    async def caller(i: int) -> None:
        await pacer.turn()
        turns.append((i, passes.now))

    await asyncio.gather(*(caller(i) for i in range(40)))
    passes.stop()
    per_pass = Counter(when for _, when in turns)
    assert max(per_pass.values()) == 4  # never more than per_pass in one pass
    assert len(per_pass) == 10  # and every pass used in full
    assert [i for i, _ in turns] == list(range(40))  # first come, first served


async def test_a_turn_without_a_crowd_does_not_suspend():
    pacer = Pacer(per_pass=2)
    for _ in range(2):
        step = pacer.turn()
        with pytest.raises(StopIteration):
            step.send(None)  # finished at its first step: no pass waited for
    third = pacer.turn()
    waits_on = third.send(None)  # this pass's turns are taken: it waits for the next
    assert isinstance(waits_on, asyncio.Future) and pacer.waiting() == 1
    third.close()


async def test_another_servers_lookup_waits_a_pass_not_for_the_crowd():
    pacer = Pacer(per_pass=4)
    passes = Passes()
    turns: list[tuple[str, int]] = []  # (server, pass)

    async def caller(server: str, user: str = "u", *, bulk: bool = False) -> None:
        with acting_for(server, user), contextlib.ExitStack() as stack:
            if bulk:
                stack.enter_context(bulk_work())
            await pacer.turn()
        turns.append((server, passes.now))

    crowd = [asyncio.ensure_future(caller("g1")) for _ in range(100)]
    imports = [asyncio.ensure_future(caller("g3", bulk=True)) for _ in range(20)]
    await asyncio.sleep(0)  # four of the crowd took this pass's turns; the rest wait
    others = [asyncio.ensure_future(caller("g2", f"u{i}")) for i in range(3)]
    await asyncio.gather(*crowd, *imports, *others)
    passes.stop()
    order = [server for server, _ in turns]
    first = turns[0][1]
    # g2's three members, arriving behind 96 waiters, alternate with the crowd as soon as turns
    # are handed out again (in first come, first served they were 25 passes away); the bulk
    # work, queued before them, goes last
    assert [when - first for server, when in turns if server == "g2"] == [3, 3, 4]
    assert order[:16].count("g2") == 3
    assert order[-20:] == ["g3"] * 20
    assert max(Counter(when for _, when in turns).values()) == 4


async def test_callers_who_give_up_waiting_cost_nobody_a_turn():
    pacer = Pacer(per_pass=2)
    passes = Passes()
    done: dict[int, int] = {}

    async def caller(i: int) -> None:
        await pacer.turn()
        done[i] = passes.now

    tasks = [asyncio.ensure_future(caller(i)) for i in range(10)]
    await asyncio.sleep(0)  # 0 and 1 took this pass's turns; 2 to 9 wait
    for i in (2, 3, 5):
        tasks[i].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    passes.stop()
    assert sorted(done) == [0, 1, 4, 6, 7, 8, 9]
    per_pass = Counter(done.values())
    assert max(per_pass.values()) == 2 and len(per_pass) == 4  # 7 turns, no pass left unused


def test_a_pacer_outlives_its_event_loop():
    """Tests (and a restarted bot) run a new loop; what was owed on a closed one is forgotten."""
    pacer = Pacer(per_pass=1)

    async def last_turn() -> None:
        await pacer.turn()  # the pass's one turn taken
        asyncio.get_running_loop().stop()  # and the loop ends with this pass, before the next
        # (whose first callback would have given the pacer its turns back) ever runs

    loop = asyncio.new_event_loop()
    loop.run_until_complete(last_turn())
    loop.close()
    asyncio.run(asyncio.wait_for(pacer.turn(), 1))  # a new loop's first turn: at once


async def test_a_crowd_of_cold_lookups_sends_its_requests_over_many_passes(fixtures_dir, tmp_path):
    """Forty cold cards at once (works only Crossref knows), no rate limit in the way: without
    the pacer every lookup's Unpaywall request (one per DOI) left in the same pass."""
    mock = MockUpstreams(fixtures_dir)
    dois = sorted(d for d in mock.files["crossref"] if batchable_doi(d))[:40]
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    lifted = {name: (1000.0, 1000, 100) for name in RATE_LIMITS}
    sent: Counter[int] = Counter()

    class PassLog(list):
        def append(self, line: str) -> None:
            if line.startswith("upstream unpaywall"):
                sent[passes.now] += 1

    mock.log = PassLog()
    async with mock.client() as client:
        service = PaperService(
            build_upstreams(settings, client, rate_limits=lifted),
            WorkCache(db),
            pacer=Pacer(per_pass=4),
        )
        passes = Passes()
        works = await asyncio.gather(*(service.lookup(doi(d)) for d in dois))
        passes.stop()
        await service.drain()
    await db.close()
    assert all(w.title for w in works)
    assert sum(sent.values()) == 40
    # At most four turns a pass, each continuing in that pass or the next (bot.pacing)
    assert max(sent.values()) <= 2 * 4 and len(sent) >= 5


def test_the_composition_root_paces_lookups_and_gives_the_loop_the_interpreter_first(tmp_path):
    """In a fresh interpreter (it changes process-wide settings): the service built by
    ``open_services`` has a pacer, and a helper thread yields the interpreter within 1 ms."""
    script = """
import asyncio, sys
from bot.__main__ import open_services
from bot.settings import Settings

async def main():
    before = sys.getswitchinterval()
    async with open_services(Settings(_env_file=None, LITBOT_DB=sys.argv[1])) as services:
        print(before, sys.getswitchinterval(), services.papers.pacer.per_pass)

asyncio.run(main())
"""
    out = fresh_python(script, str(tmp_path / "db.sqlite3"))
    before, after, per_pass = out.split()
    assert float(before) == 0.005 and float(after) == 0.001  # CPython's default, then ours
    assert int(per_pass) == PER_PASS
