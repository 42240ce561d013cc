"""The living library's Discord side: the job that re-checks saved works and delivers alerts.

Thin: the re-check is ``bot.watch.Watch``, the grouping and bookkeeping ``bot.alerting``, the
message ``bot.ui.alerts``. This cog only runs them on a ``tasks.loop`` and posts through
discord.py (``DiscordSender``).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.alerting import Undeliverable, deliver
from bot.bot import NO_MENTIONS, LitBot
from bot.errors import PermissionDenied
from bot.storage.preferences import Preferences
from bot.storage.watch import ALERT_CHANNEL, ALERT_DMS, Alert
from bot.ui.alerts import alert_message

log = logging.getLogger(__name__)


class DiscordSender:
    """``bot.alerting.Sender`` through discord.py."""

    def __init__(self, bot: LitBot) -> None:
        self.bot = bot

    async def send(self, target: str, alerts: list[Alert]) -> None:
        kind, _, ident = target.partition(":")
        content, view = alert_message(alerts)
        try:
            if kind == "channel":
                channel = self.bot.get_channel(int(ident)) or await self.bot.fetch_channel(
                    int(ident)
                )
                if not isinstance(channel, discord.abc.Messageable):
                    raise Undeliverable("that channel cannot hold messages")
                await channel.send(content, view=view, allowed_mentions=NO_MENTIONS)
            else:
                dm = await self.bot.create_dm(discord.Object(int(ident)))  # no user lookup
                await dm.send(content, view=view, allowed_mentions=NO_MENTIONS)
        except discord.NotFound as exc:
            raise Undeliverable("the channel no longer exists", gone=True) from exc
        except discord.Forbidden as exc:
            reason = (
                "their DMs are closed to litbot"
                if kind == "user"
                else "litbot may not post there (it needs View Channel and Send Messages)"
            )
            raise Undeliverable(reason) from exc

    async def tell_admins(self, guild_id: int, text: str) -> bool:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        channel = guild.system_channel
        try:
            if channel is not None and channel.permissions_for(guild.me).send_messages:
                await channel.send(text, allowed_mentions=NO_MENTIONS)
                return True
            if guild.owner_id:
                dm = await self.bot.create_dm(discord.Object(guild.owner_id))
                await dm.send(
                    f"**{discord.utils.escape_markdown(guild.name)}**: {text}",
                    allowed_mentions=NO_MENTIONS,
                )
                return True
        except discord.HTTPException:
            log.info("could not tell the admins of %s about undeliverable alerts", guild_id)
        return False


class AlertsCog(commands.Cog):
    def __init__(self, bot: LitBot) -> None:
        self.bot = bot
        self.sender = DiscordSender(bot)
        self.job.change_interval(minutes=bot.settings.watch_poll_minutes)

    async def cog_load(self) -> None:
        # /settings alerts joins the /settings group of cogs.cite
        group = self.bot.tree.get_command("settings")
        if isinstance(group, app_commands.Group):
            group.add_command(
                app_commands.Command(
                    name="alerts",
                    description="Where alerts about saved works go (retractions, corrections …)",
                    callback=_settings_alerts,
                )
            )

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # started once connected (a bot that never logs in, as in tests, runs no job)
        if not self.job.is_running():
            self.job.start()

    async def cog_unload(self) -> None:
        self.job.cancel()
        group = self.bot.tree.get_command("settings")
        if isinstance(group, app_commands.Group):
            group.remove_command("alerts")

    @commands.Cog.listener()
    async def on_litbot_import(self, added: int) -> None:
        """After an import (``cogs.bib``): its works are re-checked now (they were never
        checked, so they are due), not at the next tick, and what that finds is delivered."""
        if added:
            await self.check_and_deliver(limit=added)

    @tasks.loop(minutes=10)
    async def job(self) -> None:
        """Re-check what is due, then deliver every pending alert (also those planned by
        ``litbot bib watch`` in another process). A failure is logged; the loop goes on."""
        await self.check_and_deliver(check=self.job.current_loop > 0)

    async def check_and_deliver(self, *, check: bool = True, limit: int | None = None) -> None:
        """One re-check (at most ``limit`` works), then delivery (at start-up, only delivery:
        first what is pending)."""
        try:
            if check:
                await self.bot.watch.run_once(limit=limit)
        except Exception:
            log.warning("the library watch failed; it runs again next time", exc_info=True)
        try:
            # works with news (maybe found by `litbot bib watch`): this process's cached cards
            # are refreshed on their next lookup, so /paper and /cite show the notice
            for key in {alert.work_key for alert in await self.bot.watch.store.pending()}:
                await self.bot.papers.cache.expire(key)
            await deliver(self.bot.watch.store, self.sender)
        except Exception:
            log.warning("delivering library alerts failed; they stay pending", exc_info=True)


@app_commands.describe(
    channel="the channel this server's alerts go to (Manage Server)",
    dms="whether alerts about entries you added also come to your DMs",
)
async def _settings_alerts(
    interaction: discord.Interaction,
    channel: discord.TextChannel | None = None,
    dms: bool | None = None,
) -> None:
    """Show or set where the living library's alerts go."""
    client: Any = interaction.client
    store = client.watch.store
    prefs = Preferences(client.db)
    user = interaction.user.id
    said: list[str] = []
    if dms is not None:
        await prefs.set("user", user, ALERT_DMS, None if dms else "off", by=user)
        said.append(f"Alerts in your DMs: **{'on' if dms else 'off'}**.")
    guild = interaction.guild_id
    if channel is not None:
        if guild is None:
            raise PermissionDenied("An alert channel is a server setting; in DMs alerts come here.")
        if not interaction.permissions.manage_guild:
            raise PermissionDenied("Only members with **Manage Server** can choose the channel.")
        await prefs.set("guild", guild, ALERT_CHANNEL, str(channel.id), by=user)
        moved = await store.retarget_failed(guild, channel.id)
        said.append(
            f"This server's alerts now go to <#{channel.id}>"
            + (f"; {moved} undelivered alert(s) will be posted there." if moved else ".")
        )
    if not said:
        mine = await prefs.get("user", user, ALERT_DMS)
        lines = [
            f"Alerts about entries you added, in your DMs: **{'off' if mine == 'off' else 'on'}**."
        ]
        if guild is not None:
            chosen = await prefs.get("guild", guild, ALERT_CHANNEL)
            where = f"<#{chosen}>" if chosen else "the channel where each entry was added"
            counts = await store.status(guild)
            lines.insert(
                0,
                f"This server's alerts (retractions, corrections, published preprints) "
                f"go to {where}.",
            )
            if counts:
                lines.append(
                    "Alerts so far: "
                    + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                    + "."
                )
        said = lines
    await interaction.response.send_message(
        "\n".join(said), ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def setup(bot: LitBot) -> None:
    await bot.add_cog(AlertsCog(bot))
