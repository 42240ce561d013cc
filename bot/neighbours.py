"""Research neighbourhoods from OpenAlex: a work's references, the works citing it, related works.

Every list is shown whole, ten a page, and every count stated agrees with what is shown:

* **references** and **related works** are the ids the work's OpenAlex record lists
  (``referenced_works``, ``related_works``), in OpenAlex's order. A page's works are fetched in
  one batch (``filter=openalex:W1|W2|…``, ``bot.sources.openalex.works_by_ids``); an id OpenAlex
  returns no record for (merged, deleted) keeps its place and says so, so entry 13 is always
  the 13th id listed.
* **cited by** is OpenAlex's ``filter=cites:W…`` list, most cited first, paged by OpenAlex
  (its ``meta.count`` is the list's length; OpenAlex pages at most 10,000 entries).

OpenAlex's own counts (``referenced_works_count``, ``cited_by_count``) are not the list: a work
can count 29 references and list 12, and the 2026 records no longer carry ``cited_by_api_url``.
So the page states the list's length ("Showing 11–20 of 29 references") and, only when OpenAlex's
count differs, says so in words ("OpenAlex counts 29 references but lists 12."). A count taken
from another source (Crossref's reference count) is never set against OpenAlex's list.

Pages are cached in SQLite with the list they belong to (one row per work and kind; the row's
expiry covers every page fetched under it). If OpenAlex fails, a cached page is served with a
note; without one the user gets a short message.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bot.errors import LitError, StaleComponent, UpstreamError
from bot.models import SourceRecord, Work
from bot.sources import Upstreams, openalex
from bot.sources._http import SourceError
from bot.storage.neighbourhoods import NeighbourhoodCache
from bot.storage.works import work_key
from bot.text import plural
from bot.ui.custom_ids import STALE

log = logging.getLogger(__name__)

Kind = Literal["references", "cited-by", "related"]
KINDS: tuple[Kind, ...] = ("references", "cited-by", "related")
PAGE_SIZE = 10
MAX_LISTED = openalex.MAX_LISTED_IDS  # OpenAlex pages a list while page × per-page ≤ 10,000
MAX_PAGES = MAX_LISTED // PAGE_SIZE
LABELS = {"references": "References", "cited-by": "Cited by", "related": "Related works"}
# (singular, plural) of what a list holds, and what OpenAlex's own count counts
NOUNS = {
    "references": ("reference", "references"),
    "cited-by": ("citing work", "citing works"),
    "related": ("related work", "related works"),
}
COUNTED = {"references": ("reference", "references"), "cited-by": ("citation", "citations")}
CACHE_FORMAT = 2  # rows of the one-list-per-row format before paging are not read


class NoNeighbourhood(LitError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One entry. ``found`` is false for an id OpenAlex lists but returned no record for."""

    title: str
    doi: str | None
    openalex_id: str | None
    year: int | None
    first_author: str | None
    authors: int
    venue: str | None
    cited_by_count: int | None
    found: bool = True


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """One page of a neighbourhood: entries ``start + 1`` … ``start + len(items)`` of ``listed``."""

    kind: str
    page: int  # 0-based
    items: tuple[Neighbour, ...]
    listed: int  # how many works OpenAlex lists in all (every page)
    counted: int | None  # OpenAlex's own count of them, when it has one
    fetched_at: str
    notes: tuple[str, ...] = field(default=())

    @property
    def start(self) -> int:
        return self.page * PAGE_SIZE

    @property
    def pages(self) -> int:
        return page_count(self.listed)

    @property
    def noun(self) -> str:
        singular, many = NOUNS.get(self.kind, (self.kind, self.kind))
        return singular if self.listed == 1 else many

    def summary(self) -> str:
        """``Showing 11–20 of 29 references``; ``No references listed``."""
        if not self.items:
            if self.listed:  # OpenAlex counted a page it then did not return
                return f"Showing none of {self.listed:,} {self.noun}"
            return f"No {NOUNS.get(self.kind, (self.kind, self.kind))[1]} listed"
        first, last = self.start + 1, self.start + len(self.items)
        shown = f"{first:,}" if first == last else f"{first:,}–{last:,}"
        return f"Showing {shown} of {self.listed:,} {self.noun}"

    def count_note(self) -> str | None:
        """What OpenAlex counts, when that is not what it lists; ``None`` when they agree.

        ``OpenAlex counts 29 references but lists 12.``;
        ``OpenAlex counts 45 citations but lists 3 citing works.``
        """
        if self.counted is None or self.counted == self.listed or self.kind not in COUNTED:
            return None
        counted = plural(self.counted, *COUNTED[self.kind])
        if not self.listed:
            listed = "none"
        elif self.kind == "references":
            listed = f"{self.listed:,}"
        else:
            listed = plural(self.listed, *NOUNS[self.kind])
        return f"OpenAlex counts {counted} but lists {listed}."

    def remarks(self) -> tuple[str, ...]:
        """Every note about this page, in reading order (counts first, then the rest)."""
        out = [note] if (note := self.count_note()) else []
        if self.listed > MAX_LISTED:
            out.append(f"OpenAlex pages only the first {MAX_LISTED:,} of them.")
        missing = sum(1 for item in self.items if not item.found)
        if missing:
            out.append(
                f"OpenAlex returned no record for {plural(missing, 'work')} it lists on this page."
            )
        return (*out, *self.notes)


