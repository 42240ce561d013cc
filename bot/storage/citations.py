"""Formatted citations, cached per (work, style, markup) in SQLite with a memory LRU in front.

Each row carries the digest of the CSL input it was made from: when a work's metadata changes
(a refetch fixed an author name, say) the digest differs and the old text is not served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from bot.storage.database import Database
from bot.storage.lru import LRU

Key = tuple[str, str, str]  # work_key, style, markup


class CitationCache:
    def __init__(
        self,
        db: Database,
        *,
        memory_items: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.clock = clock
        self._memory: LRU[Key, tuple[str, str]] = LRU(memory_items)

    def _remember(self, key: Key, digest: str, text: str) -> None:
        self._memory.put(key, (digest, text))

    async def get_many(self, digests: Mapping[str, str], style: str, markup: str) -> dict[str, str]:
        """work_key → cached text, for the keys whose stored digest matches ``digests``."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for work_key, digest in digests.items():
            hit = self._memory.get((work_key, style, markup))
            if hit is not None and hit[0] == digest:
                found[work_key] = hit[1]
            else:
                missing.append(work_key)
        for start in range(0, len(missing), 500):  # SQLite's variable limit, with room
            chunk = missing[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self.db.all(
                f"SELECT work_key, digest, text FROM citations "
                f"WHERE style = ? AND markup = ? AND work_key IN ({marks})",
                (style, markup, *chunk),
            )
            for row in rows:
                if row["digest"] == digests[row["work_key"]]:
                    found[row["work_key"]] = row["text"]
                    self._remember((row["work_key"], style, markup), row["digest"], row["text"])
        return found

    async def any_of(self, work_keys: Sequence[str], style: str, markup: str) -> bool:
        """Whether any of ``work_keys`` has a citation stored in ``style`` and ``markup``
        (whatever its digest): when none has, their texts must all be made."""
        if any((key, style, markup) in self._memory for key in work_keys):
            return True
        for start in range(0, len(work_keys), 500):  # SQLite's variable limit, with room
            chunk = list(work_keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            row = await self.db.one(
                f"SELECT 1 FROM citations WHERE style = ? AND markup = ? "
                f"AND work_key IN ({marks}) LIMIT 1",
                (style, markup, *chunk),
            )
            if row is not None:
                return True
        return False

    async def put_many(
        self, entries: Iterable[tuple[str, str, str]], style: str, markup: str
    ) -> None:
        """Store ``(work_key, digest, text)`` triples in one transaction."""
        rows = [(k, style, markup, d, t, self.clock()) for k, d, t in entries]
        if not rows:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO citations(work_key, style, markup, digest, text, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(work_key, style, markup) DO UPDATE SET "
                "digest = excluded.digest, text = excluded.text, created_at = excluded.created_at",
                rows,
            )
        for work_key, _, _, digest, text, _ in rows:
            self._remember((work_key, style, markup), digest, text)
