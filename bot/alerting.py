"""Delivering the living library's alerts (planned by ``bot.watch``) without Discord in sight.

Pending alerts are grouped by destination — a channel, or a member's DMs — and each group is one
message (several when many arrived at once), so a run that finds five corrections posts one
message, not five. An alert is marked sent once the message is accepted, failed with its reason
when the destination refuses it (a deleted channel, missing permissions, closed DMs): nothing
is dropped silently, a server's admins are told once per run why their alerts could not be
posted, and the job keeps going.

``Sender`` is the seam: ``cogs/alerts.py`` implements it with discord.py, tests with a list.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from bot.storage.watch import Alert, WatchStore

log = logging.getLogger(__name__)

PER_MESSAGE = 10  # alerts in one message (Discord allows 25 components; 5 rows of buttons)


class Undeliverable(Exception):
    """The destination refused the message: ``reason`` is for the admins, in their words."""

    def __init__(self, reason: str, *, gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.gone = gone  # the channel no longer exists (vs. a permission to grant)


class Sender(Protocol):
    async def send(self, target: str, alerts: list[Alert]) -> None:
        """Post one message about ``alerts`` to ``target`` (``channel:<id>``, ``user:<id>``);
        ``Undeliverable`` when the destination refuses it."""

    async def tell_admins(self, guild_id: int, text: str) -> bool:
        """Let a server's admins know (its system channel, else its owner's DMs); ``False``
        when even that failed."""


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    messages: int = 0
    admins_told: list[int] = field(default_factory=list)


async def deliver(store: WatchStore, sender: Sender, *, limit: int = 500) -> Delivery:
    """Send every pending alert (up to ``limit``), grouped by destination."""
    report = Delivery()
    groups: dict[str, list[Alert]] = defaultdict(list)
    for alert in await store.pending(limit=limit):
        groups[alert.target].append(alert)
    problems: dict[int, list[str]] = defaultdict(list)
    for target, alerts in groups.items():
        for start in range(0, len(alerts), PER_MESSAGE):
            chunk = alerts[start : start + PER_MESSAGE]
            ids = [a.id for a in chunk]
            try:
                await sender.send(target, chunk)
            except Undeliverable as exc:
                await store.mark(ids, "failed", exc.reason)
                report.failed += len(chunk)
                guild = next((a.guild_id for a in chunk if a.guild_id), None)
                if guild and target.startswith("channel:"):
                    problems[guild].append(f"<#{target.removeprefix('channel:')}>: {exc.reason}")
                log.info("alerts to %s not delivered: %s", target, exc.reason)
                break  # the rest of this destination's alerts would fail the same way
            except Exception:  # a bug or an outage: the alerts stay pending for the next run
                log.warning("delivering alerts to %s failed", target, exc_info=True)
                break
            else:
                await store.mark(ids, "sent")
                report.sent += len(chunk)
                report.messages += 1
    for guild, lines in problems.items():
        text = (
            "litbot could not post library alerts (retractions, corrections) here: "
            + "; ".join(sorted(set(lines))[:5])
            + ". Choose a channel it can post in with `/settings alerts channel:`; "
            "the alerts are kept and `/settings alerts` lists them."
        )
        if await sender.tell_admins(guild, text):
            report.admins_told.append(guild)
    return report
