"""/paper: look a work up and show its card."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.identifiers import parse_identifier
from bot.models import Identifier, Work
from bot.papers import REF_LIMIT, PaperService
from bot.ui.cards import card_links, render_card
from bot.ui.components import card_view

log = logging.getLogger(__name__)
# How long a card follows its slower sources (Semantic Scholar's queue can be long in a burst).
CARD_REFRESH_SECONDS = 600.0


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
        papers = self.bot.papers
        work = papers.peek(query)
        if work is not None and work.doi and len(work.doi) <= REF_LIMIT:
            # In memory and fresh: the card is the first answer (one request to Discord, no
            # upstream call, so nothing to defer for).
            await interaction.response.send_message(
                embed=render_card(work),
                view=card_view(
                    work.doi.lower(), card_links(work), has_neighbourhood=bool(work.openalex_id)
                ),
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.response.defer(thinking=True)
        work = await papers.lookup(query)
        ref = await papers.ref(work)
        embed = render_card(work)
        message = await interaction.followup.send(
            embed=embed,
            view=card_view(ref, card_links(work), has_neighbourhood=bool(work.openalex_id)),
            allowed_mentions=NO_MENTIONS,
            wait=True,
        )
        self.bot.spawn(refresh_card(papers, message, query, work, embed, ref))


async def refresh_card(
    papers: PaperService,
    message: discord.WebhookMessage,
    ident: Identifier,
    work: Work,
    shown: discord.Embed,
    ref: str,
) -> None:
    """Edit a card shown before all its sources answered, each time what it shows changes
    (Unpaywall's licence, Crossref's pages, the TL;DR …). Interaction tokens live 15 minutes;
    the card stops following its sources well before."""
    seen = shown.to_dict()
    try:
        async with asyncio.timeout(CARD_REFRESH_SECONDS):
            async for newer in papers.updates(ident, work):
                embed = render_card(newer)
                if embed.to_dict() == seen:
                    continue
                view = card_view(ref, card_links(newer), has_neighbourhood=bool(newer.openalex_id))
                await message.edit(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
                seen = embed.to_dict()
    except TimeoutError:
        log.info("stopped following the sources of %s", ident)
    except discord.HTTPException as exc:  # deleted, or the token expired: the card stays
        log.info("could not update the card for %s: %s", ident, exc)


async def setup(bot: LitBot) -> None:
    await bot.add_cog(PaperCog(bot))
