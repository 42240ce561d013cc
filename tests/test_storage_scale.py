"""Bibliographies at size: keyset pages, kept entry counts, bulk inserts, streamed exports.

Every figure here is a count, an order or a text: nothing is timed (bench/bib.py times them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random

import aiosqlite
import pytest

from bot import citations, exports
from bot.bibliographies import Actor
from bot.exports import unique_key, user_key
from bot.merge import merge
from bot.models import Author, Work
from bot.sources.crossref import parse_work
from bot.storage.bibliographies import ORDERS, BibliographyStore, NewEntry, Owner, entry_row
from bot.storage.database import MIGRATIONS, _statements, open_database
from bot.storage.works import work_key
from tests.conftest import FIXTURES
from tests.world import litbot, seeded

OWNER = Owner.guild(1)
OTHER = Owner.guild(2)
SORTS = ["added", "author", "year", "title"]


def work(i: int, family: str | None = "Smith", year: int | None = 2020, title: str = "") -> Work:
    authors = (Author(f"Ann {family}", family, "Ann"),) if family else ()
    return Work(doi=f"10.5555/scale.{i}", title=title or f"Paper {i}", authors=authors, year=year)


def letters(i: int) -> str:
    """7 → "h", 12 → "bc": a number as letters (BibTeX key stems keep letters only)."""
    return "".join(chr(ord("a") + int(d)) for d in str(i))


def tied(n: int) -> list[Work]:
    """``n`` works whose sort keys tie often: few families, few years (some none), titles
    that differ only in case, everything added in one transaction (one timestamp)."""
    rng = random.Random(n)
    families = ["Smith", "smith", "Zhou", "Ørsted", None]
    years = [2020, 2021, None]
    titles = ["Paper", "paper", "A study", "a Study", "Zebra"]
    return [
        work(i, rng.choice(families), rng.choice(years), f"{rng.choice(titles)} {i % 3}")
        for i in range(n)
    ]


async def new_bib(store: BibliographyStore, name: str = "big", owner: Owner = OWNER) -> int:
    bib = await store.create(owner, name, by=1)
    assert bib is not None
    return bib.id


async def ordered_ids(store: BibliographyStore, bib_id: int, sort: str) -> list[int]:
    """Every entry's id in the list order, read straight from SQL (the reference)."""
    rows = await store.db.all(
        f"SELECT e.id FROM entries e WHERE e.bibliography_id = ? ORDER BY {ORDERS[sort].by()}",
        (bib_id,),
    )
    return [row[0] for row in rows]


# -- keyset pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_by_button_are_the_pages_by_number_with_ties_everywhere(store, sort):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(95)], by=1)
    expected = await ordered_ids(store, bib_id, sort)
    by_number = [
        [e.id for e in (await store.page(OWNER, bib_id, page=n, sort=sort)).entries]
        for n in range(10)
    ]
    assert [i for p in by_number for i in p] == expected and [len(p) for p in by_number] == [
        10
    ] * 9 + [5]

    forward, found = [], await store.page(OWNER, bib_id, sort=sort)
    forward.append([e.id for e in found.entries])
    while found.page < 9:
        found = await store.page(
            OWNER, bib_id, page=found.page + 1, sort=sort, after=found.entries[-1].id
        )
        forward.append([e.id for e in found.entries])
    assert forward == by_number

    backward = [forward[-1]]
    while found.page > 0:
        found = await store.page(
            OWNER, bib_id, page=found.page - 1, sort=sort, before=found.entries[0].id
        )
        backward.insert(0, [e.id for e in found.entries])
    assert backward == by_number


