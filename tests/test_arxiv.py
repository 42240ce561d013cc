"""arXiv: the Atom client on the recorded feeds (both formats), its guards against hostile XML,
LaTeX decoding, the licence of arXiv copies, precedence against DataCite and Semantic Scholar,
and ``litbot paper`` on every form of arXiv id (in process and through the real CLI).

Papers the recorded feeds lack are built with ``tests.fakes.arxiv_ncbi.entry_like`` from a
recorded entry, with the real paper's values (each test says which); nothing else is invented.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from bot.errors import NotFound
from bot.identifiers import parse_identifier
from bot.licences import (
    ARXIV_LICENCE,
    arxiv_id_of_url,
    choose_access,
    licence_label,
    normalise_licence,
)
from bot.merge import merge
from bot.models import LicenceStatement, Location, Version, Work
from bot.papers import PaperService
from bot.sources import RATE_LIMITS, arxiv, build_upstreams, datacite, semanticscholar
from bot.sources._http import SourceError, Upstream
from bot.sources.fairness import FairLimiter
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from bot.ui.cards import render_card
from bot.ui.terminal import render_text
from tests.conftest import FIXTURES, load
from tests.fakes.arxiv_ncbi import entry_from_datacite, entry_like, recorded_entry
from tests.fakes.upstreams import UpstreamServer
from tests.upstream_mock import MockUpstreams, make_settings

NEW = "arxiv/rsxiv-query.xml"
OLD = "arxiv/rsxiv-query-2025-08-oldformat.xml"
NEW_MISSING = "arxiv/rsxiv-query_missing_id.xml"
OLD_MISSING = "arxiv/rsxiv-query_missing_id-2025-08-oldformat.xml"
NEW_EMPTY = "arxiv/rsxiv-query_empty.xml"
OLD_EMPTY = "arxiv/rsxiv-query_empty-2025-08-oldformat.xml"
REPO = Path(__file__).resolve().parents[1]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def records(name: str) -> dict[str, object]:
    return {r.arxiv: r for r in arxiv.parse_feed(body(name))}


# -- synthetic papers, built from recorded entries ----------------------------------------------


def paperqa_entry() -> bytes:
    """arXiv:2312.07559 (PaperQA) as the new format would serve it: the recorded entry of
    2201.13452 with PaperQA's values (title, authors with the first one's name as arXiv's
    metadata writes it, ``L\\'ala``, dates of v1 and v2, category cs.CL, abstract shortened)."""
    return entry_like(
        recorded_entry(FIXTURES, "2201.13452"),
        arxiv_id="2312.07559",
        version=2,
        title="PaperQA: Retrieval-Augmented Generative Agent for Scientific Research",
        authors=[
            "Jakub L\\'ala",
            "Odhran O'Donoghue",
            "Aleksandar Shtedritski",
            "Sam Cox",
            "Samuel G. Rodriques",
            "Andrew D. White",
        ],
        published="2023-12-08T18:50:20Z",
        updated="2023-12-14T18:40:04Z",
        category="cs.CL",
        summary="Large Language Models (LLMs) generalize well across language tasks, but "
        "suffer from hallucinations and uninterpretability, making it difficult to assess "
        "their accuracy without ground-truth.",
    )


def croci_entry() -> bytes:
    """arXiv:1902.02534 as the new format would serve it: the recorded entry of 2201.13452 with
    the values of the recorded DataCite record of 10.48550/arxiv.1902.02534 (title with its
    LaTeX ``--``, creators, v1 and v2 submission dates, subject cs.DL, abstract)."""
    return entry_from_datacite(
        FIXTURES,
        "datacite/arxiv-1902-02534.json",
        version=2,
        published="2019-02-07T09:22:51Z",
        updated="2019-06-21T06:21:52Z",
        category="cs.DL",
    )


