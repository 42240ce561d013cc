"""bot.citeproc_py's speed corrections change no output: an element skipped because the item
has none of its variables (``corrections._absent_plan``), a sort key rendered only when
the keys before it tie, and the one-call renders of cs:group, cs:macro, cs:choose and cs:text
(``corrections._one_call_renders``, checked against the methods they replace) print what the
full walk prints; the style tree is left as loaded. The render state's fields live in one
plain object per thread (``state.Fields``, read through ``STATE.tally`` on the hot paths) and
an item's reference is kept in the item until the engine switches sources."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest
from citeproc import model

from bot import citations, citeproc_py
from bot.citeproc_py import corrections
from scripts.compare_citeproc_js import corpus_works

STYLES = [
    "apa",
    "chicago-author-date",
    "harvard-cite-them-right",
    "modern-language-association",
    "ieee",
    "nature",
]


@functools.cache
def works() -> list:
    """The recorded Crossref corpus, and its first works again under one first author (so
    that disambiguation, year-suffixes and repeated authors take part)."""
    corpus = [w for w in corpus_works().values() if w.authors]
    first, year = corpus[0].authors[0], corpus[0].year
    again = [replace(w, authors=(first, *w.authors[1:]), year=year) for w in corpus[1:13]]
    return corpus + again


def _eager_sort(self, items, context):  # citeproc-py 0.11.1's Sort.sort: every key first
    keys = self.findall("cs:key", self.nsmap)
    values = [key.sort_keys(items, context) for key in keys]
    descending = [key.get("sort", "ascending").lower() == "descending" for key in keys]

    def compare(left, right):
        for k, desc in enumerate(descending):
            left_key, right_key = values[k][left], values[k][right]
            if left_key is not None and right_key is not None:
                try:
                    left_key, right_key = str(left_key.lower()), str(right_key.lower())
                except AttributeError:
                    pass
                try:
                    left_key, right_key = int(str(left_key)), int(str(right_key))
                except ValueError:
                    pass
                result = (left_key > right_key) - (left_key < right_key)
                if result:
                    return -result if desc else result
            elif left_key is not None:
                return -1
            elif right_key is not None:
                return 1
        return 0

    order = sorted(range(len(items)), key=functools.cmp_to_key(compare))
    return [items[i] for i in order]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("markup", ["text", "html"])
def test_skipping_and_lazy_sort_print_what_the_full_walk_prints(style, markup, monkeypatch):
    fast = citations.format_bibliography(works(), style, markup=markup, style_order=True)
    monkeypatch.setattr(corrections, "_renders_nothing", lambda element, item: False)
    monkeypatch.setattr(model.Sort, "sort", _eager_sort)
    full = citations.format_bibliography(works(), style, markup=markup, style_order=True)
    assert fast == full


STYLE = """<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" class="in-text">
  <info><title>t</title><id>t</id><updated>2024-01-01T00:00:00+00:00</updated></info>
  <citation><layout><names variable="author"/></layout></citation>
  <bibliography>
    <layout suffix=".">
      <group delimiter=". ">
        <names variable="author"/>
        <group delimiter=" "><text term="edition"/><text variable="edition"/></group>
        <text variable="title"/>
      </group>
    </layout>
  </bibliography>
</style>"""


def test_a_style_renders_the_same_however_often_it_is_used():
    """Memoised lookups on the parsed style (children, options, plans) hold across renders,
    including a cs:names without a cs:name, into which citeproc-py inserts a default one."""
    engine = citeproc_py.from_xml(STYLE)
    items = [
        {"id": "a", "type": "book", "title": "One", "author": [{"family": "Doe", "given": "J"}]},
        {"id": "b", "type": "book", "title": "Two", "edition": "2"},
        {"id": "c", "type": "book", "title": "Three"},
    ]
    first = citeproc_py.render(engine, items)
    assert [text for _, text in first] == ["J Doe. One.", "edition 2. Two.", "Three."]
    for _ in range(3):
        assert citeproc_py.render(engine, items) == first
        assert [t for _, t in citeproc_py.render(engine, items[::-1])] == [
            "Three.",
            *[t for _, t in first[:2]][::-1],
        ]


@pytest.mark.parametrize("style", [*STYLES, "vancouver"])
@pytest.mark.parametrize("markup", ["text", "html", "markdown"])
def test_one_call_renders_print_what_the_layered_renders_print(style, markup, monkeypatch):
    """cs:group, cs:macro, cs:choose and cs:text rendered in one call each, missing child
    elements and terms remembered (``corrections._one_call_renders``) print what the stacked
    corrections print, on a style parsed afresh under them (no memo carried over)."""
    fast = citations.format_bibliography(works(), style, markup=markup, style_order=True)
    assert corrections.LAYERED
    for (cls, name), method in corrections.LAYERED.items():
        monkeypatch.setattr(cls, name, method)
    citeproc_py.engine._load.cache_clear()  # (a fresh parse: element memos start empty)
    try:
        layered = citations.format_bibliography(works(), style, markup=markup, style_order=True)
    finally:
        citeproc_py.engine._load.cache_clear()
    assert fast == layered


CHOOSE = """<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" class="in-text">
  <info><title>t</title><id>t</id><updated>2024-01-01T00:00:00+00:00</updated></info>
  <citation><layout><names variable="author"/></layout></citation>
  <bibliography>
    <layout suffix="." delimiter=" ">
      <text variable="title"/>
      <choose>
        <if type="article" variable="title" match="all"><text value="A"/></if>
        <else-if variable="edition issue" match="none"><text value="B"/></else-if>
        <else-if is-numeric="edition"><text value="C"/></else-if>
        <else-if type="book chapter" variable="volume" match="any"><text value="D"/></else-if>
        <else-if type="report" match="none"><text value="E"/></else-if>
        <else><text value="F"/></else>
      </choose>
    </layout>
  </bibliography>