@pytest.mark.parametrize("sort", SORTS)
async def test_pages_by_button_with_a_tag(store, sort):
    bib_id = await new_bib(store)
    works = tied(60)
    items = [NewEntry(w, tags=("even",) if i % 2 == 0 else ()) for i, w in enumerate(works)]
    await store.add_many(OWNER, bib_id, items, by=1)
    first = await store.page(OWNER, bib_id, sort=sort, tag="even")
    second = await store.page(
        OWNER, bib_id, page=1, sort=sort, tag="even", after=first.entries[-1].id
    )
    by_number = await store.page(OWNER, bib_id, page=1, sort=sort, tag="even")
    assert first.total == 30 and [e.id for e in second.entries] == [e.id for e in by_number.entries]
    assert all(e.tags == ("even",) for e in second.entries)


async def test_a_removed_anchor_falls_back_to_the_page_number(store):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(35)], by=1)
    first = await store.page(OWNER, bib_id, sort="author")
    anchor = first.entries[-1]
    assert await store.remove(OWNER, bib_id, anchor.work_key)
    second = await store.page(OWNER, bib_id, page=1, sort="author", after=anchor.id)
    expected = (await ordered_ids(store, bib_id, "author"))[10:20]
    assert second.page == 1 and [e.id for e in second.entries] == expected


async def test_entries_removed_before_the_page_do_not_shift_it(store):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(40)], by=1)
    first = await store.page(OWNER, bib_id, sort="title")
    for entry in first.entries[:3]:  # someone removes entries of page 1 while it is shown
        await store.remove(OWNER, bib_id, entry.work_key)
    second = await store.page(OWNER, bib_id, page=1, sort="title", after=first.entries[-1].id)
    order = await ordered_ids(store, bib_id, "title")
    start = order.index(first.entries[-1].id) + 1
    assert [e.id for e in second.entries] == order[start : start + 10]  # nothing skipped
    assert second.total == 37


async def test_too_few_entries_before_an_anchor_give_the_first_page(store):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(w) for w in tied(30)], by=1)
    third = await store.page(OWNER, bib_id, page=2, sort="added")
    first = await store.page(OWNER, bib_id, page=0, sort="added")
    for entry in first.entries[:4]:
        await store.remove(OWNER, bib_id, entry.work_key)
    # ◀ from page 3 lands on page 2 (still ten entries before page 3) …
    second = await store.page(OWNER, bib_id, page=1, sort="added", before=third.entries[0].id)
    assert len(second.entries) == 10 and second.page == 1
    # … and ◀ again: six entries are left before it, so the first page, whole
    again = await store.page(OWNER, bib_id, page=0, sort="added", before=second.entries[0].id)
    assert (
        again.page == 0
        and [e.id for e in again.entries] == (await ordered_ids(store, bib_id, "added"))[:10]
    )


async def test_an_anchor_from_another_bibliography_or_owner_reads_nothing_of_it(store):
    mine = await new_bib(store)
    theirs = await new_bib(store, "theirs", OTHER)
    await store.add_many(OWNER, mine, [NewEntry(work(i)) for i in range(15)], by=1)
    await store.add_many(
        OTHER, theirs, [NewEntry(work(100 + i, "Secret")) for i in range(15)], by=1
    )
    foreign = (await store.page(OTHER, theirs)).entries[0].id
    page = await store.page(OWNER, mine, page=1, after=foreign)  # as if from a forged button
    assert page.entries and all(e.bibliography_id == mine for e in page.entries)
    assert (await store.page(OWNER, theirs, after=foreign)) == ([], 0, 0, None)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("sort", SORTS)
