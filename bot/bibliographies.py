"""BibliographyService: the rules around the users' bibliographies.

Which bibliography a command means (named, the channel's default, the server's only one, the
personal one in DMs), who may do what (anyone adds and lists; members remove their own entries;
Manage Server removes any and creates, renames, deletes), names and tags validated, imports
parsed off the event loop and applied in one transaction, exports through ``CiteService``.
Every call carries an ``Actor``: the owner (server or person) it acts within, and who acts.
Imports and exports count against the actor's ``Cooldowns`` (the CLI's administrator is not
limited); an import is parsed and checked whole before anything, even a default bibliography,
is written. An imported .bib entry keeps its key (``NewEntry.cite_key``) and the DOIs in a file
are looked up to flag entries whose DOI names another work.

Parsing an upload and writing an export are heavy jobs in the bulk worker processes
(``bot.workers``), one at a time per server (a second one waits for the first). Exports stream:
entries are read in batches by keyset, formatted chunk by chunk, and written to a spooled
temporary file, so memory stays bounded whatever the bibliography's size.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import BinaryIO

from bot import bibio, exports
from bot.citing import (
    CHUNK,
    ENVELOPES,
    FORMATS,
    MAX_WHOLE,
    SEPARATORS,
    CiteService,
    TooManyEntries,
    is_numeric,
    key_stems,
    machine_chunk,
    style_title,
    whole_list,
)
from bot.cooldowns import Cooldowns
from bot.errors import LitError, PermissionDenied
from bot.identifiers import parse_identifier
from bot.models import Work
from bot.papers import PaperService
from bot.sources.fairness import bulk_work
from bot.storage import duplicates
from bot.storage.bibliographies import (
    AddDetails,
    Bibliography,
    BibliographyStore,
    Entry,
    NewEntry,
    Owner,
)
from bot.storage.watch import WatchStore
from bot.storage.works import work_key
from bot.text import clean_text
from bot.workers import Workers, map_bounded, server_key

log = logging.getLogger(__name__)

PERSONAL = "personal"
SERVER_DEFAULT = "general"
PER_PAGE = 10
MAX_PAGE = 1_000_000  # a page index beyond this (ten million entries) is not a real page
EXPORT_COST_ENTRIES = 1000  # an export costs one use of the cooldown per started thousand
NAME = re.compile(r"^[\w][\w .'()&+-]{0,39}$")
TAG = re.compile(r"^[\w][\w-]{0,29}$")
MAX_TAGS = 10
MAX_NOTE = 500
IMPORT_CONCURRENCY = 8
# DOIs of a .bib/.ris import looked up to check them: bounds an import's time (at 8 at a time,
# a few minutes, well inside an interaction's 15-minute token).
MAX_DOI_CHECKS = 1000
SPOOL_BYTES = 1024 * 1024  # an export is kept in memory up to this size, then in a temp file


class BibliographyError(LitError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Actor:
    owner: Owner
    user_id: int
    channel_id: int | None = None
    can_manage: bool = False  # Manage Server in a server; always, for one's own DMs
    limited: bool = True  # counts against the cooldowns; not the CLI's administrator

    @classmethod
    def administrator(cls, owner: Owner) -> Actor:
        """Whoever runs the CLI on the database file: may do anything, without cooldowns."""
        return cls(owner, 0, None, True, limited=False)

    @classmethod
    def in_dm(cls, user_id: int) -> Actor:
        return cls(Owner.user(user_id), user_id, None, True)

    @classmethod
    def in_guild(
        cls, guild_id: int, user_id: int, channel_id: int | None, *, can_manage: bool
    ) -> Actor:
        return cls(Owner.guild(guild_id), user_id, channel_id, can_manage)


@dataclass(frozen=True, slots=True)
class Page:
    bibliography: Bibliography
    entries: list[Entry]
    total: int
    page: int  # 0-based
    sort: str
    tag: str | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PER_PAGE))

    @property
    def first_id(self) -> int | None:
        """The first entry's id: the page before this one ends before it (◀)."""
        return self.entries[0].id if self.entries else None

    @property
    def last_id(self) -> int | None:
        """The last entry's id: the page after this one starts after it (▶)."""
        return self.entries[-1].id if self.entries else None


@dataclass(frozen=True, slots=True)
class ExportFile:
    """An export: its bytes in a spooled temporary file (memory up to ``SPOOL_BYTES``, then
    disk), ``size`` of them; close it once sent."""

    filename: str
    file: BinaryIO
    size: int
    count: int
    label: str

    @property
    def data(self) -> bytes:
        """The whole file in memory (tests, small exports); ``open`` streams it."""
        return self.open().read()

    def open(self) -> BinaryIO:
        """The file, from its start."""
        self.file.seek(0)
        return self.file

    def close(self) -> None:
        self.file.close()


class _Writer:
    """Text written to a spooled temporary file as the chunks of an export come."""

    def __init__(self) -> None:
        self.file: BinaryIO = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # type: ignore[assignment]
        self.size = 0
        self._last = ""

    def write(self, text: str) -> None:
        if text:
            data = text.encode()
            self.file.write(data)
            self.size += len(data)
            self._last = text[-1]

    def finish(self) -> BinaryIO:
        if self.size and self._last != "\n":
            self.write("\n")
        self.file.seek(0)
        return self.file


