"""Licence policy (DESIGN §5): normalise licences, choose the best legal open copy.

Data plus small predicates. ``choose_access`` returns an ``Access`` decision with the reason a
user reads on the card; cogs only display it.

Rules, in words:
- A licence is only what a source states. ``null`` (common in Unpaywall and OpenAlex, even for
  free-to-read copies) means "no licence stated: free to read only", never an assumed licence.
- Text-and-data-mining licences (Elsevier, Springer, Wiley "tdm") are not reuse licences.
- The best copy is the published version over the accepted manuscript over the submitted
  preprint; at equal version an openly licensed copy wins, then the publisher's host, then the
  more reliable source (Unpaywall > OpenAlex > Semantic Scholar).
- Shadow libraries are never linked, whatever a source says.
- Every arXiv paper is free to read: arXiv holds at least a non-exclusive licence to distribute
  it. An arXiv copy whose source states no licence takes the licence another source states for
  the same paper (DataCite's ``rightsList`` for the arXiv DOI ``10.48550/arxiv.…``, which names
  the licence the authors chose on submission, e.g. CC BY 4.0), and otherwise is "free to read
  (arXiv licence)", never "not openly licensed". A work whose DOI is an arXiv DOI has an arXiv
  copy even when no source lists it: the DOI names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from urllib.parse import urlsplit

from bot.models import Access, LicenceStatement, Location, Version

OA_STATUSES = ("gold", "green", "hybrid", "bronze", "diamond", "closed")

# arXiv's own licence to distribute (arxiv.org/licenses/nonexclusive-distrib/1.0/, and the
# "assumed" licence of papers submitted before 2004): free to read, no licence to reuse.
ARXIV_LICENCE = "arxiv"
ARXIV_DOI_PREFIX = "10.48550/arxiv."
_ARXIV_URL = re.compile(
    r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(?P<id>[a-z-]+(?:\.[a-z]{2})?/\d{7}|"
    r"\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?/?(?:[?#].*)?$",
    re.IGNORECASE,
)

CREATIVE_COMMONS = frozenset(
    {"cc-by", "cc-by-sa", "cc-by-nd", "cc-by-nc", "cc-by-nc-sa", "cc-by-nc-nd", "cc0"}
)
# Licences that allow reuse beyond reading.
OPEN_LICENCES = CREATIVE_COMMONS | {"public-domain", "other-oa"}

LICENCE_LABELS = {
    "cc-by": "CC BY",
    "cc-by-sa": "CC BY-SA",
    "cc-by-nd": "CC BY-ND",
    "cc-by-nc": "CC BY-NC",
    "cc-by-nc-sa": "CC BY-NC-SA",
    "cc-by-nc-nd": "CC BY-NC-ND",
    "cc0": "CC0",
    "public-domain": "public domain",
    "other-oa": "other open licence",
    "publisher-specific": "publisher's own terms (free to read)",
    ARXIV_LICENCE: "free to read (arXiv licence)",
}

# Where full texts are never fetched or linked from, whatever a source says.
SHADOW_LIBRARY_HOSTS = (
    "sci-hub",
    "scihub",
    "libgen",
    "library.lol",
    "z-lib",
    "zlibrary",
    "1lib",
    "booksc",
    "annas-archive",
    "anna's archive",
    "bookfi",
)

SOURCE_RANK = {"unpaywall": 0, "openalex": 1, "crossref": 2, "s2": 3, "datacite": 4, "arxiv": 5}
VERSION_RANK = {Version.PUBLISHED: 0, Version.ACCEPTED: 1, Version.SUBMITTED: 2, None: 3}
VERSION_WORDS = {
    Version.PUBLISHED: "published version",
    Version.ACCEPTED: "accepted manuscript",
    Version.SUBMITTED: "preprint (submitted version)",
}

_CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses|licences)/(?P<kind>[a-z-]+)(?:/(?P<ver>[\d.]+))?",
    re.IGNORECASE,
)
_CC_ZERO = re.compile(r"creativecommons\.org/publicdomain/(?P<kind>zero|mark)", re.IGNORECASE)
_TDM = re.compile(r"tdm|text-?and-?data-?mining|termsandconditions|/core/terms", re.IGNORECASE)
_CC_WORDS = re.compile(
    r"^\s*(?:cc|creative\s+commons)[\s_-]*(?P<parts>(?:(?:by|nc|nd|sa)[\s_-]*)+)"
    r"(?P<ver>\d(?:\.\d)?)?",
    re.IGNORECASE,
)
_S2_CC = re.compile(r"^CC(?P<parts>(?:BY|NC|ND|SA)+)$")
_CC0 = re.compile(r"^\s*(?:cc[\s_-]*0|cc[\s_-]*zero)(?:[\s_-]*1\.0)?\s*$", re.IGNORECASE)


def _cc_id(parts: Iterable[str]) -> str | None:
    tokens = [p.lower() for p in parts if p]
    if not tokens or tokens[0] != "by":
        return None
    # Canonical order is by-nc-sa / by-nc-nd whatever order the source wrote.
    order = ["by", "nc", "nd", "sa"]
    seen = sorted(set(tokens), key=order.index)
    if "nd" in seen and "sa" in seen:
        return None
    ident = "cc-" + "-".join(seen)
    return ident if ident in CREATIVE_COMMONS else None


def normalise_licence(value: str | None) -> str | None:
    """Any source's licence string or URL → a licence id, or ``None`` when none is stated.

    Examples: ``http://creativecommons.org/licenses/by-nc-nd/4.0/`` → ``cc-by-nc-nd``;
    ``CCBYNCND`` (Semantic Scholar) → ``cc-by-nc-nd``; ``cc-by-4.0`` (DataCite) → ``cc-by``;
    ``implied-oa`` → ``publisher-specific``; a TDM licence URL → ``None`` (not a reuse licence).
    """
    if not value:
        return None
    text = value.strip()
    low = text.lower()
    if "arxiv.org/licenses/" in low:  # nonexclusive-distrib/1.0/, assumed-1991-2003/
        return ARXIV_LICENCE
    if m := _CC_ZERO.search(text):
        return "cc0" if m["kind"].lower() == "zero" else "public-domain"
    if m := _CC_URL.search(text):
        return _cc_id(m["kind"].split("-"))
    if _TDM.search(low):
        return None
    if _CC0.match(text):
        return "cc0"
    if m := _S2_CC.match(text):
        return _cc_id(re.findall(r"BY|NC|ND|SA", m["parts"]))
    if m := _CC_WORDS.match(text):
        return _cc_id(re.findall(r"by|nc|nd|sa", m["parts"].lower()))
    if low.startswith("creative commons attribution"):
        words = re.sub(r"[^a-z]", "", low)
        parts = ["by"]
        parts += ["nc"] if "noncommercial" in words else []
        parts += ["nd"] if "noderiv" in words else []
        parts += ["sa"] if "sharealike" in words else []
        return _cc_id(parts)
    if low in {"public-domain", "public domain", "pd", "publicdomain"}:
        return "public-domain"
    if low in {"other-oa", "other open access"}:
        return "other-oa"
    if low.startswith(("publisher-specific", "implied-oa")) or "-specific" in low:
        return "publisher-specific"
    if "open-access/userlicense" in low or "open_access" in low or "openaccess" in low:
        return "publisher-specific"
    return None


def licence_version(url: str | None) -> str | None:
    """The Creative Commons version in a licence URL (``4.0``), if any."""
    if url and (m := _CC_URL.search(url)):
        return m["ver"]
    return None


def licence_label(licence: str | None, url: str | None = None) -> str:
    """Human label: ``CC BY 4.0``, ``CC BY-NC-ND``, or "no licence stated"."""
    if not licence:
        return "no licence stated"
    label = LICENCE_LABELS.get(licence, licence)
    ver = licence_version(url)
    return f"{label} {ver}" if ver and licence in CREATIVE_COMMONS else label


def is_shadow_library(url: str | None) -> bool:
    """True for hosts that serve pirated copies; they are never linked."""
    if not url or not isinstance(url, str):
        return False
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # "http://[::1/x": not a URL anyone can follow
        return False
    return any(marker in host for marker in SHADOW_LIBRARY_HOSTS)


def is_linkable(url: str | None) -> bool:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return False
    try:
        urlsplit(url).hostname  # noqa: B018 - raises for a malformed host
    except ValueError:
        return False
    return not is_shadow_library(url)


def arxiv_id_of_doi(doi: str | None) -> str | None:
    """``10.48550/arxiv.2312.07559`` → ``2312.07559`` (any case); ``None`` for other DOIs."""
    if isinstance(doi, str) and doi.lower().startswith(ARXIV_DOI_PREFIX):
        return doi[len(ARXIV_DOI_PREFIX) :].lower() or None
    return None


def arxiv_id_of_url(url: str | None) -> str | None:
    """The arXiv id of an arxiv.org abs or pdf link (version dropped), else ``None``."""
    if isinstance(url, str) and (m := _ARXIV_URL.match(url.strip())):
        return m["id"].lower()
    return None


def arxiv_copy(
    arxiv_id: str,
    *,
    source: str = "arxiv",
    licence: str | None = None,
    licence_url: str | None = None,
) -> Location:
    """arXiv's copy of a paper: the abstract page as landing page, the PDF of the latest
    version, a submitted version (a preprint) in a repository."""
    return Location(
        url=f"https://arxiv.org/abs/{arxiv_id}",
        source=source,
        landing_page_url=f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}",
        licence=licence,
        licence_url=licence_url,
        version=Version.SUBMITTED,
        host_type="repository",
        host_name="arXiv",
    )


def _arxiv_copies(
    locations: list[Location], doi: str | None, statements: list[LicenceStatement]
) -> list[Location]:
    """``locations`` with every arXiv copy given a licence (see the module docstring), and an
    arXiv copy added when the DOI is an arXiv DOI and no source listed one."""
    doi_arxiv = arxiv_id_of_doi(doi)
    stated: dict[str, tuple[str, str | None, str]] = {}  # arXiv id → (licence, url, source)
    for loc in locations:
        ident = arxiv_id_of_url(loc.url) or arxiv_id_of_url(loc.landing_page_url)
        if ident and loc.licence and ident not in stated:
            stated[ident] = (loc.licence, loc.licence_url, loc.source)
    if doi_arxiv and doi_arxiv not in stated:
        # For an arXiv DOI, DataCite's rights statements are about that arXiv paper.
        lic = next((s for s in statements if s.licence), None)
        if lic is not None:
            stated[doi_arxiv] = (lic.licence or "", lic.url or None, "datacite")
    out: list[Location] = []
    seen: set[str] = set()
    for loc in locations:
        ident = arxiv_id_of_url(loc.url) or arxiv_id_of_url(loc.landing_page_url)
        if ident:
            seen.add(ident)
            if not loc.licence:
                licence, url, source = stated.get(ident, (ARXIV_LICENCE, None, loc.source))
                loc = replace(loc, licence=licence, licence_url=url, source=source)
            loc = loc if loc.is_oa else replace(loc, is_oa=True)  # arXiv: free to read, always
        out.append(loc)
    if doi_arxiv and doi_arxiv not in seen:
        licence, url, source = stated.get(doi_arxiv, (ARXIV_LICENCE, None, "arxiv"))
        out.append(arxiv_copy(doi_arxiv, source=source, licence=licence, licence_url=url))
    return out


def _rank(loc: Location) -> tuple[int, int, int, int]:
    open_rank = 0 if loc.licence in OPEN_LICENCES else 1 if loc.licence else 2
    host_rank = 0 if loc.host_type == "publisher" else 1
    return (
        VERSION_RANK.get(loc.version, 3),
        open_rank,
        host_rank,
        SOURCE_RANK.get(loc.source, 9),
    )


def best_location(locations: Iterable[Location]) -> Location | None:
    """The best legal open copy among ``locations``, or ``None``."""
    candidates = [loc for loc in locations if loc.is_oa and is_linkable(loc.url)]
    return min(candidates, key=_rank) if candidates else None


def _current_crossref_licence(
    licences: Iterable[LicenceStatement], today: date
) -> LicenceStatement | None:
    """An open licence on the version of record that has started (embargo over)."""
    for lic in licences:
        if lic.licence in OPEN_LICENCES and lic.content_version in ("vor", "unspecified"):
            if lic.start is None or lic.start[:10] <= today.isoformat():
                return lic
    return None


def _describe(loc: Location, licence: str | None, licence_url: str | None) -> str:
    version = VERSION_WORDS.get(loc.version, "full text")
    where = (
        "at the publisher"
        if loc.host_type == "publisher"
        else (
            f"in a repository ({loc.host_name})"
            if loc.host_name and loc.host_type == "repository"
            else "in a repository"
            if loc.host_type == "repository"
            else "online"
        )
    )
    if licence in OPEN_LICENCES:
        terms = f"{licence_label(licence, licence_url)}: free to read and reuse under its terms"
    elif licence == "publisher-specific":
        terms = "publisher's own terms: free to read only"
    elif licence == ARXIV_LICENCE:
        terms = "arXiv's licence to distribute it: free to read, no reuse licence stated"
    else:
        terms = "no licence stated: free to read only"
    return f"Open {version} {where}; {terms}."


def choose_access(
    *,
    doi: str | None,
    locations: Iterable[Location],
    statuses: Iterable[tuple[str, str | None]] = (),
    crossref_licences: Iterable[LicenceStatement] = (),
    today: date | None = None,
) -> Access:
    """Decide what the card says about access.

    ``statuses`` are ``(source, oa_status)`` pairs in precedence order (Unpaywall first);
    ``crossref_licences`` the publisher's deposited licences, used when no location states one.
    """
    today = today or date.today()
    read_at = f"https://doi.org/{doi}" if doi else None
    status_source = next(
        ((src, st.lower()) for src, st in statuses if st and st.lower() in OA_STATUSES), None
    )
    crossref_licences = list(crossref_licences)
    cr_licence = _current_crossref_licence(crossref_licences, today)
    best = best_location(_arxiv_copies(list(locations), doi, crossref_licences))

    if best is None and cr_licence is not None and read_at:
        # The publisher states an open licence on its version: the DOI resolves to it.
        has_closed_terms = any(lic.licence is None for lic in crossref_licences)
        status = (
            status_source[1]
            if status_source and status_source[1] != "closed"
            else ("hybrid" if has_closed_terms else "gold")
        )
        loc = Location(
            url=read_at,
            source="crossref",
            version=Version.PUBLISHED,
            host_type="publisher",
            licence=cr_licence.licence,
        )
        return Access(
            status=status,
            licence=cr_licence.licence,
            url=read_at,
            version=Version.PUBLISHED.value,
            source="crossref",
            host_type="publisher",
            reason=_describe(loc, cr_licence.licence, cr_licence.url),
            read_at=read_at,
        )

    if best is None:
        return Access(
            status="closed",
            licence=None,
            url=None,
            version=None,
            source=status_source[0] if status_source else None,
            reason="Citation only: the full text is not openly licensed. Read at source.",
            read_at=read_at,
        )

    licence, licence_url, source = best.licence, best.licence_url, best.source
    if (
        licence is None
        and cr_licence is not None
        and best.version in (Version.PUBLISHED, None)
        and best.host_type in ("publisher", None)
    ):
        licence, licence_url = cr_licence.licence, cr_licence.url
    if status_source and status_source[1] != "closed":
        status = status_source[1]
    elif best.host_type == "repository":
        status = "green"
    else:
        status = "gold" if licence in OPEN_LICENCES else "bronze"
    return Access(
        status=status,
        licence=licence,
        url=best.url,
        version=best.version.value if best.version else None,
        source=source,
        host_type=best.host_type,
        host_name=best.host_name,
        reason=_describe(best, licence, licence_url),
        read_at=read_at,
    )
