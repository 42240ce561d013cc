"""OpenAlex: metadata, abstract (inverted index), citation count, OA status and locations.

API root ``LITBOT_OPENALEX_URL`` + ``/works/doi:{doi}`` (also ``pmid:``, ``pmcid:``) and
``/works?filter=title.search:…``. Since February 2026 an API key (``api_key=``) is required for
more than a token allowance; ``mailto`` is still sent for identification.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bot.models import Location, SourceRecord, Update
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
from bot.text import clean_abstract, rebuild_inverted_index, rich_title

NAME = "openalex"

TYPES = {
    "article": "article",
    "review": "review",
    "preprint": "preprint",
    "book": "book",
    "book-chapter": "book-chapter",
    "dataset": "dataset",
    "dissertation": "dissertation",
    "peer-review": "peer-review",
    "conference-paper": "proceedings-article",
    "proceedings-article": "proceedings-article",
    "report": "report",
    "editorial": "editorial",
    "letter": "letter",
    "erratum": "erratum",
    "retraction": "retraction",
    "standard": "standard",
    "libguides": "other",
    "paratext": "other",
    "supplementary-materials": "component",
    "other": "other",
}
# Source types that are the publisher's own venue (vs. a repository or an aggregator).
PUBLISHER_SOURCE_TYPES = frozenset({"journal", "conference", "book series", "ebook platform"})
# Lists: OpenAlex documents at most 50 values OR-ed in one filter (its servers now take 100),
# and pages a list only while page × per-page ≤ 10,000.
MAX_OR_VALUES = 50
MAX_LISTED_IDS = 10_000
# The root fields parse_work reads (a work, alone or in a batch, is asked for these only, a
# third of a whole record; root fields only, as select requires), and the authorships a list
# keeps (apis.md §1.2).
WORK_FIELDS = (
    "id,doi,ids,title,display_name,publication_year,publication_date,type,language,"
    "authorships,primary_location,best_oa_location,locations,open_access,biblio,"
    "cited_by_count,abstract_inverted_index,is_retracted,referenced_works,"
    "referenced_works_count,related_works"
)
LIST_AUTHORS = 100
TRUNCATED = "truncated"  # a list record whose authors were cut: asked alone
# The root fields a list entry needs (``select`` keeps batches small; root fields only).
ENTRY_FIELDS = (
    "id,doi,ids,title,display_name,publication_year,type,authorships,primary_location,"
    "cited_by_count"
)


def _location(data: Any) -> Location | None:
    if not isinstance(data, dict):
        return None
    landing = data.get("landing_page_url") or None
    pdf = data.get("pdf_url") or None
    url = landing or pdf
    if not url:
        return None
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    src_type = (source.get("type") or "").lower()
    if src_type == "repository":
        host_type: str | None = "repository"
    elif src_type in PUBLISHER_SOURCE_TYPES or "doi.org/" in url:
        host_type = "publisher"
    else:
        host_type = None
    from bot.licences import normalise_licence  # local: licences is pure, avoids import cycle

    return Location(
        url=url,
        source=NAME,
        landing_page_url=landing,
        pdf_url=pdf,
        licence=normalise_licence(data.get("license")),
        version=c.version(data.get("version")),
        host_type=host_type,
        host_name=c.as_str(source.get("display_name")),
        is_oa=bool(data.get("is_oa")),
    )


def parse_work(data: dict[str, Any]) -> SourceRecord:
    """An OpenAlex work object (2025 or 2026 schema) → ``SourceRecord``."""
    primary = data.get("primary_location") if isinstance(data.get("primary_location"), dict) else {}
    source = primary.get("source") if isinstance(primary.get("source"), dict) else {}
    biblio = data.get("biblio") if isinstance(data.get("biblio"), dict) else {}
    ids = data.get("ids") if isinstance(data.get("ids"), dict) else {}
    oa = data.get("open_access") if isinstance(data.get("open_access"), dict) else {}

    authors = []
    for authorship in c.items(data.get("authorships")):
        person = authorship.get("author") or {}
        author = c.author_from_display(
            person.get("display_name"), person.get("orcid")
        ) or c.author_from_display(authorship.get("raw_author_name"), person.get("orcid"))
        if author:
            authors.append(author)

    locations = tuple(
        loc for loc in (_location(item) for item in data.get("locations") or ()) if loc
    )
    venue = c.as_str(source.get("display_name"))
    # publication_year is derived from publication_date; a work without either has no year
    # (OpenAlex's created_date and updated_date are about its record, not the work).
    year, published = c.publication_date(data.get("publication_year"), data.get("publication_date"))
    title = rich_title(data.get("title") or data.get("display_name"))
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(data.get("doi") or ids.get("doi")),
        title=title.linear() if title else None,
        markup=c.markup(title=title),
        authors=tuple(authors),
        year=year,
        published=published,
        date_field="publication_date" if published else "publication_year" if year else None,
        venue=venue,
        type=TYPES.get(str(data.get("type") or "").lower()),
        volume=c.as_str(biblio.get("volume")),
        issue=c.as_str(biblio.get("issue")),
        pages=c.page_range(biblio.get("first_page"), biblio.get("last_page")),
        publisher=c.as_str(source.get("host_organization_name")),
        issn=c.strings(source.get("issn")),
        language=c.as_str(data.get("language"), "language"),
        url=primary.get("landing_page_url") or None,
        # OpenAlex counts the citations in its own graph: 0 is a count.
        cited_by_count=c.count(data.get("cited_by_count")),
        abstract=clean_abstract(rebuild_inverted_index(data.get("abstract_inverted_index"))),
        retracted=data.get("is_retracted") if isinstance(data.get("is_retracted"), bool) else None,
        # OpenAlex says so without the notice (it reads Retraction Watch and Crossref too)
        updates=(Update("retraction", source=NAME),) if data.get("is_retracted") is True else (),
        oa_status=c.as_str(oa.get("oa_status")),
        locations=locations,
        best_location=_location(data.get("best_oa_location")),
        openalex_id=c.as_str(str(data.get("id") or "").rsplit("/", 1)[-1]) or None,
        pmid=c.pmid(ids.get("pmid")),
        pmcid=c.pmcid(ids.get("pmcid")),
        references_count=c.count(data.get("referenced_works_count")),
        referenced=_ids(data.get("referenced_works")),
        related=_ids(data.get("related_works")),
    )


def _ids(values: Any, limit: int = MAX_LISTED_IDS) -> tuple[str, ...]:
    """``["https://openalex.org/W123", …]`` → ``("W123", …)``, all of them (a neighbourhood
    pages through the whole list), up to a bound no real record reaches."""
    out = []
    for value in values if isinstance(values, list) else ():
        ident = str(value).rsplit("/", 1)[-1]
        if ident[:1] == "W" and ident[1:].isdigit():
            out.append(ident)
    return tuple(out[:limit])


def parse_list(data: dict[str, Any]) -> list[SourceRecord]:
    """A list envelope (``{"meta": …, "results": […]}``) → records, in rank order."""
    return [parse_work(item) for item in data.get("results") or () if isinstance(item, dict)]


def _parse_list(up: Upstream, data: dict[str, Any]) -> list[SourceRecord]:
    """``parse_list`` where a record that breaks the parser is OpenAlex's failure."""
    try:
        return parse_list(data)
    except Exception as exc:  # a hostile list must not escape as a traceback
        raise up.unexpected("/works") from exc


