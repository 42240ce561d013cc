"""Per-server and per-user preferences (the default citation style, for now).

A preference belongs to exactly one scope: ``("guild", guild_id)`` or ``("user", user_id)``.
Callers pass the scope they are acting in; nothing reads across scopes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from bot.storage.database import Database

Scope = Literal["guild", "user"]
CITATION_STYLE = "citation_style"


class Preferences:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, scope: Scope, scope_id: int, name: str) -> str | None:
        row = await self.db.one(
            "SELECT value FROM preferences WHERE scope = ? AND scope_id = ? AND name = ?",
            (scope, scope_id, name),
        )
        return row["value"] if row else None

    async def set(
        self, scope: Scope, scope_id: int, name: str, value: str | None, *, by: int | None
    ) -> None:
        """Store ``value``; ``None`` removes the preference (back to the default)."""
        async with self.db.transaction() as conn:
            if value is None:
                await conn.execute(
                    "DELETE FROM preferences WHERE scope = ? AND scope_id = ? AND name = ?",
                    (scope, scope_id, name),
                )
                return
            await conn.execute(
                "INSERT INTO preferences(scope, scope_id, name, value, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(scope, scope_id, name) DO UPDATE SET "
                "value = excluded.value, updated_by = excluded.updated_by, "
                "updated_at = excluded.updated_at",
                (scope, scope_id, name, value, by, datetime.now(UTC).isoformat()),
            )
