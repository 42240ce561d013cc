"""bot.citeproc_py's parts, each against what citeproc-js does (the CSL test suite covers the
whole: tests/test_csl_suite.py)."""

from __future__ import annotations

import re

import pytest

from bot import citeproc_py, richtext
from bot.citeproc_py import names, numbers, textcase
from bot.citeproc_py.corrections import CORRECTIONS, sort_key
from bot.citeproc_py.disambiguation import suffix
from bot.citeproc_py.engine import note_fields, resolve_quotes

STYLE = """<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" class="in-text">
  <info><title>t</title><id>t</id><updated>2024-01-01T00:00:00+00:00</updated></info>
  <citation><layout><names variable="author"/></layout></citation>
  <bibliography>
    <layout suffix=".">
      <group delimiter=". ">
        <names variable="author"><name initialize-with=". " name-as-sort-order="all"/></names>
        <text variable="title" font-style="italic"/>
        <group delimiter=" "><label variable="page"/><text variable="page"/></group>
      </group>
    </layout>
  </bibliography>
</style>"""


def test_every_correction_names_its_section():
    assert len(CORRECTIONS) >= 15
    for correction in CORRECTIONS:
        assert correction.section and correction.summary


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
    assert numbers.page_range_end(first, last, fmt) == expected


@pytest.mark.parametrize(
    ("value", "variable", "expected", "plural"),
    [
        ("4-6", "issue", "4–6", True),  # citeproc-js: every numeric range, not pages only
        ("127-128", "issue", "127–128", True),
        ("1308-1309.e1", "page", "1308-1309.e1", True),  # not a range it can read: as typed
        ("604.4-604", "page", "604.4-604", False),  # …and one locator, "p."
        ("604-23", "page", "604–23", True),  # no page-range-format: no expansion
        ("e01-e09", "page", "e01–e09", True),
        ("2, 4", "volume", "2, 4", True),
        ("12", "page", "12", False),
    ],
)
def test_number_ranges(value, variable, expected, plural):
    assert numbers.render(value, variable) == expected
    assert numbers.is_plural(value, variable) is plural


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("after the games are over: life-history", "After the Games Are over: Life-History"),
        ("the rise of the (science) newsletter", "The Rise of the (Science) Newsletter"),
        ("a shiny r app under imperfect detection", "A Shiny r App under Imperfect Detection"),
        ("NK cells in mRNA vaccines", "NK Cells in mRNA Vaccines"),
        ("what it is for", "What It Is For"),
        ("we’re building it", "We’re Building It"),  # an unpaired ’ restores the next letter
        (
            'a <span class="nocase">mRNA-seq</span> atlas',
            'A <span class="nocase">mRNA-seq</span> Atlas',
        ),
    ],
)
def test_title_case(text, expected):
    assert textcase.title(text) == expected


def test_small_caps_keep_their_case_and_split_words():
    # citeproc-js: "<sc>T</sc>reebase" → "TReebase" (the tag splits the word)
    assert textcase.title('<span style="font-variant:small-caps;">T</span>reebase: an r') == (
        '<span style="font-variant: small-caps;">T</span>Reebase: An r'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d'un purpura", "d’un purpura"),
        ("E2SC '15", "E2SC ’15"),
        ("students' work", "students’ work"),
        ("O' Donoghue", "O’ Donoghue"),
        ('"Racial Epithet"', "\ue000Racial Epithet\ue001"),
        ("Sunburst 'HTML' Widget", "Sunburst \ue000HTML\ue001 Widget"),
        ("\"a\" and 'b'", "\ue000a\ue001 and \ue002b\ue003"),
        ("the “best” and ‘worst’", "the \ue000best\ue001 and \ue002worst\ue003"),
        ('an "unpaired quote', 'an "unpaired quote'),
        ("<i>E. coli</i> <b>x</b>", "\ue020E. coli\ue021 \ue022x\ue023"),
        ("a <i>stray tag", "a <i>stray tag"),  # no partner: literal text
        ('<span class="nocase">iPhone</span>', "\ue02eiPhone\ue02f"),
    ],
)
def test_read_csl(text, expected):
    assert richtext.read_csl(text) == expected


