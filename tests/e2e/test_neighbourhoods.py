"""Neighbourhood pages through the real ``litbot run`` process: References, paged both ways.

The recorded OpenAlex works do not cite one another, so the work here is synthetic, built from
real records only (``tests/synthetic/neighbours.py``): the recorded PNAS record, under a DOI of
Crossref's test prefix that nothing else uses, whose ``referenced_works`` are the 23 other
recorded works. Its ``referenced_works_count`` stays as recorded (73), so OpenAlex's count and
its list disagree as they can live, and every page must say so. The fake OpenAlex answers the
batch filters over the recorded works, so every entry shown is a recorded record.
"""

from __future__ import annotations

import re

import pytest

from bot.markdown import doi_url, escape
from tests.synthetic.neighbours import citing_record, recorded_works, short_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOI = "10.5555/litbot-neighbourhood-pages"
BASE, BASE_ID = "pnas-2014-1414271111", "W2109415576"
DEFERRED, MESSAGE, UPDATE_DEFERRED = 5, 4, 6
EPHEMERAL = 64
ENTRY = re.compile(r"^\*\*(\d+)\.\*\* (.*)$", re.M)
MISMATCH = "OpenAlex counts 73 references but lists 23."


def check_page(message, records: list[dict], page: int) -> None:
    """The page's footer count, its entry numbers and its entries agree with the list."""
    first, last = page * 10 + 1, min(page * 10 + 10, len(records))
    embed = message.embed
    assert embed["footer"]["text"].startswith(
        f"Showing {first}–{last} of {len(records)} references · page {page + 1} of 3 · via OpenAlex"
    )
    entries = ENTRY.findall(embed["description"])
    assert [int(n) for n, _ in entries] == list(range(first, last + 1))
    for (_, line), record in zip(entries, records[first - 1 : last], strict=True):
        title = record["title"]
        assert escape(title[:20]) in line, (title, line)
        doi = record["doi"].removeprefix("https://doi.org/").lower()
        assert f"[doi]({doi_url(doi)})" in line
        if record["publication_year"]:
            assert f", {record['publication_year']} · " in line
    assert MISMATCH in embed["description"]


def buttons(message) -> dict[str, dict]:
    return {item["label"]: item for item in message.items()}


async def test_references_page_forward_and_back_with_counts_that_agree(
    discord, world, fixtures_dir
):
    records = [r for r in recorded_works(fixtures_dir) if short_id(r) != BASE_ID]
    assert len(records) == 23
    cited = [short_id(r) for r in records]
    world.add("openalex", DOI, citing_record(fixtures_dir, BASE, cited, doi=DOI))

    card = await discord.slash("paper", query=DOI, user="nora")
    assert card.callback_types == [DEFERRED] and not card.message.ephemeral
    refs = f"lit:refs:{DOI}"
    assert refs in card.message.custom_ids

    before = world.calls["openalex"]
    opened = await discord.click(card.message, refs, user="nora")
    assert opened.callback_types == [DEFERRED]
    assert opened.callbacks[0]["data"]["flags"] == EPHEMERAL and opened.message.ephemeral
    assert opened.message.embed["title"].startswith("References: ")
    check_page(opened.message, records, 0)
    assert world.calls["openalex"] == before + 1  # one batch for the ten entries
    page_message = opened.message
    nora = discord.user("nora")["id"]
    assert buttons(page_message)["◀ Previous"].get("disabled") is True
    assert buttons(page_message)["Next ▶"]["custom_id"] == f"lit:nb:r:1:{nora}:{DOI}"

    # forward to the last page, one batch per new page
    for page in (1, 2):
        answer = await discord.click(page_message, buttons(page_message)["Next ▶"]["custom_id"])
        assert answer.callback_types == [UPDATE_DEFERRED]
        assert answer.message.id == page_message.id  # the same message, edited
        page_message = answer.message
        check_page(page_message, records, page)
        assert world.calls["openalex"] == before + 1 + page
    assert buttons(page_message)["Next ▶"].get("disabled") is True

    # and back: pages already seen come from the cache
    for page in (1, 0):
        answer = await discord.click(page_message, buttons(page_message)["◀ Previous"]["custom_id"])
        assert answer.callback_types == [UPDATE_DEFERRED]
        page_message = answer.message
        check_page(page_message, records, page)
    assert world.calls["openalex"] == before + 3

    # only the member who opened the list may page it
    other = await discord.click(
        page_message, buttons(page_message)["Next ▶"]["custom_id"], user="mallory"
    )
    assert other.callback_types == [MESSAGE] and other.message.ephemeral
    assert "belong to whoever opened this list" in other.message.content
    check_page(discord.message(page_message.id), records, 0)  # untouched
