"""Bibliographies and their entries: the users' own data.

Every method takes the ``Owner`` it acts for — a server (``guild``) or a person (``user``) —
and every statement filters on it, so a bibliography id from an old button or a guessed name
cannot reach another server's or another person's entries. Each method is one transaction.
Entries keep a JSON snapshot of the work as it was added, so listing and exporting need
neither the network nor the cache, and the BibTeX key they are exported under (``cite_key``):
the one an imported file gave them, or one made when they were added, unique within their
bibliography and never changed afterwards, so a manuscript that cites it keeps working.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import aiosqlite

from bot.exports import key_base, unique_key, user_key
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
    cite_key: str | None = None  # None: added before keys were stored, and never exported


@dataclass(frozen=True, slots=True)
class NewEntry:
    work: Work
    note: str | None = None
    tags: tuple[str, ...] | None = None  # None: keep the tags an existing entry has
    cite_key: str | None = None  # the key the user chose (an imported .bib's); None: make one


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
        "e.cite_key, "
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
            row["cite_key"],
        )

    async def add_many(
        self, owner: Owner, bibliography_id: int, items: Iterable[NewEntry], *, by: int
    ) -> tuple[list[str], list[str]] | None:
        """Add entries in ONE transaction: all or nothing. Returns (added, updated) work keys;
        an entry already there gets the new note/tags. ``None`` if not the owner's.

        A new entry gets its BibTeX key here: the one the user chose (``NewEntry.cite_key``),
        or ``familyYEARword``; taken by another entry, it gets ``a``, ``b``…. An entry already
        there takes the key the user chose when no other entry has it, and otherwise keeps its
        own (``cite_keys`` tells which key each entry has).
        """
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
            cur = await conn.execute(
                "SELECT cite_key FROM entries WHERE bibliography_id = ? AND cite_key IS NOT NULL",
                (bibliography_id,),
            )
            taken = {row[0].casefold() for row in await cur.fetchall()}
            for item in items:
                key = work_key(item.work)
                chosen = user_key(item.cite_key)
                cur = await conn.execute(
                    "SELECT id, cite_key FROM entries WHERE bibliography_id = ? AND work_key = ?",
                    (bibliography_id, key),
                )
                row = await cur.fetchone()
                if row is None:
                    cur = await conn.execute(
                        "INSERT INTO entries(bibliography_id, work_key, work, title, "
                        "first_author, year, note, added_by, added_at, updated_at, cite_key) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            bibliography_id,
                            key,
                            json.dumps(item.work.to_dict(), ensure_ascii=False),
                            item.work.rich("title").plain(),  # sort key: "CO2", not "CO₂"
                            _first_author(item.work),
                            item.work.year,
                            item.note,
                            by,
                            now,
                            now,
                            unique_key(chosen or key_base(item.work), taken),
                        ),
                    )
                    entry_id = cur.lastrowid
                    added.append(key)
                else:
                    entry_id, current = row[0], row[1]
                    if item.note is not None:
                        await conn.execute(
                            "UPDATE entries SET note = ?, updated_at = ? WHERE id = ?",
                            (item.note, now, entry_id),
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
        stored = 0
        async with self.db.transaction() as conn:
            for key, cite_key in keys.items():
                cur = await conn.execute(
                    "UPDATE entries SET cite_key = ? WHERE work_key = ? AND cite_key IS NULL "
                    "AND bibliography_id = (SELECT id FROM bibliographies "
                    "WHERE id = ? AND scope = ? AND owner_id = ?) "
                    "AND NOT EXISTS (SELECT 1 FROM entries o WHERE o.bibliography_id = ? "
                    "AND o.cite_key = ? COLLATE NOCASE)",
                    (
                        cite_key,
                        key,
                        bibliography_id,
                        owner.scope,
                        owner.id,
                        bibliography_id,
                        cite_key,
                    ),
                )
                stored += cur.rowcount
        return stored

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
