"""Property-based tests (hypothesis) for the two parsers of untrusted text (issue 10).

``parse_identifier`` reads what a user types; ``clean_text`` reads what upstream APIs send.
For any input at all they must answer, never crash and never hang: the identifier parser
returns an ``Identifier`` or raises its one documented user error, ``InvalidIdentifier``;
the cleaner returns plain NFC text that is a fixed point (cleaning it again changes nothing,
decoding its entities again changes nothing). Inputs mix arbitrary Unicode (controls,
surrogates, private use, unassigned) with the fragments that drive the parsers' branches.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import re
import unicodedata
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import bot.identifiers as identifiers
import bot.richtext as richtext
from bot.errors import InvalidIdentifier
from bot.identifiers import MAX_QUERY_LENGTH, find_identifiers, parse_identifier
from bot.models import Identifier, IdKind
from bot.placeholders import KIND_PLACEHOLDERS, PLACEHOLDERS, REAL_VALUES
from bot.text import MAX_CLEAN_ROUNDS, clean_abstract, clean_text
from tests.conftest import FIXTURES, load

PROPERTIES = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),  # a hang or quadratic blow-up fails, not just slows
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Pieces that steer the parsers into their branches: prefixes, links, brackets, escapes.
ID_FRAGMENTS = (
    "10.",
    "10.1186/",
    "10.1234.5/",
    "1234",
    "s12943-023-01737-7",
    "/",
    "%2F",
    "%25",
    "%",
    "doi:",
    "DOI ",
    "info:doi/",
    "urn:doi:",
    "https://",
    "http://doi.org/",
    "dx.doi.org/",
    "www.",
    "hdl.handle.net/",
    "nature.com/articles/",
    "/full",
    ".pdf",
    "?",
    "&",
    "#",
    "=",
    ";jsessionid=",
    "arXiv:",
    "arxiv.org/abs/",
    "2004.15011",
    "v3",
    "hep-th/9711200",
    "math.GT/",
    "PMID:",
    "pubmed.ncbi.nlm.nih.gov/",
    "12345678",
    "PMC",
    "PMCID ",
    "pmc.ncbi.nlm.nih.gov/articles/",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "<",
    ">",
    "`",
    "**",
    "||",
    '"',
    "“",
    "”",
    ".",
    ",",
    ";",
    ":",
    " ",
    "\n",
    "\t",
    "\u200b",
    "\ufeff",
    "\u00ad",
    "0",
)
# Markup and escapes as Crossref, JATS, MathML and hostile records carry them.
TEXT_FRAGMENTS = (
    "<i>",
    "</i>",
    "<b>",
    "<p>",
    "</p>",
    "<br/>",
    "<jats:p>",
    "</jats:p>",
    "<jats:title>",
    "<scp>",
    "</scp>",
    "<mml:math>",
    "<mml:annotation>",
    "</mml:annotation>",
    "<script>",
    "</script>",
    "<sub>",
    "<a href='x'>",
    "<![CDATA[",
    "]]>",
    "<![foo[",
    "<!--",
    "-->",
    "<!DOCTYPE html>",
    "<?xml?>",
    "<",
    ">",
    "</",
    "/>",
    "&",
    "amp;",
    "&amp;",
    "&lt;",
    "&gt;",
    "&#60;",
    "&#x3C;",
    "&#0;",
    "&#xD800;",
    "&nbsp;",
    "&eacute;",
    "&bogus;",
    "&amp",
    "&lt",
    ";",
    " ",
    "\n\n",
    "\t",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "a",
    "Z",
    "0",
    "\u0131",
    "\u0301",
    "\u0327",
    "\u0483",
    "\u0958",
    "\ufffd",
    "\x00",
    "\x07",
    "\x7f",
    "\u200b",
    "\u200d",
    "\u2028",
    "\ue000",
    "\U000e0001",
    "e\u0301",
)
ANY_CHAR = st.characters(codec=None, categories=None) | st.characters(categories=["Cs"])


def texts(fragments: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Arbitrary Unicode, fragments of the format, and long repetitions of either."""
    piece = st.sampled_from(fragments) | st.text(ANY_CHAR, max_size=4)
    mixed = st.lists(piece, max_size=40).map("".join)
    repeated = st.builds(lambda s, n: s * n, mixed, st.integers(0, 2_000))
    return st.text(ANY_CHAR, max_size=200) | mixed | repeated


ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
KNOWN_TAG = re.compile(
    r"</?(?:i|b|p|br|sub|sup|scp|jats:p|mml:math|script)\b[^<>]*>", re.I | re.ASCII
)  # as HTML: "<İ>" is no tag


# --- identifiers --------------------------------------------------------------------------------


