"""The rich-text model (bot/richtext.py) on recorded real records, for every renderer.

Titles and abstracts come from the recorded Crossref responses in ../shared/fixtures: HTML
(``<i>``, ``<sub>``, ``<sup>``, ``<scp>``), JATS (``<jats:italic>``, ``<jats:sup>``, sections
with titles) and MathML (Hindawi's titles). Each case says what every output must show.
"""

from __future__ import annotations

import glob
import html
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pylatexenc.latex2text import LatexNodes2Text

from bot.citations import format_citation, to_bibtex, to_csl, to_ris
from bot.exports import _latex, _latex_title
from bot.markdown import escape
from bot.merge import merge
from bot.richtext import _PLAIN, RichText, Run, Style, _parse_rounds, mark, parse, unmark
from bot.sources import crossref
from bot.text import clean_abstract, rich_abstract

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures missing")


def crossref_items(path: str) -> list[dict]:
    data = json.loads((FIXTURES / path).read_text(encoding="utf-8"))
    message = data["message"]
    return message["items"] if "items" in message else [message]


def crossref_title(path: str, doi: str | None = None) -> str:
    items = crossref_items(path)
    item = next(i for i in items if doi is None or i["DOI"] == doi)
    return item["title"][0]


def crossref_work(path: str, doi: str | None = None):
    items = crossref_items(path)
    item = next(i for i in items if doi is None or i["DOI"] == doi)
    record = crossref.parse_work({"status": "ok", "message-type": "work", "message": item})
    return merge({"crossref": record})


HINDAWI = "crossref/list-member-98-hindawi-cursor-mathml-titles.json"

# (fixture, DOI in a list, linear text, Discord Markdown, CSL-JSON title, BibTeX title)
TITLES = [
    (
        HINDAWI,
        "10.1155/2013/178512",
        "Tuning the Photocatalytic Activity and Optical Properties of Mesoporous TiO₂ Spheres by "
        "a Carbon Scaffold",
        "Tuning the Photocatalytic Activity and Optical Properties of Mesoporous TiO₂ Spheres by "
        "a Carbon Scaffold",
        "Tuning the Photocatalytic Activity and Optical Properties of Mesoporous "
        "TiO<sub>2</sub> Spheres by a Carbon Scaffold",
        r"{TiO}{\textsubscript{2}}",
    ),
    (
        HINDAWI,
        "10.1155/2012/673458",
        "Application of Serial Analysis of Gene Expression to the Study of the Gene Expression "
        "Profile of Leishmania infantum chagasi Promastigote",
        "Application of Serial Analysis of Gene Expression to the Study of the Gene Expression "
        "Profile of *Leishmania infantum chagasi* Promastigote",
        "Application of Serial Analysis of Gene Expression to the Study of the Gene Expression "
        "Profile of <i>Leishmania infantum chagasi</i> Promastigote",
        r"{\textit{Leishmania infantum chagasi}}",
    ),
    (
        HINDAWI,
        "10.1155/2014/646721",
        "Parabolic Equations of Infinite Order with L¹ Data",
        "Parabolic Equations of Infinite Order with L¹ Data",
        "Parabolic Equations of Infinite Order with L<sup>1</sup> Data",
        r"{L}{\textsuperscript{1}} Data",  # the capital standing alone is protected too
    ),
    (
        HINDAWI,
        "10.1155/2014/535716",
        "Inequalities for the Minimum Eigenvalue of Doubly Strictly Diagonally Dominant M-Matrices",
        None,
        None,
        None,
    ),
    (
        HINDAWI,
        "10.1155/s0161171292000589",
        "Fixed point theorems for d-complete topological spaces I",  # the TeX annotation is dropped
        None,
        None,
        None,
    ),
    (
        HINDAWI,
        "10.1155/2017/3981647",
        "Site Specific Stem Volume Models for Pinus patula and Pinus oocarpa",
        "Site Specific Stem Volume Models for *Pinus patula* and *Pinus oocarpa*",
        "Site Specific Stem Volume Models for <i>Pinus patula</i> and <i>Pinus oocarpa</i>",
        r"{\textit{Pinus patula}} and {\textit{Pinus oocarpa}}",
    ),
    (
        "crossref-corpus/10_1246_bcsj_36_278.json",
        None,
        # one italic letter is part of the word: no space is inserted around it
        "The Cationic Copolymerization of Styrene and p-Brornostyrene in Liquid Sulfur Dioxide",
        "The Cationic Copolymerization of Styrene and *p*-Brornostyrene in Liquid Sulfur Dioxide",
        "The Cationic Copolymerization of Styrene and <i>p</i>-Brornostyrene in Liquid Sulfur "
        "Dioxide",
        r"{\textit{p}}-Brornostyrene",
    ),
    (
        "crossref-corpus/10_1111_j_2041_210x_2012_00247_x.json",
        None,
        "Treebase: an R package for discovery, access and manipulation of online phylogenies",
        "Treebase: an R package for discovery, access and manipulation of online phylogenies",
        '<span style="font-variant:small-caps;">T</span>reebase: an '
        '<span style="font-variant:small-caps;">R</span> package for discovery, access and '
        "manipulation of online phylogenies",
        r"{\textsc{T}}reebase: an {\textsc{R}} package",
    ),
    (
        "crossref/pnas-2012-1205508109.json",
        None,
        "Oncogenic mutations mimic and enhance dynamic events in the natural activation of "
        "phosphoinositide 3-kinase p110α (PIK3CA)",
        "Oncogenic mutations mimic and enhance dynamic events in the natural activation of "
        "phosphoinositide 3-kinase p110α (*PIK3CA*)",
        "Oncogenic mutations mimic and enhance dynamic events in the natural activation of "
        "phosphoinositide 3-kinase p110α (<i>PIK3CA</i>)",
        r"({\textit{PIK3CA}})",
    ),
    (
        "crossref-corpus/10_1111_jai_12009.json",
        None,
        "New record of the antenna codlet, Bregmaceros atlanticus Goode and Bean, 1886 "
        "(Gadiformes: Bregmacerotidae), from the northern Aegean Sea (Izmir Bay, Turkey)",
        "New record of the antenna codlet, *Bregmaceros atlanticus* Goode and Bean, 1886 "
        "(Gadiformes: Bregmacerotidae), from the northern Aegean Sea (Izmir Bay, Turkey)",
        "New record of the antenna codlet, <i>Bregmaceros atlanticus</i> Goode and Bean, 1886 "
        "(Gadiformes: Bregmacerotidae), from the northern Aegean Sea (Izmir Bay, Turkey)",
        r"{\textit{Bregmaceros atlanticus}} Goode",
    ),
]


