"""Each source's parser on the real recorded responses in ../shared/fixtures."""

from __future__ import annotations

import json
import re

import pytest

from bot.models import Version
from bot.sources import crossref, datacite, openalex, semanticscholar, unpaywall
from tests.conftest import FIXTURES, load

TAG_OR_ENTITY = re.compile(r"<[a-zA-Z/][^>]*>|&(?:[a-z]+|#\d+|#x[0-9a-f]+);", re.IGNORECASE)


def bodies(folder: str, keep) -> list[str]:
    if not (FIXTURES / folder).is_dir():
        return []
    out = []
    for path in sorted((FIXTURES / folder).glob("*.json")):
        data = json.loads(path.read_text())
        if keep(data):
            out.append(f"{folder}/{path.name}")
    return out


def check_clean(record) -> None:
    for text in (
        record.title,
        record.venue,
        record.abstract,
        *(a.name for a in record.authors or ()),
    ):
        if text:
            assert not TAG_OR_ENTITY.search(text), text
            assert "\ufffd" not in text
    for author in record.authors or ():
        assert author.name and (author.family or author.given is None)


@pytest.mark.parametrize(
    "name", bodies("openalex", lambda d: isinstance(d, dict) and "authorships" in d)
)
def test_every_openalex_work_parses_clean(name):
    record = openalex.parse_work(load(name))
    assert record.doi and record.source == "openalex"
    check_clean(record)


@pytest.mark.parametrize(
    "name", bodies("openalex", lambda d: isinstance(d, dict) and "authorships" in d)
)
def test_the_fields_a_work_is_asked_for_are_all_the_parser_reads(name):
    """A work is asked for with ``select=WORK_FIELDS`` (root fields only, as OpenAlex's select
    takes them): the record parsed from those fields is the one the whole record gives."""
    data = load(name)
    selected = {k: data[k] for k in openalex.WORK_FIELDS.split(",") if k in data}
    assert openalex.parse_work(selected) == openalex.parse_work(data)


@pytest.mark.parametrize(
    "name",
    bodies("crossref", lambda d: d.get("message-type") == "work")
    + bodies("crossref-corpus", lambda d: d.get("message-type") == "work"),
)
def test_every_crossref_work_parses_clean(name):
    data = load(name)
    record = crossref.parse_work(data)
    assert record.doi == data["message"]["DOI"].lower()
    assert record.title or not any(data["message"].get("title") or []), name
    check_clean(record)
    assert len(record.authors) == len(
        [
            a
            for a in data["message"].get("author", [])
            if a.get("family") or a.get("given") or a.get("name")
        ]
    )


@pytest.mark.parametrize(
    "name", bodies("unpaywall", lambda d: isinstance(d, dict) and "oa_status" in d)
)
def test_every_unpaywall_object_parses(name):
    record = unpaywall.parse_work(load(name))
    assert record.oa_status in {"gold", "green", "hybrid", "bronze", "closed"}
    assert all(loc.url.startswith("http") for loc in record.locations)


@pytest.mark.parametrize(
    "name", bodies("semanticscholar", lambda d: isinstance(d, dict) and "paperId" in d)
)
def test_every_semantic_scholar_paper_parses(name):
    record = semanticscholar.parse_paper(load(name))
    check_clean(record)
    assert all(loc.url for loc in record.locations)  # closed papers' "" url is not a location


@pytest.mark.parametrize("name", bodies("datacite", lambda d: "data" in d))
def test_every_datacite_record_parses(name):
    record = datacite.parse_doi(load(name))
    assert record.doi and record.title
    check_clean(record)


def test_openalex_fields():
    r = openalex.parse_work(load("openalex/plos-one-tpi-deficiency.json"))
    assert r.title.startswith("Triose Phosphate Isomerase Deficiency")
    assert [a.family for a in r.authors][:2] == ["Ralser", "Heeren"]
    assert (r.year, r.venue, r.pages, r.type) == (2006, "PLoS ONE", "e30", "article")
    assert r.pmid == "17183658" and r.openalex_id.startswith("W")
    assert r.oa_status == "gold" and r.best_location.licence == "cc-by"
    assert r.best_location.version is Version.PUBLISHED
    assert r.abstract.startswith("Triosephosphate isomerase (TPI) deficiency")


def test_openalex_non_ascii_and_cjk_names():
    acm = openalex.parse_work(load("openalex/acm-sigmod-2021.json"))
    assert "Martín Farach-Colton" in [a.name for a in acm.authors]  # dotless i + U+0301 repaired
    jp = openalex.parse_work(load("openalex/japanese-jspfsm.json"))
    assert [(a.family, a.given) for a in jp.authors] == [("宮地", "元彦"), ("山元", "健太")]


def test_openalex_sici_doi_and_closed_access():
    r = openalex.parse_work(load("openalex/esa-ecology-sici-doi.json"))
    assert r.doi == "10.1890/0012-9658(2006)87[2832:tiopma]2.0.co;2"
    assert r.oa_status == "closed" and r.best_location is None


def test_openalex_without_authors():
    r = openalex.parse_work(load("openalex/reactions-weekly-2023.json"))
    assert r.authors == ()


def test_crossref_fields_and_licences():
    r = crossref.parse_work(load("crossref/addr-2015.json"))
    assert [a.family for a in r.authors] == ["Geary", "Norris", "Yu", "Bennett"]
    assert (r.volume, r.pages, r.year, r.published) == ("87", "46-51", 2015, "2015-06")
    kinds = {(lic.licence, lic.content_version) for lic in r.licences}
    assert (None, "tdm") in kinds  # the Elsevier TDM licence is not a reuse licence
    assert ("cc-by-nc-nd", "vor") in kinds


def test_crossref_jats_abstract_and_markup_title():
    r = crossref.parse_work(load("crossref/biorxiv-2020-12-01-406702.json"))
    assert r.title.startswith(
        "Identification of a novel cationic glycolipid in Streptococcus agalactiae that"
    )
    assert r.abstract.startswith("Bacterial membrane lipids are critical")
    assert r.type == "preprint"


def test_crossref_non_ascii_author():
    r = crossref.parse_work(load("crossref/biorxiv-2020-12-01-406702.json"))
    assert any(a.name == "Jéssica da C. Mendonça" or a.family == "Mendonça" for a in r.authors)


def test_unpaywall_bronze_has_no_licence():
    r = unpaywall.parse_work(load("unpaywall/pnas-2014-1414271111.json"))
    assert r.oa_status == "bronze" and r.best_location.licence is None
    assert r.best_location.host_type == "publisher"


def test_semantic_scholar_tldr_and_licence():
    turing = semanticscholar.parse_paper(
        load("semanticscholar/turing-1950-full-fields-with-tldr.json")
    )
    assert turing.tldr.startswith("If the meaning of the words “machine” and “think”")
    assert turing.doi == "10.1093/mind/lix.236.433"
    addr = semanticscholar.parse_paper(load("semanticscholar/addr-2015.json"))
    assert addr.locations[0].licence == "cc-by-nc-nd" and addr.pages == "46-51"
    closed = semanticscholar.parse_paper(load("semanticscholar/kluwer-1999-a1007154515475.json"))
    assert closed.locations == ()


def test_datacite_organisation_author_and_arxiv():
    org = datacite.parse_doi(load("datacite/harvard-dataverse.json"))
    assert org.authors[0].is_organisation
    arx = datacite.parse_doi(load("datacite/arxiv-2311-16162.json"))
    assert arx.arxiv == "2311.16162" and arx.type == "preprint"
    assert arx.locations[0].licence == "cc-by"
