"""PaperService: identifier → sources in parallel → merge → cache → ``Work``.

A cold lookup fans out to every source at once, so it costs about one upstream round trip.
Identical concurrent lookups share one flight (and so one request per source). One failing
source degrades the card; only when no source knows the identifier is it ``NotFound``; when
every source fails, a stale cached copy is served with a note, or ``UpstreamError`` is raised.

Routing by identifier:

* DOI: OpenAlex, and Crossref + Unpaywall (Crossref DOIs) or DataCite (DataCite prefixes), as
  core sources; Semantic Scholar and NCBI's ID converter (PMID, PMCID) as late sources.
* arXiv id, or a ``10.48550/arxiv.…`` DOI: the same for the arXiv DOI (DataCite, OpenAlex,
  Semantic Scholar), and arXiv itself as a late source: arXiv allows one request every three
  seconds, so the card does not wait on arXiv's queue when DataCite or OpenAlex already know
  the work (arXiv's answer refreshes the cache), and waits for it, up to
  ``ARXIV_UNKNOWN_SECONDS``, when nobody else does — then arXiv's answer is the card.
* PMID, PMCID: OpenAlex (``pmid:``/``pmcid:``) and NCBI's converter in parallel; the first
  that gives a DOI routes the lookup, and the other's request is not repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.errors import NotFound, UpstreamError
from bot.identifiers import parse_identifier
from bot.licences import arxiv_id_of_doi
from bot.merge import ID_SOURCES, SOURCE_LABELS, merge
from bot.models import Identifier, IdKind, SourceRecord, Work
from bot.pacing import Pacer
from bot.sources import (
    Upstreams,
    arxiv,
    crossref,
    datacite,
    ncbi,
    openalex,
    semanticscholar,
    unpaywall,
)
from bot.sources._http import SourceError
from bot.storage.works import WorkCache, work_key

log = logging.getLogger(__name__)
T = TypeVar("T")

# A card built while a source was down is kept only as a fallback: the next lookup asks
# again, so a recovered source fills the gaps at once (single flight still bounds the load).
PARTIAL_TTL_SECONDS = 0.0
# Sources behind a tight rate limit whose fields a card can show later: Semantic Scholar (TL;DR,
# fallback abstract; 1 request/second with a key), arXiv (the preprint's own record; one
# request every 3 seconds) and NCBI's ID converter (PMID, PMCID; 3 requests/second). A burst of
# lookups queues there; the card does not wait longer than LATE_GRACE_SECONDS after the core
# sources answered, nor at all for a source whose queue is busy, and the cache is refreshed
# when the late answer arrives.
LATE_SOURCES = frozenset({"s2", "arxiv", "ncbi"})
LATE_GRACE_SECONDS = 1.0
# The card: one bibliographic source makes it. Once the first has answered, the others (and the
# late sources whose queue is free) get a short grace — a twentieth of the time the first took, at
# least CARD_GRACE_MIN — so sources answering together make one card, and a slow one does not
# hold the card back: its fields arrive in an edit (``PaperService.updates``).
CARD_GRACE_MIN = 0.005
CARD_GRACE_FRACTION = 0.05
# When no core source knows the work, only a late source could: it gets a longer, still fixed
# wait, so "not found" never waits on Semantic Scholar's queue without a bound.
LATE_UNKNOWN_SECONDS = 3.0
# arXiv alone may know a new preprint (DataCite registers its DOI at announcement); its queue
# moves one request every 3 seconds, so it gets four turns before "try again in a minute".
ARXIV_UNKNOWN_SECONDS = 12.0


class SingleFlight:
    """Run one coroutine per key at a time; concurrent callers with the same key share it."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[Any]] = {}

    async def run(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(factory())
            self._flights[key] = flight
            flight.add_done_callback(lambda _f, k=key: self._flights.pop(k, None))
        # shield: one caller giving up (a cancelled interaction) must not cancel the others'.
        return await asyncio.shield(flight)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one source did for one lookup."""

    source: str
    record: SourceRecord | None = None
    error: str | None = None


REF_LIMIT = 80


@dataclass(eq=False)
class Settling:
    """A card shown before every source answered: what it shows now, and what it will show.

    ``core`` resolves once the core sources (OpenAlex, Crossref, Unpaywall, DataCite) have all
    answered, the local TL;DR is computed and the work is cached; ``final`` once the late
    sources (Semantic Scholar, arXiv, NCBI) have too. Both resolve to a ``Work`` (the last one
    known when a step fails), never to an exception.
    """

    latest: Work
    core: asyncio.Future[Work]
    final: asyncio.Future[Work]
    aliases: set[str]
    late: dict[str, asyncio.Future[Outcome]]  # the late sources still answering


class PaperService:
    """Looks works up; the only entry point cogs and the CLI use for paper metadata."""

    def __init__(
        self,
        upstreams: Upstreams,
        cache: WorkCache,
        *,
        ttl_seconds: float = 7 * 24 * 3600,
        summarise: Callable[[str | None, str | None], Any] | None = None,
        late_grace: float = LATE_GRACE_SECONDS,
        late_unknown: float = LATE_UNKNOWN_SECONDS,
        arxiv_unknown: float = ARXIV_UNKNOWN_SECONDS,
        card_grace: tuple[float, float] = (CARD_GRACE_MIN, CARD_GRACE_FRACTION),
        cpu: Callable[..., Awaitable[Any]] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.up = upstreams
        # A crowd of cold lookups starts a few per pass of the event loop (``bot.pacing``).
        self.pacer = pacer or Pacer()
        self.cache = cache
        self.ttl_seconds = ttl_seconds
        self.summarise = summarise
        self._lookups = SingleFlight()
        self._fetches = SingleFlight()
        self._background: set[asyncio.Future[None]] = set()
        self.late_grace = late_grace
        self.late_unknown = late_unknown
        self.arxiv_unknown = arxiv_unknown
        self.card_grace = card_grace
        # Runs CPU-bound work (the local TL;DR) away from the event loop: ``cpu(fn, *args)``,
        # a worker process in the composition root (``bot.workers``); inline when not given.
        self.cpu = cpu
        self._settling: dict[str, Settling] = {}
        self._requests: set[asyncio.Future[Outcome]] = set()

    async def lookup(
        self, ident: Identifier, *, extras: bool = True, settled: bool = False
    ) -> Work:
        """The merged work for ``ident``: cached when fresh, else fetched from every source.

        By default the work comes as soon as it can make a card: one bibliographic source has
        answered and the others had a short grace (``CARD_GRACE_*``); what the rest add comes
        later through ``updates``. ``settled=True`` waits for every core source and the local
        TL;DR (citations, saved entries, the terminal).

        ``extras=False`` (bulk imports; implies ``settled``) asks only the bibliographic sources
        (OpenAlex, Crossref or DataCite, whose batches carry fifty DOIs a request): not Semantic
        Scholar (one request a second), NCBI or Unpaywall (no batch; OpenAlex's open-access
        data stands in), and caches the result only as a fallback, so the next card lookup asks
        everyone.
        """
        settled = settled or not extras
        key = ident.key if extras else f"{ident.key}#core"
        key += "#settled" if settled else ""
        work = await self._lookups.run(key, lambda: self._lookup(ident, extras, settled))
        return _version_note(ident, work)

    def peek(self, ident: Identifier) -> Work | None:
        """The work for ``ident`` if it is fresh in memory (no I/O, no upstream request): a card
        that can be answered at once, without deferring the interaction first."""
        cached = self.cache.peek(ident.key)
        if cached is None or not cached.fresh:
            return None
        if _flight_key(cached.work.doi or "", True) in self._settling:
            return None  # still settling: the card should follow its late sources
        return _version_note(ident, cached.work)

    async def updates(self, ident: Identifier, shown: Work) -> AsyncIterator[Work]:
        """The newer versions of a card showing ``shown`` as its slower sources answer: after
        the core sources and the local TL;DR, then after the late sources. Nothing when the card
        was complete."""
        settling = self._settling.get(_flight_key(shown.doi or "", True))
        if settling is None:
            return
        last = shown
        for step in (settling.core, settling.final):
            work = await asyncio.shield(step)
            if work is not last:  # (the card compares what it renders before editing)
                last = work
                yield _version_note(ident, work)

    async def recheck(self, doi: str) -> Work | None:
        """A saved work's record fetched anew for the watch (``bot.watch``): the sources that
        carry notices — Crossref (or DataCite), OpenAlex, and arXiv for its preprints — never
        from the cache, at the caller's priority. ``None`` when no source knows it any more;
        ``UpstreamError`` when none answered."""
        calls: dict[str, Awaitable[Any]] = {"openalex": openalex.fetch_doi(self.up.openalex, doi)}
        if doi.split("/", 1)[0] in datacite.DATACITE_PREFIXES:
            calls["datacite"] = datacite.fetch_doi(self.up.datacite, doi)
        else:
            calls["crossref"] = crossref.fetch_doi(self.up.crossref, doi)
        if arxiv_id := arxiv_id_of_doi(doi):
            calls["arxiv"] = arxiv.fetch(self.up.arxiv, arxiv_id)
        outcomes = await asyncio.gather(
            *(self._request(self._guard(s, c)) for s, c in calls.items())
        )
        records = {o.source: o.record for o in outcomes if o.record is not None}
        failed = {o.source: o.error for o in outcomes if o.error}
        if not _bibliographic(records):
            if failed:
                names = ", ".join(SOURCE_LABELS.get(s, s) for s in sorted(failed))
                raise UpstreamError(f"Could not re-check {doi}: {names} did not answer.")
            return None
        return self._build(doi, records, failed)

    async def final(self, ident: Identifier) -> Work:
        """The work once every source has answered, the late ones too (what the card shows
        after its last edit)."""
        work = await self.lookup(ident)
        async for newer in self.updates(ident, work):
            work = newer
        return work

    async def ref(self, work: Work) -> str:
        """A short handle for ``work`` that fits in a button's custom id (≤ 80 characters).

        A DOI that fits is its own handle; anything else gets a hash stored as a cache alias,
        so buttons on old messages keep working after a restart.
        """
        if work.doi and len(work.doi) <= REF_LIMIT:
            return work.doi.lower()
        digest = hashlib.blake2b(work_key(work).encode(), digest_size=10).hexdigest()
        settling = self._settling.get(_flight_key(work.doi or "", True))
        if settling is not None and not settling.core.done():
            settling.aliases.add(f"ref:{digest}")  # written with the work, in one transaction
        else:
            await self.cache.add_alias(f"ref:{digest}", work)
        return f"h:{digest}"

    async def by_ref(self, ref: str) -> Work:
        """The work behind a handle from ``ref`` (refetched like any lookup when expired)."""
        if not ref.startswith("h:"):  # (buttons cite and save: the settled work)
            return await self.lookup(parse_identifier(ref), settled=True)
        cached = await self.cache.get(f"ref:{ref[2:]}")
        if cached is None:
            for settling in self._settling.values():  # shown a moment ago, not yet written
                if f"ref:{ref[2:]}" in settling.aliases:
                    return settling.latest
            raise NotFound("That card is too old for this button; look the paper up again.")
        if cached.fresh or not cached.work.doi:
            return cached.work
        return await self.lookup(parse_identifier(cached.work.doi), settled=True)

    async def _lookup(self, ident: Identifier, extras: bool, settled: bool) -> Work:
        cached = await self.cache.get(ident.key)
        if cached is not None and cached.fresh:
            return cached.work
        try:
            return await self._resolve_and_fetch(ident, extras, settled)
        except UpstreamError:
            if cached is None:
                raise
            log.warning("every source failed for %s; serving the cached copy", ident.key)
            when = cached.work.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
            return replace(
                cached.work,
                stale=True,
                notes=(*cached.work.notes, f"Sources unreachable; showing the copy cached {when}."),
            )

    async def _resolve_and_fetch(self, ident: Identifier, extras: bool, settled: bool) -> Work:
        inflight: dict[str, asyncio.Future[Outcome]] = {}
        notes: tuple[str, ...] = ()
        if ident.kind in (IdKind.DOI, IdKind.ARXIV):
            doi = ident.doi
        elif ident.kind in (IdKind.PMID, IdKind.PMCID):
            doi, inflight = await self._resolve_pubmed(ident)
        else:
            doi, notes = await self._search_title(ident)
        assert doi is not None
        flight = _flight_key(doi, extras)
        settling = self._settling.get(flight)
        written = self.cache.peek(f"doi:{doi.lower()}") if settling is None else None
        if settling is not None:  # shown a moment ago, its slower sources still answering
            for outcome in inflight.values():
                outcome.cancel()
            work = settling.latest
        elif written is not None and written.fresh:  # settled while this lookup read the cache
            work = written.work
        else:
            work = await self._fetches.run(
                flight, lambda: self._fetch_doi(doi, ident, extras, inflight)
            )
            settling = self._settling.get(flight)
        if settling is not None and not settling.core.done():
            settling.aliases.add(ident.key)  # cached under this spelling too, in one write
        else:  # already cached (under another spelling of the query): remember this one
            await self.cache.add_alias(ident.key, work)
        if settled and settling is not None:
            work = await asyncio.shield(settling.core)
            # The late sources get their grace, unless one is queued (see LATE_SOURCES)
            queued = any(
                self.up.get(s).limiter.waiting() for s, t in settling.late.items() if not t.done()
            )
            if not settling.final.done() and not queued:
                done, _ = await asyncio.wait([settling.final], timeout=self.late_grace)
                work = settling.final.result() if done else work
        if notes:
            work = replace(work, notes=(*work.notes, *notes))
        return work

    async def _resolve_pubmed(
        self, ident: Identifier
    ) -> tuple[str, dict[str, asyncio.Future[Outcome]]]:
        """A PMID or PMCID → its DOI, from OpenAlex or NCBI's converter, whichever says first.

        Both requests stay in flight for the card: ``_fetch_doi`` reuses their answers.
        """
        kind = ident.kind.value  # "pmid" | "pmcid", as both APIs spell it
        flights = {
            "openalex": self._request(
                self._guard(
                    "openalex", openalex.fetch_work(self.up.openalex, f"{kind}:{ident.value}")
                )
            ),
            "ncbi": self._request(
                self._guard("ncbi", ncbi.convert(self.up.ncbi, kind, ident.value))
            ),
        }
        doi: str | None = None
        waiting: set[asyncio.Future[Outcome]] = set(flights.values())
        while waiting and doi is None:
            done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            doi = next((d for t in done if (d := _doi_of(t.result()))), None)
        if doi is None:
            errors = {s: t.result().error for s, t in flights.items() if t.result().error}
            if errors:
                names = " and ".join(SOURCE_LABELS.get(s, s) for s in sorted(errors))
                reasons = "; ".join(sorted(set(errors.values())))
                raise UpstreamError(
                    f"Could not resolve {ident}: {names} did not answer ({reasons}). "
                    "Try the DOI instead."
                )
            raise NotFound(f"No work found for {ident}.")
        return doi, flights

    async def _search_title(self, ident: Identifier) -> tuple[str, tuple[str, ...]]:
        outcome = await self._guard(
            "openalex", openalex.search_title(self.up.openalex, ident.value)
        )
        if outcome.error:
            raise UpstreamError(
                f"Title search is unavailable right now (OpenAlex: {outcome.error}). "
                "Try a DOI, arXiv id or PMID."
            )
        hits = [r for r in outcome.record or () if r.doi]
        if not hits:
            raise NotFound(f"No paper matches the title {ident}.")
        others = "; ".join(f"{h.title} (doi:{h.doi})" for h in hits[1:4] if h.title)
        note = f"Best match for the title {ident}." + (
            f" Other matches: {others}" if others else ""
        )
        return hits[0].doi or "", (note,)

    async def _guard(self, source: str, call: Awaitable[Any]) -> Outcome:
        try:
            return Outcome(source, record=await call)
        except SourceError as exc:
            return Outcome(source, error=exc.reason)
        except Exception as exc:
            # A parser choking on an unexpected shape (or a RecursionError, or any bug reached
            # by a hostile body) is that source's failure, never the card's.
            log.warning("%s: unusable response: %s", source, type(exc).__name__, exc_info=exc)
            return Outcome(source, error="unexpected response")

    async def _openalex_after(self, flight: asyncio.Future[Outcome], doi: str):
        """OpenAlex's record for ``doi``: the PMID/PMCID lookup's answer when it has this DOI,
        else a lookup by DOI (so OpenAlex is asked twice only when the first did not know)."""
        outcome = await flight
        if outcome.error:
            raise SourceError("openalex", outcome.error)
        record = outcome.record
        if record is not None and (record.doi or "").lower() == doi.lower():
            return record
        return await openalex.fetch_work(self.up.openalex, f"doi:{doi}")

    async def _fetch_doi(
        self,
        doi: str,
        ident: Identifier,
        extras: bool = True,
        inflight: dict[str, asyncio.Future[Outcome]] | None = None,
    ) -> Work:
        """Ask every source; return the card's work as soon as one bibliographic source has
        answered (plus a short grace), and settle the rest in the background (``_settle``)."""
        await self.pacer.turn()  # in a crowd, its requests start a few lookups at a time
        inflight = inflight or {}
        loop = asyncio.get_running_loop()
        started = loop.time()
        calls: dict[str, Awaitable[Any]] = {}
        if "openalex" in inflight:
            calls["openalex"] = self._openalex_after(inflight["openalex"], doi)
        else:
            calls["openalex"] = openalex.fetch_doi(self.up.openalex, doi)
        if doi.split("/", 1)[0] in datacite.DATACITE_PREFIXES:
            # Crossref and Unpaywall know only Crossref DOIs: ask the registrar instead.
            calls["datacite"] = datacite.fetch_doi(self.up.datacite, doi)
        else:
            calls["crossref"] = crossref.fetch_doi(self.up.crossref, doi)
            if extras:  # bulk work (imports) takes its access data from OpenAlex: Unpaywall
                calls["unpaywall"] = unpaywall.fetch_work(self.up.unpaywall, doi)  # has no batch
        arxiv_id = arxiv_id_of_doi(doi)
        if extras:
            calls["s2"] = semanticscholar.fetch_paper(self.up.s2, doi)
            if arxiv_id:
                calls["arxiv"] = arxiv.fetch(self.up.arxiv, arxiv_id)
            if "ncbi" not in inflight:
                calls["ncbi"] = ncbi.convert(self.up.ncbi, "doi", doi)
        tasks = {s: self._request(self._guard(s, c)) for s, c in calls.items()}
        if "ncbi" in inflight:  # the PMID/PMCID lookup asked NCBI already
            tasks["ncbi"] = inflight["ncbi"]
        core = [t for s, t in tasks.items() if s not in LATE_SOURCES]
        waiting = set(core)
        while waiting and not any(_knows(t.result()) for t in core if t.done()):
            _, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        late = {s: t for s, t in tasks.items() if s in LATE_SOURCES}
        if any(_knows(t.result()) for t in core if t.done()):
            # A queue at a late source means our request waits there too: the card does not
            # wait for it (its answer still arrives in an edit and refreshes the cache).
            rest = [
                t
                for s, t in tasks.items()
                if not t.done() and not (s in late and self.up.get(s).limiter.waiting())
            ]
            if rest:
                least, fraction = self.card_grace
                grace = max(least, fraction * (loop.time() - started))
                await asyncio.wait(rest, timeout=grace)
        elif late:
            await self._wait_late(late)
        pending = {s: t for s, t in tasks.items() if not t.done()}
        outcomes = [t.result() for t in tasks.values() if t.done()]
        records = {o.source: o.record for o in outcomes if o.record is not None}
        failed = {o.source: o.error for o in outcomes if o.error}

        if not _bibliographic(records) and "datacite" not in calls and not failed.get("crossref"):
            # Not a Crossref DOI and unknown to OpenAlex: maybe DataCite registered it.
            outcome = await self._guard("datacite", datacite.fetch_doi(self.up.datacite, doi))
            if outcome.record:
                records["datacite"] = outcome.record
            elif outcome.error:
                failed["datacite"] = outcome.error
        if not _bibliographic(records) and arxiv_id and "arxiv" not in tasks:
            # Bulk work skips arXiv's queue, unless nobody else knows the preprint.
            outcome = await self._guard("arxiv", arxiv.fetch(self.up.arxiv, arxiv_id))
            if outcome.record:
                records["arxiv"] = outcome.record
            elif outcome.error:
                failed["arxiv"] = outcome.error

        if not _bibliographic(records):
            if any(s not in ID_SOURCES for s in pending):
                # A late source may still know it: keep asking in the background and cache
                # its answer, so asking again shows the card.
                self._spawn(self._complete_late(doi, ident, records, failed, pending, extras))
                names = ", ".join(
                    SOURCE_LABELS.get(s, s) for s in sorted(pending) if s not in ID_SOURCES
                )
                raise NotFound(
                    f"No source knows {ident} yet ({names} has not answered); "
                    "try again in a minute."
                )
            if any(s not in ID_SOURCES for s in failed):
                names = ", ".join(SOURCE_LABELS.get(s, s) for s in sorted(failed))
                raise UpstreamError(
                    f"Could not look up {ident}: the sources did not answer ({names}). "
                    "Try again in a minute."
                )
            known_as = f" (DOI {doi})" if ident.kind not in (IdKind.DOI, IdKind.ARXIV) else ""
            raise NotFound(f"No source knows {ident}{known_as}. Check the identifier.")

        work = self._build(doi, records, failed)
        late_pending = {s: t for s, t in pending.items() if s in LATE_SOURCES}
        settling = Settling(
            work, loop.create_future(), loop.create_future(), {ident.key}, late_pending
        )
        flight = _flight_key(doi, extras)
        self._settling[flight] = settling
        self._spawn(self._settle(flight, settling, doi, records, failed, pending, extras))
        return work

    async def _wait_late(self, late: dict[str, asyncio.Future[Outcome]]) -> None:
        """No core source knows the work: give the late sources their time (``LATE_*``)."""
        await asyncio.wait(late.values(), timeout=self.late_unknown)
        flight = late.get("arxiv")
        answered = any(_knows(t.result()) for t in late.values() if t.done())
        if flight is not None and not flight.done() and not answered:
            await asyncio.wait([flight], timeout=max(0.0, self.arxiv_unknown - self.late_unknown))

    def _build(
        self,
        doi: str,
        records: dict[str, SourceRecord],
        failed: dict[str, str],
        now: datetime | None = None,
    ) -> Work:
        now = now or datetime.now(UTC)
        try:
            work = merge(records, failed=failed, fetched_at=now)
        except Exception as exc:
            # A record whose values break the merge (a URL that is a list, say) is its source's
            # failure: drop such records and merge the others.
            log.warning("merge failed (%s); dropping the records that break it", exc)
            records, failed = _mergeable(records, failed, now)
            if not records:
                names = ", ".join(SOURCE_LABELS.get(s, s) for s in sorted(failed))
                raise UpstreamError(
                    f"Could not look up {doi}: the sources answered with unusable records "
                    f"({names}). Try again later."
                ) from None
            work = merge(records, failed=failed, fetched_at=now)
        if not work.doi:
            work = replace(work, doi=doi)
        return work

    def _request(self, call: Awaitable[Outcome]) -> asyncio.Future[Outcome]:
        """One source's request for a lookup, as a task ``close()`` can cancel."""
        task = asyncio.ensure_future(call)
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)
        return task

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)  # keep a reference until it finishes
        task.add_done_callback(self._background.discard)

    async def _settle(
        self,
        flight: str,
        settling: Settling,
        doi: str,
        records: dict[str, SourceRecord],
        failed: dict[str, str],
        pending: dict[str, asyncio.Future[Outcome]],
        extras: bool,
    ) -> None:
        """Complete a card shown early: the core sources, the local TL;DR and one cache write;
        then the late sources and a second write. Nobody awaits this task: it logs, and its
        futures always resolve."""
        try:
            core = {s: t for s, t in pending.items() if s not in LATE_SOURCES}
            if core:
                await asyncio.wait(core.values())
            done = {s: t for s, t in pending.items() if t.done()}
            records, failed = _with_outcomes(records, failed, done.values())
            late = {s: t for s, t in pending.items() if not t.done()}
            work = settling.latest
            if done:  # (one fetch: the time the card was first shown)
                work = self._build(doi, records, failed, work.fetched_at)
            work = await self._with_local_tldr(work)
            notes = ()
            if late:
                names = " and ".join(SOURCE_LABELS.get(s, s) for s in sorted(late))
                verb, its = ("are", "their") if len(late) > 1 else ("is", "its")
                notes = (f"{names} {verb} slow; {its} fields will show on the next lookup.",)
            # A late extra source is not a failure: the card is cached as complete, and the
            # late answer replaces it (a burst of lookups does not refetch every source while
            # Semantic Scholar's queue drains).
            ttl = PARTIAL_TTL_SECONDS if failed or not extras else self.ttl_seconds
            work = replace(work, notes=(*work.notes, *notes))
            await self.cache.put(work, settling.aliases, ttl_seconds=ttl)
            settling.latest = work
            settling.core.set_result(work)
            if late:
                await asyncio.wait(late.values())
                records, failed = _with_outcomes(records, failed, late.values())
                shown = work
                work = self._build(doi, records, failed, work.fetched_at)
                work = await self._with_local_tldr(work, shown)
                ttl = PARTIAL_TTL_SECONDS if failed else self.ttl_seconds
                await self.cache.put(work, settling.aliases, ttl_seconds=ttl)
                settling.latest = work
        except Exception:
            log.warning("completing a card after its slower sources failed", exc_info=True)
        finally:
            for step in (settling.core, settling.final):
                if not step.done():
                    step.set_result(settling.latest)
            if self._settling.get(flight) is settling:
                del self._settling[flight]

    async def _complete_late(
        self,
        doi: str,
        ident: Identifier,
        records: dict[str, SourceRecord],
        failed: dict[str, str],
        pending: dict[str, asyncio.Future[Outcome]],
        extras: bool,
    ) -> None:
        """Nobody knew the work but a late source may: cache its answer when it comes."""
        try:
            await asyncio.wait(pending.values())
            records, failed = _with_outcomes(records, failed, pending.values())
            if not _bibliographic(records):
                return
            work = await self._with_local_tldr(self._build(doi, records, failed))
            ttl = PARTIAL_TTL_SECONDS if failed or not extras else self.ttl_seconds
            await self.cache.put(work, [ident.key], ttl_seconds=ttl)
        except Exception:  # nobody awaits this task: log, never leave it unretrieved
            log.warning("refreshing a card after a late source failed", exc_info=True)

    async def drain(self) -> None:
        """Wait for background refreshes (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        """Stop following slow sources (shutdown): their answers would come too late to be
        written; the cards already shown keep what they show."""
        tasks = [*self._background, *self._requests]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _with_local_tldr(self, work: Work, shown: Work | None = None) -> Work:
        """Semantic Scholar's TL;DR wins; otherwise a local one, labelled as such. ``shown``:
        the same work built earlier, whose local TL;DR of the same abstract is reused."""
        if work.tldr or not self.summarise or not work.abstract:
            return work
        if shown is not None and shown.provenance.get("tldr") == "local":
            if shown.abstract == work.abstract and shown.title == work.title:
                return replace(
                    work, tldr=shown.tldr, provenance={**work.provenance, "tldr": "local"}
                )
        try:
            if self.cpu is not None:
                summary = await self.cpu(self.summarise, work.title, work.abstract)
            else:
                summary = self.summarise(work.title, work.abstract)
        except Exception:  # an abstract that breaks the summariser costs the TL;DR only
            log.warning("local TL;DR failed", exc_info=True)
            return work
        if not summary:
            return work
        return replace(work, tldr=summary.text, provenance={**work.provenance, "tldr": "local"})


def _flight_key(doi: str, extras: bool) -> str:
    return f"doi:{doi.lower()}" if extras else f"doi:{doi.lower()}#core"


def _with_outcomes(
    records: dict[str, SourceRecord],
    failed: dict[str, str],
    tasks: Iterable[asyncio.Future[Outcome]],
) -> tuple[dict[str, SourceRecord], dict[str, str]]:
    """``records`` and ``failed`` with the answers of finished ``tasks`` added."""
    records, failed = dict(records), dict(failed)
    for task in tasks:
        outcome = task.result()
        if outcome.record is not None:
            records[outcome.source] = outcome.record
        elif outcome.error:
            failed[outcome.source] = outcome.error
    return records, failed


def _knows(outcome: Outcome) -> bool:
    """Whether a source's answer can make a card (an id-only record cannot)."""
    return outcome.record is not None and outcome.source not in ID_SOURCES


