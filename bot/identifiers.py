"""Parse what a user typed into a DOI, arXiv id, PMID, PMCID or a title to search for.

One handler per scheme (``_parse_doi``, ``_parse_arxiv``, ``_parse_pmid``, ``_parse_pmcid``),
each with its patterns as module constants. ``parse_identifier`` cleans the input once, asks the
handlers in that order and falls back to a title search. A handler returns ``None`` when the
input is not its scheme and raises ``InvalidIdentifier`` when the input clearly claims to be its
scheme but is broken (``doi:`` with nothing after it, ``arXiv:abc``, ``PMID: 12a``), so the user
hears what is wrong instead of getting a pointless title search.

DOI clean-up follows research/apis.md §6: trim invisibles and wrappers, URL-decode once, strip
prefixes, find the DOI inside publisher links (cutting query, fragment and view suffixes such as
``/full`` only in links), strip sentence punctuation and unbalanced closing brackets, lower-case.

Pure: no I/O, no network, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from bot.errors import InvalidIdentifier
from bot.models import Identifier, IdKind

MAX_QUERY_LENGTH = 500
# A title shorter than both limits is too vague to search for ("CRISPR", "NK cells").
MIN_TITLE_WORDS = 3
MIN_TITLE_CHARS = 12
# How much of the user's input an error message may quote back.
_ECHO_LIMIT = 40

_ACCEPTED = (
    "Try a DOI like 10.1186/s12943-023-01737-7, a doi.org link, an arXiv id, a PMID, "
    "a PMCID or a paper title."
)

# --- clean-up shared by every scheme ---------------------------------------------------------

# Zero-width space/joiners, word joiner, BOM and soft hyphen: invisible in Discord, but they
# break every pattern when a DOI is copied from a PDF or a web page.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Pairs that may wrap a whole query: quotes, Markdown (`code`, **bold**, ||spoiler||) and
# Discord's <link> that suppresses embeds.
_WRAPPERS = {
    '"': '"',
    "'": "'",
    "`": "`",
    "“": "”",
    "‘": "’",
    "«": "»",
    "„": "“",
    "*": "*",
    "_": "_",
    "|": "|",
    "~": "~",
    "(": ")",
    "[": "]",
    "{": "}",
    "<": ">",
}
_BRACKETS = {")": "(", "]": "[", "}": "{", ">": "<"}
# Sentence punctuation after an identifier in running text; ";" only ever goes when it is the
# very last character, so a SICI ending in ";2" keeps it.
_TRAILING_PUNCTUATION = ".,;:!?"
# Characters that never end an identifier: closing quotes and Markdown left over from the text.
_TRAILING_NOISE = "\"'`*~|”’»"

# A link: with a scheme, starting with www., or a bare host followed by a path (doi.org/…).
_URL = re.compile(
    r"^(?:https?://|www\.|(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?/)\S*$",
    re.IGNORECASE,
)
# A whole link that was percent-encoded (copied out of a redirect parameter).
_ENCODED_URL = re.compile(r"^https?%3A%2F%2F", re.IGNORECASE)

# --- DOI --------------------------------------------------------------------------------------

# Where a DOI starts: "10." + a 4–9 digit registrant code (sub-parts allowed: 10.1000.10) and
# the slash, possibly percent-encoded. Not glued to a preceding word, digit or dot (110.1234/…).
_DOI_START = re.compile(r"(?<![\w.])10\.\d{4,9}(?:\.\d+)*(?:/|%2F)", re.IGNORECASE)
# A complete, cleaned DOI: the suffix is any run of non-space characters (ISO 26324 allows any
# printable Unicode; Crossref's stricter pattern misses SICIs and early Wiley DOIs).
_DOI_FULL = re.compile(r"10\.\d{4,9}(?:\.\d+)*/\S+")
_DOI_HEAD = re.compile(r"10\.\d{4,9}(?:\.\d+)*/")  # _DOI_FULL without its suffix
# Input that starts like a DOI but may be incomplete ("10.1234", "10.12/abc", "10.1186/").
_DOI_LIKE = re.compile(r"^10\.\d+(?:[./]|$)")
# "doi:10.…", "DOI: 10.…", "doi 10.…", "info:doi/10.…", "urn:doi:10.…".
_DOI_LABEL = re.compile(
    r"^(?:info:doi/|urn:doi:|doi\s*:\s*|doi\s+)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL
)
# Resolvers whose path is exactly the DOI: nothing after it is a view suffix.
_DOI_RESOLVER_HOSTS = frozenset({"doi.org", "dx.doi.org", "doi.acm.org", "hdl.handle.net"})
_DOI_RESOLVER_TAIL = re.compile(r"(?:doi\.org|doi\.acm\.org|handle\.net)/$", re.IGNORECASE)
_JSESSIONID = re.compile(r";jsessionid=", re.IGNORECASE)
# Publisher view pages appended after the DOI in a link path (…/10.1002/ece3.2314/full).
_VIEW_SUFFIXES = (
    "/full",
    "/fulltext",
    "/abstract",
    "/abs",
    "/pdf",
    "/epdf",
    "/pdfdirect",
    "/pdfft",
    "/download",
    "/meta",
    "/html",
    "/references",
    "/figures",
    "/citedby",
    "/reader",
    ".pdf",
)
# bioRxiv and medRxiv links add a version and a view to the DOI: …/10.1101/2020.03.22.002386v3.full
_BIORXIV_LINK_TAIL = re.compile(
    r"(?P<doi>10\.1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d{6,})(?:v\d+)?(?:\.[a-z][a-z+-]*)*",
    re.IGNORECASE,
)
# Publishers whose article links carry only the DOI suffix; the host implies the prefix.
_SUFFIX_ONLY_HOSTS: dict[str, tuple[re.Pattern[str], str]] = {
    "nature.com": (
        re.compile(r"^/articles/(?P<suffix>[a-z0-9][a-z0-9.-]*?)(?:\.pdf)?/?$", re.IGNORECASE),
        "10.1038/",
    ),
    "elifesciences.org": (re.compile(r"^/articles/(?P<suffix>\d{5})/?$"), "10.7554/elife."),
}

_DoiContext = Literal["text", "resolver", "path", "query"]

# --- arXiv ------------------------------------------------------------------------------------

# Archives of the pre-2007 scheme (archive/YYMMNNN); a closed list keeps "and/1234567" out.
_ARXIV_OLD_ARCHIVES = (
    "acc-phys",
    "adap-org",
    "alg-geom",
    "ao-sci",
    "astro-ph",
    "atom-ph",
    "bayes-an",
    "chao-dyn",
    "chem-ph",
    "cmp-lg",
    "comp-gas",
    "cond-mat",
    "cs",
    "dg-ga",
    "funct-an",
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "math",
    "mtrl-th",
    "nlin",
    "nucl-ex",
    "nucl-th",
    "patt-sol",
    "physics",
    "plasm-ph",
    "q-alg",
    "q-bio",
    "quant-ph",
    "solv-int",
    "supr-con",
)
_ARXIV_ID = (
    r"(?:(?P<yymm>\d{4})\.(?P<number>\d{4,5})"
    r"|(?P<archive>"
    + "|".join(re.escape(a) for a in sorted(_ARXIV_OLD_ARCHIVES, key=len, reverse=True))
    + r")(?:\.(?P<subject>[a-z]{2}|[a-z]+-[a-z]+))?/(?P<oldnum>\d{7}))"
    r"(?:v(?P<version>[1-9]\d*))?"
)
_ARXIV_FULL = re.compile(_ARXIV_ID, re.IGNORECASE)
# Shaped like a new-style id, so a failed check means a typo rather than a title.
_ARXIV_NEW_SHAPE = re.compile(r"\d{4}\.\d{4,5}(?:v\d+)?")
# "arXiv:2004.15011", "arxiv: …", "arXiv 2004.15011", "arXiv.2004.15011" (as in its DOI).
_ARXIV_LABEL = re.compile(r"^arxiv(?:\s*:\s*|\s+|\.)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_ARXIV_HOSTS = frozenset({"arxiv.org", "export.arxiv.org"})
_ARXIV_PATH = re.compile(r"^/(?:abs|pdf|html|format|ps|src)/(?P<id>.+?)(?:\.pdf)?/?$")
# The new scheme began in April 2007; its numbers grew from four to five digits in 2015.
_ARXIV_NEW_SCHEME_START = "0704"
_ARXIV_FIVE_DIGITS_START = "1501"

# --- PubMed and PubMed Central ----------------------------------------------------------------

_PMID_DIGITS = re.compile(r"\d{1,8}")  # PubMed is at about 40 million: 8 digits are plenty
_PMID_LABEL = re.compile(
    r"^(?:pmid|pubmed(?:\s*id)?)(?:\s*:\s*|\s+)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL
)
_PUBMED_HOSTS = frozenset({"pubmed.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov", "europepmc.org"})
_PUBMED_PATH = re.compile(
    r"^/(?:pubmed/|(?:abstract|article)/MED/)?(?P<pmid>\d{1,8})/?$", re.IGNORECASE
)
_PMCID = re.compile(r"PMC(?P<digits>\d{1,9})", re.IGNORECASE)
_PMCID_LABEL = re.compile(r"^pmcid(?:\s*:\s*|\s+)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_PMC_HOSTS = frozenset({"pmc.ncbi.nlm.nih.gov", "ncbi.nlm.nih.gov", "europepmc.org"})
_PMC_PATH = re.compile(r"/PMC(?P<digits>\d{1,9})(?:/|$)", re.IGNORECASE)
_PMCID_LIKE = re.compile(r"PMC\d", re.IGNORECASE)  # starts like a PMCID, so a typo

# --- scanning running text (find_identifiers) -------------------------------------------------

_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|\barxiv\s*:\s*|\barxiv\s+|(?<![\w./-]))"
    + _ARXIV_ID
    + r"(?![\w/-]|\.\d)",
    re.IGNORECASE,
)
# "\s*(?::\s*)?", not "\s*:?\s*": two adjacent \s* backtrack quadratically on a long run of
# spaces that ends in no digit ("PMID" + 20,000 spaces took seconds).
_PMID_IN_TEXT = re.compile(
    r"(?:\bPMID\s*(?::\s*)?|\bpubmed\s*:\s*|pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/"
    r"|europepmc\.org/(?:abstract|article)/MED/)(?P<pmid>\d{1,8})(?!\d)",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s")
# Candidate DOIs tried per whitespace-delimited token of running text. Each try reads the whole
# token, so a token such as "10.1234/" × 100,000 would otherwise cost quadratic time; a real
# token holds one DOI, or a few in a link's query string.
_MAX_DOI_STARTS_PER_TOKEN = 16
_PMCID_IN_TEXT = re.compile(
    r"(?:\bPMCID\s*(?::\s*)?(?:PMC)?|(?<!\w)PMC)(?P<digits>\d{1,9})(?!\w)", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class _Query:
    """The cleaned input, and its parts when it is a link."""

    text: str
    url: SplitResult | None

    @property
    def host(self) -> str:
        host = (self.url.hostname or "") if self.url else ""
        return host.removeprefix("www.")

    @property
    def path(self) -> str:
        return self.url.path if self.url else ""


# --- public API -------------------------------------------------------------------------------


def parse_identifier(text: str) -> Identifier:
    """Read one query: a DOI (bare, ``doi:``, doi.org or publisher link), an arXiv id, a PMID,
    a PMCID, or else a title to search for.

    ``value`` is normalised per kind (see ``Identifier``); ``raw`` is ``text`` unchanged. A DOI
    anywhere in the text wins over everything else. Raises ``InvalidIdentifier``, with a short
    message saying what is accepted, for empty or over-long input, broken identifiers, links
    that carry no identifier, and titles too short to search.
    """
    cleaned = _clean(text)
    if not cleaned:
        raise _invalid("The query is empty.")
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise _invalid(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
    query = _query(_unwrap(cleaned))
    if not query.text:
        raise _invalid("The query is empty.")
    for handler in _HANDLERS:
        found = handler(query)
        if found is not None:
            return replace(found, raw=text)
    if query.url is not None:
        raise _invalid("That link has no DOI, arXiv id, PMID or PMCID in it.")
    # Not one identifier on its own: an identifier inside running text still beats a title
    # search ("NK cells… https://doi.org/10.1186/…"), a DOI first since it is the most precise.
    embedded = [ident for _, _, ident in _scan(query.text)]
    if embedded:
        best = next((i for i in embedded if i.kind is IdKind.DOI), embedded[0])
        return replace(best, raw=text)
    return replace(_parse_title(query), raw=text)


def find_identifiers(text: str) -> list[Identifier]:
    """Every DOI, arXiv id, PMID and PMCID in running text, in order of appearance.

    PMIDs count only with a ``PMID`` label or in a PubMed link, since any number could be one.
    Duplicates are dropped, including an arXiv id next to its own arXiv DOI; ``raw`` is the
    matched text. Never raises: text without identifiers gives an empty list.
    """
    found: list[Identifier] = []
    seen: set[str] = set()
    for _, _, ident in _scan(_clean(text)):
        keys = {ident.key} | ({f"doi:{ident.doi}"} if ident.doi else set())
        if keys & seen:
            continue
        seen |= keys
        found.append(ident)
    return found


def message_identifiers(content: str) -> list[Identifier]:
    """The identifiers of a chat message that litbot may unfurl: ``find_identifiers`` on what
    a reader sees as plain text. Code (fenced blocks and inline), spoilers and links whose
    preview the author suppressed (``<https://…>``, as for Discord's own previews) are left
    out: the author did not ask for a card there."""
    if len(content) > MAX_MESSAGE_LENGTH:
        content = content[:MAX_MESSAGE_LENGTH]
    for pattern in _NOT_UNFURLED:
        content = pattern.sub(" ", content)
    text = _clean(content)
    matches = [(start, ident) for start, _, ident in _scan(text)]
    # Publisher links whose path holds no DOI text (nature.com/articles/…, elifesciences.org/
    # articles/…): read as a whole query, as /paper would read them.
    for link in _LINK_TOKEN.finditer(text):
        if _scan(link[0]):
            continue
        try:
            ident = parse_identifier(link[0])
        except InvalidIdentifier:
            continue
        if ident.kind is not IdKind.TITLE:
            matches.append((link.start(), replace(ident, raw=link[0])))
    found: list[Identifier] = []
    seen: set[str] = set()
    for _, ident in sorted(matches, key=lambda m: m[0]):
        keys = {ident.key} | ({f"doi:{ident.doi}"} if ident.doi else set())
        if not keys & seen:
            seen |= keys
            found.append(ident)
    return found


# Discord's limit is 4,000 characters (Nitro); nothing longer reaches the scanner.
MAX_MESSAGE_LENGTH = 4000
_LINK_TOKEN = re.compile(r"(?<![\w.@/-])(?:https?://|www\.)[^\s<>]+", re.IGNORECASE)
# In this order: code first (a "||" or "<" inside code is code), then spoilers, then links
# with their preview suppressed. Lazy matches: a pair closes at its nearest partner, as
# Discord's own Markdown does; an unpaired marker is plain text.
_NOT_UNFURLED = (
    re.compile(r"```.*?```", re.DOTALL),
    re.compile(r"(``?)(?!`).+?(?<!`)\1(?!`)", re.DOTALL),
    re.compile(r"\|\|.+?\|\|", re.DOTALL),
    re.compile(r"<(?:https?://|www\.)[^\s<>]+>", re.IGNORECASE),
)


# --- handlers ---------------------------------------------------------------------------------


def _parse_doi(query: _Query) -> Identifier | None:
    """DOIs: bare, labelled (``doi:``, ``info:doi/``, ``urn:doi:``), resolver or publisher link."""
    text = query.text
    if query.url is not None:
        return _doi_from_url(query)
    label = _DOI_LABEL.match(text)
    if label:
        rest = label["rest"].strip()
        if not rest:
            raise _invalid(f"{_quote(text)} has no DOI after it.")
        if _has_space(rest):
            return None  # "doi: 10.… (2023)" or a title starting "Doi …": scanned later
        value = _doi_from_token(rest)
        if value is None:
            raise _invalid(f"{_quote(text)} is not a valid DOI.")
        return Identifier(IdKind.DOI, value)
    if _has_space(text):
        return None
    value = _doi_from_token(text)
    if value is not None:
        return Identifier(IdKind.DOI, value)
    if _DOI_LIKE.match(text):
        raise _invalid(f"{_quote(text)} looks like an incomplete DOI (10.<prefix>/<suffix>).")
    return None


def _parse_arxiv(query: _Query) -> Identifier | None:
    """arXiv ids, new style (``2004.15011v3``) or old (``hep-th/9711200``), labelled or linked."""
    text = query.text
    # Before links: an old-style id such as math.GT/0309136 looks like a host and a path.
    if not _has_space(text):
        token = _trim_tail(text)
        found = _arxiv_id(token)
        if found is not None:
            return found
        if _ARXIV_NEW_SHAPE.fullmatch(token):
            raise _invalid(f"{_quote(token)} is not a valid arXiv id (YYMM.NNNNN).")
    if query.url is not None:
        if query.host not in _ARXIV_HOSTS:
            return None
        match = _ARXIV_PATH.match(query.path)
        found = _arxiv_id(match["id"]) if match else None
        if found is None:
            raise _invalid("That arXiv link has no paper id in it.")
        return found
    label = _ARXIV_LABEL.match(text)
    if label:
        rest = _trim_tail(label["rest"].strip())
        found = _arxiv_id(rest)
        if found is not None:
            return found
        if not _has_space(rest):
            raise _invalid(f"{_quote(text)} is not a valid arXiv id.")
    return None


def _parse_pmid(query: _Query) -> Identifier | None:
    """PubMed ids: ``PMID: 12345678``, PubMed and Europe PMC links, or a bare 1–8 digit number."""
    text = query.text
    if query.url is not None:
        if query.host not in _PUBMED_HOSTS:
            return None
        match = _PUBMED_PATH.match(query.path)
        if match:
            return _pmid(match["pmid"])
        if query.host == "pubmed.ncbi.nlm.nih.gov":
            raise _invalid("That PubMed link has no PMID in it.")
        return None  # ncbi.nlm.nih.gov and europepmc.org also host PMC pages
    label = _PMID_LABEL.match(text)
    if label:
        rest = _trim_tail(label["rest"].strip())
        if _PMID_DIGITS.fullmatch(rest) and rest.strip("0"):
            return _pmid(rest)
        if not _has_space(rest):
            raise _invalid(f"{_quote(text)} is not a valid PMID (1 to 8 digits).")
        return None
    token = _trim_tail(text)
    if token.isdecimal() and token.isascii():
        # A bare number can only be a PMID; a longer one is no identifier at all.
        if _PMID_DIGITS.fullmatch(token) and token.strip("0"):
            return _pmid(token)
        raise _invalid(f"{_quote(token)} is not a PMID: a bare number is read as one (1–8 digits).")
    return None


def _parse_pmcid(query: _Query) -> Identifier | None:
    """PubMed Central ids: ``PMC9933398``, ``PMCID: PMC9933398`` and PMC / Europe PMC links."""
    text = query.text
    if query.url is not None:
        if query.host not in _PMC_HOSTS:
            return None
        match = _PMC_PATH.search(query.path)
        if match:
            return _pmcid(match["digits"])
        if query.host == "pmc.ncbi.nlm.nih.gov" or query.path.lower().startswith("/pmc"):
            raise _invalid("That PubMed Central link has no PMCID in it.")
        return None
    label = _PMCID_LABEL.match(text)
    token = _trim_tail(label["rest"].strip() if label else text)
    if label and token.isdecimal() and token.isascii():
        token = "PMC" + token  # "PMCID: 9933398"
    match = _PMCID.fullmatch(token)
    if match and match["digits"].strip("0"):
        return _pmcid(match["digits"])
    if (label and not _has_space(token)) or _PMCID_LIKE.match(token):
        raise _invalid(f"{_quote(text)} is not a valid PMCID (PMC followed by digits).")
    return None


def _parse_title(query: _Query) -> Identifier:
    """The fallback: free text to search for, refused when too short or not words at all."""
    title = " ".join(query.text.split())
    letters = sum(c.isalpha() for c in title)
    words = title.split()
    if letters == 0 or (len(words) == 1 and sum(c.isdigit() for c in title) >= letters):
        # Mostly digits in one token: a mistyped identifier, not a title.
        raise _invalid(f"{_quote(title)} is not a DOI, arXiv id, PMID, PMCID or title.")
    if len(words) < MIN_TITLE_WORDS and len(title) < MIN_TITLE_CHARS:
        raise _invalid(f"{_quote(title)} is too short to search for as a title.")
    return Identifier(IdKind.TITLE, title)


_HANDLERS: tuple[Callable[[_Query], Identifier | None], ...] = (
    _parse_doi,
    _parse_arxiv,
    _parse_pmid,
    _parse_pmcid,
)
"""Order matters: a DOI link for an arXiv paper (10.48550/arXiv.…) stays a DOI, and an arXiv id
(2004.15011) is tried before the bare-number PMID rule."""


# --- DOI helpers ------------------------------------------------------------------------------


def _doi_from_url(query: _Query) -> Identifier | None:
    """The DOI in a resolver or publisher link; ``None`` for links of other schemes."""
    host = query.host
    value = _doi_from_token(query.text)
    if host in _DOI_RESOLVER_HOSTS:
        # The path of a resolver link is the DOI itself, or the link is no DOI link at all.
        if value is None or not query.path.lstrip("/").lower().startswith("10."):
            if host == "hdl.handle.net":
                raise _invalid("That handle link is not a DOI.")
            raise _invalid("That doi.org link has no DOI in it.")
        return Identifier(IdKind.DOI, value)
    if value is None:
        # Links that name the DOI in a query parameter after a percent-encoded slash.
        for _, param in parse_qsl(query.url.query if query.url else ""):
            value = _doi_from_token(param)
            if value is not None:
                break
    if value is None and host in _SUFFIX_ONLY_HOSTS:
        pattern, prefix = _SUFFIX_ONLY_HOSTS[host]
        match = pattern.match(query.path)
        if match:
            value = (prefix + match["suffix"]).lower()
    return Identifier(IdKind.DOI, value) if value else None


def _doi_from_token(token: str) -> str | None:
    """The first DOI in a token without spaces, cleaned for the context it sits in."""
    match = _DOI_START.search(token)
    if match is None:
        return None
    return _clean_doi(token[match.start() :], _doi_context(token[: match.start()]))


def _doi_context(before: str) -> _DoiContext:
    """Where a DOI sits, judged by what precedes it in its token: in plain text, right after a
    resolver (whose path is the DOI), in a link path, or in a link's query string."""
    if _DOI_RESOLVER_TAIL.search(before):
        return "resolver"
    opened = before.lstrip("<([{\"'`*")
    if "://" in before or opened.lower().startswith("www.") or _URL.match(opened):
        return "query" if "?" in before else "path"
    return "text"


def _clean_doi(candidate: str, context: _DoiContext) -> str | None:
    """Steps 2–6 of research/apis.md §6 on text that starts with ``10.``; ``None`` if no DOI."""
    candidate = _trim_tail(candidate)
    if context != "text":
        # In a link a literal "?" or "#" ends the path (a DOI's own are percent-encoded); in a
        # query string the next parameter starts at "&".
        candidate = re.split(r"[&#]" if context == "query" else r"[?#]", candidate, maxsplit=1)[0]
        candidate = _JSESSIONID.split(candidate, maxsplit=1)[0]
    if context in ("path", "query"):
        candidate = _strip_view_suffixes(candidate)
    if "%" in candidate:
        candidate = unquote(candidate)  # once: "%252F" stays "%2F", as it was sent
    candidate = _trim_tail(candidate)
    if context == "path":
        biorxiv = _BIORXIV_LINK_TAIL.fullmatch(candidate)
        if biorxiv:
            candidate = biorxiv["doi"]
    if not _DOI_FULL.fullmatch(candidate) or not candidate.isprintable():
        return None
    return candidate.lower()


def _strip_view_suffixes(candidate: str) -> str:
    """Drop trailing view pages (``/full``, ``/pdf``, ``.pdf``…) and slashes from a link path.

    A suffix goes only when what remains is still a whole DOI (``10.1234/full`` keeps its
    ``/full``). Works on an end index, so a path of many suffixes costs linear time.
    """
    head = _DOI_HEAD.match(candidate)
    # What is left is a DOI (_DOI_FULL) when it is longer than the head and has no space.
    shortest = head.end() + 1 if head else len(candidate) + 1
    longest = _SPACE.search(candidate, head.end()) if head else None
    longest_end = longest.start() if longest else len(candidate)
    end = len(candidate)
    while True:
        while end and candidate[end - 1] == "/":
            end -= 1
        for suffix in _VIEW_SUFFIXES:
            cut = end - len(suffix)
            if shortest <= cut <= longest_end and candidate[cut:end].lower() == suffix:
                end = cut
                break
        else:
            return candidate[:end]


# --- arXiv, PubMed helpers --------------------------------------------------------------------


def _arxiv_id(token: str) -> Identifier | None:
    """An arXiv identifier from exactly ``token``, or ``None`` when it is not a valid one."""
    match = _ARXIV_FULL.fullmatch(token)
    return _arxiv_from_match(match) if match else None


def _arxiv_from_match(match: re.Match[str]) -> Identifier | None:
    """Build and validate an arXiv ``Identifier`` from a match of ``_ARXIV_ID``."""
    version = int(match["version"]) if match["version"] else None
    if match["yymm"]:
        yymm, number = match["yymm"], match["number"]
        if not _valid_month(yymm) or yymm < _ARXIV_NEW_SCHEME_START:
            return None
        if len(number) != (5 if yymm >= _ARXIV_FIVE_DIGITS_START else 4):
            return None
        return Identifier(IdKind.ARXIV, f"{yymm}.{number}", version=version)
    number = match["oldnum"]
    yymm = number[:4]
    # The old scheme ran from August 1991 to March 2007.
    if not _valid_month(yymm) or not ("9108" <= yymm or yymm < _ARXIV_NEW_SCHEME_START):
        return None
    archive = match["archive"].lower()
    subject = match["subject"]
    if subject:
        # arXiv spells two-letter subject classes in capitals (math.GT, cs.AI, nlin.CD).
        archive += "." + (subject.upper() if len(subject) == 2 else subject.lower())
    return Identifier(IdKind.ARXIV, f"{archive}/{number}", version=version)


def _valid_month(yymm: str) -> bool:
    return 1 <= int(yymm[2:]) <= 12


def _pmid(digits: str) -> Identifier:
    return Identifier(IdKind.PMID, digits.lstrip("0"))


def _pmcid(digits: str) -> Identifier:
    return Identifier(IdKind.PMCID, "PMC" + digits.lstrip("0"))


# --- running text -----------------------------------------------------------------------------


def _scan(text: str) -> list[tuple[int, int, Identifier]]:
    """Identifiers in running text as ``(start, end, identifier)``, in order, none overlapping
    (an arXiv id inside its own DOI, or a PMCID inside a link with a DOI, counts once)."""
    matches = sorted(_scan_all(text), key=lambda m: (m[0], m[0] - m[1]))
    kept: list[tuple[int, int, Identifier]] = []
    end = 0
    for match in matches:
        if match[0] >= end:
            kept.append(match)
            end = match[1]
    return kept


def _scan_all(text: str) -> Iterator[tuple[int, int, Identifier]]:
    token_start = end = tried = 0
    for match in _DOI_START.finditer(text):
        start = match.start()
        if start >= end:  # the first candidate in a new token
            token_start, end, tried = _token_start(text, start), _token_end(text, start), 0
        tried += 1
        if tried > _MAX_DOI_STARTS_PER_TOKEN:
            continue
        value = _clean_doi(text[start:end], _doi_context(text[token_start:start]))
        if value is not None:
            yield start, end, Identifier(IdKind.DOI, value, raw=_trim_tail(text[start:end]))
    for match in _ARXIV_IN_TEXT.finditer(text):
        found = _arxiv_from_match(match)
        if found is not None:
            yield match.start(), match.end(), replace(found, raw=match[0])
    for match in _PMID_IN_TEXT.finditer(text):
        if match["pmid"].strip("0"):
            yield match.start(), match.end(), replace(_pmid(match["pmid"]), raw=match[0])
    for match in _PMCID_IN_TEXT.finditer(text):
        if match["digits"].strip("0"):
            yield match.start(), match.end(), replace(_pmcid(match["digits"]), raw=match[0])


def _token_start(text: str, end: int) -> int:
    """Where the whitespace-delimited token holding position ``end`` begins."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return start


def _token_end(text: str, start: int) -> int:
    match = _SPACE.search(text, start)
    return match.start() if match else len(text)


# --- small helpers ----------------------------------------------------------------------------


def _clean(text: str) -> str:
    """NFC, without invisible characters and surrounding whitespace."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text)).strip()


def _unwrap(text: str) -> str:
    """Remove quotes, backticks, Markdown and brackets that wrap the whole query, repeatedly."""
    while len(text) >= 2 and _WRAPPERS.get(text[0]) == text[-1] and _wraps_whole(text):
        text = text[1:-1].strip()
    return text


def _wraps_whole(text: str) -> bool:
    """True when the bracket opening ``text`` is the one closing it: not "(a) and (b)"."""
    opening, closing = text[0], text[-1]
    if _BRACKETS.get(closing) != opening:
        return True  # quotes and Markdown do not nest
    depth = 0
    for index, char in enumerate(text):
        depth += (char == opening) - (char == closing)
        if depth == 0:
            return index == len(text) - 1
    return False


def _query(text: str) -> _Query:
    if _ENCODED_URL.match(text):
        text = unquote(text)
    if not _URL.match(text):
        return _Query(text, None)
    # A link pasted from a sentence: "(https://arxiv.org/abs/2004.15011)." keeps its own ")".
    text = _trim_tail(text)
    try:
        url = urlsplit(text if "://" in text else "https://" + text)
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return _Query(text, None)
    return _Query(text, url)


def _trim_tail(token: str) -> str:
    """Strip trailing sentence punctuation, quotes, Markdown and unbalanced closing brackets,
    keeping brackets balanced inside the token (SICI DOIs: …(2006)87[2832:tiopma]2.0.co;2)."""
    end = len(token)
    counts: dict[str, int] | None = None  # brackets in token[:end], counted once when needed
    while end:
        last = token[end - 1]
        if last in _TRAILING_PUNCTUATION or last in _TRAILING_NOISE:
            end -= 1
            continue
        if last not in _BRACKETS:
            break
        if counts is None:
            counts = {c: token.count(c, 0, end) for c in (*_BRACKETS, *_BRACKETS.values())}
        if counts[last] <= counts[_BRACKETS[last]]:
            break
        counts[last] -= 1
        end -= 1
    return token[:end]


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)


def _quote(text: str) -> str:
    """The user's input for an error message: one line, no backticks, at most _ECHO_LIMIT."""
    shown = " ".join(text.replace("`", "").split())
    if len(shown) > _ECHO_LIMIT:
        shown = shown[: _ECHO_LIMIT - 1] + "…"
    return f"“{shown}”"


def _invalid(reason: str) -> InvalidIdentifier:
    return InvalidIdentifier(f"{reason} {_ACCEPTED}")
