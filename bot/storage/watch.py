"""The living library's state: which saved works were re-checked when, the notices seen about
them, and the alerts to deliver (bot/watch.py decides; this module only stores).

Everything is restart-safe by construction: a notice is a row (``work_events``, unique per work
and event), an entry learns of a notice once (``entry_events``), and an alert is a row unique
per notice and destination (``alerts``), marked sent when Discord took it. A restart between
two steps repeats nothing that was done and loses nothing that was not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.models import UPDATE_KINDS, Update, Work
from bot.storage.database import Database
from bot.storage.duplicates import merge_entries

ALERT_CHANNEL = "alerts_channel"  # a server's preference: the channel id alerts go to
ALERT_DMS = "alerts_dm"  # a member's preference: "off" stops alerts in their DMs
PUBLISHED = "published"  # the event kind of a preprint whose version of record appeared
# Fields of a saved work that a re-check refreshes (the rest is the snapshot taken when added)
SIGNAL_FIELDS = ("updates", "retracted", "retraction_notice", "published_doi", "preprints")


@dataclass(frozen=True, slots=True)
class Event:
    """A notice about a saved work, as stored."""

    id: int
    work_key: str
    kind: str  # an UPDATE_KINDS key, or "published"
    notice: str | None  # the notice's DOI (the version of record's, for "published")
    date: str | None
    source: str
    label: str | None

    @property
    def words(self) -> str:
        if self.kind == PUBLISHED:
            return "Published version"
        return UPDATE_KINDS.get(self.kind, self.kind.replace("_", " ").capitalize())

    @property
    def retracting(self) -> bool:
        return Update(self.kind).retracting


@dataclass(frozen=True, slots=True)
class Alert:
    """One notice for one destination: a channel (``channel:<id>``) or a member's DMs
    (``user:<id>``)."""

    id: int
    target: str
    guild_id: int | None
    entry_id: int | None
    event: Event
    title: str  # the saved work's title
    work_key: str
    bibliography: str | None  # the bibliography's name, when the entry still exists


def events_of(work: Work) -> list[tuple[str, str, str | None, str | None, str, str | None]]:
    """The events a work's record shows: (event key, kind, notice, date, source, label)."""
    out = [(u.key, u.kind, u.notice, u.date, u.source, u.label) for u in work.updates]
    if work.published_doi and work.type == "preprint":
        source = work.provenance.get("published_doi", "")
        out.append(
            (f"{PUBLISHED}:{work.published_doi.lower()}", PUBLISHED, work.published_doi, None,
             source, None)
        )  # fmt: skip
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class WatchStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def due(self, *, before: float, after: str = "", limit: int = 200) -> list[str]:
        """Saved works (their keys) not re-checked since ``before`` (epoch seconds), in key
        order after ``after``: the job pages through them."""
        rows = await self.db.all(
            "SELECT DISTINCT e.work_key FROM entries e "
            "LEFT JOIN watched w ON w.work_key = e.work_key "
            "WHERE e.work_key > ? AND (w.checked_at IS NULL OR w.checked_at < ?) "
            "ORDER BY e.work_key LIMIT ?",
            (after, before, limit),
        )
        return [row["work_key"] for row in rows]

    async def saved_count(self) -> int:
        row = await self.db.one("SELECT COUNT(DISTINCT work_key) AS n FROM entries")
        return int(row["n"]) if row else 0

    async def failed(self, key: str) -> None:
        """A re-check that could not reach the sources: tried again on the next run."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO watched(work_key, checked_at, failures) VALUES (?, 0, 1) "
                "ON CONFLICT(work_key) DO UPDATE SET failures = failures + 1",
                (key,),
            )

    async def observe(self, key: str, work: Work, *, at: float) -> int:
        """Record a re-check of the saved work ``key`` that found ``work``: refresh the signal
        fields of every entry holding it, store its notices once each, and plan one alert per
        notice and destination for every entry that had not known of it. One transaction.
        Returns the alerts planned."""
        found = events_of(work)
        planned = 0
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO watched(work_key, checked_at, failures) VALUES (?, ?, 0) "
                "ON CONFLICT(work_key) DO UPDATE SET checked_at = excluded.checked_at, "
                "failures = 0",
                (key, at),
            )
            now = _now()
            await _record(conn, key, found, now)
            async with conn.execute(
                "SELECT e.id, e.work, e.added_by, e.added_channel, b.scope, b.owner_id "
                "FROM entries e JOIN bibliographies b ON b.id = e.bibliography_id "
                "WHERE e.work_key = ?",
                (key,),
            ) as cur:
                entries = list(await cur.fetchall())
            for entry in entries:
                stored = json.loads(entry["work"])
                refreshed = _with_signals(stored, work)
                if refreshed != stored:
                    await conn.execute(
                        "UPDATE entries SET work = ? WHERE id = ?",
                        (json.dumps(refreshed, ensure_ascii=False), entry["id"]),
                    )
            if not found:
                return 0
            async with conn.execute("SELECT id FROM work_events WHERE work_key = ?", (key,)) as cur:
                event_ids = [row["id"] for row in await cur.fetchall()]
            for entry in entries:
                async with conn.execute(
                    "SELECT event_id FROM entry_events WHERE entry_id = ?", (entry["id"],)
                ) as cur:
                    known = {row["event_id"] for row in await cur.fetchall()}
                new = [e for e in event_ids if e not in known]
                if not new:
                    continue
                await conn.executemany(
                    "INSERT OR IGNORE INTO entry_events(entry_id, event_id) VALUES (?, ?)",
                    [(entry["id"], e) for e in new],
                )
                targets = await _targets(conn, entry)
                guild = entry["owner_id"] if entry["scope"] == "guild" else None
                for event_id in new:
                    for target in targets:
                        cur = await conn.execute(
                            "INSERT INTO alerts(event_id, target, guild_id, entry_id, "
                            "created_at) VALUES (?, ?, ?, ?, ?) "
                            "ON CONFLICT(event_id, target) DO NOTHING",
                            (event_id, target, guild, entry["id"], now),
                        )
                        planned += cur.rowcount
        return planned

    async def baseline(self, entry_ids: Iterable[int], work: Work) -> None:
        """Entries just added with ``work`` know of its notices already (the card they were
        added from showed them): no alert for those."""
        found = events_of(work)
        ids = list(entry_ids)
        if not found or not ids:
            return
        key = _key_of(work)
        async with self.db.transaction() as conn:
            now = _now()
            await _record(conn, key, found, now)
            marks = ",".join("?" * len(found))
            await conn.execute(
                "INSERT OR IGNORE INTO entry_events(entry_id, event_id) "
                "SELECT e.id, w.id FROM entries e JOIN work_events w ON w.work_key = ? "
                f"WHERE e.id IN ({','.join('?' * len(ids))}) AND w.event_key IN ({marks})",
                (key, *ids, *(event[0] for event in found)),
            )

    async def pending(self, *, limit: int = 500) -> list[Alert]:
        """Alerts not yet delivered, oldest first."""
        rows = await self.db.all(
            _ALERTS + "WHERE a.status = 'pending' ORDER BY a.id LIMIT ?", (limit,)
        )
        return [_alert(row) for row in rows]

    async def mark(self, ids: Sequence[int], status: str, reason: str | None = None) -> None:
        if not ids:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE alerts SET status = ?, reason = ?, sent_at = ? WHERE id = ?",
                [(status, reason, _now(), i) for i in ids],
            )

    async def alert(self, alert_id: int) -> Alert | None:
        """One alert by id (an Upgrade button on an alert message)."""
        row = await self.db.one(_ALERTS + "WHERE a.id = ?", (alert_id,))
        return _alert(row) if row is not None else None

    async def upgrade(self, entry_id: int, work: Work) -> tuple[str, str | None]:
        """Switch a saved preprint to its version of record ``work``, keeping its note, tags
        and BibTeX key; when the bibliography holds the published version already, the two
        become one entry (``bot.storage.duplicates.merge_entries``: tags and notes joined,
        notices known to either known to it). Returns ("upgraded"
        | "merged" | "gone", the bibliography's name)."""
        from bot.storage.bibliographies import entry_row

        key, data, title, first_author, year, _ = entry_row(work)
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT e.id, e.bibliography_id, e.note, b.name FROM entries e "
                "JOIN bibliographies b ON b.id = e.bibliography_id WHERE e.id = ?",
                (entry_id,),
            ) as cur:
                old = await cur.fetchone()
            if old is None:
                return "gone", None
            async with conn.execute(
                "SELECT id, note FROM entries WHERE bibliography_id = ? AND work_key = ?",
                (old["bibliography_id"], key),
            ) as cur:
                there = await cur.fetchone()
            if there is not None and there["id"] != entry_id:
                await merge_entries(conn, there["id"], entry_id)
                return "merged", old["name"]
            await conn.execute(
                "UPDATE entries SET work_key = ?, work = ?, title = ?, first_author = ?, "
                "year = ?, updated_at = ? WHERE id = ?",
                (key, data, title, first_author, year, _now(), entry_id),
            )
            return "upgraded", old["name"]

    async def entry_owner(self, entry_id: int) -> tuple[str, int, int] | None:
        """(scope, owner id, added by) of an entry, for permission checks."""
        row = await self.db.one(
            "SELECT b.scope, b.owner_id, e.added_by FROM entries e "
            "JOIN bibliographies b ON b.id = e.bibliography_id WHERE e.id = ?",
            (entry_id,),
        )
        return (row["scope"], row["owner_id"], row["added_by"]) if row else None

    async def status(self, guild_id: int) -> dict[str, int]:
        """How many of a server's alerts are pending, sent and failed."""
        rows = await self.db.all(
            "SELECT status, COUNT(*) AS n FROM alerts WHERE guild_id = ? GROUP BY status",
            (guild_id,),
        )
        return {row["status"]: row["n"] for row in rows}

    async def retarget_failed(self, guild_id: int, channel_id: int) -> int:
        """A server chose a new alert channel: its undelivered channel alerts go there."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO alerts(event_id, target, guild_id, entry_id, created_at) "
                "SELECT event_id, ?, guild_id, entry_id, ? FROM alerts WHERE guild_id = ? "
                "AND status = 'failed' AND target LIKE 'channel:%'",
                (f"channel:{channel_id}", _now(), guild_id),
            )
            moved = cur.rowcount
            await conn.execute(
                "UPDATE alerts SET status = 'sent', reason = 'moved to another channel' "
                "WHERE guild_id = ? AND status = 'failed' AND target LIKE 'channel:%' "
                "AND target != ?",
                (guild_id, f"channel:{channel_id}"),
            )
        return moved

    async def events(self, key: str) -> list[Event]:
        rows = await self.db.all(
            "SELECT id, work_key, kind, notice, date, source, label FROM work_events "
            "WHERE work_key = ? ORDER BY id",
            (key,),
        )
        return [Event(*row) for row in rows]


async def _record(conn, key: str, found: list, now: str) -> None:
    """Each notice of ``found`` stored once for the work ``key``."""
    await conn.executemany(
        "INSERT INTO work_events(work_key, event_key, kind, notice, date, source, label, "
        "seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(work_key, event_key) DO NOTHING",
        [(key, *event, now) for event in found],
    )


_ALERTS = (
    "SELECT a.id, a.target, a.guild_id, a.entry_id, w.id AS event_id, w.work_key, "
    "w.kind, w.notice, w.date, w.source, w.label, e.work, b.name "
    "FROM alerts a JOIN work_events w ON w.id = a.event_id "
    "LEFT JOIN entries e ON e.id = a.entry_id "
    "LEFT JOIN bibliographies b ON b.id = e.bibliography_id "
)


def _alert(row) -> Alert:
    event = Event(
        row["event_id"], row["work_key"], row["kind"], row["notice"], row["date"],
        row["source"], row["label"],
    )  # fmt: skip
    title = json.loads(row["work"]).get("title") if row["work"] else None
    return Alert(
        id=row["id"],
        target=row["target"],
        guild_id=row["guild_id"],
        entry_id=row["entry_id"],
        event=event,
        title=title or row["work_key"],
        work_key=row["work_key"],
        bibliography=row["name"],
    )


def _key_of(work: Work) -> str:
    from bot.storage.works import work_key

    return work_key(work)


def _with_signals(stored: dict, work: Work) -> dict:
    """A saved work's JSON with the signal fields of a fresh record (its snapshot otherwise)."""
    fresh = work.to_dict()
    out = dict(stored)
    for name in SIGNAL_FIELDS:
        out[name] = fresh[name]
    provenance = dict(out.get("provenance") or {})
    for name in ("retracted", "updates", "published_doi"):
        if name in work.provenance:
            provenance[name] = work.provenance[name]
    out["provenance"] = provenance
    return out


async def _targets(conn, entry) -> list[str]:
    """Where alerts about ``entry`` go: a server's alert channel (or the channel it was added
    in) and the DMs of the member who added it unless they opted out; a personal
    bibliography's owner in DMs."""
    if entry["scope"] == "user":
        return [f"user:{entry['owner_id']}"]
    targets = []
    async with conn.execute(
        "SELECT value FROM preferences WHERE scope = 'guild' AND scope_id = ? AND name = ?",
        (entry["owner_id"], ALERT_CHANNEL),
    ) as cur:
        row = await cur.fetchone()
    channel = row["value"] if row else entry["added_channel"]
    if channel and str(channel) != "off":
        targets.append(f"channel:{channel}")
    async with conn.execute(
        "SELECT value FROM preferences WHERE scope = 'user' AND scope_id = ? AND name = ?",
        (entry["added_by"], ALERT_DMS),
    ) as cur:
        row = await cur.fetchone()
    if not (row and row["value"] == "off"):
        targets.append(f"user:{entry['added_by']}")
    return targets