def test_locale_quotes_are_outer_or_inner_by_locale():
    en_gb = ("‘", "’", "“", "”")
    # en-GB: a ‘…’ in the data is the outer quotation, “…” the inner one
    marked = richtext.read_csl("the ‘big ones’ and “more”", en_gb)
    assert resolve_quotes(marked, en_gb) == "the ‘big ones’ and “more”"
    assert resolve_quotes("\ue000a \ue000b\ue001\ue001", en_gb) == "‘a “b”’"


@pytest.mark.parametrize(
    ("marked", "html", "markdown"),
    [
        (
            "\ue02aTitle \ue020E. coli\ue021\ue02b",
            '<i>Title <span style="font-style:normal;">E. coli</span></i>',
            "*Title* E. coli",
        ),
        (
            "\ue038a \ue022b\ue023\ue039",
            '<b>a <span style="font-weight:normal;">b</span></b>',
            "**a** b",
        ),
        (
            "\ue02aa \ue030v.\ue031 b\ue02b",
            '<i>a <span style="font-style:normal;">v.</span> b</i>',
            "*a* v. *b*",
        ),
        ("\ue036plain\ue037", "plain", "plain"),  # a style's "normal" with nothing to undo
    ],
)
def test_unmark_flip_flop(marked, html, markdown):
    assert richtext.unmark(marked, "html") == html
    assert richtext.unmark(marked, "markdown") == markdown
    assert richtext.unmark(marked, "text") == richtext.MARK_CHARS.sub("", marked)


@pytest.mark.parametrize(
    ("given", "terminator", "expected"),
    [
        ("Jae-sung", ". ", "J."),  # a lower-case part after a hyphen is not initialled
        ("Jean-François", ". ", "J.-F."),
        ("G. Th. A. M.", ". ", "G. Th. A. M."),
        ("T.Sh.", "", "TSh"),
        ("Xiong (Bill)", ". ", "X. (Bill)"),
        ("Amy Y-Hui", ".", "A.Y.-H."),
    ],
)
def test_initialize_with(given, terminator, expected):
    assert names.initialize_with(given, terminator) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            {"family": "Santos", "given": "André Luiz dos"},
            {"family": "Santos", "given": "André Luiz", "dropping-particle": "dos"},
        ),
        (
            {"family": "van Gulik", "given": "Robert"},
            {"family": "Gulik", "given": "Robert", "non-dropping-particle": "van"},
        ),
        (
            {"family": "Doe", "given": "John, Jr."},
            {"family": "Doe", "given": "John", "suffix": "Jr."},
        ),
        ({"family": '"van Dyke"', "given": "Dick"}, {"family": "van Dyke", "given": "Dick"}),
        ({"literal": "WHO"}, {"literal": "WHO"}),
    ],
)
def test_parse_name(name, expected):
    assert names.parse_name(name) == expected


def test_sort_keys_compare_as_citeproc_js():
    # spaces sort before letters ("Dale|" < "Dalebout|"), punctuation and accents do not count,
    # numbers by value
    assert sort_key("Dale, Zippy") < sort_key("Dalebout, Arnie")
    assert sort_key("A er det") < sort_key("Ab Delrahman")
    assert sort_key("Pánek") < sort_key("Pascal")
    assert sort_key("Title 2") < sort_key("Title 10")


def test_year_suffix_sequence():
    assert [suffix(n) for n in (0, 1, 25, 26, 27)] == ["a", "b", "z", "aa", "ab"]


def test_note_fields():
    item = note_fields(
        {
            "id": "x",
            "note": "container-title: Journal\nissued: 2020-05-01\neditor: Hall || W.C.\nrest",
        }
    )
    assert item["container-title"] == "Journal"
    assert item["issued"] == {"date-parts": [[2020, 5, 1]]}
    assert item["editor"] == [{"family": "Hall", "given": "W.C."}]
    assert item["note"] == "rest"


