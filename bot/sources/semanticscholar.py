"""Semantic Scholar: the model-written TL;DR, and an abstract when others lack one.

API root ``LITBOT_S2_URL`` + ``/graph/v1/paper/DOI:{doi}?fields=…``; key in ``x-api-key``.
Keys start at 1 request/second; unauthenticated requests share one global pool and 429 often.
"""

from __future__ import annotations

import re
from typing import Any

from bot.licences import normalise_licence
from bot.models import Location, SourceRecord
from bot.sources import _common as c
from bot.sources._http import SourceError, Upstream
from bot.text import clean_text, rich_abstract, rich_title

NAME = "s2"
FIELDS = (
    "title,abstract,tldr,year,venue,journal,authors,citationCount,externalIds,"
    "openAccessPdf,publicationDate,publicationTypes,isOpenAccess,url"
)
TYPES = {
    "journalarticle": "article",
    "review": "review",
    "conference": "proceedings-article",
    "book": "book",
    "booksection": "book-chapter",
    "dataset": "dataset",
    "editorial": "editorial",
    "lettersandcomments": "letter",
}


def _pages(value: Any) -> str | None:
    """S2 writes "525 - 535" and "\n  46-51\n "; the card and citations want "525-535"."""
    text = c.as_str(value)
    return re.sub(r"\s*[-–]\s*", "-", text) if text else None


def parse_paper(data: dict[str, Any]) -> SourceRecord:
    """A Semantic Scholar paper object → ``SourceRecord``."""
    ext = data.get("externalIds") if isinstance(data.get("externalIds"), dict) else {}
    journal = data.get("journal") if isinstance(data.get("journal"), dict) else {}
    tldr = data.get("tldr") if isinstance(data.get("tldr"), dict) else {}
    pdf = data.get("openAccessPdf") if isinstance(data.get("openAccessPdf"), dict) else {}
    types = [str(t).lower() for t in data.get("publicationTypes") or ()]
    locations = ()
    # Closed papers come back as {"url": "", "status": "CLOSED"}: not a location.
    if pdf.get("url") and str(pdf.get("status") or "").upper() != "CLOSED":
        locations = (
            Location(
                url=pdf["url"],
                source=NAME,
                pdf_url=pdf["url"],
                licence=normalise_licence(pdf.get("license")),
            ),
        )
    authors = tuple(
        a
        for a in (
            c.author_from_display(p.get("name"))
            for p in c.items(data.get("authors"))
            if isinstance(p, dict)
        )
        if a
    )
    work_type = (
        "review" if "review" in types else next((TYPES[t] for t in types if t in TYPES), None)
    )
    status = str(pdf.get("status") or "").lower() or None
    year, published = c.publication_date(data.get("year"), data.get("publicationDate"))
    title = rich_title(data.get("title"))
    abstract = rich_abstract(data.get("abstract"))
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(ext.get("DOI")),
        title=title.linear() if title else None,
        authors=authors or None,
        year=year,
        published=published,
        date_field="publicationDate" if published else "year" if year else None,
        venue=c.as_str(journal.get("name")) or c.as_str(data.get("venue")),
        type=work_type,
        volume=c.as_str(journal.get("volume")),
        pages=_pages(journal.get("pages")),
        url=data.get("url") or None,
        # S2 counts the citations in its own graph: 0 is a count.
        cited_by_count=c.count(data.get("citationCount")),
        abstract=abstract.linear() if abstract else None,
        markup=c.markup(title=title, abstract=abstract),
        tldr=clean_text(tldr.get("text")),
        oa_status=status,
        locations=locations,
        pmid=c.pmid(ext.get("PubMed")),
        pmcid=c.pmcid(ext.get("PubMedCentral")),
        arxiv=c.as_str(ext.get("ArXiv")),
    )


async def fetch_paper(up: Upstream, doi: str) -> SourceRecord | None:
    try:
        data = await up.get_json(f"/graph/v1/paper/DOI:{c.quote_doi(doi)}", {"fields": FIELDS})
    except SourceError as exc:
        if exc.status not in (400, 500):
            raise
        # Asking for tldr has made S2 fail on some papers (danielnsilva/semanticscholar#48).
        data = await up.get_json(
            f"/graph/v1/paper/DOI:{c.quote_doi(doi)}",
            {"fields": FIELDS.replace("tldr,", "")},
        )
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("paperId"), str):
        raise up.unexpected("/graph/v1/paper/…")
    return parse_paper(data)