async def test_a_page_seeks_the_sort_index_and_sorts_nothing(store, sort, reverse):
    """The query a ▶ (◀) button runs: one range per key on the order's index, each read in
    index order up to the page's size; no scan, and no sort but of the picked rows."""
    order = ORDERS[sort]
    near, args = order.following([1], [1] * len(order.keys), 10, reverse=reverse)
    inner = f"SELECT id FROM ({near} LIMIT ?)"
    plan = await store.db.all(
        f"EXPLAIN QUERY PLAN {store._page_sql(inner, order)}", [*args, 10, "guild", 1, 1]
    )
    details = [row[3] for row in plan]
    seeks = [d for d in details if "entries_by" in d and "e USING" in d]
    assert len(seeks) == len(order.keys), details  # one range per key
    assert all("COVERING INDEX" in d and (">" in d or "<" in d) for d in seeks), details
    assert not any(d.startswith("SCAN e") for d in details), details
    # no range is sorted whole: a temporary tree only ever sorts a range's picked rows
    children: dict[int, list[str]] = {}
    for _node, parent, _, detail in plan:
        children.setdefault(parent, []).append(detail)
    for siblings in children.values():
        if any(d.startswith("SEARCH e USING COVERING INDEX") for d in siblings):
            assert not any("TEMP B-TREE" in d for d in siblings), details


# -- entry counts -------------------------------------------------------------------------------


async def counted(store: BibliographyStore, bib_id: int) -> tuple[int, int]:
    """(the kept count, a real COUNT)."""
    kept = (await store.db.one("SELECT entry_count FROM bibliographies WHERE id = ?", (bib_id,)))[0]
    real = (
        await store.db.one("SELECT COUNT(*) FROM entries WHERE bibliography_id = ?", (bib_id,))
    )[0]
    return kept, real


async def test_the_count_follows_adds_updates_removes_and_deletes(store):
    bib_id = await new_bib(store)
    other = await new_bib(store, "other")
    await store.add_many(OWNER, bib_id, [NewEntry(work(i)) for i in range(30)], by=1)
    await store.add_many(OWNER, other, [NewEntry(work(i)) for i in range(5)], by=1)
    assert await counted(store, bib_id) == (30, 30)
    await store.add_many(OWNER, bib_id, [NewEntry(work(i), note="n") for i in range(25, 40)], by=1)
    assert await counted(store, bib_id) == (40, 40)  # 10 new, 5 updated
    for i in range(7):
        assert await store.remove(OWNER, bib_id, f"10.5555/scale.{i}")
    assert not await store.remove(OWNER, bib_id, "10.5555/scale.0")  # already gone
    assert await counted(store, bib_id) == (33, 33)
    assert (await store.get_by_id(OWNER, bib_id)).size == 33
    assert await store.count(OWNER, bib_id) == 33 and await store.count(OTHER, bib_id) is None
    assert await store.delete(OWNER, bib_id) == 33
    assert await counted(store, other) == (5, 5)  # the other bibliography is untouched


async def test_a_failed_add_changes_no_count(store):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(work(i)) for i in range(3)], by=1)
    broken = [NewEntry(work(10)), NewEntry(dataclasses.replace(work(11), year="x" * 10))]

    async def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    conn = store.db.conn
    real = conn.executemany
    conn.executemany = failing  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError):
            await store.add_many(OWNER, bib_id, broken, by=1)
    finally:
        conn.executemany = real  # type: ignore[method-assign]
    assert await counted(store, bib_id) == (3, 3)


async def test_the_count_stays_right_under_concurrent_adds(store):
    bib_id = await new_bib(store)
    batches = [[NewEntry(work(j)) for j in range(i, i + 20)] for i in range(0, 200, 10)]
    await asyncio.gather(*(store.add_many(OWNER, bib_id, b, by=1) for b in batches))
    await asyncio.gather(
        *(store.remove(OWNER, bib_id, f"10.5555/scale.{i}") for i in range(0, 200, 3))
    )
    kept, real = await counted(store, bib_id)
    assert kept == real == 210 - len(range(0, 200, 3))


async def test_imports_keep_the_count(fixtures_dir, tmp_path):
    async with litbot(tmp_path, seeded(fixtures_dir)) as bot:
        alice = Actor.in_dm(7)
        text = "\n".join(f"@misc{{k{i}, title={{Paper {i}}}}}" for i in range(120))
        report = await bot.bibs.import_file(alice, "many.bib", text.encode())
        again = await bot.bibs.import_file(alice, "many.bib", text.encode())
        bib = await bot.bibs.resolve(alice, None)
        assert len(report.added) == 120 and len(again.duplicates) == 120
        assert bib.size == 120 and await counted(bot.bibs.store, bib.id) == (120, 120)


