"""Crossref: the authoritative bibliographic record, deposited licences and retractions.

API root ``LITBOT_CROSSREF_URL`` + ``/works/{doi}``. ``mailto`` (query and User-Agent) puts
requests in the polite pool: 10 requests/s and 3 concurrent since December 2025.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bot.licences import normalise_licence
from bot.models import UPDATE_KINDS, LicenceStatement, SourceRecord, Update
from bot.richtext import RichText
from bot.sources import _common as c
from bot.sources._http import SourceError, Upstream, parse_json
from bot.sources.batching import (
    UNEXPECTED,
    Batcher,
    batchable_doi,
    batcher,
    in_worker,
    parsed_in_worker,
)
from bot.text import rich_abstract, rich_title

NAME = "crossref"

TYPES = {
    "journal-article": "article",
    "posted-content": "preprint",
    "proceedings-article": "proceedings-article",
    "book-chapter": "book-chapter",
    "book-section": "book-chapter",
    "book-part": "book-chapter",
    "reference-entry": "book-chapter",
    "monograph": "book",
    "book": "book",
    "edited-book": "edited-book",
    "reference-book": "book",
    "book-set": "book",
    "dataset": "dataset",
    "database": "dataset",
    "dissertation": "dissertation",
    "report": "report",
    "report-component": "report",
    "peer-review": "peer-review",
    "standard": "standard",
    "component": "component",
    "journal-issue": "other",
    "journal": "other",
    "other": "other",
}
# Where the year comes from, in order. ``issued`` is Crossref's publication date (the earlier of
# print and online); ``published`` is the same date under its newer name; without either, the
# earlier of ``published-print`` and ``published-online`` is what ``issued`` would have been
# (print on a tie: the date volume, issue and pages belong to). ``created``, ``deposited`` and
# ``indexed`` are when Crossref got the record, not when the work appeared: 10.1007/978-3-531-
# 91346-9_6 has ``issued: [[null]]`` and ``created`` 2009, ``deposited`` 2023, and showing either
# as its year would be wrong, so without a publication date there is no year.
DATE_FIELDS = ("issued", "published")
ISSUE_DATE_FIELDS = ("published-print", "published-online")
# update types that mean the work must not be relied on.
RETRACTION_TYPES = frozenset({"retraction", "withdrawal", "removal"})


def _title(message: dict[str, Any]) -> RichText | None:
    title = rich_title(c.first(message.get("title")))
    subtitle = rich_title(c.first(message.get("subtitle")))
    if title and subtitle and subtitle.plain().casefold() not in title.plain().casefold():
        sep = " " if title.plain().endswith((":", "?", "!", ".")) else ": "
        return RichText.join([title, subtitle], sep)
    return title or rich_title(c.first(message.get("original-title")))


def _licences(message: dict[str, Any]) -> tuple[LicenceStatement, ...]:
    out = []
    for item in message.get("license") or ():
        if not isinstance(item, dict) or not item.get("URL"):
            continue
        _, start = c.date_parts(item.get("start") or {})
        out.append(
            LicenceStatement(
                licence=normalise_licence(item["URL"]),
                url=item["URL"],
                content_version=str(item.get("content-version") or "unspecified"),
                start=start,
            )
        )
    return tuple(out)


def _date(message: dict[str, Any]) -> tuple[int | None, str | None, str | None]:
    """(year, ISO date, the field that gave them) from publication dates only (``DATE_FIELDS``)."""
    for key in DATE_FIELDS:
        year, published = c.date_parts(message.get(key))
        if year:
            return year, published, key
    dated = [(c.date_parts(message.get(key)), key) for key in ISSUE_DATE_FIELDS]
    dated = [(iso, year, key) for (year, iso), key in dated if year and iso]
    if dated:
        iso, year, key = min(dated, key=lambda d: d[0])  # stable: print first on a tie
        return year, iso, key
    return None, None, None


def _retraction(message: dict[str, Any]) -> tuple[bool | None, str | None]:
    """``updated-by`` on the original record (publisher or Retraction Watch)."""
    for update in message.get("updated-by") or ():
        if isinstance(update, dict) and str(update.get("type", "")).lower() in RETRACTION_TYPES:
            return True, c.bare_doi(update.get("DOI"))
    # Older deposits carry the notice only as update-to on the notice itself; a record that
    # *is* a retraction notice is typed "retraction", not flagged as retracted.
    return None, None


def _updates(message: dict[str, Any], doi: str | None) -> tuple[Update, ...]:
    """The notices ``updated-by`` lists on the original record, oldest first: each with its
    type, the notice's DOI and date, and who asserts it (the publisher, or Retraction Watch
    since Crossref merged its database). ``new_version`` entries (PLOS lists the record itself)
    and types litbot does not know are left out."""
    found: dict[str, Update] = {}
    for item in c.items(message.get("updated-by")):
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type") or "").strip().lower().replace("-", "_").replace(" ", "_")
        if kind not in UPDATE_KINDS:
            continue
        notice = c.bare_doi(item.get("DOI"))
        if notice and doi and notice.lower() == doi.lower():
            continue
        _, date = c.date_parts(item.get("updated"))
        source = c.as_str(item.get("source")) or "publisher"
        update = Update(
            kind=kind,
            notice=notice,
            date=date,
            source="retraction-watch" if source.lower() == "retraction-watch" else "crossref",
            label=c.as_str(item.get("label")),
        )
        found.setdefault(update.key, update)  # Retraction Watch and the publisher may both say
    return tuple(sorted(found.values(), key=lambda u: u.date or ""))


def _relations(message: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """``relation``: the version of record this preprint became (``is-preprint-of``) and this
    work's preprints (``has-preprint``), DOIs only."""
    relation = message.get("relation") if isinstance(message.get("relation"), dict) else {}

    def dois(name: str) -> list[str]:
        out = []
        for item in c.items(relation.get(name)):
            if isinstance(item, dict) and str(item.get("id-type") or "").lower() == "doi":
                if found := c.bare_doi(item.get("id")):
                    out.append(found)
        return list(dict.fromkeys(out))

    published = dois("is-preprint-of")
    return (published[0] if published else None), tuple(dois("has-preprint"))


