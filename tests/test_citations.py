"""Citations: citeproc-py output against citeproc-js goldens, BibTeX/RIS/CSL-JSON round trips,
the style registry. Goldens are committed (tests/golden/citations); no Node.js needed here."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path

import bibtexparser
import pytest
import rispy
from bibtexparser import middlewares
from pylatexenc.latex2text import LatexNodes2Text

from bot import citations
from bot.citations import (
    StyleInfo,
    UnknownStyle,
    bibtex_key,
    format_bibliography,
    format_citation,
    list_styles,
    render,
    resolve_style,
    search_styles,
    to_bibtex,
    to_csl,
    to_csl_json,
    to_ris,
)
from bot.errors import LitError
from bot.merge import merge
from bot.models import Author, Work
from bot.sources import crossref, openalex
from scripts.make_goldens import RECORDS, STYLES, build_works, seed_work
from tests.conftest import FIXTURES

GOLDEN = Path(__file__).parent / "golden" / "citations"
# (style, item id) → why citeproc-py's output may differ from citeproc-js's golden. Every entry
# is listed in tests/golden/citations/DIFFERENCES.md. Empty: all golden pairs match.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}
SEED_APA_MARKDOWN = (
    "Zhou, Y., Lu, C., Liu, L., & Li, X. (2023). NK cells are never alone: crosstalk and "
    "communication in tumour microenvironments. *Molecular Cancer*, *22*(1), 34. "
    "https://doi.org/10.1186/s12943-023-01737-7"
)
HTML = re.compile(r"</?[a-zA-Z][^>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")
needs_fixtures = pytest.mark.skipif(
    not all((FIXTURES / path).is_file() for path in RECORDS.values()),
    reason="../shared/fixtures is not beside the checkout",
)


def golden(style: str) -> dict[str, str]:
    return json.loads((GOLDEN / f"{style}.json").read_text(encoding="utf-8"))


@functools.cache
def works() -> dict[str, Work]:
    return build_works()


@functools.cache
def formatted(style: str, markup: str = "text") -> dict[str, str]:
    """The whole golden set as one bibliography (as the goldens were made), by item id."""
    items = works()
    entries = format_bibliography(list(items.values()), style, markup=markup)
    return dict(zip(items, entries, strict=True))


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


# --- goldens -------------------------------------------------------------------------------


GOLDEN_CASES = [(style, item) for style in STYLES for item in golden(style)]


@needs_fixtures
@pytest.mark.parametrize(("style", "item"), GOLDEN_CASES, ids=[f"{s}:{i}" for s, i in GOLDEN_CASES])
def test_matches_citeproc_js(style, item):
    text = formatted(style)[item]
    if (style, item) in KNOWN_DIFFERENCES:
        assert text != golden(style)[item], "now matches: remove it from KNOWN_DIFFERENCES"
        return
    assert text == golden(style)[item]


def test_known_differences_are_documented():
    notes = (GOLDEN / "DIFFERENCES.md").read_text(encoding="utf-8")
    for (style, item), reason in KNOWN_DIFFERENCES.items():
        assert reason and f"| {style} | {item} |" in notes


def test_goldens_cover_the_required_styles_and_records():
    required = {
        "apa",
        "nlm-citation-sequence",
        "chicago-author-date",
        "ieee",
        "harvard-cite-them-right",
        "nature",
    }
    assert required <= set(STYLES)
    assert len(golden("apa")) >= 21 and "seed" in golden("apa")
    for style in STYLES:
        assert set(golden(style)) == set(golden("apa"))


@needs_fixtures
def test_golden_inputs_are_what_to_csl_gives_today():
    items = json.loads((GOLDEN / "items.json").read_text(encoding="utf-8"))
    assert items == [to_csl(work, item_id=item_id) for item_id, work in works().items()]


def test_seed_paper_in_apa():
    seed = seed_work()
    assert format_citation(seed, "apa", markup="markdown") == SEED_APA_MARKDOWN
    assert format_citation(seed, "APA") == SEED_APA_MARKDOWN.replace("*", "")
    assert format_citation(seed, "apa") == golden("apa")["seed"]


@pytest.mark.parametrize(
    "style", ["nlm-citation-sequence", "ieee", "nature", "chicago-author-date"]
)
def test_seed_paper_alone_matches_its_golden(style):
    # numbered styles number it 1 both alone and first in the golden batch
    assert format_citation(seed_work(), style) == golden(style)["seed"]


@needs_fixtures
def test_same_author_same_year_get_year_suffixes():
    apa = formatted("apa")
    assert "Flynt, C. (2012a). The text Widget" in apa["tcltk-2012-text"]
    assert "Flynt, C. (2012b). Using the canvas Widget" in apa["tcltk-2012-canvas"]
    alone = format_citation(works()["tcltk-2012-text"], "apa")
    assert "(2012)." in alone


def test_year_suffixes_follow_bibliography_order():
    seed = seed_work()
    other = dataclasses.replace(seed, title="A second paper", doi="10.1/second")
    first, second = format_bibliography([seed, other], "apa")
    assert "(2023b). NK cells" in first and "(2023a). A second paper" in second
    # styles that never print year-suffix get it after the year (elsevier-harvard)
    first, second = format_bibliography([seed, other], "elsevier-harvard")
    assert "2023a" in first and "2023b" in second


# --- markup ----------------------------------------------------------------------------------


@needs_fixtures
@pytest.mark.parametrize("style", STYLES)
def test_markdown_has_no_html(style):
    entries = formatted(style, "markdown")
    assert all(not HTML.search(text) for text in entries.values())
    assert all(not HTML.search(text) for text in formatted(style).values())
    assert not any(re.search("[\ue000-\uf8ff]", text) for text in entries.values())


def _unmarkdown(text: str) -> str:
    text = re.sub(r"(?<!\\)\*", "", text)  # emphasis markers (not escaped asterisks)
    return re.sub(r"\\(.)", r"\1", text)


@needs_fixtures
@pytest.mark.parametrize("style", STYLES)
def test_markups_differ_only_in_markup(style):
    text, markdown, html = (formatted(style, m) for m in ("text", "markdown", "html"))
    for item in text:
        assert _unmarkdown(markdown[item]) == text[item]
        assert unescape(re.sub(r"<[^>]+>", "", html[item])) == text[item]


def test_markdown_escapes_upstream_text_but_not_urls():
    seed = seed_work()
    work = dataclasses.replace(
        seed, title="Stars *and* snake_case ~ways~", doi="10.1/a_b*c", venue="J_Test"
    )
    text = format_citation(work, "apa", markup="markdown")
    assert r"Stars \*and\* snake\_case \~ways\~" in text
    assert r"*J\_Test*" in text
    assert text.endswith("https://doi.org/10.1/a_b*c")


def test_markdown_numbered_entry_is_not_a_list():
    text = format_citation(seed_work(), "vancouver", markup="markdown")
    assert text.startswith(r"1\. Zhou Y, Lu C, Liu L, Li X.")


def test_html_markup():
    text = format_citation(seed_work(), "apa", markup="html")
    assert "<i>Molecular Cancer</i>, <i>22</i>(1)" in text
    assert "&amp; Li, X." in text


# --- order, batches, threads -----------------------------------------------------------------


@needs_fixtures
def test_input_order_and_style_order():
    items = list(works().values())
    apa = format_bibliography(items, "apa")
    assert apa == list(formatted("apa").values())
    ordered = format_bibliography(items, "apa", style_order=True)
    assert sorted(ordered) == sorted(apa)
    assert ordered[0].startswith("Alex Perkins, T.") and ordered[-1].startswith("Zhou, Y.")
    numbered = format_bibliography(items, "ieee")
    assert [re.match(r"\[(\d+)\]", t).group(1) for t in numbered] == [
        str(i) for i in range(1, len(items) + 1)
    ]


def test_empty_batch():
    assert format_bibliography([], "apa") == []
    assert render([], "apa") == ""


@needs_fixtures
def test_concurrent_formatting_matches_sequential():
    items = list(works().values())
    jobs = [(style, markup) for style in ("apa", "ieee", "modern-language-association") for markup in ("text", "markdown")] * 3  # fmt: skip
    expected = {job: format_bibliography(items, job[0], markup=job[1]) for job in set(jobs)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda job: format_bibliography(items, job[0], markup=job[1]), jobs)
        )
    assert results == [expected[job] for job in jobs]


# --- style registry ----------------------------------------------------------------------------


def test_list_styles_is_the_bundle():
    styles = list_styles()
    assert 2500 < len(styles) < 3500
    ids = {s.id for s in styles}
    assert {
        "apa",
        "ieee",
        "nature",
        "harvard-cite-them-right",
        "modern-language-association",
    } <= ids
    assert next(s for s in styles if s.id == "apa").title.startswith("APA")
    assert all(isinstance(s, StyleInfo) and s.title and s.parent is None for s in styles)
    journals = list_styles(dependent=True)
    assert len(journals) > len(styles)
    assert next(s for s in journals if s.id == "molecular-cancer").title == "Molecular Cancer"
    assert list_styles() == styles  # built once, cached


@pytest.mark.parametrize(
    ("name", "style"),
    [
        ("apa", "apa"),
        ("APA", "apa"),
        (" Apa ", "apa"),
        ("vancouver", "nlm-citation-sequence"),
        ("Vancouver", "nlm-citation-sequence"),
        ("harvard", "harvard-cite-them-right"),
        ("mla", "modern-language-association"),
        ("chicago", "chicago-author-date"),
        ("Chicago author date", "chicago-author-date"),
        ("ama", "american-medical-association"),
        ("ieee", "ieee"),
        ("nature.csl", "nature"),
        ("IEEE Reference Guide version 11.29.2023", "ieee"),
        ("molecular-cancer", "molecular-cancer"),
    ],
)
def test_resolve_style(name, style):
    assert resolve_style(name) == style


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("apa7", "apa"), ("vancuver", "vancouver"), ("chicgo", "chicago"), ("ieeee", "ieee")],
)
def test_unknown_style_suggests_close_matches(name, suggested):
    with pytest.raises(UnknownStyle) as raised:
        resolve_style(name)
    error = raised.value
    assert isinstance(error, LitError)
    assert error.suggestions[0] == suggested and len(error.suggestions) <= 5
    assert name in error.user_message and suggested in error.user_message
    assert all(resolve_style(s) for s in error.suggestions)


def test_unknown_style_without_suggestions():
    with pytest.raises(UnknownStyle) as raised:
        format_citation(seed_work(), "zzqx wobble")
    assert raised.value.suggestions == ()
    assert "zzqx wobble" in raised.value.user_message


def test_search_styles_puts_common_styles_first():
    empty = [s.id for s in search_styles("")]
    assert empty[:6] == list(citations.COMMON_STYLES[:6])
    assert len(search_styles("", limit=3)) == 3
    assert search_styles("apa")[0].id == "apa"
    assert search_styles("vanc")[0].id == "nlm-citation-sequence"
    assert search_styles("harvard")[0].id == "harvard-cite-them-right"
    assert search_styles("MLA")[0].id == "modern-language-association"
    assert search_styles("molecular cancer")[0].id == "molecular-cancer"


@pytest.mark.parametrize("query", ["", "a", "e", "journal", "harvard", "ieee trans", "vancuver"])
def test_search_styles_limit(query):
    found = search_styles(query)
    assert 0 < len(found) <= 25
    assert len({s.id for s in found}) == len(found)
    assert len(search_styles(query, limit=5)) <= 5


# --- BibTeX --------------------------------------------------------------------------------


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
        assert _plain(_latex_text(fields["title"].value)) == _plain(work.title)
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
        folded = citations._key_name(first)
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
    encoded = citations._latex(title)
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


# --- RIS, CSL-JSON -----------------------------------------------------------------------------


@needs_fixtures
def test_ris_round_trip():
    items = works()
    records = rispy.loads(to_ris(items.values()))
    assert len(records) == len(items)
    for work, record in zip(items.values(), records, strict=True):
        assert record["type_of_reference"] == citations.RIS_TYPES[work.type or "other"]
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


@needs_fixtures
def test_csl_json_round_trip():
    items = works()
    text = to_csl_json(items.values())
    assert "Foltyński" in text  # readable UTF-8, not \\u escapes
    data = json.loads(text)
    assert data == [to_csl(w) for w in items.values()]
    assert [d["id"] for d in data] == [w.doi for w in items.values()]


def test_to_csl_fields():
    seed = seed_work()
    item = to_csl(seed)
    assert item["id"] == "10.1186/s12943-023-01737-7"
    assert item["type"] == "article-journal"
    assert item["author"][0] == {"family": "Zhou", "given": "Yongqiang"}
    assert item["issued"] == {"date-parts": [[2023, 2, 16]]}
    assert (item["container-title"], item["volume"], item["issue"], item["page"]) == (
        "Molecular Cancer",
        "22",
        "1",
        "34",
    )
    assert "URL" not in item  # the DOI is the link
    org = dataclasses.replace(
        seed,
        authors=(
            Author("WHO"),
            Author("Jan van Gulik", "van Gulik", "Jan"),
            Author("A B", "B", "A, Jr."),
        ),
        published="2020-05",
        doi=None,
        url="https://example.org/x",
        type="preprint",
    )
    item = to_csl(org, item_id="x")
    assert item["author"] == [
        {"literal": "WHO"},
        {"non-dropping-particle": "van", "family": "Gulik", "given": "Jan"},
        {"family": "B", "suffix": "Jr.", "given": "A"},
    ]
    assert item["issued"] == {"date-parts": [[2020, 5]]}
    assert (item["type"], item["genre"], item["URL"]) == (
        "article",
        "Preprint",
        "https://example.org/x",
    )


@pytest.mark.parametrize(("work_type", "csl_type"), list(citations.CSL_TYPES.items()))
def test_every_work_type_formats(work_type, csl_type):
    work = dataclasses.replace(seed_work(), type=work_type)
    assert to_csl(work)["type"] == csl_type
    for style in ("apa", "ieee", "modern-language-association"):
        assert "nk cells are never alone" in format_citation(work, style).casefold()


# --- render dispatch -----------------------------------------------------------------------------


def test_render_dispatch():
    seed = [seed_work()]
    assert render(seed, "bibtex") == render(seed, "BIB") == to_bibtex(seed)
    assert render(seed, "ris") == to_ris(seed)
    assert render(seed, "csl-json") == render(seed, "json") == to_csl_json(seed)
    assert render(seed, "apa", markup="markdown") == SEED_APA_MARKDOWN + "\n"
    assert render(seed, "Vancouver").startswith("1. Zhou Y, Lu C, Liu L, Li X.")
    with pytest.raises(UnknownStyle):
        render(seed, "apa7")


# --- helpers ported from citeproc-js -------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "fmt", "expected"),
    [
        ("321", "328", "expanded", "328"),
        ("321", "328", "minimal", "8"),
        ("321", "328", "minimal-two", "28"),
        ("1", "17", "minimal-two", "17"),
        ("42", "45", "minimal", "5"),
        ("2345", "2345", "minimal", "2345"),
        ("525", "535", "chicago-16", "35"),
        ("101", "108", "chicago-16", "8"),
        ("1496", "1504", "chicago-16", "504"),  # as citeproc-js does
        ("321", "28", "expanded", "328"),
        ("e01", "e09", "minimal", "9"),
        ("e01", "e09", "expanded", "e09"),
        ("S12", "S15", "minimal", "5"),
    ],
)
def test_page_range_end(first, last, fmt, expected):
    assert citations._page_range_end(first, last, fmt) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("after the games are over: life-history", "After the Games Are over: Life-History"),
        ("the rise of the (science) newsletter", "The Rise of the (Science) Newsletter"),
        ("a shiny r app under imperfect detection", "A Shiny r App under Imperfect Detection"),
        ("NK cells in mRNA vaccines", "NK Cells in mRNA Vaccines"),
        ("what it is for", "What It Is For"),
    ],
)
def test_title_case(text, expected):
    assert citations._title_case(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d'un purpura", "d’un purpura"),
        ("E2SC '15", "E2SC ’15"),
        ("students' work", "students’ work"),
        ('"Racial Epithet"', "\ue000Racial Epithet\ue001"),
        ("Sunburst 'HTML' Widget", "Sunburst \ue000HTML\ue001 Widget"),
        ("\"a\" and 'b'", "\ue000a\ue001 and \ue002b\ue003"),
        ("the “best” and ‘worst’", "the \ue000best\ue001 and \ue002worst\ue003"),
        ('an "unpaired quote', 'an "unpaired quote'),
    ],
)
def test_smart_quotes(text, expected):
    assert citations._smart_quotes(text) == expected


# --- hostile data ----------------------------------------------------------------------------


def crafted_work() -> Work:
    """The crafted record of tests/synthetic (every field hostile), merged as the bot does."""
    from tests.synthetic.make_crafted import crossref as crafted_crossref
    from tests.synthetic.make_crafted import openalex as crafted_openalex

    return merge(
        {
            "crossref": crossref.parse_work(crafted_crossref()),
            "openalex": openalex.parse_work(crafted_openalex()),
        }
    )


@needs_fixtures
@pytest.mark.parametrize(
    "style", ["apa", "vancouver", "ieee", "nature", "modern-language-association", "harvard"]
)
def test_markdown_citation_of_a_crafted_record_is_inert(style):
    from tests.inert import live

    work = crafted_work()
    text = format_citation(work, style, markup="markdown")
    assert live(text, hosts={"doi.org"}) == []
    assert r"\<@&222222222222222222>" in text and r"\[Verify your account\]" in text
    # a printed DOI is whole: a doi.org link Discord keeps in one piece, or escaped text
    if "10.5555/crafted" in text:
        assert "https://doi.org/10.5555/crafted_(1)x" in text or r"10.5555/crafted\_(1)x" in text


def test_markdown_url_fields_go_through_the_url_policy():
    from tests.inert import live

    planted = "https://repo.example/x.pdf) [Verify your account](https://evil.example/phish"
    work = dataclasses.replace(seed_work(), doi=None, url=planted)
    text = format_citation(work, "apa", markup="markdown")
    assert live(text, hosts={"doi.org", "repo.example"}) == []
    assert "https\\://repo.example/x.pdf) \\[Verify your account\\]" in text  # shown, not linked
    ok = dataclasses.replace(work, url="https://repo.example/files/crafted(1).pdf?v=<@&1>)")
    text = format_citation(ok, "apa", markup="markdown")
    assert text.endswith("https://repo.example/files/crafted(1).pdf?v=%3C@&1%3E%29")
