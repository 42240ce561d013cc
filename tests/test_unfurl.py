"""Papers in conversation: what a message offers to unfurl, how much a channel gets, the reply
(in-process, through discord.py's real message and interaction objects)."""

from __future__ import annotations

import dataclasses

import discord
import pytest

from bot.identifiers import message_identifiers
from bot.models import Identifier, IdKind
from bot.ui.cards import TOTAL_LIMIT
from bot.ui.unfurl import batches, cards_message, fitting
from bot.unfurl import UnfurlPolicy
from cogs.actions import ActionsCog
from cogs.unfurl import UnfurlCog
from tests.discord_harness import (
    APP_ID,
    BOT_USER,
    USER,
    RestRecorder,
    _with_context,
    invoke,
    message_data,
)
from tests.discord_limits import message_problems
from tests.test_compact_card import everything, pathological
from tests.world import SEED, litbot, seeded

ELIFE = "10.7554/elife.01567"
DM_CHANNEL = "900000000000000400"


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        (f"see {SEED}.", [f"doi:{SEED}"]),
        (f"(doi:{SEED}), and arXiv:2004.15011v2!", [f"doi:{SEED}", "arxiv:2004.15011"]),
        (f"`{SEED}` and ``doi:{ELIFE}``", []),  # inline code
        (f"```\n{SEED}\n```\nPMID: 36797782", ["pmid:36797782"]),  # a code block
        (f"||{SEED}|| but https://arxiv.org/abs/2004.15011.", ["arxiv:2004.15011"]),  # spoiler
        (f"<https://doi.org/{SEED}> <doi:{ELIFE}>", [f"doi:{ELIFE}"]),  # a suppressed preview
        ("https://www.nature.com/articles/hdy.2013.26, then", ["doi:10.1038/hdy.2013.26"]),
        ("(https://elifesciences.org/articles/01567)", [f"doi:{ELIFE}"]),
        (f"{SEED} again: https://doi.org/{SEED.upper()}", [f"doi:{SEED}"]),  # once
        ("```unclosed 10.1186/s12943-023-01737-7", [f"doi:{SEED}"]),  # not code: shown as is
        ("https://example.com/10.nope and 12345678", []),
    ],
)
def test_message_identifiers(text, keys):
    assert [i.key for i in message_identifiers(text)] == keys


def test_message_identifiers_of_a_long_message_is_bounded():
    text = f"{SEED} " + "x" * 100_000 + " 10.7554/elife.01567"
    assert [i.key for i in message_identifiers(text)] == [f"doi:{SEED}"]


def idents(n: int) -> list[Identifier]:
    return [Identifier(IdKind.DOI, f"10.1234/p{i}") for i in range(n)]


def test_three_cards_a_message_the_rest_behind_more():
    plan = UnfurlPolicy().plan(1, idents(4), now=0)
    assert plan is not None and len(plan.cards) == 3 and plan.more == 1 and not plan.offer


def test_a_reference_list_gets_an_offer():
    plan = UnfurlPolicy().plan(1, idents(6), now=0)
    assert plan is not None and plan.offer and not plan.paused and plan.total == 6


def test_papers_shown_lately_are_not_shown_again_in_that_channel():
    policy = UnfurlPolicy()
    assert policy.plan(1, idents(2), now=0) is not None
    assert policy.plan(1, idents(2), now=60) is None
    assert policy.plan(2, idents(2), now=60) is not None  # another channel
    assert policy.plan(1, idents(2), now=60 + policy.repeat) is not None
    assert policy.plan(1, idents(2), now=61, asked=True) is not None  # asked again: answered


def test_a_busy_channel_is_paused_with_one_offer():
    policy = UnfurlPolicy(budget=4)
    assert len(policy.plan(1, idents(3), now=0).cards) == 3
    partial = policy.plan(1, idents(6)[3:5], now=1)
    assert partial is not None and len(partial.cards) == 1  # what the budget has left
    paused = policy.plan(1, [Identifier(IdKind.DOI, "10.1234/other")], now=2)
    assert paused is not None and paused.offer and paused.paused
    assert policy.plan(1, [Identifier(IdKind.DOI, "10.1234/third")], now=3) is None  # silent
    later = policy.plan(1, [Identifier(IdKind.DOI, "10.1234/third")], now=policy.window + 1)
    assert later is not None and later.cards


def test_one_card_keeps_its_own_buttons():
    work = everything()
    embeds, view = cards_message([("ref", work)])
    assert len(embeds) == 1 and not embeds[0].title.startswith("1")
    ids = [c.custom_id for c in view.children if getattr(c, "custom_id", None)]
    assert "lit:sources:ref" in ids and "lit:map:ref" not in ids  # no OpenAlex id


def test_several_cards_are_numbered_with_their_rows():
    cards = [
        (f"10.1234/p{i}", dataclasses.replace(everything(), doi=f"10.1234/p{i}")) for i in range(3)
    ]
    embeds, view = cards_message(cards, more=2, start=3, source_id=42)
    assert [e.title[:1] for e in embeds] == ["1", "2", "3"]
    rows: dict[int, list[str]] = {}
    for item in view.children:
        rows.setdefault(item.row, []).append(getattr(item, "custom_id", None) or item.label)
    assert rows[0][:2] == ["lit:cite:10.1234/p0", "lit:save:10.1234/p0"]
    assert rows[3] == ["lit:more:3:42", "lit:saveall:42"]
    payload = {"embeds": [e.to_dict() for e in embeds], "allowed_mentions": {"parse": []}}
    payload["components"] = view.to_components()
    assert message_problems(payload) == []


