"""Reading bibliography files users upload: BibTeX, RIS, or a plain list of identifiers.

Pure: bytes in, typed items and line-numbered problems out. A malformed entry is reported with
its line and skipped; the good ones are kept. Metadata from a .bib or .ris file becomes a
``Work`` whose fields are credited to the imported file (provenance ``import``); a bare list of
identifiers is looked up by the caller.

The work is bounded whatever the file holds. LaTeX decoding (pylatexenc) costs 10-30 µs per
character, so only the fields an import keeps are decoded, a field without LaTeX markup skips
pylatexenc (``LatexDecoder``), one over ``MAX_FIELD_CHARS`` refuses its entry, and one file
decodes at most ``LATEX_BUDGET`` characters; ``@string`` abbreviations, which one short line
can repeat thousands of times, may expand the kept fields to ``MAX_EXPANDED_CHARS`` in all.
An entry past a limit is reported with its line, like a malformed one.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath

import bibtexparser
import bibtexparser.middlewares as mw
import rispy
from bibtexparser.model import Entry, MiddlewareErrorBlock, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from bot.errors import LitError
from bot.identifiers import parse_identifier
from bot.models import Author, Identifier, IdKind, Work
from bot.names import fold
from bot.sources._common import as_str, author_from_display, author_from_parts
from bot.text import clean_text

MAX_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_FIELD_CHARS = 64 * 1024  # a kept field longer than this is not a title, name or venue
LATEX_BUDGET = 512 * 1024  # characters per file through pylatexenc: about 5-15 s of CPU
MAX_EXPANDED_CHARS = MAX_BYTES  # kept fields in all, once @string references are expanded
# The BibTeX fields parse_bibtex reads; the others (abstract, file, note…) are never decoded.
BIBTEX_FIELDS = frozenset(
    {
        "author", "editor", "title", "year", "date", "month", "doi", "journal", "journaltitle",
        "booktitle", "volume", "number", "issue", "pages", "publisher", "school",
        "institution", "issn", "isbn", "url",
    }
)  # fmt: skip
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
    key: str | None = None  # a .bib entry's own key, which its export keeps


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
    for name, value in values.items():
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            raise Refused(
                f"its {name} is {_size(len(value))}; fields are limited to {_size(MAX_FIELD_CHARS)}"
            )
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


# What pylatexenc changes in text (found by trying every printable character and pair against
# both decoders below; tests/test_bibio.py checks it property-based): markup characters, and
# the ligatures -- `` '' !` ?`. Text without any of them comes back unchanged; text whose only
# markup is braces comes back without its braces.
_LATEX_MARKUP = re.compile(r"[\\$%&~]|--|``|''|[!?]`")
_BRACES = str.maketrans("", "", "{}")


def _fields_decoder() -> LatexNodes2Text:
    """The decoder of bibtexparser's ``LatexDecodingMiddleware``: math kept, ``\\url{x}`` as x."""
    context = get_default_latex_context_db()
    context.add_context_category(
        "litbot-fields", prepend=True, macros=[MacroTextSpec("url", simplify_repl="%s")]
    )
    return LatexNodes2Text(latex_context=context, keep_braced_groups=False, math_mode="verbatim")


_FIELDS_LATEX = _fields_decoder()
_NAMES_LATEX = LatexNodes2Text()


class Refused(Exception):
    """Why one entry is not imported (a limit of this module); the message names the limit."""


def _size(chars: int) -> str:
    return f"{chars / 1048576:.1f} MiB" if chars >= 1048576 else f"{-(-chars // 1024)} KiB"


class LatexDecoder:
    """pylatexenc where it can change something, within one file's budget of characters.

    Decoded values are remembered, so a journal (or an ``@string``) repeated in every entry is
    decoded, and counted, once.
    """

    def __init__(self, budget: int = LATEX_BUDGET) -> None:
        self.left = budget
        self.calls = 0  # how often pylatexenc ran (tests and bench/imports.py read it)
        self._seen: dict[tuple[int, str], str] = {}

    def decode(self, text: str, *, names: bool = False) -> str:
        """``text`` as plain text; ``Refused`` once the file's budget is spent."""
        if not _LATEX_MARKUP.search(text):
            return text.translate(_BRACES) if "{" in text or "}" in text else text
        key = (names, text)
        if key in self._seen:
            return self._seen[key]
        if len(text) > self.left:
            raise Refused(
                f"this file holds more LaTeX than one import decodes ({_size(LATEX_BUDGET)}); "
                "import the entries from here on in a second file"
            )
        self.left -= len(text)
        self.calls += 1
        decoded = (_NAMES_LATEX if names else _FIELDS_LATEX).latex_to_text(text)
        self._seen[key] = decoded
        return decoded