@needs_fixtures
@pytest.mark.parametrize(("path", "doi", "linear", "md", "csl", "bib"), TITLES)
def test_titles_of_real_records_in_every_output(path, doi, linear, md, csl, bib):
    work = crossref_work(path, doi)
    assert work.title == linear
    rich = work.rich("title")
    assert rich.linear() == linear
    if md is not None:
        assert rich.markdown() == md
    if csl is not None:
        assert to_csl(work)["title"] == csl
    if bib is not None:
        assert bib in to_bibtex([work])
    # RIS has no markup: the Unicode text, never a tag
    assert f"TI  - {linear}" in to_ris([work])
    # the round trip through the stored form and the cache keeps every style
    assert RichText.from_markup(rich.to_markup()) == rich
    assert type(work).from_dict(work.to_dict()).rich("title") == rich


@pytest.mark.parametrize(
    ("raw", "linear", "plain"),
    [
        # the cases: superscripts are values, not digits to glue on
        ("22.2×10<sup>9</sup>/L", "22.2×10⁹/L", "22.2×109/L"),
        ("c<sub>p</sub>", "cₚ", "cp"),
        ("1<i>H</i>-indole", "1H-indole", "1H-indole"),
        ("Ca<sup>2+</sup> and CD4<sup>+</sup>", "Ca²⁺ and CD4⁺", "Ca2+ and CD4+"),
        ("90 kg ha<jats:sup>−1</jats:sup>", "90 kg ha⁻¹", "90 kg ha−1"),
        ("H<jats:sub>2</jats:sub>CO", "H₂CO", "H2CO"),  # formaldehyde: no space
        ("T<jats:sub>re</jats:sub> increased", "Tᵣₑ increased", "Tre increased"),
        # no Unicode form: ^(…) and _(…), never a changed value
        ("x<sup>q</sup>", "x^(q)", "xq"),
        ("E<sub>max,Q</sub>", "E_(max,Q)", "Emax,Q"),
        # marks that are raised by nature stay as they are
        ("Birdsbesafe<sup>®</sup> anti", "Birdsbesafe® anti", "Birdsbesafe® anti"),
        # MathML, linear
        (
            "<mml:math><mml:msubsup><mml:mi>x</mml:mi><mml:mi>i</mml:mi><mml:mn>2</mml:mn>"
            "</mml:msubsup></mml:math>",
            "xᵢ²",
            "xi2",
        ),
        (
            "<math><mfrac><mrow><mi>a</mi><mo>+</mo><mi>b</mi></mrow><mi>c</mi></mfrac></math>",
            "(a+b)/c",
            "(a+b)/c",
        ),
        ("<math><msqrt><mn>2</mn></msqrt></math>", "√2", "√2"),
        ("<math><mover><mi>x</mi><mo>¯</mo></mover></math>", "x̄", "x̄"),
        # lost spaces around an italic word are restored, not inside a word
        ("growth of<jats:italic>P. australis</jats:italic>produces", None, None),
    ],
)
def test_linear_and_plain_keep_every_character(raw, linear, plain):
    rich = parse(raw)
    if linear is not None:
        assert rich.linear() == linear
        assert rich.plain() == plain
    else:
        assert rich.linear() == "growth of P. australis produces"