# How a saved work went into an entry already there (``duplicates.Match.how``), in words.
JOINED_WORDS = {
    duplicates.SAME: "the same work (another identifier)",
    duplicates.PUBLISHED: "its published version",
    duplicates.PREPRINT: "its preprint, now this published version (note, tags and key kept)",
}


def entry_label(match: duplicates.Match) -> str:
    """An entry as a line names it: its BibTeX key (or work key) and title."""
    return f"{match.cite_key or match.work_key}: {match.title}"


@dataclass(frozen=True, slots=True)
class Saved:
    """What saving one work did."""

    bibliography: Bibliography
    created: bool
    joined: duplicates.Match | None = None  # the entry it is (or is a version of)
    possible: duplicates.Match | None = None  # an entry it looks like: a merge is offered
    offers: int | None = None  # the batch of that offer (its buttons)

    def message(self, title: str | None = None) -> str:
        """The reply, Markdown-escaped: the Save button's, or with the work's ``title`` the
        one of ``/bib add``."""
        from bot.markdown import escape

        name = f"**{escape(self.bibliography.name)}**"
        what = f": {escape(title[:200])}" if title else ""
        if self.joined is not None:
            how = JOINED_WORDS[self.joined.how]
            key = escape(self.joined.cite_key or self.joined.work_key)
            if self.joined.how == duplicates.PREPRINT:
                return f"Saved to {name}{what}\n`{key}` there was {how}."
            if title:  # /bib add, which may carry a note and tags
                return f"Already in {name} as `{key}`, {how}; note and tags updated there{what}"
            return f"Already in {name} as `{key}`, {how}."
        if not self.created:
            if title:
                return f"Already in; note and tags updated in {name}{what}"
            return f"Already in {name}; nothing changed."
        text = f"Added to {name}{what}" if title else f"Saved to {name} 📚"
        if self.possible is not None:
            key = escape(self.possible.cite_key or self.possible.work_key)
            text += (
                f"\nIt looks like `{key}` there (same title, first author and year): "
                "merge the two into one entry?"
            )
        return text


@dataclass(frozen=True, slots=True)
class Settled:
    """What settling merge offers did (``BibliographyService.settle_offers``)."""

    bibliography: str
    merge: bool
    merged: list[duplicates.MergeOutcome]
    settled_before: bool = False

    def text(self, *, markdown: bool = True) -> str:
        from bot.markdown import escape

        def md(text: str) -> str:
            return escape(text) if markdown else text

        bold = "**" if markdown else "“"
        end = "**" if markdown else "”"
        name = f"{bold}{md(self.bibliography)}{end}"
        if self.settled_before:
            return "Already settled: nothing to do."
        if not self.merge:
            return f"Kept apart in {name}; they will not be offered again."
        if not self.merged:
            return "Those entries are no longer there (merged or removed)."
        lines = [f"Merged {len(self.merged)} in {name}:"]
        for m in self.merged[:10]:
            gone = f" (`{md(m.dropped_key)}` is gone)" if m.dropped_key else ""
            lines.append(f"• `{md(m.kept_key or '?')}` kept{gone}")
        if len(self.merged) > 10:
            lines.append(f"… and {len(self.merged) - 10} more")
        return "\n".join(lines)


# A pair of entries found by a scan, in words
PAIR_WORDS = {
    duplicates.SAME: "the same paper (an identifier in common)",
    duplicates.PREPRINT: "a preprint and its published version",
    duplicates.TITLE: "same title, first author and year",
}


@dataclass(frozen=True, slots=True)
class Duplicates:
    """What ``find_duplicates`` found: pairs offered as one batch of merges."""

    bibliography: Bibliography
    batch: int | None
    pairs: list[tuple[duplicates.Offer, str]]

    def lines(self, *, markdown: bool = True, most: int = 10) -> list[str]:
        from bot.markdown import escape

        def md(text: str) -> str:
            return escape(text) if markdown else text

        out = []
        for offer, how in self.pairs[:most]:
            keep, drop = (label.split(": ", 1)[0] for label in (offer.keep_label, offer.drop_label))
            out.append(f"• `{md(keep)}` ↔ `{md(drop)}`: {PAIR_WORDS[how]}")
        if len(self.pairs) > most:
            out.append(f"… and {len(self.pairs) - most} more")
        return out

    def text(self, *, markdown: bool = True) -> str:
        from bot.markdown import escape

        name = escape(self.bibliography.name) if markdown else self.bibliography.name
        name = f"**{name}**" if markdown else f"“{name}”"
        if not self.pairs:
            return f"No duplicates in {name}."
        head = (
            f"{len(self.pairs)} pair(s) in {name} look like one paper. Merging keeps the "
            "older entry's key, joins tags and notes, and keeps the published version's details."
        )
        return "\n".join([head, *self.lines(markdown=markdown)])


