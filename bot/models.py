"""Typed models that cross module boundaries. Raw upstream JSON never leaves ``bot/sources``.

Everything here is a frozen dataclass; ``Work`` round-trips through ``to_dict``/``from_dict``
so that the cache and ``litbot paper --json`` share one serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bot.richtext import RichText


class IdKind(StrEnum):
    DOI = "doi"
    ARXIV = "arxiv"
    PMID = "pmid"
    PMCID = "pmcid"
    TITLE = "title"


ARXIV_DOI_PREFIX = "10.48550/arxiv."
# The version of what ``Work.to_dict`` writes; cached works of another version are refetched
# (2: titles and abstracts as rich text, placeholders dropped, years from publication dates).
WORK_SCHEMA = 3


@dataclass(frozen=True, slots=True)
class Identifier:
    """A parsed query.

    ``value`` is normalised per kind: a DOI lower-cased without prefix or URL; an arXiv id
    without ``arXiv:`` and without version (``2004.15011``, ``hep-th/9711200``); a PMID as
    digits; a PMCID as ``PMC`` + digits; a title as cleaned free text. ``version`` is the arXiv
    version number when one was given. ``raw`` keeps what the user typed, for messages.
    """

    kind: IdKind
    value: str
    raw: str = ""
    version: int | None = None

    @property
    def doi(self) -> str | None:
        """The DOI this identifier resolves to without a network call, if any."""
        if self.kind is IdKind.DOI:
            return self.value
        if self.kind is IdKind.ARXIV:
            return ARXIV_DOI_PREFIX + self.value.lower()
        return None

    @property
    def key(self) -> str:
        """Cache / single-flight key: equal for every spelling of the same identifier."""
        if self.kind is IdKind.TITLE:
            return "title:" + " ".join(self.value.casefold().split())
        return f"{self.kind.value}:{self.value.lower()}"

    def __str__(self) -> str:
        if self.kind is IdKind.DOI:
            return self.value
        if self.kind is IdKind.ARXIV:
            return f"arXiv:{self.value}" + (f"v{self.version}" if self.version else "")
        if self.kind is IdKind.PMID:
            return f"PMID {self.value}"
        if self.kind is IdKind.PMCID:
            return self.value
        return f"“{self.value}”"


@dataclass(frozen=True, slots=True)
class Author:
    """One author in publication order. Organisations have only ``name`` (family/given None)."""

    name: str
    family: str | None = None
    given: str | None = None
    orcid: str | None = None  # bare 0000-0000-0000-0000 form

    @property
    def is_organisation(self) -> bool:
        return self.family is None and self.given is None


class Version(StrEnum):
    PUBLISHED = "published"
    ACCEPTED = "accepted"
    SUBMITTED = "submitted"


@dataclass(frozen=True, slots=True)
class Location:
    """A place where the full text can be read, as one source reports it."""

    url: str
    source: str  # which upstream reported this location
    landing_page_url: str | None = None
    pdf_url: str | None = None
    licence: str | None = None  # normalised id: cc-by, cc-by-nc-nd, cc0, publisher-specific…
    licence_url: str | None = None
    version: Version | None = None
    host_type: str | None = None  # "publisher" | "repository"
    host_name: str | None = None  # e.g. "PubMed Central", "Molecular Cancer"
    is_oa: bool = True


@dataclass(frozen=True, slots=True)
class LicenceStatement:
    """A licence a publisher deposited (Crossref ``license[]``), reduced to what policy needs."""

    licence: str | None  # normalised id; None for TDM and unknown licences
    url: str
    content_version: str  # vor | am | tdm | stm-asf | unspecified
    start: str | None = None  # ISO date the licence applies from (after any embargo)


@dataclass(frozen=True, slots=True)
class Access:
    """The licence policy's decision for a work (see ``bot/licences.py``)."""

    status: str  # gold | green | hybrid | bronze | diamond | closed
    licence: str | None  # normalised licence id of the chosen copy, None when none is stated
    url: str | None  # best legal open copy; None when nothing open is known
    version: str | None  # published | accepted | submitted
    source: str | None  # which upstream the decision rests on
    host_type: str | None = None
    host_name: str | None = None
    reason: str = ""  # one sentence a user can read
    read_at: str | None = None  # the DOI landing page ("read at source")


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """What one upstream says about a work; every field optional. Built only in bot/sources."""

    source: str
    doi: str | None = None
    title: str | None = None
    authors: tuple[Author, ...] | None = None
    year: int | None = None
    published: str | None = None  # ISO date, possibly partial (YYYY or YYYY-MM)
    # The field of this source's record that gave year and published ("issued",
    # "published-print", "dates.Issued", "publication_date"…); never a deposit or index date.
    date_field: str | None = None
    venue: str | None = None
    type: str | None = None  # normalised vocabulary, see bot/merge.py WORK_TYPES
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    publisher: str | None = None
    issn: tuple[str, ...] | None = None
    isbn: tuple[str, ...] | None = None
    language: str | None = None
    url: str | None = None
    cited_by_count: int | None = None
    abstract: str | None = None
    tldr: str | None = None
    retracted: bool | None = None
    retraction_notice: str | None = None  # DOI of the retraction notice when known
    oa_status: str | None = None
    locations: tuple[Location, ...] = ()
    best_location: Location | None = None
    licences: tuple[LicenceStatement, ...] = ()
    openalex_id: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    arxiv: str | None = None
    arxiv_version: int | None = None  # the latest version's number (the id's vN)
    arxiv_category: str | None = None  # the primary category, e.g. cs.DL
    updated: str | None = None  # ISO date of the latest version (preprints)
    published_doi: str | None = None  # a preprint's published version (arXiv's <arxiv:doi>)
    journal_ref: str | None = None  # where the authors say it was published
    preprints: tuple[str, ...] = ()  # DOIs of this work's preprints (Crossref has-preprint)
    updates: tuple[Update, ...] = ()  # retractions, corrections … (see Update)
    references_count: int | None = None
    referenced: tuple[str, ...] = ()  # OpenAlex ids (W…) of the works it cites
    related: tuple[str, ...] = ()  # OpenAlex ids of related works
    # The rich text of styled fields (title, abstract) in RichText's stored form; the plain
    # field above is its ``linear()`` rendering. Absent when the source's text has no styling.
    markup: dict[str, str] = field(default_factory=dict)


