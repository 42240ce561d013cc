"""bot/exports.py: BibTeX that LaTeX users can keep, RIS, and BibTeX keys.

Every BibTeX export must parse with bibtexparser, give back each title's characters through
pylatexenc, and carry unique keys that start with the first author's family name transliterated
to ASCII: checked on every real Crossref record in ../shared/fixtures and property-based.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import unicodedata

import bibtexparser
import pytest
import rispy
from anyascii import anyascii
from bibtexparser import middlewares
from hypothesis import given, settings
from hypothesis import strategies as st
from pylatexenc.latex2text import LatexNodes2Text

from bot import exports
from bot.exports import bibtex_key, cite_keys, to_bibtex, to_ris
from bot.merge import merge
from bot.models import Author, Work
from bot.placeholders import is_placeholder
from bot.sources import crossref
from scripts.make_goldens import RECORDS, build_works, seed_work
from tests.conftest import FIXTURES

needs_fixtures = pytest.mark.skipif(
    not all((FIXTURES / path).is_file() for path in RECORDS.values()),
    reason="../shared/fixtures is not beside the checkout",
)


@functools.cache
def works() -> dict[str, Work]:
    return build_works()


@functools.cache
def corpus() -> dict[str, Work]:
    """Every recorded Crossref work record that parses into a titled work."""
    out = {}
    for folder in ("crossref", "crossref-corpus"):
        for path in sorted((FIXTURES / folder).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("message"), dict):
                work = merge({"crossref": crossref.parse_work(data)})
                if "title" in work.provenance:
                    out[f"{folder}/{path.name}"] = work
    return out


def record(name: str) -> Work:
    return corpus()[name]


def titled(title: str, **fields) -> Work:
    """A work as the sources build it from a Crossref title (HTML/JATS markup read)."""
    message = {"DOI": "10.5555/t", "title": [title], "type": "journal-article", **fields}
    return merge({"crossref": crossref.parse_work({"status": "ok", "message": message})})


def bib_title(work: Work) -> str:
    return _parse_bibtex(to_bibtex([work])).entries[0].fields_dict["title"].value


def expected_prefix(work: Work) -> str:
    """The key's start, written independently of bot.exports: the family name through anyascii."""
    if not work.authors:
        return "anon"
    first = work.authors[0]
    if first.is_organisation:
        return ""  # an organisation's first significant word: checked in test_bibtex_key_rules
    family = unicodedata.normalize("NFC", first.family or first.name)  # exports write NFC
    return re.sub(r"[^a-z]", "", anyascii(family).lower()) or "anon"


def _latex_text(value: str) -> str:
    return LatexNodes2Text().latex_to_text(value)


def _plain(text: str) -> str:
    """Comparable text: typographic quotes and dashes as LaTeX writes them, spaces collapsed."""
    table = str.maketrans(
        {
            "‐": "-",
            "‑": "-",
            "–": "-",
            "—": "-",
            "‘": "'",
            "’": "'",
            "`": "'",
            "“": '"',
            "”": '"',
            "ˆ": "^",
        }
    )
    return " ".join(text.translate(table).replace("''", '"').replace("--", "-").split())


def _parse_bibtex(text: str) -> bibtexparser.Library:
    library = bibtexparser.parse_string(
        text, append_middleware=[middlewares.SeparateCoAuthors(), middlewares.SplitNameParts()]
    )
    assert not library.failed_blocks
    return library


def _check_bibtex(items: dict[str, Work]) -> None:
    library = _parse_bibtex(to_bibtex(items.values()))
    assert len(library.entries) == len(items)
    for work, entry in zip(items.values(), library.entries, strict=True):
        fields = entry.fields_dict
        # the title's characters (styled runs decode as plain text: 10\textsuperscript{3} is 103)
        assert _letters(_latex_text(fields["title"].value)) == _letters(work.rich("title").plain())
        if work.year:
            assert fields["year"].value == str(work.year)
        if work.authors:
            families = [
                _plain(_latex_text(" ".join(name.von + name.last)))
                for name in fields["author"].value
            ]
            expected = [_plain(a.name if a.is_organisation else a.family) for a in work.authors]
            assert families == expected
        if work.doi:
            assert fields["doi"].value == work.doi
        first = work.authors[0] if work.authors else None
        folded = exports.key_name(first)
        assert entry.key.startswith(folded or "anon")
        assert entry.key.startswith(f"{folded or 'anon'}{work.year or ''}")


