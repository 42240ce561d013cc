"""PaperService against recorded responses: merging, caching, single-flight, every failure."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.errors import InvalidIdentifier, NotFound, UpstreamError
from bot.models import Identifier, IdKind
from bot.papers import PaperService
from bot.sources import build_upstreams
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.conftest import SYNTHETIC
from tests.upstream_mock import Canned, MockUpstreams, make_settings

SEED = "10.1186/s12943-023-01737-7"


def doi(value: str) -> Identifier:
    return Identifier(IdKind.DOI, value.lower(), value)


class World:
    """A PaperService wired to the mock upstreams and a real temporary database."""

    def __init__(self, mock: MockUpstreams, service: PaperService, sleeps: list[float]):
        self.mock, self.service, self.sleeps = mock, service, sleeps


@pytest.fixture
async def world(fixtures_dir, tmp_path):
    mock = MockUpstreams(fixtures_dir)
    mock.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    mock.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    async with mock.client() as client:
        upstreams = build_upstreams(
            settings,
            client,
            sleep=fake_sleep,
            rate_limits={
                name: (1000.0, 1000, 100)
                for name in ("openalex", "crossref", "unpaywall", "s2", "datacite", "arxiv", "ncbi")
            },
        )
        service = PaperService(upstreams, WorkCache(db))
        yield World(mock, service, sleeps)
        await service.drain()  # cards settle (and are cached) in the background
    await db.close()


async def test_merges_all_four_sources_with_provenance(world):
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert (
        work.title
        == "Pharmacokinetics, biodistribution and cell uptake of antisense oligonucleotides"
    )
    assert [a.family for a in work.authors] == ["Geary", "Norris", "Yu", "Bennett"]
    assert work.authors[0].given == "Richard S."
    assert (work.year, work.venue, work.volume, work.pages) == (
        2015,
        "Advanced Drug Delivery Reviews",
        "87",
        "46-51",
    )
    assert work.type == "review"  # Crossref says journal-article; OpenAlex and S2 know better
    assert work.cited_by_count == 750 and work.provenance["cited_by_count"] == "openalex"
    assert work.provenance["title"] == "crossref" and work.provenance["authors"] == "crossref"
    assert work.provenance["type"] == "openalex"
    assert work.access.status == "hybrid" and work.access.licence == "cc-by-nc-nd"
    assert work.access.source == "unpaywall" and work.access.version == "published"
    assert work.abstract and work.provenance["abstract"] == "openalex"
    assert set(work.sources) == {"crossref", "openalex", "unpaywall", "s2"}
    assert not work.missing and not work.retracted


async def test_seed_paper(world):
    work = await world.service.lookup(doi(SEED))
    assert (
        work.title
        == "NK cells are never alone: crosstalk and communication in tumour microenvironments"
    )
    assert [a.family for a in work.authors] == ["Zhou", "Lu", "Liu", "Li"]
    assert [a.given for a in work.authors] == ["Yongqiang", "Cheng", "Lu", "Xun"]
    assert all("\ufffd" not in a.name for a in work.authors)
    assert (work.year, work.venue, work.volume, work.issue, work.pages) == (
        2023,
        "Molecular Cancer",
        "22",
        "1",
        "34",
    )
    assert work.access.licence == "cc-by" and work.access.status == "gold"
    assert work.abstract.startswith("Immune escape is a hallmark of cancer.")
    assert any("Name order of author 2" in n for n in work.notes)


@pytest.mark.parametrize(
    "form",
    [SEED, SEED.upper(), f"https://doi.org/{SEED}", f"doi:{SEED}"],
)
async def test_every_doi_form_gives_identical_output(world, form):
    from bot.identifiers import parse_identifier

    first = await world.service.lookup(parse_identifier(SEED))
    again = await world.service.lookup(parse_identifier(form))
    assert again.to_dict() == first.to_dict()


async def test_second_lookup_is_served_from_cache(world):
    await world.service.lookup(doi("10.7554/elife.01567"))
    before = sum(world.mock.calls.values())
    work = await world.service.lookup(doi("10.7554/ELIFE.01567"))
    assert sum(world.mock.calls.values()) == before
    assert work.doi == "10.7554/elife.01567"


async def test_cache_survives_a_restart(world, tmp_path):
    await world.service.lookup(doi("10.7554/elife.01567"))
    await world.service.drain()  # the card is written once its sources have settled
    fresh = WorkCache(world.service.cache.db)  # a new process: empty memory, same database
    cached = await fresh.get("doi:10.7554/elife.01567")
    assert cached is not None and cached.fresh and cached.work.title.startswith("Automated")


async def test_concurrent_identical_lookups_share_one_request_per_source(world):
    world.mock.latency = {name: 0.05 for name in ("openalex", "crossref", "unpaywall", "s2")}
    works = await asyncio.gather(
        *(world.service.lookup(doi("10.1073/pnas.1414271111")) for _ in range(50))
    )
    assert {w.title for w in works} == {works[0].title}
    assert dict(world.mock.calls) == {
        "openalex": 1,
        "crossref": 1,
        "unpaywall": 1,
        "s2": 1,
        "ncbi": 1,
    }


async def test_sources_are_queried_in_parallel(world):
    world.mock.hold()  # no upstream answers until every source has been asked
    lookup = asyncio.ensure_future(world.service.lookup(doi("10.1016/j.xgen.2025.100814")))
    try:
        asked_together = await world.mock.waiting(4)
    finally:
        world.mock.release()
    work = await lookup
    assert asked_together, f"asked one after another: {dict(world.mock.calls)}"
    assert {"openalex", "crossref", "unpaywall", "s2"} <= set(world.mock.calls)
    assert work.title


async def test_one_source_down_still_makes_the_card_and_says_so(world):
    world.mock.fail("crossref", Canned(503, b"Service Unavailable", "text/plain"))
    work = await world.service.lookup(doi("10.7554/elife.01567"))
    assert work.title.startswith("Automated quantitative histology")
    assert work.provenance["title"] == "openalex"
    assert work.missing == ("crossref",)
    assert any("Crossref did not answer (HTTP 503)" in n for n in work.notes)
    assert world.mock.calls["crossref"] == 3  # first try + 2 retries with backoff
    assert len(world.sleeps) == 2


async def test_timeout_is_a_source_failure(world):
    world.mock.fail("openalex", "timeout")
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert "openalex" in work.missing and work.title.startswith("Pharmacokinetics")
    assert any("OpenAlex did not answer (timed out)" in n for n in work.notes)


async def test_malformed_json_is_a_source_failure(world):
    world.mock.fail("crossref", "junk")
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert "crossref" in work.missing and work.provenance["title"] == "openalex"
    assert any("malformed JSON" in n for n in work.notes)
    assert world.mock.calls["crossref"] == 1  # junk is not retried


async def test_429_waits_for_retry_after_then_succeeds(world):
    too_many = Canned(429, b'{"message":"Too Many Requests"}', headers={"Retry-After": "2"})
    world.mock.fail("crossref", too_many, "ok")
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert world.sleeps == [2.0]
    assert world.mock.calls["crossref"] == 2
    assert not work.missing and work.provenance["title"] == "crossref"


async def test_429_with_a_long_retry_after_falls_back_at_once(world):
    too_many = Canned(429, b"{}", headers={"Retry-After": "3600"})
    world.mock.fail("crossref", too_many)
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert world.sleeps == [] and world.mock.calls["crossref"] == 1
    assert "crossref" in work.missing
    assert any("rate limited" in n for n in work.notes)


async def test_all_sources_down_without_cache_is_an_upstream_error(world):
    for name in ("openalex", "crossref", "unpaywall", "s2"):
        world.mock.fail(name, Canned(500, b"oops", "text/plain"))
    with pytest.raises(UpstreamError) as info:
        await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert "10.1016/j.addr.2015.01.008" in info.value.user_message
    assert info.value.exit_code == 3


async def test_all_sources_down_serves_a_stale_cached_copy(world):
    first = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    await world.service.drain()
    world.service.cache.clock = lambda: 4e9  # long after the TTL
    for name in ("openalex", "crossref", "unpaywall", "s2"):
        world.mock.fail(name, Canned(502, b"bad gateway", "text/plain"))
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert work.stale and work.title == first.title
    assert any("cached" in n for n in work.notes)


async def test_unknown_doi_is_not_found_with_the_identifier(world):
    with pytest.raises(NotFound) as info:
        await world.service.lookup(doi("10.9999/does-not-exist"))
    assert "10.9999/does-not-exist" in info.value.user_message
    assert info.value.exit_code == 2


async def test_datacite_doi_uses_datacite_not_crossref(world):
    work = await world.service.lookup(doi("10.5281/zenodo.1196821"))
    assert work.provenance["title"] == "datacite"
    assert world.mock.calls["crossref"] == 0 and world.mock.calls["unpaywall"] == 0
    assert work.access.licence == "cc-by-sa"


async def test_arxiv_id_resolves_through_its_datacite_doi(world):
    work = await world.service.lookup(Identifier(IdKind.ARXIV, "2311.16162", "2311.16162"))
    assert work.doi == "10.48550/arxiv.2311.16162"
    assert work.title.startswith("Leveraging Artificial Intelligence Technology")
    assert work.type == "preprint"


async def test_pmid_resolves_through_openalex(world):
    world.mock.alias("openalex", "pmid:17183658", "10.1371/journal.pone.0000030")
    work = await world.service.lookup(Identifier(IdKind.PMID, "17183658", "PMID: 17183658"))
    assert work.doi == "10.1371/journal.pone.0000030"
    assert world.mock.calls["openalex"] == 1  # the PMID lookup's record is reused


async def test_unknown_pmid_is_not_found(world):
    with pytest.raises(NotFound):
        await world.service.lookup(Identifier(IdKind.PMID, "1", "1"))


async def test_retraction_flag_from_crossref_updated_by(world, fixtures_dir):
    # Synthetic, shaped like the Crossref record of a retracted paper (apis.md §2.4).
    body = json.loads((fixtures_dir / "crossref/plos-one-tpi-deficiency.json").read_text())
    body["message"]["updated-by"] = [
        {
            "DOI": "10.1371/journal.pone.9999999",
            "type": "retraction",
            "label": "Retraction",
            "source": "retraction-watch",
            "updated": {"date-parts": [[2024, 1, 2]]},
        }
    ]
    world.mock.add("crossref", "10.1371/journal.pone.0000030", json.dumps(body))
    work = await world.service.lookup(doi("10.1371/journal.pone.0000030"))
    assert work.retracted and work.retraction_notice == "10.1371/journal.pone.9999999"
    assert work.provenance["retracted"] == "crossref"


def test_invalid_input_is_refused_before_any_lookup():
    from bot.identifiers import parse_identifier

    with pytest.raises(InvalidIdentifier):
        parse_identifier("https://example.com/not-a-paper")


async def test_a_slow_extra_source_does_not_hold_the_card(world):
    world.service.late_grace = 0.01  # what a settled lookup (the terminal, /cite) gives it
    world.mock.latency = {"s2": 0.3}
    work = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert "s2" not in work.sources and not work.missing
    settled = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"), settled=True)
    assert "s2" not in settled.sources  # the core sources settle without waiting for S2
    cached = await world.service.cache.get("doi:10.1016/j.addr.2015.01.008")
    assert any("Semantic Scholar is slow" in n for n in cached.work.notes)
    await world.service.drain()  # the late answer refreshes the cache
    again = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert "s2" in again.sources
    assert world.mock.calls["crossref"] == 1


async def test_lookups_while_a_late_source_is_queued_are_served_from_the_cache(world):
    world.service.late_grace = 0.01
    world.mock.latency = {"s2": 0.3}
    first = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert "s2" not in first.sources
    calls = sum(world.mock.calls.values())
    during = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert sum(world.mock.calls.values()) == calls  # no refetch while S2 is still answering
    assert during.title == first.title
    await world.service.drain()
    assert "s2" in (await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))).sources


async def test_only_a_late_source_knows_the_work_so_it_is_awaited(world):
    world.service.late_grace = 0.01
    world.mock.latency = {"s2": 0.1}
    work = await world.service.lookup(doi("10.1093/mind/lix.236.433"))
    assert work.title == "Computing Machinery and Intelligence"
    assert work.tldr and work.provenance["tldr"] == "s2"


async def test_requests_use_the_paths_the_recorded_interactions_used(world):
    """So a server replaying ../shared/fixtures by recorded URI answers litbot as well."""
    await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    await world.service.drain()
    paths = {str(r.url.host).split(".")[0]: r.url.raw_path.decode() for r in world.mock.requests}
    assert paths["openalex"].startswith("/works/https://doi.org/10.1016/j.addr.2015.01.008")
    assert paths["crossref"].startswith("/works/10.1016/j.addr.2015.01.008")
    assert paths["unpaywall"].startswith("/v2/10.1016/j.addr.2015.01.008?email=")
    assert paths["s2"].startswith("/graph/v1/paper/DOI:10.1016/j.addr.2015.01.008?fields=")


async def test_bulk_lookups_skip_the_extra_sources_and_are_refetched_for_a_card(world):
    core = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"), extras=False)
    assert world.mock.calls["s2"] == 0 and "s2" not in core.sources and not core.missing
    card = await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    assert world.mock.calls["s2"] == 1 and world.mock.calls["crossref"] == 2
    assert card.title == core.title


async def test_a_cold_cards_bibliographic_requests_leave_first(world):
    """The card waits for OpenAlex or Crossref: their requests go out before Unpaywall's,
    Semantic Scholar's and NCBI's (an idle upstream's batcher sends from the caller's task,
    not a few turns of the event loop later)."""
    world.mock.latency = dict.fromkeys(("openalex", "crossref", "unpaywall", "s2", "ncbi"), 0.01)
    await world.service.lookup(doi("10.1016/j.addr.2015.01.008"))
    order = [str(r.url.host).split(".")[0] for r in world.mock.requests]
    assert set(order[:2]) == {"openalex", "crossref"}, order
    assert {"unpaywall", "s2", "ncbi"} <= set(order[2:]), order
