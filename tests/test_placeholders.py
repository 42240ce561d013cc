"""Placeholders and unknowns (issue "Metadata truth", part 4), on recorded real records.

A placeholder ("null", "n/a", "-", "[s.n.]") is never a value; a count from a source that does
not count is unknown, not zero; the year comes only from publication dates, with its source and
field recorded. Cases marked SYNTHETIC take a real record and change the one field named.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any

import pytest

from bot.bibio import parse_bibtex, parse_ris
from bot.citations import to_bibtex, to_csl, to_csl_json, to_ris
from bot.merge import merge
from bot.models import Author, SourceRecord, Work
from bot.placeholders import is_placeholder, without_placeholders
from bot.sources import _common as c
from bot.sources import crossref, datacite, openalex, semanticscholar, unpaywall
from bot.ui.cards import render_card, venue_line
from tests.conftest import load

pytestmark = pytest.mark.usefixtures("fixtures_dir")

KSDT = "crossref-corpus/10_21326_ksdt_2008_18_018.json"  # "volume": "null" ("Forum null(18)")
IMAJI = "crossref-corpus/10_21831_imaji_v4i1_6702.json"  # author family name "-"
SPRINGER_VS = "crossref-corpus/10_1007_978_3_531_91346_9_6.json"  # issued [[null]], created 2009
PHYSIOL_PLANT = "crossref-corpus/10_1046_j_1399543x_2000_010407_x.json"  # print 2000, online 2008


def cr(relative: str, **changes: Any) -> SourceRecord:
    """A recorded Crossref record, with ``changes`` applied to its message (SYNTHETIC if any);
    a value of ``...`` removes the key."""
    data = copy.deepcopy(load(relative))
    for key, value in changes.items():
        if value is ...:
            data["message"].pop(key, None)
        else:
            data["message"][key] = value
    return crossref.parse_work(data)


def card_text(work: Work) -> str:
    embed = render_card(work)
    return "\n".join(
        [embed.title or "", embed.description or ""]
        + [f"{f.name} {f.value}" for f in embed.fields]
        + [embed.footer.text or ""]
    )


# -- the predicate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("null", "text", True),
        ("NULL", "text", True),
        ("None", "text", True),
        ("none", "text", True),
        ("n/a", "text", True),
        ("N/A", "text", True),
        (" n / a ", "text", True),
        ("#N/A", "text", True),
        ("NA", "text", True),  # R's missing value; no journal numbers a volume "NA"
        ("NaN", "text", True),
        ("nil", "text", True),
        ("undefined", "text", True),
        ("Unknown", "text", True),
        ("-", "text", True),
        ("--", "text", True),
        ("—", "text", True),
        ("?", "text", True),
        ("...", "text", True),
        ("[s.n.]", "text", True),
        ("s. n.", "text", True),
        ("[s.l.]", "text", True),
        ("(null)", "text", True),
        ("", "text", True),
        ("   ", "text", True),
        # real values
        ("0", "text", False),
        ("e30", "text", False),
        ("S1", "text", False),
        ("Suppl 1", "text", False),
        ("None of the above", "text", False),  # whole fields only
        ("Null hypothesis testing", "text", False),
        ("Nature", "text", False),
        ("Na", "name", False),  # Na Lei, 10.1016/j.eng.2019.09.010
        ("NA", "name", False),
        ("Nil", "name", False),
        ("Nan", "name", False),
        ("null", "name", True),
        ("-", "name", True),
        ("Unknown", "name", True),
        ("宮地", "name", False),
        ("na", "language", False),  # ISO 639-1 Nauruan
        ("und", "language", True),  # ISO 639-2 "undetermined"
        ("en", "language", False),
    ],
)
def test_is_placeholder(text, kind, expected):
    assert is_placeholder(text, kind) is expected


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("null", "text", None),
        ("  87 ", "text", "87"),
        (87, "text", "87"),
        (True, "text", None),
        (["87"], "text", None),
        ("Na", "name", "Na"),
        ("n/a", "name", None),
        ("und", "language", None),
    ],
)
def test_as_str_is_the_one_reader(value, kind, expected):
    assert c.as_str(value, kind) == expected


# -- Crossref: placeholders in real records ----------------------------------------------------


def test_crossref_null_volume_is_no_volume():
    """The reported record: Crossref says ``"volume": "null"``; the card said "Forum null(18)"."""
    record = cr(KSDT)
    assert (record.venue, record.volume, record.issue, record.pages) == (
        "Journal of Korea Design Forum",
        None,
        "18",
        "199-207",
    )
    work = merge({"crossref": record})
    assert (
        venue_line(work)
        == "Journal of Korea Design Forum, no. 18: 199-207 · 2008 · Journal article"
    )
    assert "null" not in card_text(work).casefold()
    bib = to_bibtex([work])
    assert "volume" not in bib and "number = {18}" in bib
    assert "VL  -" not in to_ris([work]) and "IS  - 18" in to_ris([work])
    assert "volume" not in to_csl(work) and to_csl(work)["issue"] == "18"


def test_crossref_dash_family_name_is_a_single_name():
    record = cr(IMAJI)
    assert record.authors[0] == Author(name="Sumaryadi", family="Sumaryadi", given=None)
    bib = to_bibtex([merge({"crossref": record})])
    assert "author = {Sumaryadi}" in bib and "-}" not in bib


@pytest.mark.parametrize(
    "name",
    ["crossref-corpus/10_1016_j_eng_2019_09_010.json", "crossref-corpus/10_7717_peerj_4188.json"],
)
def test_crossref_given_name_na_is_a_name(name):
    """Real authors whose given name is "Na": NA is a placeholder in a volume, not in a name."""
    first = cr(name).authors[0]
    assert first.given == "Na" and first.name.startswith("Na ")


# SYNTHETIC: one real record (addr-2015) with one scalar field replaced by a placeholder; the
# parsed record must equal the one with that field removed.
CROSSREF_FIELDS = [
    ("volume", "null"),
    ("volume", "N/A"),
    ("issue", "-"),
    ("page", "n/a"),
    ("publisher", "[s.n.]"),
    ("publisher", "Unknown"),
    ("container-title", ["null"]),
    ("language", "und"),
    ("ISSN", ["—"]),
]


@pytest.mark.parametrize(("key", "value"), CROSSREF_FIELDS)
def test_crossref_placeholder_is_absence(key, value):
    assert cr("crossref/addr-2015.json", **{key: value}) == cr(
        "crossref/addr-2015.json", **{key: ...}
    )


@pytest.mark.parametrize(("part", "value"), [("given", "null"), ("family", "—"), ("given", "?")])
def test_crossref_placeholder_name_part_is_absence(part, value):
    data = copy.deepcopy(load("crossref/addr-2015.json"))
    with_placeholder, without = copy.deepcopy(data), copy.deepcopy(data)
    with_placeholder["message"]["author"][0][part] = value
    without["message"]["author"][0].pop(part)
    assert crossref.parse_work(with_placeholder).authors == crossref.parse_work(without).authors


# -- Crossref: the year comes from publication dates only --------------------------------------

EMPTY_ISSUED = [
    # real records whose issued is [[null]]: (file, created year, deposited year)
    (SPRINGER_VS, 2009, 2023),
    ("crossref-corpus/10_31390_gradschool_theses_6125.json", 2025, 2025),
    ("crossref/igi-les2-affiliation.json", 2015, 2015),
    ("crossref/uq-dissertation.json", 2020, 2020),
    ("crossref/plos-figure-component.json", 2015, 2018),  # a figure of a 2006 PLOS Med paper
    ("crossref/journal-level-doi-issn-1442-9993.json", 2010, 2010),
]


@pytest.mark.parametrize(("name", "created", "deposited"), EMPTY_ISSUED)
def test_crossref_empty_issued_gives_no_year(name, created, deposited):
    message = load(name)["message"]
    assert message["issued"] == {"date-parts": [[None]]}
    assert message["created"]["date-parts"][0][0] == created
    assert message["deposited"]["date-parts"][0][0] == deposited
    record = crossref.parse_work(load(name))
    assert (record.year, record.published, record.date_field) == (None, None, None)
    work = merge({"crossref": record})
    assert work.year is None and "year" not in work.provenance
    assert "year = " not in to_bibtex([work]) and "PY  -" not in to_ris([work])
    assert "issued" not in to_csl(work)


def test_deposit_year_is_not_the_publication_year():
    """10.1007/978-3-531-91346-9_6: issued [[null]], created 2009, deposited 2023. The old parser
    fell through to ``created`` and called it a 2009 work; it now has no year rather than a
    deposit year, and the card and exports show none."""
    work = merge({"crossref": cr(SPRINGER_VS)})
    assert work.year is None and work.date_field is None
    assert not re.search(r"\b(2009|2023)\b", venue_line(work))
    assert "year" not in to_bibtex([work]) and "2009" not in to_csl_json([work])


DATE_ORDER = [
    # (case, file, changes to the message, year, published, field)
    (
        "real: issued wins over a later print date",
        "crossref-corpus/10_1111_2041_210x_12469.json",
        {},
        2015,
        "2015-10-19",
        "issued",
    ),
    ("real: issued = print, online 8 years later", PHYSIOL_PLANT, {}, 2000, "2000-12", "issued"),
    (
        "real: issued [[2004]], print 2005",
        "crossref-corpus/10_1002_mmce_20056.json",
        {},
        2004,
        "2004",
        "issued",
    ),
    (
        "SYNTHETIC: issued [[null]], published kept",
        PHYSIOL_PLANT,
        {"issued": {"date-parts": [[None]]}},
        2000,
        "2000-12",
        "published",
    ),
    (
        "SYNTHETIC: no issued/published: earlier of print and online",
        PHYSIOL_PLANT,
        {"issued": ..., "published": ...},
        2000,
        "2000-12",
        "published-print",
    ),
    (
        "SYNTHETIC: only online left",
        PHYSIOL_PLANT,
        {"issued": ..., "published": ..., "published-print": ...},
        2008,
        "2008-10-09",
        "published-online",
    ),
    (
        "SYNTHETIC: online earlier than print",
        "crossref-corpus/10_1111_jai_12009.json",
        {"issued": ..., "published": ...},
        2012,
        "2012-08-29",
        "published-online",
    ),
    (
        "SYNTHETIC: no publication date; created 2003 is not used",
        PHYSIOL_PLANT,
        {"issued": ..., "published": ..., "published-print": ..., "published-online": ...},
        None,
        None,
        None,
    ),
    (
        "SYNTHETIC: [[2000, null, 5]] is 2000",
        PHYSIOL_PLANT,
        {"issued": {"date-parts": [[2000, None, 5]]}},
        2000,
        "2000",
        "issued",
    ),
    (
        "SYNTHETIC: [[0]] is no year",
        PHYSIOL_PLANT,
        {"issued": {"date-parts": [[0]]}, "published": ...},
        2000,
        "2000-12",
        "published-print",
    ),
]


@pytest.mark.parametrize(
    ("case", "name", "changes", "year", "published", "field"),
    DATE_ORDER,
    ids=[d[0] for d in DATE_ORDER],
)
def test_crossref_date_order(case, name, changes, year, published, field):
    record = cr(name, **changes)
    assert (record.year, record.published, record.date_field) == (year, published, field)
    work = merge({"crossref": record})
    assert work.year == year
    assert work.date_field == (f"crossref:{field}" if field else None)
    if year:
        assert work.provenance["year"] == work.provenance["published"] == "crossref"


# -- DataCite: counts that are not counts, and dates ------------------------------------------

DATACITE = [
    # (file, citationCount → cited_by_count, referenceCount → references_count, year, published, field)
    ("arxiv-1902-02534", None, None, 2019, "2019-02", "dates.Available"),  # raw 0, 0
    ("arxiv-2311-16162", None, None, 2023, "2023-11", "dates.Available"),  # raw 0, 0
    ("zenodo-1196821", None, 2, 2018, "2018-03-14", "dates.Issued"),  # raw 0, 2
    ("zenodo-48440", None, None, 2016, "2016-03-27", "dates.Issued"),  # raw 0, 0
    ("harvard-dataverse", None, None, 2017, "2017-09-30", "dates.Available"),
    ("knb-software", None, None, 2022, "2022", "dates.Issued"),  # Created 2022-06-10 unused
    ("lipics-tqc-2013-93", None, None, 2013, "2013-11-13", "dates.Available"),
    ("gfz-journal-article", None, None, 1989, "1989-01-01", "dates.Issued"),
    ("figshare-1449060", 1, 1, 2020, "2020", "dates.Issued"),  # Created 2015-06-14 unused
    ("dryad-8515", 1, 1, 2011, "2011-02-01", "dates.Issued"),
    ("pangaea-836178", 24, None, 2014, "2014", "dates.Issued"),  # raw 24, 0
]


@pytest.mark.parametrize(("name", "cited", "refs", "year", "published", "field"), DATACITE)
def test_datacite_counts_and_dates(name, cited, refs, year, published, field):
    record = datacite.parse_doi(load(f"datacite/{name}.json"))
    assert (record.cited_by_count, record.references_count) == (cited, refs)
    assert (record.year, record.published, record.date_field) == (year, published, field)


@pytest.mark.parametrize("name", ["arxiv-1902-02534", "arxiv-2311-16162", "zenodo-48440"])
def test_datacite_zero_is_not_shown_as_zero_citations(name):
    raw = load(f"datacite/{name}.json")["data"]["attributes"]
    assert raw["citationCount"] == 0
    work = merge({"datacite": datacite.parse_doi(load(f"datacite/{name}.json"))})
    assert work.cited_by_count is None and "cited_by_count" not in work.provenance
    text = card_text(work)
    assert "citations (" not in text and "0 citations" not in text


def test_datacite_positive_count_is_kept_and_credited():
    work = merge({"datacite": datacite.parse_doi(load("datacite/pangaea-836178.json"))})
    assert work.cited_by_count == 24 and "24 citations (DataCite)" in card_text(work)


def test_datacite_without_publication_year_uses_issued():
    """SYNTHETIC: zenodo-48440 without publicationYear."""
    data = copy.deepcopy(load("datacite/zenodo-48440.json"))
    del data["data"]["attributes"]["publicationYear"]
    record = datacite.parse_doi(data)
    assert (record.year, record.published, record.date_field) == (
        2016,
        "2016-03-27",
        "dates.Issued",
    )


def test_datacite_issued_date_in_another_year_is_not_used():
    """SYNTHETIC: figshare-1449060 with its Issued date moved to 2015 (publicationYear 2020)."""
    data = copy.deepcopy(load("datacite/figshare-1449060.json"))
    for item in data["data"]["attributes"]["dates"]:
        if item["dateType"] == "Issued":
            item["date"] = "2015-06-14"
    record = datacite.parse_doi(data)
    assert (record.year, record.published, record.date_field) == (2020, "2020", "publicationYear")


@pytest.mark.parametrize(
    ("path", "value", "field", "expected"),
    [
        (("publisher",), "(:unav)", "publisher", None),  # DataCite's "value unavailable"
        (("publisher",), "[s.n.]", "publisher", None),
        (("language",), "und", "language", None),
        (("container", "title"), "(:tba)", "venue", None),
        (("container", "volume"), "null", "volume", None),
        (("container", "issue"), "N/A", "issue", None),
        (("container", "firstPage"), "-", "pages", None),  # a last page alone is no range
    ],
)
def test_datacite_placeholders(path, value, field, expected):
    """SYNTHETIC: gfz-journal-article (volume 7, issue 7, pages 181-186) with one field replaced."""
    data = copy.deepcopy(load("datacite/gfz-journal-article.json"))
    where = data["data"]["attributes"]
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    assert getattr(datacite.parse_doi(data), field) == expected


def test_datacite_container_pages():
    record = datacite.parse_doi(load("datacite/gfz-journal-article.json"))
    assert (record.venue, record.volume, record.issue, record.pages) == (
        "Die Geowissenschaften",
        "7",
        "7",
        "181-186",
    )


# -- OpenAlex, Semantic Scholar, Unpaywall -----------------------------------------------------


def test_openalex_date_and_provenance():
    record = openalex.parse_work(load("openalex/plos-one-tpi-deficiency.json"))
    assert (record.year, record.published, record.date_field) == (
        2006,
        "2006-12-20",
        "publication_date",
    )


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("biblio", "volume"), "null", "volume"),
        (("biblio", "issue"), "N/A", "issue"),
        (("biblio", "first_page"), "-", "pages"),
        (("primary_location", "source", "display_name"), "unknown", "venue"),
        (("primary_location", "source", "host_organization_name"), "[s.n.]", "publisher"),
        (("language",), "und", "language"),
        (("publication_date",), "null", "published"),
    ],
)
def test_openalex_placeholders(path, value, field):
    """SYNTHETIC: plos-one-tpi-deficiency with one field replaced."""
    data = copy.deepcopy(load("openalex/plos-one-tpi-deficiency.json"))
    where = data
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    record = openalex.parse_work(data)
    assert getattr(record, field) is None  # first_page "-": a last page alone is no range
    if field == "published":  # the year stands alone, from publication_year
        assert (record.year, record.date_field) == (2006, "publication_year")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("journal", "volume"), "null", "volume"),
        (("journal", "pages"), "n/a", "pages"),
        (("journal", "name"), "None", "venue"),
    ],
)
def test_semantic_scholar_placeholders(path, value, field):
    """SYNTHETIC: S2's addr-2015 with one field replaced (venue falls back to ``venue``)."""
    data = copy.deepcopy(load("semanticscholar/addr-2015.json"))
    data[path[0]][path[1]] = value
    record = semanticscholar.parse_paper(data)
    expected = "Advanced Drug Delivery Reviews" if field == "venue" else None
    assert getattr(record, field) == expected
    assert (record.year, record.published, record.date_field) == (
        2015,
        "2015-06-29",
        "publicationDate",
    )
    assert record.cited_by_count == 689


