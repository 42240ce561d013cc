"""The buttons under a save or an import that found look-alike entries (same title, first
author and year, no identifier in common): merge them, or keep them apart for good. The batch
of offers is in the custom id; the service checks it is the clicker's server's (or their own
DMs') and that they were offered it or manage the server."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.ui.components import NO_MENTIONS, actor_for, guarded


def merge_view(batch: int | None) -> discord.ui.View | None:
    """Merge / Keep both, for one batch of offers (None: no offers, no view)."""
    if batch is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(MergeButton(batch, merge=True))
    view.add_item(MergeButton(batch, merge=False))
    return view


class MergeButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"lit:(?P<verb>merge|apart):(?P<batch>\d+)"
):
    def __init__(self, batch: int, *, merge: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label="Merge into one entry" if merge else "Keep both",
                emoji="🔗" if merge else None,
                style=discord.ButtonStyle.primary if merge else discord.ButtonStyle.secondary,
                custom_id=f"lit:{'merge' if merge else 'apart'}:{batch}",
            )
        )
        self.batch = batch
        self.merge = merge

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> MergeButton:
        return cls(int(match["batch"]), merge=match["verb"] == "merge")

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        settled = await client.bibs.settle_offers(
            actor_for(interaction), self.batch, merge=self.merge
        )
        await interaction.followup.send(
            settled.text(), ephemeral=True, allowed_mentions=NO_MENTIONS
        )
