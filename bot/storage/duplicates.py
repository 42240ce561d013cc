"""Duplicates beyond the DOI, and the two versions of one paper.

A bibliography holds a work once. Besides the same DOI, an entry is the same work as a new one
when they share another identifier (arXiv id, PMID, PMCID; an arXiv DOI ``10.48550/arXiv.X`` is
the arXiv id X), and it is the *other version* of the new one when a source links the two (the
preprint's ``published_doi`` from arXiv or Crossref ``is-preprint-of``; the version of record's
``preprints`` from Crossref ``has-preprint``). Those are certain, so saving merges them at once:
the same work updates the entry there; a preprint whose version of record is saved goes into
that entry; a version of record whose preprint is saved takes the preprint's entry over,
keeping its note, tags and BibTeX key (a manuscript citing the key keeps working).

An entry with the same normalised title, first author and year but no shared identifier is
only *probably* the same work (a conference paper and its journal version share titles, so do
an editorial series' parts): it is saved, and a merge is **offered** (``merge_offers``), which a
member accepts or declines; a declined pair is never offered again.

The identifiers of saved works live in ``entry_ids``, kept by triggers from each entry's JSON
(migration 9); ``work_ids`` computes the same keys in Python for a work not saved yet, and the
tests check that the two agree.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiosqlite

from bot.models import Work
from bot.names import fold

SAME, PUBLISHED, PREPRINT, TITLE = "same", "published", "preprint", "title"
# How a new work relates to an entry there, strongest first:
#   same       it is the entry's work (an identifier in common)
#   published  the entry is its version of record (the new work is a preprint of it)
#   preprint   the entry is its preprint (the new work is the version of record)
#   title      probably the same: normalised title, first author and year agree
STRENGTH = {SAME: 0, PUBLISHED: 1, PREPRINT: 2, TITLE: 3}
# A title this short ("Editorial", "Reply", "Introduction") names too many works to match on.
MIN_TITLE_WORDS = 3
MIN_TITLE_CHARS = 20
BREATHE = 100  # works keyed between two turns of the event loop
_ARXIV_DOI = "10.48550/arxiv."
# Preprint types: a merge keeps the version of record's metadata over these.
PREPRINT_TYPES = frozenset({"posted-content", "preprint", "posted content"})


@dataclass(frozen=True, slots=True)
class WorkIds:
    """A work's identifier keys, as ``entry_ids`` stores them."""

    same: frozenset[str] = frozenset()
    published: frozenset[str] = frozenset()  # its version of record
    preprint: frozenset[str] = frozenset()  # its preprints

    def all(self) -> set[str]:
        return set(self.same | self.published | self.preprint)


def work_ids(work: Work) -> WorkIds:
    """The keys migration 9's ``entry_id_rows`` view makes from the work's JSON."""
    same: set[str] = set()
    if work.doi:
        doi = work.doi.lower()
        same.add(f"doi:{doi}")
        if doi.startswith(_ARXIV_DOI):
            same.add(f"arxiv:{doi[len(_ARXIV_DOI) :]}")
    if work.arxiv:
        same.add(f"arxiv:{work.arxiv.lower()}")
    if work.pmid:
        same.add(f"pmid:{work.pmid}")
    if work.pmcid:
        same.add(f"pmcid:{work.pmcid.upper()}")
    published = {f"doi:{work.published_doi.lower()}"} if work.published_doi else set()
    preprint = {f"doi:{doi.lower()}" for doi in work.preprints}
    return WorkIds(frozenset(same), frozenset(published), frozenset(preprint))


def title_key(title: str | None) -> str | None:
    """The title folded (case, accents, punctuation, spacing, sub/superscripts: "CO₂" is
    "co2"), or None when it is too short to tell works apart."""
    folded = fold(title)
    if len(folded.split()) < MIN_TITLE_WORDS or len(folded) < MIN_TITLE_CHARS:
        return None
    return folded


def relation(new: WorkIds, id_key: str, kind: str) -> str | None:
    """How a new work relates to an entry that has ``id_key`` as ``kind`` (None: it does not,
    e.g. two preprints of one version of record are not the same work)."""
    if kind == SAME and id_key in new.same:
        return SAME
    if (kind == SAME and id_key in new.published) or (kind == PREPRINT and id_key in new.same):
        return PUBLISHED  # the entry is the new work's version of record
    if (kind == SAME and id_key in new.preprint) or (kind == PUBLISHED and id_key in new.same):
        return PREPRINT  # the entry is the new work's preprint
    return None


