"""NCBI's PMC ID converter: the client on the recorded answers, PMID/PMCID routing beside
OpenAlex, the PMID and PMCID of every DOI's card, and their PubMed and PMC links.

The converter's answers for papers other than the recorded one are assembled by
``tests.fakes.arxiv_ncbi.NcbiWorld`` from recorded bodies (see its docstring).
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.errors import NotFound, UpstreamError
from bot.identifiers import parse_identifier
from bot.merge import merge
from bot.models import SourceRecord
from bot.papers import PaperService
from bot.sources import RATE_LIMITS, build_upstreams, ncbi, openalex
from bot.sources._http import SourceError, Upstream
from bot.sources.fairness import FairLimiter
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from bot.ui.cards import render_card
from bot.ui.terminal import render_text
from tests.conftest import FIXTURES, load
from tests.fakes.upstreams import UpstreamServer
from tests.test_arxiv import run_cli
from tests.upstream_mock import Canned, MockUpstreams, make_settings

PNAS = "10.1073/pnas.1414271111"  # OpenAlex lists PMID 25349395 and PMC 4234579 for it
RECORDED = FIXTURES / "ncbi-idconv/doi-10.1038-ng.590.json"
ERROR = FIXTURES / "ncbi-idconv/error-bad-idtype.json"
# The record NCBI answers for an id it does not know (see tests/fakes/arxiv_ncbi.py).
UNKNOWN = {
    "status": "ok",
    "records": [{"pmid": "1", "live": "false", "status": "error", "errmsg": "invalid article id"}],
}


async def convert(content: bytes, id_type: str, value: str, status: int = 200):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=content, headers={"Content-Type": "application/json"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        up = Upstream(
            client,
            "ncbi",
            "http://ncbi.test",
            FairLimiter(100),
            params={"tool": "litbot", "email": "lab@example.org"},
            retries=0,
        )
        return await ncbi.convert(up, id_type, value), seen


@pytest.mark.parametrize(
    ("id_type", "value"),
    [("doi", "10.1038/ng.590"), ("doi", "10.1038/NG.590"), ("pmid", "20495566"),
     ("pmcid", "PMC2883744"), ("pmcid", "pmc2883744")],
)  # fmt: skip
async def test_the_recorded_answer(id_type, value):
    record, seen = await convert(RECORDED.read_bytes(), id_type, value)
    assert (record.source, record.doi, record.pmid, record.pmcid) == (
        "ncbi",
        "10.1038/ng.590",
        "20495566",
        "PMC2883744",
    )
    assert seen[0].url.path == "/pmc/utils/idconv/v1.0/"
    assert dict(seen[0].url.params) == {
        "tool": "litbot",
        "email": "lab@example.org",
        "ids": value,
        "idtype": id_type,
        "format": "json",
    }


async def test_an_id_ncbi_does_not_know_is_none():
    record, _ = await convert(json.dumps(UNKNOWN).encode(), "pmid", "1")
    assert record is None
    # another article's record (an answer to another id) is not this one's
    record, _ = await convert(RECORDED.read_bytes(), "pmid", "1")
    assert record is None


async def test_the_recorded_error_body():
    # As recorded: 404 with the JSON error body, which is "not known here".
    record, _ = await convert(ERROR.read_bytes(), "doi", "28371833", status=404)
    assert record is None
    # The same body with 200 is a request NCBI refused: the source's failure, its message
    # (URL-encoded) logged, not shown.
    with pytest.raises(SourceError, match="refused") as info:
        await convert(ERROR.read_bytes(), "doi", "28371833")
    assert "mismatch" not in info.value.reason


@pytest.mark.parametrize(
    "content",
    [b"[]", b'{"status": "ok"}', b'{"status": "ok", "records": {"pmcid": "PMC1"}}', b"null"],
)
async def test_wrong_shapes_are_the_sources_failure(content):
    with pytest.raises(SourceError):
        await convert(content, "doi", "10.1038/ng.590")


def test_ncbi_ids_win_over_openalex():
    """OpenAlex writes the PMCID of 10.1073/pnas.1414271111 without "PMC"; both now read it."""
    work = openalex.parse_work(load("openalex/pnas-2014-1414271111.json"))
    assert (work.pmid, work.pmcid) == ("25349395", "PMC4234579")
    ids = SourceRecord(source="ncbi", doi=PNAS, pmid="25349395", pmcid="PMC4234579")
    merged = merge({"openalex": work, "ncbi": ids})
    assert merged.provenance["pmcid"] == "ncbi" and merged.provenance["pmid"] == "ncbi"
    assert "ncbi" in merged.sources


# -- PaperService -------------------------------------------------------------------------------


@pytest.fixture
async def service(fixtures_dir, tmp_path):
    mock = MockUpstreams(fixtures_dir)
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    async with mock.client() as client:
        limits = {name: (1000.0, 1000, 100) for name in RATE_LIMITS}
        service = PaperService(
            build_upstreams(settings, client, rate_limits=limits), WorkCache(db), late_grace=5
        )
        service.mock = mock  # type: ignore[attr-defined]
        yield service
        await service.drain()
    await db.close()


def card_ids(work) -> str:
    return next(f.value for f in render_card(work).fields if f.name == "Identifiers")


@pytest.mark.parametrize(
    "query",
    ["PMC4234579", "PMCID: PMC4234579", "https://pmc.ncbi.nlm.nih.gov/articles/PMC4234579/",
     "PMID: 25349395", "https://pubmed.ncbi.nlm.nih.gov/25349395/", PNAS],
)  # fmt: skip
async def test_pmid_pmcid_and_doi_give_both_ids_and_both_links(service, query):
    """The issue's example: PMC4234579 resolved, but with "pmcid": null and no PMC link."""
    work = await service.lookup(parse_identifier(query))
    assert work.doi == PNAS and work.title.startswith("Developing functional musculoskeletal")
    assert (work.pmid, work.pmcid) == ("25349395", "PMC4234579")
    assert work.provenance["pmcid"] == "ncbi" and "ncbi" in work.sources
    assert (work.type, work.venue) == ("article", "Proceedings of the National Academy of Sciences")
    assert work.authors[0].family == "Makris" and work.year == 2014
    assert work.access.status == "bronze" and work.access.source == "unpaywall"
    ids = card_ids(work)
    assert "[PMID 25349395](https://pubmed.ncbi.nlm.nih.gov/25349395/)" in ids
    assert "[PMC4234579](https://pmc.ncbi.nlm.nih.gov/articles/PMC4234579/)" in ids
    text = render_text(work)
    assert "PMID 25349395: https://pubmed.ncbi.nlm.nih.gov/25349395/" in text
    assert "PMC4234579: https://pmc.ncbi.nlm.nih.gov/articles/PMC4234579/" in text


