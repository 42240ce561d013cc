"""BibTeX and RIS exports, and BibTeX keys (pure).

BibTeX is written for people who keep the file: keys they chose are kept (``cite_keys``), new
keys are ``familyYEARfirstword`` transliterated to ASCII (anyascii: ``Łukasiewicz`` →
``lukasiewicz``), every field is LaTeX-escaped with pylatexenc, page ranges use ``--``
whatever dash the record held, and titles brace-protect what a style's sentence-casing must
not lower-case, read from the rich text rather than guessed (``_bibtex_title``). RIS (rispy)
carries plain Unicode. Placeholder values ("null", "n/a") are never written.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import bibtexparser
import rispy
from anyascii import anyascii
from bibtexparser.model import Entry, Field
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexencode import UnicodeToLatexEncoder

from bot.models import Author, Work
from bot.placeholders import without_placeholders

# Work.type → BibTeX entry type (biblatex-compatible names where BibTeX has none).
BIBTEX_TYPES = {
    "article": "article",
    "review": "article",
    "editorial": "article",
    "letter": "article",
    "erratum": "article",
    "retraction": "article",
    "preprint": "misc",
    "book": "book",
    "edited-book": "book",
    "book-chapter": "incollection",
    "proceedings-article": "inproceedings",
    "dataset": "misc",
    "software": "misc",
    "dissertation": "phdthesis",
    "report": "techreport",
    "peer-review": "misc",
    "standard": "misc",
    "component": "misc",
    "other": "misc",
}
# Work.type → RIS TY tag.
RIS_TYPES = {
    "article": "JOUR",
    "review": "JOUR",
    "editorial": "JOUR",
    "letter": "JOUR",
    "erratum": "JOUR",
    "retraction": "JOUR",
    "preprint": "JOUR",  # RIS has no preprint type; Zotero and Crossref export JOUR too
    "book": "BOOK",
    "edited-book": "EDBOOK",
    "book-chapter": "CHAP",
    "proceedings-article": "CPAPER",
    "dataset": "DATA",
    "software": "COMP",
    "dissertation": "THES",
    "report": "RPRT",
    "peer-review": "GEN",
    "standard": "STAND",
    "component": "GEN",
    "other": "GEN",
}
# Words skipped when choosing the BibTeX key's title word.
STOP_WORDS = frozenset(
    "a an the on of in and or for to at by with from as is are into onto via".split()
)
# A key as a user's .bib may hold it that BibTeX, biber and bibtexparser all read back: no
# spaces, nothing that ends a key or starts a field. Other keys are replaced by new ones.
USER_KEY = re.compile(r"[^\s,{}()=#%\"'\\~]{1,100}")
# Any run of dashes in a page range ("10-20", "10–20", "10 — 20").
_DASHES = re.compile(r"\s*[-‐‑‒–—―−]+\s*")


# ---------------------------------------------------------------------------------------------
# Keys


def ascii_fold(text: str | None) -> str:
    """Text transliterated to ASCII: "Łukasiewicz" → "Lukasiewicz", "Ørsted" → "Orsted",
    "Ковалёв" → "Kovalev" (anyascii: every letter has an ASCII form, none is dropped)."""
    return anyascii(unicodedata.normalize("NFC", text)) if text else ""


def _key_word(title: str) -> str:
    for word in re.split(r"[\s\-–—/:]+", title):
        folded = re.sub(r"[^a-z0-9]", "", ascii_fold(word).lower())
        if folded and folded not in STOP_WORDS:
            return folded
    return ""


def key_name(author: Author | None) -> str:
    """The first author's family name, transliterated and folded; an organisation's first
    significant word; "" without one."""
    if author is None:
        return ""
    if author.is_organisation:
        words = [re.sub(r"[^a-z]", "", ascii_fold(w).lower()) for w in author.name.split()]
        return next((w for w in words if w and w not in STOP_WORDS), "")
    return re.sub(r"[^a-z]", "", ascii_fold(author.family or author.name).lower())


def key_base(work: Work) -> str:
    """``familyYEARfirstword`` before any suffix: ``zhou2023nk``; ``anon`` without a name."""
    first = work.authors[0] if work.authors else None
    title = work.rich("title").plain()  # "CO₂" is "CO2" in a key
    return f"{key_name(first) or 'anon'}{work.year or ''}{_key_word(title)}"


def _suffix(n: int) -> str:
    """0 → a, 25 → z, 26 → aa."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def unique_key(base: str, taken: set[str]) -> str:
    """``base``, or the first of ``basea``, ``baseb``, … not in ``taken``; the key is added to
    ``taken``. Keys compare without case (BibTeX warns about, biber splits, "Zhou" and "zhou"),
    so ``taken`` holds casefolded keys."""
    key, n = base, 0
    while key.casefold() in taken:
        key = base + _suffix(n)
        n += 1
    taken.add(key.casefold())
    return key


