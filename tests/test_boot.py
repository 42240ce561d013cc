"""Boot smoke test and command-schema check (layer L0): every cog loads, commands fit Discord."""

from __future__ import annotations

import re

from bot.bot import LitBot
from bot.papers import PaperService
from bot.sources import build_upstreams
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.upstream_mock import make_settings

NAME = re.compile(r"^[-_'\w]{1,32}$")


async def test_bot_loads_every_cog_and_commands_fit_discord_limits(tmp_path):
    import httpx

    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    async with httpx.AsyncClient() as client:
        bot = LitBot(
            settings=settings,
            db=db,
            papers=PaperService(build_upstreams(settings, client), WorkCache(db)),
        )
        await bot.setup_hook()
        commands = [c.to_dict(bot.tree) for c in bot.tree.get_commands()]
    await db.close()
    names = {c["name"] for c in commands}
    assert {"paper", "cite", "summary", "settings"} <= names
    actions = [c for c in commands if c.get("type") == 3]  # message actions: any case, spaces
    assert {c["name"] for c in actions} == {
        "Cite papers in this message",
        "Save papers in this message",
        "Summarise paper in this message",
    }
    assert all(1 <= len(c["name"]) <= 32 for c in actions)
    for command in (c for c in commands if c.get("type", 1) == 1):
        assert NAME.match(command["name"]) and command["name"] == command["name"].lower()
        assert 1 <= len(command["description"]) <= 100
        assert len(command.get("options", [])) <= 25
        for option in command.get("options", []):
            assert NAME.match(option["name"]) and 1 <= len(option["description"]) <= 100
        assert len(str(command)) < 8000
    for command in commands:  # every command works in servers and in DMs with the bot
        assert set(command["contexts"]) == {0, 1, 2}, command["name"]
        assert set(command["integration_types"]) == {0, 1}, command["name"]
    cite = next(c for c in commands if c["name"] == "cite")
    style = next(o for o in cite["options"] if o["name"] == "style")
    assert style["autocomplete"] is True and not style["required"]
    assert bot._connection._view_store._dynamic_items  # buttons survive restarts


def test_discord_urls_are_configurable(tmp_path):
    import discord
    import yarl

    from bot.bot import apply_discord_urls

    old_api, old_gw = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        apply_discord_urls(
            make_settings(
                tmp_path,
                LITBOT_DISCORD_API_URL="http://127.0.0.1:9/api/v10",
                LITBOT_DISCORD_GATEWAY_URL="ws://127.0.0.1:9/gateway",
            )
        )
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == yarl.URL(
            "ws://127.0.0.1:9/gateway"
        )
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_api, old_gw