</style>"""


def test_a_failing_plain_condition_is_skipped_as_citeproc_py_skips_it(monkeypatch):
    """A cs:choose tests plain cs:if / cs:else-if branches (type, variable, match) without
    raising; those with other tests go through their own render."""
    items = [
        {"id": "a", "type": "article", "title": "T"},
        {"id": "b", "type": "book", "title": "T"},
        {"id": "c", "type": "report", "edition": "2"},
        {"id": "d", "type": "chapter", "edition": "second"},
        {"id": "e", "type": "report", "volume": "3", "issue": "1"},
        {"id": "f", "type": "report", "issue": "1"},
        {"id": "g", "type": "thesis", "issue": "1"},
    ]
    fast = [t for _, t in citeproc_py.render(citeproc_py.from_xml(CHOOSE), items)]
    assert fast == ["T A.", "T B.", "C.", "D.", "D.", "F.", "E."]
    for (cls, name), method in corrections.LAYERED.items():
        monkeypatch.setattr(cls, name, method)
    assert [t for _, t in citeproc_py.render(citeproc_py.from_xml(CHOOSE), items)] == fast


CASED = """<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0" class="in-text"{locale}>
  <info><title>t</title><id>t</id><updated>2024-01-01T00:00:00+00:00</updated></info>
  <citation><layout><names variable="author"/></layout></citation>
  <bibliography>
    <layout suffix=".">
      <group delimiter=", ">
        <text variable="title" text-case="title"/>
        <text variable="publisher"/>
      </group>
    </layout>
  </bibliography>
</style>"""


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("", ["A Study of Things, Acme.", "a study of things.", "A Study of Things, Acme."]),
        (
            ' default-locale="de-DE"',
            ["A Study of Things, Acme.", "a study of things.", "a study of things, Acme."],
        ),
    ],
)
def test_the_language_is_read_where_a_text_case_needs_it(locale, expected, monkeypatch):
    """A cs:text reads the item's language (or the style's default locale) only when it has
    a text-case (title case is for English only); the group's delimiter is read once."""
    items = [
        {"id": "a", "type": "book", "title": "a study of things", "language": "en-GB"},
        {"id": "b", "type": "book", "title": "a study of things", "language": "de"},
        {"id": "c", "type": "book", "title": "a study of things"},
    ]
    items[0]["publisher"] = items[2]["publisher"] = "Acme"
    style = CASED.format(locale=locale)
    fast = [t for _, t in citeproc_py.render(citeproc_py.from_xml(style), items)]
    for _ in range(2):  # (memos on the parsed style hold)
        assert [t for _, t in citeproc_py.render(citeproc_py.from_xml(style), items)] == fast
    for (cls, name), method in corrections.LAYERED.items():
        monkeypatch.setattr(cls, name, method)
    assert [t for _, t in citeproc_py.render(citeproc_py.from_xml(style), items)] == fast
    assert fast == expected


def test_the_render_state_is_one_set_of_fields_per_thread():
    """``STATE.<field>`` and ``STATE.tally.<field>`` (what the hot paths read) are the same
    value; another thread has its own, from the defaults."""
    import threading

    from bot.citeproc_py.state import STATE, Fields

    fields = STATE.tally
    for name in Fields.__annotations__:
        assert getattr(STATE, name) is getattr(fields, name)
    before = STATE.called
    citeproc_py.render(citeproc_py.from_xml(STYLE), [{"id": "a", "type": "book", "title": "T"}])
    assert STATE.called == fields.called > before  # (the hot paths count through tally)
    STATE.area = "sort"
    try:
        assert fields.area == "sort"
        seen = {}
        thread = threading.Thread(target=lambda: seen.update(area=STATE.area, t=STATE.tally))
        thread.start()
        thread.join()
        assert seen["area"] == "bibliography" and seen["t"] is not fields
    finally:
        STATE.area = "bibliography"


def test_an_items_reference_follows_the_source_it_is_read_from():
    """``CitationItem.reference`` is kept in the item once read; the engine switches from
    the sorting source to the rendering one, and the item then reads the new source."""
    from types import SimpleNamespace

    from citeproc import Citation, CitationItem

    bib = SimpleNamespace(source={"a": "sorting"})
    item = CitationItem("a")
    Citation([item]).bibliography = bib
    assert item.reference == "sorting"
    assert item.__dict__["reference"] == dict.get(item, "_reference") == "sorting"
    bib.source = {"a": "rendering"}
    assert item.reference == "sorting"  # (kept)
    dict.pop(item, "_reference", None)  # (as engine.render switches the source)
    item.__dict__.pop("reference", None)
    assert item.reference == "rendering"