# -- the feed, both formats ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ident", "version", "category", "published", "updated", "first_author", "pub_doi"),
    [
        (NEW, "nucl-ex/0408020", 1, "nucl-ex", "2004-08-18", "2005-09-17", "J. Arrington", None),
        (NEW, "1309.4668", 1, "physics.acc-ph", "2013-09-18", "2013-09-19", "A. Pertica",
         "10.5170/cern-2013-002.237"),
        (NEW, "1610.08734", 3, "physics.acc-ph", "2016-10-27", "2018-05-10", "Yangmei Li",
         "10.1103/physrevaccelbeams.20.101301"),
        (NEW, "nucl-th/9910021", 3, "nucl-th", "1999-10-07", "2005-09-17", "A. N. Ivanov", None),
        (NEW_MISSING, "2201.13452", 1, "math.AP", "2022-01-31", "2022-02-01", "Hong-Ming Yin",
         None),
        (OLD, "hep-ph/9411242", 1, "hep-ph", "1994-11-08", "1994-11-08", "Raimo Vuopionperä",
         None),
        (OLD, "1706.01836", 2, "physics.chem-ph", "2017-06-06", "2017-09-24", "Yang Yang",
         "10.1063/1.4996038"),
        (OLD_MISSING, "2201.13452", 1, "math.AP", "2022-01-31", "2022-01-31", "Hong-Ming Yin",
         None),
    ],
)  # fmt: skip
def test_entries_of_both_formats(
    name, ident, version, category, published, updated, first_author, pub_doi
):
    record = records(name)[ident]
    assert record.source == "arxiv" and record.arxiv == ident
    assert record.doi == f"10.48550/arxiv.{ident}"
    assert (record.arxiv_version, record.arxiv_category) == (version, category)
    assert (record.published, record.updated, record.year) == (
        published,
        updated,
        int(published[:4]),
    )
    assert record.authors[0].name == first_author
    assert record.published_doi == pub_doi
    assert (record.type, record.venue, record.publisher) == ("preprint", "arXiv", "arXiv")
    assert record.url == f"https://arxiv.org/abs/{ident}"
    assert record.title and "\n" not in record.title and "  " not in record.title
    assert record.abstract and "\n" not in record.abstract
    (copy,) = record.locations
    assert (copy.url, copy.pdf_url) == (
        f"https://arxiv.org/abs/{ident}",
        f"https://arxiv.org/pdf/{ident}",
    )
    assert (copy.version, copy.host_type, copy.host_name) == (
        Version.SUBMITTED,
        "repository",
        "arXiv",
    )


def test_the_two_formats_give_the_same_paper():
    """2201.13452 in both recordings: wrapped title and summary, namespaces per element and
    rel/title on links (2025-08) read the same as the 2025-11 format."""
    new, old = records(NEW_MISSING)["2201.13452"], records(OLD_MISSING)["2201.13452"]
    assert (
        new.title
        == old.title
        == (
            "Asymptotic Analysis for a Nonlinear Reaction-Diffusion System Modeling an Infectious "
            "Disease"
        )
    )
    assert new.abstract == old.abstract
    assert new.authors == old.authors
    assert new.locations == old.locations


def test_journal_ref_and_published_doi():
    record = records(NEW)["2102.00018"]
    assert record.journal_ref == "Phys. Rev. D 103, 096005 (2021)"
    assert record.published_doi == "10.1103/physrevd.103.096005"
    assert records(NEW)["1205.6628"].authors[2].name == "Ulf-G. Meißner"


def test_latex_in_a_recorded_abstract_is_read():
    abstract = records(OLD)["hep-ph/9411242"].abstract
    assert "10^31 to 10^32" in abstract and "e^+e^--collider" in abstract
    assert "$" not in abstract
    assert "T ≈ 37 ^∘C" in records(OLD)["0806.3233"].abstract


@pytest.mark.parametrize(
    ("name", "count"),
    [(NEW_EMPTY, 0), (OLD_EMPTY, 0), (NEW_MISSING, 1), (OLD_MISSING, 1), (NEW, 10), (OLD, 10)],
)
def test_unknown_ids_give_no_paper(name, count):
    """New format: totalResults 0, no entry; old: empty <entry> elements, which are skipped."""
    assert len(arxiv.parse_feed(body(name))) == count