def user_key(key: str | None) -> str | None:
    """``key`` when it can be written back as it is (``USER_KEY``), else ``None``."""
    return key if key and USER_KEY.fullmatch(key) else None


def bibtex_key(work: Work, taken: set[str]) -> str:
    """``familyYEARfirstword``, transliterated to ASCII and lower-case, unique against ``taken``.

    The seed paper gives ``zhou2023nk``. When a key is taken, the work gets the next free one
    of ``zhou2023nka``, ``zhou2023nkb``, … — the first work keeps the bare key, so keys already
    cited in a manuscript stay valid when works are added to the export. The key is added to
    ``taken``. Names without letters (or no authors) give ``anon``.
    """
    return unique_key(key_base(work), taken)


def claim_keys(preferred: Sequence[str | None]) -> tuple[list[str | None], set[str]]:
    """The first pass of ``cite_keys``: each usable key of ``preferred`` that no earlier one
    claimed (``None`` elsewhere), and the casefolded keys so taken."""
    taken: set[str] = set()
    keys: list[str | None] = [None] * len(preferred)
    for i, key in enumerate(user_key(k) for k in preferred):
        if key and key.casefold() not in taken:
            taken.add(key.casefold())
            keys[i] = key
    return keys, taken


def cite_keys(works: Sequence[Work], preferred: Sequence[str | None] | None = None) -> list[str]:
    """One key per work, unique within the list: ``preferred[i]`` (a key the user chose, or one
    stored earlier) where it is usable and free, else a new key; a preferred key that another
    work claimed first keeps its stem with ``a``, ``b``… (``smith2020`` → ``smith2020a``).

    A streamed export runs the same two passes itself (``claim_keys``, then ``unique_key`` in
    order), decoding only the works whose key it has to make."""
    wanted = [user_key(k) for k in preferred] if preferred else [None] * len(works)
    keys, taken = claim_keys(wanted)
    for i, work in enumerate(works):
        if keys[i] is None:
            keys[i] = unique_key(wanted[i] or key_base(work), taken)
    return [k for k in keys if k is not None]


# ---------------------------------------------------------------------------------------------
# BibTeX

_LATEX = UnicodeToLatexEncoder(
    non_ascii_only=True,
    replacement_latex_protection="braces-all",  # {\"u}: one letter for BibTeX
    unknown_char_policy="keep",  # CJK and the like stay UTF-8 (biber and modern BibTeX read it)
    unknown_char_warning=False,
)
_LATEX_SPECIAL = re.compile(r"[\\{}&%$#_~^]")
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    **{ch: "\\" + ch for ch in "{}&%$#_"},
}
# Typographic punctuation as LaTeX writes it, which keeps the .bib readable.
_LATEX_PUNCTUATION = str.maketrans(
    {
        "–": "--",
        "—": "---",
        "‘": "`",
        "’": "'",
        "“": "``",
        "”": "''",
        "‐": "-",  # hyphen
        "‑": "-",  # non-breaking hyphen
        "‒": "-",  # figure dash
        "−": r"{\ensuremath{-}}",  # minus sign
    }
)
_WORD = re.compile(r"([^\W_]+)")
_DECODE = LatexNodes2Text()


@functools.lru_cache(maxsize=4096)
def _latex_char(ch: str) -> str:
    """pylatexenc's LaTeX for one non-ASCII character when that LaTeX reads back as the same
    character; the character itself (UTF-8, which biber and modern BibTeX read) otherwise.

    pylatexenc's table has wrong entries: ``ŉ`` becomes an undefined ``\\nument{149}``, ``Ű``
    ``\\'{U}`` (Ú), ``Ħ`` ``\\={H}`` (H̄), ``ɛ`` the math-only ``\\varepsilon``, Greek capitals
    Latin letters. Reading each back (pylatexenc's decoder, per character, cached) finds them.
    """
    latex = _LATEX.unicode_to_latex(ch)
    if latex != ch and unicodedata.normalize("NFC", _DECODE.latex_to_text(latex)) != ch:
        return ch
    return latex


