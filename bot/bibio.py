"""Reading bibliography files users upload: BibTeX, RIS, or a plain list of identifiers.

Pure: bytes in, typed items and line-numbered problems out. A malformed entry is reported with
its line and skipped; the good ones are kept. Metadata from a .bib or .ris file becomes a
``Work`` whose fields are credited to the imported file (provenance ``import``); a bare list of
identifiers is looked up by the caller.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath

import bibtexparser
import bibtexparser.middlewares as mw
import rispy
from pylatexenc.latex2text import LatexNodes2Text

from bot.errors import LitError
from bot.identifiers import parse_identifier
from bot.models import Author, Identifier, IdKind, Work
from bot.sources._common import author_from_display, author_from_parts
from bot.text import clean_text

MAX_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 5000
EXTENSIONS = {".bib": "bibtex", ".bibtex": "bibtex", ".ris": "ris", ".txt": "ids", ".csv": "ids"}

BIBTEX_TYPES = {
    "article": "article",
    "book": "book",
    "inbook": "book-chapter",
    "incollection": "book-chapter",
    "inproceedings": "proceedings-article",
    "conference": "proceedings-article",
    "phdthesis": "dissertation",
    "mastersthesis": "dissertation",
    "thesis": "dissertation",
    "techreport": "report",
    "report": "report",
    "dataset": "dataset",
    "software": "software",
    "online": "other",
    "misc": "other",
    "unpublished": "preprint",
}
RIS_TYPES = {
    "JOUR": "article",
    "JFULL": "article",
    "EJOUR": "article",
    "BOOK": "book",
    "EBOOK": "book",
    "EDBOOK": "edited-book",
    "CHAP": "book-chapter",
    "ECHAP": "book-chapter",
    "CONF": "proceedings-article",
    "CPAPER": "proceedings-article",
    "THES": "dissertation",
    "RPRT": "report",
    "DATA": "dataset",
    "COMP": "software",
    "GEN": "other",
    "ELEC": "other",
}
MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip


class UnsupportedFile(LitError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class ImportItem:
    line: int  # 1-based line where the entry starts
    label: str  # what to call it in the report (key, DOI, title)
    work: Work | None = None  # metadata from the file
    identifier: Identifier | None = None  # to be looked up


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str


@dataclass
class Parsed:
    kind: str
    items: list[ImportItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def check_upload(filename: str, size: int) -> str:
    """The file's kind by extension; ``UnsupportedFile`` for other types or oversize files."""
    kind = EXTENSIONS.get(PurePath(filename).suffix.lower())
    if kind is None:
        raise UnsupportedFile(
            f"I can import .bib, .ris or .txt (one DOI, arXiv id, PMID or PMCID per line), "
            f"not “{filename[:80]}”."
        )
    if size > MAX_BYTES:
        raise UnsupportedFile(
            f"That file is {size / 1048576:.1f} MiB; imports are limited to 2 MiB. "
            "Split it into smaller files."
        )
    return kind


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_upload(filename: str, data: bytes) -> Parsed:
    kind = check_upload(filename, len(data))
    text = decode(data)
    parsed = {"bibtex": parse_bibtex, "ris": parse_ris, "ids": parse_identifiers}[kind](text)
    if len(parsed.items) + len(parsed.problems) > MAX_ENTRIES:
        raise UnsupportedFile(
            f"That file holds {len(parsed.items) + len(parsed.problems):,} entries; imports are "
            f"limited to {MAX_ENTRIES:,}. Split it into smaller files."
        )
    return parsed


# -- shared ------------------------------------------------------------------------------------


def _doi(value: str | None) -> str | None:
    if not value:
        return None
    try:
        ident = parse_identifier(value)
    except LitError:
        return None
    return ident.doi if ident.kind in (IdKind.DOI, IdKind.ARXIV) else None


def _year(value: str | None) -> int | None:
    match = re.search(r"\b(1[5-9]\d\d|20\d\d|21\d\d)\b", value or "")
    return int(match.group(1)) if match else None


def _work(values: dict[str, object]) -> Work:
    provenance = {k: "import" for k, v in values.items() if v not in (None, (), "")}
    return Work(
        **values,  # type: ignore[arg-type]
        provenance=provenance,
        sources=("import",),
        fetched_at=datetime.now(UTC),
    )


# -- BibTeX --------------------------------------------------------------------------------


class _LowercaseKeys(mw.BlockMiddleware):
    """``Author =`` and ``author =`` are the same field; later middlewares look for lower case."""

    def transform_entry(self, entry, *args, **kwargs):  # type: ignore[no-untyped-def]
        for f in entry.fields:
            f.key = f.key.lower()
        entry.entry_type = entry.entry_type.lower()
        return entry


_LATEX = LatexNodes2Text()


def _latex_text(parts: list[str]) -> str:
    return " ".join(_LATEX.latex_to_text(p) for p in parts).strip()


def _bib_names(value: object) -> tuple[Author, ...]:
    """Names split on the raw LaTeX (so ``{World Health Organization}`` stays one family name),
    then decoded."""
    out = []
    for part in value if isinstance(value, list) else []:
        if isinstance(part, mw.NameParts):
            family = _latex_text([*part.von, *part.last, *part.jr])
            given = _latex_text(part.first)
            out.append(author_from_parts(given or None, family or None))
    return tuple(a for a in out if a and a.name)


