"""DataCite: metadata for non-Crossref DOIs (arXiv 10.48550, Zenodo, figshare, Dryad, …).

API root ``LITBOT_DATACITE_URL`` + ``/dois/{doi}``; JSON:API envelope.
"""

from __future__ import annotations

from typing import Any

from bot.licences import normalise_licence
from bot.models import LicenceStatement, Location, SourceRecord
from bot.sources import _common as c
from bot.sources._http import Upstream
from bot.text import rich_abstract, rich_title

NAME = "datacite"
# Prefixes registered with DataCite that litbot sees often; other DOIs go to DataCite only
# when Crossref and OpenAlex do not know them.
DATACITE_PREFIXES = frozenset(
    {"10.48550", "10.5281", "10.6084", "10.5061", "10.1594", "10.7910", "10.17632", "10.4230"}
)
TYPES = {
    "preprint": "preprint",
    "dataset": "dataset",
    "software": "software",
    "journalarticle": "article",
    "conferencepaper": "proceedings-article",
    "book": "book",
    "bookchapter": "book-chapter",
    "dissertation": "dissertation",
    "report": "report",
    "standard": "standard",
    "peerreview": "peer-review",
    "text": "other",
}


# Publication dates, most trusted first: ``Issued`` ("formal issuance, e.g. publication") and
# ``Available`` ("made publicly available"). Never ``Created`` (figshare 1449060: created 2015,
# issued 2020), ``Registered``/``Updated`` or the record's own ``created``/``registered``.
PUBLICATION_DATE_TYPES = ("Issued", "Available")


def _date(attrs: dict[str, Any]) -> tuple[int | None, str | None, str | None]:
    """(year, ISO date, field) from ``publicationYear`` and the Issued/Available dates.

    ``publicationYear`` is mandatory in DataCite and decides the year; an Issued or Available
    date in that year adds precision (arXiv: Issued "2019", Available "2019-02"), the more
    precise one winning and Issued on a tie. A date in another year is not used.
    """
    stated = c.year(attrs.get("publicationYear"))
    dates = [d for d in c.items(attrs.get("dates"), 100) if isinstance(d, dict)]
    found = []
    for kind in PUBLICATION_DATE_TYPES:
        for item in dates:
            if str(item.get("dateType") or "") == kind:
                year, iso = c.iso_date(item.get("date"))
                if iso and (stated is None or year == stated):
                    found.append((iso, year, f"dates.{kind}"))
    if found:
        iso, year, key = max(found, key=lambda f: len(f[0]))  # first of the most precise
        return year, iso, key
    if stated:
        return stated, str(stated), "publicationYear"
    return None, None, None


def parse_doi(data: dict[str, Any]) -> SourceRecord:
    """A DataCite ``/dois/{doi}`` body → ``SourceRecord``."""
    attrs = (data.get("data") or {}).get("attributes") or {}
    authors = []
    for person in c.items(attrs.get("creators")):
        if not isinstance(person, dict):
            continue
        if person.get("nameType") == "Organizational" or not (
            person.get("familyName") or person.get("givenName")
        ):
            author = c.author_from_parts(None, None, person.get("name"))
        else:
            orcid = next(
                (
                    n.get("nameIdentifier")
                    for n in person.get("nameIdentifiers") or ()
                    if isinstance(n, dict) and "orcid" in str(n.get("nameIdentifierScheme")).lower()
                ),
                None,
            )
            author = c.author_from_parts(
                person.get("givenName"), person.get("familyName"), person.get("name"), orcid
            )
        if author:
            authors.append(author)
    titles = [t for t in attrs.get("titles") or () if isinstance(t, dict) and t.get("title")]
    main = next((t for t in titles if not t.get("titleType")), titles[0] if titles else {})
    abstract = next(
        (
            d.get("description")
            for d in attrs.get("descriptions") or ()
            if isinstance(d, dict) and d.get("descriptionType") == "Abstract"
        ),
        None,
    )
    rights = [r for r in attrs.get("rightsList") or () if isinstance(r, dict)]
    licences = tuple(
        LicenceStatement(
            licence=normalise_licence(
                r.get("rightsIdentifier") or r.get("rightsUri") or r.get("rights")
            ),
            url=r.get("rightsUri") or r.get("rights") or "",
            content_version="vor",
        )
        for r in rights
    )
    publisher = attrs.get("publisher")
    if isinstance(publisher, dict):
        publisher = publisher.get("name")
    publisher = c.as_str(publisher)
    container = attrs.get("container") if isinstance(attrs.get("container"), dict) else {}
    types = attrs.get("types") if isinstance(attrs.get("types"), dict) else {}
    ids = [i for i in attrs.get("identifiers") or () if isinstance(i, dict)]
    arxiv = next((i.get("identifier") for i in ids if i.get("identifierType") == "arXiv"), None)
    url = attrs.get("url") or None
    licence = next((lic.licence for lic in licences if lic.licence), None)
    locations = ()
    if url and licence:  # an openly licensed landing page (arXiv, Zenodo …) is a legal copy
        locations = (
            Location(
                url=url,
                source=NAME,
                landing_page_url=url,
                licence=licence,
                host_type="repository",
                host_name=publisher,
            ),
        )
    year, published, date_field = _date(attrs)
    title = rich_title(main.get("title"))
    abstract_rich = rich_abstract(abstract)
    return SourceRecord(
        source=NAME,
        doi=c.bare_doi(attrs.get("doi")),
        title=title.linear() if title else None,
        authors=tuple(authors),
        year=year,
        published=published,
        date_field=date_field,
        venue=c.as_str(container.get("title")),
        type=TYPES.get(str(types.get("resourceTypeGeneral") or "").lower()),
        volume=c.as_str(container.get("volume")),
        issue=c.as_str(container.get("issue")),
        pages=c.page_range(container.get("firstPage"), container.get("lastPage")),
        publisher=publisher,
        language=c.as_str(attrs.get("language"), "language"),
        url=url,
        # DataCite counts citations only where citing works link to the DOI and answers 0 for
        # every other record (all recorded arXiv, Zenodo, Dataverse, KNB records): 0 is unknown.
        cited_by_count=c.count(attrs.get("citationCount"), zero_is_unknown=True),
        references_count=c.count(attrs.get("referenceCount"), zero_is_unknown=True),
        abstract=abstract_rich.linear() if abstract_rich else None,
        markup=c.markup(title=title, abstract=abstract_rich),
        licences=licences,
        locations=locations,
        arxiv=c.as_str(arxiv),
    )


async def fetch_doi(up: Upstream, doi: str) -> SourceRecord | None:
    data = await up.get_json(f"/dois/{c.quote_doi(doi)}")
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise up.unexpected("/dois/…")
    return parse_doi(data)