def _latex(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _LATEX_SPECIAL.sub(lambda m: _LATEX_SPECIALS[m.group(0)], text)
    text = text.translate(_LATEX_PUNCTUATION)
    return text if text.isascii() else "".join(map(_latex_char, text))


def _keeps_case(word: str) -> bool:
    """Whether a style's sentence-casing must leave ``word`` alone: a capital after its first
    character (NK, mRNA, McDonald, COVID, 3D), or a capital letter that is a word of its own
    (T cells, M-matrices, L¹, vitamin A)."""
    if any(ch.isupper() for ch in word[1:]):
        return True
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) == 1 and letters[0].isupper()


def _latex_title(title: str, *, start: bool = False) -> str:
    """Escaped, with braces around the words whose case must survive sentence-casing. With
    ``start`` (the text opens the title) a first word of one letter stays bare: "A study", as
    sentence-casing keeps a title's first letter anyway."""
    parts = _WORD.split(unicodedata.normalize("NFC", title))
    for i in range(1, len(parts), 2):  # the words
        word = parts[i]
        bare = start and i == 1 and not parts[0].strip() and len(word) == 1
        parts[i] = "{" + _latex(word) + "}" if _keeps_case(word) and not bare else _latex(word)
    for i in range(0, len(parts), 2):
        parts[i] = _latex(parts[i])
    return "".join(parts)


def _all_capitals(text: str) -> bool:
    """An old record's title in capitals throughout ("THE EFFECT OF …"): its capitals carry no
    meaning, so it is not braced word by word (a style may then sentence-case it)."""
    return not any(ch.islower() for ch in text) and len(re.findall(r"[^\W\d_]{2,}", text)) >= 2


def _bibtex_title(work: Work) -> str:
    """The title from its rich text: styled runs (an italic species, small caps) braced whole,
    then the words ``_keeps_case`` names, unless the title is all capitals."""
    rich = work.rich("title")
    if _all_capitals(rich.plain()):
        return rich.latex(_latex, _latex)
    opening = [bool(rich.runs) and not rich.runs[0].style]  # the first plain run opens it

    def protect(text: str) -> str:
        start, opening[0] = opening[0], False
        return _latex_title(text, start=start)

    return rich.latex(_latex, protect)


def _latex_pages(pages: str) -> str:
    """``10--20`` from any dash between the numbers (a record's en dash included)."""
    return "--".join(_latex(part) for part in _DASHES.split(pages.strip()))


def _bibtex_name(author: Author) -> str:
    if author.is_organisation:
        return "{" + _latex(author.name) + "}"
    family = _latex(author.family or "")
    if "," in family or " and " in f" {family} ":
        family = "{" + family + "}"
    if author.given and ", " in author.given:  # "John, Jr." → "Family, Jr., John"
        given, _, suffix = author.given.rpartition(", ")
        return f"{family}, {_latex(suffix)}, {_latex(given)}"
    return f"{family}, {_latex(author.given)}" if author.given else family


def _month(work: Work) -> str | None:
    if work.published and len(work.published) >= 7 and work.published[5:7].isdigit():
        month = int(work.published[5:7])
        if 1 <= month <= 12:
            return "jan feb mar apr may jun jul aug sep oct nov dec".split()[month - 1]
    return None


def notices_note(work: Work) -> str | None:
    """What notices say about ``work``, for an export's note field (BibTeX ``note``, RIS
    ``N1``, CSL-JSON ``note``): "Retracted (notice doi:…). Correction 2015-05-04 (doi:…)."."""
    parts = []
    if work.retracted:
        notice = f" (notice doi:{work.retraction_notice})" if work.retraction_notice else ""
        parts.append(f"Retracted{notice}.")
    for update in work.updates:
        if update.retracting:
            continue
        when = f" {update.date}" if update.date else ""
        notice = f" (doi:{update.notice})" if update.notice else ""
        parts.append(f"{update.words}{when}{notice}.")
    if work.published_doi and work.type == "preprint":
        parts.append(f"Published as doi:{work.published_doi}.")
    return " ".join(parts) or None