@dataclass
class ImportReport:
    bibliography: Bibliography
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[bibio.Problem] = field(default_factory=list)
    # imported, but worth a look: a DOI that names another work, a key that changed
    check: list[bibio.Problem] = field(default_factory=list)
    # went into an entry by another identifier or as another version of it
    joined: list[str] = field(default_factory=list)
    # added, but looks like an entry (same title, first author and year): merges offered
    possible: list[str] = field(default_factory=list)
    offers: int | None = None  # the batch of those offers (the reply's buttons)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.duplicates)} already there"]
        if self.joined:
            parts.append(f"{len(self.joined)} joined with another version")
        if self.possible:
            parts.append(f"{len(self.possible)} possible duplicates")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.check:
            parts.append(f"{len(self.check)} to check")
        return f"Import into “{self.bibliography.name}”: " + ", ".join(parts) + "."

    def text(self) -> str:
        lines = [self.summary(), ""]
        if self.failed:
            lines.append("Failed:")
            lines += [f"  line {p.line}: {p.message}" for p in self.failed]
            lines.append("")
        if self.check:
            lines.append("Imported, but check:")
            lines += [f"  line {p.line}: {p.message}" for p in self.check]
            lines.append("")
        if self.possible:
            lines.append(
                "Possible duplicates (same title, first author and year; added, merge offered):"
            )
            lines += [f"  {d}" for d in self.possible]
            if self.offers is not None:
                lines.append(
                    f"  (merge offer {self.offers}: the buttons under this report, or "
                    f"`litbot bib merge {self.offers}`)"
                )
            lines.append("")
        if self.joined:
            lines.append("Joined with an entry (same work by another identifier, or a version):")
            lines += [f"  {d}" for d in self.joined]
            lines.append("")
        if self.duplicates:
            lines.append("Already in the bibliography (note and tags kept):")
            lines += [f"  {d}" for d in self.duplicates]
            lines.append("")
        if self.added:
            lines.append("Added:")
            lines += [f"  {a}" for a in self.added]
        return "\n".join(lines).rstrip() + "\n"


# What a file's entry learns from the record its DOI names (when the two agree): the other
# identifiers and versions that tell duplicates apart, and the notices the watch follows.
LINK_FIELDS = ("arxiv", "pmid", "pmcid", "published_doi", "preprints")
SIGNAL_FIELDS = ("updates", "retracted", "retraction_notice")


def with_links(mine: Work, found: Work | None) -> Work:
    """The file's work as the file has it, plus ``found``'s identifiers, versions and notices
    where the file has none (the file's metadata is what the lab chose to keep)."""
    if found is None:
        return mine
    changes: dict[str, object] = {}
    for name in LINK_FIELDS + SIGNAL_FIELDS:
        value = getattr(found, name)
        if value and not getattr(mine, name):
            changes[name] = value
    if not changes:
        return mine
    provenance = dict(mine.provenance)
    for name in changes:
        if name in found.provenance:
            provenance[name] = found.provenance[name]
    return dataclasses.replace(mine, provenance=provenance, **changes)  # type: ignore[arg-type]


def validate_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not NAME.match(name):
        raise BibliographyError(
            "Bibliography names are 1–40 characters: letters, digits, spaces and - _ . ' ( ) & +,"
            " starting with a letter or digit."
        )
    return name


