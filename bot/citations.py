"""Citations (pure): ``Work`` → CSL-JSON → formatted text; the CSL-JSON export.

CSL-JSON (``to_csl``) is the one internal citation form. Formatting hands the items to
``bot.citeproc_py`` (citeproc-py with litbot's corrections, each named after the CSL 1.0.2
section it implements) with a style found by ``bot.styles`` or any .csl file; BibTeX, RIS and
their keys are ``bot.exports`` (the public names of both stay importable from here).
citeproc-js is the reference processor: the golden files in ``tests/golden/citations`` come
from it (what still differs is listed and argued in ``tests/golden/citations/DIFFERENCES.md``).

Formatting is CPU-bound and synchronous; callers run it in a worker process
(``bot.workers``, through ``bot.citing``). Parsed styles are cached by ``bot.citeproc_py`` (per
process) and each is used under its own lock. A batch of works is one bibliography (sorted,
numbered and disambiguated together): about 2.5 ms of CPU per APA entry.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from bot import citeproc_py
from bot.exports import (  # noqa: F401 (BIBTEX_TYPES, RIS_TYPES, bibtex_key: existing callers)
    BIBTEX_TYPES,
    RIS_TYPES,
    ascii_fold,
    bibtex_key,
    to_bibtex,
    to_ris,
)
from bot.markdown import doi_address, escape, url_text
from bot.models import Author, Work
from bot.names import PARTICLES
from bot.placeholders import without_placeholders
from bot.styles import (  # noqa: F401 (the registry's names, for existing callers)
    COMMON_STYLES,
    STYLE_ALIASES,
    StyleInfo,
    UnknownStyle,
    is_numeric,
    list_styles,
    lookup,
    resolve_style,
    search_styles,
    style_path,
    style_title,
)

Markup = Literal["markdown", "text", "html"]

# Work.type (bot/models.py WORK_TYPES) → CSL 1.0.2 item type. CSL has no "preprint" type: CSL
# 1.0.2 defines "article" as "a preprint, working paper, or other unpublished article", and
# citeproc-js, Zotero and pandoc all use it for preprints. Editorials, letters, errata and
# retraction notices are journal items, not personal letters.
CSL_TYPES = {
    "article": "article-journal",
    "review": "article-journal",
    "editorial": "article-journal",
    "letter": "article-journal",
    "erratum": "article-journal",
    "retraction": "article-journal",
    "preprint": "article",
    "book": "book",
    "edited-book": "book",
    "book-chapter": "chapter",
    "proceedings-article": "paper-conference",
    "dataset": "dataset",
    "software": "software",
    "dissertation": "thesis",
    "report": "report",
    "peer-review": "review",
    "standard": "standard",
    "component": "document",
    "other": "document",
}
# ---------------------------------------------------------------------------------------------
# Work → CSL-JSON


def _date_parts(work: Work) -> list[int] | None:
    if work.published:
        parts = []
        for piece in work.published.split("-")[:3]:
            if not piece.isdigit():
                break
            parts.append(int(piece))
        if parts:
            return parts
    return [work.year] if work.year else None


def _csl_name(author: Author) -> dict[str, str]:
    if author.is_organisation:
        return {"literal": " ".join(author.name.split())}
    name: dict[str, str] = {}
    family = " ".join((author.family or "").split())  # deposits pad names: "  va"
    # "van Gulik": the particle goes apart, as citeproc-js would parse it (sorting and
    # demote-non-dropping-particle depend on it).
    words = family.split(" ")
    i = 0
    while i < len(words) - 1 and words[i] in PARTICLES:
        i += 1
    if i:
        name["non-dropping-particle"] = " ".join(words[:i])
        family = " ".join(words[i:])
    name["family"] = family
    given = " ".join((author.given or "").split())
    if given and ", " in given:  # Crossref suffixes arrive as "John, Jr." (bot/sources)
        given, _, suffix = given.rpartition(", ")
        name["suffix"] = suffix
    if given:
        name["given"] = given
    return name


def to_csl(work: Work, *, item_id: str | None = None) -> dict[str, Any]:
    """A CSL-JSON item for ``work``; ``item_id`` defaults to the DOI (or the title).

    The landing-page URL is given only when there is no DOI: the DOI is the persistent link,
    and styles that print both would show two links to one page. Placeholder values ("null",
    "n/a", "-") are never written (``without_placeholders``), whatever the stored work holds.
    """
    work = without_placeholders(work)
    item: dict[str, Any] = {
        "id": item_id or work.doi or _slug(work.title),
        "type": CSL_TYPES.get(work.type or "", "article-journal"),
        "title": work.rich("title").csl(),  # CSL's own markup: <i>, <sup>, … (bot/richtext.py)
    }
    if work.authors:
        item["author"] = [_csl_name(a) for a in work.authors]
    if parts := _date_parts(work):
        item["issued"] = {"date-parts": [parts]}
    optional = {
        "container-title": work.venue,
        "volume": work.volume,
        "issue": work.issue,
        "page": work.pages,
        "publisher": work.publisher,
        "DOI": work.doi,
        "URL": None if work.doi else work.url,
        "ISSN": work.issn[0] if work.issn else None,
        "ISBN": work.isbn[0] if work.isbn else None,
        "language": work.language,
        "PMID": work.pmid,
        "PMCID": work.pmcid,
    }
    if work.type == "preprint":
        optional["genre"] = "Preprint"
    item.update({k: v for k, v in optional.items() if v})
    return item


def to_csl_json(works: Iterable[Work]) -> str:
    """The CSL-JSON export: a list of items, readable UTF-8, indented; an item's ``note`` says
    what notices say about it (a retraction, a correction), as Zotero keeps it in Extra."""
    from bot.exports import notices_note

    items = []
    for work in works:
        item = to_csl(work)
        if note := notices_note(work):
            item["note"] = note
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=2)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", ascii_fold(text).lower()).strip("-")[:60] or "item"


# ---------------------------------------------------------------------------------------------
# Formatting (CSL-JSON → bot.citeproc_py: citeproc-py with its corrections)

# In Markdown, the DOI and URL are printed by ``_put_links``: under the URL policy
# (``bot.markdown.url_text``), as a link Discord shows whole, when the style prints them as a
# URL, escaped otherwise ("doi:10.…"), and inert text when they fail the policy. They travel
# through citeproc-py as private-use marks put in by ``_verbatim`` (data cannot hold such marks:
# the engine drops them from its input).
_DOI_MARK, _URL_MARK = "\ue010", "\ue011"
_LINK_MARKS = {"DOI": _DOI_MARK, "URL": _URL_MARK}
_MARKED = re.compile(r"(https?://(?:dx\.)?doi\.org/)?\ue010|\ue011")
_LINE_START = re.compile(r"^(\d+)?(\.\s|#{1,3}\s|>|-#?\s|[-+]\s)")


def style_engine(style: str) -> citeproc_py.Engine:
    """The engine for a bundled style's name (``resolve_style``) or a path to a .csl file.

    Raises ``UnknownStyle`` for a name no bundled style has, ``citeproc_py.StyleError`` for a
    file that is not a usable CSL style.
    """
    candidate = Path(style).expanduser()
    if style.strip().lower().endswith(".csl") and candidate.is_file():
        return citeproc_py.load(candidate)
    info = lookup(resolve_style(style))
    if info is None:  # resolve_style only returns known ids
        raise UnknownStyle(style)
    return citeproc_py.load(style_path(info), info.locale)


_CITATION = re.compile(rb"<citation\b[^>]*>")
_GLOBAL_NAMES = re.compile(rb'givenname-disambiguation-rule="all-names')


@functools.lru_cache(maxsize=256)
def global_names(style: str) -> bool:
    """Whether ``style`` (a style id or a .csl file) tells given names apart across the whole
    bibliography: ``givenname-disambiguation-rule`` ``all-names`` or ``all-names-with-initials``
    with ``disambiguate-add-givenname``. Then two entries sharing any family name, not only
    their first authors', can change each other's text (CSL 1.0.2 §Disambiguation)."""
    candidate = Path(style).expanduser()
    if style.strip().lower().endswith(".csl") and candidate.is_file():
        path = candidate
    else:
        info = lookup(style)
        if info is None:
            return False
        path = style_path(info)
    try:
        tag = _CITATION.search(path.read_bytes())
    except OSError:
        return False
    if tag is None:
        return False
    return (
        b'disambiguate-add-givenname="true"' in tag.group(0)
        and _GLOBAL_NAMES.search(tag.group(0)) is not None
    )


def format_items(
    items: Sequence[dict[str, Any]],
    style: str,
    *,
    markup: Markup = "text",
) -> list[str]:
    """CSL-JSON items (from any source) as one bibliography, in the style's order.

    ``style``: a bundled style or a path to a .csl file (``style_engine``). An item that
    renders to nothing has no entry, as in citeproc-js. Markdown data is escaped
    (``bot.markdown.escape``); HTML is citeproc-js's.
    """
    engine = style_engine(style)
    entries = citeproc_py.render(engine, list(items), markup, escape=escape)
    return [text for _, text in entries if text is not None]


def format_bibliography(
    works: Sequence[Work],
    style: str,
    *,
    markup: Markup = "text",
    style_order: bool = False,
    items: Sequence[dict[str, Any]] | None = None,
) -> list[str]:
    """One formatted entry per work, in the order of ``works``.

    ``style`` is resolved with ``resolve_style`` (or is a path to a .csl file). All works form
    one bibliography, as in one export: numbers (numeric styles) follow the input order unless
    the style sorts, and works that cite alike are told apart as citeproc-js does (2023a/2023b,
    added names or given names, in the styles that ask for it). With ``style_order`` the
    entries come in the style's bibliography order instead (the order of a reference list).
    ``markup``: ``text`` (plain, for files), ``markdown`` (Discord: ``*…*``), ``html``.
    ``items``: the works' ``to_csl`` items when the caller made them already (their ids are
    replaced; they are not changed). Thread-safe; CPU-bound, so run it in a worker
    (``bot.workers``).
    """
    if not works:
        return []
    engine = style_engine(style)
    if items is None:
        items = [to_csl(work, item_id=f"w{i}") for i, work in enumerate(works)]
    else:
        items = [{**item, "id": f"w{i}"} for i, item in enumerate(items)]
    verbatim = _verbatim if markup == "markdown" else None
    entries = citeproc_py.render(engine, items, markup, escape=escape, verbatim=verbatim)
    finished = {i: _finish(text or "", markup, items[i]) for i, text in entries}
    order = [i for i, _ in entries] if style_order else range(len(works))
    return [finished[i] for i in order]


def _verbatim(variable: str, value: str) -> str:
    """Markdown: the DOI and URL as marks (``_put_links``), other verbatim data escaped."""
    return _LINK_MARKS.get(variable) or escape(value)


def _finish(text: str, markup: Markup, item: dict[str, Any]) -> str:
    if markup == "markdown":
        text = _put_links(text, item)
        # "12. Zhou…" would become a Discord list item, "> " a quote: keep them literal
        text = _LINE_START.sub(lambda m: (m.group(1) or "") + "\\" + m.group(2), text)
    return text


def _put_links(text: str, item: dict[str, Any]) -> str:
    """The DOI and URL marks of a Markdown entry replaced (see ``_LINK_MARKS``)."""
    doi, url = str(item.get("DOI") or ""), str(item.get("URL") or "")

    def put(match: re.Match[str]) -> str:
        if match.group(0) == _URL_MARK:
            return url_text(url) or escape(url)
        if prefix := match.group(1):
            return url_text(doi_address(doi, prefix)) or escape(prefix + doi)
        return escape(doi)

    return _MARKED.sub(put, text)


def format_citation(work: Work, style: str, *, markup: Markup = "text") -> str:
    """One work's bibliography entry."""
    return format_bibliography([work], style, markup=markup)[0]


def render(works: Sequence[Work], fmt: str, *, markup: Markup = "text") -> str:
    """Any export by name: ``bibtex``/``bib``, ``ris``, ``csl-json``/``json``, or a CSL style.

    Formatted styles give one entry per line in the style's bibliography order.
    """
    key = fmt.strip().casefold()
    if key in {"bibtex", "bib"}:
        return to_bibtex(works)
    if key == "ris":
        return to_ris(works)
    if key in {"csl-json", "csljson", "json", "csl"}:
        return to_csl_json(works)
    entries = format_bibliography(works, fmt, markup=markup, style_order=True)
    return "\n".join(entries) + ("\n" if entries else "")
