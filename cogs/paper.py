"""/paper: look a work up and show its card (compact by default, ``full:`` for every field)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.identifiers import parse_identifier
from bot.models import Identifier, Work
from bot.papers import REF_LIMIT, PaperService
from bot.ui.cards import card_links, render_card, render_compact
from bot.ui.components import card_view, compact_view
from bot.ui.cycles import release_view

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


def card(work: Work, ref: str | None, *, full: bool = False) -> dict[str, Any]:
    """The message for ``work``'s card: compact (the default) or full, with its buttons."""
    if full:
        view = card_view(ref, card_links(work), has_neighbourhood=bool(work.openalex_id))
        return {"embed": render_card(work), "view": view}
    return {"embed": render_compact(work), "view": compact_view(ref, work)}


class PaperCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    @lookup_command("paper", "Show a paper's card: metadata, access, TL;DR")
    @app_commands.describe(full="Every field: abstract, identifiers, sources (default: compact)")
    async def paper(
        self, interaction: discord.Interaction, query: Query, full: bool = False
    ) -> None:
        papers = self.bot.papers
        work = papers.peek(query)
        if work is not None and work.doi and len(work.doi) <= REF_LIMIT:
            # In memory and fresh: the card is the first answer (one request to Discord, no
            # upstream call, so nothing to defer for).
            await interaction.response.send_message(
                **card(work, work.doi.lower(), full=full), allowed_mentions=NO_MENTIONS
            )
            return
        await interaction.response.defer(thinking=True)
        work = await papers.lookup(query)
        ref = await papers.ref(work)
        shown = card(work, ref, full=full)
        message = await interaction.followup.send(**shown, allowed_mentions=NO_MENTIONS, wait=True)

        def render(works: Sequence[Work]) -> dict[str, Any]:
            return card(works[0], ref, full=full)

        self.bot.spawn(follow_cards(papers, message, [query], [work], render))


async def follow_cards(
    papers: PaperService,
    message: Any,
    idents: Sequence[Identifier],
    works: Sequence[Work],
    render: Callable[[Sequence[Work]], dict[str, Any]],
) -> None:
    """Edit a message of cards shown before all their sources answered, each time what it
    shows changes (Unpaywall's licence, Crossref's pages, the TL;DR …). ``render`` makes the
    message's ``embed``/``embeds`` and ``view`` from the latest works. Interaction tokens live
    15 minutes; the cards stop following their sources well before."""
    latest = list(works)
    seen = _shown(_unsent(render(latest)))
    lock = asyncio.Lock()

    async def follow(index: int) -> None:
        nonlocal seen
        async for newer in papers.updates(idents[index], works[index]):
            async with lock:
                latest[index] = newer
                message_kwargs = render(latest)
                if _shown(message_kwargs) == seen:
                    _unsent(message_kwargs)
                    continue
                await message.edit(**message_kwargs, allowed_mentions=NO_MENTIONS)
                seen = _shown(message_kwargs)

    try:
        async with asyncio.timeout(CARD_REFRESH_SECONDS):
            await asyncio.gather(*(follow(i) for i in range(len(latest))))
    except TimeoutError:
        log.info("stopped following the sources of %s", ", ".join(map(str, idents)))
    except discord.HTTPException as exc:  # deleted, or the token expired: the cards stay
        log.info("could not update the cards for %s: %s", ", ".join(map(str, idents)), exc)


def _unsent(message_kwargs: dict[str, Any]) -> dict[str, Any]:
    """A rendering only compared, never sent: its view is let go at once (``release_view``)."""
    release_view(message_kwargs.get("view"))
    return message_kwargs


def _shown(message_kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    embeds = message_kwargs.get("embeds") or [message_kwargs["embed"]]
    return [e.to_dict() for e in embeds]


async def setup(bot: LitBot) -> None:
    await bot.add_cog(PaperCog(bot))