def strongest(
    new: WorkIds, hits: Mapping[str, Iterable[tuple[str, int]]]
) -> tuple[int, str] | None:
    """The entry ``new`` relates to most strongly (``STRENGTH``) and how, among ``hits``: the
    (kind, entry) pairs holding each identifier key. Keys are read in order, so ties go to the
    same entry every time."""
    found: tuple[int, str] | None = None
    for id_key in sorted(new.all()):
        for kind, entry_id in hits.get(id_key, ()):
            how = relation(new, id_key, kind)
            if how and (found is None or STRENGTH[how] < STRENGTH[found[1]]):
                found = (entry_id, how)
    return found


@dataclass(frozen=True, slots=True)
class Match:
    """An entry there that a new work relates to."""

    entry_id: int
    how: str  # SAME, PUBLISHED, PREPRINT or TITLE
    work_key: str
    cite_key: str | None
    title: str


async def find(
    conn: aiosqlite.Connection, bibliography_id: int, works: Sequence[Work]
) -> list[Match | None]:
    """For each work, the entry of the bibliography it relates to most strongly (None: no
    entry). Two queries for the whole batch: identifiers, then (first author, year) pairs."""
    ids = []
    for n, work in enumerate(works):
        ids.append(work_ids(work))
        await breathe(n)
    keys = sorted(set().union(*(i.all() for i in ids))) if ids else []
    hits: dict[str, list[tuple[str, int]]] = {}
    if keys:
        async with conn.execute(
            "SELECT id_key, kind, entry_id FROM entry_ids WHERE bibliography_id = ? "
            "AND id_key IN (SELECT value FROM json_each(?))",
            (bibliography_id, json.dumps(keys)),
        ) as cur:
            for id_key, kind, entry_id in await cur.fetchall():
                hits.setdefault(id_key, []).append((kind, entry_id))
    best: list[tuple[int, str] | None] = []
    for work_id in ids:
        best.append(strongest(work_id, hits))
    # The rest: same first author and year, then the folded titles compared here.
    from bot.storage.bibliographies import first_author_key

    pairs: dict[tuple[str, int], dict[str, list[int]]] = {}  # (author, year) → title → works
    for i, work in enumerate(works):
        await breathe(i)
        folded = title_key(work.rich("title").plain()) if best[i] is None and work.year else None
        if folded:
            by_title = pairs.setdefault((first_author_key(work), work.year), {})  # type: ignore[arg-type]
            by_title.setdefault(folded, []).append(i)
    if pairs:
        async with conn.execute(
            "SELECT id, first_author, year, title FROM entries WHERE bibliography_id = ? AND "
            "(first_author, year) IN (SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]') FROM json_each(?))",
            (bibliography_id, json.dumps([list(p) for p in pairs])),
        ) as cur:
            for entry_id, author, year, title in await cur.fetchall():
                for i in pairs.get((author, year), {}).get(title_key(title) or "", ()):
                    if best[i] is None:
                        best[i] = (entry_id, TITLE)
    found_ids = sorted({b[0] for b in best if b is not None})
    rows: dict[int, tuple[str, str | None, str]] = {}
    if found_ids:
        async with conn.execute(
            "SELECT id, work_key, cite_key, title FROM entries "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(found_ids),),
        ) as cur:
            rows = {row[0]: (row[1], row[2], row[3]) for row in await cur.fetchall()}
    return [
        Match(b[0], b[1], *rows[b[0]]) if b is not None and b[0] in rows else None for b in best
    ]


async def breathe(n: int) -> None:
    """Let the event loop run between every ``BREATHE`` works (keys cost ~30 µs a work: a
    5,000-entry import would otherwise hold the loop for 150 ms)."""
    if n % BREATHE == BREATHE - 1:
        await asyncio.sleep(0)


async def within(works: Sequence[Work]) -> list[tuple[int, str] | None]:
    """Matches inside one batch (an import): for each work, an earlier work of the batch it
    relates to, as (index, how), the strongest; None for the first of each. A version of
    record after its preprint takes the preprint's place: later works are matched with it."""
    ids = []
    for n, work in enumerate(works):
        ids.append(work_ids(work))
        await breathe(n)
    by_key: dict[str, list[tuple[str, int]]] = {}
    by_title: dict[tuple[str, str, int | None], int] = {}
    out: list[tuple[int, str] | None] = []
    from bot.storage.bibliographies import first_author_key

    for i, (work, work_id) in enumerate(zip(works, ids, strict=True)):
        await breathe(i)
        found = strongest(work_id, by_key)
        folded = title_key(work.rich("title").plain()) if work.year else None
        title = (folded, first_author_key(work), work.year) if folded else None
        if found is None and title is not None and title in by_title:
            found = (by_title[title], TITLE)
        out.append(found)
        if found is None or found[1] in (TITLE, PREPRINT):  # a head: later works meet it
            for kind, keys in ((SAME, work_id.same), (PUBLISHED, work_id.published)):
                for id_key in keys:
                    by_key.setdefault(id_key, []).append((kind, i))
            for id_key in work_id.preprint:
                by_key.setdefault(id_key, []).append((PREPRINT, i))
            if title is not None:
                by_title.setdefault(title, i)
    return out