def _bibtex_entry(work: Work, key: str) -> Entry:
    kind = BIBTEX_TYPES.get(work.type or "", "misc")
    container = {
        "article": "journal",
        "incollection": "booktitle",
        "inproceedings": "booktitle",
        "misc": "howpublished",
    }.get(kind)
    publisher = {"phdthesis": "school", "techreport": "institution"}.get(kind, "publisher")
    escaped = [
        ("author", " and ".join(_bibtex_name(a) for a in work.authors)),
        ("title", _bibtex_title(work)),
        (container or "", _latex(work.venue) if work.venue and container else ""),
        ("year", str(work.year) if work.year else ""),
        ("volume", _latex(work.volume or "")),
        ("number", _latex(work.issue or "")),
        ("pages", _latex_pages(work.pages) if work.pages else ""),
        (publisher, _latex(work.publisher or "")),
        ("doi", work.doi or ""),  # doi and url are verbatim fields: no escaping
        ("url", work.url or work.doi_url or ""),
        ("issn", ", ".join(work.issn)),
        ("isbn", ", ".join(work.isbn)),
        ("note", _latex(notices_note(work) or "")),
    ]
    fields = [Field(name, "{" + value + "}") for name, value in escaped if name and value]
    if month := _month(work):
        fields.insert(4, Field("month", month))  # the month macro, unbraced: feb
    return Entry(kind, key, fields)


def to_bibtex(works: Iterable[Work], keys: Sequence[str | None] | None = None) -> str:
    """A .bib file: one entry per work, keys unique within it (``cite_keys``; ``keys`` are the
    ones to keep where they are usable: an imported entry's own, or a stored one).

    Fields are LaTeX-escaped with pylatexenc (non-ASCII letters as ``\\"u``; LaTeX specials
    escaped; ``doi``/``url`` verbatim), pages use ``--``, the month is a macro (``feb``).
    """
    works = [without_placeholders(w) for w in works]  # never a "volume = {null}"
    library = bibtexparser.Library()
    for work, key in zip(works, cite_keys(works, keys), strict=True):
        library.add(_bibtex_entry(work, key))
    # values are enclosed above (month stays a bare macro), so no enclosing middleware
    return bibtexparser.write_string(library, unparse_stack=[])


# ---------------------------------------------------------------------------------------------
# RIS


class _RisWriter(rispy.RisWriter):
    def set_header(self, count: int) -> None:  # no "1." lines between records
        return None


def _ris_record(work: Work) -> dict[str, Any]:
    work = without_placeholders(work)  # never a "VL  - null"
    record: dict[str, Any] = {"type_of_reference": RIS_TYPES.get(work.type or "", "GEN")}
    authors = [
        a.name if a.is_organisation else ", ".join(p for p in (a.family, a.given) if p)
        for a in work.authors
    ]
    if authors:
        record["authors"] = authors
    record["title"] = work.title
    if work.venue:
        record["secondary_title"] = work.venue  # T2: journal, book or proceedings title
        if RIS_TYPES.get(work.type or "") == "JOUR":
            record["journal_name"] = work.venue  # JO, for readers that look only there
    if work.pages:
        start, *rest = _DASHES.split(work.pages.strip(), maxsplit=1)
        record["start_page"] = start
        if rest and rest[0]:
            record["end_page"] = rest[0]
    optional = {
        "volume": work.volume,
        "number": work.issue,
        "year": str(work.year) if work.year else None,
        "date": work.published.replace("-", "/") if work.published else None,
        "doi": work.doi,
        "urls": [work.url or work.doi_url] if (work.url or work.doi_url) else None,
        "issn": (work.issn or work.isbn or (None,))[0],
        "publisher": work.publisher,
        "language": work.language,
        "abstract": work.abstract,
        "notes": [note] if (note := notices_note(work)) else None,  # N1: retractions …
    }
    record.update({k: v for k, v in optional.items() if v})
    # one line per tag: no newlines inside a value (abstracts have paragraphs)
    return {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in record.items()}


def to_ris(works: Iterable[Work]) -> str:
    """A .ris file (rispy): TY by type, AU "Family, Given", TI, T2/JO, VL, IS, SP/EP, PY, DO…"""
    return rispy.dumps([_ris_record(w) for w in works], implementation=_RisWriter)