async def test_the_migration_counts_what_older_databases_hold(tmp_path):
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        for script in MIGRATIONS[:5]:  # a database as litbot left it before migration 6
            for statement in _statements(script):
                await conn.execute(statement)
        await conn.execute("PRAGMA user_version = 5")
        for bib_id, n in ((1, 12), (2, 0), (3, 3)):
            await conn.execute(
                "INSERT INTO bibliographies VALUES (?, 'guild', 1, ?, ?, 1, 'now')",
                (bib_id, f"b{bib_id}", f"b{bib_id}"),
            )
            for i in range(n):
                row = entry_row(work(bib_id * 100 + i, year=None if i % 2 else 2001))
                await conn.execute(
                    "INSERT INTO entries(bibliography_id, work_key, work, title, first_author, "
                    "year, added_by, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    (bib_id, *row[:5], f"2026-01-0{1 + i % 9}", "now"),
                )
    db = await open_database(path)
    try:
        store = BibliographyStore(db)
        assert [(b.name, b.size) for b in await store.list(OWNER)] == [
            ("b1", 12),
            ("b2", 0),
            ("b3", 3),
        ]
        page = await store.page(OWNER, 1, sort="year")
        assert [e.work.year for e in page.entries] == [2001] * 6 + [None] * 4  # NULLs last
        await store.add_many(OWNER, 2, [NewEntry(work(900))], by=1)
        assert await counted(store, 2) == (1, 1)
    finally:
        await db.close()


# -- bulk inserts -------------------------------------------------------------------------------


async def reference_add_many(conn, bib_id: int, items: list[NewEntry], by: int, now: str):
    """The add_many of before (one SELECT per entry), kept as the reference for its rules."""
    added, updated = [], []
    cur = await conn.execute(
        "SELECT cite_key FROM entries WHERE bibliography_id = ? AND cite_key IS NOT NULL",
        (bib_id,),
    )
    taken = {row[0].casefold() for row in await cur.fetchall()}
    for item in items:
        key = work_key(item.work)
        chosen = user_key(item.cite_key)
        cur = await conn.execute(
            "SELECT id, cite_key FROM entries WHERE bibliography_id = ? AND work_key = ?",
            (bib_id, key),
        )
        row = await cur.fetchone()
        if row is None:
            _, data, title, first, year, stem = entry_row(item.work)
            cur = await conn.execute(
                "INSERT INTO entries(bibliography_id, work_key, work, title, first_author, year, "
                "note, added_by, added_at, updated_at, cite_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (bib_id, key, data, title, first, year, item.note, by, now, now,
                 unique_key(chosen or stem, taken)),
            )  # fmt: skip
            entry_id = cur.lastrowid
            added.append(key)
        else:
            entry_id, current = row[0], row[1]
            if item.note is not None:
                await conn.execute(
                    "UPDATE entries SET note = ? WHERE id = ?", (item.note, entry_id)
                )
            if chosen and chosen != current:
                mine = current.casefold() if current else None
                if chosen.casefold() == mine or chosen.casefold() not in taken:
                    taken.discard(mine or "")
                    taken.add(chosen.casefold())
                    await conn.execute(
                        "UPDATE entries SET cite_key = ? WHERE id = ?", (chosen, entry_id)
                    )
            updated.append(key)
        if item.tags is not None:
            await conn.execute("DELETE FROM entry_tags WHERE entry_id = ?", (entry_id,))
            await conn.executemany(
                "INSERT OR IGNORE INTO entry_tags(entry_id, tag) VALUES (?, ?)",
                [(entry_id, tag) for tag in item.tags],
            )
    return added, updated


