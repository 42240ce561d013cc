"""/paper: look a work up and show its card."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.identifiers import parse_identifier
from bot.models import Identifier
from bot.ui.cards import card_links, render_card


class IdentifierTransformer(app_commands.Transformer):
    """Parses the query at the boundary, so bad input is refused before any defer."""

    async def transform(self, interaction: discord.Interaction, value: str) -> Identifier:
        return parse_identifier(value)


def card_view(links: list[tuple[str, str]]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for label, url in links:
        view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=url))
    return view


class PaperCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    @app_commands.command(name="paper", description="Show a paper's card: metadata, access, TL;DR")
    @app_commands.describe(query="DOI, doi.org or publisher link, arXiv id, PMID, PMCID, or title")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def paper(
        self,
        interaction: discord.Interaction,
        query: app_commands.Transform[Identifier, IdentifierTransformer],
    ) -> None:
        await interaction.response.defer(thinking=True)
        work = await self.bot.papers.lookup(query)
        await interaction.followup.send(
            embed=render_card(work), view=card_view(card_links(work)), allowed_mentions=NO_MENTIONS
        )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(PaperCog(bot))
