"""Cached research neighbourhoods: one row per (work, kind), JSON, with an expiry."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bot.storage.database import Database


class NeighbourhoodCache:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    async def get(self, work_key: str, kind: str) -> tuple[dict[str, Any], bool] | None:
        """The stored data and whether it is still fresh; ``None`` if never stored."""
        row = await self.db.one(
            "SELECT data, expires_at FROM neighbourhoods WHERE work_key = ? AND kind = ?",
            (work_key, kind),
        )
        if row is None:
            return None
        return json.loads(row["data"]), row["expires_at"] > self.clock()

    async def put(self, work_key: str, kind: str, data: dict[str, Any], ttl: float) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO neighbourhoods(work_key, kind, data, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(work_key, kind) DO UPDATE SET data = excluded.data, "
                "expires_at = excluded.expires_at",
                (work_key, kind, json.dumps(data, ensure_ascii=False), self.clock() + ttl),
            )
