"""The cache of merged works: one row per work, aliases for every identifier that led to it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.models import WORK_SCHEMA, Work
from bot.storage.database import Database
from bot.storage.lru import LRU


@dataclass(frozen=True, slots=True)
class CachedWork:
    work: Work
    fresh: bool


def work_key(work: Work) -> str:
    if work.doi:
        return work.doi.lower()
    return f"openalex:{work.openalex_id}" if work.openalex_id else f"title:{work.title.casefold()}"


class WorkCache:
    """SQLite-backed cache with a small in-memory LRU in front for hot works."""

    def __init__(
        self,
        db: Database,
        *,
        memory_items: int = 512,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.clock = clock
        self._memory: LRU[str, tuple[Work, float]] = LRU(memory_items)

    def _remember(self, alias: str, work: Work, expires_at: float) -> None:
        self._memory.put(alias, (work, expires_at))

    def peek(self, alias: str) -> CachedWork | None:
        """The cached work if it is in memory (no I/O): a work written a moment ago is."""
        hit = self._memory.get(alias)
        return None if hit is None else CachedWork(hit[0], fresh=hit[1] > self.clock())

    async def get(self, alias: str) -> CachedWork | None:
        """The cached work for an identifier key, fresh or expired; ``None`` if never cached."""
        hit = self._memory.get(alias)
        if hit is not None:
            return CachedWork(hit[0], fresh=hit[1] > self.clock())
        row = await self.db.one(
            "SELECT w.data, w.expires_at FROM work_aliases a JOIN works w ON w.key = a.work_key "
            "WHERE a.alias = ?",
            (alias,),
        )
        if row is None:
            return None
        data = json.loads(row["data"])
        work = Work.from_dict(data)
        # A work cached by an older version is refetched (and kept only as a stale fallback).
        expires_at = row["expires_at"] if data.get("schema") == WORK_SCHEMA else 0.0
        self._remember(alias, work, expires_at)
        return CachedWork(work, fresh=expires_at > self.clock())

    async def put(self, work: Work, aliases: Iterable[str], *, ttl_seconds: float) -> None:
        """Store ``work`` (replacing any older copy) under its key and every alias, atomically."""
        key = work_key(work)
        expires_at = self.clock() + ttl_seconds
        all_aliases = {f"doi:{work.doi}"} if work.doi else set()
        all_aliases.update(aliases)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO works(key, data, fetched_at, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET data = excluded.data, "
                "fetched_at = excluded.fetched_at, expires_at = excluded.expires_at",
                (
                    key,
                    json.dumps(work.to_dict(), ensure_ascii=False),
                    work.fetched_at.isoformat(),
                    expires_at,
                ),
            )
            await conn.executemany(
                "INSERT INTO work_aliases(alias, work_key) VALUES (?, ?) "
                "ON CONFLICT(alias) DO UPDATE SET work_key = excluded.work_key",
                [(alias, key) for alias in sorted(all_aliases)],
            )
        for alias in all_aliases:
            self._remember(alias, work, expires_at)

    async def expire(self, doi: str) -> None:
        """Make the cached work with this DOI stale (a notice about it appeared): the next
        lookup asks the sources again; the copy stays as the fallback."""
        key = doi.lower()
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE works SET expires_at = 0 WHERE key = ?", (key,))
        for alias, (work, _) in list(self._memory.items()):
            if work.doi and work.doi.lower() == key:
                self._memory.put(alias, (work, 0.0))

    async def add_alias(self, alias: str, work: Work) -> None:
        """Point one more identifier key at an already stored work."""
        key = work_key(work)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO work_aliases(alias, work_key) SELECT ?, key FROM works WHERE key = ? "
                "ON CONFLICT(alias) DO UPDATE SET work_key = excluded.work_key",
                (alias, key),
            )
        hit = self._memory.get(f"doi:{work.doi}") if work.doi else None
        if hit is not None:
            self._remember(alias, hit[0], hit[1])
