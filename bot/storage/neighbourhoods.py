"""Cached research neighbourhoods: one row per (work, kind), JSON, with an expiry.

A row holds one list (what OpenAlex listed, and when) and the pages of it fetched so far
(``{"pages": {"0": […], "3": […]}, …}``). A page joins the row only while the row is fresh and
describes the same list; otherwise the row starts again with that page and a new expiry, so
the pages of one row always belong to one list and their counts agree.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.storage.database import Database


@dataclass(frozen=True, slots=True)
class CachedNeighbourhood:
    data: dict[str, Any]
    fresh: bool


class NeighbourhoodCache:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    async def get(self, work_key: str, kind: str) -> CachedNeighbourhood | None:
        """The stored list and its pages, and whether it is still fresh; ``None`` if none."""
        row = await self.db.one(
            "SELECT data, expires_at FROM neighbourhoods WHERE work_key = ? AND kind = ?",
            (work_key, kind),
        )
        if row is None:
            return None
        try:
            data = json.loads(row["data"])
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        return CachedNeighbourhood(data, row["expires_at"] > self.clock())

    async def put_page(
        self,
        work_key: str,
        kind: str,
        page: int,
        items: list[dict[str, Any]],
        *,
        listing: dict[str, Any],
        ttl: float,
    ) -> None:
        """Store page ``page`` of the list ``listing`` describes (its keys other than
        ``fetched_at`` identify it). Read and written in one transaction."""
        now = self.clock()
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT data, expires_at FROM neighbourhoods WHERE work_key = ? AND kind = ?",
                (work_key, kind),
            ) as cur:
                row = await cur.fetchone()
            data, expires_at = None, now + ttl
            if row is not None and row["expires_at"] > now:
                try:
                    stored = json.loads(row["data"])
                except ValueError:
                    stored = None
                if isinstance(stored, dict) and isinstance(stored.get("pages"), dict):
                    same = all(stored.get(k) == v for k, v in listing.items() if k != "fetched_at")
                    if same:
                        data, expires_at = stored, row["expires_at"]
            if data is None:
                data = {**listing, "pages": {}}
            data["pages"][str(page)] = items
            await conn.execute(
                "INSERT INTO neighbourhoods(work_key, kind, data, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(work_key, kind) DO UPDATE SET data = excluded.data, "
                "expires_at = excluded.expires_at",
                (work_key, kind, json.dumps(data, ensure_ascii=False), expires_at),
            )
