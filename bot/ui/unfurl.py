"""Cards for papers mentioned in a message: the unfurl reply, the message actions' replies,
and the buttons that read the message again ("+N more", "Save all N to the bibliography").

Those two buttons carry the source message's id (``lit:more:<start>:<message id>``): on a
click the bot fetches that message from the channel (Discord gives the bot its text where it
unfurled it) and reads its identifiers again, so nothing is kept in memory and the buttons
work after a restart. No business rules here: ``bot.unfurl`` decides, this only displays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import discord

from bot.errors import LitError
from bot.identifiers import message_identifiers
from bot.markdown import escape
from bot.models import Identifier, Work
from bot.text import plural, truncate
from bot.ui.cards import NUMBERS, TOTAL_LIMIT, compact_links, render_compact
from bot.ui.components import (
    NO_MENTIONS,
    CardButton,
    CiteButton,
    SaveButton,
    compact_view,
    guarded,
    saving_actor,
)
from bot.ui.custom_ids import number

EMBEDS_PER_MESSAGE = 10
CONTENT_LIMIT = 2000
GONE = "The message with those papers is gone (deleted, or I can no longer read it)."

Card = tuple[str | None, Work]  # (handle for buttons, work)


def fitting(embeds: Sequence[discord.Embed], limit: int = TOTAL_LIMIT) -> int:
    """How many of ``embeds``, from the first, one message holds (10 embeds, 6,000
    characters in all)."""
    total = 0
    for count, embed in enumerate(embeds[:EMBEDS_PER_MESSAGE]):
        total += len(embed)
        if total > limit:
            return count
    return min(len(embeds), EMBEDS_PER_MESSAGE)


def batches(embeds: Sequence[discord.Embed]) -> list[list[discord.Embed]]:
    """``embeds`` in as few messages as Discord allows, in order."""
    out: list[list[discord.Embed]] = []
    rest = list(embeds)
    while rest:
        count = max(1, fitting(rest))
        out.append(rest[:count])
        rest = rest[count:]
    return out


def cards_message(
    cards: Sequence[Card], *, more: int = 0, start: int = 0, source_id: int | None = None
) -> tuple[list[discord.Embed], discord.ui.View]:
    """One reply with compact cards for ``cards``; ``more`` papers of the message follow its
    ``start``-th identifier (``message_identifiers`` order) without a card.

    One card: the card's own buttons. Several: numbered cards, a row each (Cite, Save, the
    open copy, More); below them "+N more" and "Save all N" when the message holds more."""
    if len(cards) == 1 and not more:
        ref, work = cards[0]
        return [render_compact(work)], compact_view(ref, work)
    embeds = [render_compact(work, n) for n, (_, work) in enumerate(cards, 1)]
    shown = fitting(embeds)
    if shown < len(embeds):  # six thousand characters were not enough for them all
        more, start = more + len(embeds) - shown, start - (len(embeds) - shown)
    embeds, cards = embeds[:shown], list(cards[:shown])
    view = discord.ui.View(timeout=None)
    for row, (ref, work) in enumerate(cards):
        emoji = NUMBERS[row]
        items: list[discord.ui.Item[Any]] = []
        if ref is not None:
            items += [CiteButton(ref, emoji=emoji), SaveButton(ref, emoji=emoji)]
        links = compact_links(work)
        if links:
            label, url = links[0]
            items.append(discord.ui.Button(style=discord.ButtonStyle.link, label=label, url=url))
        if ref is not None:
            items.append(CardButton(ref, emoji=emoji))
        for item in items:
            item.row = row
            view.add_item(item)
    if source_id is not None and more > 0:
        extra = [MoreButton(start, source_id, more), SaveAllButton(source_id, len(cards) + more)]
        for item in extra:
            item.row = len(cards)
            view.add_item(item)
    return embeds, view


def offer_message(total: int, *, paused: bool, source_id: int) -> tuple[str, discord.ui.View]:
    """Instead of cards: the count, and buttons to see them (privately) or save them all."""
    head = f"📚 {plural(total, 'paper')} in this message."
    if paused:
        head += " Cards are paused here for a few minutes so the channel is not flooded."
    view = discord.ui.View(timeout=None)
    view.add_item(MoreButton(0, source_id, total, label="Show them (just for you)"))
    view.add_item(SaveAllButton(source_id, total))
    return head, view


def failures_text(failed: Sequence[tuple[Identifier, str]]) -> str:
    """ "Not found: 10.9999/x (…)" lines for identifiers that gave no card (escaped)."""
    lines = [f"• {escape(truncate(str(i), 80))}: {escape(truncate(m, 160))}" for i, m in failed]
    return truncate("\n".join(lines), 900)


async def source_identifiers(interaction: discord.Interaction, message_id: int) -> list:
    """The identifiers of the message ``message_id`` in the interaction's channel, read again.
    ``LitError`` when it is gone or the bot cannot read it."""
    channel: Any = interaction.channel
    if channel is None or not hasattr(channel, "fetch_message"):
        raise LitError(GONE)
    try:
        message = await channel.fetch_message(message_id)
    except (discord.NotFound, discord.Forbidden):
        raise LitError(GONE) from None
    found = message_identifiers(message.content or "")
    if not found:
        raise LitError(GONE)
    return found


class MoreButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"lit:more:(?P<start>\d{1,3}):(?P<message>\d{1,20})",
):
    """The cards a reply had no room for (from ``start``), privately, for whoever asks."""

    def __init__(self, start: int, message_id: int, count: int = 0, *, label: str = "") -> None:
        self.start, self.message_id = start, message_id
        super().__init__(
            discord.ui.Button(
                label=label or f"+{count} more",
                style=discord.ButtonStyle.secondary,
                custom_id=f"lit:more:{start}:{message_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> MoreButton:
        try:
            return cls(number(match["start"]), number(match["message"]))
        except LitError:  # no message has that id: the click is answered "gone"
            return cls(0, 0)

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.unfurl import MAX_PER_MESSAGE, look_up_all

        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        found = (await source_identifiers(interaction, self.message_id))[:MAX_PER_MESSAGE]
        wanted = found[self.start : self.start + EMBEDS_PER_MESSAGE]
        if not wanted:
            raise LitError("There are no more papers in that message.")
        results = await look_up_all(client.papers, wanted)
        works = [r for r in results if isinstance(r, Work)]
        failed = [
            (i, r.user_message)
            for i, r in zip(wanted, results, strict=True)
            if isinstance(r, LitError)
        ]
        embeds = [render_compact(w, n) for n, w in enumerate(works, 1)]
        note = failures_text(failed)
        groups = batches(embeds) or [[]]
        for index, group in enumerate(groups):
            content = note if index == len(groups) - 1 and note else None
            await interaction.followup.send(
                content=content,
                embeds=group,
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )


class SaveAllButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"lit:saveall:(?P<message>\d{1,20})"
):
    """Every paper of the message into the channel's bibliography (personal in DMs)."""

    def __init__(self, message_id: int, count: int = 0) -> None:
        self.message_id = message_id
        super().__init__(
            discord.ui.Button(
                label=f"Save all {count} to the bibliography" if count else "Save all",
                emoji="📚",
                style=discord.ButtonStyle.success,
                custom_id=f"lit:saveall:{message_id}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> SaveAllButton:
        try:
            return cls(number(match["message"]))
        except LitError:
            return cls(0)

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        from bot.unfurl import save_all

        await interaction.response.defer(ephemeral=True, thinking=True)
        client: Any = interaction.client
        found = await source_identifiers(interaction, self.message_id)
        report = await save_all(client.bibs, client.papers, saving_actor(interaction), found)
        await interaction.followup.send(
            save_report_text(report), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def save_report_text(report: Any) -> str:
    """The answer to a save of several papers: the summary, then what failed (escaped)."""
    text = f"📚 {escape(report.summary())}"
    if report.failed:
        text += "\n" + failures_text(report.failed)
    return truncate(text, CONTENT_LIMIT)


UNFURL_ITEMS = (MoreButton, SaveAllButton)
