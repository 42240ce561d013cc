"""The library alert message (retractions, corrections, a preprint's published version) and its
Upgrade button."""

from __future__ import annotations

import re

import discord

from bot.markdown import escape
from bot.storage.watch import PUBLISHED, Alert
from bot.text import truncate
from bot.ui.fields import source_name

CONTENT_LIMIT = 2000
MARKS = {"retracting": "⚠️", "expression_of_concern": "⚠️", PUBLISHED: "📄"}


def _mark(alert: Alert) -> str:
    if alert.event.retracting:
        return MARKS["retracting"]
    return MARKS.get(alert.event.kind, "📝")


def alert_line(alert: Alert) -> str:
    """One alert as a line: what happened, when, who says so, to which saved work, where."""
    event = alert.event
    when = f" {event.date}" if event.date else ""
    title = escape(truncate(alert.title, 120))
    where = f" (in **{escape(truncate(alert.bibliography, 60))}**)" if alert.bibliography else ""
    if event.kind == PUBLISHED:
        return (
            f"{_mark(alert)} **Published version** of *{title}*{where}: "
            f"doi:{escape(event.notice or '')} — **Upgrade** switches the entry to it."
        )
    via = source_name(event.source)
    return f"{_mark(alert)} **{escape(event.words)}**{when} (via {escape(via)}): *{title}*{where}"


def alert_message(alerts: list[Alert]) -> tuple[str, discord.ui.View]:
    """One message about ``alerts`` (one destination): a line each, a button to each notice and
    an Upgrade button for each preprint that was published."""
    head = (
        "**Library alert**: a saved work changed."
        if len(alerts) == 1
        else f"**Library alerts**: {len(alerts)} saved works changed."
    )
    lines = [head, *(alert_line(a) for a in alerts)]
    if any(a.event.retracting for a in alerts):
        lines.append("Check before citing a retracted work; `/bib show` has the entry.")
    content = truncate("\n".join(lines), CONTENT_LIMIT)
    view = discord.ui.View(timeout=None)
    for alert in alerts:
        notice = alert.event.notice
        if alert.event.kind == PUBLISHED:
            if alert.entry_id is not None:
                view.add_item(UpgradeButton(alert.id))
            continue
        if notice and len(view.children) < 25:
            label = truncate(f"{alert.event.words}: {alert.title}", 80)
            view.add_item(discord.ui.Button(label=label, url=f"https://doi.org/{notice}"))
    return content, view


class UpgradeButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"lit:upgrade:(?P<alert>\d+)"
):
    """Switch a saved preprint to its version of record (keeps note, tags and BibTeX key)."""

    def __init__(self, alert_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Upgrade to the published version",
                emoji="📄",
                style=discord.ButtonStyle.primary,
                custom_id=f"lit:upgrade:{alert_id}",
            )
        )
        self.alert_id = alert_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> UpgradeButton:
        return cls(int(match["alert"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = await upgrade(client, interaction, self.alert_id)
        await interaction.followup.send(
            text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )


async def upgrade(client, interaction: discord.Interaction, alert_id: int) -> str:
    """The Upgrade button's work: who may, the version of record looked up, the entry switched."""
    from bot.identifiers import parse_identifier

    store = client.watch.store
    alert = await store.alert(alert_id)
    if alert is None or alert.entry_id is None or alert.event.kind != PUBLISHED:
        return "That alert is no longer there."
    owner = await store.entry_owner(alert.entry_id)
    if owner is None:
        return "That entry has been removed from its bibliography since."
    scope, owner_id, added_by = owner
    user = interaction.user.id
    if scope == "user":
        allowed = user == owner_id
    else:
        member = interaction.user
        manages = (
            interaction.guild_id == owner_id
            and isinstance(member, discord.Member)
            and member.guild_permissions.manage_guild
        )
        allowed = user == added_by or manages
    if not allowed:
        return "Only who added the entry, or someone with **Manage Server**, can upgrade it."
    work = await client.papers.lookup(parse_identifier(alert.event.notice or ""), settled=True)
    outcome, name = await store.upgrade(alert.entry_id, work)
    title = escape(truncate(work.title, 150))
    where = f"**{escape(name or '')}**"
    if outcome == "merged":
        return f"{where} already had *{title}*: the preprint's entry is merged into it."
    if outcome == "gone":
        return "That entry has been removed from its bibliography since."
    return (
        f"The entry in {where} is now the published version: *{title}* (note, tags and key kept)."
    )
