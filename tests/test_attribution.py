"""Every interaction's tasks count against its server and user at the fair limiters."""

from __future__ import annotations

import asyncio

import discord

from bot.bot import attribute_interactions, release_sent_views, requester_for
from bot.sources.fairness import Requester, current_requester
from bot.ui.cycles import release_view


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


class _Stateful(discord.ui.View):
    @discord.ui.button(label="Delete")
    async def delete(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        pass


async def test_only_views_nothing_dispatches_to_are_released():
    from bot.ui.components import CiteButton

    dynamic = discord.ui.View(timeout=None)
    dynamic.add_item(CiteButton("10.1/x"))
    dynamic.add_item(discord.ui.Button(label="Publisher", url="https://example.org/x"))
    assert release_view(dynamic) and dynamic.children == []
    stateful = _Stateful()  # its callback lives on the object: the store keeps it
    assert not release_view(stateful) and len(stateful.children) == 1


async def test_a_view_is_released_after_discord_py_stored_it():
    client = discord.Client(intents=discord.Intents.none())
    seen: list[int] = []
    client._connection.store_view = lambda view, message_id=None: seen.append(len(view.children))
    release_sent_views(client)
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Publisher", url="https://example.org/x"))
    client._connection.store_view(view, 1)
    assert seen == [1] and view.children == []  # the store read it whole, then it was let go