async def fetch_work(up: Upstream, key: str, *, acquired: bool = False) -> SourceRecord | None:
    """``key`` is ``doi:10.…``, ``pmid:123`` or ``pmcid:PMC123``; ``None`` when unknown."""
    scheme, _, value = key.partition(":")
    # DOIs as full doi.org URLs: the form OpenAlex documents first and the one every recorded
    # request used, so a server replaying those recordings answers it too.
    ident = f"https://doi.org/{c.quote_doi(value)}" if scheme == "doi" else f"{scheme}:{value}"
    data = await up.get_json(f"/works/{ident}", {"select": WORK_FIELDS}, acquired=acquired)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise up.unexpected("/works/…")
    return parse_work(data)


async def fetch_doi(up: Upstream, doi: str) -> SourceRecord | None:
    """The work with this DOI; lookups waiting for OpenAlex's turn share one
    ``filter=doi:a|b|…`` request (``bot.sources.batching``)."""
    lookups = batcher(
        up,
        "doi",
        lambda: Batcher(
            up,
            lambda d: fetch_work(up, f"doi:{d}", acquired=True),
            lambda dois: _fetch_dois(up, dois),
            max_size=MAX_OR_VALUES,
            batchable=batchable_doi,
        ),
    )
    return await lookups.get(doi.lower())


