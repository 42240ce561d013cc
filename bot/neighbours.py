"""Research neighbourhoods from OpenAlex: a work's references, the works citing it, related works.

One OpenAlex list request per neighbourhood (``filter=openalex:W1|W2…`` for references and
related works, whose ids the work record carries; ``filter=cites:W…`` for citing works, most
cited first), cached in SQLite like works. If OpenAlex fails, a cached copy is served with a
note; without one the user gets a short message.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from bot.errors import LitError, UpstreamError
from bot.models import SourceRecord, Work
from bot.sources import Upstreams, openalex
from bot.sources._http import SourceError
from bot.storage.neighbourhoods import NeighbourhoodCache
from bot.storage.works import work_key

log = logging.getLogger(__name__)

Kind = Literal["references", "cited-by", "related"]
KINDS: tuple[Kind, ...] = ("references", "cited-by", "related")
SHOWN = 10
LABELS = {"references": "References", "cited-by": "Cited by", "related": "Related works"}


class NoNeighbourhood(LitError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Neighbour:
    title: str
    doi: str | None
    openalex_id: str | None
    year: int | None
    first_author: str | None
    authors: int
    venue: str | None
    cited_by_count: int | None


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    kind: str
    items: tuple[Neighbour, ...]
    total: int | None  # how many there are in all (OpenAlex's count), when known
    fetched_at: str
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["items"] = [asdict(i) for i in self.items]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Neighbourhood:
        return cls(
            data["kind"],
            tuple(Neighbour(**i) for i in data["items"]),
            data.get("total"),
            data["fetched_at"],
            tuple(data.get("notes") or ()),
        )


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


class NeighbourService:
    def __init__(
        self, upstreams: Upstreams, cache: NeighbourhoodCache, *, ttl_seconds: float
    ) -> None:
        self.up = upstreams
        self.cache = cache
        self.ttl = ttl_seconds

    async def neighbourhood(self, work: Work, kind: Kind) -> Neighbourhood:
        if kind not in KINDS:
            raise NoNeighbourhood(f"Unknown neighbourhood “{kind}”.")
        if not work.openalex_id:
            raise NoNeighbourhood(
                "OpenAlex does not know this work, so its references, citing works and related "
                "works are not available."
            )
        key = work_key(work)
        cached = await self.cache.get(key, kind)
        if cached is not None and cached[1]:
            return Neighbourhood.from_dict(cached[0])
        try:
            hood = await self._fetch(work, kind)
        except SourceError as error:
            if cached is None:
                raise UpstreamError(
                    f"{LABELS[kind]} are unavailable right now (OpenAlex: {error.reason})."
                ) from error
            stale = Neighbourhood.from_dict(cached[0])
            note = f"OpenAlex did not answer; showing the list fetched {stale.fetched_at[:16]}."
            return Neighbourhood(stale.kind, stale.items, stale.total, stale.fetched_at, (note,))
        await self.cache.put(key, kind, hood.to_dict(), self.ttl)
        return hood

    async def _fetch(self, work: Work, kind: Kind) -> Neighbourhood:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        if kind == "cited-by":
            records, total = await openalex.list_works(
                self.up.openalex,
                f"cites:{work.openalex_id}",
                per_page=SHOWN,
                sort="cited_by_count:desc",
            )
            if total is None:
                total = work.cited_by_count
        else:
            ids = work.referenced if kind == "references" else work.related
            if not ids:
                return Neighbourhood(kind, (), 0, now)
            records, _ = await openalex.list_works(
                self.up.openalex, "openalex:" + "|".join(ids[:SHOWN]), per_page=SHOWN
            )
            order = {wid: i for i, wid in enumerate(ids)}
            records.sort(key=lambda r: order.get(r.openalex_id or "", len(order)))
            total = work.references_count if kind == "references" else len(ids)
        return Neighbourhood(kind, tuple(_neighbour(r) for r in records), total, now)
