"""Papers mentioned in conversation: which channels unfurl pasted links, how many cards a
channel gets, and the lookups and saves behind them. No discord: the cogs display.

Where litbot unfurls: always in DMs with it, in messages that mention it and in replies to it
(Discord gives an app their text without the privileged intent); channel-wide only where an
admin opted in (``/settings unfurl``), which also needs the message-content intent.

How much (``UnfurlPolicy``, per channel): at most ``MAX_CARDS`` cards a message, the rest
behind "+N more"; a paper shown in the channel in the last ``REPEAT_SECONDS`` is not shown
again; a pasted reference list (``LIST_SIZE`` identifiers or more) and a channel that used its
``CARD_BUDGET`` cards in the last ``WINDOW_SECONDS`` get one short offer instead ("12 papers:
Save all 12 to the bibliography"), and then, while the window lasts, nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.errors import LitError
from bot.models import Identifier, Work

if TYPE_CHECKING:
    from bot.bibliographies import Actor, BibliographyService
    from bot.papers import PaperService
    from bot.storage.bibliographies import Bibliography
    from bot.storage.preferences import Preferences

log = logging.getLogger(__name__)

MAX_CARDS = 3  # cards in one reply; the rest behind "+N more"
LIST_SIZE = 6  # this many identifiers in one message is a reference list: an offer, no cards
CARD_BUDGET = 6  # cards a channel gets per window …
WINDOW_SECONDS = 300.0  # … of five minutes
REPEAT_SECONDS = 600.0  # a paper shown in the channel this recently is not shown again
MAX_CHANNELS = 10_000  # channels remembered (least recently active forgotten first)
MAX_PER_MESSAGE = 25  # identifiers read from one message (actions, save all)
LOOKUPS_AT_ONCE = 4
PREFERENCE = "unfurl:{}"  # per channel, in the server's preferences
SETTING_TTL = 60.0  # seconds a channel's setting is trusted from memory


@dataclass(frozen=True, slots=True)
class Plan:
    """What to post for one message: ``cards`` now, and of how many papers (``total``);
    ``offer``: instead of cards, one line with "Save all" (``paused``: because the channel had
    its share of cards, not because the message is a reference list)."""

    cards: tuple[Identifier, ...]
    total: int
    offer: bool = False
    paused: bool = False

    @property
    def more(self) -> int:
        return 0 if self.offer else self.total - len(self.cards)


@dataclass
class _Channel:
    shown: deque[float] = field(default_factory=deque)  # when each recent card was posted
    seen: dict[str, float] = field(default_factory=dict)  # identifier key → when shown
    offered_at: float | None = None  # the last "paused" offer


class UnfurlPolicy:
    """Per-channel limits on unfurled cards (in memory: a restart forgets them, harmlessly)."""

    def __init__(
        self,
        *,
        max_cards: int = MAX_CARDS,
        list_size: int = LIST_SIZE,
        budget: int = CARD_BUDGET,
        window: float = WINDOW_SECONDS,
        repeat: float = REPEAT_SECONDS,
    ) -> None:
        self.max_cards, self.list_size, self.budget = max_cards, list_size, budget
        self.window, self.repeat = window, repeat
        self._channels: OrderedDict[int, _Channel] = OrderedDict()

    def _channel(self, channel_id: int, now: float) -> _Channel:
        state = self._channels.pop(channel_id, None) or _Channel()
        self._channels[channel_id] = state  # most recently active last
        while len(self._channels) > MAX_CHANNELS:
            self._channels.popitem(last=False)
        while state.shown and now - state.shown[0] >= self.window:
            state.shown.popleft()
        state.seen = {k: t for k, t in state.seen.items() if now - t < self.repeat}
        return state

    def plan(
        self,
        channel_id: int,
        found: Sequence[Identifier],
        now: float | None = None,
        *,
        asked: bool = False,
    ) -> Plan | None:
        """What ``channel_id`` gets for a message holding ``found``; ``None``: nothing.
        ``asked``: the author asked litbot (a DM, a mention): papers shown lately are shown
        again; the channel's budget still holds."""
        now = time.monotonic() if now is None else now
        state = self._channel(channel_id, now)
        fresh = list(found) if asked else [i for i in found if i.key not in state.seen]
        if not fresh:
            return None
        if len(fresh) >= self.list_size:
            state.shown.append(now)  # an offer costs one card of the budget
            return Plan((), len(fresh), offer=True)
        room = self.budget - len(state.shown)
        if room <= 0:
            if state.offered_at is not None and now - state.offered_at < self.window:
                return None
            state.offered_at = now
            return Plan((), len(fresh), offer=True, paused=True)
        cards = tuple(fresh[: min(self.max_cards, room)])
        for ident in cards:
            state.shown.append(now)
            state.seen[ident.key] = now
        return Plan(cards, len(fresh))


