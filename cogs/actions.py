"""Message actions (right-click or long-press a message → Apps): cite, save or summarise every
paper in it, in one reply. Discord gives a message action the message's text with no
privileged intent, so these work in every channel, DM and group DM (also as a user install).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.errors import LitError
from bot.identifiers import find_identifiers
from bot.models import Work
from bot.summaries import key_sentences
from bot.ui.cards import render_summary, retraction_warning
from bot.ui.components import citation_message, saving_actor
from bot.ui.unfurl import batches, failures_text, save_report_text
from bot.unfurl import MAX_PER_MESSAGE, look_up_all, save_all

NOTHING = "No DOI, arXiv id, PMID or PMCID in that message."
KEY_SENTENCES = 3
MAX_SUMMARIES = 10  # one message of embeds


def _menu(name: str, callback: Any) -> app_commands.ContextMenu:
    menu = app_commands.ContextMenu(name=name, callback=callback)
    menu.allowed_contexts = app_commands.AppCommandContext(
        guild=True, dm_channel=True, private_channel=True
    )
    menu.allowed_installs = app_commands.AppInstallationType(guild=True, user=True)
    return menu


class ActionsCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot
        self.menus = [
            _menu("Cite papers in this message", self.cite),
            _menu("Save papers in this message", self.save),
            _menu("Summarise paper in this message", self.summarise),
        ]

    async def cog_load(self) -> None:
        for menu in self.menus:
            self.bot.tree.add_command(menu)

    async def cog_unload(self) -> None:
        for menu in self.menus:
            self.bot.tree.remove_command(menu.name, type=menu.type)

    async def _works(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> tuple[list[Work], str]:
        """Every paper of ``message`` (deferred first: the lookups may take a while), and the
        lines about identifiers that found none."""
        found = find_identifiers(message.content or "")[:MAX_PER_MESSAGE]
        if not found:
            raise LitError(NOTHING)  # answered privately, before any defer
        await interaction.response.defer(ephemeral=True, thinking=True)
        results = await look_up_all(self.bot.papers, found, settled=True)
        works = [r for r in results if isinstance(r, Work)]
        failed = [
            (i, r.user_message)
            for i, r in zip(found, results, strict=True)
            if isinstance(r, LitError)
        ]
        if not works:
            raise LitError(failures_text(failed))
        return works, failures_text(failed)

    async def cite(self, interaction: discord.Interaction, message: discord.Message) -> None:
        works, failed = await self._works(interaction, message)
        cites = self.bot.cites
        style = await cites.default_style(
            guild_id=interaction.guild_id, user_id=interaction.user.id
        )
        formatted = await cites.format(works, style)
        warnings = "\n".join(w for work in works if (w := retraction_warning(work)))
        content, file = citation_message(formatted, "citations", warning=warnings or None)
        if failed and len(content) + len(failed) < 1990:
            content += f"\n{failed}"
        kwargs: dict[str, Any] = {"file": file} if file else {}
        await interaction.followup.send(
            content, ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs
        )

    async def save(self, interaction: discord.Interaction, message: discord.Message) -> None:
        found = find_identifiers(message.content or "")[:MAX_PER_MESSAGE]
        if not found:
            raise LitError(NOTHING)
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await save_all(self.bot.bibs, self.bot.papers, saving_actor(interaction), found)
        await interaction.followup.send(
            save_report_text(report), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def summarise(self, interaction: discord.Interaction, message: discord.Message) -> None:
        works, failed = await self._works(interaction, message)
        embeds = []
        for work in works[:MAX_SUMMARIES]:
            sentences = (
                await self.bot.cites.workers.run(
                    key_sentences, work.title, work.abstract, KEY_SENTENCES
                )
                if work.abstract
                else []
            )
            embeds.append(render_summary(work, sentences))
        groups = batches(embeds)
        for index, group in enumerate(groups):
            last = index == len(groups) - 1
            await interaction.followup.send(
                content=failed if last and failed else None,
                embeds=group,
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(ActionsCog(bot))
