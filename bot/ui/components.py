"""The card's buttons and the citation message: persistent components that survive restarts.

Buttons carry the work's handle in their custom id (``lit:cite:<ref>``); discord.py's dynamic
items rebuild them from the id on any click, so buttons on old messages keep working. Each
callback defers first, then calls the services on ``interaction.client``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.bibliographies import Actor, BibliographyError
from bot.citing import FORMATS, Formatted, resolve_target
from bot.errors import LitError, StaleComponent
from bot.markdown import code_block, escape, escape_message
from bot.neighbours import MAX_PAGES
from bot.storage.works import work_key
from bot.text import truncate
from bot.ui.cards import (
    compact_links,
    render_abstract,
    render_card,
    render_compact,
    render_neighbourhood,
    render_sources,
    retraction_warning,
)
from bot.ui.custom_ids import STALE, number
from bot.ui.cycles import let_go_when_done

if TYPE_CHECKING:
    from bot.models import Work

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
CONTENT_LIMIT = 2000
QUICK_STYLES = (
    ("apa", "APA 7th"),
    ("vancouver", "Vancouver"),
    ("chicago-author-date", "Chicago author-date"),
    ("ieee", "IEEE"),
    ("harvard-cite-them-right", "Harvard (Cite Them Right)"),
    ("nature", "Nature"),
    ("modern-language-association", "MLA"),
    ("american-medical-association", "AMA"),
    ("bibtex", "BibTeX"),
    ("ris", "RIS"),
    ("csl-json", "CSL-JSON"),
)
DMS_CLOSED = (
    "I can't send you a direct message: your DMs are closed to me. Allow direct messages from "
    "this server's members (Privacy Settings), or use `/cite` with `private: True`."
)


def citation_message(
    formatted: Formatted, stem: str, *, warning: str | None = None
) -> tuple[str, discord.File | None]:
    """Message content for a citation, or a short note plus a file when it would not fit.
    ``warning`` (``retraction_warning``) comes first, above either."""
    text = formatted.text
    head = f"{warning}\n" if warning else ""
    # a style's Markdown is escaped where it is made (bot.citations, with bot.markdown)
    body = text if formatted.code_language is None else code_block(text, formatted.code_language)
    footer = f"\n-# {escape(formatted.label)}"
    if len(head) + len(body) + len(footer) <= CONTENT_LIMIT:
        return head + body + footer, None
    safe_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("_") or "citation"
    data = io.BytesIO(text.encode("utf-8"))
    file = discord.File(data, filename=f"{safe_stem[:60]}.{formatted.extension}")
    note = f"Too long for a message, so here it is as a file ({escape(formatted.label)})."
    return head + note, file


def file_stem(work: Work) -> str:
    from bot.citations import bibtex_key

    return bibtex_key(work, set())


async def reply_error(interaction: discord.Interaction, message: str) -> None:
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(
            message, ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def guarded(
    callback: Callable[..., Awaitable[None]],
) -> Callable[..., Awaitable[None]]:
    """Component callbacks bypass the command tree's error handler: turn ``LitError`` into a
    short ephemeral reply here, and log anything else with a reference."""

    @functools.wraps(callback)
    async def wrapper(self: Any, interaction: discord.Interaction, *args: Any) -> None:
        # the interaction, and for a dynamic item the view discord.py rebuilt around it from
        # the message (used for this click only), are let go once this task is done
        rebuilt = self.view if isinstance(self, discord.ui.DynamicItem) else None
        let_go_when_done(interaction, rebuilt)
        try:
            await callback(self, interaction, *args)
        except LitError as error:
            await reply_error(interaction, escape_message(error.user_message))  # may echo input
        except discord.HTTPException:
            raise
        except Exception:
            log.exception("component %s failed", type(self).__name__)
            await reply_error(interaction, "Something went wrong on our side. It has been logged.")

    return wrapper


async def _citation_for(
    interaction: discord.Interaction, ref: str, style: str | None
) -> tuple[Work, Formatted, str]:
    client: Any = interaction.client
    work = await client.papers.by_ref(ref)
    if style is None:
        style = await client.cites.default_style(
            guild_id=interaction.guild_id, user_id=interaction.user.id
        )
    formatted = await client.cites.format([work], style)
    return work, formatted, formatted.target  # the resolved style id


class RefButton(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """A button about one work, its handle in the custom id (``lit:<action>:<ref>``).

    Subclasses set ``action`` (matching their template), ``label``, ``emoji`` and ``style``.
    """

    action: ClassVar[str]
    label: ClassVar[str]
    emoji: ClassVar[str]
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, ref: str, *, label: str | None = None, emoji: str | None = None) -> None:
        # label and emoji: another face for the same action (numbered cards in one message)
        super().__init__(
            discord.ui.Button(
                label=label or self.label,
                emoji=emoji or self.emoji,
                style=self.style,
                custom_id=f"lit:{self.action}:{ref}",
            )
        )
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> RefButton:
        return cls(match["ref"])


class StyleSelect(discord.ui.DynamicItem[discord.ui.Select], template=r"lit:style:(?P<ref>.+)"):
    """Pick another style for the citation shown above it (ephemeral message)."""

    def __init__(self, ref: str, current: str | None = None) -> None:
        options = [
            discord.SelectOption(label=label, value=value, default=resolve_target(value) == current)
            for value, label in QUICK_STYLES
        ]
        if current and not any(option.default for option in options):
            options.insert(
                0, discord.SelectOption(label=current[:100], value=current, default=True)
            )
        super().__init__(
            discord.ui.Select(
                custom_id=f"lit:style:{ref}",
                placeholder="Another style…",
                options=options[:25],
            )
        )
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str]
    ) -> StyleSelect:
        return cls(match["ref"])

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        style = (interaction.data or {}).get("values", [None])[0]  # type: ignore[union-attr]
        await interaction.response.defer()
        work, formatted, style = await _citation_for(interaction, self.ref, style)
        content, file = citation_message(
            formatted, file_stem(work), warning=retraction_warning(work)
        )
        view = discord.ui.View(timeout=None)
        view.add_item(StyleSelect(self.ref, current=style))
        await interaction.edit_original_response(
            content=content,
            attachments=[file] if file else [],
            view=view,
            allowed_mentions=NO_MENTIONS,
        )


class CiteButton(RefButton, template=r"lit:cite:(?P<ref>.+)"):
    """Shows the citation in the server's (or the user's) default style, with a style picker."""

    action, label, emoji = "cite", "Cite", "📝"
    style = discord.ButtonStyle.primary

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        work, formatted, style = await _citation_for(interaction, self.ref, None)
        content, file = citation_message(
            formatted, file_stem(work), warning=retraction_warning(work)
        )
        view = discord.ui.View(timeout=None)
        view.add_item(StyleSelect(self.ref, current=style))
        kwargs: dict[str, Any] = {"file": file} if file else {}
        await interaction.followup.send(
            content, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs
        )


class SendToDMsButton(RefButton, template=r"lit:dm:(?P<ref>.+)"):
    """DMs the card and its citation to whoever pressed it."""

    action, label, emoji = "dm", "Send to my DMs", "📨"

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        work, formatted, _ = await _citation_for(interaction, self.ref, None)
        content, file = citation_message(
            formatted, file_stem(work), warning=retraction_warning(work)
        )
        try:
            channel = await interaction.user.create_dm()
            kwargs: dict[str, Any] = {"file": file} if file else {}
            await channel.send(
                content, embed=render_card(work), allowed_mentions=NO_MENTIONS, **kwargs
            )
        except discord.Forbidden:
            await interaction.followup.send(
                DMS_CLOSED, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.followup.send(
            "Sent to your DMs 📨", ephemeral=True, allowed_mentions=NO_MENTIONS
        )


class EmbedButton(RefButton, template=r"(?!)"):
    """One embed about the card's work, privately: subclasses set ``render``, and may give it
    buttons of its own (``view``)."""

    render: ClassVar[Callable[[Work], discord.Embed]]

    def view(self, work: Work) -> discord.ui.View | None:
        return None

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        work = await client.papers.by_ref(self.ref)
        extra: dict[str, Any] = {}
        if (view := self.view(work)) is not None:
            extra["view"] = view
        await interaction.followup.send(
            embed=type(self).render(work), ephemeral=True, allowed_mentions=NO_MENTIONS, **extra
        )


class AbstractButton(EmbedButton, template=r"lit:abstract:(?P<ref>.+)"):
    """The full abstract, privately, under a summary."""

    action, label, emoji = "abstract", "Full abstract", "📄"
    render = staticmethod(render_abstract)


class NeighbourButton(RefButton, template=r"(?!)"):
    """References, cited-by or related works of the card's work, privately, ten a page."""

    kind: ClassVar[str]

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        work = await client.papers.by_ref(self.ref)
        hood = await client.neighbours.neighbourhood(work, self.kind)
        ref = await page_ref(client, work, self.ref, interaction.user.id)
        await interaction.followup.send(
            embed=render_neighbourhood(work, hood),
            view=neighbour_view(hood, interaction.user.id, ref),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


class ReferencesButton(NeighbourButton, template=r"lit:refs:(?P<ref>.+)"):
    action, label, emoji, kind = "refs", "References", "📖", "references"


class CitedByButton(NeighbourButton, template=r"lit:citedby:(?P<ref>.+)"):
    action, label, emoji, kind = "citedby", "Cited by", "🔗", "cited-by"


class RelatedButton(NeighbourButton, template=r"lit:related:(?P<ref>.+)"):
    action, label, emoji, kind = "related", "Related", "🧭", "related"


class SourcesButton(EmbedButton, template=r"lit:sources:(?P<ref>.+)"):
    """Where the card's parts come from, its notices and notes as recorded, privately."""

    action, label, emoji = "sources", "Sources", "🔎"
    render = staticmethod(render_sources)


class CardButton(EmbedButton, template=r"lit:card:(?P<ref>.+)"):
    """One of several cards in a message, privately with all its buttons (abstract, sources,
    references, map…), which a message of three cards has no room for."""

    action, label, emoji = "card", "More", "➕"
    render = staticmethod(render_compact)

    def view(self, work: Work) -> discord.ui.View | None:
        return compact_view(self.ref, work)


MAP_FILE = "neighbourhood.png"


class MapButton(RefButton, template=r"lit:map:(?P<ref>.+)"):
    """The neighbourhood drawn (in a worker process) and sent privately with its legend."""

    action, label, emoji = "map", "Map", "🗺️"

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.maps import map_legend, render_map_png

        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        work = await client.papers.by_ref(self.ref)
        data = await client.neighbours.neighbour_map(work)
        png = await client.cites.workers.run(render_map_png, data)
        legend = escape(map_legend(data))
        file = discord.File(
            io.BytesIO(png),
            filename=MAP_FILE,
            description=truncate(f"Map of the neighbourhood of {data.seed.label}", 1024),
        )
        await interaction.followup.send(
            truncate(legend, CONTENT_LIMIT),
            file=file,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


NEIGHBOUR_CODES = {"references": "r", "cited-by": "c", "related": "s"}
NEIGHBOUR_KINDS = {code: kind for kind, code in NEIGHBOUR_CODES.items()}
NEIGHBOUR_BUTTONS = {"references": "References", "cited-by": "Cited by", "related": "Related"}
CUSTOM_ID_LIMIT = 100


def _page_id(kind: str, page: int, user_id: int, ref: str) -> str:
    return f"lit:nb:{NEIGHBOUR_CODES[kind]}:{page}:{user_id}:{ref}"


async def page_ref(client: Any, work: Work, ref: str, user_id: int) -> str:
    """The card's handle for the page buttons, or, when their custom ids could not hold it
    (a long DOI beside the page and the member's id), the short stored handle that
    ``PaperService.ref`` gives a DOI too long for any custom id (``h:…``, survives restarts)."""
    if len(_page_id("cited-by", MAX_PAGES, user_id, ref)) <= CUSTOM_ID_LIMIT:
        return ref
    digest = hashlib.blake2b(work_key(work).encode(), digest_size=10).hexdigest()
    await client.papers.cache.add_alias(f"ref:{digest}", work)
    return f"h:{digest}"


def neighbour_view(hood: Any, user_id: int, ref: str) -> discord.ui.View:
    """◀ Previous / Next ▶ under a neighbourhood page, when it has more than one."""
    view = discord.ui.View(timeout=None)
    if hood.pages > 1:
        view.add_item(NeighbourPageButton.step(hood, user_id, ref, -1))
        view.add_item(NeighbourPageButton.step(hood, user_id, ref, +1))
    return view


class NeighbourPageButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lit:nb:(?P<kind>[a-z]):(?P<page>\d+):(?P<user>\d+):(?P<ref>.+)",
):
    """◀ / ▶ on a neighbourhood page (``lit:nb:<kind>:<page>:<member>:<ref>``): only the member
    who opened the list may page it; a page the list no longer has is "no longer valid"."""

    def __init__(
        self,
        kind: str,
        page: int,
        user_id: int,
        ref: str,
        *,
        label: str = "Next ▶",
        disabled: bool = False,
        stale: bool = False,
    ) -> None:
        self.kind, self.page, self.user_id, self.ref, self.stale = kind, page, user_id, ref, stale
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=_page_id(kind, page, user_id, ref),
                disabled=disabled,
            )
        )

    @classmethod
    def step(cls, hood: Any, user_id: int, ref: str, step: int) -> NeighbourPageButton:
        back = step < 0
        return cls(
            hood.kind,
            max(0, hood.page + step),
            user_id,
            ref,
            label="◀ Previous" if back else "Next ▶",
            disabled=hood.page == 0 if back else hood.page >= hood.pages - 1,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> NeighbourPageButton:
        try:
            kind = NEIGHBOUR_KINDS.get(match["kind"])
            if kind is None:
                raise StaleComponent(STALE)
            return cls(
                kind,
                number(match["page"], limit=MAX_PAGES - 1),
                number(match["user"]),
                match["ref"],
            )
        except StaleComponent:  # raising here would leave the click unanswered
            return cls("references", 0, 0, "-", stale=True)

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        if self.stale:
            raise StaleComponent(STALE)
        if interaction.user.id != self.user_id:
            label = NEIGHBOUR_BUTTONS[self.kind]
            await interaction.response.send_message(
                f"These buttons belong to whoever opened this list; press {label} on the "
                "card for your own.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.response.defer()  # the page may need OpenAlex: acknowledge first
        client: Any = interaction.client
        work = await client.papers.by_ref(self.ref)
        hood = await client.neighbours.neighbourhood(work, self.kind, self.page)
        await interaction.edit_original_response(
            embed=render_neighbourhood(work, hood),
            view=neighbour_view(hood, self.user_id, self.ref),
            allowed_mentions=NO_MENTIONS,
        )


def actor_for(interaction: discord.Interaction) -> Actor:
    """Who acts, and within which owner: the server in a server, the person in DMs."""
    if interaction.guild_id is None:
        return Actor.in_dm(interaction.user.id)
    return Actor.in_guild(
        interaction.guild_id,
        interaction.user.id,
        interaction.channel_id,
        can_manage=interaction.permissions.manage_guild,
    )


class SaveButton(RefButton, template=r"lit:save:(?P<ref>.+)"):
    """Adds the work to the channel's default bibliography (personal in DMs), or asks which."""

    action, label, emoji = "save", "Save", "📚"
    style = discord.ButtonStyle.success

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        actor = saving_actor(interaction)
        work = await client.papers.by_ref(self.ref)
        try:
            bib = await client.bibs.resolve(actor, None)
        except BibliographyError:
            choices, _ = await client.bibs.bibliographies(actor)
            view = discord.ui.View(timeout=None)
            view.add_item(SaveToSelect(self.ref, [(b.id, b.name) for b in choices[:25]]))
            await interaction.followup.send(
                "This channel has no default bibliography. Save to which one?",
                view=view,
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        saved = await client.bibs.add_work(actor, work, bibliography=bib)
        await interaction.followup.send(
            saved.message(), ephemeral=True, allowed_mentions=NO_MENTIONS, **merge_kwargs(saved)
        )


def saving_actor(interaction: discord.Interaction) -> Actor:
    """``actor_for``, except where litbot is not installed in the server (a member's own
    install, used in someone else's server): what they save goes to their personal list."""
    if interaction.guild_id is not None and not interaction.is_guild_integration():
        return Actor.in_dm(interaction.user.id)
    return actor_for(interaction)


def merge_view_of(saved: Any) -> discord.ui.View | None:
    """The Merge / Keep both buttons when saving found a look-alike entry (``Saved``)."""
    from bot.ui.merges import merge_view

    return merge_view(saved.offers if saved.possible is not None else None)


def merge_kwargs(saved: Any) -> dict[str, Any]:
    view = merge_view_of(saved)
    return {"view": view} if view is not None else {}


class SaveToSelect(discord.ui.DynamicItem[discord.ui.Select], template=r"lit:saveto:(?P<ref>.+)"):
    """The bibliography to save to, when the channel has no default."""

    def __init__(self, ref: str, options: list[tuple[int, str]] | None = None) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"lit:saveto:{ref}",
                placeholder="Bibliography…",
                options=[
                    discord.SelectOption(label=name[:100], value=str(bib_id))
                    for bib_id, name in (options or [])
                ]
                or [discord.SelectOption(label="-", value="0")],
            )
        )
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str]
    ) -> SaveToSelect:
        return cls(match["ref"])

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        values = (interaction.data or {}).get("values") or ["0"]  # type: ignore[union-attr]
        await interaction.response.defer()
        client: Any = interaction.client
        actor = actor_for(interaction)
        # The id comes from the client: it only counts if it is this owner's bibliography.
        bib = await client.bibs.store.get_by_id(actor.owner, number(str(values[0])))
        if bib is None:
            raise BibliographyError("That bibliography no longer exists here.")
        work = await client.papers.by_ref(self.ref)
        saved = await client.bibs.add_work(actor, work, bibliography=bib)
        await interaction.edit_original_response(
            content=saved.message(), allowed_mentions=NO_MENTIONS, view=merge_view_of(saved)
        )