@PROPERTIES
@given(texts(ID_FRAGMENTS))
@example("10." + "1" * 100_000)
@example("10.1234" + "/" * 100_000)
@example("(" * 250 + "10.1234/x" + ")" * 250)
@example("\ud800doi:10.1234/\udfff")
def test_parse_identifier_returns_an_identifier_or_the_documented_error(query):
    try:
        found = parse_identifier(query)
    except InvalidIdentifier as error:
        assert error.user_message and "\n" not in error.user_message
        return
    assert isinstance(found, Identifier) and found.raw == query
    assert found.kind in IdKind and found.value
    if found.kind is IdKind.DOI:
        assert found.value.startswith("10.") and found.value == found.value.lower()
        assert not any(c.isspace() for c in found.value) and found.value.isprintable()
    if found.kind in (IdKind.PMID, IdKind.PMCID):
        assert found.value.removeprefix("PMC").isdecimal()


@PROPERTIES
@given(texts(ID_FRAGMENTS))
@example("10.1234/" * 5_000)
@example("PMID" + " " * 50_000 + "x")
@example("PMCID" + " " * 50_000 + "x")
def test_find_identifiers_never_raises_and_finds_each_once(text):
    found = find_identifiers(text)
    assert all(isinstance(i, Identifier) for i in found)
    keys = [i.key for i in found]
    assert len(keys) == len(set(keys))


def test_an_over_long_query_is_refused_before_any_parsing():
    with pytest.raises(InvalidIdentifier, match=str(MAX_QUERY_LENGTH)):
        parse_identifier("10.1234/" + "a" * 1_000_000)


@pytest.mark.parametrize(
    "text",
    [
        "10.1234/" * 125_000,  # one token, 125,000 places where a DOI could start
        "https://x.org/?" + "a=10.1234/x&" * 80_000,
        "https://x.org/10.1234/a" + "/full" * 200_000,
        "10.1234/x" + ")" * 1_000_000,
        "PMID" + " " * 1_000_000 + "x",
        "PMCID" + " " * 1_000_000 + "x",
        "arXiv:" * 160_000,
    ],
    ids=[
        "doi-starts",
        "query",
        "view-suffixes",
        "brackets",
        "pmid-spaces",
        "pmcid-spaces",
        "arxiv",
    ],
)
def test_a_megabyte_of_running_text_costs_linear_work(text, monkeypatch):
    tried = []
    real = identifiers._clean_doi
    monkeypatch.setattr(identifiers, "_clean_doi", lambda *args: tried.append(1) or real(*args))
    find_identifiers(text)
    # Candidates per token are capped; before, every place a DOI could start re-read the
    # whole token (quadratic: hours here).
    assert len(tried) <= identifiers._MAX_DOI_STARTS_PER_TOKEN


# --- text -----------------------------------------------------------------------------------


def assert_clean(out: str | None, *, multiline: bool) -> None:
    if out is None:
        return
    assert out and out == out.strip()
    assert unicodedata.is_normalized("NFC", out)
    assert "\ufffd" not in out
    for char in out:
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs", "Co", "Cn") or (multiline and char == "\n"), repr(char)
        assert category != "Cf" or char in "\u200c\u200d", repr(char)
    if not multiline:
        assert "\n" not in out and "  " not in out
    # entity decoding is a fixed point: whatever still looks like an entity decodes to itself
    for match in ENTITY.finditer(out):
        assert html.unescape(match[0]) == match[0], match[0]
    assert KNOWN_TAG.search(out) is None, out


@PROPERTIES
@given(texts(TEXT_FRAGMENTS), st.booleans())
@example("&amp;amp;lt;b&amp;amp;gt;", False)  # the case: it used to leave "<b>"
@example("&amp;amp;amp;amp;lt;i&amp;amp;amp;amp;gt;x", False)
@example("<<<b>b>b>", False)  # removing a tag can build the next one
@example("&amp ; x", False)  # "&amp ;" becomes "&amp;" once the space before ";" goes
@example("<![foo[ bar", True)  # html.parser asserts on unknown marked sections
@example("\u0131\u0483\u0327", False)  # NFC reordering puts a mark after a dotless i
@example("\ud800 \udfff", False)
def test_clean_text_is_plain_nfc_and_a_fixed_point(raw, multiline):
    out = clean_text(raw, multiline=multiline)
    assert_clean(out, multiline=multiline)
    assert clean_text(out, multiline=multiline) == out