def better_version(kept: Work, other: Work) -> bool:
    """Whether ``other``'s metadata should replace ``kept``'s when the two entries become one:
    a version of record over a preprint, a work with a DOI over one without."""
    if (kept.type in PREPRINT_TYPES) != (other.type in PREPRINT_TYPES):
        return kept.type in PREPRINT_TYPES
    return not kept.doi and bool(other.doi)


def joined_note(kept: str | None, other: str | None) -> str | None:
    """The note of two entries made one: both kept when they differ."""
    if not kept or not other or other.strip() in kept:
        return kept or other
    return f"{kept}\n{other}"


@dataclass(slots=True)
class MergeOutcome:
    """What ``merge_entries`` did."""

    kept_id: int
    kept_key: str | None  # the BibTeX key the entry keeps
    dropped_key: str | None  # the one that is gone
    title: str


async def merge_entries(
    conn: aiosqlite.Connection, keep_id: int, drop_id: int, *, now: str | None = None
) -> MergeOutcome | None:
    """Make two entries of one bibliography one, inside the caller's transaction: ``keep_id``
    stays (its BibTeX key, its place), takes the tags of both and both notes, and the better
    version's metadata (``better_version``); ``drop_id`` is deleted, with its notices'
    memory merged so nothing is alerted twice. None when either is gone or they are not in
    the same bibliography."""
    from bot.storage.bibliographies import entry_row

    async with conn.execute(
        "SELECT id, bibliography_id, work, note, cite_key, title FROM entries WHERE id IN (?, ?)",
        (keep_id, drop_id),
    ) as cur:
        rows = {row[0]: row for row in await cur.fetchall()}
    keep, drop = rows.get(keep_id), rows.get(drop_id)
    if keep is None or drop is None or keep_id == drop_id or keep[1] != drop[1]:
        return None
    now = now or datetime.now(UTC).isoformat(timespec="seconds")
    kept_work = Work.from_dict(json.loads(keep[2]))
    other = Work.from_dict(json.loads(drop[2]))
    note = joined_note(keep[3], drop[3])
    await conn.execute(
        "INSERT OR IGNORE INTO entry_tags(entry_id, tag) "
        "SELECT ?, tag FROM entry_tags WHERE entry_id = ?",
        (keep_id, drop_id),
    )
    await conn.execute(
        "INSERT OR IGNORE INTO entry_events(entry_id, event_id) "
        "SELECT ?, event_id FROM entry_events WHERE entry_id = ?",
        (keep_id, drop_id),
    )
    await conn.execute(
        "UPDATE merge_offers SET status = 'merged' WHERE (keep_id = ? AND drop_id = ?) "
        "OR (keep_id = ? AND drop_id = ?)",
        (keep_id, drop_id, drop_id, keep_id),
    )
    await conn.execute("DELETE FROM entries WHERE id = ?", (drop_id,))
    title = keep[5]
    if better_version(kept_work, other):
        key, data, title, first_author, year, _ = entry_row(other)
        await conn.execute(
            "UPDATE entries SET work_key = ?, work = ?, title = ?, first_author = ?, year = ?, "
            "note = ?, updated_at = ? WHERE id = ?",
            (key, data, title, first_author, year, note, now, keep_id),
        )
    elif note != keep[3]:
        await conn.execute(
            "UPDATE entries SET note = ?, updated_at = ? WHERE id = ?", (note, now, keep_id)
        )
    return MergeOutcome(keep_id, keep[4], drop[4], title)


@dataclass(frozen=True, slots=True)
class Offer:
    """A merge offered: ``drop`` (new) looks like ``keep`` (there before)."""

    id: int
    batch: int
    keep_id: int
    drop_id: int
    keep_label: str
    drop_label: str
    status: str


@dataclass(slots=True)
class Offers:
    """The merges one add or import offered (``batch``), for its buttons."""

    batch: int | None = None
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (keep, drop) entry ids