# -- fetch: the request, unknown ids, and a hostile body --------------------------------------


async def fetch_with(content: bytes | Exception, arxiv_id: str, status: int = 200, **kw):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(content, Exception):
            raise content
        return httpx.Response(
            status, content=content, headers={"Content-Type": "application/atom+xml"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        up = Upstream(client, "arxiv", "http://arxiv.test", FairLimiter(100), retries=0, **kw)
        return await arxiv.fetch(up, arxiv_id), seen


@pytest.mark.parametrize(
    ("name", "ident", "found"),
    [
        (NEW_MISSING, "2201.13452", True),
        (OLD_MISSING, "2201.13452", True),
        (NEW_MISSING, "2201.13455", False),  # asked in that request, omitted from the answer
        (OLD_MISSING, "2201.13453", False),  # asked, answered with an empty <entry>
        (NEW_EMPTY, "1201.56789", False),
        (OLD_EMPTY, "1201.56789", False),
        (NEW, "1309.4668", True),
        (NEW, "NUCL-EX/0408020", True),
    ],
)
async def test_fetch_finds_the_asked_paper_or_none(name, ident, found):
    record, seen = await fetch_with(body(name), ident)
    assert (record is not None) is found
    if found:
        assert record.arxiv == ident.lower()
    assert seen[0].url.path == "/api/query"
    assert dict(seen[0].url.params) == {"id_list": ident.lower()}


async def test_404_is_unknown():
    record, _ = await fetch_with(b"Not Found", "2201.13452", status=404)
    assert record is None


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE feed [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2201.13452v1</id>
<title>&d;</title></entry></feed>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE feed SYSTEM "file:///etc/passwd">
<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>"""
INTERNAL_ENTITY_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY t "Asymptotic">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/2201.13452v1</id>
<title>&t;</title></entry></feed>"""


def _many_entries() -> bytes:
    entry = recorded_entry(FIXTURES, "2201.13452")
    head = body(NEW_MISSING).split(b"<entry>")[0]
    return head + entry * (arxiv.MAX_ENTRIES + 1) + b"</feed>"


HOSTILE = {
    "billion laughs": BOMB,
    "external DTD": EXTERNAL,
    "one harmless entity": INTERNAL_ENTITY_ONLY,  # refused all the same: arXiv sends none
    "nested 10,000 deep": b"<feed>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</feed>",
    "too many entries": _many_entries(),
    "truncated": body(NEW_MISSING)[:700],
    "not XML": b'{"feed": "json"}',
    "HTML error page": b"<!DOCTYPE html><html><body>Service unavailable</body></html>",
    "empty": b"",
    "binary": os.urandom(512),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_bodies_are_the_sources_failure(name):
    with pytest.raises(SourceError) as info:
        await fetch_with(HOSTILE[name], "2201.13452")
    assert info.value.source == "arxiv"


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0"?><rss><channel/></rss>',  # well-formed, not Atom
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        b"<id>http://arxiv.org/abs/2201.13452v1</id></entry></feed>",  # the paper, no title
    ],
)
async def test_wrong_shapes_are_unexpected(content):
    with pytest.raises(SourceError, match=r"unexpected|malformed"):
        await fetch_with(content, "2201.13452")


def test_the_bomb_is_refused_before_expanding():
    with pytest.raises(arxiv.FeedError, match="DOCTYPE"):
        arxiv.parse_xml(BOMB)


# -- LaTeX --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("Jakub L\\'ala", "Jakub Lála"),  # acute
        ("\\'{E}cole", "École"),
        ("{\\'e}t{\\'e}", "été"),  # braces around the accent
        ("Gr\\`ece", "Grèce"),  # grave
        ('G\\"odel', "Gödel"),  # umlaut
        ('Schr\\"{o}dinger', "Schrödinger"),
        ("\\v{S}ediv\\'y", "Šedivý"),  # caron
        ("Dvo\\v{r}\\'ak", "Dvořák"),
        ("Gar\\c{c}on", "Garçon"),  # cedilla
        ("Espa\\~na", "España"),  # tilde
        ("\\~{n}", "ñ"),
        ('\\aa ngstr\\"om \\AA', "ångström Å"),  # ring
        ("\\r{u}", "ů"),
        ("\\k{a}\\k{e}", "ąę"),  # ogonek
        ('Ra\\"{\\i}s', "Raïs"),  # dotless i
        ("\\'{\\i}", "í"),
        ("Stra\\ss e", "Straße"),  # ß
        ("Bj\\o rn \\O", "Bjørn Ø"),  # ø
        ("\\ae\\AE", "æÆ"),  # æ
        ("\\L\\'od\\'z", "Łódź"),
        ("H\\^opital", "Hôpital"),
        ("Erd\\H{o}s", "Erdős"),
        ("{Bose}--{Einstein}", "Bose–Einstein"),  # braces and --
        ("``quoted''", "“quoted”"),
        ("$\\alpha$-helix", "α-helix"),  # math left readable
        ("$e^+e^-$ collider, $10^{31}$", "e^+e^- collider, 10^31"),
        ("$\\sim$10 GeV", "∼10 GeV"),
        ("\\textit{Drosophila} \\emph{in vivo}", "Drosophila in vivo"),
    ],
)
def test_latex_to_text(latex, text):
    assert arxiv.latex_to_text(latex) == text