@needs_fixtures
def test_bibtex_round_trip_golden_records():
    _check_bibtex(works())


@needs_fixtures
def test_bibtex_round_trip_every_corpus_record():
    items = corpus()
    assert len(items) > 300
    _check_bibtex(items)
    keys = [entry.key for entry in _parse_bibtex(to_bibtex(items.values())).entries]
    assert len(set(keys)) == len(keys)


def test_bibtex_seed_entry():
    text = to_bibtex([seed_work()])
    assert text.startswith("@article{zhou2023nk,")
    for line in (
        "author = {Zhou, Yongqiang and Lu, Cheng and Liu, Lu and Li, Xun}",
        "title = {{NK} cells are never alone: crosstalk and communication in tumour",
        "journal = {Molecular Cancer}",
        "month = feb,",
        "doi = {10.1186/s12943-023-01737-7}",
        "pages = {34}",
    ):
        assert line in text


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Müller & Søn: 50% of $x_1$ {a} #1 ~ ^ \\",
            r"M{\"u}ller \& S{\o}n: 50\% of \$x\_1\$ \{a\} \#1 \textasciitilde{}",
        ),
        ("Pages 1–2 — “quoted” ‘single’", "Pages 1--2 --- ``quoted'' `single'"),
    ],
)
def test_latex_escaping(title, expected):
    encoded = exports._latex(title)
    assert encoded.startswith(expected)
    assert _plain(_latex_text(encoded)) == _plain(title)


def test_bibtex_key_rules():
    seed = seed_work()
    taken: set[str] = set()
    assert [bibtex_key(seed, taken) for _ in range(4)] == [
        "zhou2023nk",
        "zhou2023nka",
        "zhou2023nkb",
        "zhou2023nkc",
    ]
    assert taken == {"zhou2023nk", "zhou2023nka", "zhou2023nkb", "zhou2023nkc"}
    # family name (not given name), folded; stop words skipped; organisations by first word
    work = dataclasses.replace(
        seed,
        authors=(Author("Jürgen Ó Brádaigh-Smith", "Ó Brádaigh-Smith", "Jürgen"),),
        title="The effect of things",
        year=1999,
    )
    assert bibtex_key(work, set()) == "obradaighsmith1999effect"
    org = dataclasses.replace(seed, authors=(Author("The Royal Society"),), title="On a Thing")
    assert bibtex_key(org, set()) == "royal2023thing"
    anonymous = dataclasses.replace(seed, authors=(), year=None, title="A study")
    assert bibtex_key(anonymous, set()) == "anonstudy"


def test_bibtex_keys_unique_within_one_export():
    seed = seed_work()
    other = dataclasses.replace(seed, doi="10.1/other")
    keys = [e.key for e in _parse_bibtex(to_bibtex([seed, other, seed])).entries]
    assert keys == ["zhou2023nk", "zhou2023nka", "zhou2023nkb"]


@pytest.mark.parametrize(
    ("work_type", "entry_type", "container"),
    [
        ("article", "article", "journal"),
        ("review", "article", "journal"),
        ("book-chapter", "incollection", "booktitle"),
        ("proceedings-article", "inproceedings", "booktitle"),
        ("book", "book", None),
        ("dissertation", "phdthesis", None),
        ("report", "techreport", None),
        ("dataset", "misc", "howpublished"),
        ("preprint", "misc", "howpublished"),
    ],
)
def test_bibtex_entry_types(work_type, entry_type, container):
    work = dataclasses.replace(seed_work(), type=work_type)
    entry = _parse_bibtex(to_bibtex([work])).entries[0]
    assert entry.entry_type == entry_type
    if container:
        assert entry.fields_dict[container].value == "Molecular Cancer"
    if work_type == "dissertation":
        assert "school" in entry.fields_dict
    if work_type == "report":
        assert "institution" in entry.fields_dict