async def _fetch_dois(
    up: Upstream, dois: Sequence[str]
) -> dict[str, SourceRecord | SourceError | None]:
    """Many DOIs in one list request; a DOI missing from the answer is unknown to OpenAlex. A
    bulk answer is parsed in a worker process."""
    params = {
        "filter": "doi:" + "|".join(dois),
        "per-page": str(len(dois)),
        "select": WORK_FIELDS,  # fifty whole records are ~5 MB; the fields read are a third
    }
    found: dict[str, SourceRecord | SourceError | None] = {}
    if in_worker(up, dois):
        parsed = await parsed_in_worker(up, "/works", params, parse_list_body, list(dois))
        for doi, record in parsed.items():
            found[doi] = up.unexpected("/works") if record == UNEXPECTED else record
    else:
        data = await up.get_json("/works", params, acquired=True)
        for n, (doi, item) in enumerate(_list_items(data, dois, up)):
            if item is None:
                found[doi] = TRUNCATED  # type: ignore[assignment]
                continue
            if n % 10 == 9:
                await asyncio.sleep(0)  # fifty records parse in tens of ms: let others run
            try:
                found[doi] = parse_work(item)
            except Exception:  # one hostile record is OpenAlex's failure for that DOI only
                found[doi] = up.unexpected("/works")
    for doi in [d for d, r in found.items() if isinstance(r, str)]:  # TRUNCATED
        found[doi] = await fetch_work(up, f"doi:{doi}")
    return found


def _list_items(
    data: Any, dois: Sequence[str], up: Upstream | None = None
) -> list[tuple[str, dict | None]]:
    """(DOI, record) for each wanted DOI of a list answer, first occurrence only; the record
    None where the list cut its authors (``TRUNCATED``: the single record has them all). A
    body not of the documented shape raises (``SourceError`` with ``up``, else ``ValueError``)."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        if up is not None:
            raise up.unexpected("/works")
        raise ValueError("not an OpenAlex work list")
    wanted = set(dois)
    out: dict[str, dict | None] = {}
    for item in data["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        doi = (c.bare_doi(item.get("doi")) or "").lower()
        if doi not in wanted or doi in out:
            continue
        authors = item.get("authorships")
        truncated = item.get("is_authors_truncated") is True or (
            isinstance(authors, list) and len(authors) >= LIST_AUTHORS
        )
        out[doi] = None if truncated else item
    return list(out.items())


def parse_list_body(body: bytes, dois: list[str], max_depth: int) -> dict[str, SourceRecord | str]:
    """A list body read whole (in a worker process): each wanted DOI's record, ``TRUNCATED``
    where the list cut its authors, ``UNEXPECTED`` where its parser refused the record.
    ``ValueError`` for a body that is not an OpenAlex work list."""
    found: dict[str, SourceRecord | str] = {}
    for doi, item in _list_items(parse_json(body, max_depth=max_depth), dois):
        if item is None:
            found[doi] = TRUNCATED
            continue
        try:
            found[doi] = parse_work(item)
        except Exception:
            found[doi] = UNEXPECTED
    return found


async def list_works(
    up: Upstream,
    filter_: str,
    *,
    per_page: int = 10,
    page: int = 1,
    sort: str | None = None,
    select: str | None = None,
) -> tuple[list[SourceRecord], int | None]:
    """``/works?filter=…`` → one page of records in the order given, and the total count
    OpenAlex reports for the whole list (``meta.count``).

    A list answers 200 even when nothing matches, so a 404 here is a failure, not "none".
    """
    params = {"filter": filter_, "per-page": str(per_page)}
    if page > 1:
        params["page"] = str(page)
    if sort:
        params["sort"] = sort
    if select:
        params["select"] = select
    data = await up.get_json("/works", params)
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise up.unexpected("/works")
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    return _parse_list(up, data), c.as_int(meta.get("count"))


async def works_by_ids(
    up: Upstream, ids: Sequence[str], *, select: str | None = ENTRY_FIELDS
) -> dict[str, SourceRecord]:
    """The works with these OpenAlex ids (``W…``), keyed by id: one request per 50 ids
    (``filter=openalex:W1|W2|…``, OpenAlex's documented alias of ``ids.openalex``).

    Ids OpenAlex has no record for (merged, deleted) are simply absent from the answer.
    """
    wanted = list(dict.fromkeys(i for i in ids if i[:1] == "W" and i[1:].isdigit()))
    found: dict[str, SourceRecord] = {}
    for start in range(0, len(wanted), MAX_OR_VALUES):
        chunk = wanted[start : start + MAX_OR_VALUES]
        records, _ = await list_works(
            up, "openalex:" + "|".join(chunk), per_page=len(chunk), select=select
        )
        for record in records:
            if record.openalex_id in chunk:
                found[record.openalex_id] = record
    return found


async def search_title(up: Upstream, title: str, *, limit: int = 5) -> list[SourceRecord]:
    """Title search, best match first. Commas and pipes would split OpenAlex's filter syntax."""
    query = " ".join(title.replace(",", " ").replace("|", " ").split())
    data = await up.get_json("/works", {"filter": f"title.search:{query}", "per-page": str(limit)})
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise up.unexpected("/works")
    return _parse_list(up, data)