@needs_fixtures
def test_jats_abstract_keeps_sub_and_superscripts_and_headings_as_labels():
    work = crossref_work("crossref-corpus/10_1039_d2fd00050d.json")
    assert "in H₂CO mediate" in work.abstract
    pnas = crossref_work("crossref/pnas-2014-1414271111.json")
    # "Significance" is the heading of a section, shown as a label, not a sentence of its own
    assert pnas.abstract.startswith("Significance: The inadequate mechanical properties")
    rich = pnas.rich("abstract")
    assert rich.runs[0] == Run("Significance", Style.LABEL)
    assert rich.markdown().startswith("**Significance**: The inadequate")
    wheat = crossref_work("crossref-corpus/10_7717_peerj_8892.json")
    assert "(0, 90, 150 and 210 kg ha⁻¹)" in wheat.abstract


def test_leading_abstract_heading_is_dropped_and_paragraphs_kept():
    raw = (
        "<jats:title>Abstract</jats:title><jats:p>First with <jats:italic>E. coli</jats:italic>"
        ".</jats:p><jats:sec><jats:title>Results</jats:title><jats:p>Second.</jats:p></jats:sec>"
    )
    assert clean_abstract(raw) == "First with E. coli.\n\nResults: Second."
    assert rich_abstract(raw).markdown() == "First with *E. coli*.\n\n**Results**: Second."


def test_markdown_escapes_data_and_keeps_styles_at_word_edges():
    rich = parse("<i>*bold* [x](http://e.org) @everyone</i> and <b>x</b>")
    md = rich.markdown()
    assert md.startswith("*\\*bold\\* \\[x\\](http\\://e.org) @\u200beveryone*")
    assert md.endswith(" and **x**")
    # "@" then an italic "everyone" cannot ping once the marks become "*"
    assert "@\u200b" in parse("@<i>everyone</i>").markdown()


def test_markdown_limit_cuts_text_not_markup():
    rich = parse("A study of <i>Escherichia coli</i> " + "growth " * 100)
    md = rich.markdown(60)
    assert len(md) <= 60 and md.endswith("…") and md.count("*") % 2 == 0


def test_citation_styles_render_italics_in_data_with_flip_flop():
    work = crossref_work_from("Growth of <i>Escherichia coli</i> at 10<sup>9</sup> cells")
    # APA italicises a work without container: the species flips to roman inside
    assert format_citation(work, "apa", markup="html").startswith(
        '<i>Growth of <span style="font-style:normal;">Escherichia coli</span> at '
        "10<sup>9</sup> cells</i>"
    )
    md = format_citation(work, "apa", markup="markdown")
    assert md.startswith("*Growth of* Escherichia coli *at 10⁹ cells*")
    assert format_citation(work, "apa").startswith("Growth of Escherichia coli at 10⁹ cells")
    # Vancouver does not italicise the title: the species keeps its italics
    assert "*Escherichia coli*" in format_citation(work, "vancouver", markup="markdown")