async def state(store: BibliographyStore, bib_id: int):
    rows = await store.db.all(
        "SELECT e.work_key, e.note, e.cite_key, (SELECT group_concat(tag, ' ') FROM "
        "(SELECT tag FROM entry_tags t WHERE t.entry_id = e.id ORDER BY tag)) "
        "FROM entries e WHERE bibliography_id = ? ORDER BY e.id",
        (bib_id,),
    )
    return [tuple(row) for row in rows]


def random_batch(rng: random.Random, size: int) -> list[NewEntry]:
    """Entries that collide in every way: the same work twice, the same key stem, keys the
    user chose that another entry has (in another case), notes and tags set or left alone."""
    out = []
    for _ in range(size):
        i = rng.randrange(40)
        w = work(i, rng.choice(["Smith", "Smyth", "Ørsted"]), rng.choice([2020, 2021]), "Same")
        key = rng.choice([None, None, "smith2020same", "Smith2020Same", f"k{i % 7}", "bad key"])
        out.append(
            NewEntry(
                w,
                note=rng.choice([None, f"note {rng.randrange(9)}"]),
                tags=rng.choice([None, (), ("a",), ("a", "b")]),
                cite_key=key,
            )
        )
    return out


@pytest.mark.parametrize("seed", range(6))
async def test_bulk_inserts_follow_the_rules_of_one_entry_at_a_time(tmp_path, seed):
    rng = random.Random(seed)
    batches = [random_batch(rng, rng.randrange(1, 60)) for _ in range(4)]
    outcomes = []
    for kind in ("bulk", "reference"):
        db = await open_database(tmp_path / f"{kind}.sqlite3")
        try:
            store = BibliographyStore(db)
            bib_id = await new_bib(store)
            results = []
            for batch in batches:
                if kind == "bulk":
                    results.append(await store.add_many(OWNER, bib_id, batch, by=1))
                else:
                    async with db.transaction() as conn:
                        results.append(await reference_add_many(conn, bib_id, batch, 1, "now"))
            outcomes.append((results, await state(store, bib_id), await counted(store, bib_id)))
        finally:
            await db.close()
    assert outcomes[0] == outcomes[1]


async def test_a_bulk_insert_asks_for_existing_entries_once(store):
    bib_id = await new_bib(store)
    await store.add_many(OWNER, bib_id, [NewEntry(work(i)) for i in range(0, 300, 2)], by=1)
    statements: list[str] = []
    await store.db.conn.set_trace_callback(statements.append)
    try:
        items = [NewEntry(work(i), tags=("x",)) for i in range(300)]  # half new, half there
        added, updated = await store.add_many(OWNER, bib_id, items, by=1)
    finally:
        await store.db.conn.set_trace_callback(None)
    assert len(added) == len(updated) == 150
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # ownership, entries there, other identifiers, look-alikes (first author and year), keys
    # taken, new ids: a constant number, whatever the batch's size
    assert len(selects) <= 6, selects
    assert await counted(store, bib_id) == (300, 300)


async def test_duplicates_in_one_batch_are_added_once_then_updated(store):
    bib_id = await new_bib(store)
    items = [
        NewEntry(work(1), note="first", tags=("a",)),
        NewEntry(work(2)),
        NewEntry(work(1), note="second", cite_key="mine"),
        NewEntry(work(1), tags=("b", "c")),
    ]
    added, updated = await store.add_many(OWNER, bib_id, items, by=1)
    assert added == ["10.5555/scale.1", "10.5555/scale.2"]
    assert updated == ["10.5555/scale.1", "10.5555/scale.1"]
    entry = await store.entry(OWNER, bib_id, "10.5555/scale.1")
    assert (entry.note, entry.tags, entry.cite_key) == ("second", ("b", "c"), "mine")
    assert await counted(store, bib_id) == (2, 2)


