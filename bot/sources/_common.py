"""Small parsing helpers shared by the source modules (pure)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from bot.models import Author, Version
from bot.names import split_name
from bot.placeholders import is_placeholder
from bot.richtext import RichText
from bot.text import clean_text

_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)
_DOI_URL = re.compile(r"^(?:https?://)?(?:dx\.)?doi\.org/", re.IGNORECASE)
_TRAILING_ID = re.compile(r"\s*\(\d+\)$")
_PMCID = re.compile(r"(PMC\d+)", re.IGNORECASE)
# OpenAlex writes PMCIDs as ".../pmc/articles/4234579", without "PMC" (recorded, pnas-2014).
_PMC_ARTICLE_DIGITS = re.compile(r"/pmc/articles/(\d+)/?$", re.IGNORECASE)

VERSIONS = {
    "publishedversion": Version.PUBLISHED,
    "acceptedversion": Version.ACCEPTED,
    "submittedversion": Version.SUBMITTED,
}


def quote_doi(doi: str) -> str:
    """Percent-encode a DOI for a URL path; ``/`` stays raw as every API here accepts it."""
    return quote(doi, safe="/:;()@,=+$!*'")


def bare_doi(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _DOI_URL.sub("", value.strip()).lower() or None


def orcid(value: Any) -> str | None:
    if isinstance(value, str) and (m := _ORCID.search(value)):
        return m.group(1).upper()
    return None


def pmcid(value: Any) -> str | None:
    if isinstance(value, str) and (m := _PMCID.search(value)):
        return m.group(1).upper()
    if isinstance(value, str) and (m := _PMC_ARTICLE_DIGITS.search(value.strip())):
        return f"PMC{m.group(1)}"
    return None


def pmid(value: Any) -> str | None:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and (m := re.search(r"(\d+)/?$", value.strip())):
        return m.group(1).lstrip("0") or None
    return None


def version(value: Any) -> Version | None:
    return VERSIONS.get(str(value).lower()) if value else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def count(value: Any, *, zero_is_unknown: bool = False) -> int | None:
    """A citation or reference count; ``None`` (unknown) rather than a number nobody counted.

    ``zero_is_unknown`` is for sources that report 0 for "not counted": DataCite counts
    citations only for the few records whose citing works deposit links to it, and answers 0
    for all others (every recorded arXiv, Zenodo and Dataverse record). A positive count from
    such a source is a real (lower-bound) count and is kept.
    """
    n = as_int(value)
    if n is None or n < 0 or (n == 0 and zero_is_unknown):
        return None
    return n


# -- placeholders --------------------------------------------------------------------------
# What counts as a placeholder ("null", "n/a", "-", "[s.n.]"…) is decided in bot/placeholders.py,
# a pure module the exports and the card use too; every source reads strings through as_str.


def as_str(value: Any, kind: str = "text") -> str | None:
    """A scalar as a cleaned one-line string (``"  46-51\\n "`` → ``"46-51"``), or ``None``.

    Every scalar string field a source reads goes through here, so a placeholder ("null",
    "n/a", "-", "[s.n.]"…, see ``is_placeholder``) never becomes a value. ``kind`` selects the
    placeholder rules: ``"name"`` for name parts, ``"language"`` for language codes.
    """
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = clean_text(str(value))
    return None if not text or is_placeholder(text, kind) else text


def page_range(first_page: Any, last_page: Any) -> str | None:
    """``("181", "186")`` → ``"181-186"``; a placeholder page is no page."""
    first_, last = as_str(first_page), as_str(last_page)
    if first_ and last and last != first_:
        return f"{first_}-{last}"
    return first_


def strings(value: Any, limit: int = 20) -> tuple[str, ...] | None:
    """A JSON array of scalar strings (ISSN, ISBN) without placeholders; ``None`` when empty."""
    out = tuple(s for s in (as_str(v) for v in items(value, limit)) if s)
    return out or None


# ATLAS and CMS papers list ~3,000 authors; beyond this a list is an attack or an error, and
# parsing it would hold the event loop for seconds.
MAX_AUTHORS = 5000


def items(value: Any, limit: int = MAX_AUTHORS) -> list[Any]:
    """A JSON array's first ``limit`` items; anything that is not an array has none."""
    return value[:limit] if isinstance(value, list) else []


