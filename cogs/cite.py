"""/cite and /settings style: citations in any CSL style or bibliography format."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.citing import FORMATS, style_title
from bot.errors import LitError, PermissionDenied
from bot.markdown import escape
from bot.models import Identifier
from bot.ui.cards import retraction_warning
from bot.ui.components import citation_message, file_stem
from cogs.paper import IdentifierTransformer

log = logging.getLogger(__name__)

CHOICE_LIMIT = 25


async def choices(bot: LitBot, current: str) -> list[app_commands.Choice[str]]:
    """≤ 25 choices: matching machine formats first, then styles (exact ids and aliases, then
    the best matches; ``bot.citing.style_options``), searched in the interactive worker process
    (the search reads every style's title), so autocomplete never holds the event loop."""
    options = await bot.cites.style_options(current, CHOICE_LIMIT)
    return [app_commands.Choice(name=name, value=value) for name, value in options]


class CiteCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot
        self._scan: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        # The interactive worker starts while the bot connects and reads the style list
        # (10,800 files) for autocomplete and style names; the bulk workers start with the
        # first export or import, so a start-up costs no more CPU than it must.
        self._scan = asyncio.create_task(self._warm())
        self._scan.add_done_callback(_log_failure)

    async def _warm(self) -> None:
        await self.bot.cites.workers.warm(bulk=False)

    async def cog_unload(self) -> None:
        if self._scan is not None:
            self._scan.cancel()

    @app_commands.command(
        name="cite", description="Cite a paper in any CSL style, or as BibTeX/RIS/CSL-JSON"
    )
    @app_commands.describe(
        query="DOI, doi.org or publisher link, arXiv id, PMID, PMCID, or title",
        style="APA, Vancouver, Chicago, IEEE, … (any bundled CSL style), or bibtex/ris/csl-json",
        private="Only you see the answer",
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def cite(
        self,
        interaction: discord.Interaction,
        query: app_commands.Transform[Identifier, IdentifierTransformer],
        style: str | None = None,
        private: bool = False,
    ) -> None:
        # bad names answer before deferring; a title or a typo searches the list: in a worker
        target = await self.bot.cites.resolve(style) if style else None
        await interaction.response.defer(ephemeral=private, thinking=True)
        work, formatted = await self.bot.cites.cite(
            query,
            target,
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
            channel_id=interaction.channel_id,
        )
        content, file = citation_message(
            formatted, file_stem(work), warning=retraction_warning(work)
        )
        kwargs: dict[str, Any] = {"file": file} if file else {}
        await interaction.followup.send(
            content, ephemeral=private, allowed_mentions=NO_MENTIONS, **kwargs
        )

    @cite.autocomplete("style")
    async def style_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await choices(self.bot, current)

    settings = app_commands.Group(
        name="settings",
        description="litbot settings for this server (or for you, in DMs)",
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=True, private_channel=True
        ),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
    )

    @settings.command(name="style", description="Show or set the default citation style")
    @app_commands.describe(style="A CSL style (or 'default' to go back to APA); leave out to show")
    async def settings_style(
        self, interaction: discord.Interaction, style: str | None = None
    ) -> None:
        guild_id = interaction.guild_id
        scope = "this server" if guild_id is not None else "you (in DMs)"
        if style is None:
            current = await self.bot.cites.default_style(
                guild_id=guild_id, user_id=interaction.user.id
            )
            await interaction.response.send_message(
                f"Default citation style for {scope}: **{escape(style_title(current))}** "
                f"(`{current}`).",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        # Refusals are LitErrors: the command tree answers them privately.
        if guild_id is not None and not interaction.permissions.manage_guild:
            raise PermissionDenied(
                "Only members with **Manage Server** can change the server's citation style."
            )
        reset = style.strip().lower() in ("default", "reset", "none")
        if not reset and await self.bot.cites.resolve(style) in FORMATS:
            raise LitError(
                "The default must be a citation style; BibTeX, RIS and CSL-JSON are chosen per "
                "`/cite`."
            )
        resolved = await self.bot.cites.set_default_style(
            None if reset else style, guild_id=guild_id, user_id=interaction.user.id
        )
        shown = resolved or self.bot.cites.fallback_style
        await interaction.response.send_message(
            f"Default citation style for {scope} is now **{escape(style_title(shown))}** "
            f"(`{shown}`).",
            ephemeral=guild_id is None,
            allowed_mentions=NO_MENTIONS,
        )

    @settings_style.autocomplete("style")
    async def settings_style_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        found = await choices(self.bot, current)
        return [c for c in found if c.value not in FORMATS]


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("starting the worker processes failed", exc_info=task.exception())


async def setup(bot: LitBot) -> None:
    await bot.add_cog(CiteCog(bot))
