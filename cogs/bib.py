"""/bib: shared bibliographies (per server, per channel default) and a personal one in DMs."""

from __future__ import annotations

import io
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import bibio
from bot.bibliographies import MAX_PAGE, Actor, BibliographyError, Page
from bot.bot import NO_MENTIONS, LitBot
from bot.errors import StaleComponent
from bot.markdown import escape
from bot.text import plural, truncate
from bot.ui.cards import render_entry, render_page, render_search
from bot.ui.components import actor_for, guarded, merge_kwargs
from bot.ui.custom_ids import STALE, number
from bot.ui.merges import merge_view
from cogs.cite import choices

SORTS = [
    app_commands.Choice(name="newest first", value="added"),
    app_commands.Choice(name="author", value="author"),
    app_commands.Choice(name="year", value="year"),
    app_commands.Choice(name="title", value="title"),
]
SORT_CODES = {"added": "a", "author": "u", "year": "y", "title": "t"}
SORT_NAMES = {v: k for k, v in SORT_CODES.items()}
REPORT_INLINE = 1500
CUSTOM_ID_LIMIT = 100  # Discord's limit; a button whose anchor would pass it goes by number


class StaleButton(discord.ui.DynamicItem[discord.ui.Button], template=r"lit:[\s\S]*"):
    """Stands in for a /bib button whose custom id holds a number nothing can have: says so.
    (Not registered: ``from_custom_id`` below returns it, as raising there leaves no reply.)"""

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        raise StaleComponent(STALE)


