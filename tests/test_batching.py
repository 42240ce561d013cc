"""Batched DOI lookups: keys waiting for an upstream's turn share one list request.

The list answers are the recorded single records in the recorded list envelopes
(``openalex/list-sample-5.json``, ``crossref/list-sample-5.json``), served by
``tests.upstream_mock``; the filter syntax is the one apis.md §1.2 documents.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.sources import build_upstreams, crossref, openalex
from bot.sources._http import SourceError
from bot.sources.batching import batchable_doi
from tests.upstream_mock import MockUpstreams, make_settings

ALL = ("openalex", "crossref", "unpaywall", "s2", "datacite", "arxiv", "ncbi")


@pytest.fixture
def mock(fixtures_dir):
    return MockUpstreams(fixtures_dir)


def known(mock: MockUpstreams, source: str) -> list[str]:
    """The DOIs the recorded fixtures of ``source`` answer, batchable ones only."""
    return sorted(d for d in mock.files[source] if batchable_doi(d))


async def upstreams(mock, tmp_path, limits=None):
    settings = make_settings(tmp_path)
    client = mock.client()
    return client, build_upstreams(settings, client, rate_limits=limits or {})


def list_requests(mock, host: str) -> list:
    return [r for r in mock.requests if r.url.host == host and r.url.path == "/works"]


async def test_an_idle_upstream_gets_the_single_record_route(mock, tmp_path):
    client, up = await upstreams(mock, tmp_path)
    async with client:
        record = await openalex.fetch_doi(up.openalex, "10.7554/ELIFE.01567")
    assert record is not None and record.doi.lower() == "10.7554/elife.01567"
    (request,) = mock.requests
    assert request.url.path == "/works/https://doi.org/10.7554/elife.01567"
    assert request.url.params["select"] == openalex.WORK_FIELDS  # the fields it reads only


async def test_a_burst_travels_fifty_dois_a_request_and_every_answer_is_its_own(mock, tmp_path):
    dois = known(mock, "openalex")
    unknown = [f"10.9999/unknown-{i}" for i in range(100)]
    wanted = dois + unknown
    mock.latency["openalex"] = 0.01  # a request leaves the loop, as on a network
    client, up = await upstreams(mock, tmp_path, {"openalex": (10.0, 2, 2)})
    async with client:
        answers = await asyncio.gather(*(openalex.fetch_doi(up.openalex, d) for d in wanted))
        limiter = up.openalex.limiter
        assert limiter.active == 0
    for doi, record in zip(wanted, answers, strict=True):
        if doi in unknown:
            assert record is None
        else:
            assert record is not None and record.doi.lower() == doi
    sent = mock.calls["openalex"]
    # the first key finds the upstream idle and goes alone; the next turn (burst 2) carries
    # up to 50 of the keys waiting, and so does each turn after it
    assert sent <= -(-len(wanted) // 50) + 1, sent
    for request in list_requests(mock, "openalex.test"):
        values = request.url.params["filter"].removeprefix("doi:").split("|")
        assert len(values) <= openalex.MAX_OR_VALUES
        assert request.url.params["per-page"] == str(len(values))
    # the budget counts requests, not keys: carried keys gave their turns back
    assert up.openalex.batchers["doi"].requests == sent
    assert limiter.active == 0 and not limiter.waiting()


async def test_crossref_batches_with_the_doi_filter_repeated(mock, tmp_path):
    dois = known(mock, "crossref")[:30]
    mock.latency["crossref"] = 0.01
    client, up = await upstreams(mock, tmp_path, {"crossref": (10.0, 1, 1)})
    async with client:
        answers = await asyncio.gather(*(crossref.fetch_doi(up.crossref, d) for d in dois))
    assert [a.doi.lower() for a in answers] == dois
    # the first finds Crossref idle and goes alone; then 20, then the 9 still waiting
    (single,) = [r for r in mock.requests if r.url.path.startswith("/works/")]
    batches = list_requests(mock, "crossref.test")
    assert len(batches) == 2 and mock.calls["crossref"] == 3
    assert [len(b.url.params["filter"].split(",")) for b in batches] == [20, 9]
    asked = [single.url.path.removeprefix("/works/")]
    for batch in batches:
        filters = batch.url.params["filter"].split(",")
        assert all(f.startswith("doi:") for f in filters) and len(filters) <= crossref.MAX_BATCH
        assert batch.url.params["rows"] == str(len(filters))
        asked += [f.removeprefix("doi:") for f in filters]
    assert sorted(asked) == dois


async def test_a_doi_the_filter_syntax_would_split_goes_alone(mock, tmp_path):
    odd = "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2"
    assert (
        not batchable_doi(odd) and not batchable_doi("10.1000/a,b") and batchable_doi("10.1234/x")
    )
    client, up = await upstreams(mock, tmp_path, {"openalex": (10.0, 1, 1)})
    async with client:
        await asyncio.gather(
            *(openalex.fetch_doi(up.openalex, d) for d in [*known(mock, "openalex")[:5], odd])
        )
    singles = [r for r in mock.requests if r.url.path.startswith("/works/")]
    assert any("0012-9658" in r.url.path for r in singles)
    for request in list_requests(mock, "openalex.test"):
        assert "0012-9658" not in request.url.params["filter"]


async def test_a_hostile_record_in_a_batch_fails_only_its_own_doi(mock, tmp_path, monkeypatch):
    dois = known(mock, "crossref")[:6]
    real = crossref.parse_work

    def parse(data):  # the record of dois[3] breaks the parser, as a hostile one would
        if (data.get("message") or {}).get("DOI", "").lower() == dois[3]:
            raise ValueError("hostile")
        return real(data)

    monkeypatch.setattr(crossref, "parse_work", parse)
    client, up = await upstreams(mock, tmp_path, {"crossref": (10.0, 1, 1)})
    async with client:
        answers = await asyncio.gather(
            *(crossref.fetch_doi(up.crossref, d) for d in dois), return_exceptions=True
        )
    assert isinstance(answers[3], SourceError)
    for i, doi in enumerate(dois):
        if i != 3:
            assert answers[i].doi.lower() == doi


async def test_a_failed_batch_fails_each_of_its_keys_as_their_own_request_would(mock, tmp_path):
    from tests.upstream_mock import Canned

    dois = known(mock, "openalex")[:8]
    mock.fail("openalex", Canned(400, b'{"error": "Invalid filter"}'))
    mock.latency["openalex"] = 0.01
    client, up = await upstreams(mock, tmp_path, {"openalex": (10.0, 1, 1)})
    async with client:
        answers = await asyncio.gather(
            *(openalex.fetch_doi(up.openalex, d) for d in dois), return_exceptions=True
        )
    assert all(isinstance(a, SourceError) and a.status == 400 for a in answers)
    # the first key went alone (an idle upstream); the seven that waited for its turn went
    # in one list request, not one per key
    assert mock.calls["openalex"] == 2
    assert len(list_requests(mock, "openalex.test")) == 1
    assert up.openalex.limiter.active == 0


async def test_a_caller_that_goes_away_leaves_the_others_answered(mock, tmp_path):
    dois = known(mock, "openalex")[:10]
    mock.latency = {"openalex": 0.05}
    client, up = await upstreams(mock, tmp_path, {"openalex": (10.0, 1, 1)})
    async with client:
        tasks = [asyncio.ensure_future(openalex.fetch_doi(up.openalex, d)) for d in dois]
        await asyncio.sleep(0.01)  # the first is in flight, the others wait for its turn
        tasks[0].cancel()
        tasks[5].cancel()
        answers = await asyncio.gather(*tasks, return_exceptions=True)
        assert up.openalex.limiter.active == 0 and not up.openalex.limiter.waiting()
    for i, answer in enumerate(answers):
        if i in (0, 5):
            continue
        assert answer.doi.lower() == dois[i]


async def test_a_members_request_never_carries_bulk_keys_but_bulk_carries_members(mock, tmp_path):
    """A re-check of saved works (bulk) waiting beside a member's lookups: the member's turn
    carries members' keys only (a small answer); bulk turns take members' keys first."""
    from bot.sources.fairness import bulk_work

    dois = known(mock, "openalex")
    members, bulk = dois[:3], dois[3:40]
    client, up = await upstreams(mock, tmp_path, {"openalex": (10.0, 2, 2)})
    async with client:
        mock.latency["openalex"] = 0.05  # the first requests are out while the rest queue

        async def recheck(doi):
            with bulk_work():
                return await openalex.fetch_doi(up.openalex, doi)

        busy = [asyncio.ensure_future(recheck(d)) for d in bulk]
        await asyncio.sleep(0.01)  # two bulk requests hold both slots; the rest wait
        mine = [asyncio.ensure_future(openalex.fetch_doi(up.openalex, d)) for d in members]
        answers = await asyncio.gather(*mine, *busy)
    assert all(a is not None for a in answers)
    carried = [
        set(r.url.params["filter"].removeprefix("doi:").split("|"))
        if r.url.path == "/works"
        else {r.url.path.removeprefix("/works/https://doi.org/")}
        for r in mock.requests
    ]
    # bulk holds one of the two slots (the other is the members' reserve), so the members'
    # turn comes while a bulk request is out: their keys travel alone, in small answers
    with_members = [keys for keys in carried if keys & set(members)]
    assert with_members and all(keys <= set(members) for keys in with_members), carried
    assert set().union(*with_members) == set(members)
    assert sum(len(keys) > 1 for keys in carried if keys & set(bulk)) >= 1  # bulk still batches


@pytest.mark.parametrize("source", ["openalex", "crossref"])
async def test_bulk_list_bodies_are_parsed_in_a_worker_process_with_the_same_answers(
    mock, tmp_path, source
):
    """A re-check's (bulk) list answer is read in a bulk worker process: the same records as
    on the loop, an unknown DOI still unknown, a junk body still that source's failure."""

    from bot.sources.fairness import bulk_work
    from bot.workers import Workers

    module = openalex if source == "openalex" else crossref
    dois = [*known(mock, source)[:12], "10.9999/unknown-1"]
    client, up = await upstreams(mock, tmp_path, {source: (10.0, 1, 1)})
    async with client, Workers() as workers:
        upstream = getattr(up, source)
        inline = await module._fetch_dois(upstream, dois)  # a member's: parsed on the loop
        calls: list[str] = []

        async def cpu(fn, *args, heavy):
            calls.append(fn.__qualname__)
            assert heavy  # a bulk turn's: the bulk pool
            return await workers.run(fn, *args, heavy=heavy)

        upstream.cpu = cpu
        with bulk_work():
            parsed = await module._fetch_dois(upstream, dois)
            mock.fail(source, "junk")
            with pytest.raises(SourceError):
                await module._fetch_dois(upstream, dois)
    assert calls == ["parse_list_body", "parse_list_body"]
    assert "10.9999/unknown-1" not in parsed and len(parsed) == len(inline) == 12
    for doi, record in inline.items():
        assert parsed[doi] == record, doi


async def test_a_members_big_batch_is_parsed_in_the_interactive_worker_a_small_one_here(
    mock, tmp_path
):
    """A member's burst of cold cards: twenty records parsed on the loop would stall every
    other member's card, so a batch of INTERACTIVE_WORKER_RECORDS or more goes to the
    interactive worker (not behind bulk work); a smaller one is parsed where it lands."""
    from bot.sources.batching import INTERACTIVE_WORKER_RECORDS
    from bot.workers import Workers

    dois = known(mock, "crossref")[: INTERACTIVE_WORKER_RECORDS + 2]
    client, up = await upstreams(mock, tmp_path, {"crossref": (10.0, 1, 1)})
    async with client, Workers() as workers:
        pools: list[bool] = []

        async def cpu(fn, *args, heavy):
            pools.append(heavy)
            return await workers.run(fn, *args, heavy=heavy)

        up.crossref.cpu = cpu
        big = await crossref._fetch_dois(up.crossref, dois)
        small = await crossref._fetch_dois(up.crossref, dois[: INTERACTIVE_WORKER_RECORDS - 1])
    assert pools == [False]  # the big batch only, in the interactive pool
    assert len(big) == len(dois)
    for doi, record in small.items():
        assert big[doi] == record, doi
