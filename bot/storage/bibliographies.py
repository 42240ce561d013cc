"""Bibliographies and their entries: the users' own data.

Every method takes the ``Owner`` it acts for — a server (``guild``) or a person (``user``) —
and every statement filters on it, so a bibliography id from an old button or a guessed name
cannot reach another server's or another person's entries. Each method is one transaction.
Entries keep a JSON snapshot of the work as it was added, so listing and exporting need
neither the network nor the cache, and the BibTeX key they are exported under (``cite_key``):
the one an imported file gave them, or one made when they were added, unique within their
bibliography and never changed afterwards, so a manuscript that cites it keeps working.

At size (50,000 entries): each bibliography keeps its entry count (``entry_count``, kept by
triggers in the same transaction as every insert and delete); pages seek on the sort index
from the entry before or after them (keyset, ``page(after=…)``), and fall back to their number
when that entry is gone: an offset on the same index, counted from the nearest of the positions
remembered every ``MARK_EVERY`` entries of that list order (``_marks``: one query builds them,
and they hold while the bibliography's ``list_version`` is unchanged), so a page deep in the list
costs what one near its start does. A page reads only what a list line shows of each work
(``ListLine``, extracted by SQLite from the stored JSON); an entry's whole work is decoded when
first asked for (``Entry.work``). ``add_many`` writes with ``executemany`` after one
query for the entries already there; exports read ``rows`` in batches by keyset, so memory
stays bounded. Serialising many works and decoding many entries runs in ``Workers``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import aiosqlite

from bot.exports import key_base, unique_key, user_key
from bot.models import Work
from bot.names import fold
from bot.storage import duplicates
from bot.storage.database import Database
from bot.storage.lru import LRU
from bot.storage.works import work_key
from bot.workers import Workers

Scope = Literal["guild", "user"]
DECODE_INLINE = 50  # entries decoded on the event loop; more go to a worker
PREPARE_INLINE = 20  # works serialised on the event loop when added; more go to a worker
ALL_KEYS_FROM = 50  # a batch with more key stems than this reads every key of the bibliography
EXPORT_BATCH = 500  # entries read per query when exporting
MARK_EVERY = 100  # a list order's positions remembered for pages by number: every 100th entry
MARKS_FROM = 1000  # a page by number this many entries in counts from a remembered position
MARKS_KEPT = 32  # list orders (bibliography, sort, tag) whose positions are remembered
Sort = Literal["added", "author", "year", "title"]
# NULL years as the smallest number: where SQLite sorts NULL, so orders stay those of before.
_YEAR = "ifnull(e.year, -2147483648)"
_NON_ASCII = "*[^ -~]*"  # GLOB: a key with a character outside printable ASCII


@dataclass(frozen=True, slots=True)
class _Order:
    """A list order as keys that all run one way, so a row value can seek on its index."""

    keys: tuple[str, ...]
    desc: bool = False
    nocase: bool = False  # the first key compares without case

    def by(self, *, reverse: bool = False) -> str:
        way = " DESC" if self.desc != reverse else ""
        first = " COLLATE NOCASE" if self.nocase else ""
        return ", ".join(k + (first if i == 0 else "") + way for i, k in enumerate(self.keys))

    def following(
        self,
        filters: Sequence[object],
        anchor: Sequence[object],
        take: int,
        *,
        reverse: bool = False,
        inclusive: bool = False,
        where: str = "",
        sql: bool = False,
    ) -> tuple[str, list[object]]:
        """A SELECT of ``id`` and the keys (``k0``, ``k1``…) of the first ``take`` entries of a
        bibliography after ``anchor``'s key values (before them with ``reverse``; from them on
        with ``inclusive``), in order, ready for ``LIMIT``/``OFFSET`` up to ``take``; and its
        parameters. ``filters``: the bibliography id, then those of ``where``. ``sql``: the
        anchor values are SQL, not parameters.

        One index range per key, each read in index order up to ``take`` entries, merged: the
        entries sharing the anchor's first ``i`` keys and past it on the next. (A row-value
        comparison seeks on the first key only and then walks every entry sharing it, and a
        bulk import's entries all share their ``added_at``. Each range is ordered by the keys
        it does not fix: SQLite sorts one ordered by a key it fixes by an expression's index in
        a temporary tree.)"""
        op = "<" if self.desc != reverse else ">"
        nocase = " COLLATE NOCASE" if self.nocase else ""
        columns = ", ".join(f"{key} AS k{i}" for i, key in enumerate(self.keys))
        branches: list[str] = []
        args: list[object] = []
        last = len(self.keys) - 1
        for i in range(last, -1, -1):
            terms = []
            for j in range(i + 1):
                value = str(anchor[j]) if sql else "?"
                test = "=" if j < i else op + ("=" if inclusive and i == last else "")
                terms.append(f"{self.keys[j]} {test} {value}{nocase if j == 0 else ''}")
            rest = _Order(self.keys[i:], self.desc, self.nocase and i == 0)
            branches.append(
                f"SELECT * FROM (SELECT e.id AS id, {columns} FROM entries e "
                f"WHERE e.bibliography_id = ?{where} AND {' AND '.join(terms)} "
                f"ORDER BY {rest.by(reverse=reverse)} LIMIT ?)"
            )
            args += [*filters, *(() if sql else anchor[: i + 1]), take]
        way = " DESC" if self.desc != reverse else ""
        by = ", ".join(f"k{i}{nocase if i == 0 else ''}{way}" for i in range(len(self.keys)))
        return " UNION ALL ".join(branches) + f" ORDER BY {by}", args


ORDERS: dict[str, _Order] = {
    "added": _Order(("e.added_at", "e.id"), desc=True),
    "author": _Order(("e.first_author", _YEAR, "e.title", "e.id")),
    "year": _Order((f"-{_YEAR}", "e.first_author", "e.id")),  # year DESC, NULL years last
    "title": _Order(("e.title", "e.id"), nocase=True),
}
ORDER_BY: dict[str, str] = {name: order.by() for name, order in ORDERS.items()}


@dataclass(frozen=True, slots=True)
class Owner:
    scope: Scope
    id: int

    @classmethod
    def guild(cls, guild_id: int) -> Owner:
        return cls("guild", guild_id)

    @classmethod
    def user(cls, user_id: int) -> Owner:
        return cls("user", user_id)


@dataclass(frozen=True, slots=True)
class Bibliography:
    id: int
    owner: Owner
    name: str
    created_by: int
    created_at: str
    size: int = 0


class ListLine(NamedTuple):
    """What a list line shows of a work (``bot.ui.cards.list_line``): read by SQLite from the
    stored JSON (``_LINE``), so a page decodes no work."""

    doi: str | None
    title: str
    names: tuple[str, ...]  # the first two authors' family names (or whole names)
    authors: int  # how many authors
    year: int | None
    retracted: bool
    updates: tuple[str, ...]  # the kinds of its notices, oldest first
    published_doi: str | None
    type: str | None

    @classmethod
    def of(cls, work: Work) -> ListLine:
        return cls(
            work.doi,
            work.title,
            tuple(a.family or a.name for a in work.authors[:2]),
            len(work.authors),
            work.year,
            work.retracted,
            tuple(u.kind for u in work.updates),
            work.published_doi,
            work.type,
        )

    @classmethod
    def read(cls, extracted: str, authors: int | None) -> ListLine:
        """From ``_LINE``'s two columns: the JSON array of values, the number of authors."""
        doi, title, year, retracted, published, kind, *names, updates = json.loads(extracted)
        return cls(
            doi,
            title,
            tuple(family or name for family, name in zip(names[::2], names[1::2], strict=True))[
                : min(2, authors or 0)
            ],
            authors or 0,
            year,
            bool(retracted),
            tuple(u.get("kind") for u in updates or ()),
            published,
            kind,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry of a bibliography. Its work is decoded from the stored JSON when first asked
    for (``work``); a list shows ``line`` only."""

    id: int
    bibliography_id: int
    work_key: str
    stored: Work | str = field(repr=False, compare=False)  # the work, or its JSON until read
    note: str | None
    tags: tuple[str, ...]
    added_by: int
    added_at: str
    cite_key: str | None = None  # None: added before keys were stored, and never exported
    listed: ListLine | None = field(default=None, repr=False, compare=False)

    @property
    def work(self) -> Work:
        stored = self.stored
        if isinstance(stored, str):
            stored = Work.from_dict(json.loads(stored))
            object.__setattr__(self, "stored", stored)
        return stored

    @property
    def line(self) -> ListLine:
        """What a list line shows of the work."""
        if self.listed is None:
            object.__setattr__(self, "listed", ListLine.of(self.work))
        return self.listed  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class NewEntry:
    work: Work
    note: str | None = None
    tags: tuple[str, ...] | None = None  # None: keep the tags an existing entry has
    cite_key: str | None = None  # the key the user chose (an imported .bib's); None: make one


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def first_author_key(work: Work) -> str:
    """The folded family name of the first author: the sort key, and the group of entries
    that a citation style may disambiguate together (``bot.citing``)."""
    if not work.authors:
        return "~"  # sorts after names
    first = work.authors[0]
    return fold(first.family or first.name)


_first_author = first_author_key  # the name of before


@dataclass(slots=True)
class AddDetails:
    """What ``add_many`` found beyond exact duplicates, by the new work's key."""

    joined: dict[str, duplicates.Match] = field(default_factory=dict)  # went into that entry
    possible: dict[str, duplicates.Match] = field(default_factory=dict)  # added; looks like it
    offered: int | None = None  # the batch of merge offers made for ``possible``


class EntryPage(NamedTuple):
    entries: list[Entry]
    total: int  # entries under the same filter
    page: int  # the 0-based page these are: the one asked for, or where a stale one landed
    bibliography: Bibliography | None = None  # None: not the owner's (or gone)


class ExportRow(NamedTuple):
    """One entry as an export reads it: the work still JSON (decoded in a worker)."""

    id: int
    work_key: str
    work: str
    cite_key: str | None
    first_author: str


def fts_query(text: str) -> str:
    """A user's words as an FTS5 query: each word a quoted prefix, all required. Quoting
    makes every character literal (no operators, columns or syntax errors from the user)."""
    words = re.findall(r"\w+", text)[:12]
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def entry_row(work: Work) -> tuple[str, str, str, str, int | None, str]:
    """What ``add_many`` stores for a work: (work key, JSON, sort title, first author, year,
    BibTeX key stem)."""
    return (
        work_key(work),
        json.dumps(work.to_dict(), ensure_ascii=False),
        work.rich("title").plain(),  # sort key: "CO2", not "CO₂"
        first_author_key(work),
        work.year,
        key_base(work),
    )


def entry_rows(works: Sequence[Work]) -> list[tuple[str, str, str, str, int | None, str]]:
    """``entry_row`` for many works (a worker job)."""
    return [entry_row(work) for work in works]


def decode_entries(rows: Sequence[Sequence[object]], *, lazily: bool = False) -> list[Entry]:
    """Entries from rows of ``_ENTRY`` as tuples (a worker job for many). ``lazily``: each
    work stays JSON until it is asked for, and the list line is the one SQLite extracted."""
    return [
        Entry(
            row[0],  # type: ignore[arg-type]
            row[1],  # type: ignore[arg-type]
            row[2],  # type: ignore[arg-type]
            row[3] if lazily else Work.from_dict(json.loads(row[3])),  # type: ignore[arg-type]
            row[4],  # type: ignore[arg-type]
            tuple(str(row[8] or "").split()),
            row[5],  # type: ignore[arg-type]
            row[6],  # type: ignore[arg-type]
            row[7],  # type: ignore[arg-type]
            ListLine.read(row[9], row[10]) if lazily else None,  # type: ignore[arg-type]
        )
        for row in rows
    ]


class BibliographyStore:
    def __init__(self, db: Database, workers: Workers | None = None) -> None:
        self.db = db
        self.workers = workers or Workers.inline()
        # (bibliography, sort, tag) → (list version, sort-key values of every MARK_EVERY-th
        # entry of that list): where pages by number count from (``_marks``)
        self._marked: LRU[tuple[int, str, str | None], tuple[int, list[tuple]]] = LRU(MARKS_KEPT)

    # -- bibliographies ---------------------------------------------------------------------

    _BIB = (
        "SELECT b.id, b.name, b.created_by, b.created_at, b.entry_count AS size "
        "FROM bibliographies b WHERE b.scope = ? AND b.owner_id = ?"
    )

    @staticmethod
    def _bib(owner: Owner, row: aiosqlite.Row) -> Bibliography:
        return Bibliography(
            row["id"], owner, row["name"], row["created_by"], row["created_at"], row["size"]
        )

    async def create(self, owner: Owner, name: str, *, by: int) -> Bibliography | None:
        """A new bibliography; ``None`` when the owner already has one by that name."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO bibliographies(scope, owner_id, name, name_key, created_by, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(scope, owner_id, name_key) DO NOTHING",
                (owner.scope, owner.id, name, name.casefold(), by, _now()),
            )
            if cur.rowcount == 0:
                return None
            new_id = cur.lastrowid
        return await self.get_by_id(owner, new_id or 0)

    async def get(self, owner: Owner, name: str) -> Bibliography | None:
        row = await self.db.one(
            self._BIB + " AND b.name_key = ?", (owner.scope, owner.id, name.casefold())
        )
        return self._bib(owner, row) if row else None

    async def get_by_id(self, owner: Owner, bibliography_id: int) -> Bibliography | None:
        row = await self.db.one(
            self._BIB + " AND b.id = ?", (owner.scope, owner.id, bibliography_id)
        )
        return self._bib(owner, row) if row else None

    async def list(self, owner: Owner) -> list[Bibliography]:
        rows = await self.db.all(self._BIB + " ORDER BY b.name_key", (owner.scope, owner.id))
        return [self._bib(owner, row) for row in rows]

    async def names(self, owner: Owner, prefix: str = "", limit: int = 25) -> list[str]:
        rows = await self.db.all(
            "SELECT name FROM bibliographies WHERE scope = ? AND owner_id = ? "
            "AND instr(name_key, ?) > 0 ORDER BY instr(name_key, ?), name_key LIMIT ?",
            (owner.scope, owner.id, prefix.casefold(), prefix.casefold(), limit),
        )
        return [row["name"] for row in rows]

    async def rename(self, owner: Owner, bibliography_id: int, name: str) -> bool:
        """``False`` when another of the owner's bibliographies already has that name."""
        async with self.db.transaction() as conn:
            clash = await conn.execute(
                "SELECT 1 FROM bibliographies WHERE scope = ? AND owner_id = ? AND name_key = ? "
                "AND id != ?",
                (owner.scope, owner.id, name.casefold(), bibliography_id),
            )
            if await clash.fetchone():
                return False
            await conn.execute(
                "UPDATE bibliographies SET name = ?, name_key = ? "
                "WHERE id = ? AND scope = ? AND owner_id = ?",
                (name, name.casefold(), bibliography_id, owner.scope, owner.id),
            )
        return True

    async def delete(self, owner: Owner, bibliography_id: int) -> int | None:
        """Delete with its entries; returns how many entries went, ``None`` if not the owner's."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "SELECT entry_count FROM bibliographies WHERE id = ? AND scope = ? "
                "AND owner_id = ?",
                (bibliography_id, owner.scope, owner.id),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute(
                "DELETE FROM bibliographies WHERE id = ? AND scope = ? AND owner_id = ?",
                (bibliography_id, owner.scope, owner.id),
            )
        return int(row[0])

    async def set_channel_default(
        self, owner: Owner, channel_id: int, bibliography_id: int | None
    ) -> bool:
        """Make a server bibliography the channel's default (``None`` clears it)."""
        if owner.scope != "guild":
            return False
        async with self.db.transaction() as conn:
            if bibliography_id is None:
                await conn.execute(
                    "DELETE FROM channel_defaults WHERE guild_id = ? AND channel_id = ?",
                    (owner.id, channel_id),
                )
                return True
            cur = await conn.execute(
                "INSERT INTO channel_defaults(guild_id, channel_id, bibliography_id) "
                "SELECT ?, ?, id FROM bibliographies WHERE id = ? AND scope = 'guild' "
                "AND owner_id = ? ON CONFLICT(guild_id, channel_id) "
                "DO UPDATE SET bibliography_id = excluded.bibliography_id",
                (owner.id, channel_id, bibliography_id, owner.id),
            )
            return cur.rowcount > 0

    async def channel_default(self, owner: Owner, channel_id: int | None) -> Bibliography | None:
        if owner.scope != "guild" or channel_id is None:
            return None
        row = await self.db.one(
            self._BIB + " AND b.id = (SELECT bibliography_id FROM channel_defaults "
            "WHERE guild_id = ? AND channel_id = ?)",
            (owner.scope, owner.id, owner.id, channel_id),
        )
        return self._bib(owner, row) if row else None

    async def count(
        self, owner: Owner, bibliography_id: int, *, tag: str | None = None
    ) -> int | None:
        """How many entries (with ``tag``, if given); ``None`` if not the owner's."""
        row = await self.db.one(
            "SELECT entry_count FROM bibliographies WHERE id = ? AND scope = ? AND owner_id = ?",
            (bibliography_id, owner.scope, owner.id),
        )
        if row is None or not tag:
            return int(row[0]) if row else None
        tagged = await self.db.one(
            "SELECT COUNT(*) FROM entry_tags t JOIN entries e ON e.id = t.entry_id "
            "WHERE t.tag = ? AND e.bibliography_id = ?",
            (tag, bibliography_id),
        )
        return int(tagged[0]) if tagged else 0

    # -- entries ---------------------------------------------------------------------------

    # What a list line shows (``ListLine.read``): one parse of the JSON for the values, one for
    # the number of authors (the array itself may be long).
    _LINE = (
        "json_extract(e.work, '$.doi', '$.title', '$.year', '$.retracted', '$.published_doi', "
        "'$.type', '$.authors[0].family', '$.authors[0].name', '$.authors[1].family', "
        "'$.authors[1].name', '$.updates'), json_array_length(e.work, '$.authors') "
    )
    _COLUMNS = (
        "SELECT e.id, e.bibliography_id, e.work_key, e.work, e.note, e.added_by, e.added_at, "
        "e.cite_key, "
        "(SELECT group_concat(tag, ' ') FROM (SELECT tag FROM entry_tags t "
        "WHERE t.entry_id = e.id ORDER BY tag)) AS tags, " + _LINE
    )
    _ENTRY = (
        _COLUMNS + "FROM entries e JOIN bibliographies b ON b.id = e.bibliography_id "
        "WHERE b.scope = ? AND b.owner_id = ? AND b.id = ?"
    )

    def _page_sql(self, inner: str, order: _Order) -> str:
        """The entries whose ids ``inner`` picks (on the sort index), each read by its id:
        ``CROSS JOIN`` keeps the picked ids the outer loop, so no other row is touched."""
        return (
            f"{self._COLUMNS}FROM ({inner}) AS p CROSS JOIN entries e ON e.id = p.id "
            "JOIN bibliographies b ON b.id = e.bibliography_id "
            f"WHERE b.scope = ? AND b.owner_id = ? AND b.id = ? ORDER BY {order.by()}"
        )

    @staticmethod
    def _entry(row: aiosqlite.Row) -> Entry:
        return decode_entries([tuple(row)])[0]

    async def _decode(self, rows: list[aiosqlite.Row]) -> list[Entry]:
        """Rows of ``_ENTRY`` as entries: a page's on the event loop, each work decoded when
        first asked for; more decoded whole in a worker."""
        plain = [tuple(row) for row in rows]
        if len(plain) <= DECODE_INLINE:
            return decode_entries(plain, lazily=True)
        return await self.workers.run(decode_entries, plain, heavy=True)

    async def _prepare(self, works: list[Work]) -> list[tuple]:
        if len(works) <= PREPARE_INLINE:
            return entry_rows(works)
        rows: list[tuple] = []
        chunks = ((works[i : i + 1000],) for i in range(0, len(works), 1000))
        async for part in self.workers.map(entry_rows, chunks, heavy=True):
            rows += part
        return rows

    @staticmethod
    async def _owns(conn: aiosqlite.Connection, owner: Owner, bibliography_id: int) -> bool:
        cur = await conn.execute(
            "SELECT 1 FROM bibliographies WHERE id = ? AND scope = ? AND owner_id = ?",
            (bibliography_id, owner.scope, owner.id),
        )
        return await cur.fetchone() is not None

    @staticmethod
    async def _taken(conn: aiosqlite.Connection, bibliography_id: int, stems: set[str]) -> set[str]:
        """The bibliography's BibTeX keys (casefolded) that ``unique_key`` may meet for these
        stems: the keys that start like one, and every key outside ASCII (whose casefolding
        SQLite cannot do); all keys when there are many stems."""
        sql = "SELECT cite_key FROM entries WHERE bibliography_id = ? AND cite_key IS NOT NULL"
        args: list[object] = [bibliography_id]
        if len(stems) <= ALL_KEYS_FROM:
            sql += " AND (cite_key GLOB ?" + " OR instr(lower(cite_key), ?) = 1" * len(stems) + ")"
            args += [_NON_ASCII, *sorted(stems)]
        cur = await conn.execute(sql, args)
        return {row[0].casefold() for row in await cur.fetchall()}

    async def add_many(
        self,
        owner: Owner,
        bibliography_id: int,
        items: Iterable[NewEntry],
        *,
        by: int,
        channel: int | None = None,
        details: AddDetails | None = None,
        also_offer: Sequence[tuple[str, str]] = (),
    ) -> tuple[list[str], list[str]] | None:
        """Add entries in ONE transaction: all or nothing. Returns (added, updated) work keys;
        an entry already there gets the new note/tags. ``None`` if not the owner's.

        "Already there" goes beyond the DOI (``bot.storage.duplicates``): an entry sharing
        another identifier is the same work; a preprint whose version of record is there goes
        into that entry; a version of record whose preprint is there takes that entry over
        (note, tags and key kept). Each of these is in ``updated``, and ``details.joined``
        says how. A new entry with the same title, first author and year as one there is
        added, and a merge is offered (``details.offered``); so is each (kept, new) pair of
        work keys in ``also_offer`` (look-alikes within the batch itself).

        A new entry gets its BibTeX key here: the one the user chose (``NewEntry.cite_key``),
        or ``familyYEARword``; taken by another entry, it gets ``a``, ``b``…. An entry already
        there takes the key the user chose when no other entry has it, and otherwise keeps its
        own (``cite_keys`` tells which key each entry has). A work twice in ``items`` is added
        once, then updated as an entry already there.

        The works are serialised before the transaction (in a worker for many); inside it, one
        query finds the entries already there and ``executemany`` writes the rest.
        """
        items = list(items)
        prepared = await self._prepare([item.work for item in items])
        added: list[str] = []
        updated: list[str] = []
        now = _now()
        async with self.db.transaction() as conn:
            if not await self._owns(conn, owner, bibliography_id):
                return None
            keys = list(dict.fromkeys(row[0] for row in prepared))
            cur = await conn.execute(
                "SELECT id, work_key, cite_key FROM entries WHERE bibliography_id = ? "
                "AND work_key IN (SELECT value FROM json_each(?))",
                (bibliography_id, json.dumps(keys)),
            )
            there: dict[str, tuple[int, str | None]] = {
                row[1]: (row[0], row[2]) for row in await cur.fetchall()
            }
            titled = await self._join_versions(
                conn, bibliography_id, items, prepared, there, now, details
            )
            chosen = [user_key(item.cite_key) for item in items]
            stems = {(c or row[5]).casefold() for c, row in zip(chosen, prepared, strict=True)}
            taken = await self._taken(conn, bibliography_id, stems)
            inserts: dict[str, list[object]] = {}  # work key → the new row (keeps its order)
            keyed: dict[str, str | None] = {}  # work key → its BibTeX key now
            notes: dict[int, str] = {}
            rekeyed: dict[int, str] = {}
            tags: dict[str, tuple[str, ...]] = {}
            for item, mine, row in zip(items, chosen, prepared, strict=True):
                key = row[0]
                if key in there or key in inserts:
                    current = keyed[key] if key in inserts else there[key][1]
                    if item.note is not None:
                        if key in inserts:
                            inserts[key][6] = item.note
                        else:
                            notes[there[key][0]] = item.note
                    if mine and mine != current:
                        folded = current.casefold() if current else None
                        if mine.casefold() == folded or mine.casefold() not in taken:
                            taken.discard(folded or "")
                            taken.add(mine.casefold())
                            keyed[key] = mine
                            if key in inserts:
                                inserts[key][10] = mine
                            else:
                                there[key] = (there[key][0], mine)
                                rekeyed[there[key][0]] = mine
                    updated.append(key)
                else:
                    cite_key = unique_key(mine or row[5], taken)
                    keyed[key] = cite_key
                    inserts[key] = [
                        bibliography_id, key, row[1], row[2], row[3], row[4], item.note,
                        by, now, now, cite_key, channel,
                    ]  # fmt: skip
                    added.append(key)
                if item.tags is not None:
                    tags[key] = item.tags
            await conn.executemany(
                "INSERT INTO entries(bibliography_id, work_key, work, title, first_author, year, "
                "note, added_by, added_at, updated_at, cite_key, added_channel) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(inserts.values()),
            )
            await conn.executemany(
                "UPDATE entries SET note = ?, updated_at = ? WHERE id = ?",
                [(note, now, entry_id) for entry_id, note in notes.items()],
            )
            await conn.executemany(
                "UPDATE entries SET cite_key = ? WHERE id = ?",
                [(cite_key, entry_id) for entry_id, cite_key in rekeyed.items()],
            )
            if tags:
                ids = {key: there[key][0] for key in tags if key in there}
                fresh = [key for key in tags if key in inserts]
                if fresh:
                    cur = await conn.execute(
                        "SELECT work_key, id FROM entries WHERE bibliography_id = ? "
                        "AND work_key IN (SELECT value FROM json_each(?))",
                        (bibliography_id, json.dumps(fresh)),
                    )
                    ids.update({row[0]: row[1] for row in await cur.fetchall()})
                await conn.executemany(
                    "DELETE FROM entry_tags WHERE entry_id = ?",
                    [(ids[key],) for key in tags if key in there],
                )
                await conn.executemany(
                    "INSERT OR IGNORE INTO entry_tags(entry_id, tag) VALUES (?, ?)",
                    [(ids[key], tag) for key, values in tags.items() for tag in values],
                )
            fresh = {k: m for k, m in titled.items() if k in inserts}
            if (fresh or also_offer) and details is not None:
                named = sorted(set(fresh) | {k for pair in also_offer for k in pair})
                cur = await conn.execute(
                    "SELECT work_key, id FROM entries WHERE bibliography_id = ? "
                    "AND work_key IN (SELECT value FROM json_each(?))",
                    (bibliography_id, json.dumps(named)),
                )
                ids_of = {row[0]: row[1] for row in await cur.fetchall()}
                pairs = [(m.entry_id, ids_of[k]) for k, m in fresh.items() if k in ids_of]
                pairs += [
                    (ids_of[a], ids_of[b]) for a, b in also_offer if a in ids_of and b in ids_of
                ]
                details.offered = await duplicates.offer(conn, pairs, by=by, now=now)
                details.possible = {k: m for k, m in fresh.items() if k in ids_of}
        return added, updated

    @staticmethod
    async def _join_versions(
        conn: aiosqlite.Connection,
        bibliography_id: int,
        items: list[NewEntry],
        prepared: list[tuple],
        there: dict[str, tuple[int, str | None]],
        now: str,
        details: AddDetails | None,
    ) -> dict[str, duplicates.Match]:
        """Point ``there`` at the entry each new work is (or is a version of), switching a
        saved preprint to a new version of record; returns the works that only look like an
        entry (same title, first author and year), by work key."""
        pending = {row[0]: (item.work, row) for item, row in zip(items, prepared, strict=True)}
        pending = {k: w for k, w in pending.items() if k not in there}
        if not pending:
            return {}
        titled: dict[str, duplicates.Match] = {}
        found = await duplicates.find(conn, bibliography_id, [w for w, _ in pending.values()])
        upgraded: set[int] = set()
        for (key, (_, row)), match in zip(pending.items(), found, strict=True):
            if match is None:
                continue
            if match.how == duplicates.TITLE:
                titled[key] = match
                continue
            if match.how == duplicates.PREPRINT and match.entry_id not in upgraded:
                await conn.execute(
                    "UPDATE entries SET work_key = ?, work = ?, title = ?, first_author = ?, "
                    "year = ?, updated_at = ? WHERE id = ?",
                    (row[0], row[1], row[2], row[3], row[4], now, match.entry_id),
                )
                upgraded.add(match.entry_id)
            there[key] = (match.entry_id, match.cite_key)
            if details is not None:
                details.joined[key] = match
        return titled

    async def cite_keys(self, owner: Owner, bibliography_id: int) -> dict[str, str | None]:
        """Each entry's BibTeX key by work key (``None``: not given one yet)."""
        rows = await self.db.all(
            "SELECT e.work_key, e.cite_key FROM entries e JOIN bibliographies b "
            "ON b.id = e.bibliography_id WHERE b.scope = ? AND b.owner_id = ? AND b.id = ?",
            (owner.scope, owner.id, bibliography_id),
        )
        return {row[0]: row[1] for row in rows}

    async def keep_cite_keys(self, owner: Owner, bibliography_id: int, keys: dict[str, str]) -> int:
        """Store the keys an export gave entries that had none (work key → BibTeX key), so
        they stay the same in later exports; a key another entry took meanwhile is skipped.
        Returns how many were stored."""
        if not keys:
            return 0
        async with self.db.transaction() as conn:
            if not await self._owns(conn, owner, bibliography_id):
                return 0
            cur = await conn.executemany(
                "UPDATE entries SET cite_key = ? WHERE work_key = ? AND cite_key IS NULL "
                "AND bibliography_id = ? AND NOT EXISTS (SELECT 1 FROM entries o "
                "WHERE o.bibliography_id = ? AND o.cite_key = ? COLLATE NOCASE)",
                [
                    (cite_key, key, bibliography_id, bibliography_id, cite_key)
                    for key, cite_key in keys.items()
                ],
            )
            return max(cur.rowcount, 0)

    async def saved_key(self, owner: Owner, key: str, channel_id: int | None = None) -> str | None:
        """The BibTeX key of the work ``key`` among the owner's bibliographies: in the
        channel's default bibliography if it is there, else in the one it was saved to first."""
        row = await self.db.one(
            "SELECT e.cite_key FROM entries e JOIN bibliographies b ON b.id = e.bibliography_id "
            "WHERE b.scope = ? AND b.owner_id = ? AND e.work_key = ? AND e.cite_key IS NOT NULL "
            "ORDER BY b.id IS (SELECT bibliography_id FROM channel_defaults "
            "WHERE guild_id = ? AND channel_id = ?) DESC, e.added_at, e.id LIMIT 1",
            (owner.scope, owner.id, key, owner.id if owner.scope == "guild" else None, channel_id),
        )
        return row[0] if row else None

    async def entry(self, owner: Owner, bibliography_id: int, key: str) -> Entry | None:
        row = await self.db.one(
            self._ENTRY + " AND e.work_key = ?", (owner.scope, owner.id, bibliography_id, key)
        )
        return self._entry(row) if row else None

    async def search(
        self, owner: Owner, bibliography_id: int, query: str, *, limit: int = 10
    ) -> list[Entry]:
        """Entries matching every word of ``query`` (a word's beginning: "geno" finds
        "genomics") in title, authors, venue, year, note or tags, best first (FTS5's bm25)."""
        match = fts_query(query)
        if not match:
            return []
        rows = await self.db.all(
            self._COLUMNS + "FROM entries_fts f JOIN entries e ON e.id = f.rowid "
            "JOIN bibliographies b ON b.id = e.bibliography_id "
            "WHERE entries_fts MATCH ? AND b.scope = ? AND b.owner_id = ? AND b.id = ? "
            "ORDER BY bm25(entries_fts, 10.0, 5.0, 2.0, 1.0, 3.0, 3.0) LIMIT ?",
            (match, owner.scope, owner.id, bibliography_id, limit),
        )
        return await self._decode(rows)

    async def remove(self, owner: Owner, bibliography_id: int, key: str) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM entries WHERE work_key = ? AND bibliography_id = ("
                "SELECT id FROM bibliographies WHERE id = ? AND scope = ? AND owner_id = ?)",
                (key, bibliography_id, owner.scope, owner.id),
            )
            return cur.rowcount > 0

    async def merge_offers(
        self, owner: Owner, batch: int
    ) -> tuple[Bibliography | None, list[duplicates.Offer], int | None]:
        """The merges offered by one add or import, if they are in the owner's bibliography:
        (the bibliography, its offers, who was offered them); (None, [], None) otherwise."""
        async with self.db.transaction() as conn:
            found = await self._offer_owner(conn, owner, batch)
            if found is None:
                return None, [], None
            bib_row, by = found
            return self._bib(owner, bib_row), await duplicates.offers(conn, batch), by

    async def scan_duplicates(
        self, owner: Owner, bibliography_id: int
    ) -> tuple[int | None, dict[tuple[int, int], str]] | None:
        """Look for entries of the bibliography that are one paper (``duplicates.scan``) and
        offer their merges as one batch (pairs kept apart before are left out). Returns the
        batch and each pair's relation; None if not the owner's."""
        async with self.db.transaction() as conn:
            if not await self._owns(conn, owner, bibliography_id):
                return None
            pairs = await duplicates.scan(conn, bibliography_id)
            batch = await duplicates.offer(
                conn,
                [(a, b) for a, b, _ in pairs],
                by=duplicates.SCANNED_BY,
                now=_now(),
                reopen=True,
            )
            return batch, {(a, b): how for a, b, how in pairs}

    async def settle_offers(
        self, owner: Owner, batch: int, *, merge: bool
    ) -> list[duplicates.MergeOutcome] | None:
        """Accept (merge each pair still open) or decline (keep both: never offered again)
        the merges of one batch, in one transaction. None if not the owner's."""
        async with self.db.transaction() as conn:
            if await self._offer_owner(conn, owner, batch) is None:
                return None
            open_ = [o for o in await duplicates.offers(conn, batch) if o.status == "open"]
            if not merge:
                await conn.executemany(
                    "UPDATE merge_offers SET status = 'kept' WHERE id = ?",
                    [(o.id,) for o in open_],
                )
                return []
            merged: list[duplicates.MergeOutcome] = []
            now = _now()
            for o in open_:
                outcome = await duplicates.merge_entries(conn, o.keep_id, o.drop_id, now=now)
                if outcome is not None:
                    merged.append(outcome)
            return merged

    @staticmethod
    async def _offer_owner(
        conn: aiosqlite.Connection, owner: Owner, batch: int
    ) -> tuple[aiosqlite.Row, int] | None:
        cur = await conn.execute(
            "SELECT b.id, b.name, b.created_by, b.created_at, b.entry_count AS size, "
            "o.created_by AS offered_to FROM merge_offers o JOIN entries e ON e.id = o.keep_id "
            "JOIN bibliographies b ON b.id = e.bibliography_id WHERE o.batch = ? "
            "AND b.scope = ? AND b.owner_id = ? LIMIT 1",
            (batch, owner.scope, owner.id),
        )
        row = await cur.fetchone()
        return (row, row["offered_to"]) if row is not None else None

    async def _total_and_anchor(
        self,
        owner: Owner,
        bibliography_id: int,
        sort: Sort,
        tag: str | None,
        anchor: int | None,
    ) -> tuple[Bibliography, int, int, tuple[object, ...] | None] | None:
        """In one query: the bibliography, how many entries (with ``tag``), its list version,
        and the ``anchor`` entry's values of the ``sort`` keys (``None`` when it is gone).
        ``None`` if not the owner's."""
        count, args = "b.entry_count", []
        if tag:
            count = (
                "(SELECT COUNT(*) FROM entry_tags t JOIN entries te ON te.id = t.entry_id "
                "WHERE t.tag = ? AND te.bibliography_id = b.id)"
            )
            args.append(tag)
        keys = ", ".join(ORDERS[sort].keys)
        row = await self.db.one(
            f"SELECT b.id, b.name, b.created_by, b.created_at, b.entry_count AS size, "
            f"{count}, b.list_version, e.id IS NOT NULL, {keys} FROM bibliographies b "
            "LEFT JOIN entries e ON e.id = ? AND e.bibliography_id = b.id "
            "WHERE b.id = ? AND b.scope = ? AND b.owner_id = ?",
            [*args, anchor, bibliography_id, owner.scope, owner.id],
        )
        if row is None:
            return None
        return self._bib(owner, row), int(row[5]), row[6], tuple(row)[8:] if row[7] else None

    async def page(
        self,
        owner: Owner,
        bibliography_id: int,
        *,
        page: int = 0,
        per_page: int = 10,
        sort: Sort = "added",
        tag: str | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> EntryPage:
        """One page of entries (0-based), the total under the same filter, the page's
        number, and the bibliography (read with them: one query before the page's own).

        ``after``/``before``: the id of the entry just before (after) the page, from the page
        next to it (a ◀ ▶ button): the page is read by seeking the sort index from that entry.
        When that entry is gone, or the list before it got shorter than a page, the page is
        read by its number instead: an offset on the same index, from the nearest remembered
        position for a page deep in the list (``_marks``). A number past the end gives the last
        page. ``per_page`` -1: every entry.
        """
        anchor = after if after is not None else before
        found = await self._total_and_anchor(owner, bibliography_id, sort, tag, anchor)
        if found is None:
            return EntryPage([], 0, 0)
        bib, total, version, values = found
        order = ORDERS[sort]
        where, args = "", [bibliography_id]
        if tag:
            where = " AND e.id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)"
            args.append(tag)
        owned = [owner.scope, owner.id, bibliography_id]
        everything = per_page < 0
        last = 0 if everything else max(0, -(-total // per_page) - 1)
        page = min(max(page, 0), last)
        if values is not None and not everything and total:
            reverse = after is None
            near, near_args = order.following(args, values, per_page, reverse=reverse, where=where)
            rows = await self.db.all(
                self._page_sql(f"SELECT id FROM ({near} LIMIT ?)", order),
                [*near_args, per_page, *owned],
            )
            if len(rows) == per_page or (rows and not reverse):
                return EntryPage(await self._decode(rows), total, page, bib)
            if reverse:
                page = 0  # fewer entries before it than a page: the first page
        skip = page * max(per_page, 0)
        inner = (
            f"SELECT e.id FROM entries e WHERE e.bibliography_id = ?{where} "
            f"ORDER BY {order.by()} LIMIT ? OFFSET ?"
        )
        marks = await self._marks(bibliography_id, sort, tag, version) if skip >= MARKS_FROM else []
        if marks:  # count from the nearest remembered position before the page
            nearest = min(skip // MARK_EVERY, len(marks) - 1)
            skip -= nearest * MARK_EVERY
            near, args = order.following(
                args, marks[nearest], skip + per_page, inclusive=True, where=where
            )
            inner = f"SELECT id FROM ({near} LIMIT ? OFFSET ?)"
        rows = await self.db.all(self._page_sql(inner, order), [*args, per_page, skip, *owned])
        return EntryPage(await self._decode(rows), total, page, bib)

    async def _marks(
        self, bibliography_id: int, sort: Sort, tag: str | None, version: int
    ) -> list[tuple]:
        """The ``sort`` keys' values of every ``MARK_EVERY``-th entry of the list (with
        ``tag``): entry ``i * MARK_EVERY`` is the first at or after ``marks[i]``. Remembered
        while the bibliography's ``list_version`` stays ``version`` (triggers move it with
        every change to the list); otherwise read again, in one query that hops from each
        position to the next on the sort index."""
        cached = self._marked.get((bibliography_id, sort, tag))
        if cached is not None and cached[0] == version:
            return cached[1]
        order = ORDERS[sort]
        where, args = "", [bibliography_id]
        if tag:
            where = " AND e.id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)"
            args.append(tag)
        names = [f"k{i}" for i in range(len(order.keys))]
        keys = ", ".join(order.keys)
        hop, hop_args = order.following(
            args,
            [f"m.{name}" for name in names],
            MARK_EVERY + 1,
            inclusive=True,
            where=where,
            sql=True,
        )
        rows = await self.db.all(
            f"WITH RECURSIVE marks({', '.join(names)}) AS ("
            f"SELECT * FROM (SELECT {keys} FROM entries e WHERE e.bibliography_id = ?{where} "
            f"ORDER BY {order.by()} LIMIT 1) "
            f"UNION ALL SELECT {keys} FROM marks m JOIN entries e ON e.id = ("
            f"SELECT id FROM ({hop} LIMIT 1 OFFSET {MARK_EVERY}))"
            ") SELECT * FROM marks",
            [*args, *hop_args],
        )
        marks = [tuple(row) for row in rows]
        self._marked.put((bibliography_id, sort, tag), (version, marks))
        return marks

    async def all_entries(
        self, owner: Owner, bibliography_id: int, *, sort: Sort = "author", tag: str | None = None
    ) -> list[Entry]:
        """Every entry, decoded (small bibliographies; exports read ``rows`` instead)."""
        found = await self.page(owner, bibliography_id, page=0, per_page=-1, sort=sort, tag=tag)
        return found.entries

    async def rows(
        self,
        owner: Owner,
        bibliography_id: int,
        *,
        sort: Sort = "author",
        tag: str | None = None,
        batch: int | None = None,  # None: EXPORT_BATCH
    ) -> AsyncIterator[list[ExportRow]]:
        """Every entry in ``sort`` order, ``batch`` at a time, works as JSON: an export's read,
        by keyset, so each query is as cheap as the first and memory stays bounded. Entries
        added or removed meanwhile may or may not appear; none appears twice."""
        if await self.count(owner, bibliography_id) is None:
            return
        order = ORDERS[sort]
        where, args = "", [bibliography_id]
        if tag:
            where = " AND e.id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)"
            args.append(tag)
        width, batch = len(order.keys), batch or EXPORT_BATCH
        values: tuple[object, ...] | None = None
        while True:
            if values is None:
                inner = (
                    f"SELECT e.id FROM entries e WHERE e.bibliography_id = ?{where} "
                    f"ORDER BY {order.by()} LIMIT ?"
                )
                inner_args = [*args, batch]
            else:
                near, near_args = order.following(args, values, batch, where=where)
                inner, inner_args = f"SELECT id FROM ({near} LIMIT ?)", [*near_args, batch]
            rows = await self.db.all(
                f"SELECT e.id, e.work_key, e.work, e.cite_key, e.first_author, "
                f"{', '.join(order.keys)} FROM ({inner}) AS p CROSS JOIN entries e "
                f"ON e.id = p.id ORDER BY {order.by()}",
                inner_args,
            )
            if not rows:
                return
            yield [ExportRow(*tuple(row)[:5]) for row in rows]
            if len(rows) < batch:
                return
            values = tuple(rows[-1])[-width:]

    async def export_keys(
        self, owner: Owner, bibliography_id: int, *, sort: Sort = "author", tag: str | None = None
    ) -> list[tuple[int, str, str | None]]:
        """(entry id, work key, BibTeX key) of every entry in ``sort`` order: what a BibTeX
        export needs before it writes its first entry (keys are unique within the file)."""
        if await self.count(owner, bibliography_id) is None:
            return []
        where, args = "", [bibliography_id]
        if tag:
            where = " AND e.id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)"
            args.append(tag)
        rows = await self.db.all(
            f"SELECT e.id, e.work_key, e.cite_key FROM entries e WHERE e.bibliography_id = ?"
            f"{where} ORDER BY {ORDERS[sort].by()}",
            args,
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def works_json(
        self, owner: Owner, bibliography_id: int, ids: Sequence[int]
    ) -> dict[int, str]:
        """Entry id → the work's JSON, for the entries ``ids`` of the owner's bibliography."""
        if await self.count(owner, bibliography_id) is None:
            return {}
        rows = await self.db.all(
            "SELECT id, work FROM entries WHERE bibliography_id = ? "
            "AND id IN (SELECT value FROM json_each(?))",
            (bibliography_id, json.dumps(list(ids))),
        )
        return {row[0]: row[1] for row in rows}

    async def tags(
        self, owner: Owner, prefix: str = "", *, bibliography_id: int | None = None, limit: int = 25
    ) -> list[str]:
        args: list[object] = [owner.scope, owner.id, prefix.casefold()]
        only = ""
        if bibliography_id is not None:
            only = " AND b.id = ?"
            args.append(bibliography_id)
        rows = await self.db.all(
            "SELECT t.tag, COUNT(*) AS n FROM entry_tags t JOIN entries e ON e.id = t.entry_id "
            "JOIN bibliographies b ON b.id = e.bibliography_id "
            "WHERE b.scope = ? AND b.owner_id = ? AND instr(t.tag, ?) = 1"
            + only
            + " GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT ?",
            [*args, limit],
        )
        return [row["tag"] for row in rows]
