"""The fast paths of issue 13 give what the slow ones gave: a list page read without decoding
works (``ListLine``), pages by number counted from remembered positions (``_marks``, kept by
the bibliography's ``list_version``), and keyset reads with many ties on the first key.

Every figure here is an order, a count or a text: nothing is timed (bench/bib.py times them).
"""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from bot.bibliographies import Page
from bot.merge import merge
from bot.models import Author, Update, Work
from bot.sources.crossref import parse_work
from bot.storage import bibliographies as storage
from bot.storage.bibliographies import (
    ORDERS,
    BibliographyStore,
    Entry,
    ListLine,
    NewEntry,
    Owner,
    decode_entries,
)
from bot.storage.watch import WatchStore
from bot.ui.cards import list_line, notice_mark, render_page, render_search, short_citation
from tests.conftest import FIXTURES

OWNER = Owner.guild(1)
SORTS = ["added", "author", "year", "title"]


@pytest.fixture
def small_marks(monkeypatch):
    """Positions every 7 entries, used from the 12th: the paths of a 50,000-entry list on a
    small one."""
    monkeypatch.setattr(storage, "MARK_EVERY", 7)
    monkeypatch.setattr(storage, "MARKS_FROM", 12)


async def new_bib(store: BibliographyStore, name: str = "big") -> int:
    bib = await store.create(OWNER, name, by=1)
    assert bib is not None
    return bib.id


def tied(n: int, seed: int = 0) -> list[Work]:
    """``n`` works whose sort keys tie often (few families, years, titles differing in case)."""
    rng = random.Random(seed or n)
    families = ["Smith", "smith", "Zhou", "Ørsted", None]
    titles = ["Paper", "paper", "A study", "a Study", "Zebra"]
    out = []
    for i in range(n):
        family = rng.choice(families)
        authors = (Author(f"Ann {family}", family, "Ann"),) if family else ()
        out.append(
            Work(
                doi=f"10.5555/perf.{i}",
                title=f"{rng.choice(titles)} {i % 3}",
                authors=authors,
                year=rng.choice([2020, 2021, None]),
            )
        )
    return out


async def ordered_ids(store: BibliographyStore, bib_id: int, sort: str, tag: str | None = None):
    """Every entry's id in the list order, straight from SQL (the reference)."""
    where, args = "", [bib_id]
    if tag:
        where, args = " AND e.id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)", [bib_id, tag]
    rows = await store.db.all(
        f"SELECT e.id FROM entries e WHERE e.bibliography_id = ?{where} "
        f"ORDER BY {ORDERS[sort].by()}",
        args,
    )
    return [row[0] for row in rows]


