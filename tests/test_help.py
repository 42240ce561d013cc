"""/help and ``litbot --help``: one text, every command with an example, within limits."""

from __future__ import annotations

import httpx
import pytest

from bot.bot import LitBot
from bot.cli import build_parser
from bot.help import BIBLIOGRAPHIES, EXAMPLES, README_URL
from bot.papers import PaperService
from bot.sources import build_upstreams
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from cogs.help import command_list
from tests.discord_harness import invoke, slash_payload
from tests.discord_limits import message_problems
from tests.upstream_mock import make_settings


@pytest.fixture
async def bot(tmp_path):
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    async with httpx.AsyncClient() as client:
        bot = LitBot(
            settings=settings,
            db=db,
            papers=PaperService(build_upstreams(settings, client), WorkCache(db)),
        )
        await bot.setup_hook()  # every cog, as `litbot run` loads them
        try:
            yield bot
        finally:
            await bot.close()
            await db.close()


async def test_every_command_has_an_example(bot):
    commands = command_list(bot.tree)
    names = {c.name for c in commands}
    assert {"paper", "cite", "bib add", "settings unfurl", "help"} <= names
    assert "Cite papers in this message" in names
    missing = sorted(n for n in names if n not in EXAMPLES)
    assert missing == [], f"commands without an example in bot/help.py: {missing}"
    for command in commands:
        if not command.action:
            assert EXAMPLES[command.name].startswith(f"/{command.name}")


async def test_help_is_private_within_limits_and_says_what_the_cli_says(bot, capsys):
    (call,) = await invoke(bot, slash_payload("help"))
    data = call.payload["data"]
    assert call.callback_type == 4 and data["flags"] == 64
    assert message_problems(data) == []
    assert sum(len(e.get("description") or "") for e in data["embeds"]) < 1000
    text = "\n".join(f["value"] for e in data["embeds"] for f in e.get("fields") or [])
    assert BIBLIOGRAPHIES in text and README_URL in text
    assert "e.g. `/cite query:10.1186/s12943-023-01737-7 style:vancouver`" in text

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    terminal = " ".join(capsys.readouterr().out.split())
    assert " ".join(BIBLIOGRAPHIES.split()) in terminal and README_URL in terminal
    assert "litbot neighbours 10.1186/s12943-023-01737-7 --png map.png" in terminal