@needs_fixtures
def test_ris_round_trip():
    items = works()
    records = rispy.loads(to_ris(items.values()))
    assert len(records) == len(items)
    for work, record in zip(items.values(), records, strict=True):
        assert record["type_of_reference"] == exports.RIS_TYPES[work.type or "other"]
        assert record["title"] == work.title
        expected = [
            a.name if a.is_organisation else ", ".join(p for p in (a.family, a.given) if p)
            for a in work.authors
        ]
        assert record.get("authors", []) == expected
        assert record.get("doi") == work.doi
        assert record.get("year") == (str(work.year) if work.year else None)
        if work.venue:
            assert record["secondary_title"] == work.venue
        if work.pages and "-" in work.pages:
            assert (record["start_page"], record["end_page"]) == tuple(work.pages.split("-", 1))


def test_ris_seed_record():
    text = to_ris([seed_work()])
    assert text.startswith("TY  - JOUR\n")
    for line in ("AU  - Zhou, Yongqiang", "T2  - Molecular Cancer", "JO  - Molecular Cancer"):
        assert line in text
    assert "DO  - 10.1186/s12943-023-01737-7" in text and "PY  - 2023" in text
    assert all(re.match(r"[A-Z][A-Z0-9]  - |$", line) for line in text.split("\n"))


# --- every real record ------------------------------------------------------------------------


def _letters(text: str) -> str:
    """A title's characters to compare: NFKC (a superscript ¹ is the 1 of \\textsuperscript{1}),
    no spaces, punctuation or symbols (LaTeX writes ‐ as -, ’ as ')."""
    text = unicodedata.normalize("NFKC", text.replace("ˆ", "^"))  # pylatexenc reads ^ as ˆ
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS")


def _check_keys_and_titles(items: list[Work]) -> None:
    library = _parse_bibtex(to_bibtex(items))
    assert len(library.entries) == len(items)
    keys = [entry.key for entry in library.entries]
    assert len({k.casefold() for k in keys}) == len(keys)
    for work, entry in zip(items, library.entries, strict=True):
        decoded = _latex_text(entry.fields_dict["title"].value)
        assert _letters(decoded) == _letters(work.rich("title").plain()), entry.key
        assert entry.key.isascii() and re.fullmatch(r"[a-z0-9]+", entry.key)
        assert entry.key.startswith(expected_prefix(work)), (entry.key, work.authors[:1])


@needs_fixtures
def test_every_corpus_record_round_trips_with_unique_transliterated_keys():
    items = list(corpus().values())
    assert len(items) > 300
    _check_keys_and_titles(items)
    # a family name with letters outside ASCII keeps each of them, transliterated
    families = [w.authors[0].family for w in items if w.authors and w.authors[0].family]
    assert any(not f.isascii() for f in families)


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "year", "title", "key"),
    [
        ("Łukasiewicz", 2021, "Many-valued logic", "lukasiewicz2021many"),
        ("Müller-Ørsted", 2020, "Ørsted's field", "mullerorsted2020orsted"),
        ("Þórsson", 2019, "Þingvellir", "thorsson2019thingvellir"),
        ("Đặng", 2018, "Đà Nẵng", "dang2018da"),
        ("Straße", 2001, "Grundlagen", "strasse2001grundlagen"),
        ("Ковалёв", 2015, "Теория", "kovalev2015teoriya"),
        ("Σωκράτης", 2010, "Λόγος", "sokratis2010logos"),
        ("조혜린", 2008, "Study of widgets", "johyelin2008study"),
        ("Quintana-Ortí", 2008, "The ½ rule", "quintanaorti2008"),
        ("van Gulik", 2000, "On the edge", "vangulik2000edge"),
    ],
)
def test_keys_transliterate_every_letter(family, year, title, key):
    work = dataclasses.replace(
        seed_work(), authors=(Author(f"X {family}", family, "X"),), year=year, title=title
    )
    assert bibtex_key(work, set()).startswith(key)


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("crossref-corpus/10_21326_ksdt_2008_18_018.json", "johyelin2008study"),
        ("crossref-corpus/10_1557_adv_2017_511.json", "catalan2017electrical"),
        ("crossref-corpus/10_7717_peerj_14627.json", "gundogdu2023microplastic"),
        ("crossref-corpus/10_2478_v10285_012_0019_y.json", "sindlar2009wood"),
        ("crossref-corpus/10_1371_journal_pone_0225889.json", "juarezrodriguez2020trophic"),
    ],
)
def test_keys_of_real_records_with_letters_outside_ascii(name, key):
    assert bibtex_key(record(name), set()) == key