def test_cards_that_do_not_fit_one_message_move_behind_more():
    big = [(f"10.1234/p{i}", pathological()) for i in range(3)]
    embeds, view = cards_message(big, more=0, start=3, source_id=7)
    assert sum(len(e) for e in embeds) <= TOTAL_LIMIT
    if len(embeds) < 3:
        more = next(
            c for c in view.children if (getattr(c, "custom_id", "") or "").startswith("lit:more:")
        )
        assert more.label == f"+{3 - len(embeds)} more"
    assert [len(b) for b in batches([e for e in embeds])] and fitting(embeds) == len(embeds)


# -- in-process: a message arrives ------------------------------------------------------------


@pytest.fixture
async def bot(fixtures_dir, tmp_path):
    async with litbot(tmp_path, seeded(fixtures_dir)) as bot:
        bot._connection.user = discord.ClientUser(state=bot._connection, data=BOT_USER)
        await bot.add_cog(UnfurlCog(bot))
        await bot.add_cog(ActionsCog(bot))
        recorder = RestRecorder()
        bot.http.request = recorder  # type: ignore[method-assign]
        yield bot, recorder


def dm_message(bot, text: str, author=USER) -> discord.Message:
    data = message_data(DM_CHANNEL, author, content=text)
    channel = bot._connection._get_private_channel(int(DM_CHANNEL))
    if channel is None:
        channel = discord.DMChannel._from_message(bot._connection, int(DM_CHANNEL))
    return discord.Message(state=bot._connection, channel=channel, data=data)


async def test_a_link_in_a_dm_gets_a_card(bot):
    bot, rest = bot
    cog = bot.get_cog("UnfurlCog")
    await cog.on_message(dm_message(bot, f"have a look: https://doi.org/{SEED}"))
    await bot.settle()
    (sent,) = [c for c in rest.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert message_problems(sent.payload) == []
    assert sent.payload["message_reference"]["message_id"]
    (embed,) = sent.payload["embeds"]
    assert embed["url"] == f"https://doi.org/{SEED}"


@pytest.mark.parametrize(
    ("author", "text"),
    [
        (BOT_USER, f"https://doi.org/{SEED}"),  # litbot's own message
        (USER, f"`https://doi.org/{SEED}`"),  # code
        (USER, f"||https://doi.org/{SEED}||"),  # a spoiler
        (USER, "no papers here"),
    ],
)
async def test_messages_that_get_no_card(bot, author, text):
    bot, rest = bot
    await bot.get_cog("UnfurlCog").on_message(dm_message(bot, text, author))
    await bot.settle()
    assert rest.calls == []


async def test_a_server_channel_needs_the_intent_and_the_setting(bot):
    bot, _ = bot
    cog = bot.get_cog("UnfurlCog")
    data = message_data("900000000000000200", USER, content=f"doi:{SEED}")
    data["guild_id"] = "900000000000000100"
    guild = discord.Object(id=900000000000000100)
    channel = discord.PartialMessageable(state=bot._connection, id=900000000000000200)
    message = discord.Message(state=bot._connection, channel=channel, data=data)
    message.guild = guild  # type: ignore[assignment]
    assert not bot.reads_messages
    assert await cog.unfurls_here(message) == (False, False)
    mentioned = dict(data, mentions=[BOT_USER])
    message = discord.Message(state=bot._connection, channel=channel, data=mentioned)
    message.guild = guild  # type: ignore[assignment]
    assert await cog.unfurls_here(message) == (True, True)


def message_command(name: str, target: dict, *, dm: bool = False) -> dict:
    """A message action's INTERACTION_CREATE (data.type 3, the target in data.resolved)."""
    data = {
        "id": "1",
        "application_id": APP_ID,
        "type": 2,
        "token": "itok-message-action",
        "version": 1,
        "locale": "en-US",
        "data": {
            "id": "2",
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        },
    }
    return _with_context(
        data, dm=dm, permissions=2251799813685247, user=None, guild_id="900000000000000100"
    )


async def test_the_cite_action_cites_every_paper_in_one_reply(bot):
    bot, _ = bot
    target = message_data("900000000000000200", USER, content=f"doi:{SEED} and {ELIFE}")
    calls = await invoke(bot, message_command("Cite papers in this message", target))
    assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == 64
    answer = calls[-1].payload
    assert message_problems(answer) == []
    assert (
        "Zhou, Y." in answer["content"] and "Automated quantitative histology" in answer["content"]
    )


async def test_an_action_on_a_message_without_papers_says_so(bot):
    bot, _ = bot
    target = message_data("900000000000000200", USER, content="lunch?")
    (call,) = await invoke(bot, message_command("Summarise paper in this message", target, dm=True))
    assert call.callback_type == 4 and "No DOI" in call.payload["data"]["content"]
