"""Combine per-source records into one ``Work`` by a declared precedence table (pure).

Why this order:
- Bibliographic fields (title, authors, venue, volume, issue, pages, dates, type): Crossref
  first — it is what the publisher deposited — then DataCite (the registrar for non-Crossref
  DOIs), then OpenAlex, Unpaywall and Semantic Scholar, which derive theirs from the former.
- Year and date: one unit, from the first source in ``PRECEDENCE["year"]`` that has a
  publication date (each source reads publication dates only, never deposit dates); the year
  and the date never come from two sources, and ``Work.date_field`` names the source and field
  ("crossref:published-print").
- Abstract: Crossref's JATS keeps the publisher's paragraphs and section headings (structured
  abstracts matter for the TL;DR); OpenAlex's inverted index is a lossy rebuild; Semantic
  Scholar fills gaps; DataCite last (its "abstract" is often a description of a dataset).
- Citation count: OpenAlex (broadest citation graph), then Crossref, then Semantic Scholar.
  Counts differ by source, so the provenance names the one shown.
- TL;DR: Semantic Scholar only (a local summary is added later and labelled as such).
- Open-access locations: Unpaywall > OpenAlex > Semantic Scholar (see ``bot/licences.py``).
- Retraction: any source that says "retracted" wins; silence is not a clean bill of health.
- arXiv preprints (asked only for arXiv ids and ``10.48550/arxiv.…`` DOIs): arXiv's own record
  comes first for every bibliographic field but the authors — it is what the authors submitted,
  with the first version's full date where DataCite has only a year, and its LaTeX decoded —
  then DataCite, the registrar of the arXiv DOI, whose structured names (given/family, ORCIDs)
  come first for the authors. Both come before OpenAlex and Semantic Scholar, which copy them:
  Semantic Scholar's record of 10.48550/arxiv.2312.07559 has the author "Jakub L'ala" (arXiv's
  ``L\\'ala`` decoded wrongly) and DBLP's journal "ArXiv", volume "abs/2312.07559" and type
  JournalArticle. That DBLP entry is never a venue, volume or type (``_without_dblp``); a work
  whose DOI is an arXiv DOI is a preprint on arXiv whatever a lower source says
  (``_arxiv_preprint``), and its published version's DOI and journal reference come from arXiv.
- PMID and PMCID: NCBI's ID converter (the registry of both) > OpenAlex > Semantic Scholar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime

from bot.licences import arxiv_id_of_doi, choose_access
from bot.models import Author, SourceRecord, Update, Work
from bot.names import fold, is_cjk

# Fields whose text may carry styling (italic species, superscripts): see bot/richtext.py.
RICH_FIELDS = ("title", "abstract")
BIBLIOGRAPHIC = ("crossref", "arxiv", "datacite", "openalex", "unpaywall", "s2")
# Structured names (given/family, ORCIDs) before display strings split by a heuristic.
AUTHORS = ("crossref", "datacite", "arxiv", "openalex", "unpaywall", "s2")
# Sources that give identifiers only: they complete a card, they never make one.
ID_SOURCES = ("ncbi",)
SOURCES = (*BIBLIOGRAPHIC, *ID_SOURCES)
ARXIV_FIELDS = ("arxiv",)

PRECEDENCE: dict[str, tuple[str, ...]] = {
    "doi": BIBLIOGRAPHIC,
    "title": BIBLIOGRAPHIC,
    "authors": AUTHORS,
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
    "url": ("crossref", "arxiv", "datacite", "openalex", "s2"),
    "cited_by_count": ("openalex", "crossref", "s2", "datacite"),
    "abstract": ("crossref", "arxiv", "openalex", "s2", "datacite"),
    "tldr": ("s2",),
    "openalex_id": ("openalex",),
    "pmid": ("ncbi", "openalex", "s2"),
    "pmcid": ("ncbi", "openalex", "s2"),
    "arxiv": ("arxiv", "datacite", "s2"),
    "arxiv_version": ARXIV_FIELDS,
    "arxiv_category": ARXIV_FIELDS,
    "updated": ARXIV_FIELDS,
    "published_doi": ("arxiv", "crossref"),  # arXiv's <arxiv:doi>, Crossref is-preprint-of
    "preprints": ("crossref",),
    "journal_ref": ARXIV_FIELDS,
    "references_count": ("openalex", "crossref"),
    "referenced": ("openalex",),
    "related": ("openalex",),
}
# A generic type from a higher source gives way to a more specific one from a lower source
# (Crossref calls reviews "journal-article"; OpenAlex and S2 tell them apart).
GENERIC_TYPES = frozenset({"article", "other", None})
SPECIFIC_TYPES = frozenset({"review", "editorial", "letter", "erratum", "retraction"})
OA_STATUS_ORDER = ("unpaywall", "openalex", "s2")
# DBLP files arXiv preprints as a journal ("CoRR", shown by Semantic Scholar as "ArXiv") with
# the volume "abs/<id>"; Semantic Scholar copies it, with the type JournalArticle.
DBLP_ARXIV_VENUES = frozenset({"arxiv", "arxiv.org", "corr"})
SOURCE_LABELS = {
    "openalex": "OpenAlex",
    "crossref": "Crossref",
    "unpaywall": "Unpaywall",
    "s2": "Semantic Scholar",
    "datacite": "DataCite",
    "arxiv": "arXiv",
    "ncbi": "NCBI",
    "doi": "its arXiv DOI",
    "cache": "cache",
    "local": "generated locally",
    "import": "imported file",
    "retraction-watch": "Retraction Watch (via Crossref)",
    "publisher": "the publisher",
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


def _pick_date(
    records: Mapping[str, SourceRecord],
) -> tuple[int | None, str | None, str | None, str | None]:
    """(year, published, source, "source:field") from the first source with a year.

    A date whose year is not the record's year is dropped rather than mixed with it.
    """
    order = dict.fromkeys((*PRECEDENCE["year"], *PRECEDENCE["published"]))
    for source in order:
        record = records.get(source)
        if record is None:
            continue
        published = record.published
        year = record.year
        if year is None and published and published[:4].isdigit():
            year = int(published[:4])
        if not year:
            continue
        if published and not published.startswith(f"{year:04d}"):
            published = None
        field = f"{source}:{record.date_field}" if record.date_field else source
        return year, published or None, source, field
    return None, None, None, None


def _without_dblp(records: Mapping[str, SourceRecord]) -> Mapping[str, SourceRecord]:
    """``records`` with Semantic Scholar's copy of DBLP's arXiv entry taken out: its venue
    ("ArXiv"), its volume ("abs/2312.07559") and the type "Journal article" it implies."""
    s2 = records.get("s2")
    if s2 is None or (s2.venue or "").strip().casefold() not in DBLP_ARXIV_VENUES:
        return records
    volume = None if (s2.volume or "").strip().lower().startswith("abs/") else s2.volume
    kind = None if s2.type in GENERIC_TYPES else s2.type
    return {**records, "s2": replace(s2, venue=None, volume=volume, type=kind)}


def _arxiv_preprint(doi: object, values: dict[str, object], provenance: dict[str, str]) -> None:
    """A work whose DOI is an arXiv DOI (10.48550/arxiv.…) is that arXiv preprint: its type,
    venue and arXiv id follow from the DOI when arXiv and DataCite did not say them."""
    arxiv_id = arxiv_id_of_doi(doi if isinstance(doi, str) else None)
    if not arxiv_id:
        return
    if values.get("type") != "preprint":
        values["type"], provenance["type"] = "preprint", "doi"
    if provenance.get("venue") not in ("arxiv", "datacite") or not values.get("venue"):
        values["venue"], provenance["venue"] = "arXiv", "doi"
    if provenance.get("volume") not in ("arxiv", "datacite"):
        values.pop("volume", None)
        provenance.pop("volume", None)
    if not values.get("arxiv"):
        values["arxiv"], provenance["arxiv"] = arxiv_id, "doi"


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
    records = _without_dblp(records)
    values: dict[str, object] = {}
    provenance: dict[str, str] = {}
    for name in PRECEDENCE:
        if name in ("year", "published"):
            continue
        value, source = _pick(records, name)
        if source is not None:
            values[name] = value
            provenance[name] = source
    year, published, date_source, date_field = _pick_date(records)
    if date_source:
        values["year"], values["date_field"], provenance["year"] = year, date_field, date_source
        if published:
            values["published"], provenance["published"] = published, date_source

    if values.get("type") in GENERIC_TYPES:
        for source in BIBLIOGRAPHIC:
            record = records.get(source)
            if record and record.type in SPECIFIC_TYPES:
                values["type"], provenance["type"] = record.type, source
                break
    _arxiv_preprint(values.get("doi"), values, provenance)

    notes: list[str] = []
    if "authors" in values:
        values["authors"], name_notes = reconcile_authors(
            values["authors"], provenance["authors"], records
        )
        notes += name_notes

    updates = merge_updates(records)
    retracted_by = next(
        (s for s, r in records.items() if r.retracted or any(u.retracting for u in r.updates)),
        None,
    )
    notice = next((r.retraction_notice for r in records.values() if r.retraction_notice), None)
    notice = notice or next((u.notice for u in updates if u.retracting and u.notice), None)
    if retracted_by:
        provenance["retracted"] = retracted_by
    if updates:
        provenance["updates"] = ", ".join(dict.fromkeys(u.source for u in updates))

    doi = values.get("doi")
    locations = tuple(
        loc
        for source in (*OA_STATUS_ORDER, "arxiv", "datacite", "crossref", "openalex")
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

    # Rich text travels with the field it styles, from the source that gave the field.
    markup = {
        name: stored
        for name in RICH_FIELDS
        if (source := provenance.get(name)) in records
        and (stored := records[source].markup.get(name))
    }

    return Work(
        markup=markup,
        title=title,
        doi=doi,
        authors=values.pop("authors", ()),
        issn=tuple(values.pop("issn", ()) or ()),
        isbn=tuple(values.pop("isbn", ()) or ()),
        retracted=retracted_by is not None,
        retraction_notice=notice,
        updates=updates,
        access=access,
        locations=unique,
        provenance=provenance,
        sources=tuple(s for s in SOURCES if s in records),
        missing=tuple(sorted(failed)),
        fetched_at=fetched_at or datetime.now(UTC),
        notes=tuple(notes),
        **{k: v for k, v in values.items() if k != "doi"},
    )


def merge_updates(records: dict[str, SourceRecord]) -> tuple[Update, ...]:
    """Every source's notices, once each, oldest first. A notice with a DOI stands for the
    same event said without one (OpenAlex's bare "retracted" after Crossref's notice)."""
    found: dict[str, Update] = {}
    for source in ("crossref", "datacite", "arxiv", "openalex", "s2", "unpaywall", "ncbi"):
        for update in records[source].updates if source in records else ():
            found.setdefault(update.key, update)
    with_notice = {u.kind for u in found.values() if u.notice}
    kept = [u for u in found.values() if u.notice or u.kind not in with_notice]
    if any(u.retracting and u.notice for u in kept):  # OpenAlex's bare flag adds nothing then
        kept = [u for u in kept if u.notice or not u.retracting]
    return tuple(sorted(kept, key=lambda u: u.date or ""))