@pytest.mark.parametrize(
    ("preferred", "expected"),
    [
        # the user's keys are kept, whatever their style
        (["Zhou:2023", "smith_2020-a", None], ["Zhou:2023", "smith_2020-a", "zhou2023nk"]),
        # a key claimed twice: the first keeps it, the next gets a suffix
        (["smith2020", "smith2020", "smith2020"], ["smith2020", "smith2020a", "smith2020b"]),
        # keys compare without case
        (["Smith2020", "smith2020", None], ["Smith2020", "smith2020a", "zhou2023nk"]),
        # a new key never takes one a user chose, even on a later work
        ([None, "zhou2023nk", None], ["zhou2023nka", "zhou2023nk", "zhou2023nkb"]),
        # keys BibTeX could not read back are replaced
        (["has space", "a,b", "{x}"], ["zhou2023nk", "zhou2023nka", "zhou2023nkb"]),
    ],
)
def test_cite_keys_keep_the_users_keys(preferred, expected):
    seed = seed_work()
    three = [seed, dataclasses.replace(seed, doi="10.1/b"), dataclasses.replace(seed, doi="10.1/c")]
    assert cite_keys(three, preferred) == expected
    written = [e.key for e in _parse_bibtex(to_bibtex(three, preferred)).entries]
    assert written == expected


@given(st.lists(st.sampled_from(["k", "K", "k:1", "k_1", "x"]) | st.none(), max_size=12))
def test_cite_keys_are_unique_and_keep_every_first_claim(preferred):
    seed = seed_work()
    items = [dataclasses.replace(seed, doi=f"10.1/{i}") for i in range(len(preferred))]
    keys = cite_keys(items, preferred)
    assert len({k.casefold() for k in keys}) == len(keys)
    claimed: set[str] = set()
    for key, wanted in zip(keys, preferred, strict=True):
        if wanted and wanted.casefold() not in claimed:
            assert key == wanted
            claimed.add(wanted.casefold())
        elif wanted:
            assert key.startswith(wanted) and key != wanted


# --- pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pages", "bib", "ris"),
    [
        ("10-20", "10--20", ("10", "20")),
        ("10–20", "10--20", ("10", "20")),  # an en dash, from RIS or Crossref
        ("10—20", "10--20", ("10", "20")),
        ("10 – 20", "10--20", ("10", "20")),
        ("10‐20", "10--20", ("10", "20")),
        ("10--20", "10--20", ("10", "20")),
        ("S1–S10", "S1--S10", ("S1", "S10")),
        ("e0163945", "e0163945", ("e0163945", None)),
        ("34", "34", ("34", None)),
    ],
)
def test_page_ranges_use_two_hyphens_whatever_dash_they_hold(pages, bib, ris):
    work = dataclasses.replace(seed_work(), pages=pages)
    assert _parse_bibtex(to_bibtex([work])).entries[0].fields_dict["pages"].value == bib
    (parsed,) = rispy.loads(to_ris([work]))
    assert (parsed.get("start_page"), parsed.get("end_page")) == ris


def test_an_imported_ris_range_exports_as_two_hyphens():
    from bot.bibio import parse_ris

    (item,) = parse_ris("TY  - JOUR\nTI  - T\nSP  - 100\nEP  - 105\nER  - \n").items
    assert item.work is not None and item.work.pages == "100–105"
    assert "pages = {100--105}" in to_bibtex([item.work])


