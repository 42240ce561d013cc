"""Unpaywall: the best legal open-access copy, its licence and version.

API root ``LITBOT_UNPAYWALL_URL`` + ``/v2/{doi}?email=…`` (the e-mail is mandatory). Covers
Crossref DOIs only; DataCite DOIs answer 404. Since 2025 it is served from OpenAlex's backend,
``z_authors`` holds OpenAlex-style authorships and ``evidence`` reads "deprecated".
"""

from __future__ import annotations

from typing import Any

from bot.licences import normalise_licence
from bot.models import Location, SourceRecord
from bot.sources import _common as c
from bot.sources._http import Upstream
from bot.text import rich_title

NAME = "unpaywall"


def _location(data: Any) -> Location | None:
    if not isinstance(data, dict):
        return None
    landing = data.get("url_for_landing_page") or None
    pdf = data.get("url_for_pdf") or None
    url = data.get("url") or landing or pdf
    if not url:
        return None
    host_type = (
        data.get("host_type") if data.get("host_type") in ("publisher", "repository") else None
    )
    return Location(
        url=url,
        source=NAME,
        landing_page_url=landing,
        pdf_url=pdf,
        licence=normalise_licence(data.get("license")),
        version=c.version(data.get("version")),
        host_type=host_type,
        host_name=c.as_str(data.get("repository_institution")),
        is_oa=True,  # Unpaywall lists only open locations
    )


def _authors(z_authors: Any) -> tuple:
    out = []
    for person in c.items(z_authors):
        if not isinstance(person, dict):
            continue
        if "raw_author_name" in person:  # 2025+: OpenAlex-style authorships
            author = c.author_from_display(person.get("raw_author_name"))
        else:  # older {given, family, ORCID}
            author = c.author_from_parts(
                person.get("given"), person.get("family"), None, person.get("ORCID")
            )
        if author:
            out.append(author)
    return tuple(out)


def parse_work(data: dict[str, Any]) -> SourceRecord:
    """An Unpaywall DOI object → ``SourceRecord`` (OA locations first of all)."""
    from bot.sources.crossref import TYPES  # Unpaywall's genre is Crossref's type

    issns = data.get("journal_issns")
    year, published = c.publication_date(data.get("year"), data.get("published_date"))
    title = rich_title(data.get("title"))
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(data.get("doi")),
        title=title.linear() if title else None,
        markup=c.markup(title=title),
        authors=_authors(data.get("z_authors")) or None,
        year=year,
        published=published,
        date_field="published_date" if published else "year" if year else None,
        venue=c.as_str(data.get("journal_name")),
        type=TYPES.get(str(data.get("genre") or "").lower()),
        publisher=c.as_str(data.get("publisher")),
        issn=c.strings(issns.split(",")) if isinstance(issns, str) else None,
        oa_status=c.as_str(data.get("oa_status")),
        locations=tuple(
            loc for loc in (_location(item) for item in data.get("oa_locations") or ()) if loc
        ),
        best_location=_location(data.get("best_oa_location")),
    )


async def fetch_work(up: Upstream, doi: str) -> SourceRecord | None:
    data = await up.get_json(f"/v2/{c.quote_doi(doi)}")
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("error") or not isinstance(data.get("doi"), str):
        raise up.unexpected("/v2/…")
    return parse_work(data)