def _bibliographic(records: dict[str, SourceRecord]) -> bool:
    return any(source not in ID_SOURCES for source in records)


def _doi_of(outcome: Outcome) -> str | None:
    return outcome.record.doi if outcome.record is not None else None


def _version_note(ident: Identifier, work: Work) -> Work:
    """An arXiv query for one version gets the work's card (the latest version) and a note."""
    if ident.kind is not IdKind.ARXIV or not ident.version or not work.arxiv_version:
        return work
    if ident.version == work.arxiv_version:
        return work
    note = (
        f"You asked for {ident}; this card describes arXiv's latest version, v{work.arxiv_version}."
    )
    return replace(work, notes=(*work.notes, note))


# When records cannot be merged together, the least trusted are dropped first.
_DROP_ORDER = ("ncbi", "s2", "unpaywall", "datacite", "arxiv", "openalex", "crossref")


def _mergeable(
    records: dict[str, SourceRecord], failed: dict[str, str], now: datetime
) -> tuple[dict[str, SourceRecord], dict[str, str]]:
    """The records that merge, and ``failed`` with the others named."""
    records, failed = dict(records), dict(failed)
    for source, record in list(records.items()):
        try:
            merge({source: record}, fetched_at=now)
        except Exception:
            del records[source]
            failed[source] = "unexpected response"
    for source in sorted(records, key=lambda s: _DROP_ORDER.index(s) if s in _DROP_ORDER else -1):
        try:
            merge(records, failed=failed, fetched_at=now)
            break
        except Exception:
            del records[source]
            failed[source] = "unexpected response"
    return records, failed
