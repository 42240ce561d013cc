"""The lab's journeys through the real ``litbot run`` process, over the gateway and REST.

Every test asserts on the callback type Discord received and on the answer's fields, so it
fails if the bot answered wrongly, late (the fake refuses a first response after 3 s), or not
at all (the driver raises). The session fixture also fails a test that made the fake refuse a
request (limits, double acknowledgement) or hit a route the fake does not model.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import SEED, acknowledged_while_held
from tests.e2e.fake_discord import (
    ALL_PERMISSIONS,
    APP_ID,
    DIRECT_MESSAGES_INTENT,
    EPHEMERAL,
    GUILD_MESSAGES_INTENT,
    GUILDS_INTENT,
    MANAGE_GUILD,
    MESSAGE_CONTENT_INTENT,
)
from tests.upstream_mock import Canned

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEED_TITLE = "NK cells are never alone: crosstalk and communication in tumour microenvironments"
APA_START = "Zhou, Y., Lu, C., Liu, L., & Li, X. (2023). NK cells are never alone"
SOURCES = ("openalex", "crossref", "unpaywall", "s2", "datacite")
DEFERRED, MESSAGE, UPDATE_DEFERRED, AUTOCOMPLETE = 5, 4, 6, 8
CALLBACK = "POST /interactions/{interaction_id}/{token}/callback"
FOLLOWUP = "POST /webhooks/{application_id}/{token}"
CHANNEL_MESSAGE = "POST /channels/{channel_id}/messages"


def public(answer) -> None:
    assert answer.message is not None and not answer.message.ephemeral, answer
    assert all(not m.ephemeral for m in answer.messages)


def private_and_short(answer, *, limit: int = 400) -> str:
    """An error reply: ephemeral, short, no traceback, and no public message left behind."""
    assert answer.message is not None and answer.message.ephemeral
    assert all(m.ephemeral for m in answer.messages), "a public message was left behind"
    content = answer.message.content
    assert 0 < len(content) <= limit and "Traceback" not in content
    return content


async def test_boot_syncs_the_commands_and_connects(litbot, discord):
    code, out, _ = litbot.sync
    assert code == 0 and out.startswith("synced ")
    route, body = discord.command_puts[0]
    assert route == f"/api/v10/applications/{APP_ID}/commands"  # global commands
    names = {c["name"] for c in body}
    assert {"paper", "cite", "settings", "summary"} <= names
    for command in body:
        assert command["contexts"] == [0, 1, 2] and command["integration_types"] == [0, 1]
    cite = {o["name"]: o for o in next(c for c in body if c["name"] == "cite")["options"]}
    assert cite["query"]["type"] == 3 and cite["query"]["required"]
    assert cite["style"]["type"] == 3 and cite["style"]["autocomplete"]
    assert cite["private"]["type"] == 5
    settings = next(c for c in body if c["name"] == "settings")["options"]
    assert {("style", 1), ("unfurl", 1)} <= {(o["name"], o["type"]) for o in settings}
    actions = {c["name"] for c in body if c.get("type") == 3}  # message actions
    assert actions == {
        "Cite papers in this message",
        "Save papers in this message",
        "Summarise paper in this message",
    }
    # the bot process: logged in with the token, one session; guilds and messages intents,
    # message content because this session's bot is set to ask for it
    assert discord.requests("GET /users/@me") and discord.requests("GET /oauth2/applications/@me")
    assert discord.identifies[0]["intents"] == (
        GUILDS_INTENT | GUILD_MESSAGES_INTENT | DIRECT_MESSAGES_INTENT | MESSAGE_CONTENT_INTENT
    )
    assert discord.connections[0].query["v"] == "10"


async def test_paper_cold_defers_then_sends_the_card(litbot, seed_card):
    answer, calls = seed_card.answer, seed_card.upstream_calls
    assert answer.callback_types == [DEFERRED]
    assert seed_card.acked_while_held  # acknowledged before any upstream answered
    assert calls["openalex"] == 1 and calls["crossref"] == 1
    public(answer)
    embed = answer.message.embed
    assert embed["title"] == SEED_TITLE
    assert embed["url"] == f"https://doi.org/{SEED}"
    assert "Yongqiang Zhou, Cheng Lu, Lu Liu, Xun Li" in embed["description"]
    assert "Molecular Cancer 22(1): 34 · 2023" in embed["description"]
    assert "CC BY" in answer.message.field("Access")
    assert SEED in answer.message.field("Identifiers")
    ids = answer.message.custom_ids
    assert f"lit:cite:{SEED}" in ids and f"lit:dm:{SEED}" in ids
    links = [c for c in answer.message.items() if c.get("style") == 5]
    assert links and all(c["url"].startswith("https://") for c in links)


async def quiet_calls(world, *, still: float = 1.0, limit: float = 20.0):
    """The upstream call counts once no request has been made for ``still`` seconds: a slow
    upstream of an earlier test may still be answering a late source's request."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    before = world.calls.copy()
    while loop.time() < deadline:
        await asyncio.sleep(still)
        now = world.calls.copy()
        if now == before:
            break
        before = now
    return before