class _BoundFields(mw.BlockMiddleware):
    """Before any other work on an entry: refuse one whose kept fields are too long, alone or,
    with ``@string`` references expanded, together with the file's earlier entries."""

    def __init__(self) -> None:
        super().__init__(allow_parallel_execution=False)
        self.total = 0

    def transform_entry(self, entry, *args, **kwargs):  # type: ignore[no-untyped-def]
        size = 0
        for f in entry.fields:
            if f.key not in BIBTEX_FIELDS or not isinstance(f.value, str):
                continue
            if len(f.value) > MAX_FIELD_CHARS:
                return MiddlewareErrorBlock(
                    entry,
                    Refused(
                        f"its {f.key} field is {_size(len(f.value))}; fields are limited to "
                        f"{_size(MAX_FIELD_CHARS)}"
                    ),
                )
            size += len(f.value)
        self.total += size
        if self.total > MAX_EXPANDED_CHARS:
            return MiddlewareErrorBlock(
                entry,
                Refused(
                    f"with its @string abbreviations expanded, this file's fields pass "
                    f"{_size(MAX_EXPANDED_CHARS)}; import the entries from here on in a second file"
                ),
            )
        return entry


class _DecodeFields(mw.BlockMiddleware):
    """LaTeX to text in the kept fields, names after splitting them on the raw LaTeX (so
    ``{World Health Organization}`` stays one family name); one entry after the other, so the
    budget, once spent, refuses the file's later entries rather than parts of all of them."""

    def __init__(self, latex: LatexDecoder) -> None:
        super().__init__(allow_parallel_execution=False)
        self.latex = latex

    def _names(self, parts: list[str]) -> list[str]:
        return [self.latex.decode(p, names=True) for p in parts]

    def transform_entry(self, entry, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            for f in entry.fields:
                if f.key not in BIBTEX_FIELDS:
                    continue
                if isinstance(f.value, str):
                    enclosing = f.enclosing  # the value setter resets it
                    f.value = self.latex.decode(f.value)
                    f.enclosing = enclosing
                elif isinstance(f.value, list):
                    for name in f.value:
                        if isinstance(name, mw.NameParts):
                            name.first, name.von = self._names(name.first), self._names(name.von)
                            name.last, name.jr = self._names(name.last), self._names(name.jr)
        except Refused as refused:
            return MiddlewareErrorBlock(entry, refused)
        except Exception as error:  # pylatexenc is tolerant; anything else is this entry's
            return MiddlewareErrorBlock(entry, Refused(f"unreadable LaTeX ({error})"))
        return entry


def _bib_names(value: object) -> tuple[Author, ...]:
    """Authors from the split and decoded names (``_DecodeFields``)."""
    out = []
    for part in value if isinstance(value, list) else []:
        if isinstance(part, mw.NameParts):
            family = " ".join([*part.von, *part.last, *part.jr]).strip()
            given = " ".join(part.first).strip()
            out.append(author_from_parts(given or None, family or None))
    return tuple(a for a in out if a and a.name)


def _failure(block: ParsingFailedBlock) -> str:
    entry = block.ignore_error_block
    if isinstance(block.error, Refused) and isinstance(entry, Entry):
        return f"@{entry.entry_type}{{{entry.key[:60]}}}: not imported: {block.error}"
    first = (block.raw or "").strip().splitlines()[0][:60] if block.raw else ""
    reason = "duplicate key" if "Duplicate" in type(block).__name__ else "malformed entry"
    return f"{reason}: {first}"


def parse_bibtex(text: str, latex: LatexDecoder | None = None) -> Parsed:
    parsed = Parsed("bibtex")
    latex = latex or LatexDecoder()
    logging.getLogger("bibtexparser").setLevel(logging.ERROR)
    library = bibtexparser.parse_string(
        text,
        parse_stack=[
            mw.ResolveStringReferencesMiddleware(),
            _LowercaseKeys(),
            _BoundFields(),  # before any per-character work on @string-expanded values
            mw.RemoveEnclosingMiddleware(),
            mw.SeparateCoAuthors(),
            mw.SplitNameParts(),
            _DecodeFields(latex),
        ],
    )
    for block in library.failed_blocks:
        parsed.problems.append(Problem(block.start_line + 1, _failure(block)))
    for entry in library.entries:
        fields = entry.fields_dict

        def get(name: str, fields=fields) -> str | None:
            """The field's text; a placeholder (``volume = {null}``, ``{n/a}``) is no value."""
            f = fields.get(name)
            return as_str(f.value) if f is not None and isinstance(f.value, str) else None

        title = get("title")
        line = entry.start_line + 1
        if not title:
            parsed.problems.append(Problem(line, f"@{entry.entry_type}{{{entry.key}}}: no title"))
            continue
        month = (get("month") or "").lower()[:3]
        year = _year(get("year") or get("date"))
        published = None
        if year and month in MONTHS:
            published = f"{year:04d}-{MONTHS[month]:02d}"
        elif year:
            published = str(year)
        authors_field = fields.get("author") or fields.get("editor")
        try:
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
                    **_other_ids(get),
                }
            )
        except Refused as refused:
            problem = f"@{entry.entry_type}{{{entry.key[:60]}}}: not imported: {refused}"
            parsed.problems.append(Problem(line, problem))
            continue
        parsed.items.append(ImportItem(line, entry.key, work=work, key=entry.key))
    parsed.items.sort(key=lambda item: item.line)
    parsed.problems.sort(key=lambda p: p.line)
    return parsed