# What a notice can say about a work (Crossref's update types, apis.md §2.4, and the same
# events from OpenAlex and arXiv), with the words litbot shows. A retraction-like update means
# the work should not be cited.
UPDATE_KINDS = {
    "retraction": "Retraction",
    "partial_retraction": "Partial retraction",
    "withdrawal": "Withdrawal",
    "removal": "Removal",
    "expression_of_concern": "Expression of concern",
    "correction": "Correction",
    "erratum": "Erratum",
    "corrigendum": "Corrigendum",
    "addendum": "Addendum",
    "clarification": "Clarification",
}
RETRACTING = frozenset({"retraction", "partial_retraction", "withdrawal", "removal"})


@dataclass(frozen=True, slots=True)
class Update:
    """One notice about a work: what happened, its DOI and date, and who says so."""

    kind: str  # a key of UPDATE_KINDS
    notice: str | None = None  # the notice's DOI
    date: str | None = None  # ISO date (YYYY, YYYY-MM or YYYY-MM-DD)
    source: str = ""  # "crossref", "retraction-watch" (via Crossref), "openalex", "arxiv"
    label: str | None = None  # the publisher's own label ("Retraction Note")

    @property
    def retracting(self) -> bool:
        return self.kind in RETRACTING

    @property
    def words(self) -> str:
        return UPDATE_KINDS.get(self.kind, self.kind.replace("_", " ").capitalize())

    @property
    def key(self) -> str:
        """Identifies the event across sources and fetches (alerts are sent once per key)."""
        return f"{self.kind}:{(self.notice or '').lower()}"


