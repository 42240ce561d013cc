"""Open the database and bring its schema up to date (``PRAGMA user_version``).

One aiosqlite connection for the process. WAL lets readers run beside the single writer, and
with ``synchronous=NORMAL`` a committed transaction survives a killed process (only a power
loss could roll back the last commits). Migrations are numbered and applied in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
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
    # 2: formatted citations per (work, style), and per-server / per-user preferences
    """
    CREATE TABLE citations (
        work_key    TEXT NOT NULL,             -- works.key (not a foreign key: may outlive it)
        style       TEXT NOT NULL,             -- CSL style id, or bibtex / ris / csl-json
        markup      TEXT NOT NULL,             -- markdown (Discord) or text (files)
        digest      TEXT NOT NULL,             -- hash of the CSL input; a changed work misses
        text        TEXT NOT NULL,
        created_at  REAL NOT NULL,
        PRIMARY KEY (work_key, style, markup)
    ) WITHOUT ROWID;
    CREATE TABLE preferences (
        scope       TEXT NOT NULL CHECK (scope IN ('guild', 'user')),
        scope_id    INTEGER NOT NULL,          -- a guild id or a user id, never mixed
        name        TEXT NOT NULL,             -- e.g. citation_style
        value       TEXT NOT NULL,
        updated_by  INTEGER,
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (scope, scope_id, name)
    ) WITHOUT ROWID;
    """,
    # 3: bibliographies (a server's named lists, or a user's personal ones) and their entries
    """
    CREATE TABLE bibliographies (
        id          INTEGER PRIMARY KEY,
        scope       TEXT NOT NULL CHECK (scope IN ('guild', 'user')),
        owner_id    INTEGER NOT NULL,          -- the guild id, or the user id (personal)
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL,             -- casefolded name: unique per owner
        created_by  INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        UNIQUE (scope, owner_id, name_key)
    );
    CREATE TABLE channel_defaults (
        guild_id        INTEGER NOT NULL,
        channel_id      INTEGER NOT NULL,
        bibliography_id INTEGER NOT NULL REFERENCES bibliographies(id) ON DELETE CASCADE,
        PRIMARY KEY (guild_id, channel_id)
    ) WITHOUT ROWID;
    CREATE INDEX channel_defaults_by_bibliography ON channel_defaults(bibliography_id);
    CREATE TABLE entries (
        id              INTEGER PRIMARY KEY,
        bibliography_id INTEGER NOT NULL REFERENCES bibliographies(id) ON DELETE CASCADE,
        work_key        TEXT NOT NULL,         -- lower-case DOI (or another stable key)
        work            TEXT NOT NULL,         -- Work.to_dict() as JSON: exports need no network
        title           TEXT NOT NULL,
        first_author    TEXT NOT NULL,         -- folded family name, for sorting
        year            INTEGER,
        note            TEXT,
        added_by        INTEGER NOT NULL,
        added_at        TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (bibliography_id, work_key)
    );
    CREATE INDEX entries_by_added ON entries(bibliography_id, added_at DESC, id DESC);
    CREATE INDEX entries_by_author ON entries(bibliography_id, first_author, year, title, id);
    CREATE INDEX entries_by_year ON entries(bibliography_id, year DESC, first_author, id);
    CREATE INDEX entries_by_title ON entries(bibliography_id, title COLLATE NOCASE, id);
    CREATE TABLE entry_tags (
        entry_id    INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        tag         TEXT NOT NULL,
        PRIMARY KEY (entry_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX entry_tags_by_tag ON entry_tags(tag, entry_id);
    """,
    # 4: research neighbourhoods (references, cited-by, related) of a work, cached
    """
    CREATE TABLE neighbourhoods (
        work_key    TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('references', 'cited-by', 'related')),
        data        TEXT NOT NULL,             -- Neighbourhood as JSON
        expires_at  REAL NOT NULL,
        PRIMARY KEY (work_key, kind)
    ) WITHOUT ROWID;
    """,
    # 5: the BibTeX key each entry is exported under: its imported file's own, or the one made
    # when it was added; NULL for older entries until an export gives them one
    """
    ALTER TABLE entries ADD COLUMN cite_key TEXT;
    CREATE INDEX entries_by_cite_key ON entries(bibliography_id, cite_key);
    """,
    # 6: each bibliography's entry count, kept by triggers in the transaction of every insert
    # and delete (cascades too), so a page needs no COUNT; the author and year orders on
    # indexes a page can seek on (keyset): NULL years as the smallest number, which is where
    # SQLite sorts NULL, so the orders are the ones of migration 3; the year column itself at
    # the end, so they cover the order (no read of a row, and of its work's JSON, per entry)
    """
    ALTER TABLE bibliographies ADD COLUMN entry_count INTEGER NOT NULL DEFAULT 0;
    UPDATE bibliographies SET entry_count =
        (SELECT COUNT(*) FROM entries e WHERE e.bibliography_id = bibliographies.id);
    CREATE TRIGGER entries_counted_in AFTER INSERT ON entries BEGIN UPDATE bibliographies
        SET entry_count = entry_count + 1 WHERE id = new.bibliography_id; END;
    CREATE TRIGGER entries_counted_out AFTER DELETE ON entries BEGIN UPDATE bibliographies
        SET entry_count = entry_count - 1 WHERE id = old.bibliography_id; END;
    DROP INDEX entries_by_author;
    DROP INDEX entries_by_year;
    CREATE INDEX entries_by_author ON entries(
        bibliography_id, first_author, ifnull(year, -2147483648), title, id, year);
    CREATE INDEX entries_by_year ON entries(
        bibliography_id, (-ifnull(year, -2147483648)), first_author, id, year);
    """,
    # 7: the living library (bot/watch.py): where an entry was added (alerts go there by
    # default), when each saved work was last re-checked, the notices seen about saved works
    # (once each), which entries know of which notice, and the alerts to deliver (one per
    # notice and destination, so a restart never sends one twice)
    """
    ALTER TABLE entries ADD COLUMN added_channel INTEGER;
    CREATE TABLE watched (
        work_key    TEXT PRIMARY KEY,
        checked_at  REAL NOT NULL,
        failures    INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE work_events (
        id          INTEGER PRIMARY KEY,
        work_key    TEXT NOT NULL,
        event_key   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        notice      TEXT,
        date        TEXT,
        source      TEXT NOT NULL,
        label       TEXT,
        seen_at     TEXT NOT NULL,
        UNIQUE (work_key, event_key)
    );
    CREATE TABLE entry_events (
        entry_id    INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        event_id    INTEGER NOT NULL REFERENCES work_events(id) ON DELETE CASCADE,
        PRIMARY KEY (entry_id, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX entry_events_by_event ON entry_events(event_id);
    CREATE TABLE alerts (
        id              INTEGER PRIMARY KEY,
        event_id        INTEGER NOT NULL REFERENCES work_events(id) ON DELETE CASCADE,
        target          TEXT NOT NULL,      -- 'channel:<id>' or 'user:<id>'
        guild_id        INTEGER,            -- the server whose bibliography holds the work
        entry_id        INTEGER,            -- an entry the alert is about (for Upgrade)
        status          TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'failed')),
        reason          TEXT,
        created_at      TEXT NOT NULL,
        sent_at         TEXT,
        UNIQUE (event_id, target)
    );
    CREATE INDEX alerts_pending ON alerts(status, target);
    """,
    # 8: full-text search over entries (``/bib search``): title, authors, venue, year, note and
    # tags, accents folded; kept by triggers in the transaction of every change
    """
    CREATE VIRTUAL TABLE entries_fts USING fts5(
        title, authors, venue, year, note, tags,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO entries_fts(rowid, title, authors, venue, year, note, tags)
        SELECT e.id, e.title,
            (SELECT group_concat(json_extract(a.value, '$.name'), ' ')
                FROM json_each(e.work, '$.authors') AS a),
            json_extract(e.work, '$.venue'), ifnull(e.year, ''), ifnull(e.note, ''),
            (SELECT ifnull(group_concat(tag, ' '), '') FROM entry_tags WHERE entry_id = e.id)
        FROM entries e;
    CREATE TRIGGER entries_fts_in AFTER INSERT ON entries BEGIN
        INSERT INTO entries_fts(rowid, title, authors, venue, year, note, tags) VALUES (new.id,
        new.title, (SELECT group_concat(json_extract(a.value, '$.name'), ' ')
            FROM json_each(new.work, '$.authors') AS a),
        json_extract(new.work, '$.venue'), ifnull(new.year, ''), ifnull(new.note, ''),
        (SELECT ifnull(group_concat(tag, ' '), '') FROM entry_tags WHERE entry_id = new.id));
    END;
    CREATE TRIGGER entries_fts_out AFTER DELETE ON entries BEGIN
        DELETE FROM entries_fts WHERE rowid = old.id;
    END;
    CREATE TRIGGER entries_fts_change AFTER UPDATE OF title, work, note, year ON entries BEGIN
        DELETE FROM entries_fts WHERE rowid = old.id;
        INSERT INTO entries_fts(rowid, title, authors, venue, year, note, tags) VALUES (new.id,
        new.title, (SELECT group_concat(json_extract(a.value, '$.name'), ' ')
            FROM json_each(new.work, '$.authors') AS a),
        json_extract(new.work, '$.venue'), ifnull(new.year, ''), ifnull(new.note, ''),
        (SELECT ifnull(group_concat(tag, ' '), '') FROM entry_tags WHERE entry_id = new.id));
    END;
    CREATE TRIGGER entry_tags_fts_in AFTER INSERT ON entry_tags BEGIN
        UPDATE entries_fts SET tags = (SELECT group_concat(tag, ' ') FROM entry_tags
            WHERE entry_id = new.entry_id) WHERE rowid = new.entry_id;
    END;
    CREATE TRIGGER entry_tags_fts_out AFTER DELETE ON entry_tags BEGIN
        UPDATE entries_fts SET tags = (SELECT ifnull(group_concat(tag, ' '), '') FROM entry_tags
            WHERE entry_id = old.entry_id) WHERE rowid = old.entry_id;
    END;
    """,
    # 9: duplicates beyond the DOI (bot/storage/duplicates.py): every identifier of a saved
    # work ('same': its DOI, arXiv id, PMID, PMCID) and of its other versions ('published':
    # the version of record of a preprint; 'preprint': a preprint of a version of record),
    # kept by triggers from the work's JSON; the merges offered for entries that look like
    # the same work (same title, first author and year), and the pairs members kept apart
    """
    CREATE TABLE entry_ids (
        bibliography_id INTEGER NOT NULL,
        id_key          TEXT NOT NULL,      -- 'doi:10.…' (lower-case), 'arxiv:2312.07559', …
        kind            TEXT NOT NULL CHECK (kind IN ('same', 'published', 'preprint')),
        entry_id        INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        PRIMARY KEY (bibliography_id, id_key, kind, entry_id)
    ) WITHOUT ROWID;
    CREATE INDEX entry_ids_by_entry ON entry_ids(entry_id);
    CREATE VIEW entry_id_rows(entry_id, bibliography_id, id_key, kind) AS
        SELECT id, bibliography_id, 'doi:' || lower(json_extract(work, '$.doi')), 'same'
            FROM entries WHERE json_extract(work, '$.doi') IS NOT NULL
        UNION ALL SELECT id, bibliography_id, 'arxiv:' || lower(json_extract(work, '$.arxiv')),
            'same' FROM entries WHERE json_extract(work, '$.arxiv') IS NOT NULL
        UNION ALL SELECT id, bibliography_id,
            'arxiv:' || substr(lower(json_extract(work, '$.doi')), 16), 'same'
            FROM entries WHERE lower(json_extract(work, '$.doi')) LIKE '10.48550/arxiv.%'
        UNION ALL SELECT id, bibliography_id, 'pmid:' || json_extract(work, '$.pmid'), 'same'
            FROM entries WHERE json_extract(work, '$.pmid') IS NOT NULL
        UNION ALL SELECT id, bibliography_id, 'pmcid:' || upper(json_extract(work, '$.pmcid')),
            'same' FROM entries WHERE json_extract(work, '$.pmcid') IS NOT NULL
        UNION ALL SELECT id, bibliography_id,
            'doi:' || lower(json_extract(work, '$.published_doi')), 'published'
            FROM entries WHERE json_extract(work, '$.published_doi') IS NOT NULL
        UNION ALL SELECT e.id, e.bibliography_id, 'doi:' || lower(p.value), 'preprint'
            FROM entries e, json_each(e.work, '$.preprints') AS p;
    INSERT OR IGNORE INTO entry_ids(bibliography_id, id_key, kind, entry_id)
        SELECT bibliography_id, id_key, kind, entry_id FROM entry_id_rows;
    CREATE TRIGGER entry_ids_in AFTER INSERT ON entries BEGIN
        INSERT OR IGNORE INTO entry_ids(bibliography_id, id_key, kind, entry_id)
            SELECT bibliography_id, id_key, kind, entry_id FROM entry_id_rows
            WHERE entry_id = new.id;
    END;
    CREATE TRIGGER entry_ids_change AFTER UPDATE OF work ON entries BEGIN
        DELETE FROM entry_ids WHERE entry_id = old.id;
        INSERT OR IGNORE INTO entry_ids(bibliography_id, id_key, kind, entry_id)
            SELECT bibliography_id, id_key, kind, entry_id FROM entry_id_rows
            WHERE entry_id = new.id;
    END;
    CREATE TABLE merge_offers (
        id          INTEGER PRIMARY KEY,
        batch       INTEGER NOT NULL,       -- the add or import that found it: shown together
        keep_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,  -- there before
        drop_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,  -- the new one
        status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'merged', 'kept')),
        created_by  INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        UNIQUE (keep_id, drop_id)
    );
    CREATE INDEX merge_offers_by_batch ON merge_offers(batch);
    CREATE INDEX merge_offers_by_drop ON merge_offers(drop_id);
    """,
    # 10: a bibliography's list version, moved on (by triggers, in the same transaction) by
    # every change to which of its entries a list holds or in what order: an entry in or out,
    # a sort key or a tag changed. Positions remembered within a list order
    # (bot/storage/bibliographies.py, page by number) hold while it is unchanged. A new
    # bibliography starts at a random version, so one that takes a deleted one's id never
    # passes for it.
    """
    ALTER TABLE bibliographies ADD COLUMN list_version INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER bibliographies_versioned AFTER INSERT ON bibliographies BEGIN
        UPDATE bibliographies SET list_version = abs(random() % 1152921504606846976)
        WHERE id = new.id; END;
    DROP TRIGGER entries_counted_in;
    DROP TRIGGER entries_counted_out;
    CREATE TRIGGER entries_counted_in AFTER INSERT ON entries BEGIN UPDATE bibliographies
        SET entry_count = entry_count + 1, list_version = list_version + 1
        WHERE id = new.bibliography_id; END;
    CREATE TRIGGER entries_counted_out AFTER DELETE ON entries BEGIN UPDATE bibliographies
        SET entry_count = entry_count - 1, list_version = list_version + 1
        WHERE id = old.bibliography_id; END;
    CREATE TRIGGER entries_reordered
        AFTER UPDATE OF bibliography_id, added_at, first_author, year, title ON entries BEGIN
        UPDATE bibliographies SET list_version = list_version + 1
        WHERE id IN (old.bibliography_id, new.bibliography_id); END;
    CREATE TRIGGER entry_tags_listed_in AFTER INSERT ON entry_tags BEGIN
        UPDATE bibliographies SET list_version = list_version + 1
        WHERE id = (SELECT bibliography_id FROM entries WHERE id = new.entry_id); END;
    CREATE TRIGGER entry_tags_listed_out AFTER DELETE ON entry_tags BEGIN
        UPDATE bibliographies SET list_version = list_version + 1
        WHERE id = (SELECT bibliography_id FROM entries WHERE id = old.entry_id); END;
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

    # Reads go to the database thread once (``execute_fetchall``), not three times (execute,
    # fetch, close: each a hand-over to the thread and a wake-up of the loop, ~0.1-0.2 ms).

    async def one(self, sql: str, args: Sequence[object] = ()) -> aiosqlite.Row | None:
        """The first row of a read, or ``None``: for reads of one row or a few (every row the
        query yields is fetched)."""
        rows = await self.conn.execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def all(self, sql: str, args: Sequence[object] = ()) -> list[aiosqlite.Row]:
        """Every row of a read."""
        return list(await self.conn.execute_fetchall(sql, args))

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
        # a trigger's body holds ";" too: a statement ends where SQLite says it is complete
        if code.rstrip().endswith(";") and sqlite3.complete_statement("\n".join(buf)):
            stmt = "\n".join(buf).strip()
            if stmt.strip(";").strip():
                out.append(stmt)
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        out.append(tail)
    return out