# --- titles: what sentence-casing must not touch ----------------------------------------------


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "fragments", "bare"),
    [
        # capitals after the first letter; single capitals that are words
        ("crossref-corpus/10_1002_ajmg_b_31237.json", ["fragile {X} premutation", "{FXTAS}"], []),
        ("crossref-corpus/10_3386_w15077.json", ["the {U}.{S}. External"], []),
        ("crossref-corpus/10_7717_peerj_15241.json", ["{LPS}/{D}-{GalN}-induced"], []),
        ("crossref-corpus/10_1111_2041_210x_12469.json", ["{RNeXML}: a package"], []),
        ("crossref-corpus/10_1109_tlt_2016_2622268.json", ["Am {I} Performing"], []),
        ("crossref-corpus/10_1557_adv_2017_511.json", ["from {2D} Layered"], []),
        # styled runs braced whole: italic species, small caps
        (
            "crossref-corpus/10_7717_peerj_10050.json",
            ["({\\textit{Tridacna maxima}}) distractible? {A} multi-modal"],
            [],
        ),
        ("crossref-corpus/10_1002_fee_70021.json", ["role of {\\textsc{AI}} in"], []),
        (
            "crossref-corpus/10_1111_j_2041_210x_2012_00247_x.json",
            ["{\\textsc{T}}reebase: an {\\textsc{R}} package"],
            [],
        ),
        # a title's first word of one letter is kept by every sentence-casing: no braces
        ("crossref-corpus/10_1016_j_eng_2019_09_010.json", ["A Geometric Understanding"], ["{A}"]),
        # all capitals (an old record): not braced word by word
        (
            "crossref/mja-1943-archived.json",
            ["THE INVESTIGATION OF RENAL FUNCTION WITH A NEW"],
            ["{"],
        ),
        ("crossref-corpus/10_5902_1981369427260.json", ["PERSPECTIVES ON INTERNATIONAL"], ["{"]),
    ],
)
def test_titles_of_real_records_protect_what_their_rich_text_says(name, fragments, bare):
    title = bib_title(record(name))
    for fragment in fragments:
        assert fragment in title
    for absent in bare:
        assert absent not in title


@pytest.mark.parametrize(
    ("title", "bib"),
    [
        ("Regulatory T cells in tumours", "Regulatory {T} cells in tumours"),
        ("Spectra of M-Matrices", "Spectra of {M}-Matrices"),
        ("Estimates in L<sup>1</sup> spaces", "Estimates in {L}{\\textsuperscript{1}} spaces"),
        ("Vitamin A and mRNA in 3D", "Vitamin {A} and {mRNA} in {3D}"),
        ("<i>Escherichia coli</i> in water", "{\\textit{Escherichia coli}} in water"),
        ("NK cells are never alone", "{NK} cells are never alone"),
        ("A study of McDonald's iPhone", "A study of {McDonald}'s {iPhone}"),
        ("Cases of acute renal failure", "Cases of acute renal failure"),
        (
            "THE ROLE OF <i>E. COLI</i> IN DNA REPAIR",
            "THE ROLE OF {\\textit{E. COLI}} IN DNA REPAIR",
        ),
    ],
)
def test_title_protection_from_the_rich_text(title, bib):
    assert bib_title(titled(title)) == bib


# --- every export parses and round-trips (property-based) -------------------------------------

NAME = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Lo")), min_size=1, max_size=12
).filter(lambda name: not is_placeholder(name, "name"))  # "Undefined" is no name: never written
TITLE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=60,
).filter(lambda t: t.strip() and not is_placeholder(t))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(NAME, TITLE, st.integers(1900, 2030)), min_size=1, max_size=6))
def test_any_titles_and_names_parse_round_trip_and_get_unique_keys(rows):
    items = []
    for i, (family, title, year) in enumerate(rows):
        work = Work(
            doi=f"10.5555/{i}",
            title=" ".join(title.split()),
            authors=(Author(f"Ann {family}", family, "Ann"),),
            year=year,
            type="article",
        )
        items.append(work)
    library = _parse_bibtex(to_bibtex(items))
    assert len(library.entries) == len(items)
    keys = [e.key for e in library.entries]
    assert len({k.casefold() for k in keys}) == len(keys)
    for work, entry in zip(items, library.entries, strict=True):
        decoded = _latex_text(entry.fields_dict["title"].value)
        assert _letters(decoded) == _letters(work.title)
        (name,) = entry.fields_dict["author"].value
        family = unicodedata.normalize("NFC", work.authors[0].family or "")  # as exported
        assert _latex_text(" ".join(name.last)) == family
        assert entry.key.startswith(expected_prefix(work))
