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

import pytest

from bot import citations
from bot.citations import (
    UnknownStyle,
    format_bibliography,
    format_citation,
    render,
    to_bibtex,
    to_csl,
    to_csl_json,
    to_ris,
)
from bot.merge import merge
from bot.models import Author, Work
from bot.richtext import unmark
from bot.sources import crossref, openalex
from scripts.make_goldens import RECORDS, STYLES, build_works, seed_work
from tests.conftest import FIXTURES

GOLDEN = Path(__file__).parent / "golden" / "citations"
# (style, item id) → why litbot's plain text differs from citeproc-js's golden. Every entry is
# listed and argued in tests/golden/citations/DIFFERENCES.md (the HTML goldens all match).
_SCRIPTS = "by design: sub/superscripts stay Unicode in text (TiO₂, 10³), not TiO2, 103"
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    (style, "crafted-subscript-title"): _SCRIPTS for style in STYLES
}
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


def golden(style: str, markup: str = "text") -> dict[str, str]:
    name = f"{style}.json" if markup == "text" else f"{style}.{markup}.json"
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


@functools.cache
def works() -> dict[str, Work]:
    return build_works()


@functools.cache
def formatted(style: str, markup: str = "text") -> dict[str, str]:
    """The whole golden set as one bibliography (as the goldens were made), by item id."""
    items = works()
    entries = format_bibliography(list(items.values()), style, markup=markup)
    return dict(zip(items, entries, strict=True))


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


@needs_fixtures
@pytest.mark.parametrize(("style", "item"), GOLDEN_CASES, ids=[f"{s}:{i}" for s, i in GOLDEN_CASES])
def test_html_matches_citeproc_js(style, item):
    # italics (species, genes), small caps and flip-flop, as citeproc-js's HTML has them
    assert formatted(style, "html")[item] == golden(style, "html")[item]


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


def _unhtml(text: str) -> str:
    # citeproc-js's HTML keeps layout whitespace (csl-left-margin divs) and writes a double
    # space as no-break space + space; text output collapses both
    text = re.sub(r"</?div[^>]*>", " ", text)  # a margin and its entry are apart
    # text shows sub/superscripts as Unicode (bot.richtext): TiO₂
    text = re.sub(r"<sub>(.*?)</sub>", lambda m: unmark(f"\ue026{m[1]}\ue027", "text"), text)
    text = re.sub(r"<sup>(.*?)</sup>", lambda m: unmark(f"\ue024{m[1]}\ue025", "text"), text)
    text = unescape(re.sub(r"<[^>]+>", "", text)).replace("\u00a0 ", "  ")
    return " ".join(text.split())


@needs_fixtures
@pytest.mark.parametrize("style", STYLES)
def test_markups_differ_only_in_markup(style):
    text, markdown, html = (formatted(style, m) for m in ("text", "markdown", "html"))
    for item in text:
        assert _unmarkdown(markdown[item]) == text[item]
        assert _unhtml(html[item]) == text[item]


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
    assert "&#38; Li, X." in text  # escaped as citeproc-js escapes


# --- order, batches, threads -----------------------------------------------------------------


@needs_fixtures
def test_input_order_and_style_order():
    items = list(works().values())
    apa = format_bibliography(items, "apa")
    assert apa == list(formatted("apa").values())
    ordered = format_bibliography(items, "apa", style_order=True)
    assert sorted(ordered) == sorted(apa)
    ids = {text: item for item, text in formatted("apa").items()}
    assert [ids[text] for text in ordered] == list(golden("apa"))  # citeproc-js's order
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


# --- CSL-JSON ----------------------------------------------------------------------------------


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