def test_semantic_scholar_year_and_date_never_disagree():
    """SYNTHETIC: S2's addr-2015 with publicationDate in another year than ``year``."""
    data = copy.deepcopy(load("semanticscholar/addr-2015.json"))
    data["publicationDate"] = "2014-12-30"
    record = semanticscholar.parse_paper(data)
    assert (record.year, record.published, record.date_field) == (2015, None, "year")


@pytest.mark.parametrize(("key", "value"), [("journal_name", "null"), ("publisher", "unknown")])
def test_unpaywall_placeholders(key, value):
    """SYNTHETIC: Unpaywall's addr-2015 with one field replaced. Unpaywall has no counts."""
    data = copy.deepcopy(load("unpaywall/addr-2015.json"))
    data[key] = value
    record = unpaywall.parse_work(data)
    assert getattr(record, {"journal_name": "venue"}.get(key, key)) is None
    assert record.cited_by_count is None and record.references_count is None
    assert (record.year, record.published, record.date_field) == (
        2015,
        "2015-02-07",
        "published_date",
    )


# -- merge: one source for year and date, recorded -----------------------------------------------


def test_merge_takes_year_and_date_from_one_source():
    """addr-2015 from four sources: Crossref 2015-06, S2 2015-06-29, Unpaywall 2015-02-07."""
    work = merge(
        {
            "crossref": crossref.parse_work(load("crossref/addr-2015.json")),
            "openalex": openalex.parse_work(load("openalex/addr-2015.json")),
            "unpaywall": unpaywall.parse_work(load("unpaywall/addr-2015.json")),
            "s2": semanticscholar.parse_paper(load("semanticscholar/addr-2015.json")),
        }
    )
    assert (work.year, work.published, work.date_field) == (2015, "2015-06", "crossref:issued")
    assert work.provenance["year"] == work.provenance["published"] == "crossref"


