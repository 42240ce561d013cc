"""/summary: the TL;DR and the key sentences of a paper's abstract."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.summaries import key_sentences
from bot.ui.cards import render_summary
from bot.ui.components import AbstractButton, CiteButton
from cogs.paper import Query, lookup_command

KEY_SENTENCES = 3


class SummaryCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    @lookup_command("summary", "A paper's TL;DR and its key sentences")
    async def summary(self, interaction: discord.Interaction, query: Query) -> None:
        await interaction.response.defer(thinking=True)
        work = await self.bot.papers.lookup(query, settled=True)
        workers = self.bot.cites.workers  # one abstract: a light job, off the event loop
        sentences = (
            await workers.run(key_sentences, work.title, work.abstract, KEY_SENTENCES)
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
