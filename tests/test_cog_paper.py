"""/paper through the real CommandTree: defer first, card within limits, errors ephemeral."""

from __future__ import annotations

import asyncio
import gc

import discord
import pytest

from bot.ui.components import DYNAMIC_ITEMS
from cogs.paper import PaperCog
from tests.collector import collector_off, left_for_the_collector
from tests.discord_harness import RecordingAdapter, component_payload, invoke, slash_payload
from tests.discord_limits import message_problems
from tests.upstream_mock import Canned
from tests.world import litbot, seeded

EPHEMERAL = 64


@pytest.fixture
async def env(fixtures_dir, tmp_path):
    mock = seeded(fixtures_dir)
    log: list[str] = []
    mock.log = log
    async with litbot(tmp_path, mock) as bot:
        await bot.add_cog(PaperCog(bot))
        yield bot, mock, log


async def test_paper_defers_before_any_upstream_call_then_sends_the_card(env):
    bot, _mock, log = env
    calls = await invoke(
        bot,
        slash_payload("paper", query="https://doi.org/10.1186/s12943-023-01737-7", full=True),
        log,
    )
    assert calls[0].callback_type == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert log[0].startswith("discord POST /interactions")
    assert any(entry.startswith("upstream") for entry in log)
    card = calls[-1].payload
    assert calls[-1].method == "POST" and "/webhooks/" in calls[-1].path
    assert message_problems(card) == []
    embed = card["embeds"][0]
    assert (
        embed["title"]
        == "NK cells are never alone: crosstalk and communication in tumour microenvironments"
    )
    assert "Yongqiang Zhou, Cheng Lu, Lu Liu, Xun Li" in embed["description"]
    assert "Molecular Cancer 22(1): 34 · 2023" in embed["description"]
    access = next(f for f in embed["fields"] if f["name"] == "Access")["value"]
    assert "CC BY" in access
    buttons = card["components"][0]["components"]
    assert [b.get("custom_id") for b in buttons[:3]] == [
        "lit:cite:10.1186/s12943-023-01737-7",
        "lit:save:10.1186/s12943-023-01737-7",
        "lit:dm:10.1186/s12943-023-01737-7",
    ]
    links = buttons[3:]
    assert links and all(b["style"] == 5 and len(b["url"]) <= 512 for b in links)


async def test_paper_in_a_dm(env):
    bot, _, _ = env
    calls = await invoke(bot, slash_payload("paper", dm=True, query="10.7554/elife.01567"))
    assert calls[0].callback_type == 5
    assert calls[-1].payload["embeds"][0]["title"].startswith("Automated quantitative histology")


async def test_invalid_input_gets_an_ephemeral_message_without_defer(env):
    bot, mock, _ = env
    calls = await invoke(bot, slash_payload("paper", query="https://example.com/x"))
    assert len(calls) == 1 and calls[0].callback_type == 4
    data = calls[0].payload["data"]
    assert data["flags"] == EPHEMERAL and "DOI" in data["content"]
    assert len(data["content"]) < 300
    assert sum(mock.calls.values()) == 0


async def test_unknown_doi_gets_a_short_private_message(env):
    bot, _, _ = env
    calls = await invoke(bot, slash_payload("paper", query="10.9999/nothing-here"))
    assert calls[0].callback_type == 5
    final = calls[-1].payload
    assert final["flags"] == EPHEMERAL
    assert "10.9999/nothing-here" in final["content"] and "Traceback" not in final["content"]
    assert any(c.method == "DELETE" for c in calls)  # the public "thinking…" is removed


async def test_all_upstreams_down_is_a_short_message_not_a_traceback(env):
    bot, mock, _ = env
    for name in ("openalex", "crossref", "unpaywall", "s2"):
        mock.fail(name, Canned(503, b"down", "text/plain"))
    calls = await invoke(bot, slash_payload("paper", query="10.7554/elife.01567"))
    final = calls[-1].payload
    assert final["flags"] == EPHEMERAL and "did not answer" in final["content"]