def test_merge_falls_to_openalex_when_crossref_has_no_publication_date():
    """uq-dissertation: Crossref issued [[null]] (created 2020-06-08), OpenAlex 2020-05-25."""
    work = merge(
        {
            "crossref": crossref.parse_work(load("crossref/uq-dissertation.json")),
            "openalex": openalex.parse_work(load("openalex/uq-dissertation.json")),
        }
    )
    assert (work.year, work.published) == (2020, "2020-05-25")
    assert work.provenance["year"] == work.provenance["published"] == "openalex"
    assert work.date_field == "openalex:publication_date"
    assert work.provenance["title"] == "crossref"
    data = work.to_dict()
    assert data["date_field"] == "openalex:publication_date"
    assert json.loads(json.dumps(data)) == data
    assert Work.from_dict(data).date_field == "openalex:publication_date"


def test_merge_never_mixes_a_year_with_another_sources_date():
    """Constructed records: Crossref knows only the year, OpenAlex a date in another year."""
    records = {
        "crossref": SourceRecord("crossref", year=2003, date_field="issued"),
        "openalex": SourceRecord(
            "openalex", year=2004, published="2004-05-01", date_field="publication_date"
        ),
    }
    work = merge(records)
    assert (work.year, work.published, work.date_field) == (2003, None, "crossref:issued")
    assert "published" not in work.provenance
    inconsistent = {"s2": SourceRecord("s2", year=2003, published="2004-01-01")}
    assert (merge(inconsistent).year, merge(inconsistent).published) == (2003, None)