async def every_page(store, bib_id, sort, tag=None) -> list[int]:
    total = (await store.page(OWNER, bib_id, sort=sort, tag=tag)).total
    ids = []
    for n in range(-(-total // 10)):
        found = await store.page(OWNER, bib_id, page=n, sort=sort, tag=tag)
        assert found.page == n
        ids += [e.id for e in found.entries]
    return ids


# -- list lines ---------------------------------------------------------------------------------


def fixture_works() -> list[Work]:
    out = []
    for path in sorted((FIXTURES / "crossref").glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("message-type") == "work":
            out.append(merge({"crossref": parse_work(data)}))
    return out


def marked_works() -> list[Work]:
    """Works for every mark and every way of naming authors a list line has."""
    base = Work(doi="10.5555/line.0", title="A *title* with `marks` and CO₂", year=2021)
    org = Author("The Consortium")
    plain = Author("Ann Smith", "Smith", "Ann")
    blank = Author("Only Name", "", "Given")
    return [
        base,
        dataclasses.replace(base, doi="10.5555/line.1", authors=(org,), year=None),
        dataclasses.replace(base, doi="10.5555/line.2", authors=(plain, blank)),
        dataclasses.replace(base, doi="10.5555/line.3", authors=(blank, plain, org)),
        dataclasses.replace(base, doi=None, title="No DOI " + "long " * 40, authors=(plain,)),
        dataclasses.replace(
            base, doi="10.5555/line.5", retracted=True, updates=(Update("retraction"),)
        ),
        dataclasses.replace(
            base,
            doi="10.5555/line.6",
            updates=(Update("correction", "10.5555/c"), Update("expression_of_concern")),
        ),
        dataclasses.replace(base, doi="10.5555/line.7", updates=(Update("erratum"),)),
        dataclasses.replace(base, doi="10.5555/line.8", updates=(Update("withdrawal"),)),
        dataclasses.replace(
            base, doi="10.5555/line.9", type="preprint", published_doi="10.5555/published"
        ),
        dataclasses.replace(base, doi="10.5555/line.10", published_doi="10.5555/p2"),
    ]


def old_line(number: int, entry: Entry) -> str:
    """A list line as it was made before ``ListLine``: from the whole work."""
    from bot.markdown import doi_url, link

    doi = link("doi", doi_url(entry.work.doi))
    doi = f" · {doi}" if doi else ""
    tags = f" `{' '.join('#' + t for t in entry.tags)}`" if entry.tags else ""
    return f"**{number}.** {notice_mark(entry.work)}{short_citation(entry.work)}{doi}{tags}"


async def test_a_page_shows_what_the_whole_work_showed(store):
    works = fixture_works() + marked_works()
    assert any(w.updates for w in works) and any(len(w.authors) > 2 for w in works)
    bib_id = await new_bib(store)
    tags = [("a", "b") if i % 3 else () for i in range(len(works))]
    await store.add_many(
        OWNER, bib_id, [NewEntry(w, tags=t) for w, t in zip(works, tags, strict=True)], by=1
    )
    seen = 0
    for n in range(-(-len(works) // 10)):
        page = await store.page(OWNER, bib_id, page=n, sort="title")
        for entry in page.entries:
            assert isinstance(entry.stored, str)  # not decoded by reading the page
            line = entry.line
            assert isinstance(entry.stored, str)  # nor by its list line
            assert line == ListLine.of(entry.work)
        lines = [list_line(i, e) for i, e in enumerate(page.entries, n * 10 + 1)]
        assert lines == [old_line(i, e) for i, e in enumerate(page.entries, n * 10 + 1)]
        seen += len(page.entries)
    assert seen == len(works)


async def test_marks_and_lines_of_the_watch_show_in_lists(store, db):
    """A notice the watch records later (it rewrites the stored JSON) shows in the list."""
    works = marked_works()[:3]
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in works], by=1)
    retracted = dataclasses.replace(
        works[2], retracted=True, updates=(Update("retraction", "10.5555/r"),)
    )
    await WatchStore(db).observe(works[2].doi.lower(), retracted, at=1.0)
    page = await store.page(OWNER, bib_id, sort="added")
    shown = {e.work_key: list_line(1, e) for e in page.entries}
    assert "⚠️ **Retracted** · " in shown[works[2].doi.lower()]
    shown = Page(page.bibliography, page.entries, page.total, page.page, "added", None)
    assert render_page(shown).description.count("Retracted") == 1


async def test_search_results_show_the_same_lines(store):
    works = marked_works()
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in works], by=1)
    found = await store.search(OWNER, bib_id, "title")
    assert len(found) == len(works) or len(found) == 10
    bib = await store.get_by_id(OWNER, bib_id)
    text = render_search(bib, "title", found).description
    assert text.splitlines() == [old_line(i, e) for i, e in enumerate(found, 1)]


def test_an_entry_decodes_its_work_once_and_as_the_eager_path_does():
    work = marked_works()[6]
    data = json.dumps(work.to_dict(), ensure_ascii=False)
    row = (1, 2, "k", data, "note", 5, "2026-01-01", "key", "a b", None, None)
    eager = decode_entries([row])[0]
    lazy = Entry(1, 2, "k", data, "note", ("a", "b"), 5, "2026-01-01", "key")
    assert lazy == eager and lazy.work == eager.work == work
    assert lazy.work is lazy.work  # decoded once
    assert lazy.line == eager.line == ListLine.of(work)


# -- pages by number from remembered positions -----------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_by_number_from_marks_are_the_offsets(store, sort, small_marks):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(131)], by=1)
    assert await every_page(store, bib_id, sort) == await ordered_ids(store, bib_id, sort)
    marks = store._marked.get((bib_id, sort, None))
    assert marks is not None and len(marks[1]) == -(-131 // 7)


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_by_number_with_a_tag(store, sort, small_marks):
    bib_id = await new_bib(store)
    items = [NewEntry(w, tags=("odd",) if i % 2 else ()) for i, w in enumerate(tied(120))]
    await store.add_many(OWNER, bib_id, items, by=1)
    expected = await ordered_ids(store, bib_id, sort, "odd")
    assert await every_page(store, bib_id, sort, "odd") == expected and len(expected) == 60


async def test_every_change_to_a_list_moves_its_version_and_pages_follow(store, db, small_marks):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(90)], by=1)

    async def version() -> int:
        return (await db.one("SELECT list_version FROM bibliographies WHERE id = ?", (bib_id,)))[0]

    async def check(sort: str = "author") -> None:
        assert await every_page(store, bib_id, sort) == await ordered_ids(store, bib_id, sort)

    await check()
    before = await version()
    # an entry out, in, a tag, a sort key changed: each moves the version, pages follow
    gone = (await store.page(OWNER, bib_id, page=3, sort="author")).entries[0]
    assert await store.remove(OWNER, bib_id, gone.work_key)
    assert await version() != before
    await check()
    before = await version()
    await store.add_many(
        OWNER,
        bib_id,
        [NewEntry(dataclasses.replace(tied(1)[0], doi="10.5555/new", title="Aardvark"))],
        by=1,
    )
    assert await version() != before
    await check()
    before = await version()
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE entries SET first_author = 'aaa', title = 'Aaa' WHERE id = ?",
            ((await ordered_ids(store, bib_id, "author"))[-1],),
        )
    assert await version() != before
    await check()
    await check("title")
    before = await version()
    some = (await store.page(OWNER, bib_id, page=4, sort="author")).entries[0]
    await store.add_many(OWNER, bib_id, [NewEntry(some.work, tags=("new",))], by=1)
    assert await version() != before
    assert await every_page(store, bib_id, "author", "new") == [some.id]
    # a note, a key, or the watch refreshing a saved work's notices leave the order alone
    before = await version()
    await store.add_many(OWNER, bib_id, [NewEntry(some.work, note="a note")], by=1)
    await store.keep_cite_keys(OWNER, bib_id, {some.work_key: "zzzUnique"})
    refreshed = dataclasses.replace(some.work, updates=(Update("correction", "10.5555/c"),))
    await WatchStore(db).observe(some.work_key, refreshed, at=2.0)
    assert await version() == before
    await check()