@pytest.mark.parametrize(
    "plain",
    [
        "50% of cases, ~10 GeV, R&D",  # plain-text meanings kept, with markup elsewhere or not
        "costs $5 per sample",  # one dollar: not math
        "No markup at all: Jakub O'Donoghue",
    ],
)
def test_plain_text_meanings_survive(plain):
    assert arxiv.latex_to_text(plain) == plain
    assert arxiv.latex_to_text(plain + " \\'e") == plain + " é"


@pytest.mark.parametrize(
    "hostile",
    [
        "{" * 5_000 + "x" + "}" * 5_000,  # pylatexenc would hit the recursion limit
        "\\v{" * 3_000 + "a",
        "\\'e" * (arxiv.MAX_LATEX_CHARS // 3 + 1),  # longer than any real field
    ],
)
def test_hostile_latex_is_left_as_written(hostile):
    assert arxiv.latex_to_text(hostile) == hostile


def test_an_entry_decodes_within_its_budget():
    budget = arxiv._Budget(chars=10)
    assert budget.decode("\\'e") == "é"
    assert budget.decode('G\\"odel Escher Bach') == 'G\\"odel Escher Bach'  # budget spent


# -- licence of arXiv copies ---------------------------------------------------------------------


def test_arxiv_licence_urls_and_label():
    assert normalise_licence("http://arxiv.org/licenses/nonexclusive-distrib/1.0/") == "arxiv"
    assert normalise_licence("http://arxiv.org/licenses/assumed-1991-2003/") == "arxiv"
    assert normalise_licence("http://creativecommons.org/licenses/by/4.0/") == "cc-by"
    assert licence_label(ARXIV_LICENCE) == "free to read (arXiv licence)"
    assert arxiv_id_of_url("https://arxiv.org/pdf/2201.13452v1") == "2201.13452"
    assert arxiv_id_of_url("http://export.arxiv.org/abs/hep-th/9711200") == "hep-th/9711200"
    assert arxiv_id_of_url("https://example.org/abs/2201.13452") is None


@pytest.mark.parametrize(
    ("case", "locations", "statements", "licence", "source"),
    [
        ("arXiv's record only", records(NEW_MISSING)["2201.13452"].locations, (), "arxiv", "arxiv"),
        (
            "DataCite states CC BY",
            records(NEW_MISSING)["2201.13452"].locations,
            (LicenceStatement("cc-by", "https://creativecommons.org/licenses/by/4.0/legalcode", "vor"),),
            "cc-by",
            "datacite",
        ),
        ("no source lists the copy (Semantic Scholar only)", (), (), "arxiv", "arxiv"),
    ],
)  # fmt: skip
def test_an_arxiv_paper_is_always_free_to_read(case, locations, statements, licence, source):
    access = choose_access(
        doi="10.48550/arxiv.2201.13452", locations=locations, crossref_licences=statements
    )
    assert access.url == "https://arxiv.org/abs/2201.13452", case
    assert (access.licence, access.source, access.status) == (licence, source, "green"), case
    assert access.version == "submitted" and access.host_name == "arXiv"
    assert "Citation only" not in access.reason


def test_an_arxiv_copy_of_a_journal_article_is_free_to_read():
    """OpenAlex lists arXiv copies of published papers, often with no licence."""
    copy = Location(
        url="https://arxiv.org/abs/1610.08734",
        source="openalex",
        version=Version.SUBMITTED,
        host_type="repository",
        host_name="arXiv (Cornell University)",
    )
    access = choose_access(doi="10.1103/physrevaccelbeams.20.101301", locations=[copy])
    assert access.licence == "arxiv" and access.url == copy.url
    assert "free to read" in access.reason


# -- precedence: arXiv, DataCite, Semantic Scholar --------------------------------------------


def test_semantic_scholar_alone_never_makes_an_arxiv_preprint_a_journal_article():
    """The issue's example: arXiv:2312.07559 came out "Journal article", venue
    "ArXiv abs/2312.07559", "Citation only". The recorded Semantic Scholar record alone:"""
    s2 = semanticscholar.parse_paper(load("semanticscholar/arxiv-2312-07559-paperqa2.json"))
    assert (s2.venue, s2.volume, s2.type) == ("ArXiv", "abs/2312.07559", "article")
    work = merge({"s2": s2})
    assert (work.type, work.venue, work.volume) == ("preprint", "arXiv", None)
    assert work.arxiv == "2312.07559"
    assert work.access.licence == "arxiv" and work.access.url == "https://arxiv.org/abs/2312.07559"
    card = render_card(work)
    access = next(f.value for f in card.fields if f.name == "Access")
    assert "free to read (arXiv licence)" in access and "not openly licensed" not in access
    assert "Journal article" not in card.description and "abs/" not in card.description


def test_arxiv_wins_authors_titles_and_dates_over_semantic_scholar():
    """PaperQA: arXiv's entry (built from a recorded one, see ``paperqa_entry``) and the
    recorded Semantic Scholar record, whose first author is the misread "Jakub L'ala"."""
    feed = body(NEW_MISSING).replace(recorded_entry(FIXTURES, "2201.13452"), paperqa_entry())
    ours = arxiv.parse_feed(feed)[0]
    s2 = semanticscholar.parse_paper(load("semanticscholar/arxiv-2312-07559-paperqa2.json"))
    work = merge({"arxiv": ours, "s2": s2})
    assert work.authors[0].name == "Jakub Lála" and work.authors[0].family == "Lála"
    assert work.provenance["authors"] == "arxiv" and work.provenance["title"] == "arxiv"
    assert (work.type, work.venue, work.volume) == ("preprint", "arXiv", None)
    assert (work.published, work.updated, work.arxiv_version) == ("2023-12-08", "2023-12-14", 2)
    assert work.cited_by_count == 111  # Semantic Scholar still gives what arXiv does not
    assert work.provenance["cited_by_count"] == "s2"


def test_datacite_and_arxiv_together():
    """arXiv:1902.02534: the recorded DataCite record and an arXiv entry built from it."""
    feed = body(NEW_MISSING).replace(recorded_entry(FIXTURES, "2201.13452"), croci_entry())
    ours = arxiv.parse_feed(feed)[0]
    registrar = datacite.parse_doi(load("datacite/arxiv-1902-02534.json"))
    work = merge({"arxiv": ours, "datacite": registrar})
    # arXiv's title, its LaTeX "--" read; DataCite keeps it raw
    assert "--" in registrar.title
    assert work.title.startswith("Crowdsourcing open citations with CROCI – An analysis")
    # DataCite's structured names; arXiv's full first-version date where DataCite has a year
    assert work.provenance["authors"] == "datacite"
    assert (work.authors[0].given, work.authors[0].family) == ("Ivan", "Heibi")
    assert (work.year, work.published) == (2019, "2019-02-07")
    assert work.access.licence == "cc-by" and work.access.source == "datacite"
    assert work.access.version == "submitted" and work.access.status == "green"
    assert (work.arxiv, work.arxiv_version, work.arxiv_category) == ("1902.02534", 2, "cs.DL")


# -- PaperService and the card, every form of id -----------------------------------------------


@pytest.fixture
async def service(fixtures_dir, tmp_path):
    mock = MockUpstreams(fixtures_dir)
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    async with mock.client() as client:
        # arXiv's real limit (one request every 3 s) is tested below; here lookups follow
        # one another, so it is lifted.
        limits = {name: (1000.0, 1000, 100) for name in RATE_LIMITS}
        upstreams = build_upstreams(settings, client, rate_limits=limits)
        service = PaperService(upstreams, WorkCache(db))
        service.mock = mock  # type: ignore[attr-defined]
        yield service
        await service.drain()
    await db.close()


QUERIES = {
    # query: (arXiv id, version, first author, title start, category, published DOI)
    "2201.13452": ("2201.13452", 1, "Hong-Ming Yin", "Asymptotic Analysis", "math.AP", None),
    "arXiv:2201.13452v1": ("2201.13452", 1, "Hong-Ming Yin", "Asymptotic", "math.AP", None),
    "nucl-ex/0408020": ("nucl-ex/0408020", 1, "J. Arrington", "Two-photon", "nucl-ex", None),
    "arXiv:nucl-th/9910021v3": ("nucl-th/9910021", 3, "A. N. Ivanov", "Solar proton", "nucl-th",
                                None),
    "https://arxiv.org/abs/1309.4668v1": ("1309.4668", 1, "A. Pertica", "Electron cloud",
                                          "physics.acc-ph", "10.5170/cern-2013-002.237"),
    "https://arxiv.org/pdf/2102.00018v2": ("2102.00018", 2, "Rabah Abdul Khalek",
                                           "Self-consistent", "hep-ph",
                                           "10.1103/physrevd.103.096005"),
    "arxiv.org/abs/hep-ph/9411242": ("hep-ph/9411242", 1, "Raimo Vuopionperä", "Proton-ring",
                                     "hep-ph", None),  # only in the old-format recording
    "10.48550/arXiv.1610.08734": ("1610.08734", 3, "Yangmei Li", "High quality electron",
                                  "physics.acc-ph", "10.1103/physrevaccelbeams.20.101301"),
}  # fmt: skip


@pytest.mark.parametrize("query", sorted(QUERIES))
async def test_every_form_of_arxiv_id_gives_the_preprint(service, query):
    ident, version, first, title, category, pub_doi = QUERIES[query]
    work = await service.lookup(parse_identifier(query))
    assert work.doi == f"10.48550/arxiv.{ident}" and work.arxiv == ident
    assert work.title.startswith(title) and work.authors[0].name == first
    assert (work.type, work.venue, work.arxiv_version, work.arxiv_category) == (
        "preprint",
        "arXiv",
        version,
        category,
    )
    assert work.published_doi == pub_doi
    assert work.access.licence == "arxiv" and work.access.status == "green"
    assert work.access.url == f"https://arxiv.org/abs/{ident}"
    assert work.sources == ("arxiv",)  # nobody else knows these in the recordings
    ids = next(f.value for f in render_card(work).fields if f.name == "Identifiers")
    assert f"(https://arxiv.org/abs/{ident}v{version})" in ids and category in ids
    text = render_text(work)
    assert f"arXiv:{ident}v{version} [{category}]: https://arxiv.org/abs/{ident}v{version}" in text
    assert "free to read (arXiv licence)" in text
    if pub_doi:
        assert f"Published as doi:{pub_doi}" in text
        assert f"(https://doi.org/{pub_doi})" in render_card(work).description


async def test_a_datacite_known_preprint_with_arxiv_and_the_licence_datacite_states(service):
    service.mock.arxiv.add(croci_entry())  # built from recorded records, see croci_entry
    work = await service.lookup(parse_identifier("arXiv:1902.02534"))
    assert set(work.sources) == {"arxiv", "datacite"}
    assert work.access.licence == "cc-by" and "via DataCite" in render_text(work)
    assert work.title.startswith("Crowdsourcing open citations with CROCI – An analysis")


async def test_the_issues_example_with_arxiv_answering(service):
    service.mock.arxiv.add(paperqa_entry())  # built from a recorded entry, see paperqa_entry
    work = await service.lookup(parse_identifier("arXiv:2312.07559"))
    assert (work.type, work.venue, work.volume) == ("preprint", "arXiv", None)
    assert work.authors[0].name == "Jakub Lála"
    assert work.access.licence == "arxiv" and "Citation only" not in render_text(work)
    assert set(work.sources) == {"arxiv", "s2"}


async def test_an_unknown_arxiv_id_is_not_found(service):
    with pytest.raises(NotFound, match=r"2201\.13455"):
        await service.lookup(parse_identifier("arXiv:2201.13455"))
    assert service.mock.calls["arxiv"] == 1


async def test_asking_for_another_version_says_which_one_the_card_shows(service):
    work = await service.lookup(parse_identifier("arXiv:1610.08734v1"))
    assert work.arxiv_version == 3
    assert any("v1" in n and "latest version, v3" in n for n in work.notes)
    same = await service.lookup(parse_identifier("arXiv:1610.08734v3"))
    assert not any("latest version" in n for n in same.notes)


async def test_arxiv_is_late_when_datacite_knows_the_preprint(service):
    """arXiv's queue never holds a card DataCite can answer; its answer refreshes the cache."""
    service.mock.arxiv.add(croci_entry())
    service.mock.latency = {"arxiv": 0.3}
    service.late_grace = 0.01
    work = await service.lookup(parse_identifier("arXiv:1902.02534"))
    assert "arxiv" not in work.sources and work.provenance["title"] == "datacite"
    settled = await service.lookup(parse_identifier("arXiv:1902.02534"), settled=True)
    assert any("arXiv is slow" in n for n in settled.notes)
    await service.drain()
    again = await service.lookup(parse_identifier("arXiv:1902.02534"))
    assert "arxiv" in again.sources and again.arxiv_version == 2


async def test_arxiv_alone_is_waited_for(service):
    service.mock.latency = {"arxiv": 0.3}
    service.late_grace = service.late_unknown = 0.01
    work = await service.lookup(parse_identifier("2201.13452"))
    assert work.sources == ("arxiv",)


async def test_arxiv_alone_and_too_slow_is_not_found_for_now(service):
    service.mock.latency = {"arxiv": 0.5}
    service.late_grace = service.late_unknown = service.arxiv_unknown = 0.05
    with pytest.raises(NotFound, match="arXiv has not answered"):
        await service.lookup(parse_identifier("2201.13452"))
    await service.drain()  # the answer arrives in the background and is cached
    work = await service.lookup(parse_identifier("2201.13452"))
    assert work.sources == ("arxiv",) and service.mock.calls["arxiv"] == 1


async def test_bulk_work_asks_arxiv_only_when_nobody_else_knows(service):
    service.mock.arxiv.add(croci_entry())
    known = await service.lookup(parse_identifier("arXiv:1902.02534"), extras=False)
    assert "arxiv" not in known.sources and service.mock.calls["arxiv"] == 0
    only = await service.lookup(parse_identifier("arXiv:2201.13452"), extras=False)
    assert only.sources == ("arxiv",) and service.mock.calls["arxiv"] == 1


async def test_arxiv_rate_limit_is_its_terms_of_use():
    assert RATE_LIMITS["arxiv"] == (1 / 3, 1, 1)  # one request every 3 s, one connection
    rate, burst, concurrency = RATE_LIMITS["arxiv"]
    limiter = FairLimiter(rate, burst=burst, concurrency=concurrency, clock=lambda: 0.0)
    await limiter.acquire()
    limiter.release()
    loop = asyncio.get_running_loop()
    before = loop.time()
    second = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.01)
    after = loop.time()
    assert not second.done() and limiter.waiting() == 1
    assert limiter._timer is not None  # the next token is 3 s after the timer was set
    assert before + 3.0 <= limiter._timer.when() <= after + 3.0
    second.cancel()