def _other_ids(get: Callable[[str], str | None]) -> dict[str, str]:
    """A .bib entry's arXiv id (``eprint`` with ``archiveprefix``/``eprinttype`` arXiv, as
    arXiv's own BibTeX and biblatex write it), PMID and PMCID, normalised: what tells that it
    is the same work as a saved one without a DOI in common (``bot.storage.duplicates``)."""
    out: dict[str, str] = {}
    kinds = {"arxiv": IdKind.ARXIV, "pmid": IdKind.PMID, "pmcid": IdKind.PMCID}
    prefix = (get("archiveprefix") or get("eprinttype") or "").strip().lower()
    wanted = [("arxiv", get("eprint"))] if prefix == "arxiv" else []
    wanted += [("pmid", get("pmid")), ("pmcid", get("pmcid"))]
    for name, value in wanted:
        if not value:
            continue
        try:
            ident = parse_identifier(f"{name}:{value.strip()}")
        except LitError:
            continue  # not an identifier of that kind: the entry is imported without it
        if ident.kind is kinds[name]:
            out[name] = ident.value
    return out


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
        # a placeholder ("VL  - null", "SP  - n/a") is no value, as from any source
        first, last = as_str(record.get("start_page")), as_str(record.get("end_page"))
        pages = f"{first}–{last}" if first and last else first or None
        urls = record.get("urls") or []
        year = _year(record.get("year") or record.get("publication_year") or record.get("date"))
        values = {
            "doi": _doi(record.get("doi")),
            "title": title,
            "authors": authors,
            "year": year,
            "published": str(year) if year else None,
            "venue": as_str(record.get("secondary_title"))
            or as_str(record.get("journal_name"))
            or as_str(record.get("alternate_title3")),
            "type": RIS_TYPES.get(record.get("type_of_reference", ""), "other"),
            "volume": as_str(record.get("volume")),
            "issue": as_str(record.get("number")),
            "pages": pages,
            "publisher": as_str(record.get("publisher")),
            "issn": tuple(filter(None, [as_str(record.get("issn"))])),
            "url": urls[0] if urls else record.get("url"),
        }
        try:
            work = _work(values)
        except Refused as refused:
            parsed.problems.append(Problem(start, f"{title[:60]}: not imported: {refused}"))
            continue
        parsed.items.append(ImportItem(start, work.doi or title[:60], work=work))
    return parsed


# -- DOI checks ---------------------------------------------------------------------------

# How alike two folded titles must be (difflib ratio) to be one work's: spelling, punctuation
# and LaTeX leftovers differ between a .bib and the registry's record; another paper's title
# shares a few words at most.
TITLE_LIKENESS = 0.8


def _folded_title(work: Work) -> str:
    return fold(work.rich("title").plain())  # "CO₂" and "CO2", "Müller" and "Muller" alike


def _titles_agree(mine: Work, found: Work) -> bool:
    a, b = _folded_title(mine), _folded_title(found)
    if not a or not b or a == b or a.startswith(b) or b.startswith(a):  # a dropped subtitle
        return True
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= TITLE_LIKENESS


def _authors_agree(mine: Work, found: Work) -> bool:
    if not mine.authors or not found.authors:
        return True
    a, b = (fold(w.authors[0].family or w.authors[0].name) for w in (mine, found))
    if not a or not b or set(a.split()) & set(b.split()):  # "García Márquez" and "Márquez"
        return True
    a, b = a.replace(" ", ""), b.replace(" ", "")
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= TITLE_LIKENESS


def doi_disagreement(mine: Work, found: Work) -> str | None:
    """Why the record ``found`` for ``mine``'s DOI looks like another work (its title or first
    author differs from the file's, compared folded), or ``None`` when they agree."""
    differs = [
        what
        for what, agree in (("title", _titles_agree), ("first author", _authors_agree))
        if not agree(mine, found)
    ]
    if not differs:
        return None
    first = found.authors[0] if found.authors else None
    by = (first.family or first.name) if first else None
    named = f"“{found.title[:80]}”" + (f" by {by}" if by else "")
    return (
        f"its DOI {mine.doi} is {named}: not this entry's {' or '.join(differs)}. "
        "Check the DOI (the entry was imported as the file has it)."
    )


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