def first(value: Any) -> Any:
    """Crossref wraps titles and container titles in lists."""
    if isinstance(value, list):
        return next((v for v in value if v), None)
    return value


def _name_part(value: Any) -> str | None:
    return as_str(value, "name") if isinstance(value, str) else None


def author_from_display(name: Any, orcid_value: Any = None) -> Author | None:
    """An author known only by a display string (OpenAlex, Semantic Scholar, Unpaywall)."""
    display = _name_part(name)
    if display:
        # Figshare-style records append a person id: "Mihai G Netea (15649)".
        display = _name_part(_TRAILING_ID.sub("", display))
    if not display:
        return None
    given, family = split_name(display)
    return Author(name=display, family=family, given=given, orcid=orcid(orcid_value))


def author_from_parts(
    given: Any, family: Any, literal: Any = None, orcid_value: Any = None, suffix: Any = None
) -> Author | None:
    """An author with given/family parts (Crossref, DataCite); organisations as literal names.

    A placeholder part ("-", "null", "Unknown") is no part: ``{"given": "Sumaryadi",
    "family": "-"}`` (10.21831/imaji.v4i1.6702) is the single name "Sumaryadi".
    """
    g, f, sfx = _name_part(given), _name_part(family), _name_part(suffix)
    if f and sfx:
        g = f"{g}, {sfx}" if g else g
    if not f and not g:
        lit = _name_part(literal)
        return Author(name=lit, orcid=orcid(orcid_value)) if lit else None
    if not f:  # a single name deposited as "given" only
        return Author(name=g or "", family=g, given=None, orcid=orcid(orcid_value))
    return Author(name=f"{g} {f}" if g else f, family=f, given=g, orcid=orcid(orcid_value))


# -- publication dates ---------------------------------------------------------------------
# Years outside this range are placeholders or typing errors (Crossref ``[[0]]``, ``[[9999]]``).
MIN_YEAR, MAX_YEAR = 1000, 2999
_ISO_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?![\d])")


def year(value: Any) -> int | None:
    """A plausible publication year, or ``None``."""
    n = as_int(value)
    return n if n is not None and MIN_YEAR <= n <= MAX_YEAR else None


def _iso(parts: list[int]) -> tuple[int | None, str | None]:
    """``[2015, 6]`` → ``(2015, "2015-06")``; a month or day out of range ends the date."""
    if not parts or year(parts[0]) is None:
        return None, None
    iso = f"{parts[0]:04d}"
    for part, top in zip(parts[1:3], (12, 31), strict=False):
        if not 1 <= part <= top:
            break
        iso += f"-{part:02d}"
    return parts[0], iso


def date_parts(value: Any) -> tuple[int | None, str | None]:
    """Crossref ``{"date-parts": [[2015, 6]]}`` → ``(2015, "2015-06")``.

    ``[[null]]`` (an empty ``issued``) is no date; parts after a missing one are dropped
    (``[[2003, null, 5]]`` is 2003, not 2003-05).
    """
    try:
        raw = value["date-parts"][0]
    except (KeyError, IndexError, TypeError):
        return None, None
    parts: list[int] = []
    for part in raw if isinstance(raw, list) else ():
        n = as_int(part)
        if n is None:
            break
        parts.append(n)
    return _iso(parts)


def iso_date(value: Any) -> tuple[int | None, str | None]:
    """``"2019-02-07T09:22:51Z"`` → ``(2019, "2019-02-07")``; ``"2019"`` → ``(2019, "2019")``.

    DataCite ranges (``"2011-02-01/2011-03-01"``) give their start; anything else is no date.
    """
    if not isinstance(value, str) or not (m := _ISO_DATE.match(value)):
        return None, None
    return _iso([int(g) for g in m.groups() if g is not None])


def publication_date(year_value: Any, date_value: Any) -> tuple[int | None, str | None]:
    """A source's year and ISO date as one consistent pair.

    The date is kept only when its year is the stated year (or no year is stated); otherwise
    the stated year stands alone, so year and date never disagree.
    """
    stated = year(year_value)
    from_date, iso = iso_date(date_value)
    if iso and (stated is None or stated == from_date):
        return from_date, iso
    return stated, None


def markup(**fields: RichText | None) -> dict[str, str]:
    """The stored rich text of the styled fields among ``fields`` (``SourceRecord.markup``)."""
    return {name: rich.to_markup() for name, rich in fields.items() if rich and rich.styled}