def test_old_cache_entries_without_date_field_load():
    work = merge({"crossref": cr("crossref/addr-2015.json")})
    data = work.to_dict()
    del data["date_field"]
    assert Work.from_dict(data).date_field is None


# -- every source, every export: no placeholder is written ------------------------------------


def _csl_values(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in _csl_values(v, k)]
    if isinstance(value, list):
        return [kv for v in value for kv in _csl_values(v, key)]
    return [(key, value)] if isinstance(value, str) else []


NAME_KEYS = {"family", "given", "literal", "non-dropping-particle", "suffix"}
BIB_FIELD = re.compile(r"^\s*(\w+) = \{(.*)\},?$", re.MULTILINE)
RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  - (.*)$", re.MULTILINE)


def assert_no_placeholder_written(work: Work) -> None:
    for key, value in _csl_values(json.loads(to_csl_json([work]))):
        if key not in {"id", "title"}:
            assert not is_placeholder(value, "name" if key in NAME_KEYS else "text"), (key, value)
    for key, value in BIB_FIELD.findall(to_bibtex([work])):
        if key == "author":
            for name in value.split(" and "):
                assert all(not is_placeholder(p, "name") for p in name.split(", ")), value
        elif key != "title":
            assert not is_placeholder(value), (key, value)
    for tag, value in RIS_LINE.findall(to_ris([work])):
        if tag not in {"TI", "ER"}:
            assert not is_placeholder(value, "name" if tag == "AU" else "text"), (tag, value)
    # the card, less the abstract (real abstracts say "null allele")
    card = card_text(dataclasses.replace(work, abstract=None, tldr=None))
    assert not re.search(r"\bnull\b|\bn/a\b|\[s\.n\.\]|\bunknown\b", card, re.IGNORECASE)


