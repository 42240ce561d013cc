"""Every interaction's tasks count against its server and user at the fair limiters."""

from __future__ import annotations

import asyncio

import discord

from bot.bot import attribute_interactions, requester_for
from bot.sources.fairness import Requester, current_requester


def test_requester_from_guild_and_dm_payloads():
    guild = {"guild_id": "5", "member": {"user": {"id": "7"}}, "user": None}
    assert requester_for(guild) == Requester("g5", "7")
    assert requester_for({"user": {"id": "9"}}) == Requester("dm9", "9")
    assert requester_for({}) == Requester("dmunknown", "unknown")


async def test_tasks_started_while_parsing_inherit_the_requester():
    client = discord.Client(intents=discord.Intents.none())
    started: list[asyncio.Task[Requester]] = []

    async def command() -> Requester:
        await asyncio.sleep(0)
        return current_requester()

    # What discord.py does for a command or a component: start its task inside the parser.
    client._connection.parsers["INTERACTION_CREATE"] = lambda data: started.append(
        asyncio.ensure_future(command())
    )
    attribute_interactions(client)
    parse = client._connection.parsers["INTERACTION_CREATE"]
    parse({"guild_id": "1", "member": {"user": {"id": "2"}}})
    parse({"user": {"id": "3"}})
    assert current_requester() == Requester()  # the gateway task itself is not attributed
    assert await asyncio.gather(*started) == [Requester("g1", "2"), Requester("dm3", "3")]