def parse_bibtex(text: str) -> Parsed:
    parsed = Parsed("bibtex")
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    library = bibtexparser.parse_string(
        text,
        append_middleware=[
            _LowercaseKeys(),
            mw.SeparateCoAuthors(),
            mw.SplitNameParts(),
            mw.LatexDecodingMiddleware(),  # leaves the split names alone: decoded above
        ],
    )
    for block in library.failed_blocks:
        first = (block.raw or "").strip().splitlines()[0][:60] if block.raw else ""
        reason = "duplicate key" if "Duplicate" in type(block).__name__ else "malformed entry"
        parsed.problems.append(Problem(block.start_line + 1, f"{reason}: {first}"))
    for entry in library.entries:
        fields = entry.fields_dict

        def get(name: str, fields=fields) -> str | None:
            f = fields.get(name)
            return clean_text(str(f.value)) if f is not None and f.value else None

        title = get("title")
        line = entry.start_line + 1
        if not title:
            parsed.problems.append(Problem(line, f"@{entry.entry_type}{{{entry.key}}}: no title"))
            continue
        authors_field = fields.get("author") or fields.get("editor")
        month = (get("month") or "").lower()[:3]
        year = _year(get("year") or get("date"))
        published = None
        if year and month in MONTHS:
            published = f"{year:04d}-{MONTHS[month]:02d}"
        elif year:
            published = str(year)
        work = _work(
            {
                "doi": _doi(get("doi")),
                "title": title,
                "authors": _bib_names(authors_field.value) if authors_field else (),
                "year": year,
                "published": published,
                "venue": get("journal") or get("journaltitle") or get("booktitle"),
                "type": BIBTEX_TYPES.get(entry.entry_type.lower(), "other"),
                "volume": get("volume"),
                "issue": get("number") or get("issue"),
                "pages": (get("pages") or "").replace("--", "–") or None,
                "publisher": get("publisher") or get("school") or get("institution"),
                "issn": tuple(filter(None, [get("issn")])),
                "isbn": tuple(filter(None, [get("isbn")])),
                "url": get("url"),
            }
        )
        parsed.items.append(ImportItem(line, entry.key, work=work))
    parsed.items.sort(key=lambda item: item.line)
    parsed.problems.sort(key=lambda p: p.line)
    return parsed


# -- RIS -----------------------------------------------------------------------------------

_RIS_TAG = re.compile(r"^([A-Z][A-Z0-9])  -( (.*))?$")


def _ris_records(text: str) -> list[tuple[int, list[str]]]:
    """Split at ``TY`` … ``ER`` so one bad record cannot take its neighbours down."""
    records: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.startswith("TY  -"):
            if current is not None:
                records.append((start, current))  # no ER: reported by the parser below
            current, start = [line], number
        elif current is not None:
            current.append(line)
            if line.startswith("ER  -"):
                records.append((start, current))
                current = None
        elif line.strip():
            records.append((number, [line]))  # text outside any record
    if current is not None:
        records.append((start, current))
    return records


def parse_ris(text: str) -> Parsed:
    parsed = Parsed("ris")
    for start, lines in _ris_records(text):
        if not lines[0].startswith("TY  -"):
            parsed.problems.append(Problem(start, f"not part of a record: {lines[0][:60]}"))
            continue
        if not lines[-1].startswith("ER  -"):
            parsed.problems.append(Problem(start, "record does not end with “ER  -”"))
            continue
        bad = next(
            (i for i, line in enumerate(lines) if line.strip() and not _RIS_TAG.match(line)),
            None,
        )
        if bad is not None and not lines[bad].startswith(" "):
            # RIS has no continuation lines; an untagged line is most often a wrapped abstract.
            parsed.problems.append(Problem(start + bad, f"not a RIS tag line: {lines[bad][:60]}"))
            continue
        try:
            (record,) = rispy.loads("\n".join(lines) + "\n")
        except Exception as exc:  # rispy raises plain Exceptions on bad input
            parsed.problems.append(Problem(start, f"malformed record ({exc})"))
            continue
        title = clean_text(record.get("title") or record.get("primary_title") or "")
        if not title:
            parsed.problems.append(Problem(start, "record has no title (TI)"))
            continue
        # RIS names are display strings, "Family, Given" by convention.
        names = record.get("authors") or record.get("first_authors") or []
        authors = tuple(a for a in map(author_from_display, names) if a)
        first, last = record.get("start_page"), record.get("end_page")
        pages = f"{first}–{last}" if first and last else first or None
        urls = record.get("urls") or []
        year = _year(record.get("year") or record.get("publication_year") or record.get("date"))
        work = _work(
            {
                "doi": _doi(record.get("doi")),
                "title": title,
                "authors": authors,
                "year": year,
                "published": str(year) if year else None,
                "venue": clean_text(
                    record.get("secondary_title")
                    or record.get("journal_name")
                    or record.get("alternate_title3")
                    or ""
                )
                or None,
                "type": RIS_TYPES.get(record.get("type_of_reference", ""), "other"),
                "volume": record.get("volume"),
                "issue": record.get("number"),
                "pages": pages,
                "publisher": record.get("publisher"),
                "issn": tuple(filter(None, [record.get("issn")])),
                "url": urls[0] if urls else record.get("url"),
            }
        )
        parsed.items.append(ImportItem(start, work.doi or title[:60], work=work))
    return parsed


# -- identifier lists --------------------------------------------------------------------


def parse_identifiers(text: str) -> Parsed:
    parsed = Parsed("ids")
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().strip(",;")
        if not line or line.startswith("#"):
            continue
        try:
            ident = parse_identifier(line)
        except LitError as error:
            parsed.problems.append(Problem(number, error.user_message))
            continue
        if ident.kind is IdKind.TITLE:
            parsed.problems.append(
                Problem(number, f"not a DOI, arXiv id, PMID or PMCID: {line[:60]}")
            )
            continue
        parsed.items.append(ImportItem(number, str(ident), identifier=ident))
    return parsed