async def test_a_single_add_reads_only_the_keys_it_could_meet(store):
    bib_id = await new_bib(store)
    others = [NewEntry(work(i, f"Family{letters(i)}")) for i in range(200)]
    await store.add_many(OWNER, bib_id, others, by=1)
    statements: list[str] = []
    await store.db.conn.set_trace_callback(statements.append)
    try:
        await store.add_many(OWNER, bib_id, [NewEntry(work(500, "Familyh"))], by=1)
        await store.add_many(OWNER, bib_id, [NewEntry(work(501, "Familyh"))], by=1)
    finally:
        await store.db.conn.set_trace_callback(None)
    keys = await store.cite_keys(OWNER, bib_id)
    assert keys["10.5555/scale.7"] == "familyh2020paper"
    assert keys["10.5555/scale.500"] == "familyh2020papera"
    assert keys["10.5555/scale.501"] == "familyh2020paperb"
    assert any("instr(lower(cite_key)" in s for s in statements)  # not every key of 200


# -- streamed exports ---------------------------------------------------------------------------


def recorded(n: int) -> list[Work]:
    out = []
    for path in sorted((FIXTURES / "crossref-corpus").glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("message-type") != "work":
            continue
        w = merge({"crossref": parse_work(data)})
        if w.title and w.authors:
            out.append(w)
    return out[:n]


def with_ambiguities(works: list[Work]) -> list[Work]:
    """Recorded works plus the cases a style tells apart: the same first author and year
    (2020a, 2020b), the same family with other given names (initials), the same first author
    with other co-authors (added names), works without authors of one title and year, a
    particle, and a first author of two works in different years (———)."""
    out = list(works)
    for n, base in enumerate(works[:40]):
        first = base.authors[0]
        year = base.year or 2020
        out.append(
            dataclasses.replace(
                base,
                doi=f"{base.doi}.same-year",
                title=f"Another study {n}",
                year=year,
                published=str(year),
            )
        )
        if n % 3 == 0:
            other = Author(f"Zed {first.family}", first.family, "Zed")
            out.append(dataclasses.replace(base, doi=f"{base.doi}.given", authors=(other,)))
        if n % 4 == 0:
            out.append(
                dataclasses.replace(
                    base,
                    doi=f"{base.doi}.coauthors",
                    authors=(first, Author("Q Quinn", "Quinn", "Q"), Author("R Roe", "Roe", "R")),
                    title=f"With others {n}",
                )
            )
        if n % 5 == 0:
            out.append(
                dataclasses.replace(
                    base, doi=f"{base.doi}.later", year=year + 1, published=str(year + 1)
                )
            )
    for n in range(4):
        out.append(Work(doi=f"10.5555/anon.{n}", title="Annual report", year=2019, authors=()))
    out.append(work(9000, "van Gulik", 2018, "Particles"))
    out.append(work(9001, "Gulik", 2018, "Particles too"))
    return out


@pytest.fixture
async def bibs(fixtures_dir, tmp_path):
    async with litbot(tmp_path, seeded(fixtures_dir)) as bot:
        yield bot.bibs


ADMIN = Actor.administrator(Owner.user(5))


async def fill(bibs, works: list[Work]) -> list[Work]:
    """The works stored in the admin's personal bibliography; returned in export order."""
    bib = await bibs.resolve(ADMIN, None)
    await bibs.store.add_many(ADMIN.owner, bib.id, [NewEntry(w) for w in works], by=1)
    return [e.work for e in await bibs.store.all_entries(ADMIN.owner, bib.id, sort="author")]


@pytest.mark.parametrize("target", ["bibtex", "ris", "csl-json"])
async def test_streamed_file_exports_are_the_whole_list_formatted_at_once(
    bibs, monkeypatch, target
):
    monkeypatch.setattr("bot.storage.bibliographies.EXPORT_BATCH", 7)  # many chunks
    ordered = await fill(bibs, with_ambiguities(recorded(60)))
    bib = await bibs.resolve(ADMIN, None)
    keys = await bibs.store.cite_keys(ADMIN.owner, bib.id)
    if target == "bibtex":
        whole = exports.to_bibtex(ordered, [keys[work_key(w)] for w in ordered])
    else:
        whole = citations.render(ordered, target)
    exported = await bibs.export(ADMIN, None, target)
    assert exported.count == len(ordered)
    assert exported.data.decode() == whole + ("" if whole.endswith("\n") else "\n")
    assert exported.size == len(exported.data)


async def test_a_streamed_bibtex_export_makes_and_keeps_missing_keys_as_before(bibs, monkeypatch):
    monkeypatch.setattr("bot.storage.bibliographies.EXPORT_BATCH", 5)
    ordered = await fill(bibs, [work(i, "Smith", 2020, "Same title") for i in range(12)])
    bib = await bibs.resolve(ADMIN, None)
    await bibs.store.db.conn.execute(  # as migration 5 left entries saved before it
        "UPDATE entries SET cite_key = NULL WHERE id % 3 = 0"
    )
    stored = await bibs.store.cite_keys(ADMIN.owner, bib.id)
    expected = exports.to_bibtex(ordered, [stored[work_key(w)] for w in ordered])
    first = await bibs.export(ADMIN, None, "bibtex")
    assert first.data.decode() == expected
    assert None not in (await bibs.store.cite_keys(ADMIN.owner, bib.id)).values()
    assert (await bibs.export(ADMIN, None, "bibtex")).data == first.data


async def export_text(bibs, style: str, markdown: bool = False) -> str:
    exported = await bibs.export(ADMIN, None, style, markdown=markdown)
    try:
        return exported.data.decode()
    finally:
        exported.close()


def whole_set(ordered: list[Work], style: str, markup: str = "text") -> str:
    entries = citations.format_bibliography(ordered, style, markup=markup)  # type: ignore[arg-type]
    separator = "\n\n" if markup == "markdown" else "\n"
    return separator.join(entries) + "\n"


async def test_a_chunked_apa_export_is_the_whole_list_formatted_at_once(bibs, monkeypatch):
    ordered = await fill(bibs, with_ambiguities(recorded(150)))
    assert len(ordered) > 200
    reference = whole_set(ordered, "apa")
    assert "a). " in reference and "b). " in reference  # 2020a/2020b are in it
    # a chunk size that would cut between a first author's two works of one year
    firsts = [e.authors[0].family if e.authors else "~" for e in ordered]
    cut = next(
        i
        for i in range(20, len(ordered) - 1)
        if firsts[i] == firsts[i + 1] and ordered[i].year == ordered[i + 1].year
    )
    naive = "".join(
        whole_set(ordered[i : i + cut + 1], "apa") for i in range(0, len(ordered), cut + 1)
    )
    assert naive != reference  # cutting anywhere would lose a 2020a/2020b
    monkeypatch.setattr("bot.bibliographies.CHUNK", cut + 1)
    monkeypatch.setattr("bot.storage.bibliographies.EXPORT_BATCH", 9)
    assert await export_text(bibs, "apa") == reference
    assert await export_text(bibs, "apa") == reference  # from the cache now
    assert await export_text(bibs, "apa", markdown=True) == whole_set(ordered, "apa", "markdown")


async def test_a_cold_chunk_is_one_job_and_a_partly_cached_one_uses_its_cache(bibs, monkeypatch):
    """A chunk none of whose works has a citation cached is digested and formatted in one
    worker job (its JSON decoded once); a chunk with any cached work goes the two-step way
    (digests, then only the groups missing); both print the whole list."""
    ordered = await fill(bibs, with_ambiguities(recorded(40)))
    reference = whole_set(ordered, "apa")
    monkeypatch.setattr("bot.bibliographies.CHUNK", 10)
    monkeypatch.setattr("bot.storage.bibliographies.EXPORT_BATCH", 7)
    jobs: list[str] = []
    workers = bibs.cites.workers
    run = workers.run

    async def counted(fn, *args, **kwargs):
        jobs.append(fn.__name__)
        return await run(fn, *args, **kwargs)

    monkeypatch.setattr(workers, "run", counted)
    # the first works' citations cached beforehand (a /cite of them, say)
    head = [w for w in ordered if w.authors][:12]
    await bibs.cites.entries(head, "apa", markup="text")
    jobs.clear()
    assert await export_text(bibs, "apa") == reference
    cold = jobs.count("digests_and_entries")
    assert cold >= 3 and jobs.count("chunk_digests") >= 1, jobs  # cached chunks: two steps
    assert jobs.count("format_entries") <= jobs.count("chunk_digests")
    jobs.clear()
    assert await export_text(bibs, "apa") == reference  # everything cached now
    assert "digests_and_entries" not in jobs and "format_entries" not in jobs, jobs


@pytest.mark.parametrize(
    "style",
    [
        "chicago-author-date",  # ——— for a repeated author, names added to tell cites apart
        "modern-language-association",  # ---. for a repeated author
        "harvard-cite-them-right",
        "elsevier-harvard",
    ],
)
async def test_chunked_exports_in_other_author_styles_are_the_whole_list(bibs, monkeypatch, style):
    ordered = await fill(bibs, with_ambiguities(recorded(60)))
    monkeypatch.setattr("bot.bibliographies.CHUNK", 5)
    monkeypatch.setattr("bot.storage.bibliographies.EXPORT_BATCH", 4)
    assert await export_text(bibs, style) == whole_set(ordered, style)


@pytest.mark.parametrize("style", ["vancouver", "harvard-leeds-beckett-university"])
async def test_numbered_and_list_wide_name_styles_are_formatted_whole(bibs, monkeypatch, style):
    works = with_ambiguities(recorded(25))
    bib = await bibs.resolve(ADMIN, None)
    await bibs.store.add_many(ADMIN.owner, bib.id, [NewEntry(w) for w in works], by=1)
    sort = "added" if citations.is_numeric(citations.resolve_style(style)) else "author"
    entries = await bibs.store.all_entries(ADMIN.owner, bib.id, sort=sort)
    if sort == "added":
        entries.reverse()  # numbered: the order entries were added, oldest first
    monkeypatch.setattr("bot.bibliographies.CHUNK", 3)
    monkeypatch.setattr("bot.storage.bibliographies.EXPORT_BATCH", 4)
    assert await export_text(bibs, style) == whole_set([e.work for e in entries], style)


async def test_a_changed_group_is_formatted_again_not_served_from_the_cache(bibs):
    a = work(1, "Smith", 2020, "Alpha")
    b = work(2, "Smith", 2020, "Beta")
    await fill(bibs, [a, b, work(3, "Jones", 2019)])
    text = await export_text(bibs, "apa")
    assert "(2020a)" in text and "(2020b)" in text
    bib = await bibs.resolve(ADMIN, None)
    await bibs.store.remove(ADMIN.owner, bib.id, work_key(b))
    alone = await export_text(bibs, "apa")
    assert "(2020)" in alone and "2020a" not in alone


async def test_too_many_entries_for_a_numbered_style_are_refused_clearly(bibs, monkeypatch):
    from bot.citing import TooManyEntries

    await fill(bibs, [work(i) for i in range(6)])
    monkeypatch.setattr("bot.bibliographies.MAX_WHOLE", 5)
    with pytest.raises(TooManyEntries, match="at most 5 entries"):
        await bibs.export(ADMIN, None, "vancouver")
    assert (await bibs.export(ADMIN, None, "bibtex")).count == 6


async def test_an_export_streams_into_a_file_not_memory(bibs, monkeypatch):
    monkeypatch.setattr("bot.bibliographies.SPOOL_BYTES", 1000)
    await fill(bibs, [work(i) for i in range(40)])
    exported = await bibs.export(ADMIN, None, "bibtex")
    try:
        assert exported.size > 1000 and exported.file._rolled  # type: ignore[attr-defined]
        assert exported.data.count(b"@misc{") == 40
    finally:
        exported.close()
