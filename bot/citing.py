"""CiteService: a work (or many) in a citation style or a bibliography format, cached.

Pure formatting lives in ``bot.citations`` (styles) and ``bot.exports`` (BibTeX, RIS); this
layer adds the lookups, the per-scope default style, the SQLite cache of formatted strings, the
BibTeX key a saved entry already has, and the worker processes (``bot.workers``), so the event
loop never runs citeproc. Cogs, the CLI and exports all come through here.

Many entries in a style are formatted in chunks, each chunk one citeproc bibliography in the
bulk pool. Entries whose first authors' folded family names differ cannot change each other's
text in a style's bibliography: ambiguous citations (2023a/2023b, added names, initials) and
a repeated author (``———``) all start from the same first author, so a chunk holds whole
groups of one first author (``author_groups``) and the chunks concatenate to exactly what one
whole-list citeproc run prints (``tests/test_citing.py`` checks it). Works without authors are
one group (a style cites them by title, or by what stands in for an author). Two kinds of style
are formatted whole instead, up to citeproc's ``MAX_ITEMS``: numbered styles (an entry's
number is its position) and styles that tell given names apart across the whole bibliography
(``citations.global_names``: any shared family name, not only the first author's, matters).
Known limit: a first author written with and without a particle ("van Gulik", "Gulik") is two
groups, though a style's global given-name rule could count them as one family.

Each entry is cached per (work, style, markup) with the digest of its CSL input; an entry of a
group of several is cached with the digest of its whole group, so it is served again only while
its group is unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from bot import citations, exports, styles
from bot.citeproc_py import engine as citeproc_engine
from bot.errors import LitError
from bot.models import Identifier, Work
from bot.papers import PaperService
from bot.storage.bibliographies import BibliographyStore, Owner, first_author_key
from bot.storage.citations import CitationCache
from bot.storage.preferences import CITATION_STYLE, Preferences, Scope
from bot.storage.works import work_key
from bot.styles import STYLE_ALIASES, is_numeric, lookup, style_title
from bot.workers import Workers, in_order

log = logging.getLogger(__name__)

Markup = Literal["markdown", "text"]
DEFAULT_STYLE = "apa"
# Bumped whenever the formatting code changes what it prints, so cached strings are redone.
# 2: Markdown through bot.markdown (escaper, URL policy); 3: titles as rich text
FORMAT_VERSION = "3"
INLINE_DIGESTS = 50  # works digested on the event loop; more in a worker
LIGHT_MAX = 20  # works formatted in the interactive pool; more are a bulk (heavy) job
CHUNK = 500  # entries per bulk formatting job (whole groups: a chunk may be larger)
MAX_WHOLE = citeproc_engine.MAX_ITEMS  # entries one citeproc run formats

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
# How the chunks of a streamed export join: what goes between two chunks, and around them all.
SEPARATORS = {"bibtex": "\n\n", "ris": "\n", "csl-json": ",\n"}
ENVELOPES = {"csl-json": ("[\n", "\n]")}


class TooManyEntries(LitError):
    """More entries than one citeproc run formats, in a style that needs them together."""

    exit_code = 2


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


def _key(name: str) -> str:
    return " ".join(name.strip().lower().split())


def resolve_target(name: str | None) -> str:
    """A style id or a format name; ``UnknownStyle`` (with close matches) otherwise."""
    if not name or not name.strip():
        return DEFAULT_STYLE
    key = _key(name)
    if key in FORMAT_ALIASES:
        return FORMAT_ALIASES[key]
    return citations.resolve_style(key)


def quick_target(name: str | None) -> str | None:
    """``resolve_target`` when it needs no search (a format, an alias, an id); else ``None``."""
    if not name or not name.strip():
        return DEFAULT_STYLE
    key = _key(name)
    if key in FORMAT_ALIASES:
        return FORMAT_ALIASES[key]
    key = key.removesuffix(".csl")  # as citations.resolve_style reads it
    for candidate in (key, key.replace(" ", "-")):
        if candidate in STYLE_ALIASES:
            return STYLE_ALIASES[candidate]
        if lookup(candidate):
            return candidate
    return None


def style_options(query: str, limit: int = 25) -> list[tuple[str, str]]:
    """(label, value) pairs for a style autocomplete: matching machine formats first, then the
    best style matches (``bot.styles.search_styles``). A worker job: the search reads the
    registry of ~10,800 styles."""
    query = query.strip().lower()
    options = [
        (f"{label} (file format)", key)
        for key, (label, _, _) in FORMATS.items()
        if query and (query in key or query in label.lower())
    ]
    for style in styles.search_styles(query, limit=limit - len(options)):
        name = style.title if len(style.title) <= 100 else style.title[:99] + "…"
        options.append((name, style.id))
    return options[:limit]


def digest(work: Work) -> str:
    """What a cached citation was made from: the work's CSL input and the formatter version."""
    return csl_digest(citations.to_csl(work, item_id="x"))


