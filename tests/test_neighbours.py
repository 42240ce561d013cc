"""Research neighbourhoods: references, cited-by and related works from OpenAlex, cached.

The upstream answers are recorded OpenAlex work objects in OpenAlex's list envelope; where the
recorded works do not point at each other, the test points the *work* at recorded ids.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.errors import UpstreamError
from bot.identifiers import parse_identifier
from bot.neighbours import NoNeighbourhood
from bot.ui.components import DYNAMIC_ITEMS
from cogs.paper import PaperCog
from tests.discord_harness import component_payload, invoke, slash_payload
from tests.discord_limits import message_problems
from tests.upstream_mock import Canned, MockUpstreams
from tests.world import litbot

ELIFE = "10.7554/elife.01567"
ADDR, CELL = "W2033425827", "W4408732759"  # recorded works (addr-2015, cell-genomics-2025)
CITED_BY_ELIFE = "W1964940342"  # the first reference of the recorded eLife paper


@pytest.fixture
async def bot(fixtures_dir, tmp_path):
    async with litbot(tmp_path, MockUpstreams(fixtures_dir)) as bot:
        yield bot


async def elife(bot):
    return await bot.papers.lookup(parse_identifier(ELIFE))


async def test_the_card_work_carries_its_openalex_references_and_related_ids(bot):
    work = await elife(bot)
    assert work.openalex_id == "W2121398592"
    assert work.referenced[:2] == ("W1964940342", "W1969035038") and len(work.related) == 10
    assert work.provenance["referenced"] == "openalex"


async def test_references_come_in_the_works_order_and_are_cached(bot):
    work = replace(await elife(bot), referenced=(CELL, ADDR, "W1"), references_count=3)
    hood = await bot.neighbours.neighbourhood(work, "references")
    assert [i.openalex_id for i in hood.items] == [CELL, ADDR]  # W1 is unknown to OpenAlex
    assert hood.total == 3 and hood.items[1].first_author == "Geary"
    assert hood.items[1].title.startswith("Pharmacokinetics")
    bot.papers.up.openalex.base_url = "http://unreachable.invalid"  # cached: no request now
    assert await bot.neighbours.neighbourhood(work, "references") == hood


async def test_cited_by_is_most_cited_first_and_uses_openalex_count(bot, fixtures_dir):
    work = replace(await elife(bot), openalex_id=CITED_BY_ELIFE)
    hood = await bot.neighbours.neighbourhood(work, "cited-by")
    assert [i.doi for i in hood.items] == [ELIFE] and hood.total == 1


async def test_an_empty_neighbourhood_costs_no_request_and_says_so(bot):
    work = replace(await elife(bot), referenced=())
    hood = await bot.neighbours.neighbourhood(work, "references")
    assert hood.items == () and hood.total == 0


async def test_no_openalex_id_gets_a_clear_message(bot):
    work = replace(await elife(bot), openalex_id=None)
    with pytest.raises(NoNeighbourhood, match="OpenAlex does not know"):
        await bot.neighbours.neighbourhood(work, "related")


async def test_openalex_down_serves_the_cached_list_with_a_note_or_says_so(fixtures_dir, tmp_path):
    mock = MockUpstreams(fixtures_dir)
    async with litbot(tmp_path, mock) as bot:
        bot.neighbours.ttl = 0  # every list is stale at once
        work = replace(await elife(bot), related=(ADDR,))
        fresh = await bot.neighbours.neighbourhood(work, "related")
        mock.fail("openalex", Canned(503, b"down", "text/plain"))
        stale = await bot.neighbours.neighbourhood(work, "related")
        assert stale.items == fresh.items and "did not answer" in stale.notes[0]
        with pytest.raises(UpstreamError, match="unavailable"):
            await bot.neighbours.neighbourhood(work, "cited-by")


async def test_card_buttons_answer_privately_within_limits(bot):
    await bot.add_cog(PaperCog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    card = (await invoke(bot, slash_payload("paper", query=ELIFE)))[-1].payload
    second_row = [b["custom_id"] for b in card["components"][1]["components"]]
    assert second_row == [f"lit:refs:{ELIFE}", f"lit:citedby:{ELIFE}", f"lit:related:{ELIFE}"]
    for custom_id in second_row:
        calls = await invoke(bot, component_payload(custom_id, components=card["components"]))
        assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == 64
        answer = calls[-1].payload
        assert message_problems(answer) == []
        embed = answer["embeds"][0]
        assert "via OpenAlex" in embed["footer"]["text"]
        assert embed["title"].split(":")[0] in ("References", "Cited by", "Related works")
