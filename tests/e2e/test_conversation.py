"""Papers in the lab's conversation, through the real ``litbot run`` process: links pasted in
chat (MESSAGE_CREATE as Discord sends it), message actions (message commands with the target
message in ``data.resolved``), ``/settings unfurl``, ``/help``, user installs and the map.

The session's bot asks for the message-content intent; a second bot in this module runs where
the Developer Portal does not grant it (Discord closes its first gateway session with 4014),
and must still start, unfurl in DMs and when mentioned, and say once why channels do not.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from tests.discord_limits import message_problems
from tests.e2e.conftest import SEED
from tests.e2e.fake_discord import (
    DIRECT_MESSAGES_INTENT,
    GUILD_MESSAGES_INTENT,
    GUILDS_INTENT,
    MESSAGE_CONTENT_INTENT,
    FakeDiscord,
)
from tests.e2e.process import BotProcess, bot_environment, run_once
from tests.test_compact_card import desktop_lines

pytestmark = pytest.mark.asyncio(loop_scope="session")

# DOIs no other end-to-end test uses (test_flows needs its own cold)
CELL = "10.1016/j.xgen.2025.100814"
KLUWER = "10.1023/a:1007154515475"
BOOK = "10.1017/9781108348843"
CHAPTER = "10.1007/978-3-319-75889-3_1"
CHAPTER_2015 = "10.1007/978-3-662-46370-3_13"
JAPANESE = "10.7600/jspfsm.56.60"
BRILL = "10.1163/1937240x-00002096"
ARXIV = "1309.4668"  # a recorded arXiv feed entry
THREE = (
    f"Reading list for Thursday: https://doi.org/{SEED}, the Cell Genomics paper "
    f"(doi:{CELL}) and https://link.springer.com/article/10.1023/A:1007154515475."
)
DEFERRED, MESSAGE = 5, 4
EPHEMERAL = 64
CHANNEL_MESSAGE = "POST /channels/{channel_id}/messages"
MEMBER = 2251799813685247 & ~(1 << 5) & ~(1 << 4)  # no Manage Server, no Manage Channels


def posted(discord, since: int) -> list[dict]:
    """The bodies of the channel messages the bot sent since call ``since``."""
    return [c.json for c in discord.calls[since:] if c.key == CHANNEL_MESSAGE]


def sent(discord, since: int) -> list[dict]:
    """Every message body the bot sent since call ``since``: answers, followups, edits and
    channel messages (tests/e2e/test_hostile_record.py reads them the same way)."""
    from tests.e2e.test_hostile_record import bodies

    return [body for _, body in bodies(discord.calls[since:])]


def within_limits(bodies: list[dict]) -> None:
    for body in bodies:
        assert message_problems(body) == [], body
        assert body["allowed_mentions"]["parse"] == []
        assert not body["allowed_mentions"].get("replied_user")


async def unfurl_on(discord, guild: str) -> None:
    answer = await discord.slash("settings unfurl", guild=guild, enabled=True)
    assert answer.callback_types == [MESSAGE] and "is now **on**" in answer.content
    assert "message-content intent" not in answer.content  # this bot has it


async def test_three_papers_in_an_unfurl_channel_get_one_reply_of_three_compact_cards(
    discord, seed_card
):
    refused = await discord.slash("settings unfurl", guild="talk", enabled=True, permissions=MEMBER)
    assert "Manage Server" in refused.content and refused.message.ephemeral
    await unfurl_on(discord, "talk")
    mark = len(discord.calls)
    _, replies = await discord.say(THREE, guild="talk", user="alice")
    (reply,) = replies
    assert [e["url"] for e in reply.embeds] == [
        f"https://doi.org/{SEED}",
        f"https://doi.org/{CELL}",
        f"https://doi.org/{KLUWER}",
    ]
    for number, embed in enumerate(reply.embeds, 1):
        assert embed["title"].startswith(f"{number}\ufe0f\u20e3 ")  # 1️⃣ matches its buttons
        assert desktop_lines(embed) <= 12 and not embed.get("fields")
    ids = reply.custom_ids
    for doi in (SEED, CELL, KLUWER):
        assert f"lit:cite:{doi}" in ids and f"lit:save:{doi}" in ids
    assert not any(i.startswith(("lit:more:", "lit:saveall:")) for i in ids)
    within_limits(posted(discord, mark))

    # the same message in another channel of the server (not opted in): nothing
    reading = discord.guild("talk").other_channel_id
    _, elsewhere = await discord.say(
        THREE, guild="talk", channel_id=reading, expect=False, settle=2.0
    )
    assert elsewhere == []
    # and again in the opted-in channel: papers shown a moment ago are not shown again
    _, again = await discord.say(THREE, guild="talk", expect=False, settle=2.0)
    assert again == []

    # the card buttons work on an unfurled card
    cited = await discord.click(reply, f"lit:cite:{SEED}", user="bob")
    assert cited.message.ephemeral and cited.content.startswith("Zhou, Y., Lu, C.")


async def test_code_spoilers_and_suppressed_links_are_left_alone(discord, seed_card):
    await unfurl_on(discord, "talk-more")
    text = f"`{SEED}` ||doi:{CELL}|| <https://doi.org/{KLUWER}>\n```\n{BOOK}\n```"
    _, replies = await discord.say(text, guild="talk-more", expect=False, settle=2.0)
    assert replies == []


async def test_more_than_three_papers_offer_the_rest_and_save_all(discord, seed_card):
    guild = "talk-more"
    await unfurl_on(discord, guild)
    four = f"{THREE} Also arXiv:{ARXIV}."
    _, (reply,) = await discord.say(four, guild=guild, user="carol")
    assert len(reply.embeds) == 3
    more = next(i for i in reply.items() if (i.get("custom_id") or "").startswith("lit:more:"))
    assert more["label"] == "+1 more"
    opened = await discord.click(reply, more["custom_id"], user="dave")
    assert opened.callback_types == [DEFERRED] and opened.message.ephemeral
    (card,) = opened.message.embeds
    assert card["url"] == f"https://doi.org/10.48550/arxiv.{ARXIV}"

    save_all = next(i for i in reply.items() if i.get("custom_id", "").startswith("lit:saveall:"))
    assert save_all["label"] == "Save all 4 to the bibliography"
    saved = await discord.click(reply, save_all["custom_id"], user="dave")
    assert saved.message.ephemeral
    assert "Saved 4 papers to “general”" in saved.content
    listed = await discord.slash("bib list", guild=guild)
    assert "4 entries" in listed.message.embed["footer"]["text"]


async def test_a_pasted_reference_list_gets_an_offer_not_cards(discord, seed_card):
    guild = "talk-list"
    await unfurl_on(discord, guild)
    references = "\n".join(
        [
            f"1. doi:{SEED}",
            f"2. doi:{CELL}",
            f"3. https://doi.org/{KLUWER}",
            f"4. arXiv:{ARXIV}",
            f"5. https://doi.org/{BOOK}",
            f"6. doi:{CHAPTER}",
        ]
    )
    mark = len(discord.calls)
    _, (offer,) = await discord.say(references, guild=guild)
    assert not offer.embeds and offer.content.startswith("📚 6 papers in this message.")
    labels = [i["label"] for i in offer.items()]
    assert labels == ["Show them (just for you)", "Save all 6 to the bibliography"]
    within_limits(posted(discord, mark))
    mark = len(discord.calls)
    shown = await discord.click(offer, offer.custom_ids[0], user="erin")
    assert shown.message.ephemeral
    assert sum(len(m.embeds) for m in shown.messages) == 6
    within_limits(sent(discord, mark))


async def test_message_actions_answer_every_paper_in_one_reply(discord, seed_card):
    message = discord.post(
        f"Have you seen doi:{SEED} and https://arxiv.org/abs/{ARXIV}?", guild="talk-actions"
    )
    mark = len(discord.calls)
    cited = await discord.message_action("Cite papers in this message", message, user="frank")
    assert cited.callback_types == [DEFERRED] and cited.message.ephemeral
    assert len(cited.messages) == 1
    assert "Zhou, Y." in cited.content and "ISIS" in cited.content

    summaries = await discord.message_action("Summarise paper in this message", message)
    assert [e["url"] for e in summaries.message.embeds] == [
        f"https://doi.org/{SEED}",
        f"https://doi.org/10.48550/arxiv.{ARXIV}",
    ]

    saved = await discord.message_action("Save papers in this message", message, user="frank")
    assert saved.message.ephemeral and "Saved 2 papers to “general”" in saved.content

    within_limits(sent(discord, mark))

    nothing = await discord.message_action(
        "Cite papers in this message", discord.post("no papers here", guild="talk-actions")
    )
    assert nothing.callback_types == [MESSAGE] and "No DOI" in nothing.content


async def test_a_user_install_works_in_any_dm_or_group_dm(discord, seed_card):
    paper = await discord.slash("paper", private_channel=True, query=SEED, user="gina")
    assert paper.interaction["context"] == 2 and paper.message.embed["title"]
    cite = await discord.slash("cite", private_channel=True, query=SEED, user="gina")
    assert cite.content.startswith("Zhou, Y., Lu, C.")
    message = discord.post(f"doi:{BOOK}", channel_id="900000000000000999", user="hal")
    action = await discord.message_action(
        "Cite papers in this message", message, user="gina", private_channel=True
    )
    assert action.message.ephemeral and "Cambridge University Press" in action.content
    saved = await discord.message_action(
        "Save papers in this message", message, user="gina", private_channel=True
    )
    assert "“personal”" in saved.content  # not into a server litbot is not installed in


async def test_help_lists_every_command_with_an_example(discord):
    answer = await discord.slash("help")
    assert answer.callback_types == [MESSAGE] and answer.message.ephemeral
    text = "\n".join(f["value"] for e in answer.message.embeds for f in e.get("fields") or [])
    for command in ("/paper", "/cite", "/summary", "/bib add", "/settings unfurl", "/help"):
        assert f"**{command}**" in text
    assert "e.g. `/paper query:" in text and "Bibliographies belong to a server" in text
    assert "Cite papers in this message" in text
    assert message_problems(answer.callbacks[0]["data"]) == []


async def test_map_button_sends_a_picture_and_its_legend(discord):
    card = await discord.slash("paper", query=BRILL)
    answer = await discord.click(card.message, f"lit:map:{BRILL}", user="ivan", within=60)
    assert answer.callback_types == [DEFERRED] and answer.message.ephemeral
    (image,) = answer.message.attachments
    assert image.filename == "neighbourhood.png" and image.data.startswith(b"\x89PNG")
    assert "Size: citations; colour: year" in answer.content


# -- a bot without the message-content intent -------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def no_intent(upstream_server, tmp_path_factory):
    """A second litbot whose operator set LITBOT_MESSAGE_CONTENT=true without enabling the
    intent in the Developer Portal."""
    async with FakeDiscord(guilds=("quiet",), message_content_granted=False) as fake:
        folder = tmp_path_factory.mktemp("no-intent")
        env = bot_environment(fake, upstream_server, folder, LITBOT_MESSAGE_CONTENT="true")
        code, _, err = await run_once(env, folder, "sync")
        assert code == 0, err
        process = await BotProcess(env, folder).start("run")
        try:
            await process.until_ready(fake)
            yield fake, process
        finally:
            await process.stop()


async def test_without_the_intent_the_bot_starts_and_unfurls_when_asked(no_intent, seed_card):
    fake, process = no_intent
    first, second = fake.identifies[0]["intents"], fake.identifies[-1]["intents"]
    assert first & MESSAGE_CONTENT_INTENT  # asked, refused with 4014 …
    assert second == GUILDS_INTENT | GUILD_MESSAGES_INTENT | DIRECT_MESSAGES_INTENT  # … then not

    _, (in_dm,) = await fake.say(f"doi:{SEED}", dm=True, user="jo")
    assert in_dm.embeds[0]["url"] == f"https://doi.org/{SEED}"
    _, (mentioned,) = await fake.say(f"what about doi:{CHAPTER_2015}?", guild="quiet", mention=True)
    assert mentioned.embeds[0]["url"] == f"https://doi.org/{CHAPTER_2015}"

    setting = await fake.slash("settings unfurl", guild="quiet", enabled=True)
    assert "is now **on**" in setting.content and "message-content intent" in setting.content
    _, silent = await fake.say(f"doi:{JAPANESE}", guild="quiet", expect=False, settle=2.0)
    assert silent == []  # Discord gives this bot no text for a plain channel message

    paper = await fake.slash("paper", query=SEED)  # everything else works
    assert paper.message.embed["url"] == f"https://doi.org/{SEED}"
    said = [line for line in process.lines if "message-content intent" in line]
    assert len(said) == 1, said
    assert not fake.rejections and not fake.unmodelled
