"""OpenAlex: metadata, abstract (inverted index), citation count, OA status and locations.

API root ``LITBOT_OPENALEX_URL`` + ``/works/doi:{doi}`` (also ``pmid:``, ``pmcid:``) and
``/works?filter=title.search:…``. Since February 2026 an API key (``api_key=``) is required for
more than a token allowance; ``mailto`` is still sent for identification.
"""

from __future__ import annotations

from typing import Any

from bot.models import Location, SourceRecord
from bot.sources import _common as c
from bot.sources._http import Upstream
from bot.text import clean_abstract, clean_text, rebuild_inverted_index

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
            person.get("display_name") or authorship.get("raw_author_name"), person.get("orcid")
        )
        if author:
            authors.append(author)

    first_page, last_page = c.as_str(biblio.get("first_page")), c.as_str(biblio.get("last_page"))
    pages = first_page
    if first_page and last_page and last_page != first_page:
        pages = f"{first_page}-{last_page}"

    locations = tuple(
        loc for loc in (_location(item) for item in data.get("locations") or ()) if loc
    )
    venue = c.as_str(source.get("display_name"))
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(data.get("doi") or ids.get("doi")),
        title=clean_text(data.get("title") or data.get("display_name")),
        authors=tuple(authors),
        year=c.as_int(data.get("publication_year")),
        published=c.as_str(data.get("publication_date")),
        venue=venue,
        type=TYPES.get(str(data.get("type") or "").lower()),
        volume=c.as_str(biblio.get("volume")),
        issue=c.as_str(biblio.get("issue")),
        pages=pages,
        publisher=c.as_str(source.get("host_organization_name")),
        issn=tuple(source.get("issn") or ()) or None,
        language=c.as_str(data.get("language")),
        url=primary.get("landing_page_url") or None,
        cited_by_count=c.as_int(data.get("cited_by_count")),
        abstract=clean_abstract(rebuild_inverted_index(data.get("abstract_inverted_index"))),
        retracted=data.get("is_retracted") if isinstance(data.get("is_retracted"), bool) else None,
        oa_status=c.as_str(oa.get("oa_status")),
        locations=locations,
        best_location=_location(data.get("best_oa_location")),
        openalex_id=c.as_str(str(data.get("id") or "").rsplit("/", 1)[-1]) or None,
        pmid=c.pmid(ids.get("pmid")),
        pmcid=c.pmcid(ids.get("pmcid")),
        references_count=c.as_int(data.get("referenced_works_count")),
        referenced=_ids(data.get("referenced_works")),
        related=_ids(data.get("related_works")),
    )


def _ids(values: Any, limit: int = 50) -> tuple[str, ...]:
    """``["https://openalex.org/W123", …]`` → ``("W123", …)``."""
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


async def fetch_work(up: Upstream, key: str) -> SourceRecord | None:
    """``key`` is ``doi:10.…``, ``pmid:123`` or ``pmcid:PMC123``; ``None`` when unknown."""
    scheme, _, value = key.partition(":")
    # DOIs as full doi.org URLs: the form OpenAlex documents first and the one every recorded
    # request used, so a server replaying those recordings answers it too.
    ident = f"https://doi.org/{c.quote_doi(value)}" if scheme == "doi" else f"{scheme}:{value}"
    data = await up.get_json(f"/works/{ident}")
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise up.unexpected("/works/…")
    return parse_work(data)


async def list_works(
    up: Upstream, filter_: str, *, per_page: int = 10, sort: str | None = None
) -> tuple[list[SourceRecord], int | None]:
    """``/works?filter=…`` → records in the order given, and the total count OpenAlex reports."""
    params = {"filter": filter_, "per-page": str(per_page)}
    if sort:
        params["sort"] = sort
    data = await up.get_json("/works", params)
    if data is None:
        return [], None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise up.unexpected("/works")
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    return _parse_list(up, data), c.as_int(meta.get("count"))


async def search_title(up: Upstream, title: str, *, limit: int = 5) -> list[SourceRecord]:
    """Title search, best match first. Commas and pipes would split OpenAlex's filter syntax."""
    query = " ".join(title.replace(",", " ").replace("|", " ").split())
    data = await up.get_json("/works", {"filter": f"title.search:{query}", "per-page": str(limit)})
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise up.unexpected("/works")
    return _parse_list(up, data)
