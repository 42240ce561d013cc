"""arXiv: the preprint's own record (Atom API), for arXiv ids and ``10.48550/arxiv.…`` DOIs.

API root ``LITBOT_ARXIV_URL`` + ``/api/query?id_list={id}``. arXiv's terms allow one request
every three seconds on one connection (``RATE_LIMITS["arxiv"]``), so ``PaperService`` asks it
as a late source beside DataCite and OpenAlex (see ``bot/papers.py``).

The body is XML and hostile like any upstream body. It is parsed by expat with a guard
(``parse_xml``): any DOCTYPE or entity declaration is refused before it is read (arXiv never
sends one, and entity expansion is how an XML bomb works), the nesting, the number of
elements and the number of entries are bounded, and a body that is not an Atom feed is the
source's failure (``up.unexpected``), like a JSON source's wrong shape.

Both recorded Atom formats are read (``../shared/fixtures/arxiv``): the one of 2025-11
(namespaces on ``<feed>``, one-line titles, links without ``rel``/``title``, an unknown id gives
``totalResults`` 0 and no entry) and the older one (hard-wrapped titles and summaries,
namespaces on each element, empty ``<entry>`` elements for ids it does not know). Nothing here
depends on ``rel``/``title`` or on line breaks.

arXiv's metadata is LaTeX-flavoured plain text (``L\\'ala``, ``G\\"odel``, ``$e^+e^-$``): names,
titles and abstracts go through ``latex_to_text``, one bounded call into pylatexenc.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

from bot.licences import ARXIV_DOI_PREFIX, arxiv_copy
from bot.models import SourceRecord, Update
from bot.sources import _common as c
from bot.sources._http import SourceError, Upstream
from bot.sources.batching import Batcher, batcher
from bot.text import clean_abstract, clean_text

log = logging.getLogger(__name__)

NAME = "arxiv"
PATH = "/api/query"
ATOM = "{http://www.w3.org/2005/Atom}"
WITHDRAWN = re.compile(
    r"(?:^|[.;]\s*)(?:this \w+ (?:has been|is|was) )?withdrawn\b"
    r"|\bwithdrawn by (?:the )?authors?\b",
    re.IGNORECASE,
)
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

# One id's answer is a few KB with a dozen elements per author; a search page of 10 entries
# ~20 KB. Beyond these the body is not an answer to litbot's request.
MAX_ENTRIES = 100
MAX_ELEMENTS = 200_000
MAX_DEPTH = 16

# LaTeX decoding costs pylatexenc 10-30 µs a character and recurses once per brace level.
MAX_LATEX_CHARS = 8_000  # per field; arXiv limits abstracts to 1,920 characters
MAX_LATEX_DEPTH = 24  # brace nesting; pylatexenc's recursion would otherwise reach the limit
LATEX_BUDGET_CHARS = 40_000  # per entry (title, abstract, every author name)
LATEX_BUDGET_SECONDS = 0.25  # per entry, measured: past it, the rest stays as written

_ENTRY_ID = re.compile(r"arxiv\.org/abs/(?P<id>.+?)(?:v(?P<version>\d+))?/?$", re.IGNORECASE)
_DATE = re.compile(r"^(?P<date>(?P<year>\d{4})-\d{2}-\d{2})")


class FeedError(ValueError):
    """A body that is not a plain, bounded XML document."""


# -- XML, guarded ------------------------------------------------------------------------------


def _refuse(what: str):
    def handler(*_args: object) -> None:
        raise FeedError(f"{what} refused")

    return handler


def parse_xml(body: bytes) -> ET.Element:
    """``body`` as an element tree, refusing DTDs and entities and bounding its size.

    Namespaces come out as ``{uri}local`` (ElementTree's form). Raises ``FeedError`` or
    ``expat.ExpatError`` for anything else than a plain, bounded XML document.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    depth = elements = entries = 0

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, elements, entries
        depth += 1
        elements += 1
        if depth > MAX_DEPTH:
            raise FeedError(f"XML nested deeper than {MAX_DEPTH}")
        if elements > MAX_ELEMENTS:
            raise FeedError(f"more than {MAX_ELEMENTS:,} XML elements")
        tag = name(tag)
        if tag == f"{ATOM}entry":
            entries += 1
            if entries > MAX_ENTRIES:
                raise FeedError(f"more than {MAX_ENTRIES} entries")
        builder.start(tag, {name(k): v for k, v in attrs.items()})

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(name(tag))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    # arXiv never sends a DTD; one is how entity-expansion bombs and external entities come in.
    parser.StartDoctypeDeclHandler = _refuse("DOCTYPE")
    parser.EntityDeclHandler = _refuse("ENTITY declaration")
    parser.UnparsedEntityDeclHandler = _refuse("ENTITY declaration")
    parser.NotationDeclHandler = _refuse("NOTATION declaration")
    parser.ExternalEntityRefHandler = _refuse("external entity")
    parser.Parse(body, True)
    return builder.close()


# -- LaTeX ---------------------------------------------------------------------------------------


@functools.cache
def _decoder() -> Any:
    """pylatexenc's decoder, imported and built when arXiv text first holds LaTeX (a DOI
    lookup in the terminal never pays for it)."""
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", keep_braced_groups=False)


# Text without any of these comes back from pylatexenc unchanged (after the protection below).
_LATEX_MARKUP = re.compile(r"[\\${}]|--|``|''")
# In arXiv's plain text "50%", "R&D" and "~10 GeV" mean what they say; to LaTeX they are a
# comment (eating the rest of the line), an alignment tab and a no-break space.
_PROTECT = {"%": "\ue000", "&": "\ue001", "~": "\ue002", "$": "\ue003"}
_UNPROTECT = str.maketrans({v: k for k, v in _PROTECT.items()})
_PLACEHOLDERS = re.compile("[\ue000-\ue003]")
_BARE = re.compile(r"(?<!\\)[%&~]")
_BARE_DOLLAR = re.compile(r"(?<!\\)\$")


def _brace_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "}":
            depth = max(0, depth - 1)
    return deepest


def latex_to_text(text: str) -> str:
    """arXiv's LaTeX-flavoured text as Unicode: accents (``L\\'ala`` → Lála, ``\\v{S}`` → Š,
    ``\\c{c}`` → ç, ``\\aa`` → å, ``\\ss`` → ß), ``--`` → –, ``$\\alpha$-helix`` → α-helix,
    ``$e^+e^-$`` → e^+e^-; braces dropped.

    Bounded: text without LaTeX markup is returned as it is, so is text longer than
    ``MAX_LATEX_CHARS`` or nested deeper than ``MAX_LATEX_DEPTH``, and text pylatexenc cannot
    read (it is hostile or broken, and shown as written rather than lost).
    """
    text = _PLACEHOLDERS.sub("", text)
    if not _LATEX_MARKUP.search(text) or len(text) > MAX_LATEX_CHARS:
        return text
    if _brace_depth(text) > MAX_LATEX_DEPTH:
        return text
    protected = _BARE.sub(lambda m: _PROTECT[m.group()], text)
    if len(_BARE_DOLLAR.findall(protected)) % 2:  # "costs $5": a dollar, not math
        protected = _BARE_DOLLAR.sub(_PROTECT["$"], protected)
    try:
        decoded = _decoder().latex_to_text(protected)
    except Exception:  # RecursionError, or a pylatexenc bug reached by odd input
        log.info("arxiv: LaTeX left as written (%d characters)", len(text))
        return text
    return decoded.translate(_UNPROTECT)


@dataclass
class _Budget:
    """LaTeX decoding for one entry, within ``LATEX_BUDGET_CHARS`` and ``_SECONDS``."""

    chars: int = LATEX_BUDGET_CHARS
    started: float = field(default_factory=time.monotonic)

    def decode(self, text: str) -> str:
        if not _LATEX_MARKUP.search(text):
            return text
        if len(text) > self.chars or time.monotonic() - self.started > LATEX_BUDGET_SECONDS:
            return text
        self.chars -= len(text)
        return latex_to_text(text)


# -- the feed --------------------------------------------------------------------------------


def _text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = " ".join("".join(element.itertext()).split())  # old format hard-wraps lines
    return text or None


def _date(value: str | None) -> tuple[int | None, str | None]:
    if value and (m := _DATE.match(value.strip())):
        return int(m["year"]), m["date"]
    return None, None


def entry_id(entry: ET.Element) -> tuple[str, int | None] | None:
    """``(id, version)`` of an entry (``("2201.13452", 1)``); ``None`` for the empty entries
    the old format gives for unknown ids, and for arXiv's error entries."""
    raw = _text(entry.find(f"{ATOM}id"))
    m = _ENTRY_ID.search(raw or "")
    if not m:
        return None
    return m["id"].lower(), int(m["version"]) if m["version"] else None


def parse_entry(entry: ET.Element) -> SourceRecord | None:
    """One Atom ``<entry>`` → ``SourceRecord``; ``None`` for an entry that is no paper."""
    ident = entry_id(entry)
    if ident is None:
        return None
    arxiv_id, version = ident
    latex = _Budget()
    title = _text(entry.find(f"{ATOM}title"))
    summary = _text(entry.find(f"{ATOM}summary"))
    authors = []
    for person in entry.findall(f"{ATOM}author")[: c.MAX_AUTHORS]:
        name = _text(person.find(f"{ATOM}name"))
        author = c.author_from_display(latex.decode(name)) if name else None
        if author:
            authors.append(author)
    year, published = _date(_text(entry.find(f"{ATOM}published")))
    _, updated = _date(_text(entry.find(f"{ATOM}updated")))
    primary = entry.find(f"{ARXIV}primary_category")
    category = (primary.get("term") or "").strip() if primary is not None else ""
    comment = _text(entry.find(f"{ARXIV}comment")) or ""
    # A withdrawn paper's last version says so in its comment ("This paper has been withdrawn
    # by the author(s)"; arXiv's help on withdrawals); its date is that version's.
    withdrawn = WITHDRAWN.search(comment) is not None
    doi_text = _text(entry.find(f"{ARXIV}doi")) or ""
    # arXiv lets authors give several DOIs, separated by spaces; the first is the article's.
    published_doi = c.bare_doi(doi_text.split()[0]) if doi_text else None
    return SourceRecord(
        source=NAME,
        doi=ARXIV_DOI_PREFIX + arxiv_id,
        title=clean_text(latex.decode(title)) if title else None,
        authors=tuple(authors),
        year=year,
        published=published,  # the first version's date: when the work became public
        date_field="published",
        updated=updated,
        venue="arXiv",
        type="preprint",
        publisher="arXiv",
        url=f"https://arxiv.org/abs/{arxiv_id}",
        abstract=clean_abstract(latex.decode(summary)) if summary else None,
        locations=(arxiv_copy(arxiv_id),),
        arxiv=arxiv_id,
        arxiv_version=version,
        arxiv_category=clean_text(category) if category else None,
        published_doi=published_doi,
        journal_ref=clean_text(_text(entry.find(f"{ARXIV}journal_ref"))),
        updates=(Update("withdrawal", date=updated, source=NAME),) if withdrawn else (),
    )


def feed_entries(body: bytes) -> list[ET.Element]:
    """The ``<entry>`` elements of an Atom feed; ``FeedError`` when the body is no feed."""
    root = parse_xml(body)
    if root.tag != f"{ATOM}feed":
        raise FeedError(f"root element {root.tag[:80]!r} is not an Atom feed")
    return root.findall(f"{ATOM}entry")


def parse_feed(body: bytes) -> list[SourceRecord]:
    """Every paper in a feed, in order (a search page; tests read the recorded feeds)."""
    return [r for r in (parse_entry(e) for e in feed_entries(body)) if r is not None]


# Ids per request: arXiv's API takes a comma-separated id_list; 50 keeps the URL short.
MAX_BATCH = 50


async def fetch(up: Upstream, arxiv_id: str) -> SourceRecord | None:
    """The paper ``arxiv_id`` (no version: the latest); ``None`` when arXiv does not know it.

    Lookups waiting for arXiv's turn (one request every 3 seconds) share one ``id_list``
    request (``bot.sources.batching``): re-checking a library of preprints takes a request
    per fifty, not per paper."""
    lookups = batcher(
        up,
        "id",
        lambda: Batcher(
            up,
            lambda one: _fetch_ids(up, [one], acquired=True),
            lambda ids: _fetch_ids(up, ids, acquired=True),
            max_size=MAX_BATCH,
            batchable=lambda i: "," not in i,
        ),
    )
    return await lookups.get(arxiv_id.lower())


async def _fetch_ids(
    up: Upstream, ids: Sequence[str], *, acquired: bool = False
) -> dict[str, SourceRecord | SourceError | None] | SourceRecord | None:
    """One feed for ``ids``: each id's record (``None`` when arXiv does not know it); a single
    id gives its record itself (the batcher's single-key form)."""
    params = {"id_list": ",".join(ids)}
    if len(ids) > 1:
        params["max_results"] = str(len(ids))
    body = await up.get_bytes(PATH, params, acquired=acquired)
    found: dict[str, SourceRecord | SourceError | None] = {}
    if body is not None:
        try:
            entries = feed_entries(body)
        except (FeedError, expat.ExpatError, ValueError, RecursionError) as exc:
            log.warning("%s: unusable XML for %s: %s", NAME, ",".join(ids)[:80], str(exc)[:200])
            raise SourceError(NAME, "malformed XML") from exc
        wanted = set(ids)
        for entry in entries:
            ident = entry_id(entry)
            if ident is None or ident[0] not in wanted or ident[0] in found:
                continue  # an old-format empty entry, an error entry, or another paper
            record = parse_entry(entry)
            found[ident[0]] = record if record is not None and record.title else up.unexpected(PATH)
    if len(ids) == 1:
        answer = found.get(ids[0])
        if isinstance(answer, SourceError):
            raise answer
        return answer
    return found