def crossref_work_from(title: str):
    record = crossref.parse_work(
        {
            "status": "ok",
            "message": {"DOI": "10.5555/rich", "title": [title], "type": "report"},
        }
    )
    return merge({"crossref": record})


def test_marks_round_trip_for_every_target():
    rich = parse("<b>Bold</b> <i>it</i> x<sup>2</sup> <scp>sc</scp>")
    marked = mark(rich)
    assert unmark(marked, "text") == "Bold it x² sc"
    assert unmark(marked, "markdown") == "**Bold** *it* x² sc"
    assert unmark(marked, "html") == (
        '<b>Bold</b> <i>it</i> x<sup>2</sup> <span style="font-variant:small-caps;">sc</span>'
    )


def _stripped(raw: str) -> str:
    """The source's characters without markup (an independent oracle: regex, not the parser):
    tags and MathML annotations removed, entities decoded, no whitespace."""
    for _ in range(4):  # some deposits escape their markup once more: "&lt;scp&gt;"
        raw = re.sub(r"<(mml:)?annotation.*?</(mml:)?annotation>", "", raw, flags=re.S)
        raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
    return "".join(unicodedata.normalize("NFC", raw).split())


ALL_TITLES = [
    (Path(f).name, item.get("DOI"), t)
    for f in sorted(glob.glob(str(FIXTURES / "crossref*" / "*.json")))
    if not Path(f).name.startswith("error")
    for item in (lambda d: (d.get("message") or {}).get("items") or [d.get("message") or {}])(
        json.loads(Path(f).read_text(encoding="utf-8"))
    )
    if isinstance(item, dict)
    for t in (item.get("title") or [])[:1]
    if isinstance(t, str)
]


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "doi", "raw"), ALL_TITLES, ids=[f"{n}:{d}" for n, d, _ in ALL_TITLES]
)
def test_every_recorded_title_keeps_its_characters_in_every_output(name, doi, raw):
    rich = parse(raw)
    if rich is None:
        assert not _stripped(raw)
        return
    source = _stripped(raw).replace("\u200b", "")
    # plain: exactly the source's characters (whitespace aside), none gained, none lost
    assert "".join(rich.plain().split()) == source
    linear = rich.linear()
    assert "<" not in linear.replace(" < ", "") and "&amp;" not in linear
    # Markdown shows the linear text once escapes and emphasis are read
    md = rich.markdown()
    shown = re.sub(r"\\(.)", r"\1", md.replace("**", "").replace("*", "").replace("\u200b", ""))
    assert "".join(shown.split()) == "".join(linear.replace("*", "").split())
    # CSL markup parses back to the same text and styles
    assert parse(rich.csl()).plain() == rich.plain()
    # BibTeX decodes (pylatexenc) back to the same characters
    latex = rich.latex(escape=_latex, protect=_latex_title)
    decoded = LatexNodes2Text().latex_to_text(latex)
    # (BibTeX writes typographic punctuation as LaTeX does: ‐ as -, ’ as ')
    assert _letters(decoded) == _letters(rich.plain())
    # a fixed point
    assert parse(linear).linear() == linear
    assert escape  # the one escaper is what markdown() uses (imported for the reader)


def _letters(text: str) -> str:
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PS")


# -- the plain fast path ------------------------------------------------------------------------
# ``parse`` returns printable ASCII without markup characters or spacing to tidy as it is,
# without its rounds: the answer must be the rounds' answer, for any text.

_NEAR_PLAIN = st.text(
    alphabet=st.sampled_from(list("aZ09 -.,;:!?()[]{}'\"/&<>#\t\n\u00e9\u00ad\x07")),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(_NEAR_PLAIN, st.booleans())
def test_plain_fast_path_matches_the_rounds(text, multiline):
    assert parse(text, multiline=multiline) == _parse_rounds(text, multiline)


@needs_fixtures
def test_plain_fast_path_matches_the_rounds_on_recorded_strings():
    strings: list[str] = []

    def walk(value):
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for name in ("openalex", "crossref", "unpaywall"):
        for path in sorted((FIXTURES / name).glob("*.json")):
            walk(json.loads(path.read_text(encoding="utf-8")))
    plain = [s for s in strings if _PLAIN.fullmatch(s)]
    assert len(plain) > 1000  # the path is taken by most recorded strings
    for text in strings:
        assert parse(text) == _parse_rounds(text, False), text
