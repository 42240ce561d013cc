"""Combine per-source records into one ``Work`` by a declared precedence table (pure).

Why this order:
- Bibliographic fields (title, authors, venue, volume, issue, pages, dates, type): Crossref
  first — it is what the publisher deposited — then DataCite (the registrar for non-Crossref
  DOIs), then OpenAlex, Unpaywall and Semantic Scholar, which derive theirs from the former.
- Abstract: Crossref's JATS keeps the publisher's paragraphs and section headings (structured
  abstracts matter for the TL;DR); OpenAlex's inverted index is a lossy rebuild; Semantic
  Scholar fills gaps; DataCite last (its "abstract" is often a description of a dataset).
- Citation count: OpenAlex (broadest citation graph), then Crossref, then Semantic Scholar.
  Counts differ by source, so the provenance names the one shown.
- TL;DR: Semantic Scholar only (a local summary is added later and labelled as such).
- Open-access locations: Unpaywall > OpenAlex > Semantic Scholar (see ``bot/licences.py``).
- Retraction: any source that says "retracted" wins; silence is not a clean bill of health.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from bot.licences import choose_access
from bot.models import Author, SourceRecord, Work
from bot.names import fold, is_cjk

BIBLIOGRAPHIC = ("crossref", "datacite", "openalex", "unpaywall", "s2")

PRECEDENCE: dict[str, tuple[str, ...]] = {
    "doi": BIBLIOGRAPHIC,
    "title": BIBLIOGRAPHIC,
    "authors": BIBLIOGRAPHIC,
    "year": BIBLIOGRAPHIC,
    "published": BIBLIOGRAPHIC,
    "venue": BIBLIOGRAPHIC,
    "type": BIBLIOGRAPHIC,
    "volume": BIBLIOGRAPHIC,
    "issue": BIBLIOGRAPHIC,
    "pages": BIBLIOGRAPHIC,
    "publisher": BIBLIOGRAPHIC,
    "issn": BIBLIOGRAPHIC,
    "isbn": BIBLIOGRAPHIC,
    "language": BIBLIOGRAPHIC,
    "url": ("crossref", "datacite", "openalex", "s2"),
    "cited_by_count": ("openalex", "crossref", "s2", "datacite"),
    "abstract": ("crossref", "openalex", "s2", "datacite"),
    "tldr": ("s2",),
    "openalex_id": ("openalex",),
    "pmid": ("openalex", "s2"),
    "pmcid": ("openalex", "s2"),
    "arxiv": ("datacite", "s2"),
    "references_count": ("openalex", "crossref"),
    "referenced": ("openalex",),
    "related": ("openalex",),
}
# A generic type from a higher source gives way to a more specific one from a lower source
# (Crossref calls reviews "journal-article"; OpenAlex and S2 tell them apart).
GENERIC_TYPES = frozenset({"article", "other", None})
SPECIFIC_TYPES = frozenset({"review", "editorial", "letter", "erratum", "retraction"})
OA_STATUS_ORDER = ("unpaywall", "openalex", "s2")
SOURCE_LABELS = {
    "openalex": "OpenAlex",
    "crossref": "Crossref",
    "unpaywall": "Unpaywall",
    "s2": "Semantic Scholar",
    "datacite": "DataCite",
    "arxiv": "arXiv",
    "cache": "cache",
    "local": "generated locally",
    "import": "imported file",
}


def _pick(records: Mapping[str, SourceRecord], name: str):
    for source in PRECEDENCE[name]:
        record = records.get(source)
        if record is None:
            continue
        value = getattr(record, name)
        if value not in (None, "", ()):
            return value, source
    return None, None


def _display(author: Author) -> str:
    return fold(f"{author.given} {author.family}" if author.given else author.family)


def reconcile_authors(
    chosen: tuple[Author, ...], source: str, records: Mapping[str, SourceRecord]
) -> tuple[tuple[Author, ...], list[str]]:
    """Fix given/family swaps and fill ORCIDs, position by position, from the other sources.

    Crossref deposits sometimes swap given and family names (the seed paper's "Lu Cheng" for
    Cheng Lu). When every other source that lists the same number of authors shows the name
    in the swapped order, and none shows it in Crossref's order, the parts are swapped back.
    Names in CJK scripts are left alone: there the family name comes first by convention.
    """
    others = [
        r.authors
        for s, r in records.items()
        if s != source and r.authors and len(r.authors) == len(chosen)
    ]
    notes: list[str] = []
    fixed = []
    for i, author in enumerate(chosen):
        if author.given and author.family and not is_cjk(author.name) and others:
            as_is = _display(author)
            swapped = fold(f"{author.family} {author.given}")
            views = [fold(o[i].name) for o in others]
            if as_is != swapped and all(v == swapped for v in views):
                author = Author(
                    name=f"{author.family} {author.given}",
                    family=author.given,
                    given=author.family,
                    orcid=author.orcid,
                )
                notes.append(f"Name order of author {i + 1} corrected (given/family swapped).")
        if not author.orcid:
            orcid = next(
                (
                    o[i].orcid
                    for o in others
                    if o[i].orcid and fold(o[i].family) == fold(author.family)
                ),
                None,
            )
            if orcid:
                author = Author(author.name, author.family, author.given, orcid)
        fixed.append(author)
    return tuple(fixed), notes


def merge(
    records: Mapping[str, SourceRecord],
    *,
    failed: Mapping[str, str] | None = None,
    fetched_at: datetime | None = None,
    today: date | None = None,
) -> Work:
    """Merge the records that sources returned (keyed by source name) into a ``Work``.

    ``failed`` maps sources that errored to a short reason; they are named on the card.
    """
    failed = dict(failed or {})
    values: dict[str, object] = {}
    provenance: dict[str, str] = {}
    for name in PRECEDENCE:
        value, source = _pick(records, name)
        if source is not None:
            values[name] = value
            provenance[name] = source

    if values.get("type") in GENERIC_TYPES:
        for source in BIBLIOGRAPHIC:
            record = records.get(source)
            if record and record.type in SPECIFIC_TYPES:
                values["type"], provenance["type"] = record.type, source
                break

    notes: list[str] = []
    if "authors" in values:
        values["authors"], name_notes = reconcile_authors(
            values["authors"], provenance["authors"], records
        )
        notes += name_notes

    retracted_by = next((s for s, r in records.items() if r.retracted), None)
    notice = next((r.retraction_notice for r in records.values() if r.retraction_notice), None)
    if retracted_by:
        provenance["retracted"] = retracted_by

    doi = values.get("doi")
    locations = tuple(
        loc
        for source in (*OA_STATUS_ORDER, "datacite", "crossref", "openalex")
        if (record := records.get(source))
        for loc in (((record.best_location,) if record.best_location else ()) + record.locations)
    )
    # de-duplicate by URL, keeping the first (best-sourced) occurrence
    seen: set[str] = set()
    unique = tuple(loc for loc in locations if not (loc.url in seen or seen.add(loc.url)))
    statuses = [(s, records[s].oa_status) for s in OA_STATUS_ORDER if s in records]
    statements = tuple(
        lic for s in ("crossref", "datacite") if s in records for lic in records[s].licences
    )
    access = choose_access(
        doi=doi, locations=unique, statuses=statuses, crossref_licences=statements, today=today
    )
    if access.source:
        provenance["access"] = access.source

    title = values.pop("title", None) or "Untitled work"
    if "title" not in provenance:
        notes.append("No source gives a title.")
    for source, reason in sorted(failed.items()):
        notes.append(f"{SOURCE_LABELS.get(source, source)} did not answer ({reason}).")

    return Work(
        title=title,
        doi=doi,
        authors=values.pop("authors", ()),
        issn=tuple(values.pop("issn", ()) or ()),
        isbn=tuple(values.pop("isbn", ()) or ()),
        retracted=retracted_by is not None,
        retraction_notice=notice,
        access=access,
        locations=unique,
        provenance=provenance,
        sources=tuple(s for s in (*BIBLIOGRAPHIC, "arxiv") if s in records),
        missing=tuple(sorted(failed)),
        fetched_at=fetched_at or datetime.now(UTC),
        notes=tuple(notes),
        **{k: v for k, v in values.items() if k != "doi"},
    )
