"""Open the database and bring its schema up to date (``PRAGMA user_version``).

One aiosqlite connection for the process. WAL lets readers run beside the single writer, and
with ``synchronous=NORMAL`` a committed transaction survives a killed process (only a power
loss could roll back the last commits). Migrations are numbered and applied in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS: tuple[str, ...] = (
    # 1: cached merged works and the identifiers that lead to them
    """
    CREATE TABLE works (
        key         TEXT PRIMARY KEY,          -- lower-case DOI, or openalex:W… without one
        data        TEXT NOT NULL,             -- Work.to_dict() as JSON
        fetched_at  TEXT NOT NULL,             -- ISO 8601, UTC
        expires_at  REAL NOT NULL              -- unix time after which it is refreshed
    );
    CREATE TABLE work_aliases (
        alias       TEXT PRIMARY KEY,          -- Identifier.key: doi:…, arxiv:…, pmid:…, title:…
        work_key    TEXT NOT NULL REFERENCES works(key) ON DELETE CASCADE
    );
    CREATE INDEX work_aliases_by_work ON work_aliases(work_key);
    """,
)


class Database:
    """The one connection plus a lock that serialises write transactions.

    aiosqlite runs every statement on one thread; two coroutines opening ``BEGIN`` on the same
    connection would nest transactions, so writers queue on ``transaction()``.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error), one writer at a time."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def close(self) -> None:
        await self.conn.close()


async def open_database(path: Path | str) -> Database:
    """Open (creating if needed) and migrate the database at ``path``."""
    return Database(await connect(path))


async def connect(path: Path | str) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at ``path``."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=5000")
    await migrate(conn)
    return conn


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply pending migrations in one transaction; returns the schema version."""
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    current = row[0] if row else 0
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {current} is newer than this litbot ({len(MIGRATIONS)})"
        )
    if current == len(MIGRATIONS):
        return current
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            for statement in _statements(script):
                await conn.execute(statement)
            log.info("database migrated to schema %d", number)
        await conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT implicitly; run statement by statement inside our BEGIN.
    out, buf = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        buf.append(code)
        if code.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if stmt.strip(";").strip():
                out.append(stmt)
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        out.append(tail)
    return out