async def test_ncbi_first_and_openalex_is_asked_once(service):
    service.mock.latency = {"openalex": 0.2}
    work = await service.final(parse_identifier("PMC4234579"))
    assert work.doi == PNAS and "openalex" in work.sources
    assert service.mock.calls["openalex"] == 1 and service.mock.calls["ncbi"] == 1


async def test_openalex_first_and_ncbi_is_asked_once(service):
    service.mock.latency = {"ncbi": 0.2}
    work = await service.lookup(parse_identifier("PMID: 25349395"))
    assert work.pmcid == "PMC4234579"
    assert service.mock.calls["openalex"] == 1 and service.mock.calls["ncbi"] == 1


async def test_openalex_down_ncbi_resolves(service):
    service.mock.fail("openalex", Canned(503, b"down", "text/plain"))
    work = await service.final(parse_identifier("PMC4234579"))
    assert work.doi == PNAS and "openalex" in work.missing
    assert work.provenance["title"] == "crossref" and work.pmcid == "PMC4234579"


async def test_ncbi_down_openalex_resolves(service):
    service.mock.fail("ncbi", Canned(500, b"oops", "text/plain"))
    work = await service.final(parse_identifier("PMC4234579"))
    assert work.doi == PNAS and "ncbi" in work.missing
    assert work.pmcid == "PMC4234579" and work.provenance["pmcid"] == "openalex"


async def test_both_down_is_an_upstream_error(service):
    service.mock.fail("openalex", Canned(503, b"down", "text/plain"))
    service.mock.fail("ncbi", Canned(503, b"down", "text/plain"))
    with pytest.raises(UpstreamError, match="NCBI and OpenAlex"):
        await service.lookup(parse_identifier("PMC4234579"))


async def test_a_pmid_outside_pmc_resolves_through_openalex(service):
    """PLOS ONE's record in OpenAlex has a PMID and no PMCID: NCBI's converter does not know it."""
    service.mock.alias("openalex", "pmid:17183658", "10.1371/journal.pone.0000030")
    work = await service.lookup(parse_identifier("PMID: 17183658"))
    assert work.doi == "10.1371/journal.pone.0000030"
    assert "ncbi" not in work.sources and "ncbi" not in work.missing


async def test_unknown_everywhere_is_not_found(service):
    with pytest.raises(NotFound):
        await service.lookup(parse_identifier("PMC1"))


async def test_a_doi_only_ncbi_knows_is_not_a_card(service):
    """10.1038/ng.590: the recorded converter answer, and no bibliographic record here."""
    with pytest.raises(NotFound):
        await service.lookup(parse_identifier("10.1038/ng.590"))
    with pytest.raises(NotFound, match=r"10\.1038/ng\.590"):
        await service.lookup(parse_identifier("PMC2883744"))


async def test_ncbi_is_late_for_a_doi(service):
    """NCBI adds ids: a slow converter never holds a card, its answer refreshes the cache."""
    service.mock.latency = {"ncbi": 0.3}
    service.late_grace = 0.01
    work = await service.lookup(parse_identifier(PNAS))
    assert "ncbi" not in work.sources and not work.missing
    await service.drain()
    again = await service.lookup(parse_identifier(PNAS))
    assert "ncbi" in again.sources and again.provenance["pmcid"] == "ncbi"


async def test_ncbi_rate_limit():
    assert RATE_LIMITS["ncbi"] == (3.0, 3, 3)  # NCBI: 3 requests a second without a key


async def test_both_ids_through_the_real_cli(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with UpstreamServer(MockUpstreams(FIXTURES)) as server:
        (code, out, err), (code2, text, err2) = await asyncio.gather(
            run_cli(server, tmp_path / "a", "paper", "PMC4234579", "--json"),
            run_cli(server, tmp_path / "b", "paper", "PMID 25349395"),
        )
        assert server.unmodelled == []
    assert code == 0, err
    data = json.loads(out)
    assert (data["doi"], data["pmid"], data["pmcid"]) == (PNAS, "25349395", "PMC4234579")
    assert data["provenance"]["pmcid"] == "ncbi"
    assert code2 == 0, err2
    assert "https://pubmed.ncbi.nlm.nih.gov/25349395/" in text
    assert "https://pmc.ncbi.nlm.nih.gov/articles/PMC4234579/" in text


async def test_concurrent_pmcid_lookups_share_one_request_per_source(service):
    service.mock.latency = {"openalex": 0.05, "ncbi": 0.05}
    works = await asyncio.gather(
        *(service.lookup(parse_identifier("PMC4234579")) for _ in range(20))
    )
    assert {w.pmcid for w in works} == {"PMC4234579"}
    assert service.mock.calls["ncbi"] == 1 and service.mock.calls["openalex"] == 1
