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
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field

from bot import bibio, exports
from bot.citing import FORMATS, CiteService, is_numeric, resolve_target
from bot.cooldowns import Cooldowns
from bot.errors import LitError, PermissionDenied
from bot.identifiers import parse_identifier
from bot.models import Work
from bot.papers import PaperService
from bot.sources.fairness import bulk_work
from bot.storage.bibliographies import Bibliography, BibliographyStore, Entry, NewEntry, Owner
from bot.storage.works import work_key
from bot.text import clean_text

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


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    data: bytes
    count: int
    label: str


@dataclass
class ImportReport:
    bibliography: Bibliography
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[bibio.Problem] = field(default_factory=list)
    # imported, but worth a look: a DOI that names another work, a key that changed
    check: list[bibio.Problem] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.duplicates)} already there"]
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
        if self.duplicates:
            lines.append("Already in the bibliography (note and tags kept):")
            lines += [f"  {d}" for d in self.duplicates]
            lines.append("")
        if self.added:
            lines.append("Added:")
            lines += [f"  {a}" for a in self.added]
        return "\n".join(lines).rstrip() + "\n"


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
    ):
        self.store = store
        self.papers = papers
        self.cites = cites
        self.cooldowns = cooldowns

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
    ) -> tuple[Bibliography, bool]:
        """Add (or update the note/tags of) one work; returns the bibliography and whether the
        entry is new."""
        new = NewEntry(work, clean_note(note), parse_tags(tags))
        bib = bibliography or await self.resolve(actor, name)
        result = await self.store.add_many(actor.owner, bib.id, [new], by=actor.user_id)
        if result is None:
            raise BibliographyError("That bibliography no longer exists.")
        added, _ = result
        return bib, bool(added)

    async def add(
        self,
        actor: Actor,
        query: str,
        name: str | None = None,
        *,
        note: str | None = None,
        tags: str | None = None,
    ) -> tuple[Bibliography, Work, bool]:
        bib = await self.resolve(actor, name)
        # Refuse a bad note or tag before any lookup.
        clean_note(note)
        parse_tags(tags)
        work = await self.papers.lookup(parse_identifier(query))
        bib, created = await self.add_work(actor, work, note=note, tags=tags, bibliography=bib)
        return bib, work, created

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
    ) -> Page:
        if bibliography_id is not None:
            found = await self.store.get_by_id(actor.owner, bibliography_id)
            if found is None:
                raise BibliographyError("That bibliography no longer exists here.")
            bib = found
        else:
            bib = await self.resolve(actor, name)
        tag = tag.strip().lstrip("#").lower() if tag else None
        page = min(max(page, 0), MAX_PAGE)
        while True:
            entries, total = await self.store.page(
                actor.owner,
                bib.id,
                page=page,
                per_page=PER_PAGE,
                sort=sort,
                tag=tag,  # type: ignore[arg-type]
            )
            last = max(0, -(-total // PER_PAGE) - 1)
            if page <= last:
                break
            page = last  # the list shrank since the button was made: show the last page
        return Page(bib, entries, total, max(page, 0), sort, tag)

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
        bib = await self.resolve(actor, name)
        target = resolve_target(fmt)
        numeric = target not in FORMATS and is_numeric(target)
        entries = await self.store.all_entries(
            actor.owner, bib.id, sort="added" if numeric else "author", tag=tag
        )
        if numeric:  # numbered styles: the order entries were added, oldest first
            entries.reverse()
        if not entries:
            raise BibliographyError(f"“{bib.name}” has no entries to export.")
        self._charge(actor, "export", -(-len(entries) // EXPORT_COST_ENTRIES))
        works = [e.work for e in entries]
        markup = "markdown" if markdown and target not in FORMATS else "text"
        keys = None
        if target == "bibtex":  # stored keys kept; entries from before keys were stored get
            keys = exports.cite_keys(works, [e.cite_key for e in entries])  # theirs now
            new = {e.work_key: k for e, k in zip(entries, keys, strict=True) if not e.cite_key}
            if new:
                await self.store.keep_cite_keys(actor.owner, bib.id, new)
        formatted = await self.cites.format(works, target, markup=markup, keys=keys)  # type: ignore[arg-type]
        text = formatted.text if formatted.text.endswith("\n") else formatted.text + "\n"
        return ExportFile(
            f"{slug(bib.name)}.{formatted.extension}", text.encode(), len(works), formatted.label
        )

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
        parsed = await asyncio.to_thread(bibio.parse_upload, filename, data)

        works: list[tuple[bibio.ImportItem, Work]] = []
        lookups = [item for item in parsed.items if item.work is None]
        with_doi = [item for item in parsed.items if item.work is not None and item.work.doi]
        gate = asyncio.Semaphore(IMPORT_CONCURRENCY)

        async def fetch(item: bibio.ImportItem) -> tuple[bibio.ImportItem, Work | LitError]:
            async with gate:
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
            outcomes = await asyncio.gather(
                *(fetch(i) for i in lookups), *(fetch(i) for i in with_doi[:MAX_DOI_CHECKS])
            )
        for item, outcome in outcomes:
            if item.work is not None:  # a DOI check; a DOI no source knows is not checked
                if isinstance(outcome, Work):
                    if reason := bibio.doi_disagreement(item.work, outcome):
                        check.append(bibio.Problem(item.line, f"{item.label}: {reason}"))
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
        works += [(item, item.work) for item in parsed.items if item.work is not None]
        works.sort(key=lambda pair: pair[0].line)

        report = ImportReport(await self.resolve(actor, name), failed=failed, check=check)
        seen: set[str] = set()
        batch: list[NewEntry] = []
        keyed: list[tuple[bibio.ImportItem, str]] = []  # entries with a key of their own
        labels: dict[str, str] = {}
        for item, work in works:
            key = work_key(work)
            if key in seen:
                report.duplicates.append(f"line {item.line}: {item.label} (twice in the file)")
                continue
            seen.add(key)
            labels[key] = f"line {item.line}: {item.label}"
            # note/tags None: an existing entry keeps its own; a .bib entry's key is kept
            batch.append(NewEntry(work, cite_key=item.key))
            if item.key:
                keyed.append((item, key))
        bib = report.bibliography
        result = await self.store.add_many(actor.owner, bib.id, batch, by=actor.user_id)
        if result is None:
            raise BibliographyError("That bibliography no longer exists.")
        added, updated = result
        report.added = [labels[k] for k in added]
        report.duplicates += [labels[k] for k in updated]
        report.check += _changed_keys(keyed, await self.store.cite_keys(actor.owner, bib.id))
        report.failed.sort(key=lambda p: p.line)
        report.check.sort(key=lambda p: p.line)
        return report

    # -- autocomplete ----------------------------------------------------------------------

    async def name_choices(self, actor: Actor, prefix: str) -> list[str]:
        names = await self.store.names(actor.owner, prefix.strip())
        if actor.owner.scope == "user" and PERSONAL not in (n.casefold() for n in names):
            if PERSONAL.startswith(prefix.strip().casefold()):
                names.insert(0, PERSONAL)
        return names[:25]

    async def tag_choices(self, actor: Actor, prefix: str) -> list[str]:
        return await self.store.tags(actor.owner, prefix.strip().lstrip("#").lower())