async def test_unexpected_errors_show_a_reference_id(env, caplog):
    bot, _, _ = env

    async def boom(_ident):
        raise RuntimeError("bug")

    bot.papers.lookup = boom
    calls = await invoke(bot, slash_payload("paper", query="10.7554/elife.01567"))
    final = calls[-1].payload
    assert "reference `" in final["content"] and final["flags"] == EPHEMERAL
    assert "bug" not in final["content"]
    assert any("unhandled error in /paper" in r.message for r in caplog.records)


async def test_a_slow_source_arrives_as_an_edit_of_the_card(env):
    """The card does not wait for a slow Unpaywall: it is sent with what the others said, then
    edited once Unpaywall's answer changes what it shows; nothing is edited twice."""
    bot, mock, _ = env
    mock.latency = {"unpaywall": 0.3}
    calls = await invoke(bot, slash_payload("paper", query="10.1016/j.addr.2015.01.008", full=True))
    sent = calls[-1]
    assert sent.method == "POST" and "/webhooks/" in sent.path
    assert "unpaywall" not in str(sent.payload["embeds"][0].get("footer"))
    assert mock.calls["unpaywall"] == 1
    await bot.settle()
    edits = [c for c in calls if c.method == "PATCH"]
    assert len(edits) == 1 and edits[0].path.endswith("/messages/" + edits[0].path.split("/")[-1])
    edited = edits[0].payload["embeds"][0]
    assert message_problems(edits[0].payload) == []
    assert "Unpaywall" in str(edited.get("footer"))
    assert edits[0].payload["allowed_mentions"] == {"parse": []}
    assert edits[0].payload["components"]  # the buttons stay


async def test_a_card_whose_sources_all_answered_is_not_edited(env):
    bot, _mock, _ = env
    calls = await invoke(bot, slash_payload("paper", query="10.1016/j.addr.2015.01.008"))
    await bot.settle()
    assert not [c for c in calls if c.method == "PATCH"]


async def test_a_card_in_memory_is_the_first_answer_without_a_defer(env):
    bot, mock, _ = env
    await invoke(bot, slash_payload("paper", query="10.7554/elife.01567"))
    await bot.settle()
    await bot.papers.drain()
    before = sum(mock.calls.values())
    calls = await invoke(bot, slash_payload("paper", query="https://doi.org/10.7554/ELIFE.01567"))
    assert len(calls) == 1 and calls[0].callback_type == 4  # CHANNEL_MESSAGE_WITH_SOURCE
    message = calls[0].payload["data"]
    assert message["embeds"][0]["title"].startswith("Automated quantitative histology")
    assert message["allowed_mentions"] == {"parse": []} and message["components"]
    assert message_problems(message) == []
    assert sum(mock.calls.values()) == before


def _live_interactions() -> set[int]:
    return {id(o) for o in gc.get_objects() if isinstance(o, discord.Interaction)}


def _live_views() -> list[discord.ui.View]:
    return [o for o in gc.get_objects() if isinstance(o, discord.ui.View)]


async def test_a_sent_card_view_is_freed_at_once_not_by_the_collector(env):
    """A card's view (its buttons all dispatched by custom id) is released once discord.py
    has sent it: nothing of it waits for a garbage collection on the event loop."""
    bot, _, _ = env
    doi = "10.7554/elife.01567"
    with collector_off():  # what is still alive afterwards was not freed by its references going
        before = len(_live_views())
        cold = await invoke(bot, slash_payload("paper", query=doi))
        await bot.settle()
        await bot.papers.drain()
        warm = await invoke(bot, slash_payload("paper", query=doi))
        assert len(_live_views()) == before
    for calls in (cold, warm):  # the buttons were sent before the view let them go
        rows = calls[-1].payload.get("components") or calls[-1].payload["data"]["components"]
        assert rows[0]["components"][0]["custom_id"] == f"lit:cite:{doi}"