def test_render_items_from_inline_style():
    engine = citeproc_py.from_xml(STYLE)
    items = [
        {"id": "a", "type": "book", "title": "Growth of <i>E. coli</i>", "page": "604.4-604",
         "author": [{"family": "Kim", "given": "Jae-sung"}]},
        {"id": "b", "type": "book", "title": "Nothing\ue02a forged", "page": "4-6",
         "author": [{"family": "Abe", "given": "Ann"}]},
        {"id": "c", "type": "book"},
    ]  # fmt: skip
    out = citeproc_py.render(engine, items, "html")
    assert [i for i, _ in out] == [0, 1, 2]  # the style does not sort: input order
    by_index = dict(out)
    # as citeproc-js renders them (checked with scripts/citeproc_js_goldens.mjs)
    assert (
        by_index[0]
        == 'Kim, J. <i>Growth of <span style="font-style:normal;">E. coli</span></i>. page 604.4-604.'
    )
    assert by_index[1] == "Abe, A. <i>Nothing forged</i>. pages 4–6."  # private-use data dropped
    assert by_index[2] is None  # renders to nothing


def test_style_without_bibliography_is_refused():
    with pytest.raises(citeproc_py.StyleError):
        citeproc_py.from_xml(STYLE.replace("bibliography", "x-bibliography"))
    with pytest.raises(citeproc_py.StyleError):
        citeproc_py.from_xml("not xml")


def test_litbot_format_command(tmp_path, capsys):
    from bot import cli

    items = tmp_path / "items.json"
    items.write_text(
        '[{"id": "a", "type": "article-journal", "title": "On <i>E. coli</i>", "issue": "4-6",'
        ' "author": [{"family": "Kim", "given": "Jae-sung"}], "container-title": "J",'
        ' "issued": {"date-parts": [[2020]]}}]',
        encoding="utf-8",
    )
    assert cli.format_file(str(items), "apa", "text") == 0
    # as citeproc-js prints it (scripts/citeproc_js_goldens.mjs)
    assert capsys.readouterr().out == "Kim, J. (2020). On E. coli. J, (4–6).\n"
    assert cli.format_file(str(items), "apa", "markdown") == 0
    assert capsys.readouterr().out == "Kim, J. (2020). On *E. coli*. *J*, (4–6).\n"
    style = tmp_path / "lab.csl"
    style.write_text(STYLE, encoding="utf-8")
    assert cli.format_file(str(items), str(style), "html") == 0
    assert capsys.readouterr().out == (
        '<div class="csl-bib-body">\n'
        '  <div class="csl-entry">Kim, J. <i>On <span style="font-style:normal;">E. coli</span>'
        "</i>.</div>\n</div>\n"
    )
    assert cli.format_file(str(tmp_path / "missing.json"), "apa") == 2
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert cli.format_file(str(tmp_path / "bad.json"), "apa") == 2
    (tmp_path / "bad.csl").write_text("<style/>", encoding="utf-8")
    assert cli.format_file(str(items), str(tmp_path / "bad.csl")) == 2
    assert cli.format_file(str(items), "no-such-style") == 2
    assert "litbot:" in capsys.readouterr().err


def test_a_names_element_without_a_name_renders_alike_and_leaves_the_style_as_it_was():
    # citeproc-py inserts a default cs:name on each render (never found again): taken out, or
    # a long-lived worker's parsed style grows by one element per entry
    bare = '<names variable="author"/>'
    engine = citeproc_py.from_xml(
        re.sub(r"<names variable=\"author\"><name [^>]*/></names>", bare, STYLE)
    )
    items = [
        {"id": "a", "type": "book", "title": "T", "author": [{"family": "Kim", "given": "Jae"}]}
    ]
    size = sum(1 for _ in engine.style.root.iter())
    first = citeproc_py.render(engine, items, "text")
    assert "Kim" in first[0][1]
    for _ in range(3):
        assert citeproc_py.render(engine, items, "text") == first
    assert sum(1 for _ in engine.style.root.iter()) == size