async def test_paper_warm_makes_no_upstream_calls(discord, world, seed_card):
    # Once the seed card has settled (its late sources and TL;DR: on a loaded machine, maybe
    # after this test starts), it is in memory and the card is the first answer. Before that
    # the bot defers and answers from its cache. Neither asks an upstream.
    for _ in range(20):
        before = await quiet_calls(world)
        answer = await discord.slash("paper", query=f"https://doi.org/{SEED}", user="bob")
        assert answer.message.embed["title"] == SEED_TITLE
        assert world.calls - before == {}
        if answer.callback_types != [DEFERRED]:
            break
    assert answer.callback_types == [MESSAGE]


async def test_paper_with_slow_upstreams_defers_in_time_and_delivers(discord, world):
    answer, acked_while_held = await acknowledged_while_held(
        discord, world, discord.slash("paper", query="10.1016/j.addr.2015.01.008")
    )
    assert answer.callback_types == [DEFERRED]
    assert acked_while_held  # within Discord's 3 s, with no upstream answering meanwhile
    public(answer)
    assert answer.message.embed["title"].startswith("Pharmacokinetics, biodistribution")


async def test_invalid_input_is_a_short_private_message_without_defer(discord, world):
    before = await quiet_calls(world)
    answer = await discord.slash("paper", query="https://example.com/not-a-paper")
    assert answer.callback_types == [MESSAGE]
    assert answer.callbacks[0]["data"]["flags"] == EPHEMERAL
    assert "DOI" in private_and_short(answer)
    assert world.calls - before == {}


async def test_unknown_doi_is_a_short_private_message(discord):
    answer = await discord.slash("paper", query="10.9999/nothing-here")
    assert answer.callback_types == [DEFERRED]
    assert "10.9999/nothing-here" in private_and_short(answer)


async def test_one_upstream_down_still_gives_the_card_naming_it(discord, world):
    world.fail("crossref", Canned(503, b"upstream down", "text/plain"))
    answer = await discord.slash("paper", query="10.7554/elife.01567")
    assert answer.callback_types == [DEFERRED]
    public(answer)
    assert answer.message.embed["title"].startswith("Automated quantitative histology")
    # the compact card says it in words; the full card's Note field too
    assert "Crossref did not respond" in answer.message.embed["description"]


async def test_cite_in_a_guild_in_apa(discord, seed_card):
    answer = await discord.slash("cite", query=SEED)
    assert answer.callback_types == [DEFERRED]
    assert not answer.callbacks[0].get("data", {}).get("flags")
    public(answer)
    assert answer.content.startswith(APA_START)
    assert answer.content.splitlines()[-1] == "-# APA Style 7th edition"


async def test_cite_in_a_dm_privately(discord, seed_card):
    answer = await discord.slash("cite", dm=True, query=SEED, private=True)
    assert answer.callback_types == [DEFERRED]
    assert answer.callbacks[0]["data"]["flags"] == EPHEMERAL
    assert answer.interaction["channel"]["type"] == 1 and "member" not in answer.interaction
    assert answer.message.ephemeral and answer.content.startswith(APA_START)