def csl_digest(item: dict) -> str:
    """``digest`` of a work's CSL-JSON item made with ``item_id="x"``."""
    data = json.dumps(item, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(f"{FORMAT_VERSION}\0{data}".encode(), digest_size=16).hexdigest()


def author_groups(works: Sequence[Work]) -> list[list[int]]:
    """Indexes of ``works`` grouped by first author (the folded family name, as stored for
    sorting), in first-seen order; works without authors form one group. Entries of different
    groups cannot change each other's text in a style's bibliography (module docstring)."""
    groups: dict[str, list[int]] = {}
    for i, work in enumerate(works):
        groups.setdefault(first_author_key(work), []).append(i)
    return list(groups.values())


def decode(items: Sequence[Work | str]) -> list[Work]:
    """Works, or entries' stored JSON decoded into works (in a worker, for many)."""
    return [w if isinstance(w, Work) else Work.from_dict(json.loads(w)) for w in items]


def context_digests(
    works: Sequence[Work], items: Sequence[dict] | None = None
) -> tuple[list[str], list[str], list[list[int]]]:
    """Work keys, the digest each entry is cached under, and the groups: a work alone is
    cached under its own digest; a work of a group under the digest of its whole group (every
    member's input, in order) and its place in it. ``items``: the works' CSL-JSON items
    (``to_csl(work, item_id="x")``) when already made."""
    keys = [work_key(w) for w in works]
    own = [digest(w) for w in works] if items is None else [csl_digest(i) for i in items]
    groups = author_groups(works)
    context = list(own)
    for group in groups:
        if len(group) > 1:
            joined = "\0".join(own[i] for i in group)
            for place, i in enumerate(group):
                data = f"{FORMAT_VERSION}\0group\0{place}\0{joined}".encode()
                context[i] = hashlib.blake2b(data, digest_size=16).hexdigest()
    return keys, context, groups


def chunk_digests(items: Sequence[Work | str]) -> tuple[list[str], list[str], list[list[int]]]:
    """``context_digests`` of works or stored JSON (a worker job)."""
    return context_digests(decode(items))


def format_entries(items: Sequence[Work | str], style: str, markup: Markup) -> list[str]:
    """One citeproc bibliography of ``items``, entries in the order given (a worker job)."""
    return citations.format_bibliography(decode(items), style, markup=markup)


def digests_and_entries(
    items: Sequence[Work | str], style: str, markup: Markup
) -> tuple[list[str], list[str], list[str]]:
    """``chunk_digests`` and ``format_entries`` of one chunk at once, its stored JSON decoded
    once (a worker job: a chunk none of whose works has a citation cached in this style)."""
    works = decode(items)
    csl = [citations.to_csl(work, item_id="x") for work in works]
    keys, digests, _ = context_digests(works, csl)
    return keys, digests, citations.format_bibliography(works, style, markup=markup, items=csl)


def machine_text(
    target: str, items: Sequence[Work | str], keys: Sequence[str | None] | None
) -> str:
    """``items`` as BibTeX (``keys`` kept where usable), RIS or CSL-JSON (a worker job)."""
    works = decode(items)
    if target == "bibtex":
        return exports.to_bibtex(works, keys)
    return citations.render(works, target, markup="text")


def machine_chunk(target: str, items: Sequence[Work | str], keys: Sequence[str] | None) -> str:
    """One chunk of a streamed export: joined by ``SEPARATORS`` and wrapped in ``ENVELOPES``,
    the chunks are ``machine_text`` of all their items (a worker job)."""
    text = machine_text(target, items, keys)
    if target in ENVELOPES:
        opening, closing = ENVELOPES[target]
        text = text[len(opening) : -len(closing)]
    return text


def key_stems(items: Sequence[Work | str]) -> list[str]:
    """``exports.key_base`` of each work (a worker job)."""
    return [exports.key_base(work) for work in decode(items)]


def whole_list(style: str) -> bool:
    """Whether ``style`` formats a list whole (numbered, or names told apart list-wide)."""
    return is_numeric(style) or citations.global_names(style)


def _scope(guild_id: int | None, user_id: int | None) -> tuple[Scope, int]:
    """Preferences belong to the server in a server, to the person in DMs."""
    if guild_id is not None:
        return "guild", guild_id
    assert user_id is not None
    return "user", user_id


def _pack(groups: list[list[int]], size: int) -> list[list[int]]:
    """Groups packed into chunks of about ``size`` indexes, never splitting a group."""
    chunks: list[list[int]] = [[]]
    for group in groups:
        if chunks[-1] and len(chunks[-1]) + len(group) > size:
            chunks.append([])
        chunks[-1].extend(group)
    return [chunk for chunk in chunks if chunk]


class CiteService:
    def __init__(
        self,
        papers: PaperService,
        cache: CitationCache,
        preferences: Preferences,
        *,
        default_style: str = DEFAULT_STYLE,
        bibliographies: BibliographyStore | None = None,
        workers: Workers | None = None,
    ) -> None:
        self.papers = papers
        self.cache = cache
        self.preferences = preferences
        self.fallback_style = default_style
        self.bibliographies = bibliographies  # for the keys of saved entries (BibTeX)
        self.workers = workers or Workers.inline()

    async def resolve(self, name: str | None) -> str:
        """``resolve_target`` off the event loop when it has to search the ~10,800 styles."""
        quick = quick_target(name)
        if quick is not None:
            return quick
        return await self.workers.run(resolve_target, name)

    async def style_options(self, query: str, limit: int = 25) -> list[tuple[str, str]]:
        """``style_options`` in the interactive worker."""
        return await self.workers.run(style_options, query, limit)

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
        resolved = await self._style(style) if style else None
        scope, scope_id = _scope(guild_id, user_id)
        await self.preferences.set(scope, scope_id, CITATION_STYLE, resolved, by=user_id)
        return resolved

    async def _style(self, name: str) -> str:
        key = _key(name)
        if key in FORMAT_ALIASES:  # as citations.resolve_style: a style, never a format
            return await self.workers.run(citations.resolve_style, name)
        return await self.resolve(name)

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
        target = await self.resolve(target)  # an unknown style is refused before any lookup
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
        target = await self.resolve(target)
        if target in FORMATS:
            label, extension, language = FORMATS[target]
            text = await self.workers.run(
                machine_text,
                target,
                list(works),
                list(keys) if keys is not None else None,
                heavy=len(works) > LIGHT_MAX,
            )
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
        """One formatted entry per work, in the order given: what one citeproc bibliography
        of all of them prints, from the cache where it can be, in chunks of whole author
        groups otherwise (module docstring). Up to ``LIGHT_MAX`` works run in the interactive
        pool, more in the bulk pool, several chunks at once."""
        works = list(works)
        if not works:
            return []
        heavy = len(works) > LIGHT_MAX
        if len(works) > 1 and whole_list(style):
            return await self._whole(works, style, markup, heavy=heavy)
        chunks = _pack(author_groups(works), CHUNK)
        out: list[str] = [""] * len(works)

        async def jobs() -> AsyncIterator[asyncio.Future[list[str]]]:
            for chunk in chunks:
                part = [works[i] for i in chunk]
                stored = [work_key(w) for w in part] if heavy else None
                yield asyncio.ensure_future(
                    self._chunk(part, style, markup, heavy=heavy, stored_keys=stored)
                )

        done = in_order(jobs(), self.workers.bulk_size if heavy else 1)
        for chunk, texts in zip(chunks, [texts async for texts in done], strict=True):
            for i, text in zip(chunk, texts, strict=True):
                out[i] = text
        return out

    async def entries_of(
        self, items: Sequence[Work | str], style: str, *, markup: Markup = "text"
    ) -> list[str]:
        """``entries`` of works or stored JSON that form one whole list (a numbered or
        ``global_names`` style's export), in the bulk pool."""
        if whole_list(style) and len(items) > 1:
            return await self._whole(items, style, markup, heavy=True)
        return await self._chunk(items, style, markup, heavy=True)

    async def stream(
        self,
        chunks: AsyncIterator[tuple[Sequence[str] | None, Sequence[Work | str]]],
        style: str,
        *,
        markup: Markup = "text",
    ) -> AsyncIterator[list[str]]:
        """Entries chunk by chunk, in order, as many chunks at once as there are bulk
        workers. Each chunk (its works' keys, when known, and its works or their stored JSON)
        must hold whole author groups (an export in author order, cut between first
        authors)."""

        async def jobs() -> AsyncIterator[asyncio.Future[list[str]]]:
            async for stored, chunk in chunks:
                yield asyncio.ensure_future(
                    self._chunk(chunk, style, markup, heavy=True, stored_keys=stored)
                )

        async for texts in in_order(jobs(), self.workers.bulk_size + 1):  # workers kept fed
            yield texts

    async def _whole(
        self, items: Sequence[Work | str], style: str, markup: Markup, *, heavy: bool
    ) -> list[str]:
        if len(items) > MAX_WHOLE:
            raise TooManyEntries(
                f"{style_title(style)} formats at most {MAX_WHOLE:,} entries together "
                f"({'it numbers them' if is_numeric(style) else 'it compares every name'}); "
                "export fewer (by tag), or as BibTeX, RIS or CSL-JSON."
            )
        return await self.workers.run(format_entries, list(items), style, markup, heavy=heavy)

    async def _chunk(
        self,
        items: Sequence[Work | str],
        style: str,
        markup: Markup,
        *,
        heavy: bool,
        stored_keys: Sequence[str] | None = None,
    ) -> list[str]:
        """Entries of ``items`` (whole author groups): cached ones from the cache, the groups
        with any entry missing formatted in one citeproc run, then cached. ``stored_keys``:
        the works' keys (as stored, or ``work_key``); when none of them has a citation cached in
        this style, the chunk is digested and formatted in one bulk job (a cold export decodes
        each work once)."""
        if (
            heavy
            and stored_keys is not None
            and len(items) <= MAX_WHOLE
            and not await self.cache.any_of(stored_keys, style, markup)
        ):
            return await self._cold_chunk(items, style, markup)
        if not heavy and len(items) <= INLINE_DIGESTS and all(isinstance(i, Work) for i in items):
            keys, digests, groups = context_digests(items)  # type: ignore[arg-type]
        else:
            keys, digests, groups = await self.workers.run(chunk_digests, list(items), heavy=heavy)
        first: dict[str, int] = {}  # a work twice in a list is looked up (and stored) once
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        found = await self.cache.get_many(
            {key: digests[i] for key, i in first.items()}, style, markup
        )
        out: list[str | None] = [None] * len(items)
        for key, i in first.items():
            out[i] = found.get(key)
        need = sorted(i for group in groups if any(out[j] is None for j in group) for i in group)
        if need:
            if len(need) > MAX_WHOLE:
                raise TooManyEntries(
                    f"More than {MAX_WHOLE:,} entries share a first author (or have none); "
                    "export fewer (by tag), or as BibTeX, RIS or CSL-JSON."
                )
            texts = await self.workers.run(
                format_entries, [items[i] for i in need], style, markup, heavy=heavy
            )
            for i, text in zip(need, texts, strict=True):
                out[i] = text
            await self.cache.put_many(
                (
                    (keys[i], digests[i], texts[n])
                    for n, i in enumerate(need)
                    if first[keys[i]] == i
                ),
                style,
                markup,
            )
        return [text or "" for text in out]

    async def _cold_chunk(
        self, items: Sequence[Work | str], style: str, markup: Markup
    ) -> list[str]:
        """A chunk with nothing cached: one bulk job digests and formats it; then cached."""
        keys, digests, texts = await self.workers.run(
            digests_and_entries, list(items), style, markup, heavy=True
        )
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        await self.cache.put_many(
            ((key, digests[i], texts[i]) for key, i in first.items()), style, markup
        )
        return texts