DYNAMIC_ITEMS = (
    CiteButton,
    SendToDMsButton,
    StyleSelect,
    AbstractButton,
    SaveButton,
    SaveToSelect,
    ReferencesButton,
    CitedByButton,
    RelatedButton,
    NeighbourPageButton,
    SourcesButton,
    CardButton,
    MapButton,
)


def card_view(
    ref: str | None, links: list[tuple[str, str]], *, has_neighbourhood: bool = False
) -> discord.ui.View:
    """Row 1: Cite, Save, Send to my DMs and the links (open copy, publisher); row 2, for works
    OpenAlex knows: References, Cited by, Related."""
    view = discord.ui.View(timeout=None)
    if ref is not None:
        view.add_item(CiteButton(ref))
        view.add_item(SaveButton(ref))
        view.add_item(SendToDMsButton(ref))
    for label, url in links:
        view.add_item(
            discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=url, row=0)
        )
    if ref is not None and has_neighbourhood:
        for button in (
            ReferencesButton(ref),
            CitedByButton(ref),
            RelatedButton(ref),
            MapButton(ref),
        ):
            button.row = 1
            view.add_item(button)
    return view


def compact_view(ref: str | None, work: Work) -> discord.ui.View:
    """The compact card's buttons. Row 1: Cite, Save, Send to my DMs, one open copy and the
    publisher only when that is somewhere else; row 2, for works OpenAlex knows: References,
    Cited by, Related, Map; row 3: Abstract, Sources (what the compact card leaves out)."""
    view = discord.ui.View(timeout=None)
    if ref is not None:
        for button in (CiteButton(ref), SaveButton(ref), SendToDMsButton(ref)):
            view.add_item(button)
    for label, url in compact_links(work):
        view.add_item(
            discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=url, row=0)
        )
    if ref is None:
        return view
    if work.openalex_id:
        for button in (
            ReferencesButton(ref),
            CitedByButton(ref),
            RelatedButton(ref),
            MapButton(ref),
        ):
            button.row = 1
            view.add_item(button)
    abstract = AbstractButton(ref, label="Abstract")
    abstract.row = 2
    sources = SourcesButton(ref)
    sources.row = 2
    if work.abstract:
        view.add_item(abstract)
    view.add_item(sources)
    return view


__all__ = ["DYNAMIC_ITEMS", "FORMATS", "card_view", "citation_message", "compact_view"]
