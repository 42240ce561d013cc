"""/paper: look a work up and show its card."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.identifiers import parse_identifier
from bot.models import Identifier
from bot.ui.cards import card_links, render_card
from bot.ui.components import card_view


class IdentifierTransformer(app_commands.Transformer):
    """Parses the query at the boundary, so bad input is refused before any defer."""

    async def transform(self, interaction: discord.Interaction, value: str) -> Identifier:
        return parse_identifier(value)


QUERY_HELP = "DOI, doi.org or publisher link, arXiv id, PMID, PMCID, or title"
Query = app_commands.Transform[Identifier, IdentifierTransformer]


def lookup_command(name: str, description: str):
    """A slash command about one paper: the ``query`` option, usable in servers, in DMs with
    the bot and as a user-installed app."""

    def decorate(func):
        func = app_commands.allowed_installs(guilds=True, users=True)(func)
        func = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(func)
        func = app_commands.describe(query=QUERY_HELP)(func)
        return app_commands.command(name=name, description=description)(func)

    return decorate


class PaperCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    @lookup_command("paper", "Show a paper's card: metadata, access, TL;DR")
    async def paper(self, interaction: discord.Interaction, query: Query) -> None:
        await interaction.response.defer(thinking=True)
        work = await self.bot.papers.lookup(query)
        ref = await self.bot.papers.ref(work)
        await interaction.followup.send(
            embed=render_card(work),
            view=card_view(ref, card_links(work), has_neighbourhood=bool(work.openalex_id)),
            allowed_mentions=NO_MENTIONS,
        )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(PaperCog(bot))