async def test_cite_unknown_style_is_refused_before_any_lookup(discord, world):
    before = await quiet_calls(world)
    answer = await discord.slash("cite", query=SEED, style="vancuver")
    assert answer.callback_types == [MESSAGE]
    content = private_and_short(answer, limit=1000)
    assert "vancuver" in content and "vancouver" in content
    assert world.calls - before == {}


async def test_style_autocomplete(discord):
    answer = await discord.autocomplete("cite", "style", "", query=SEED)
    assert answer.callback_types == [AUTOCOMPLETE]
    assert 0 < len(answer.choices) <= 25 and answer.choices[0]["value"] == "apa"
    answer = await discord.autocomplete("cite", "style", "vanc", query=SEED)
    values = [c["value"] for c in answer.choices]
    assert 0 < len(values) <= 25 and sum("vancouver" in v for v in values) >= 3


async def test_card_cite_button_then_style_select(discord, seed_card):
    card = seed_card.answer.message
    cited = await discord.click(card, f"lit:cite:{SEED}", user="carol")
    assert cited.callback_types == [DEFERRED]
    assert cited.callbacks[0]["data"]["flags"] == EPHEMERAL
    assert cited.message.ephemeral and cited.content.startswith(APA_START)
    select = cited.message.component(f"lit:style:{SEED}")
    assert select["type"] == 3 and "bibtex" in {o["value"] for o in select["options"]}

    picked = await discord.select(cited.message, f"lit:style:{SEED}", ["bibtex"], user="carol")
    assert picked.callback_types == [UPDATE_DEFERRED]
    assert picked.message.id == cited.message.id  # the citation is edited in place
    assert picked.message.edited and picked.message.ephemeral
    assert picked.content.startswith("```bibtex\n@article{zhou2023nk,")


async def test_card_send_to_my_dms(discord, seed_card):
    discord.rate_limit(CHANNEL_MESSAGE, retry_after=0.2)  # discord.py must wait and retry
    answer = await discord.click(seed_card.answer.message, f"lit:dm:{SEED}", user="dave")
    assert answer.callback_types == [DEFERRED]
    opened = discord.requests("POST /users/@me/channels")[-1]
    dave = discord.user("dave")
    assert str(opened.json["recipient_id"]) == dave["id"]
    (dm,) = answer.channel_messages
    assert dm.channel_id == discord.dm_channel(dave)
    assert dm.embed["title"] == SEED_TITLE and dm.content.startswith(APA_START)
    assert discord.faults_served == [(CHANNEL_MESSAGE, 429)]
    assert [c.status for c in discord.requests(CHANNEL_MESSAGE)][-2:] == [429, 200]
    assert answer.message.ephemeral and "Sent to your DMs" in answer.content


async def test_card_send_to_dms_when_they_are_closed(discord, seed_card):
    discord.close_dms("erin")
    answer = await discord.click(seed_card.answer.message, f"lit:dm:{SEED}", user="erin")
    assert answer.callback_types == [DEFERRED]
    assert answer.channel_messages == []
    assert "DMs are closed" in private_and_short(answer)


async def test_settings_style_is_per_guild(discord, seed_card):
    denied = await discord.slash(
        "settings style", guild="style-a", style="ieee", permissions=ALL_PERMISSIONS & ~MANAGE_GUILD
    )
    assert denied.callback_types == [MESSAGE] and "Manage Server" in private_and_short(denied)

    changed = await discord.slash("settings style", guild="style-a", style="ieee")
    assert changed.callback_types == [MESSAGE] and "IEEE" in changed.content
    try:
        in_a = await discord.slash("cite", guild="style-a", query=SEED)
        assert in_a.content.startswith("[1]") and "Zhou" in in_a.content
        in_b = await discord.slash("cite", guild="style-b", query=SEED)
        assert in_b.content.startswith(APA_START)
    finally:
        await discord.slash("settings style", guild="style-a", style="default")


async def test_summary(discord, seed_card):
    answer = await discord.slash("summary", query=SEED)
    assert answer.callback_types == [DEFERRED]
    public(answer)
    assert answer.message.embed["title"] == SEED_TITLE
    assert f"lit:cite:{SEED}" in answer.message.custom_ids