def page_count(listed: int) -> int:
    """Pages of ``PAGE_SIZE`` for a list of ``listed``, at least one, at most ``MAX_PAGES``."""
    return max(1, min(MAX_PAGES, -(-listed // PAGE_SIZE)))


def _neighbour(record: SourceRecord) -> Neighbour:
    first = record.authors[0] if record.authors else None
    return Neighbour(
        title=record.title or "Untitled work",
        doi=record.doi,
        openalex_id=record.openalex_id,
        year=record.year,
        first_author=(first.family or first.name) if first else None,
        authors=len(record.authors or ()),
        venue=record.venue,
        cited_by_count=record.cited_by_count,
    )


def _unresolved(openalex_id: str) -> Neighbour:
    return Neighbour("", None, openalex_id, None, None, 0, None, None, found=False)


def _openalex_count(work: Work, field_name: str) -> int | None:
    """``work``'s count when OpenAlex gave it; another source's count is not OpenAlex's list."""
    if work.provenance.get(field_name) != "openalex":
        return None
    return getattr(work, field_name)


@dataclass(frozen=True, slots=True)
class _Listing:
    """What a page belongs to: the list (ids, or the cites: filter) and OpenAlex's count."""

    kind: Kind
    ids: tuple[str, ...] | None  # None: OpenAlex pages the list itself (cited-by)
    counted: int | None
    basis: str  # changes when the list does: a cached row of another basis is not read


def _listing(work: Work, kind: Kind) -> _Listing:
    if kind == "cited-by":
        return _Listing(kind, None, _openalex_count(work, "cited_by_count"), work.openalex_id or "")
    ids = work.referenced if kind == "references" else work.related
    counted = _openalex_count(work, "references_count") if kind == "references" else None
    digest = hashlib.blake2b("|".join(ids).encode(), digest_size=8).hexdigest()
    return _Listing(kind, ids, counted, f"{len(ids)}:{digest}")


class NeighbourService:
    def __init__(
        self, upstreams: Upstreams, cache: NeighbourhoodCache, *, ttl_seconds: float
    ) -> None:
        self.up = upstreams
        self.cache = cache
        self.ttl = ttl_seconds

    async def neighbourhood(self, work: Work, kind: Kind, page: int = 0) -> Neighbourhood:
        """Page ``page`` (0-based) of ``work``'s ``kind`` list; ``StaleComponent`` for a page
        the list does not have (a button from an older, longer list)."""
        if kind not in KINDS:
            raise NoNeighbourhood(f"Unknown neighbourhood “{kind}”.")
        if not work.openalex_id:
            raise NoNeighbourhood(
                "OpenAlex does not know this work, so its references, citing works and related "
                "works are not available."
            )
        if not 0 <= page < MAX_PAGES:
            raise StaleComponent(STALE)
        listing = _listing(work, kind)
        key = work_key(work)
        row = await self.cache.get(key, kind)
        data = row.data if row is not None else None
        if data is not None and (
            data.get("format") != CACHE_FORMAT or data.get("basis") != listing.basis
        ):
            data, row = None, None  # another list (older format, or the work's list changed)
        if row is not None and row.fresh and data is not None:
            if str(page) in data["pages"]:
                return self._page(data, page)
            if page >= page_count(data["listed"]):
                raise StaleComponent(STALE)
        try:
            items, listed, fetched_at = await self._fetch(work, listing, page)
        except SourceError as error:
            if data is None or str(page) not in data["pages"]:
                raise UpstreamError(
                    f"{LABELS[kind]} are unavailable right now (OpenAlex: {error.reason})."
                ) from error
            stale = self._page(data, page)
            note = f"OpenAlex did not answer; showing the list fetched {stale.fetched_at[:16]}."
            return Neighbourhood(
                stale.kind,
                stale.page,
                stale.items,
                stale.listed,
                stale.counted,
                stale.fetched_at,
                (note,),
            )
        if page >= page_count(listed):
            raise StaleComponent(STALE)
        await self.cache.put_page(
            key,
            kind,
            page,
            [asdict(i) for i in items],
            listing={
                "format": CACHE_FORMAT,
                "kind": kind,
                "basis": listing.basis,
                "listed": listed,
                "counted": listing.counted,
                "fetched_at": fetched_at,
            },
            ttl=self.ttl,
        )
        return Neighbourhood(kind, page, tuple(items), listed, listing.counted, fetched_at)

    @staticmethod
    def _page(data: dict[str, Any], page: int) -> Neighbourhood:
        return Neighbourhood(
            data["kind"],
            page,
            tuple(Neighbour(**i) for i in data["pages"][str(page)]),
            data["listed"],
            data.get("counted"),
            data["fetched_at"],
        )

    async def _fetch(
        self, work: Work, listing: _Listing, page: int
    ) -> tuple[list[Neighbour], int, str]:
        """One page from OpenAlex: its entries, the list's length and when it was fetched."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        start = page * PAGE_SIZE
        if listing.ids is None:
            records, count = await openalex.list_works(
                self.up.openalex,
                f"cites:{work.openalex_id}",
                per_page=PAGE_SIZE,
                page=page + 1,
                sort="cited_by_count:desc",
                select=openalex.ENTRY_FIELDS,
            )
            listed = count if count is not None else start + len(records)
            return [_neighbour(r) for r in records], listed, now
        ids = listing.ids[start : start + PAGE_SIZE]
        found = await openalex.works_by_ids(self.up.openalex, ids) if ids else {}
        items = [_neighbour(found[i]) if i in found else _unresolved(i) for i in ids]
        if len(found) < len(ids):
            log.info(
                "openalex returned %d of %d %s of %s (page %d)",
                len(found),
                len(ids),
                listing.kind,
                work.openalex_id,
                page + 1,
            )
        return items, len(listing.ids), now

    async def neighbour_map(self, work: Work) -> NeighbourMap:
        """The data for ``work``'s neighbourhood map (``neighbour_map``; drawn by
        ``bot.maps``)."""
        return await neighbour_map(self, work)


# --- the neighbourhood map ---------------------------------------------------------------------

MAP_REFERENCES = 15  # the first references OpenAlex lists
MAP_CITING = 10  # the most cited works citing it
MAP_RELATED = 10  # the first related works
MAP_FIELDS = f"{openalex.ENTRY_FIELDS},referenced_works"  # edges come from reference lists
ROLES = ("seed", "reference", "citing", "related")


@dataclass(frozen=True, slots=True)
class MapNode:
    """One work on the map: ``key`` is its OpenAlex id, ``label`` "Zhou 2023"."""

    key: str
    label: str
    title: str
    year: int | None
    cited_by: int
    role: str  # one of ROLES
    doi: str | None = None


@dataclass(frozen=True, slots=True)
class NeighbourMap:
    """A work among its references, its most cited citing works and its related works; an
    edge ``(a, b)`` says that ``a`` cites ``b`` (from OpenAlex's reference lists). Plain data,
    so it can be drawn in a worker process (``bot.maps``)."""

    seed: MapNode
    nodes: tuple[MapNode, ...]  # the seed first
    edges: tuple[tuple[str, str], ...]
    listed: dict[str, int]  # role → how many OpenAlex lists in all (the map shows a part)
    fetched_at: str

    def of(self, role: str) -> list[MapNode]:
        return [n for n in self.nodes if n.role == role]


def map_label(first_author: str | None, year: int | None) -> str:
    """ "Zhou 2023": the first author's family name and the year, what a lab calls a paper."""
    who = " ".join((first_author or "Anon.").split())
    if len(who) > 24:
        who = who[:23] + "…"
    return f"{who} {year}" if year else who


def _map_node(record: SourceRecord, role: str) -> MapNode:
    first = record.authors[0] if record.authors else None
    return MapNode(
        key=record.openalex_id or "",
        label=map_label((first.family or first.name) if first else None, record.year),
        title=record.title or "Untitled work",
        year=record.year,
        cited_by=record.cited_by_count or 0,
        role=role,
        doi=record.doi,
    )


async def neighbour_map(service: NeighbourService, work: Work) -> NeighbourMap:
    """The data of ``work``'s map: two OpenAlex requests (one batch for the references and
    related works, one page of citing works, most cited first), each with reference lists."""
    if not work.openalex_id:
        raise NoNeighbourhood(
            "OpenAlex does not know this work, so its neighbourhood cannot be drawn."
        )
    refs = list(work.referenced[:MAP_REFERENCES])
    related = [i for i in work.related[:MAP_RELATED] if i not in refs]
    try:
        found = await openalex.works_by_ids(service.up.openalex, refs + related, select=MAP_FIELDS)
        citing, cited_count = await openalex.list_works(
            service.up.openalex,
            f"cites:{work.openalex_id}",
            per_page=MAP_CITING,
            sort="cited_by_count:desc",
            select=MAP_FIELDS,
        )
    except SourceError as error:
        raise UpstreamError(
            f"The map is unavailable right now (OpenAlex: {error.reason})."
        ) from error
    first = work.authors[0] if work.authors else None
    seed = MapNode(
        key=work.openalex_id,
        label=map_label((first.family or first.name) if first else None, work.year),
        title=work.title,
        year=work.year,
        cited_by=work.cited_by_count or 0,
        role="seed",
        doi=work.doi,
    )
    nodes: dict[str, MapNode] = {seed.key: seed}
    lists: dict[str, tuple[str, ...]] = {seed.key: work.referenced}
    for role, records in (
        ("reference", [found[i] for i in refs if i in found]),
        ("citing", citing),
        ("related", [found[i] for i in related if i in found]),
    ):
        for record in records:
            if record.openalex_id and record.openalex_id not in nodes:
                nodes[record.openalex_id] = _map_node(record, role)
                lists[record.openalex_id] = record.referenced
    edges = {(seed.key, key) for key in refs if key in nodes}
    edges |= {(n.key, seed.key) for n in nodes.values() if n.role == "citing"}
    for source, cited in lists.items():
        edges |= {(source, key) for key in cited if key in nodes and key != source}
    return NeighbourMap(
        seed=seed,
        nodes=tuple(nodes.values()),
        edges=tuple(sorted(edges)),
        listed={
            "reference": len(work.referenced),
            "citing": cited_count if cited_count is not None else len(citing),
            "related": len(work.related),
        },
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