class UnfurlChannels:
    """Which server channels unfurl every pasted link (off unless an admin turned it on).

    Stored as the server's preference ``unfurl:<channel id>``; read through a short-lived
    memory so a busy channel does not read the database for every message with a link."""

    def __init__(self, preferences: Preferences, *, ttl: float = SETTING_TTL) -> None:
        self.preferences = preferences
        self.ttl = ttl
        self._memory: dict[tuple[int, int], tuple[bool, float]] = {}

    async def enabled(self, guild_id: int, channel_id: int) -> bool:
        key = (guild_id, channel_id)
        known = self._memory.get(key)
        now = time.monotonic()
        if known is not None and now - known[1] < self.ttl:
            return known[0]
        value = await self.preferences.get("guild", guild_id, PREFERENCE.format(channel_id))
        if len(self._memory) >= MAX_CHANNELS:
            self._memory.clear()
        self._memory[key] = (value == "on", now)
        return value == "on"

    async def set(self, guild_id: int, channel_id: int, on: bool, *, by: int) -> None:
        name = PREFERENCE.format(channel_id)
        await self.preferences.set("guild", guild_id, name, "on" if on else None, by=by)
        self._memory[(guild_id, channel_id)] = (on, time.monotonic())


async def look_up_all(
    papers: PaperService, found: Sequence[Identifier], *, settled: bool = False
) -> list[Work | LitError]:
    """Each identifier's work (or the ``LitError`` that says why not), in order, a few at a
    time."""
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(ident: Identifier) -> Work | LitError:
        async with gate:
            try:
                return await papers.lookup(ident, settled=settled)
            except LitError as error:
                return error

    return list(await asyncio.gather(*(one(i) for i in found)))


@dataclass
class SaveReport:
    bibliography: Bibliography
    added: list[Work] = field(default_factory=list)
    already: list[Work] = field(default_factory=list)
    failed: list[tuple[Identifier, str]] = field(default_factory=list)

    def summary(self) -> str:
        """ "Saved 2 papers to “Lab”; 1 was already there; 1 could not be found." (plain)"""
        name = self.bibliography.name
        parts = []
        if self.added:
            noun = "paper" if len(self.added) == 1 else "papers"
            parts.append(f"Saved {len(self.added)} {noun} to “{name}”")
        if self.already:
            verb = "was" if len(self.already) == 1 else "were"
            where = "there" if self.added else f"in “{name}”"
            parts.append(f"{len(self.already)} {verb} already {where}")
        if self.failed:
            verb = "was" if len(self.failed) == 1 else "were"
            parts.append(f"{len(self.failed)} {verb} not found")
        return ("; ".join(parts) or "Nothing to save") + "."


async def save_all(
    bibs: BibliographyService,
    papers: PaperService,
    actor: Actor,
    found: Sequence[Identifier],
) -> SaveReport:
    """Look up every identifier and add each work to the bibliography the actor's channel
    saves to (its default; the personal one in DMs). ``BibliographyError`` before any lookup
    when that is ambiguous."""
    bib = await bibs.resolve(actor, None)
    report = SaveReport(bib)
    results = await look_up_all(papers, found[:MAX_PER_MESSAGE], settled=True)
    for ident, result in zip(found, results, strict=False):
        if isinstance(result, LitError):
            report.failed.append((ident, result.user_message))
            continue
        saved = await bibs.add_work(actor, result, bibliography=bib)
        (report.added if saved.created else report.already).append(result)
    return report
