import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import richtext
from bot.richtext import _drop_invisible
from bot.text import clean_abstract, clean_text, rebuild_inverted_index, truncate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Crossref titles with HTML and whitespace lost around tags (real fixture titles)
        (
            "Gene Expression Profile of<i>Leishmania infantum chagasi</i>Promastigote",
            "Gene Expression Profile of Leishmania infantum chagasi Promastigote",
        ),
        ("Mesoporous TiO<sub>2</sub> Spheres", "Mesoporous TiO₂ Spheres"),
        ("<scp>T</scp>reebase: an<scp>R</scp>package", "Treebase: an R package"),
        (
            'Dominant<mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML" id="M1">'
            "<mml:mrow><mml:mi>M</mml:mi></mml:mrow></mml:math>-Matrices",
            "Dominant M-Matrices",
        ),
        ("p110\u03b1 (\n      <i>PIK3CA</i>\n      )", "p110α (PIK3CA)"),
        # entities, double-escaped entities, escaped markup
        ("Interactive &amp;amp; Data-Driven", "Interactive & Data-Driven"),
        ("&lt;i&gt;E. coli&lt;/i&gt; growth", "E. coli growth"),
        ("Caf&eacute; &#x2013; &#8212;", "Café – —"),
        # broken code points and Unicode normalisation
        ("Xun\ufffd Li", "Xun Li"),
        ("Mart\u0131\u0301n Farach-Colton", "Martín Farach-Colton"),
        ("Cafe\u0301", "Café"),
        ("zero\u200bwidth\u00a0space", "zerowidth space"),
        ("ctrl\x07char", "ctrlchar"),
        # plain text stays as it is
        ("p < 0.05 and AT&T", "p < 0.05 and AT&T"),
        ("宮地 元彦", "宮地 元彦"),
        ("   ", None),
        (None, None),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_output_is_nfc_without_tags_or_entities():
    raw = "<jats:p>A&amp;B <b>bold</b> &lt;tag&gt;</jats:p>"
    out = clean_text(raw)
    assert "<" not in out and "&amp;" not in out
    assert out == "A&B bold"


def test_clean_abstract_drops_jats_heading_and_keeps_paragraphs():
    raw = (
        "<jats:title>Abstract</jats:title>\n<jats:p>First paragraph with <jats:italic>"
        "italics</jats:italic>.</jats:p><jats:sec><jats:title>Results</jats:title>"
        "<jats:p>Second.</jats:p></jats:sec>"
    )
    assert clean_abstract(raw) == "First paragraph with italics.\n\nResults: Second."


def test_rebuild_inverted_index_places_every_word_at_every_position():
    index = {
        "Immune": [0],
        "escape": [1],
        "is": [2],
        "a": [3],
        "hallmark": [4],
        "of": [5],
        "cancer.": [6],
        "the": [7, 9],
        "and": [8],
    }
    assert rebuild_inverted_index(index) == "Immune escape is a hallmark of cancer. the and the"
    assert rebuild_inverted_index(None) is None
    assert rebuild_inverted_index({}) is None


def test_truncate_cuts_on_a_word_boundary():
    text = "word " * 100
    out = truncate(text, 50)
    assert len(out) <= 50 and out.endswith("…") and not out.endswith(" …")
    assert truncate("short", 50) == "short"


def reference_drop_invisible(text: str) -> str:
    """``_drop_invisible`` as it was, one character at a time: the reference for the new one."""
    if "\ufffd" not in text and text.replace("\n", " ").replace("\t", " ").isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            continue
        if ch == "\ufffd":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn"):
            continue
        if cat == "Cf" and ch not in "\u200d\u200c":
            continue
        out.append(ch)
    return "".join(out)


# Characters on each side of every rule: kept whitespace and joiners, dropped controls, format,
# private-use, unassigned and surrogate code points, the replacement character, odd spaces.
EDGE_CHARACTERS = (
    "\n\t\r\x00\x7f\x85\xa0\xad\u200b\u200c\u200d\u2028\u2029\u2060\ufeff\ufffd"
    "\ue000\U000f0000\u0378\ud800\udfff\U000e0001 a\u00e9\u4e2d"
)
ANY_CHARACTER = st.one_of(
    st.sampled_from(EDGE_CHARACTERS),
    st.integers(0, sys.maxunicode).map(chr),  # surrogates and unassigned code points too
    st.characters(),
)


@settings(max_examples=500, database=None)
@given(st.one_of(st.text(ANY_CHARACTER), st.text()))
def test_drop_invisible_matches_the_character_by_character_reference(text):
    assert _drop_invisible(text) == reference_drop_invisible(text)


def test_drop_invisible_matches_the_reference_on_every_code_point():
    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    assert _drop_invisible(everything) == reference_drop_invisible(everything)
    # distinct code points past the memo are judged afresh: the table stays bounded
    assert len(richtext._INVISIBLE) <= richtext._INVISIBLE_MEMO