def page_view(page: Page, user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if page.pages > 1:
        view.add_item(PageButton.step(page, user_id, -1))
        view.add_item(PageButton.step(page, user_id, +1))
    return view


class PageButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=(
        r"lit:bp:(?P<bib>\d+):(?P<index>\d+):(?P<sort>[auyt]):(?P<user>\d+):(?P<tag>[\w-]*)"
        r"(?::(?P<way>[ab])(?P<anchor>\d+))?"
    ),
):
    """◀ / ▶ on a list. Pages are re-read on every click, scoped to the clicker's server.

    The button names the entry next to its page (``a``: the page starts after it, ``b``: it
    ends before it), so the page is found by seeking the sort index, as cheap on page 5,000
    as on page 2; its number is what the footer shows, and what is used when that entry is
    gone (buttons made before anchors existed have none)."""

    def __init__(
        self,
        bibliography_id: int,
        index: int,
        sort: str,
        tag: str,
        user_id: int,
        *,
        label: str = "Next ▶",
        disabled: bool = False,
        anchor: tuple[str, int] | None = None,
    ) -> None:
        self.bibliography_id, self.index, self.sort = bibliography_id, max(0, index), sort
        self.tag, self.user_id = tag, user_id
        code = SORT_CODES.get(sort, "a")
        custom_id = f"lit:bp:{bibliography_id}:{self.index}:{code}:{user_id}:{tag}"
        if anchor is not None and len(custom_id) + 2 + len(str(anchor[1])) > CUSTOM_ID_LIMIT:
            anchor = None
        if anchor is not None:
            custom_id += f":{anchor[0]}{anchor[1]}"
        self.anchor = anchor
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id,
                disabled=disabled,
            )
        )

    @classmethod
    def step(cls, page: Page, user_id: int, step: int) -> PageButton:
        back = step < 0
        entry_id = page.first_id if back else page.last_id
        return cls(
            page.bibliography.id,
            page.page + step,
            page.sort,
            page.tag or "",
            user_id,
            label="◀ Previous" if back else "Next ▶",
            disabled=page.page == 0 if back else page.page >= page.pages - 1,
            anchor=(("b" if back else "a"), entry_id) if entry_id is not None else None,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> PageButton | StaleButton:
        try:
            anchor = (match["way"], number(match["anchor"])) if match["way"] else None
            return cls(
                number(match["bib"]),
                number(match["index"], limit=MAX_PAGE),
                SORT_NAMES[match["sort"]],
                match["tag"],
                number(match["user"]),
                anchor=anchor,
            )
        except StaleComponent:
            return StaleButton(item)

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(
                "These buttons belong to whoever ran the command; use `/bib list` yourself.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        client: Any = interaction.client
        way, entry_id = self.anchor or ("", None)
        page = await client.bibs.page(
            actor_for(interaction),
            bibliography_id=self.bibliography_id,
            page=self.index,
            sort=self.sort,
            tag=self.tag or None,
            after=entry_id if way == "a" else None,
            before=entry_id if way == "b" else None,
        )
        await interaction.response.edit_message(
            embed=render_page(page), view=page_view(page, self.user_id)
        )


class DeleteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lit:bibdel:(?P<bib>\d+):(?P<user>\d+):(?P<yes>[yn])",
):
    """The confirmation for /bib delete: only the member who asked can confirm."""

    def __init__(self, bibliography_id: int, user_id: int, confirm: bool) -> None:
        self.bibliography_id, self.user_id, self.confirm = bibliography_id, user_id, confirm
        super().__init__(
            discord.ui.Button(
                label="Delete it" if confirm else "Cancel",
                style=discord.ButtonStyle.danger if confirm else discord.ButtonStyle.secondary,
                custom_id=f"lit:bibdel:{bibliography_id}:{user_id}:{'y' if confirm else 'n'}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> DeleteButton | StaleButton:
        try:
            return cls(number(match["bib"]), number(match["user"]), match["yes"] == "y")
        except StaleComponent:
            return StaleButton(item)

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(
                "Only the member who asked for the deletion can confirm it.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        if not self.confirm:
            await interaction.response.edit_message(content="Kept; nothing deleted.", view=None)
            return
        client: Any = interaction.client
        removed = await client.bibs.delete(actor_for(interaction), self.bibliography_id)
        await interaction.response.edit_message(
            content=f"Deleted, with its {plural(removed, 'entry', 'entries')}.", view=None
        )


class BibCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    bib = app_commands.Group(
        name="bib",
        description="Shared bibliographies (this server's, or your personal one in DMs)",
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=True, private_channel=True
        ),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
    )

    async def _names(self, interaction: discord.Interaction, current: str):
        names = await self.bot.bibs.name_choices(actor_for(interaction), current)
        return [app_commands.Choice(name=n[:100], value=n) for n in names]

    async def _tags(self, interaction: discord.Interaction, current: str):
        tags = await self.bot.bibs.tag_choices(actor_for(interaction), current)
        return [app_commands.Choice(name=f"#{t}", value=t) for t in tags]

    @bib.command(name="add", description="Add a paper (again: update its note and tags)")
    @app_commands.describe(
        query="DOI, link, arXiv id, PMID, PMCID or title",
        bibliography="Which bibliography (default: the channel's, or your personal one in DMs)",
        note="A note for the lab (up to 500 characters)",
        tags="Tags, separated by spaces or commas",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        query: str,
        bibliography: str | None = None,
        note: str | None = None,
        tags: str | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True, ephemeral=interaction.guild_id is None)
        saved, work = await self.bot.bibs.add(
            actor_for(interaction), query, bibliography, note=note, tags=tags
        )
        await interaction.followup.send(
            saved.message(work.title),
            allowed_mentions=NO_MENTIONS,
            **merge_kwargs(saved),
        )

    @bib.command(
        name="remove", description="Remove a paper (your own entries; any with Manage Server)"
    )
    @app_commands.describe(
        query="The paper's DOI (or link, arXiv id)", bibliography="Which bibliography"
    )
    async def remove(
        self, interaction: discord.Interaction, query: str, bibliography: str | None = None
    ) -> None:
        entry = await self.bot.bibs.remove(actor_for(interaction), query, bibliography)
        await interaction.response.send_message(
            f"Removed {escape(entry.work.title[:200])}.",
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(name="list", description="List a bibliography, ten entries a page")
    @app_commands.describe(
        bibliography="Which bibliography", tag="Only entries with this tag", sort="Order"
    )
    @app_commands.choices(sort=SORTS)
    async def list_(
        self,
        interaction: discord.Interaction,
        bibliography: str | None = None,
        tag: str | None = None,
        sort: str = "added",
    ) -> None:
        page = await self.bot.bibs.page(actor_for(interaction), bibliography, sort=sort, tag=tag)
        await interaction.response.send_message(
            embed=render_page(page),
            view=page_view(page, interaction.user.id),
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(name="show", description="Show one entry with its note and tags")
    @app_commands.describe(
        query="The paper's DOI (or link, arXiv id)", bibliography="Which bibliography"
    )
    async def show(
        self, interaction: discord.Interaction, query: str, bibliography: str | None = None
    ) -> None:
        bib = await self.bot.bibs.resolve(actor_for(interaction), bibliography)
        entry = await self.bot.bibs.show(actor_for(interaction), query, bib.name)
        await interaction.response.send_message(
            embed=render_entry(entry, bib.name),
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(
        name="search", description="Search a bibliography: title, authors, venue, notes, tags"
    )
    @app_commands.describe(
        query="Words to find (each word's beginning: “geno” finds “genomics”)",
        bibliography="Which bibliography",
    )
    async def search(
        self, interaction: discord.Interaction, query: str, bibliography: str | None = None
    ) -> None:
        bib, entries = await self.bot.bibs.search(actor_for(interaction), query, bibliography)
        await interaction.response.send_message(
            embed=render_search(bib, query, entries),
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(
        name="duplicates",
        description="Find entries that are one paper (merging them needs Manage Server)",
    )
    @app_commands.describe(bibliography="Which bibliography")
    async def duplicates(
        self, interaction: discord.Interaction, bibliography: str | None = None
    ) -> None:
        found = await self.bot.bibs.find_duplicates(actor_for(interaction), bibliography)
        kwargs: dict[str, Any] = {}
        if found.pairs and found.batch is not None:
            kwargs["view"] = merge_view(found.batch)
        await interaction.response.send_message(
            truncate(found.text(), 2000),
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
            **kwargs,
        )

    async def _entries(self, interaction: discord.Interaction, current: str):
        options = await self.bot.bibs.entry_choices(actor_for(interaction), current)
        return [app_commands.Choice(name=label, value=key[:100]) for label, key in options]

    @bib.command(name="export", description="Export as a file: BibTeX, RIS, CSL-JSON or any style")
    @app_commands.describe(
        bibliography="Which bibliography",
        format="bibtex, ris, csl-json, or a citation style (apa, vancouver, …)",
        markdown="For a style: a Markdown file (.md) instead of plain text",
        tag="Only entries with this tag",
    )
    async def export(
        self,
        interaction: discord.Interaction,
        bibliography: str | None = None,
        format: str = "bibtex",
        markdown: bool = False,
        tag: str | None = None,
    ) -> None:
        actor = actor_for(interaction)
        await self.bot.cites.resolve(format)  # an unknown style or bibliography is refused
        await self.bot.bibs.resolve(actor, bibliography)  # before deferring
        self.bot.bibs.check_cooldown(actor, "export")
        await interaction.response.defer(thinking=True, ephemeral=True)
        exported = await self.bot.bibs.export(
            actor, bibliography, format, markdown=markdown, tag=tag
        )
        try:  # sent from its spooled file, never copied whole into memory
            limit = getattr(interaction, "attachment_size_limit", 0) or 8 * 1024 * 1024
            if exported.size > limit:
                raise BibliographyError(
                    "The export is larger than Discord lets me attach here; export by tag, or "
                    "use `litbot bib export` on the server."
                )
            await interaction.followup.send(
                f"{plural(exported.count, 'entry', 'entries')} as {escape(exported.label)}.",
                file=discord.File(exported.open(), filename=exported.filename),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
        finally:
            exported.close()

    @bib.command(name="import", description="Import a .bib, .ris, or .txt list of identifiers")
    @app_commands.describe(
        file="The file (up to 2 MiB, 5,000 entries)", bibliography="Into which bibliography"
    )
    async def import_(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        bibliography: str | None = None,
    ) -> None:
        actor = actor_for(interaction)
        bibio.check_upload(file.filename, file.size)  # refused before download or defer
        self.bot.bibs.check_cooldown(actor, "import")
        await interaction.response.defer(thinking=True, ephemeral=interaction.guild_id is None)
        data = await file.read()
        report = await self.bot.bibs.import_file(actor, file.filename, data, bibliography)
        # the living library re-checks the new entries now (cogs.alerts), in the background
        self.bot.dispatch("litbot_import", len(report.added) + len(report.joined))
        text = report.text()
        kwargs: dict[str, Any] = {}
        content = escape(report.summary())
        if report.failed or report.check or len(text) > REPORT_INLINE:
            kwargs["file"] = discord.File(io.BytesIO(text.encode()), filename="import-report.txt")
            if report.failed:
                first = report.failed[0]
                content += f"\nFirst problem: line {first.line}: {escape(first.message[:200])}"
            elif report.check:
                first = report.check[0]
                content += f"\nTo check: line {first.line}: {escape(first.message[:200])}"
        if report.possible and report.offers is not None:
            kwargs["view"] = merge_view(report.offers)
        await interaction.followup.send(content, allowed_mentions=NO_MENTIONS, **kwargs)

    @bib.command(name="create", description="Create a bibliography (Manage Server)")
    @app_commands.describe(name="Its name", channel_default="Make it this channel's default")
    async def create(
        self, interaction: discord.Interaction, name: str, channel_default: bool = False
    ) -> None:
        bib = await self.bot.bibs.create(
            actor_for(interaction), name, channel_default=channel_default
        )
        suffix = (
            " It is this channel's default." if channel_default and interaction.guild_id else ""
        )
        await interaction.response.send_message(
            f"Created **{escape(bib.name)}**.{suffix}",
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(name="rename", description="Rename a bibliography (Manage Server)")
    @app_commands.describe(bibliography="Which bibliography", new_name="Its new name")
    async def rename(
        self, interaction: discord.Interaction, bibliography: str, new_name: str
    ) -> None:
        bib = await self.bot.bibs.rename(actor_for(interaction), bibliography, new_name)
        await interaction.response.send_message(
            f"Renamed to **{escape(bib.name)}**.",
            ephemeral=interaction.guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(name="delete", description="Delete a bibliography and its entries (Manage Server)")
    @app_commands.describe(bibliography="Which bibliography")
    async def delete(self, interaction: discord.Interaction, bibliography: str) -> None:
        bib = await self.bot.bibs.check_delete(actor_for(interaction), bibliography)
        view = discord.ui.View(timeout=None)
        view.add_item(DeleteButton(bib.id, interaction.user.id, True))
        view.add_item(DeleteButton(bib.id, interaction.user.id, False))
        await interaction.response.send_message(
            f"Delete **{escape(bib.name)}** and its {plural(bib.size, 'entry', 'entries')}? "
            "This cannot be undone.",
            view=view,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @bib.command(name="default", description="Set (or clear) this channel's default bibliography")
    @app_commands.describe(bibliography="Leave out to clear the channel's default")
    async def default(
        self, interaction: discord.Interaction, bibliography: str | None = None
    ) -> None:
        bib = await self.bot.bibs.set_default(actor_for(interaction), bibliography)
        message = (
            f"This channel's default bibliography is now **{escape(bib.name)}**."
            if bib
            else "This channel has no default bibliography now."
        )
        await interaction.response.send_message(message, allowed_mentions=NO_MENTIONS)

    @bib.command(name="bibliographies", description="List the bibliographies here")
    async def bibliographies(self, interaction: discord.Interaction) -> None:
        actor: Actor = actor_for(interaction)
        bibs, default = await self.bot.bibs.bibliographies(actor)
        if not bibs:
            text = "No bibliographies yet: `/bib add` starts one."
        else:
            lines = [
                f"• **{escape(b.name)}** — {plural(b.size, 'entry', 'entries')}"
                + (" (this channel's default)" if default and b.id == default.id else "")
                for b in bibs
            ]
            text = "\n".join(lines)
        await interaction.response.send_message(
            text[:2000], ephemeral=interaction.guild_id is None, allowed_mentions=NO_MENTIONS
        )

    for command in (add, remove, list_, show, search, export, import_, rename, delete, default):
        command.autocomplete("bibliography")(_names)
    remove.autocomplete("query")(_entries)
    show.autocomplete("query")(_entries)
    list_.autocomplete("tag")(_tags)
    export.autocomplete("tag")(_tags)

    @export.autocomplete("format")
    async def _formats(self, interaction: discord.Interaction, current: str):
        return await choices(self.bot, current or "bib")


async def setup(bot: LitBot) -> None:
    bot.add_dynamic_items(PageButton, DeleteButton)
    await bot.add_cog(BibCog(bot))