@dataclass(frozen=True, slots=True)
class Work:
    """The merged, card-ready work; ``provenance`` maps each field to the source that gave it."""

    doi: str | None
    title: str
    authors: tuple[Author, ...] = ()
    year: int | None = None
    published: str | None = None
    # "crossref:published-print": the source and field that gave year and published (both come
    # from the same record, see bot/merge.py); provenance["year"] names the source alone.
    date_field: str | None = None
    venue: str | None = None
    type: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    publisher: str | None = None
    issn: tuple[str, ...] = ()
    isbn: tuple[str, ...] = ()
    language: str | None = None
    url: str | None = None
    cited_by_count: int | None = None
    abstract: str | None = None
    tldr: str | None = None
    retracted: bool = False
    retraction_notice: str | None = None
    access: Access = field(
        default_factory=lambda: Access("closed", None, None, None, None, reason="")
    )
    locations: tuple[Location, ...] = ()
    openalex_id: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    arxiv: str | None = None
    arxiv_version: int | None = None
    arxiv_category: str | None = None
    updated: str | None = None
    published_doi: str | None = None  # shown as "Published as doi:…"
    journal_ref: str | None = None
    preprints: tuple[str, ...] = ()  # DOIs of its preprints
    updates: tuple[Update, ...] = ()  # notices about it, oldest first
    references_count: int | None = None
    referenced: tuple[str, ...] = ()  # OpenAlex ids of the works it cites
    related: tuple[str, ...] = ()  # OpenAlex ids of related works
    provenance: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # sources that contributed
    missing: tuple[str, ...] = ()  # sources that failed (not: that did not know the work)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    stale: bool = False  # served from an expired cache entry because every source failed
    notes: tuple[str, ...] = ()
    markup: dict[str, str] = field(default_factory=dict)  # see SourceRecord.markup

    @property
    def doi_url(self) -> str | None:
        return f"https://doi.org/{self.doi}" if self.doi else None

    def rich(self, name: str) -> RichText:
        """The field ``name`` (title, abstract) as rich text, for renderers that keep styling.

        Falls back to the plain value when there is no markup or when the markup no longer
        renders to the value (a field replaced after the merge)."""
        value = getattr(self, name) or ""
        stored = self.markup.get(name)
        if stored:
            rich = RichText.from_markup(stored)
            if rich.linear() == value:
                return rich
        return RichText.of(value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the cache format and ``litbot paper --json``).

        Built field by field (what ``dataclasses.asdict`` gives, without its deep copy of
        every value: this runs for every cache write and saved entry)."""
        data = {name: getattr(self, name) for name in _WORK_FIELDS}
        data["schema"] = WORK_SCHEMA
        data["fetched_at"] = self.fetched_at.isoformat()
        data["authors"] = [
            {"given": a.given, "family": a.family, "name": a.name, "orcid": a.orcid}
            for a in self.authors
        ]
        data["access"] = {name: getattr(self.access, name) for name in _ACCESS_FIELDS}
        data["locations"] = [
            {
                **{name: getattr(loc, name) for name in _LOCATION_FIELDS},
                "version": loc.version.value if loc.version else None,
            }
            for loc in self.locations
        ]
        for key in ("issn", "isbn", "sources", "missing", "notes", "referenced", "related"):
            data[key] = list(data[key])
        data["preprints"] = list(self.preprints)
        data["updates"] = [
            {name: getattr(u, name) for name in _UPDATE_FIELDS} for u in self.updates
        ]
        data["provenance"] = dict(self.provenance)
        data["markup"] = dict(self.markup)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Work:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["authors"] = tuple(Author(**a) for a in data.get("authors", ()))
        values["access"] = (
            Access(**data["access"])
            if data.get("access")
            else Access("closed", None, None, None, None)
        )
        values["locations"] = tuple(
            Location(**{**loc, "version": Version(loc["version"]) if loc.get("version") else None})
            for loc in data.get("locations", ())
        )
        for key in ("issn", "isbn", "sources", "missing", "notes", "referenced", "related"):
            values[key] = tuple(data.get(key) or ())
        values["preprints"] = tuple(data.get("preprints") or ())
        values["updates"] = tuple(Update(**u) for u in data.get("updates") or ())
        values["provenance"] = dict(data.get("provenance") or {})
        values["markup"] = {
            str(k): str(v) for k, v in (data.get("markup") or {}).items() if isinstance(v, str)
        }
        values["fetched_at"] = datetime.fromisoformat(data["fetched_at"])
        return cls(**values)


# The work-type vocabulary every source maps into (close to OpenAlex's, with Crossref's
# proceedings and report kinds), with the label the card shows.
WORK_TYPES = {
    "article": "Journal article",
    "review": "Review article",
    "preprint": "Preprint",
    "book": "Book",
    "edited-book": "Edited book",
    "book-chapter": "Book chapter",
    "proceedings-article": "Conference paper",
    "dataset": "Dataset",
    "software": "Software",
    "dissertation": "Thesis",
    "report": "Report",
    "peer-review": "Peer review",
    "editorial": "Editorial",
    "letter": "Letter",
    "erratum": "Correction",
    "retraction": "Retraction notice",
    "standard": "Standard",
    "component": "Component",
    "other": "Other",
}


# Field names in declaration order, for ``Work.to_dict`` (the order ``asdict`` gives).
_WORK_FIELDS = tuple(f.name for f in fields(Work))
_ACCESS_FIELDS = tuple(f.name for f in fields(Access))
_LOCATION_FIELDS = tuple(f.name for f in fields(Location))
_UPDATE_FIELDS = tuple(f.name for f in fields(Update))