async def test_an_answered_interaction_is_freed_at_once_not_by_the_collector(env):
    """Through discord.py's own path (INTERACTION_CREATE parsed, the command in a task of
    its own): once the card is sent and the task done, nothing of the interaction is left
    for the garbage collector."""
    from discord.webhook.async_ import async_context

    bot, _, _ = env
    doi = "10.7554/elife.01567"
    await invoke(bot, slash_payload("paper", query=doi))
    await bot.settle()
    await bot.papers.drain()
    with collector_off():
        earlier = _live_interactions()  # the harness's own (its task lives on)
        bot.loop = asyncio.get_running_loop()  # what logging in sets
        adapter = RecordingAdapter()
        token = async_context.set(adapter)
        try:
            before = asyncio.all_tasks()
            bot._connection.parsers["INTERACTION_CREATE"](slash_payload("paper", query=doi))
            await asyncio.gather(*(asyncio.all_tasks() - before))
        finally:
            async_context.reset(token)
        assert [call.callback_type for call in adapter.calls] == [4]  # the card, at once
        assert _live_interactions() == earlier


async def test_a_clicked_card_button_leaves_nothing_for_the_collector(env):
    """A click on a card's button: discord.py rebuilds the message's view around the dynamic
    item and answers in a task; when it is done, that view and the interaction go with their
    last references (an ephemeral answer's view lives on in discord.py's 15-minute timer,
    released: it too goes without the collector)."""
    bot, _, _ = env
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    doi = "10.1186/s12943-023-01737-7"
    await invoke(bot, component_payload(f"lit:card:{doi}"))  # the work in memory
    with collector_off():
        calls = await invoke(bot, component_payload(f"lit:card:{doi}"))
        left = left_for_the_collector(discord.ui.View, discord.Interaction)
    assert calls[-1].payload["embeds"][0]["url"] == f"https://doi.org/{doi}"
    assert left == []


async def test_paper_is_compact_by_default(env):
    """Title, authors, venue · year · type · citations, one access line; abstract and
    provenance behind buttons; the card's rows: actions and links, the neighbourhood and the
    map, Abstract and Sources."""
    bot, _, _ = env
    calls = await invoke(bot, slash_payload("paper", query="10.1186/s12943-023-01737-7"))
    card = calls[-1].payload
    assert message_problems(card) == []
    embed = card["embeds"][0]
    assert not embed.get("fields") and not embed.get("footer")
    text = embed["description"]
    assert "Yongqiang Zhou, Cheng Lu, Lu Liu, Xun Li" in text
    assert "Molecular Cancer · 2023 · Review article" in text
    assert "🔓 Open access (gold) · CC BY · published version" in text
    doi = "10.1186/s12943-023-01737-7"
    rows = [[b.get("custom_id") or b["label"] for b in r["components"]] for r in card["components"]]
    assert rows[0][:3] == [f"lit:cite:{doi}", f"lit:save:{doi}", f"lit:dm:{doi}"]
    assert len(rows[0]) == 4  # gold: the open copy is the publisher's page, one button
    assert rows[1] == [
        f"lit:refs:{doi}",
        f"lit:citedby:{doi}",
        f"lit:related:{doi}",
        f"lit:map:{doi}",
    ]
    assert rows[2] == [f"lit:abstract:{doi}", f"lit:sources:{doi}"]


async def test_paper_full_keeps_the_full_card(env):
    bot, _, _ = env
    calls = await invoke(bot, slash_payload("paper", query="10.7554/elife.01567", full=True))
    embed = calls[-1].payload["embeds"][0]
    assert [f["name"] for f in embed["fields"]][:2] == ["Access", "Identifiers"]
    assert "Sources:" in embed["footer"]["text"] and "Abstract" in embed["description"]


async def test_more_under_several_cards_sends_that_card_privately_with_its_buttons(env):
    # the unfurl's "More" button (a message of three cards has no room for each one's row)
    bot, _, _ = env
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    doi = "10.1186/s12943-023-01737-7"
    calls = await invoke(bot, component_payload(f"lit:card:{doi}"))
    assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == 64
    sent = calls[-1].payload
    assert message_problems(sent) == [] and sent["flags"] & 64
    (embed,) = sent["embeds"]
    assert embed["url"] == f"https://doi.org/{doi}"
    assert "Molecular Cancer · 2023 · Review article" in embed["description"]
    ids = [b.get("custom_id") for row in sent["components"] for b in row["components"]]
    assert f"lit:cite:{doi}" in ids and f"lit:abstract:{doi}" in ids