def parse_work(data: dict[str, Any]) -> SourceRecord:
    """A Crossref ``/works/{doi}`` body (envelope or bare message) → ``SourceRecord``."""
    message = data.get("message") if isinstance(data.get("message"), dict) else data
    authors = []
    for person in c.items(message.get("author")):
        if not isinstance(person, dict):
            continue
        author = c.author_from_parts(
            person.get("given"),
            person.get("family"),
            person.get("name"),
            person.get("ORCID"),
            person.get("suffix"),
        )
        if author:
            authors.append(author)

    year, published, date_field = _date(message)

    cr_type = str(message.get("type") or "").lower()
    work_type = TYPES.get(cr_type)
    if cr_type == "posted-content" and message.get("subtype") not in (None, "preprint"):
        work_type = "other"
    if any(
        isinstance(u, dict) and str(u.get("type", "")).lower() in RETRACTION_TYPES
        for u in message.get("update-to") or ()
    ):
        work_type = "retraction"

    venue = c.as_str(c.first(message.get("container-title")))
    if not venue and cr_type == "posted-content":
        venue = c.as_str(
            c.first(
                [i.get("name") for i in message.get("institution") or () if isinstance(i, dict)]
            )
        )
    retracted, notice = _retraction(message)
    doi = c.bare_doi(message.get("DOI"))
    published_doi, preprints = _relations(message)
    pages = c.as_str(message.get("page")) or c.as_str(message.get("article-number"))
    resource = message.get("resource") if isinstance(message.get("resource"), dict) else {}
    primary = resource.get("primary") if isinstance(resource.get("primary"), dict) else {}
    title = _title(message)
    abstract = rich_abstract(message.get("abstract"))
    return SourceRecord(
        source=NAME,
        doi=doi,
        title=title.linear() if title else None,
        authors=tuple(authors),
        year=year,
        published=published,
        date_field=date_field,
        venue=venue,
        type=work_type,
        volume=c.as_str(message.get("volume")),
        issue=c.as_str(message.get("issue")),
        pages=pages.replace("–", "-") if pages else None,
        publisher=c.as_str(message.get("publisher")),
        issn=c.strings(message.get("ISSN")),
        isbn=c.strings(message.get("ISBN")),
        language=c.as_str(message.get("language"), "language"),
        url=primary.get("URL") or None,
        # Crossref counts citations among the reference lists its members deposit: 0 is a count.
        cited_by_count=c.count(message.get("is-referenced-by-count")),
        abstract=abstract.linear() if abstract else None,
        markup=c.markup(title=title, abstract=abstract),
        retracted=retracted,
        retraction_notice=notice,
        updates=_updates(message, doi),
        published_doi=published_doi,
        preprints=preprints,
        licences=_licences(message),
        # The references the publisher deposited: 0 means none were deposited, not none cited.
        references_count=c.count(message.get("references-count"), zero_is_unknown=True),
    )