async def test_a_new_bibliography_with_a_deleted_ones_id_is_not_taken_for_it(store, db):
    first = await new_bib(store, "one")
    version = (await db.one("SELECT list_version FROM bibliographies WHERE id = ?", (first,)))[0]
    assert await store.delete(OWNER, first) == 0
    again = await new_bib(store, "two")
    assert again == first  # SQLite reuses the largest id
    renewed = (await db.one("SELECT list_version FROM bibliographies WHERE id = ?", (again,)))[0]
    assert renewed != version


# -- keyset reads with ties on the first key ---------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
async def test_export_rows_in_small_batches_are_the_order_once_each(store, sort):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(73)], by=1)
    read = [row.id async for rows in store.rows(OWNER, bib_id, sort=sort, batch=6) for row in rows]
    assert read == await ordered_ids(store, bib_id, sort)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("sort", SORTS)
async def test_every_anchor_gives_the_entries_next_to_it(store, sort, reverse):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(40)], by=1)
    order = ORDERS[sort]
    expected = await ordered_ids(store, bib_id, sort)
    keys = ", ".join(order.keys)
    for place, entry_id in enumerate(expected):
        values = tuple(
            await store.db.one(f"SELECT {keys} FROM entries e WHERE e.id = ?", (entry_id,))
        )
        for inclusive in (False, True):
            near, args = order.following([bib_id], values, 5, reverse=reverse, inclusive=inclusive)
            rows = await store.db.all(f"SELECT id FROM ({near} LIMIT 5)", args)
            if reverse:
                want = expected[max(0, place - 5 + inclusive) : place + inclusive][::-1]
            else:
                want = expected[place + (not inclusive) : place + (not inclusive) + 5]
            assert [row[0] for row in rows] == want, (place, inclusive)


# -- citeproc: registered keys by a dict ---------------------------------------------------------


def test_registered_keys_answer_as_the_list_does():
    from bot.citeproc_py.corrections import RegisteredKeys

    keys = RegisteredKeys(["i0", "i1", "i0"])
    plain = ["i0", "i1", "i0"]
    for ops in (
        lambda k: k.append("i2"),
        lambda k: k.insert(0, "i3"),
        lambda k: k.remove("i0"),
        lambda k: k.reverse(),
        lambda k: k.extend(["i4", "i1"]),
        lambda k: k.__setitem__(0, "i5"),
        lambda k: k.pop(),
        lambda k: k.sort(),
    ):
        ops(keys)
        ops(plain)
        assert list(keys) == plain
        for key in ("i0", "i1", "i2", "i3", "i4", "i5", "i9"):
            assert (key in keys) == (key in plain)
            if key in plain:
                assert keys.index(key) == plain.index(key)
            else:
                with pytest.raises(ValueError):
                    keys.index(key)


def test_a_bibliography_registers_its_keys_in_registered_keys():
    from citeproc import frontend

    from bot.citeproc_py import engine
    from bot.citeproc_py.corrections import RegisteredKeys
    from bot.styles import lookup, style_path

    info = lookup("ieee")
    assert info is not None
    style = engine.load(style_path(info))
    bib = frontend.CitationStylesBibliography(style.style, engine._Source(), engine._Marks)
    assert isinstance(bib.keys, RegisteredKeys)
    bib.sort()
    assert isinstance(bib.keys, RegisteredKeys)