def _mutated(name: str, edit) -> dict:
    data = copy.deepcopy(load(name))
    edit(data)
    return data


EVERY_SOURCE = [
    ("crossref: real volume null", lambda: crossref.parse_work(load(KSDT))),
    ("crossref: real family name -", lambda: crossref.parse_work(load(IMAJI))),
    (
        "crossref: SYNTHETIC addr-2015 issue n/a, publisher [s.n.], given null",
        lambda: crossref.parse_work(
            _mutated(
                "crossref/addr-2015.json",
                lambda d: (
                    d["message"].update(issue="n/a", publisher="[s.n.]", language="und"),
                    d["message"]["author"][0].update(given="null"),
                ),
            )
        ),
    ),
    (
        "datacite: SYNTHETIC gfz volume null, issue NA, publisher (:unav)",
        lambda: datacite.parse_doi(
            _mutated(
                "datacite/gfz-journal-article.json",
                lambda d: (
                    d["data"]["attributes"]["container"].update(volume="null", issue="NA"),
                    d["data"]["attributes"].update(publisher="(:unav)"),
                ),
            )
        ),
    ),
    (
        "openalex: SYNTHETIC plos-one volume null, issue -, venue unknown",
        lambda: openalex.parse_work(
            _mutated(
                "openalex/plos-one-tpi-deficiency.json",
                lambda d: (
                    d["biblio"].update(volume="null", issue="-"),
                    d["primary_location"]["source"].update(display_name="unknown"),
                ),
            )
        ),
    ),
    (
        "s2: SYNTHETIC addr-2015 volume null, pages n/a",
        lambda: semanticscholar.parse_paper(
            _mutated(
                "semanticscholar/addr-2015.json",
                lambda d: d["journal"].update(volume="null", pages="n/a"),
            )
        ),
    ),
    (
        "unpaywall: SYNTHETIC addr-2015 journal null, publisher none",
        lambda: unpaywall.parse_work(
            _mutated(
                "unpaywall/addr-2015.json",
                lambda d: d.update(journal_name="null", publisher="none"),
            )
        ),
    ),
]