async def test_bib_add_list_export_and_a_second_guild_sees_nothing(discord, seed_card):
    added = await discord.slash("bib add", guild="bib-a", query=SEED, tags="nk")
    assert added.callback_types == [DEFERRED] and "NK cells are never alone" in added.content

    listed = await discord.slash("bib list", guild="bib-a")
    assert listed.callback_types == [MESSAGE]
    assert "Zhou et al. (2023)" in listed.message.embed["description"]

    other = await discord.slash("bib list", guild="bib-b")
    assert other.callback_types == [MESSAGE]
    assert "Zhou" not in other.message.embed["description"]
    assert "0 entries" in other.message.embed["footer"]["text"]
    mine = await discord.slash("bib list", dm=True)
    assert "Zhou" not in mine.message.embed["description"]

    exported = await discord.slash("bib export", guild="bib-a", format="bibtex")
    assert exported.callback_types == [DEFERRED] and exported.message.ephemeral
    (file,) = exported.message.attachments
    assert file.filename.endswith(".bib")
    assert file.data.decode().lstrip().startswith("@article{zhou2023nk,")


async def test_discord_rate_limits_and_server_errors_are_retried(discord, seed_card):
    discord.rate_limit(CALLBACK, retry_after=0.3)
    discord.server_error(FOLLOWUP, status=500)
    answer = await discord.slash("paper", query="10.1002/eng2.12059")  # cold: deferred
    assert answer.callback_types == [DEFERRED]
    assert answer.message.embed["title"]
    # one 429 only: the retry waited out Retry-After (the fake answers 429 again inside it)
    assert discord.faults_served == [(CALLBACK, 429), (FOLLOWUP, 500)]


async def test_gateway_reconnect_in_the_middle_of_use(discord, world, seed_card):
    identified = len(discord.identifies)
    world.latency.update(dict.fromkeys(SOURCES, 1.0))
    slow = asyncio.ensure_future(discord.slash("paper", query="10.1145/3448016.3452841"))
    await asyncio.sleep(0.3)  # deferred, waiting on the upstreams
    await discord.reconnect()  # op 7: the bot must RESUME on resume_gateway_url
    resumed = discord.resumes[-1]
    assert resumed["path"] == "/resume" and resumed["session_id"] == discord.session_id
    answer = await slow
    assert answer.callback_types == [DEFERRED]
    assert answer.message.embed["title"].startswith("Vector Quotient Filters")
    world.latency.clear()

    after = await discord.slash("paper", query=SEED)
    assert after.callback_types == [MESSAGE] and after.message.embed["title"] == SEED_TITLE

    # An interaction dispatched while the bot is away is replayed on RESUME and answered.
    await discord.reconnect(wait=False)
    replayed = await discord.slash("cite", query=SEED)
    assert replayed.content.startswith(APA_START)
    assert discord.resumes[-1]["replayed"] >= 1
    assert len(discord.identifies) == identified  # resumed both times, no new session

    # A session Discord will not resume: the bot identifies again and keeps answering.
    await discord.invalidate_session(resumable=False)
    assert len(discord.identifies) == identified + 1
    fresh = await discord.slash("paper", query=SEED)
    assert fresh.callback_types == [MESSAGE] and fresh.message.embed["title"] == SEED_TITLE


async def test_card_neighbourhood_buttons(discord):
    doi = "10.1038/hdy.2013.26"  # recorded in OpenAlex; used by no other e2e test
    card = await discord.slash("paper", query=doi)
    assert card.callback_types == [DEFERRED]
    public(card)
    row = [c["custom_id"] for c in card.message.components[1]["components"]]
    assert row == [
        f"lit:refs:{doi}",
        f"lit:citedby:{doi}",
        f"lit:related:{doi}",
        f"lit:map:{doi}",  # test_conversation.py draws it
    ]
    for custom_id, title in zip(row, ("References", "Cited by", "Related works"), strict=False):
        answer = await discord.click(card.message, custom_id, user="erin")
        assert answer.callback_types == [DEFERRED]
        assert answer.callbacks[0]["data"]["flags"] == EPHEMERAL
        assert answer.message.ephemeral
        assert answer.message.embed["title"].startswith(f"{title}: ")
        assert "via OpenAlex" in answer.message.embed["footer"]["text"]