def parse_tags(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    tags: list[str] = []
    for raw in re.split(r"[,\s]+", text.strip()):
        tag = raw.strip().lstrip("#").lower()
        if not tag:
            continue
        if not TAG.match(tag):
            raise BibliographyError(
                f"“{raw[:40]}” is not a tag: use up to 30 letters, digits, - or _."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise BibliographyError(f"At most {MAX_TAGS} tags per entry.")
    return tuple(tags)


def clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = clean_text(note) or ""
    if len(note) > MAX_NOTE:
        raise BibliographyError(f"Notes are limited to {MAX_NOTE} characters.")
    return note


def slug(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name, flags=re.ASCII).strip("-").lower() or "bibliography"


def _changed_keys(
    items: list[tuple[bibio.ImportItem, str]], stored: dict[str, str | None]
) -> list[bibio.Problem]:
    """The imported entries whose own key is not the one they are exported under, and why."""
    out = []
    for item, key in items:
        kept = stored.get(key)
        if kept is None or kept == item.key:
            continue
        if exports.user_key(item.key) is None:
            why = "cannot be written back to a .bib file"
        else:
            why = "is another entry's key in this bibliography"
        out.append(
            bibio.Problem(item.line, f"the key “{item.key}” {why}: this entry's key is “{kept}”")
        )
    return out


class BibliographyService:
    def __init__(
        self,
        store: BibliographyStore,
        papers: PaperService,
        cites: CiteService,
        cooldowns: Cooldowns | None = None,  # None: no limits (benchmarks, scripts)
        workers: Workers | None = None,  # None: the CiteService's
    ):
        self.store = store
        self.papers = papers
        self.cites = cites
        self.cooldowns = cooldowns
        self.workers = workers or cites.workers

    # -- cooldowns ---------------------------------------------------------------------------

    def check_cooldown(self, actor: Actor, action: str) -> None:
        """``Cooldown`` if ``actor`` may not start ``action`` ("import", "export") now: lets the
        Discord layer refuse before it downloads or defers. Records nothing."""
        if self.cooldowns is not None and actor.limited:
            self.cooldowns.check(action, actor.user_id, actor.owner)

    def _charge(self, actor: Actor, action: str, cost: int = 1) -> None:
        if self.cooldowns is not None and actor.limited:
            self.cooldowns.take(action, actor.user_id, actor.owner, cost)

    # -- which bibliography ----------------------------------------------------------------

    async def resolve(self, actor: Actor, name: str | None) -> Bibliography:
        """The named bibliography, or the one a command without a name means."""
        found = await self._resolve(actor, name, create=True)
        assert found is not None
        return found

    async def _resolve(
        self, actor: Actor, name: str | None, *, create: bool
    ) -> Bibliography | None:
        """As ``resolve``; with ``create=False``, None where it would create the default."""
        if name:
            found = await self.store.get(actor.owner, " ".join(name.split()))
            if found is None:
                raise BibliographyError(await self._unknown(actor, name))
            return found
        if actor.owner.scope == "user":
            if not create:
                return await self.store.get(actor.owner, PERSONAL)
            return await self._ensure(actor, PERSONAL)
        default = await self.store.channel_default(actor.owner, actor.channel_id)
        if default is not None:
            return default
        existing = await self.store.list(actor.owner)
        if not existing:
            return await self._ensure(actor, SERVER_DEFAULT) if create else None
        if len(existing) == 1:
            return existing[0]
        names = ", ".join(f"“{b.name}”" for b in existing[:10])
        raise BibliographyError(
            f"Which bibliography? This channel has no default; name one of {names} "
            "(or set a default with `/bib default`)."
        )

    async def _ensure(self, actor: Actor, name: str) -> Bibliography:
        found = await self.store.get(actor.owner, name)
        if found is None:  # create() answers None only if another request made it meanwhile
            found = await self.store.create(actor.owner, name, by=actor.user_id)
            found = found or await self.store.get(actor.owner, name)
        assert found is not None
        return found

    async def _unknown(self, actor: Actor, name: str) -> str:
        names = [b.name for b in await self.store.list(actor.owner)]
        where = "here" if actor.owner.scope == "guild" else "in your personal bibliographies"
        hint = f" Existing: {', '.join(names[:10])}." if names else ""
        return f"There is no bibliography called “{name[:40]}” {where}.{hint}"

    def _need_manage(self, actor: Actor, what: str) -> None:
        if not actor.can_manage:
            raise PermissionDenied(f"Only members with **Manage Server** can {what}.")

    # -- bibliographies ----------------------------------------------------------------------

    async def create(self, actor: Actor, name: str, *, channel_default: bool = False):
        self._need_manage(actor, "create bibliographies")
        name = validate_name(name)
        created = await self.store.create(actor.owner, name, by=actor.user_id)
        if created is None:
            raise BibliographyError(f"A bibliography called “{name}” already exists.")
        if channel_default and actor.channel_id is not None:
            await self.store.set_channel_default(actor.owner, actor.channel_id, created.id)
        return created

    async def rename(self, actor: Actor, name: str, new_name: str) -> Bibliography:
        self._need_manage(actor, "rename bibliographies")
        bib = await self.resolve(actor, name)
        new_name = validate_name(new_name)
        if not await self.store.rename(actor.owner, bib.id, new_name):
            raise BibliographyError(f"A bibliography called “{new_name}” already exists.")
        renamed = await self.store.get_by_id(actor.owner, bib.id)
        assert renamed is not None
        return renamed

    async def check_delete(self, actor: Actor, name: str) -> Bibliography:
        self._need_manage(actor, "delete bibliographies")
        return await self.resolve(actor, name)

    async def delete(self, actor: Actor, bibliography_id: int) -> int:
        self._need_manage(actor, "delete bibliographies")
        removed = await self.store.delete(actor.owner, bibliography_id)
        if removed is None:
            raise BibliographyError("That bibliography no longer exists.")
        return removed

    async def set_default(self, actor: Actor, name: str | None) -> Bibliography | None:
        if actor.owner.scope != "guild" or actor.channel_id is None:
            raise BibliographyError(
                "Channel defaults exist in servers; in DMs your personal "
                "bibliography is always used."
            )
        self._need_manage(actor, "set a channel's default bibliography")
        if name is None:
            await self.store.set_channel_default(actor.owner, actor.channel_id, None)
            return None
        bib = await self.resolve(actor, name)
        await self.store.set_channel_default(actor.owner, actor.channel_id, bib.id)
        return bib

    async def bibliographies(self, actor: Actor) -> tuple[list[Bibliography], Bibliography | None]:
        return (
            await self.store.list(actor.owner),
            await self.store.channel_default(actor.owner, actor.channel_id),
        )

    # -- entries -----------------------------------------------------------------------------

    async def add_work(
        self,
        actor: Actor,
        work: Work,
        name: str | None = None,
        *,
        note: str | None = None,
        tags: str | None = None,
        bibliography: Bibliography | None = None,
    ) -> Saved:
        """Add (or update the note/tags of) one work: a new entry, or the entry that is the
        same work or another version of it (``BibliographyStore.add_many``); a look-alike is
        added with a merge offered."""
        new = NewEntry(work, clean_note(note), parse_tags(tags))
        bib = bibliography or await self.resolve(actor, name)
        details = AddDetails()
        result = await self.store.add_many(
            actor.owner, bib.id, [new], by=actor.user_id, channel=actor.channel_id, details=details
        )
        if result is None:
            raise BibliographyError("That bibliography no longer exists.")
        added, updated = result
        joined = details.joined.get(updated[0]) if updated else None
        upgraded = joined is not None and joined.how == duplicates.PREPRINT
        if (added or upgraded) and (work.updates or work.published_doi):
            # The card it was saved from showed these notices: the watch does not alert them.
            entry = await self.store.entry(actor.owner, bib.id, work_key(work))
            if entry is not None:
                await WatchStore(self.store.db).baseline([entry.id], work)
        possible = details.possible.get(added[0]) if added else None
        return Saved(bib, bool(added), joined, possible, details.offered)

    async def add(
        self,
        actor: Actor,
        query: str,
        name: str | None = None,
        *,
        note: str | None = None,
        tags: str | None = None,
    ) -> tuple[Saved, Work]:
        bib = await self.resolve(actor, name)
        # Refuse a bad note or tag before any lookup.
        clean_note(note)
        parse_tags(tags)
        work = await self.papers.lookup(parse_identifier(query), settled=True)
        saved = await self.add_work(actor, work, note=note, tags=tags, bibliography=bib)
        return saved, work

    async def _entry(self, actor: Actor, bib: Bibliography, query: str) -> Entry:
        key = query.strip().lower()
        entry = await self.store.entry(actor.owner, bib.id, key)
        if entry is None:
            ident = parse_identifier(query)
            if ident.doi:
                entry = await self.store.entry(actor.owner, bib.id, ident.doi.lower())
        if entry is None:
            raise BibliographyError(f"“{query[:80]}” is not in “{bib.name}”.")
        return entry

    async def show(self, actor: Actor, query: str, name: str | None = None) -> Entry:
        bib = await self.resolve(actor, name)
        return await self._entry(actor, bib, query)

    async def search(
        self, actor: Actor, query: str, name: str | None = None, *, limit: int = 10
    ) -> tuple[Bibliography, list[Entry]]:
        """Entries of the bibliography matching ``query`` (``BibliographyStore.search``)."""
        bib = await self.resolve(actor, name)
        return bib, await self.store.search(actor.owner, bib.id, query, limit=limit)

    async def entry_choices(self, actor: Actor, query: str) -> list[tuple[str, str]]:
        """Autocomplete for an entry option: (label, DOI) of the best matches in the
        bibliography the command would use; nothing when that is not settled."""
        try:
            bib = await self._resolve(actor, None, create=False)
        except LitError:
            return []
        if bib is None:
            return []
        entries = await self.store.search(actor.owner, bib.id, query, limit=25) if query else []
        return [(short_label(e.work), e.work_key) for e in entries]

    async def remove(self, actor: Actor, query: str, name: str | None = None) -> Entry:
        bib = await self.resolve(actor, name)
        entry = await self._entry(actor, bib, query)
        if entry.added_by != actor.user_id and not actor.can_manage:
            raise PermissionDenied(
                "You can remove the entries you added; removing others' needs **Manage Server**."
            )
        await self.store.remove(actor.owner, bib.id, entry.work_key)
        return entry

    async def page(
        self,
        actor: Actor,
        name: str | None = None,
        *,
        bibliography_id: int | None = None,
        page: int = 0,
        sort: str = "added",
        tag: str | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> Page:
        """Page ``page`` (0-based) of a bibliography. ``after``/``before``: the entry just
        before (after) it, from the page next to it, so the page is read by seeking the sort
        index (keyset) rather than counting ``page`` pages into it; a page number past the end
        (the list shrank since the button was made) gives the last page."""
        if bibliography_id is None:
            bibliography_id = (await self.resolve(actor, name)).id
        tag = tag.strip().lstrip("#").lower() if tag else None
        page = min(max(page, 0), MAX_PAGE)
        found = await self.store.page(
            actor.owner,
            bibliography_id,
            page=page,
            per_page=PER_PAGE,
            sort=sort,  # type: ignore[arg-type]
            tag=tag,
            after=after,
            before=before,
        )
        if found.bibliography is None:  # another owner's id (a button from elsewhere), or gone
            raise BibliographyError("That bibliography no longer exists here.")
        return Page(found.bibliography, found.entries, found.total, found.page, sort, tag)

    # -- files -------------------------------------------------------------------------------

    async def export(
        self,
        actor: Actor,
        name: str | None = None,
        fmt: str = "bibtex",
        *,
        markdown: bool = False,
        tag: str | None = None,
    ) -> ExportFile:
        """The bibliography (its entries with ``tag``) as a file, in author order (numbered
        styles: the order entries were added). Streamed: entries are read in batches by keyset
        and formatted chunk by chunk in the bulk workers, this server's one heavy job at a
        time, into a spooled temporary file. Close the ``ExportFile`` once sent."""
        bib = await self.resolve(actor, name)
        target = await self.cites.resolve(fmt)
        total = await self.store.count(actor.owner, bib.id, tag=tag) or 0
        if not total:
            raise BibliographyError(f"“{bib.name}” has no entries to export.")
        if target not in FORMATS and whole_list(target) and total > MAX_WHOLE:
            raise TooManyEntries(
                f"{style_title(target)} formats at most {MAX_WHOLE:,} entries in one export; "
                "export by tag, or as BibTeX, RIS or CSL-JSON."
            )
        self._charge(actor, "export", -(-total // EXPORT_COST_ENTRIES))
        markup = "markdown" if markdown and target not in FORMATS else "text"
        writer = _Writer()
        try:
            async with self.workers.slot(server_key(actor.owner.scope, actor.owner.id)):
                if target in FORMATS:
                    count = await self._export_format(actor, bib, target, tag, writer)
                else:
                    count = await self._export_style(actor, bib, target, markup, tag, writer)
            if not count:  # every entry removed meanwhile
                raise BibliographyError(f"“{bib.name}” has no entries to export.")
        except BaseException:
            writer.file.close()
            raise
        if target in FORMATS:
            label, extension, _ = FORMATS[target]
        else:
            label, extension = style_title(target), "md" if markup == "markdown" else "txt"
        file = writer.finish()
        return ExportFile(f"{slug(bib.name)}.{extension}", file, writer.size, count, label)

    async def _export_format(
        self, actor: Actor, bib: Bibliography, target: str, tag: str | None, writer: _Writer
    ) -> int:
        """BibTeX, RIS or CSL-JSON, chunk by chunk: what ``CiteService.format`` prints for
        the whole list, with the BibTeX keys settled first (``_bibtex_keys``)."""
        keys = await self._bibtex_keys(actor, bib, tag) if target == "bibtex" else None
        count = 0

        async def jobs() -> AsyncIterator[tuple]:
            nonlocal count
            async for rows in self.store.rows(actor.owner, bib.id, sort="author", tag=tag):
                if keys is not None:  # an entry added since the keys were settled waits
                    rows = [row for row in rows if row.id in keys]
                if rows:
                    count += len(rows)
                    chunk_keys = [keys[row.id] for row in rows] if keys is not None else None
                    yield target, [row.work for row in rows], chunk_keys

        opening, closing = ENVELOPES.get(target, ("", ""))
        first = True
        async for text in self.workers.map(machine_chunk, jobs(), heavy=True):
            writer.write((opening if first else SEPARATORS[target]) + text)
            first = False
        if not first:
            writer.write(closing)
        return count

    async def _bibtex_keys(
        self, actor: Actor, bib: Bibliography, tag: str | None
    ) -> dict[int, str]:
        """Entry id → the key the BibTeX export gives it: ``exports.cite_keys`` over the whole
        list, decoding only the works of entries without a stored key. Keys made here are
        stored, so the next export gives the same ones."""
        listed = await self.store.export_keys(actor.owner, bib.id, sort="author", tag=tag)
        wanted = [exports.user_key(stored) for _, _, stored in listed]
        keys, taken = exports.claim_keys(wanted)
        unnamed = [listed[i][0] for i, key in enumerate(keys) if key is None and not wanted[i]]
        stems: dict[int, str] = {}
        for start in range(0, len(unnamed), 1000):
            found = await self.store.works_json(actor.owner, bib.id, unnamed[start : start + 1000])
            if found:
                made = await self.workers.run(key_stems, list(found.values()), heavy=True)
                stems.update(zip(found, made, strict=True))
        out: dict[int, str] = {}
        for i, (entry_id, _, _) in enumerate(listed):
            key = keys[i]
            if key is None:
                stem = wanted[i] or stems.get(entry_id)
                if stem is None:  # removed meanwhile: not exported
                    continue
                key = exports.unique_key(stem, taken)
            out[entry_id] = key
        new = {wk: out[i] for i, wk, stored in listed if not stored and i in out}
        if new:
            await self.store.keep_cite_keys(actor.owner, bib.id, new)
        return out

    async def _export_style(
        self,
        actor: Actor,
        bib: Bibliography,
        style: str,
        markup: str,
        tag: str | None,
        writer: _Writer,
    ) -> int:
        """A citation style: chunks of whole first-author groups (``CiteService.stream``), or
        the whole list at once for numbered and list-wide name styles."""
        separator = "\n\n" if markup == "markdown" else "\n"
        if whole_list(style):
            numeric = is_numeric(style)
            items: list[str] = []
            sort = "added" if numeric else "author"
            async for rows in self.store.rows(actor.owner, bib.id, sort=sort, tag=tag):
                items += [row.work for row in rows]
            if numeric:  # numbered styles: the order entries were added, oldest first
                items.reverse()
            texts = await self.cites.entries_of(items, style, markup=markup)  # type: ignore[arg-type]
            writer.write(separator.join(texts))
            return len(items)
        count = 0

        async def chunks() -> AsyncIterator[tuple[list[str], list[str]]]:
            nonlocal count
            chunk: list = []
            async for rows in self.store.rows(actor.owner, bib.id, sort="author", tag=tag):
                for row in rows:  # cut only between first authors (CiteService.stream)
                    if len(chunk) >= CHUNK and row.first_author != chunk[-1].first_author:
                        count += len(chunk)
                        yield [entry.work_key for entry in chunk], [entry.work for entry in chunk]
                        chunk = []
                    chunk.append(row)
            if chunk:
                count += len(chunk)
                yield [entry.work_key for entry in chunk], [entry.work for entry in chunk]

        first = True
        async for texts in self.cites.stream(chunks(), style, markup=markup):
            writer.write(("" if first else separator) + separator.join(texts))
            first = False
        return count

    async def import_file(
        self, actor: Actor, filename: str, data: bytes, name: str | None = None
    ) -> ImportReport:
        """Parse ``data`` whole, look its identifiers up, then add everything in one transaction.

        A refused file (type, size, too many entries, an unknown or ambiguous bibliography)
        writes nothing: not even the default bibliography a first use would create.
        """
        bibio.check_upload(filename, len(data))  # type and size, before any work
        await self._resolve(actor, name, create=False)  # an unknown name, before any work
        self._charge(actor, "import")
        server = server_key(actor.owner.scope, actor.owner.id)
        parsed = await self.workers.run(
            bibio.parse_upload, filename, data, heavy=True, server=server
        )

        works: list[tuple[bibio.ImportItem, Work]] = []
        lookups = [item for item in parsed.items if item.work is None]
        with_doi = [item for item in parsed.items if item.work is not None and item.work.doi]

        async def fetch(item: bibio.ImportItem) -> tuple[bibio.ImportItem, Work | LitError]:
            try:
                ident = item.identifier
                if ident is None:  # a file's entry: look its DOI up, to check it
                    assert item.work is not None and item.work.doi is not None
                    ident = parse_identifier(item.work.doi)
                return item, await self.papers.lookup(ident, extras=False)
            except LitError as error:
                return item, error

        failed = list(parsed.problems)
        check: list[bibio.Problem] = []
        with bulk_work():  # an import's lookups wait behind every member's interactive ones
            outcomes = await map_bounded(
                fetch, [*lookups, *with_doi[:MAX_DOI_CHECKS]], IMPORT_CONCURRENCY
            )
        confirmed: dict[int, Work] = {}  # a file's entry → the work its DOI names, agreeing
        for n, (item, outcome) in enumerate(outcomes):
            await duplicates.breathe(n)  # ~15 µs an entry: 2,000 would hold the loop 30 ms
            if item.work is not None:  # a DOI check; a DOI no source knows is not checked
                if isinstance(outcome, Work):
                    if reason := bibio.doi_disagreement(item.work, outcome):
                        check.append(bibio.Problem(item.line, f"{item.label}: {reason}"))
                    else:
                        confirmed[id(item)] = outcome
            elif isinstance(outcome, LitError):
                failed.append(bibio.Problem(item.line, f"{item.label}: {outcome.user_message}"))
            else:
                works.append((item, outcome))
        if len(with_doi) > MAX_DOI_CHECKS:
            unchecked = with_doi[MAX_DOI_CHECKS]
            check.append(
                bibio.Problem(
                    unchecked.line,
                    f"from here on, DOIs were not checked (at most {MAX_DOI_CHECKS:,} per "
                    "import); import the rest in a second file to check them",
                )
            )
        works += [
            (item, with_links(item.work, confirmed.get(id(item))))
            for item in parsed.items
            if item.work is not None
        ]
        works.sort(key=lambda pair: pair[0].line)

        report = ImportReport(await self.resolve(actor, name), failed=failed, check=check)
        unique: list[tuple[bibio.ImportItem, Work]] = []
        seen: set[str] = set()
        for n, (item, work) in enumerate(works):
            await duplicates.breathe(n)
            key = work_key(work)
            if key in seen:
                report.duplicates.append(f"line {item.line}: {item.label} (twice in the file)")
                continue
            seen.add(key)
            unique.append((item, work))
        kept, also_offer = await self._join_within(unique, report)
        batch: list[NewEntry] = []
        keyed: list[tuple[bibio.ImportItem, str]] = []  # entries with a key of their own
        labels: dict[str, str] = {}
        for n, (item, work) in enumerate(kept):
            await duplicates.breathe(n)
            key = work_key(work)
            labels[key] = f"line {item.line}: {item.label}"
            # note/tags None: an existing entry keeps its own; a .bib entry's key is kept
            batch.append(NewEntry(work, cite_key=item.key))
            if item.key:
                keyed.append((item, key))
        bib = report.bibliography
        details = AddDetails()
        async with self.workers.slot(server):  # the works are serialised in the bulk pool
            result = await self.store.add_many(
                actor.owner, bib.id, batch, by=actor.user_id, channel=actor.channel_id,
                details=details, also_offer=also_offer,
            )  # fmt: skip
        if result is None:
            raise BibliographyError("That bibliography no longer exists.")
        added, updated = result
        report.added = [labels[k] for k in added]
        report.duplicates += [labels[k] for k in updated if k not in details.joined]
        report.joined += [
            f"{labels[k]} → {entry_label(m)} ({JOINED_WORDS[m.how]})"
            for k, m in details.joined.items()
        ]
        report.possible = [
            f"{labels[k]} looks like {entry_label(m)}" for k, m in details.possible.items()
        ] + report.possible
        report.offers = details.offered
        report.check += _changed_keys(keyed, await self.store.cite_keys(actor.owner, bib.id))
        report.failed.sort(key=lambda p: p.line)
        report.check.sort(key=lambda p: p.line)
        return report

    @staticmethod
    async def _join_within(
        works: list[tuple[bibio.ImportItem, Work]], report: ImportReport
    ) -> tuple[list[tuple[bibio.ImportItem, Work]], list[tuple[str, str]]]:
        """One file's works related among themselves (``duplicates.within``): the same work
        by another identifier, or a preprint beside its version of record, becomes one (the
        version of record); look-alikes are both kept, their merge offered. Returns the works
        to add and the (kept, new) work-key pairs to offer."""
        related = await duplicates.within([work for _, work in works])
        replaced: dict[int, int] = {}  # a preprint's index → its version of record's
        dropped: set[int] = set()
        also_offer: list[tuple[str, str]] = []

        def head(j: int) -> int:
            while j in replaced:
                j = replaced[j]
            return j

        for i, ((item, work), rel) in enumerate(zip(works, related, strict=True)):
            if rel is None:
                continue
            j, how = head(rel[0]), rel[1]
            other, other_work = works[j]
            here = f"line {item.line}: {item.label}"
            there = f"line {other.line}: {other.label}"
            if how == duplicates.TITLE:
                also_offer.append((work_key(other_work), work_key(work)))
                report.possible.append(f"{here} looks like {there}")
            elif how == duplicates.PREPRINT:  # the earlier one is this one's preprint
                replaced[j] = i
                dropped.add(j)
                report.joined.append(f"{there} → {here} (its published version)")
            else:
                dropped.add(i)
                report.joined.append(f"{here} → {there} ({JOINED_WORDS[how]})")
        kept = [pair for i, pair in enumerate(works) if i not in dropped]
        return kept, also_offer

    # -- merges offered ----------------------------------------------------------------------

    async def offered(self, actor: Actor, batch: int) -> list[duplicates.Offer]:
        """The merges an add or import offered, if they are in the actor's bibliographies."""
        bib, offers, _ = await self.store.merge_offers(actor.owner, batch)
        if bib is None:
            raise BibliographyError("Those entries are no longer there.")
        return offers

    async def find_duplicates(self, actor: Actor, name: str | None = None) -> Duplicates:
        """The entries of a bibliography that are one paper, each pair offered as a merge (for
        Manage Server, or the owner of a personal bibliography, to accept)."""
        bib = await self.resolve(actor, name)
        found = await self.store.scan_duplicates(actor.owner, bib.id)
        if found is None:
            raise BibliographyError("That bibliography no longer exists.")
        batch, how = found
        offers = []
        if batch is not None:
            _, offers, _ = await self.store.merge_offers(actor.owner, batch)
        pairs = [(o, how.get((o.keep_id, o.drop_id), duplicates.TITLE)) for o in offers]
        return Duplicates(bib, batch, pairs)

    async def settle_offers(self, actor: Actor, batch: int, *, merge: bool) -> Settled:
        """Merge (or keep apart) the look-alike entries an add or import found: whoever was
        offered the merge, or a member with Manage Server."""
        bib, offers, offered_to = await self.store.merge_offers(actor.owner, batch)
        if bib is None:  # merged or removed since (or another server's: the same words)
            raise BibliographyError("Those entries are no longer there (merged or removed).")
        if actor.user_id != offered_to and not actor.can_manage:
            raise PermissionDenied(
                "Only who saved these entries, or someone with **Manage Server**, can merge them."
            )
        if not any(o.status == "open" for o in offers):
            return Settled(bib.name, merge, [], settled_before=True)
        merged = await self.store.settle_offers(actor.owner, batch, merge=merge)
        if merged is None:
            raise BibliographyError("Those entries are no longer there (merged or removed).")
        return Settled(bib.name, merge, merged)

    # -- autocomplete ----------------------------------------------------------------------

    async def name_choices(self, actor: Actor, prefix: str) -> list[str]:
        names = await self.store.names(actor.owner, prefix.strip())
        if actor.owner.scope == "user" and PERSONAL not in (n.casefold() for n in names):
            if PERSONAL.startswith(prefix.strip().casefold()):
                names.insert(0, PERSONAL)
        return names[:25]

    async def tag_choices(self, actor: Actor, prefix: str) -> list[str]:
        return await self.store.tags(actor.owner, prefix.strip().lstrip("#").lower())


def short_label(work: Work) -> str:
    """``Zhou 2023 · NK cells are never alone…``, at most 100 characters (a choice's name)."""
    first = work.authors[0] if work.authors else None
    who = (first.family or first.name) if first else "Anon."
    year = f" {work.year}" if work.year else ""
    label = f"{who}{year} · {work.title}"
    return label if len(label) <= 100 else label[:99] + "…"
