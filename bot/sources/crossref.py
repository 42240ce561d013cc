"""Crossref: the authoritative bibliographic record, deposited licences and retractions.

API root ``LITBOT_CROSSREF_URL`` + ``/works/{doi}``. ``mailto`` (query and User-Agent) puts
requests in the polite pool: 10 requests/s and 3 concurrent since December 2025.
"""

from __future__ import annotations

from typing import Any

from bot.licences import normalise_licence
from bot.models import LicenceStatement, SourceRecord
from bot.sources import _common as c
from bot.sources._http import Upstream
from bot.text import clean_abstract, clean_text

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
# update types that mean the work must not be relied on.
RETRACTION_TYPES = frozenset({"retraction", "withdrawal", "removal"})


def _title(message: dict[str, Any]) -> str | None:
    title = clean_text(c.first(message.get("title")))
    subtitle = clean_text(c.first(message.get("subtitle")))
    if title and subtitle and subtitle.casefold() not in title.casefold():
        sep = " " if title.endswith((":", "?", "!", ".")) else ": "
        return f"{title}{sep}{subtitle}"
    return title or clean_text(c.first(message.get("original-title")))


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


def _retraction(message: dict[str, Any]) -> tuple[bool | None, str | None]:
    """``updated-by`` on the original record (publisher or Retraction Watch)."""
    for update in message.get("updated-by") or ():
        if isinstance(update, dict) and str(update.get("type", "")).lower() in RETRACTION_TYPES:
            return True, c.bare_doi(update.get("DOI"))
    # Older deposits carry the notice only as update-to on the notice itself; a record that
    # *is* a retraction notice is typed "retraction", not flagged as retracted.
    return None, None


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

    year, published = None, None
    for key in ("issued", "published", "published-print", "published-online", "created"):
        year, published = c.date_parts(message.get(key) or {})
        if year:
            break

    cr_type = str(message.get("type") or "").lower()
    work_type = TYPES.get(cr_type)
    if cr_type == "posted-content" and message.get("subtype") not in (None, "preprint"):
        work_type = "other"
    if any(
        isinstance(u, dict) and str(u.get("type", "")).lower() in RETRACTION_TYPES
        for u in message.get("update-to") or ()
    ):
        work_type = "retraction"

    venue = clean_text(c.first(message.get("container-title")))
    if not venue and cr_type == "posted-content":
        venue = clean_text(
            c.first(
                [i.get("name") for i in message.get("institution") or () if isinstance(i, dict)]
            )
        )
    retracted, notice = _retraction(message)
    pages = c.as_str(message.get("page")) or c.as_str(message.get("article-number"))
    resource = message.get("resource") if isinstance(message.get("resource"), dict) else {}
    primary = resource.get("primary") if isinstance(resource.get("primary"), dict) else {}
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(message.get("DOI")),
        title=_title(message),
        authors=tuple(authors),
        year=year,
        published=published,
        venue=venue,
        type=work_type,
        volume=c.as_str(message.get("volume")),
        issue=c.as_str(message.get("issue")),
        pages=pages.replace("–", "-") if pages else None,
        publisher=c.as_str(message.get("publisher")),
        issn=tuple(message.get("ISSN") or ()) or None,
        isbn=tuple(message.get("ISBN") or ()) or None,
        language=c.as_str(message.get("language")),
        url=primary.get("URL") or None,
        cited_by_count=c.as_int(message.get("is-referenced-by-count")),
        abstract=clean_abstract(message.get("abstract")),
        retracted=retracted,
        retraction_notice=notice,
        licences=_licences(message),
        references_count=c.as_int(message.get("references-count")),
    )


async def fetch_work(up: Upstream, doi: str) -> SourceRecord | None:
    data = await up.get_json(f"/works/{c.quote_doi(doi)}")
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise up.unexpected("/works/…")
    return parse_work(data)