@pytest.mark.parametrize("build", [b for _, b in EVERY_SOURCE], ids=[n for n, _ in EVERY_SOURCE])
def test_no_export_or_card_contains_a_placeholder(build):
    record = build()
    assert_no_placeholder_written(merge({record.source: record}))


def test_exports_drop_placeholders_a_stored_work_still_holds():
    """The last defence: a Work as stored before this change (a bibliography snapshot)."""
    work = Work(
        doi="10.21326/ksdt.2008..18.018",
        title="Study of Widget Advertisements on the Web",
        authors=(
            Author(name="null", family="null", given=None),
            Author(name="Hyerin -", family="-", given="Hyerin"),
            Author(name="null"),
        ),
        year=2008,
        published="null",
        venue="Journal of Korea Design Forum",
        type="article",
        volume="null",
        issue="18",
        pages="n/a",
        publisher="[s.n.]",
        language="und",
        issn=("null", "1598-8449"),
    )
    assert_no_placeholder_written(work)
    clean = without_placeholders(work)
    assert clean.authors == (Author(name="Hyerin", family="Hyerin", given=None),)
    assert (clean.volume, clean.pages, clean.publisher, clean.language, clean.published) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert clean.issn == ("1598-8449",)
    assert venue_line(work) == "Journal of Korea Design Forum, no. 18 · 2008 · Journal article"
    assert without_placeholders(clean) is clean