async def offer(
    conn: aiosqlite.Connection,
    pairs: Iterable[tuple[int, int]],
    *,
    by: int,
    now: str,
    reopen: bool = False,
) -> int | None:
    """Record merges offered for (keep, drop) entry pairs as one batch, leaving out pairs
    offered before (declined ones stay declined; with ``reopen``, ones still open move into
    this batch). Returns the batch, or None if none is in it."""
    pairs = [(a, b) for a, b in pairs if a != b]
    if not pairs:
        return None
    async with conn.execute("SELECT ifnull(max(batch), 0) + 1 FROM merge_offers") as cur:
        row = await cur.fetchone()
    batch = int(row[0]) if row else 1
    fresh = 0
    for keep_id, drop_id in pairs:
        async with conn.execute(
            "SELECT id, status FROM merge_offers WHERE (keep_id = ? AND drop_id = ?) "
            "OR (keep_id = ? AND drop_id = ?)",
            (keep_id, drop_id, drop_id, keep_id),
        ) as cur:
            there = await cur.fetchone()
        if there is not None:
            if reopen and there[1] == "open":
                await conn.execute(
                    "UPDATE merge_offers SET batch = ?, created_by = ? WHERE id = ?",
                    (batch, by, there[0]),
                )
                fresh += 1
            continue
        await conn.execute(
            "INSERT INTO merge_offers(batch, keep_id, drop_id, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (batch, keep_id, drop_id, by, now),
        )
        fresh += 1
    return batch if fresh else None


async def offers(conn: aiosqlite.Connection, batch: int) -> list[Offer]:
    """The offers of one batch with both entries' labels (key and title)."""
    async with conn.execute(
        "SELECT o.id, o.batch, o.keep_id, o.drop_id, o.status, "
        "ifnull(k.cite_key, k.work_key), k.title, ifnull(d.cite_key, d.work_key), d.title "
        "FROM merge_offers o JOIN entries k ON k.id = o.keep_id "
        "JOIN entries d ON d.id = o.drop_id WHERE o.batch = ? ORDER BY o.id",
        (batch,),
    ) as cur:
        rows = await cur.fetchall()
    return [
        Offer(row[0], row[1], row[2], row[3], f"{row[5]}: {row[6]}", f"{row[7]}: {row[8]}", row[4])
        for row in rows
    ]


# Who a scan's offers are for: nobody in particular, so merging them needs Manage Server (or
# the owner, for a personal bibliography)
SCANNED_BY = 0


async def scan(conn: aiosqlite.Connection, bibliography_id: int) -> list[tuple[int, int, str]]:
    """Pairs of entries of one bibliography that are one paper, as (older, newer, how): an
    identifier in common (``SAME``), a preprint and its version of record (``PREPRINT``), or the
    same folded title, first author and year (``TITLE``). For entries saved before duplicates
    were caught on add (or by several members at once): a self-join on ``entry_ids``, then only
    the (first author, year) groups of two or more have their titles folded."""
    found: dict[tuple[int, int], str] = {}
    async with conn.execute(
        "SELECT a.entry_id, b.entry_id, a.kind, b.kind FROM entry_ids a JOIN entry_ids b "
        "ON b.bibliography_id = a.bibliography_id AND b.id_key = a.id_key "
        "AND b.entry_id > a.entry_id WHERE a.bibliography_id = ?",
        (bibliography_id,),
    ) as cur:
        for first, second, kind_a, kind_b in await cur.fetchall():
            if kind_a == kind_b == SAME:
                how = SAME
            elif {kind_a, kind_b} in ({SAME, PUBLISHED}, {SAME, PREPRINT}):
                how = PREPRINT  # one is the other's preprint
            else:
                continue  # two preprints of one article, say: not one paper
            current = found.get((first, second))
            if current is None or STRENGTH[how] < STRENGTH[current]:
                found[(first, second)] = how
    async with conn.execute(
        "SELECT id, first_author, year, title FROM entries WHERE bibliography_id = ? AND "
        "(first_author, year) IN (SELECT first_author, year FROM entries "
        "WHERE bibliography_id = ? AND year IS NOT NULL "
        "GROUP BY first_author, year HAVING COUNT(*) > 1) ORDER BY id",
        (bibliography_id, bibliography_id),
    ) as cur:
        rows = await cur.fetchall()
    groups: dict[tuple[str, int, str], list[int]] = {}
    for n, (entry_id, author, year, title) in enumerate(rows):
        await breathe(n)
        folded = title_key(title)
        if folded:
            groups.setdefault((author, year, folded), []).append(entry_id)
    for ids in groups.values():
        for newer in ids[1:]:
            found.setdefault((ids[0], newer), TITLE)
    return sorted((a, b, how) for (a, b), how in found.items())
