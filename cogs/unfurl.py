"""Papers pasted in conversation get compact cards; ``/settings unfurl`` opts a channel in.

Policy (where, how many) is ``bot.unfurl``; the cards and buttons are ``bot.ui.unfurl``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_MENTIONS, LitBot
from bot.errors import LitError, PermissionDenied
from bot.identifiers import message_identifiers
from bot.models import Identifier, Work
from bot.sources.fairness import REQUESTER, Requester
from bot.storage.preferences import Preferences
from bot.ui.unfurl import UNFURL_ITEMS, cards_message, failures_text, offer_message
from bot.unfurl import UnfurlChannels, UnfurlPolicy, look_up_all
from cogs.paper import follow_cards

log = logging.getLogger(__name__)

NEEDS_INTENT = (
    "Unfurling every link pasted in a channel needs Discord's message-content intent, which "
    "this litbot runs without: its operator enables it in the Developer Portal (Bot → "
    "Privileged Gateway Intents) and sets LITBOT_MESSAGE_CONTENT=true (README, “Papers in "
    "conversation”). Links in DMs, in messages that mention litbot and in replies to it unfurl "
    "anyway, and the message actions (right-click a message → Apps) work everywhere."
)


class UnfurlCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot
        self.policy = UnfurlPolicy()
        self.channels = UnfurlChannels(Preferences(bot.db))

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*UNFURL_ITEMS)
        # /settings unfurl joins the /settings group of cogs.cite (its own group without it)
        group = self.bot.tree.get_command("settings")
        if not isinstance(group, app_commands.Group):
            group = settings_group()
            self.bot.tree.add_command(group)
        group.add_command(
            app_commands.Command(
                name="unfurl",
                description="Show or set whether every paper link pasted here gets a card",
                callback=_settings_unfurl,
            )
        )
        if not self.bot.settings.message_content:
            log.info(NEEDS_INTENT)  # once per start

    async def cog_unload(self) -> None:
        group = self.bot.tree.get_command("settings")
        if isinstance(group, app_commands.Group):
            group.remove_command("unfurl")

    async def unfurls_here(self, message: discord.Message) -> tuple[bool, bool]:
        """(whether to unfurl, whether the author asked litbot directly)."""
        me = self.bot.user
        if message.guild is None:
            return True, True
        if me is not None and any(user.id == me.id for user in message.mentions):
            return True, True
        replied = message.reference.resolved if message.reference else None
        if isinstance(replied, discord.Message) and me is not None and replied.author.id == me.id:
            return True, True
        if not self.bot.reads_messages:
            return False, False
        channel_id = getattr(message.channel, "parent_id", None) or message.channel.id
        enabled = await self.channels.enabled(message.guild.id, message.channel.id)
        if not enabled and channel_id != message.channel.id:  # a thread: its channel's choice
            enabled = await self.channels.enabled(message.guild.id, channel_id)
        return enabled, False

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id is not None or not message.content:
            return  # never litbot's own cards, other bots, or text litbot may not read
        if message.flags.suppress_embeds:
            return  # the author turned previews off
        found = message_identifiers(message.content)
        if not found:
            return
        # the lookups count against this server's (or DM's) and this member's fair shares
        server = f"g{message.guild.id}" if message.guild else f"dm{message.author.id}"
        REQUESTER.set(Requester(server, str(message.author.id)))
        try:
            unfurl, asked = await self.unfurls_here(message)
            if not unfurl:
                return
            plan = self.policy.plan(message.channel.id, found, asked=asked)
            if plan is None:
                return
            if plan.offer:
                content, view = offer_message(len(found), paused=plan.paused, source_id=message.id)
                await message.reply(content, view=view, allowed_mentions=NO_MENTIONS)
                return
            await self.send_cards(message, found, plan.cards, asked=asked)
        except discord.HTTPException as error:  # no permission to reply here, a deleted message
            log.info("could not unfurl in channel %s: %s", message.channel.id, error)
        except Exception:
            log.exception("unfurling message %s failed", message.id)

    async def send_cards(
        self,
        message: discord.Message,
        found: Sequence[Identifier],
        cards: Sequence[Identifier],
        *,
        asked: bool,
    ) -> None:
        """Cards for ``cards`` (the first of ``found``, the message's identifiers, not shown
        lately) in one reply; the papers after them behind "+N more"."""
        papers = self.bot.papers
        results = await look_up_all(papers, cards)
        pairs = [(i, r) for i, r in zip(cards, results, strict=True) if isinstance(r, Work)]
        failed = [
            (i, r.user_message)
            for i, r in zip(cards, results, strict=True)
            if isinstance(r, LitError)
        ]
        if not pairs:  # nothing to show: say why only to someone who asked litbot
            if asked:
                await message.reply(failures_text(failed), allowed_mentions=NO_MENTIONS)
            return
        idents = [i for i, _ in pairs]
        works = [w for _, w in pairs]
        refs = [await papers.ref(w) for w in works]
        start = found.index(cards[-1]) + 1
        more = len(found) - start

        def render(latest: Sequence[Work]) -> dict[str, Any]:
            embeds, view = cards_message(
                list(zip(refs, latest, strict=True)), more=more, start=start, source_id=message.id
            )
            return {"embeds": embeds, "view": view}

        sent = await message.reply(**render(works), allowed_mentions=NO_MENTIONS)
        self.bot.spawn(follow_cards(papers, sent, idents, works, render))


async def _settings_unfurl(interaction: discord.Interaction, enabled: bool | None = None) -> None:
    """Show or change whether this channel unfurls every pasted paper link."""
    client: Any = interaction.client
    cog: UnfurlCog | None = client.get_cog("UnfurlCog")
    assert cog is not None
    intent = "" if client.reads_messages else f"\n\n{NEEDS_INTENT}"
    if interaction.guild_id is None:
        await interaction.response.send_message(
            "In DMs with litbot every pasted paper link unfurls; there is nothing to turn on."
            + intent,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return
    channel = f"<#{interaction.channel_id}>"
    if enabled is None:
        on = await cog.channels.enabled(interaction.guild_id, interaction.channel_id or 0)
        await interaction.response.send_message(
            f"Unfurling every pasted paper link in {channel}: **{'on' if on else 'off'}**. "
            "Links in messages that mention litbot, and in replies to it, always unfurl." + intent,
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return
    perms = interaction.permissions
    if not (perms.manage_guild or perms.manage_channels):
        raise PermissionDenied(
            "Only members with **Manage Server** or **Manage Channels** can change this."
        )
    await cog.channels.set(
        interaction.guild_id, interaction.channel_id or 0, enabled, by=interaction.user.id
    )
    state = "on" if enabled else "off"
    await interaction.response.send_message(
        f"Unfurling every pasted paper link in {channel} is now **{state}**." + intent,
        allowed_mentions=NO_MENTIONS,
    )


def settings_group() -> app_commands.Group:
    return app_commands.Group(
        name="settings",
        description="litbot settings for this server (or for you, in DMs)",
        allowed_contexts=app_commands.AppCommandContext(
            guild=True, dm_channel=True, private_channel=True
        ),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
    )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(UnfurlCog(bot))