# -- imports ---------------------------------------------------------------------------------

BIB = """@article{ksdt2008,
  author = {Unknown and Cho, Hyerin and {-}},
  title = {Study of Widget Advertisements on the Web},
  journal = {Journal of Korea Design Forum},
  year = {2008},
  volume = {null},
  number = {N/A},
  pages = {--},
  publisher = {[s.n.]},
  issn = {n/a}
}
"""

RIS = """TY  - JOUR
AU  - null
AU  - Cho, Hyerin
TI  - Study of Widget Advertisements on the Web
T2  - Journal of Korea Design Forum
PY  - 2008
VL  - null
IS  - n/a
SP  - -
PB  - [s.n.]
SN  - NA
ER  -
"""


@pytest.mark.parametrize(
    ("parse", "text"), [(parse_bibtex, BIB), (parse_ris, RIS)], ids=["bib", "ris"]
)
def test_imports_drop_placeholders(parse, text):
    (item,) = parse(text).items
    work = item.work
    assert (work.volume, work.issue, work.pages, work.publisher, work.issn) == (
        None,
        None,
        None,
        None,
        (),
    )
    assert [(a.family, a.given) for a in work.authors] == [("Cho", "Hyerin")]
    assert (work.venue, work.year) == ("Journal of Korea Design Forum", 2008)
    assert_no_placeholder_written(work)


# -- litbot paper --json -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doi", "year", "published", "date_field"),
    [
        ("10.1016/j.addr.2015.01.008", 2015, "2015-06", "crossref:issued"),
        # Crossref issued [[null]] (created 2020-06-08): the date is OpenAlex's, and says so
        ("10.14264/uql.2020.791", 2020, "2020-05-25", "openalex:publication_date"),
        ("10.21326/ksdt.2008..18.018", 2008, "2008-02", "crossref:issued"),
    ],
)
def test_paper_json_shows_where_the_date_came_from(
    fixtures_dir, tmp_path, monkeypatch, capsys, doi, year, published, date_field
):
    import bot.__main__ as entry
    from tests.upstream_mock import BASES, MockUpstreams

    upstreams = MockUpstreams(fixtures_dir)
    monkeypatch.setattr(entry, "make_client", lambda settings: upstreams.client())
    for name, url in BASES.items():
        monkeypatch.setenv(f"LITBOT_{name.upper()}_URL", url)
    monkeypatch.setenv("LITBOT_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("LITBOT_HTTP_RETRIES", "0")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert entry.main(["paper", doi, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["year"], data["published"], data["date_field"]) == (year, published, date_field)
    source = date_field.partition(":")[0]
    assert data["provenance"]["year"] == data["provenance"]["published"] == source
    assert data["volume"] != "null"
