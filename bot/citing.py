"""CiteService: a work (or many) in a citation style or a bibliography format, cached.

Pure formatting lives in ``bot.citations`` (styles) and ``bot.exports`` (BibTeX, RIS); this
layer adds the lookups, the per-scope default style, the SQLite cache of formatted strings, the
BibTeX key a saved entry already has, and the worker thread, so the event loop never runs
citeproc. Cogs, the CLI and exports all come through here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot import citations, exports
from bot.models import Identifier, Work
from bot.names import fold
from bot.papers import PaperService
from bot.storage.bibliographies import BibliographyStore, Owner
from bot.storage.citations import CitationCache
from bot.storage.preferences import CITATION_STYLE, Preferences, Scope
from bot.storage.works import work_key
from bot.styles import is_numeric, style_title

log = logging.getLogger(__name__)

Markup = Literal["markdown", "text"]
DEFAULT_STYLE = "apa"
# Bumped whenever the formatting code changes what it prints, so cached strings are redone.
# 2: Markdown through bot.markdown (escaper, URL policy); 3: titles as rich text
FORMAT_VERSION = "3"
INLINE_DIGESTS = 50

FORMATS: dict[str, tuple[str, str, str]] = {
    # target: (label, file extension, Discord code-block language)
    "bibtex": ("BibTeX", "bib", "bibtex"),
    "ris": ("RIS", "ris", ""),
    "csl-json": ("CSL-JSON", "json", "json"),
}
FORMAT_ALIASES = {
    "bibtex": "bibtex",
    "bib": "bibtex",
    "biblatex": "bibtex",
    "ris": "ris",
    "csl-json": "csl-json",
    "csljson": "csl-json",
    "csl json": "csl-json",
    "json": "csl-json",
}


@dataclass(frozen=True, slots=True)
class Formatted:
    text: str
    target: str  # a CSL style id, or bibtex / ris / csl-json
    label: str  # what to call it in a message: "APA 7th edition", "BibTeX"
    extension: str  # for a file: md / txt / bib / ris / json
    code_language: str | None  # set for machine formats, shown in a code block in Discord

    @property
    def is_style(self) -> bool:
        return self.target not in FORMATS


def resolve_target(name: str | None) -> str:
    """A style id or a format name; ``UnknownStyle`` (with close matches) otherwise."""
    if not name or not name.strip():
        return DEFAULT_STYLE
    key = " ".join(name.strip().lower().split())
    if key in FORMAT_ALIASES:
        return FORMAT_ALIASES[key]
    return citations.resolve_style(key)


def digest(work: Work) -> str:
    """What a cached citation was made from: the work's CSL input and the formatter version."""
    data = json.dumps(citations.to_csl(work, item_id="x"), sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(f"{FORMAT_VERSION}\0{data}".encode(), digest_size=16).hexdigest()


def _author_groups(works: Sequence[Work]) -> list[list[int]]:
    """Indexes of ``works`` grouped by first author (folded family name), in first-seen order.

    Entries whose first authors differ cannot affect each other in an author-date style; those
    that share one can (2023a/2023b, ``———`` for a repeated author) and are formatted together.
    """
    groups: dict[str, list[int]] = {}
    for i, work in enumerate(works):
        first = work.authors[0] if work.authors else None
        key = fold(first.family or first.name) if first else f"#{i}"
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _scope(guild_id: int | None, user_id: int | None) -> tuple[Scope, int]:
    """Preferences belong to the server in a server, to the person in DMs."""
    if guild_id is not None:
        return "guild", guild_id
    assert user_id is not None
    return "user", user_id


def _format_parts(parts: list[list[Work]], style: str, markup: Markup) -> list[list[str]]:
    return [citations.format_bibliography(part, style, markup=markup) for part in parts]


class CiteService:
    def __init__(
        self,
        papers: PaperService,
        cache: CitationCache,
        preferences: Preferences,
        *,
        default_style: str = DEFAULT_STYLE,
        bibliographies: BibliographyStore | None = None,
    ) -> None:
        self.papers = papers
        self.cache = cache
        self.preferences = preferences
        self.fallback_style = default_style
        self.bibliographies = bibliographies  # for the keys of saved entries (BibTeX)

    async def default_style(self, *, guild_id: int | None, user_id: int | None) -> str:
        """The server's style in a server, the user's own in DMs; else APA."""
        if guild_id is None and user_id is None:
            return self.fallback_style
        scope, scope_id = _scope(guild_id, user_id)
        stored = await self.preferences.get(scope, scope_id, CITATION_STYLE)
        return stored or self.fallback_style

    async def set_default_style(
        self, style: str | None, *, guild_id: int | None, user_id: int
    ) -> str | None:
        """Store the default (``None`` resets it); returns the resolved style id."""
        # a title or a typo searches the style list: off the event loop
        resolved = await asyncio.to_thread(citations.resolve_style, style) if style else None
        scope, scope_id = _scope(guild_id, user_id)
        await self.preferences.set(scope, scope_id, CITATION_STYLE, resolved, by=user_id)
        return resolved

    async def cite(
        self,
        ident: Identifier,
        target: str | None = None,
        *,
        markup: Markup = "markdown",
        guild_id: int | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
    ) -> tuple[Work, Formatted]:
        """One work's citation. As BibTeX, a work saved in one of the server's (in DMs, the
        user's) bibliographies keeps that entry's key (``saved_key``)."""
        if target is None:
            target = await self.default_style(guild_id=guild_id, user_id=user_id)
        target = resolve_target(target)  # an unknown style is refused before any lookup
        work = await self.papers.lookup(ident)
        keys = None
        if target == "bibtex":
            keys = [await self.saved_key(work, guild_id, user_id, channel_id)]
        return work, await self.format([work], target, markup=markup, keys=keys)

    async def saved_key(
        self, work: Work, guild_id: int | None, user_id: int | None, channel_id: int | None
    ) -> str | None:
        """The BibTeX key ``work`` has in the scope's bibliographies: the channel's default
        bibliography first, then the entry saved first; ``None`` when it is not saved."""
        if self.bibliographies is None or (guild_id is None and user_id is None):
            return None
        owner = Owner.guild(guild_id) if guild_id is not None else Owner.user(user_id or 0)
        return await self.bibliographies.saved_key(owner, work_key(work), channel_id)

    async def format(
        self,
        works: Sequence[Work],
        target: str,
        *,
        markup: Markup = "markdown",
        keys: Sequence[str | None] | None = None,
    ) -> Formatted:
        """``works`` in ``target`` (a style name, alias or format); entries in the order given.
        ``keys``: BibTeX keys to keep, one per work (``None`` for a new one)."""
        target = resolve_target(target)
        if target in FORMATS:
            label, extension, language = FORMATS[target]
            if target == "bibtex":
                text = await asyncio.to_thread(exports.to_bibtex, list(works), keys)
            else:
                text = await asyncio.to_thread(citations.render, list(works), target, markup="text")
            return Formatted(text, target, label, extension, language)
        entries = await self.entries(works, target, markup=markup)
        separator = "\n\n" if markup == "markdown" else "\n"
        return Formatted(
            separator.join(entries),
            target,
            style_title(target),
            "md" if markup == "markdown" else "txt",
            None,
        )

    async def entries(
        self, works: Sequence[Work], style: str, *, markup: Markup = "markdown"
    ) -> list[str]:
        """One formatted entry per work, in the order given.

        Entries that stand alone are cached per (work, style, markup); works sharing a first
        author are formatted together (uncached) so disambiguation stays right; numbered
        styles format the whole list in one go, since an entry's number is its position.
        All citeproc work runs in one worker-thread call.
        """
        if not works:
            return []
        if len(works) > 1 and is_numeric(style):
            return await asyncio.to_thread(
                citations.format_bibliography, list(works), style, markup=markup
            )
        groups = _author_groups(works)
        alone = [g[0] for g in groups if len(g) == 1]
        shared = [g for g in groups if len(g) > 1]

        def key_and_digest() -> tuple[dict[int, str], dict[str, str]]:
            keys = {i: work_key(works[i]) for i in alone}
            return keys, {keys[i]: digest(works[i]) for i in alone}

        if len(alone) > INLINE_DIGESTS:  # a big export: hashing off the event loop
            keys, digests = await asyncio.to_thread(key_and_digest)
        else:
            keys, digests = key_and_digest()
        found = await self.cache.get_many(digests, style, markup)
        missing = [i for i in alone if keys[i] not in found]
        parts = ([[works[i] for i in missing]] if missing else []) + [
            [works[i] for i in group] for group in shared
        ]
        out: list[str | None] = [
            found.get(keys[i]) if i in keys else None for i in range(len(works))
        ]
        if parts:
            formatted = await asyncio.to_thread(_format_parts, parts, style, markup)
            if missing:
                fresh = formatted.pop(0)
                for i, text in zip(missing, fresh, strict=True):
                    out[i] = text
                await self.cache.put_many(
                    ((keys[i], digests[keys[i]], out[i] or "") for i in missing), style, markup
                )
            for group, texts in zip(shared, formatted, strict=True):
                for i, text in zip(group, texts, strict=True):
                    out[i] = text
        return [text or "" for text in out]