@PROPERTIES
@given(texts(TEXT_FRAGMENTS))
def test_clean_abstract_never_raises(raw):
    out = clean_abstract(raw)
    assert_clean(out, multiline=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("&amp;amp;lt;b&amp;amp;gt;Bold&amp;amp;lt;/b&amp;amp;gt; claims", "Bold claims"),
        ("p &amp;amp;lt; 0.05", "p < 0.05"),
        ("a < b and x<y", "a < b and x<y"),
        ("AT&amp;amp;amp;T", "AT&T"),
    ],
)
def test_entities_are_decoded_to_the_end(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "<" * 333_333 + "b>" * 333_333,  # one level of tags peeled per round
        "&" + "amp;" * 250_000 + "lt;b&gt;",  # one level of escaping peeled per round
        "<b>" * 333_333,
        "<a " + "x" * 1_000_000,
        "&lt;" * 250_000,
        "e" + "\u0301" * 1_000_000,
    ],
    ids=["nested-tags", "entity-chain", "tags", "open-tag", "entities", "marks"],
)
def test_a_pathological_megabyte_is_cleaned_in_bounded_rounds(raw, monkeypatch):
    rounds = []
    real = richtext._parse_round

    def counted(runs, multiline: bool):
        rounds.append(sum(len(r.text) for r in runs))
        return real(runs, multiline)

    monkeypatch.setattr(richtext, "_parse_round", counted)
    out = clean_text(raw)
    # Each round is linear in its input, inputs never grow, and the rounds are capped: the
    # work is bounded by a constant times the length, however deep the nesting.
    assert len(rounds) <= MAX_CLEAN_ROUNDS + richtext._SETTLE_ROUNDS
    assert all(b <= a for a, b in itertools.pairwise(rounds))
    assert clean_text(out) == out


# -- placeholders (issue "Metadata truth", part 4) ---------------------------------------------
# For any spelling of any placeholder in any scalar field of a real Crossref record, the parsed
# record is the one without that field, so no export or card can show it as a value.
PLACEHOLDER_RECORDS = (
    "crossref/addr-2015.json",
    "crossref/springer-book-chapter-2015.json",  # ISBN, editors' book
    "crossref-corpus/10_21326_ksdt_2008_18_018.json",  # the real "volume": "null"
)
SCALAR_FIELDS = (  # (path in the message, kind of field)
    (("volume",), "text"),
    (("issue",), "text"),
    (("page",), "text"),
    (("article-number",), "text"),
    (("publisher",), "text"),
    (("container-title", 0), "text"),
    (("language",), "language"),
    (("ISSN", 0), "text"),
    (("ISBN", 0), "text"),
    (("author", 0, "given"), "name"),
    (("author", 0, "family"), "name"),
    (("author", 0, "suffix"), "name"),
    (("author", 1, "given"), "name"),
)


def placeholder_spellings(kind: str) -> st.SearchStrategy[str]:
    words = sorted(
        (PLACEHOLDERS | KIND_PLACEHOLDERS.get(kind, frozenset())) - REAL_VALUES.get(kind, set())
    )
    spelled = st.builds(
        lambda word, case, pad, brackets: f"{pad}{brackets[0]}{case(word)}{brackets[1]}{pad}",
        st.sampled_from(words),
        st.sampled_from([str.lower, str.upper, str.title]),
        st.sampled_from(["", " ", "\n\t "]),
        st.sampled_from([("", ""), ("[", "]"), ("(", ")")]),
    )
    no_letters = st.text(  # "-", "—", "?", "…", "--": nothing but punctuation and spaces
        st.characters(categories=["Pd", "Po", "Ps", "Pe", "Sm", "Zs"]), max_size=4
    )
    return spelled | no_letters


@functools.cache
def placeholder_record(name: str) -> str:
    """A recorded Crossref body as JSON text, without its abstract (not a scalar field; parsing
    it only slows each example)."""
    data = load(name)
    data["message"].pop("abstract", None)
    return json.dumps(data)


def _set(message: dict, path: tuple, value) -> bool:
    """Put ``value`` at ``path`` (``...`` removes it); False when the path does not exist."""
    *parents, last = path
    where = message
    for key in parents:
        if isinstance(key, int):
            if not isinstance(where, list) or len(where) <= key:
                return False
        elif key not in where:
            return False
        where = where[key]
    if value is ...:
        where.pop(last, None)
    else:
        where[last] = value
    return True


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not beside the checkout")
@PROPERTIES
@given(st.data())
def test_a_placeholder_in_any_scalar_field_is_no_value(data):
    from bot.citations import to_bibtex, to_csl_json, to_ris
    from bot.merge import merge
    from bot.sources import crossref
    from bot.ui.cards import venue_line

    name = data.draw(st.sampled_from(PLACEHOLDER_RECORDS))
    path, kind = data.draw(st.sampled_from(SCALAR_FIELDS))
    placeholder = data.draw(placeholder_spellings(kind))
    with_placeholder = json.loads(placeholder_record(name))
    without = json.loads(placeholder_record(name))
    if isinstance(path[-1], int):  # a list field: [placeholder] vs no list
        changed = _set(with_placeholder["message"], path[:-1], [placeholder])
        _set(without["message"], path[:-1], ...)
    else:
        changed = _set(with_placeholder["message"], path, placeholder)
        _set(without["message"], path, ...)
    if not changed:
        return
    record = crossref.parse_work(with_placeholder)
    assert record == crossref.parse_work(without)
    work = merge({"crossref": record})
    stripped = placeholder.strip()
    for text in (to_bibtex([work]), to_ris([work])):
        if stripped:
            assert f"{{{stripped}}}" not in text and f"  - {stripped}\n" not in text
    if stripped:
        assert f'"{stripped}"' not in to_csl_json([work])
        assert stripped not in venue_line(work).split(" · ")[0].split()
