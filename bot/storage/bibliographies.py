"""Bibliographies and their entries: the users' own data.

Every method takes the ``Owner`` it acts for — a server (``guild``) or a person (``user``) —
and every statement filters on it, so a bibliography id from an old button or a guessed name
cannot reach another server's or another person's entries. Each method is one transaction.
Entries keep a JSON snapshot of the work as it was added, so listing and exporting need
neither the network nor the cache.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import aiosqlite

from bot.models import Work
from bot.names import fold
from bot.storage.database import Database
from bot.storage.works import work_key

Scope = Literal["guild", "user"]
DECODE_INLINE = 50  # entries decoded on the event loop; more go to a worker thread
Sort = Literal["added", "author", "year", "title"]
ORDER_BY: dict[str, str] = {
    "added": "e.added_at DESC, e.id DESC",
    "author": "e.first_author, e.year, e.title, e.id",
    "year": "e.year DESC, e.first_author, e.id",  # NULL years sort last with DESC
    "title": "e.title COLLATE NOCASE, e.id",
}


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


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    bibliography_id: int
    work_key: str
    work: Work
    note: str | None
    tags: tuple[str, ...]
    added_by: int
    added_at: str


@dataclass(frozen=True, slots=True)
class NewEntry:
    work: Work
    note: str | None = None
    tags: tuple[str, ...] | None = None  # None: keep the tags an existing entry has


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _first_author(work: Work) -> str:
    if not work.authors:
        return "~"  # sorts after names
    first = work.authors[0]
    return fold(first.family or first.name)


class BibliographyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- bibliographies ---------------------------------------------------------------------

    _BIB = (
        "SELECT b.id, b.name, b.created_by, b.created_at, "
        "(SELECT COUNT(*) FROM entries e WHERE e.bibliography_id = b.id) AS size "
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
                "SELECT COUNT(e.id) FROM bibliographies b LEFT JOIN entries e "
                "ON e.bibliography_id = b.id WHERE b.id = ? AND b.scope = ? AND b.owner_id = ? "
                "GROUP BY b.id",
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

    # -- entries ---------------------------------------------------------------------------

    _ENTRY = (
        "SELECT e.id, e.bibliography_id, e.work_key, e.work, e.note, e.added_by, e.added_at, "
        "(SELECT group_concat(tag, ' ') FROM (SELECT tag FROM entry_tags t "
        "WHERE t.entry_id = e.id ORDER BY tag)) AS tags "
        "FROM entries e JOIN bibliographies b ON b.id = e.bibliography_id "
        "WHERE b.scope = ? AND b.owner_id = ? AND b.id = ?"
    )

    @staticmethod
    def _entry(row: aiosqlite.Row) -> Entry:
        return Entry(
            row["id"],
            row["bibliography_id"],
            row["work_key"],
            Work.from_dict(json.loads(row["work"])),
            row["note"],
            tuple((row["tags"] or "").split()),
            row["added_by"],
            row["added_at"],
        )

    async def add_many(
        self, owner: Owner, bibliography_id: int, items: Iterable[NewEntry], *, by: int
    ) -> tuple[list[str], list[str]] | None:
        """Add entries in ONE transaction: all or nothing. Returns (added, updated) work keys;
        an entry already there gets the new note/tags. ``None`` if not the owner's."""
        added: list[str] = []
        updated: list[str] = []
        now = _now()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "SELECT 1 FROM bibliographies WHERE id = ? AND scope = ? AND owner_id = ?",
                (bibliography_id, owner.scope, owner.id),
            )
            if await cur.fetchone() is None:
                return None
            for item in items:
                key = work_key(item.work)
                cur = await conn.execute(
                    "SELECT id FROM entries WHERE bibliography_id = ? AND work_key = ?",
                    (bibliography_id, key),
                )
                row = await cur.fetchone()
                if row is None:
                    cur = await conn.execute(
                        "INSERT INTO entries(bibliography_id, work_key, work, title, "
                        "first_author, year, note, added_by, added_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            bibliography_id,
                            key,
                            json.dumps(item.work.to_dict(), ensure_ascii=False),
                            item.work.title,
                            _first_author(item.work),
                            item.work.year,
                            item.note,
                            by,
                            now,
                            now,
                        ),
                    )
                    entry_id = cur.lastrowid
                    added.append(key)
                else:
                    entry_id = row[0]
                    if item.note is not None:
                        await conn.execute(
                            "UPDATE entries SET note = ?, updated_at = ? WHERE id = ?",
                            (item.note, now, entry_id),
                        )
                    updated.append(key)
                if item.tags is not None:
                    await conn.execute("DELETE FROM entry_tags WHERE entry_id = ?", (entry_id,))
                    await conn.executemany(
                        "INSERT OR IGNORE INTO entry_tags(entry_id, tag) VALUES (?, ?)",
                        [(entry_id, tag) for tag in item.tags],
                    )
        return added, updated

    async def entry(self, owner: Owner, bibliography_id: int, key: str) -> Entry | None:
        row = await self.db.one(
            self._ENTRY + " AND e.work_key = ?", (owner.scope, owner.id, bibliography_id, key)
        )
        return self._entry(row) if row else None

    async def remove(self, owner: Owner, bibliography_id: int, key: str) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM entries WHERE work_key = ? AND bibliography_id = ("
                "SELECT id FROM bibliographies WHERE id = ? AND scope = ? AND owner_id = ?)",
                (key, bibliography_id, owner.scope, owner.id),
            )
            return cur.rowcount > 0

    async def page(
        self,
        owner: Owner,
        bibliography_id: int,
        *,
        page: int = 0,
        per_page: int = 10,
        sort: Sort = "added",
        tag: str | None = None,
    ) -> tuple[list[Entry], int]:
        """One page of entries (0-based) and the total count under the same filter."""
        where, args = "", [owner.scope, owner.id, bibliography_id]
        if tag:
            where = " AND e.id IN (SELECT entry_id FROM entry_tags WHERE tag = ?)"
            args.append(tag)
        count = await self.db.one(
            "SELECT COUNT(*) FROM entries e JOIN bibliographies b ON b.id = e.bibliography_id "
            "WHERE b.scope = ? AND b.owner_id = ? AND b.id = ?" + where,
            args,
        )
        # Pick the page's ids on the sort index first; only those rows are decoded and tagged.
        rows = await self.db.all(
            f"{self._ENTRY} AND e.id IN (SELECT e.id FROM entries e "
            f"WHERE e.bibliography_id = ?{where} ORDER BY {ORDER_BY[sort]} LIMIT ? OFFSET ?) "
            f"ORDER BY {ORDER_BY[sort]}",
            [*args[:3], bibliography_id, *args[3:], per_page, max(page, 0) * per_page],
        )
        if len(rows) > DECODE_INLINE:  # a whole export: decode off the event loop
            entries = await asyncio.to_thread(lambda: [self._entry(row) for row in rows])
        else:
            entries = [self._entry(row) for row in rows]
        return entries, int(count[0]) if count else 0

    async def all_entries(
        self, owner: Owner, bibliography_id: int, *, sort: Sort = "author", tag: str | None = None
    ) -> list[Entry]:
        entries, _ = await self.page(
            owner, bibliography_id, page=0, per_page=-1, sort=sort, tag=tag
        )
        return entries

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