async def test_a_queue_at_arxiv_does_not_hold_a_card_datacite_answers(fixtures_dir, tmp_path):
    """With arXiv's real limit, two lookups in a row: the second card does not wait 3 s."""
    mock = MockUpstreams(fixtures_dir)
    mock.arxiv.add(croci_entry())
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    try:
        async with mock.client() as client:
            limits = {n: (1000.0, 1000, 100) for n in RATE_LIMITS if n != "arxiv"}
            service = PaperService(
                build_upstreams(settings, client, rate_limits=limits), WorkCache(db)
            )
            await service.lookup(parse_identifier("2311.16162"))  # takes arXiv's one token
            work = await service.lookup(parse_identifier("1902.02534"))
            # the card did not wait for arXiv's next token, 3 s away: arXiv was not asked again
            assert mock.calls["arxiv"] == 1 and "arxiv" not in work.sources
            for task in list(service._background):
                task.cancel()
            await asyncio.gather(*service._background, return_exceptions=True)
    finally:
        await db.close()


# -- the real CLI against the replay server --------------------------------------------------


async def run_cli(server: UpstreamServer, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "DISCORD_", "S2_"))}
    env.update(
        server.env,
        LITBOT_DB=str(tmp_path / "cli.sqlite3"),
        LITBOT_HTTP_RETRIES="0",
        LITBOT_HTTP_TIMEOUT="2",
        PYTHONPATH=str(REPO),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


CLI_QUERIES = (
    "2201.13452",
    "nucl-ex/0408020",
    "arXiv:1610.08734v3",
    "https://arxiv.org/pdf/1309.4668v1",
)


async def test_litbot_paper_through_the_real_cli(tmp_path):
    """Ids only arXiv knows in the recordings: arXiv's answer is the card."""
    folders = [tmp_path / str(i) for i in range(len(CLI_QUERIES))]  # one cold cache each
    for folder in folders:
        folder.mkdir()
    async with UpstreamServer(MockUpstreams(FIXTURES)) as server:
        runs = await asyncio.gather(
            *(
                run_cli(server, f, "paper", q, "--json")
                for f, q in zip(folders, CLI_QUERIES, strict=True)
            )
        )
        assert server.unmodelled == []
    for query, (code, out, err) in zip(CLI_QUERIES, runs, strict=True):
        assert code == 0, err
        data = json.loads(out)
        ident = parse_identifier(query).value
        assert data["arxiv"] == ident and data["doi"] == f"10.48550/arxiv.{ident}"
        assert (data["type"], data["venue"]) == ("preprint", "arXiv")
        assert data["access"]["licence"] == "arxiv" and data["access"]["status"] == "green"
        assert data["authors"] and data["arxiv_version"] and data["arxiv_category"]
        assert data["provenance"]["title"] == "arxiv"
        assert Work.from_dict(data).to_dict() == data  # the new fields round-trip


async def test_the_issues_example_through_the_real_cli(tmp_path):
    world = MockUpstreams(FIXTURES)
    world.arxiv.add(paperqa_entry())
    async with UpstreamServer(world) as server:
        code, out, err = await run_cli(server, tmp_path, "paper", "arXiv:2312.07559")
    assert code == 0, err
    assert "arXiv · 2023 · Preprint" in out and "Journal article" not in out
    assert "ArXiv abs/" not in out and "Citation only" not in out
    assert "free to read (arXiv licence)" in out and "Jakub Lála" in out
