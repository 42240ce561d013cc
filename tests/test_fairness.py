"""Fair shares of the upstream budgets: round-robin by server and user, bulk work last."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import NotFound
from bot.models import Identifier, IdKind
from bot.papers import PaperService
from bot.sources import RATE_LIMITS, build_upstreams
from bot.sources.fairness import BULK, FairLimiter, acting_for, bulk_work, current_requester
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.upstream_mock import MockUpstreams, make_settings

KNOWN = "10.1016/j.addr.2015.01.008"


async def grant_order(limiter: FairLimiter, waiters: list[tuple[str, str, int]]) -> list[str]:
    """Queue ``(server, user, priority)`` waiters behind a held slot; the order they get it."""
    order: list[str] = []
    await limiter.acquire()  # hold the only slot so everyone queues

    async def one(i: int, server: str, user: str, priority: int) -> None:
        with acting_for(server, user, priority=priority):
            await limiter.acquire()
        order.append(f"{server}/{user}#{i}")
        limiter.release()

    tasks = []
    for i, waiter in enumerate(waiters):
        tasks.append(asyncio.ensure_future(one(i, *waiter)))
        await asyncio.sleep(0)  # enqueue in this order
    limiter.release()
    await asyncio.gather(*tasks)
    return order


async def test_servers_take_turns_whatever_arrived_first():
    limiter = FairLimiter(1e6, burst=10**6, concurrency=1)
    waiters = [("g1", "u1", 0)] * 5 + [("g2", "u2", 0)] * 2
    order = await grant_order(limiter, waiters)
    assert order[:4] == ["g1/u1#0", "g2/u2#5", "g1/u1#1", "g2/u2#6"]
    assert order[4:] == ["g1/u1#2", "g1/u1#3", "g1/u1#4"]


async def test_users_take_turns_within_a_server():
    limiter = FairLimiter(1e6, burst=10**6, concurrency=1)
    waiters = [("g1", "a", 0)] * 3 + [("g1", "b", 0)] + [("g2", "c", 0)]
    order = await grant_order(limiter, waiters)
    # server turns: g1, g2, g1, g1…; within g1 the users alternate
    assert order == ["g1/a#0", "g2/c#4", "g1/b#3", "g1/a#1", "g1/a#2"]


async def test_bulk_work_waits_for_interactive_work():
    limiter = FairLimiter(1e6, burst=10**6, concurrency=1)
    waiters = [("g1", "importer", BULK)] * 3 + [("g2", "reader", 0)]
    order = await grant_order(limiter, waiters)
    assert order[0] == "g2/reader#3"


async def test_bulk_work_leaves_a_slot_and_a_token_for_members():
    """A re-check never takes an API's last slot or last token: a member's request arriving in
    the middle of one is granted at once, not after a bulk request finishes."""
    clock = [0.0]
    limiter = FairLimiter(10.0, burst=10, concurrency=3, clock=lambda: clock[0])
    granted: list[int] = []

    async def bulk(i: int) -> None:
        with acting_for("g1", "watch", priority=BULK):
            await limiter.acquire()
        granted.append(i)

    work = [asyncio.ensure_future(bulk(i)) for i in range(5)]
    await asyncio.sleep(0.01)
    assert granted == [0, 1] and limiter.active == 2  # the third slot is the members'
    with acting_for("g2", "reader"):
        await asyncio.wait_for(limiter.acquire(), 0.05)  # at once
    assert limiter.active == 3
    for _ in range(3):
        limiter.release()
    await asyncio.sleep(0.01)
    assert granted == [0, 1, 2, 3]  # two bulk again; tokens: 10 − 5 = 5
    # tokens: bulk stops with one left; a member takes it
    tight = FairLimiter(1.0, burst=2, concurrency=10, clock=lambda: clock[0])
    with acting_for("g1", "watch", priority=BULK):
        await tight.acquire()
        late = asyncio.ensure_future(tight.acquire())
        await asyncio.sleep(0.01)
        assert not late.done()  # one token left: not for bulk
    with acting_for("g2", "reader"):
        await asyncio.wait_for(tight.acquire(), 0.05)
    late.cancel()
    for task in work:
        task.cancel()


async def test_a_single_slot_api_still_serves_bulk():
    limiter = FairLimiter(1e6, burst=1, concurrency=1)
    with acting_for("g1", "watch", priority=BULK):
        await asyncio.wait_for(limiter.acquire(), 0.05)  # no reserve to keep: bulk may go


async def test_bulk_work_marks_the_current_requester():
    with acting_for("g9", "u9"):
        with bulk_work() as requester:
            assert requester == current_requester()
            assert (requester.server, requester.user, requester.priority) == ("g9", "u9", BULK)
        assert current_requester().priority == 0


async def test_a_cancelled_waiter_does_not_leak_its_slot():
    limiter = FairLimiter(1e6, burst=10**6, concurrency=1)
    await limiter.acquire()
    waiter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    await asyncio.wait_for(limiter.acquire(), 1)  # the slot is free again
    assert limiter.active == 1


async def test_rate_is_kept_while_sharing():
    clock = [0.0]
    limiter = FairLimiter(2.0, burst=1, concurrency=10, clock=lambda: clock[0])
    await limiter.acquire()  # the one burst token
    later = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    assert not later.done()  # no token until the clock moves
    clock[0] += 0.5
    await asyncio.sleep(0.6)  # the limiter's timer fires (real time) and sees the new token
    assert later.done()


@pytest.fixture
async def burst_world(fixtures_dir, tmp_path):
    mock = MockUpstreams(fixtures_dir)
    mock.log = []
    for source in ("openalex", "crossref", "unpaywall", "s2", "datacite"):
        mock.latency[source] = 0.02
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    async with mock.client() as client:
        # The production rate limits: Crossref 3 concurrent, Semantic Scholar 1 request/s.
        upstreams = build_upstreams(settings, client, rate_limits=RATE_LIMITS)
        service = PaperService(upstreams, WorkCache(db), late_grace=0.2)
        yield mock, service
        for task in list(service._background):  # late Semantic Scholar answers still queued
            task.cancel()
        await asyncio.gather(*service._background, return_exceptions=True)
    await db.close()


async def test_one_users_burst_does_not_delay_another_servers_card(burst_world):
    """500 cold lookups from one member; then another server asks for one card.

    Measured in requests, not seconds: at each upstream, how many of the burst's requests
    went out after the other server asked and before its own request did. First come, first
    served would put hundreds there; fair shares put at most one turn per server.
    """
    mock, service = burst_world

    async def burst_lookup(i: int) -> None:
        with acting_for("g-burst", "u-burst"):
            ident = Identifier(IdKind.DOI, f"10.9999/burst.{i}", f"10.9999/burst.{i}")
            try:
                await service.lookup(ident)
            except NotFound:
                pass

    burst = [asyncio.ensure_future(burst_lookup(i)) for i in range(500)]
    await asyncio.sleep(0.5)  # the burst fills every queue
    asked_at = len(mock.log)
    with acting_for("g-other", "u-other"):
        ident = Identifier(IdKind.DOI, KNOWN, KNOWN)
        work = await asyncio.wait_for(service.lookup(ident, settled=True), 30)
    assert work.title and {"crossref", "openalex", "unpaywall"} <= set(work.sources)
    after = mock.log[asked_at:]
    ahead: dict[str, int] = {}
    for source in ("openalex", "crossref", "unpaywall"):
        lines = [line for line in after if line.startswith(f"upstream {source} ")]
        mine = next(i for i, line in enumerate(lines) if KNOWN in line)
        ahead[source] = mine
    # Requests already granted when the other server asked may still be logged first (at most
    # the upstream's concurrency), plus one turn of the burst server.
    limits = {s: RATE_LIMITS[s][2] + 1 for s in ahead}
    assert all(ahead[s] <= limits[s] for s in ahead), ahead
    assert sum(not t.done() for t in burst) > 100, "the burst was still running"
    for task in burst:
        task.cancel()
    await asyncio.gather(*burst, return_exceptions=True)


async def test_unknown_work_does_not_wait_on_semantic_scholar_without_bound(burst_world):
    """Not found by the core sources while Semantic Scholar's queue is long: a fixed wait."""
    mock, service = burst_world
    service.late_unknown = 0.3
    mock.latency["s2"] = 30.0  # Semantic Scholar hangs
    ident = Identifier(IdKind.DOI, "10.9999/nobody", "10.9999/nobody")
    with pytest.raises(NotFound, match="Semantic Scholar"):
        await asyncio.wait_for(service.lookup(ident), 5)
