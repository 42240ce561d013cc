"""Small parsing helpers shared by the source modules (pure)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from bot.models import Author, Version
from bot.names import split_name
from bot.text import clean_text

_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])", re.IGNORECASE)
_DOI_URL = re.compile(r"^(?:https?://)?(?:dx\.)?doi\.org/", re.IGNORECASE)
_TRAILING_ID = re.compile(r"\s*\(\d+\)$")
_PMCID = re.compile(r"(PMC\d+)", re.IGNORECASE)

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


def as_str(value: Any) -> str | None:
    """A scalar as a cleaned one-line string (``"  46-51\\n "`` → ``"46-51"``)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return clean_text(str(value))


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


def author_from_display(name: Any, orcid_value: Any = None) -> Author | None:
    """An author known only by a display string (OpenAlex, Semantic Scholar, Unpaywall)."""
    display = clean_text(name) if isinstance(name, str) else None
    if display:
        # Figshare-style records append a person id: "Mihai G Netea (15649)".
        display = _TRAILING_ID.sub("", display) or display
    if not display:
        return None
    given, family = split_name(display)
    return Author(name=display, family=family, given=given, orcid=orcid(orcid_value))


def author_from_parts(
    given: Any, family: Any, literal: Any = None, orcid_value: Any = None, suffix: Any = None
) -> Author | None:
    """An author with given/family parts (Crossref, DataCite); organisations as literal names."""
    g = clean_text(given) if isinstance(given, str) else None
    f = clean_text(family) if isinstance(family, str) else None
    if f and suffix and isinstance(suffix, str):
        g = f"{g}, {clean_text(suffix)}" if g else g
    if not f and not g:
        lit = clean_text(literal) if isinstance(literal, str) else None
        return Author(name=lit, orcid=orcid(orcid_value)) if lit else None
    if not f:  # a single name deposited as "given" only
        return Author(name=g or "", family=g, given=None, orcid=orcid(orcid_value))
    return Author(name=f"{g} {f}" if g else f, family=f, given=g, orcid=orcid(orcid_value))


def date_parts(value: Any) -> tuple[int | None, str | None]:
    """Crossref ``{"date-parts": [[2015, 6]]}`` → ``(2015, "2015-06")``."""
    try:
        parts = [p for p in value["date-parts"][0] if p is not None]
    except (KeyError, IndexError, TypeError):
        return None, None
    if not parts or not isinstance(parts[0], int):
        return None, None
    iso = f"{parts[0]:04d}" + "".join(f"-{int(p):02d}" for p in parts[1:3])
    return parts[0], iso