async def fetch_work(up: Upstream, doi: str, *, acquired: bool = False) -> SourceRecord | None:
    data = await up.get_json(f"/works/{c.quote_doi(doi)}", acquired=acquired)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise up.unexpected("/works/…")
    return parse_work(data)


# DOIs per list request. Whole Crossref records (references included) run to 100 kB each: twenty
# keep a batch's parse in the tens of milliseconds, between which the loop runs others.
MAX_BATCH = 20


async def fetch_doi(up: Upstream, doi: str) -> SourceRecord | None:
    """The work with this DOI; lookups waiting for Crossref's turn (3 at a time in the polite
    pool) share one ``filter=doi:a,doi:b,…`` request (``bot.sources.batching``)."""
    lookups = batcher(
        up,
        "doi",
        lambda: Batcher(
            up,
            lambda d: fetch_work(up, d, acquired=True),
            lambda dois: _fetch_dois(up, dois),
            max_size=MAX_BATCH,
            batchable=batchable_doi,
        ),
    )
    return await lookups.get(doi.lower())


async def _fetch_dois(
    up: Upstream, dois: Sequence[str]
) -> dict[str, SourceRecord | SourceError | None]:
    """Many DOIs in one list request (the ``doi`` filter repeated is an OR); a DOI missing from
    the answer is unknown to Crossref. A bulk answer is parsed in a worker process."""
    params = {"filter": ",".join(f"doi:{d}" for d in dois), "rows": str(len(dois))}
    if in_worker(up, dois):
        parsed = await parsed_in_worker(up, "/works", params, parse_list_body, list(dois))
        return {d: up.unexpected("/works") if r == UNEXPECTED else r for d, r in parsed.items()}
    data = await up.get_json("/works", params, acquired=True)
    found: dict[str, SourceRecord | SourceError | None] = {}
    for n, (doi, item) in enumerate(_list_items(data, dois, up)):
        if n % 5 == 4:
            await asyncio.sleep(0)  # let others run between records
        try:
            found[doi] = parse_work({"message": item})
        except Exception:  # one hostile record is Crossref's failure for that DOI only
            found[doi] = up.unexpected("/works")
    return found


def _list_items(data: Any, dois: Sequence[str], up: Upstream | None = None) -> list[tuple]:
    """(DOI, record) for each wanted DOI of a list answer, first occurrence only; a body not
    of the documented shape raises (``SourceError`` with ``up``, else ``ValueError``)."""
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("items"), list):
        if up is not None:
            raise up.unexpected("/works")
        raise ValueError("not a Crossref work list")
    wanted = set(dois)
    out: dict[str, dict] = {}
    for item in message["items"]:
        doi = (c.bare_doi(item.get("DOI")) or "").lower() if isinstance(item, dict) else ""
        if doi in wanted and doi not in out:
            out[doi] = item
    return list(out.items())


def parse_list_body(body: bytes, dois: list[str], max_depth: int) -> dict[str, SourceRecord | str]:
    """A list body read whole (in a worker process): each wanted DOI's record, or
    ``UNEXPECTED`` for a record its parser refused. ``ValueError`` for a body that is not a
    Crossref work list."""
    found: dict[str, SourceRecord | str] = {}
    for doi, item in _list_items(parse_json(body, max_depth=max_depth), dois):
        try:
            found[doi] = parse_work({"message": item})
        except Exception:
            found[doi] = UNEXPECTED
    return found
