"""/summary: the TL;DR and the key sentences of a paper's abstract."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.models import Identifier
from bot.summaries import key_sentences
from bot.ui.cards import render_summary
from bot.ui.components import AbstractButton, CiteButton
from cogs.paper import IdentifierTransformer

KEY_SENTENCES = 3


class SummaryCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    @app_commands.command(name="summary", description="A paper's TL;DR and its key sentences")
    @app_commands.describe(query="DOI, doi.org or publisher link, arXiv id, PMID, PMCID, or title")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def summary(
        self,
        interaction: discord.Interaction,
        query: app_commands.Transform[Identifier, IdentifierTransformer],
    ) -> None:
        await interaction.response.defer(thinking=True)
        work = await self.bot.papers.lookup(query)
        sentences = (
            await asyncio.to_thread(key_sentences, work.title, work.abstract, KEY_SENTENCES)
            if work.abstract
            else []
        )
        ref = await self.bot.papers.ref(work)
        view = discord.ui.View(timeout=None)
        if work.abstract:
            view.add_item(AbstractButton(ref))
        view.add_item(CiteButton(ref))
        await interaction.followup.send(
            embed=render_summary(work, sentences), view=view, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(SummaryCog(bot))
