"""Research neighbourhoods: references, cited-by and related works from OpenAlex, paged, cached.

The upstream answers are recorded OpenAlex work records in OpenAlex's list envelope. The
recorded works do not cite one another, so lists longer than a page are synthetic and built
from real records only (``tests/synthetic/neighbours.py``): a recorded work (eLife 01567) whose
``referenced_works`` point at the other recorded works, and the recorded list envelope holding
recorded records for citing works.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.errors import StaleComponent, UpstreamError
from bot.identifiers import parse_identifier
from bot.models import Work
from bot.neighbours import MAX_PAGES, Neighbour, Neighbourhood, NoNeighbourhood
from bot.sources import openalex
from bot.sources._http import SourceError
from bot.ui.cards import neighbour_line, render_neighbourhood
from bot.ui.components import DYNAMIC_ITEMS, neighbour_view, page_ref
from cogs.paper import PaperCog
from tests.discord_harness import USER, component_payload, invoke, slash_payload
from tests.discord_limits import message_problems
from tests.synthetic.neighbours import citing_record, list_envelope, recorded_works, short_id
from tests.upstream_mock import Canned, MockUpstreams
from tests.world import litbot

ELIFE = "10.7554/elife.01567"
ELIFE_ID = "W2121398592"
ADDR, CELL = "W2033425827", "W4408732759"  # recorded works (addr-2015, cell-genomics-2025)
OTHER_USER = {**USER, "id": "900000000000000301", "username": "bob", "global_name": "Bob"}


@pytest.fixture(scope="module")
def recorded(fixtures_dir):
    """The recorded works other than eLife 01567, by id, in file-name order (23 of them)."""
    return {short_id(r): r for r in recorded_works(fixtures_dir) if short_id(r) != ELIFE_ID}


@pytest.fixture
def mock(fixtures_dir):
    return MockUpstreams(fixtures_dir)


@pytest.fixture
async def bot(mock, tmp_path):
    async with litbot(tmp_path, mock) as bot:
        yield bot


async def elife(bot):
    return await bot.papers.lookup(parse_identifier(ELIFE))


def list_requests(mock) -> list[dict[str, str]]:
    """The OpenAlex list requests made so far, as their query parameters."""
    out = []
    for request in mock.requests:
        if request.url.host == "openalex.test" and request.url.path == "/works":
            out.append({k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()})
    return out


def batch_ids(params: dict[str, str]) -> list[str]:
    kind, _, value = params["filter"].partition(":")
    assert kind == "openalex"
    return value.split("|")


# -- the work's lists ---------------------------------------------------------------------------


async def test_the_card_work_carries_its_whole_openalex_lists(bot):
    work = await elife(bot)
    assert work.openalex_id == ELIFE_ID
    assert work.referenced[:2] == ("W1964940342", "W1969035038") and len(work.referenced) == 29
    assert len(work.related) == 10 and work.provenance["referenced"] == "openalex"


def test_parse_keeps_every_listed_id_not_the_first_50(fixtures_dir):
    data = (fixtures_dir / "openalex/uq-dissertation.json").read_text()
    record = openalex.parse_work(json.loads(data))
    assert record.references_count == 245 and len(record.referenced) == 245


# -- pages: every entry of the list, ten a page, counts that agree --------------------------


@pytest.mark.parametrize(
    ("size", "page", "summary", "span"),
    [
        (23, 0, "Showing 1–10 of 23 references", (0, 10)),
        (23, 1, "Showing 11–20 of 23 references", (10, 20)),
        (23, 2, "Showing 21–23 of 23 references", (20, 23)),
        (20, 1, "Showing 11–20 of 20 references", (10, 20)),
        (11, 1, "Showing 11 of 11 references", (10, 11)),
        (1, 0, "Showing 1 of 1 reference", (0, 1)),
        (0, 0, "No references listed", (0, 0)),
    ],
)
async def test_a_page_shows_its_slice_of_the_list_in_order(
    bot, mock, recorded, size, page, summary, span
):
    ids = list(recorded)[:size]
    work = replace(await elife(bot), referenced=tuple(ids), references_count=size)
    before = len(list_requests(mock))
    hood = await bot.neighbours.neighbourhood(work, "references", page)
    assert hood.summary() == summary and hood.listed == size and hood.start == page * 10
    assert [i.openalex_id for i in hood.items] == ids[span[0] : span[1]]
    assert all(i.found for i in hood.items) and hood.remarks() == ()
    first = recorded[ids[span[0]]] if size else None
    if first is not None:  # the entry is the recorded record's
        assert hood.items[0].doi == first["doi"].removeprefix("https://doi.org/")
    requests = list_requests(mock)[before:]
    if size == 0:
        assert requests == []  # an empty list costs no request
    else:  # one batch for the page, exactly its ids, trimmed to the fields an entry shows
        assert len(requests) == 1 and batch_ids(requests[0]) == ids[span[0] : span[1]]
        assert requests[0]["per-page"] == str(span[1] - span[0])
        assert requests[0]["select"] == openalex.ENTRY_FIELDS


async def test_entries_follow_the_works_order_not_openalexs(bot):
    work = replace(await elife(bot), referenced=(CELL, ADDR), references_count=2)
    hood = await bot.neighbours.neighbourhood(work, "references")
    assert [i.openalex_id for i in hood.items] == [CELL, ADDR]
    assert hood.items[1].first_author == "Geary" and hood.items[1].authors == 4
    assert hood.items[1].title.startswith("Pharmacokinetics")
    assert hood.items[1].venue == "Advanced Drug Delivery Reviews" and hood.items[1].year == 2015


@pytest.mark.parametrize(
    ("kind", "change", "summary", "notes"),
    [
        # the recorded eLife record: 29 ids, none of them recorded. It used to say
        # "0 of 29 shown … (none listed by OpenAlex)"; OpenAlex does list 29.
        (
            "references",
            {},
            "Showing 1–10 of 29 references",
            ("OpenAlex returned no record for 10 works it lists on this page.",),
        ),
        # OpenAlex counts more than it lists (ids of merged or deleted works are dropped)
        (
            "references",
            {"referenced": (CELL, ADDR, "W1"), "references_count": 29},
            "Showing 1–3 of 3 references",
            (
                "OpenAlex counts 29 references but lists 3.",
                "OpenAlex returned no record for 1 work it lists on this page.",
            ),
        ),
        (
            "references",
            {"referenced": (), "references_count": 29},
            "No references listed",
            ("OpenAlex counts 29 references but lists none.",),
        ),
        # a count from another source is never set against OpenAlex's list
        (
            "references",
            {"referenced": (CELL,), "references_count": 200, "provenance_of": "crossref"},
            "Showing 1 of 1 reference",
            (),
        ),
        (
            "references",
            {"referenced": (CELL, ADDR), "references_count": 2},
            "Showing 1–2 of 2 references",
            (),
        ),
        # eLife counts 45 citations; no recorded work cites it
        (
            "cited-by",
            {},
            "No citing works listed",
            ("OpenAlex counts 45 citations but lists none.",),
        ),
        (
            "related",
            {"related": (ADDR,)},
            "Showing 1 of 1 related work",
            (),
        ),
    ],
)
async def test_counts_are_stated_only_as_they_agree_with_the_list(
    bot, kind, change, summary, notes
):
    work = await elife(bot)
    source = change.pop("provenance_of", None)
    if source:
        work = replace(work, provenance={**work.provenance, "references_count": source})
    work = replace(work, **change)
    hood = await bot.neighbours.neighbourhood(work, kind)
    assert hood.summary() == summary
    assert hood.remarks() == notes
    if hood.listed and kind == "references":
        assert len(hood.items) == min(10, hood.listed)  # unresolved ids keep their places


async def test_cited_by_pages_through_openalex_most_cited_first(bot, mock, fixtures_dir, recorded):
    """13 citing works (recorded records in the recorded list envelope): two pages."""
    work = await elife(bot)
    citing = sorted(recorded.values(), key=lambda r: -(r.get("cited_by_count") or 0))[:13]
    mock.fail(
        "openalex",
        Canned(200, list_envelope(fixtures_dir, citing[:10], count=13, page=1, per_page=10)),
        Canned(200, list_envelope(fixtures_dir, citing[10:], count=13, page=2, per_page=10)),
    )
    first = await bot.neighbours.neighbourhood(work, "cited-by", 0)
    second = await bot.neighbours.neighbourhood(work, "cited-by", 1)
    assert first.summary() == "Showing 1–10 of 13 citing works" and first.pages == 2
    assert second.summary() == "Showing 11–13 of 13 citing works"
    assert [i.openalex_id for i in first.items + second.items] == [short_id(r) for r in citing]
    assert first.items[0].cited_by_count == 750  # addr-2015, the most cited recorded work
    assert first.remarks() == ("OpenAlex counts 45 citations but lists 13 citing works.",)
    params = list_requests(mock)[-2:]
    assert [p["filter"] for p in params] == [f"cites:{ELIFE_ID}"] * 2
    assert [p.get("page", "1") for p in params] == ["1", "2"]
    assert {p["sort"] for p in params} == {"cited_by_count:desc"}
    with pytest.raises(StaleComponent):  # the list has two pages; a third is not valid
        await bot.neighbours.neighbourhood(work, "cited-by", 2)


async def test_batches_hold_at_most_50_ids(bot, mock, recorded):
    ids = [*recorded] * 6  # 138 ids, 23 distinct: distinct ids are asked once
    found = await openalex.works_by_ids(bot.papers.up.openalex, [f"W{n}" for n in range(120)])
    assert found == {}
    sizes = [len(batch_ids(p)) for p in list_requests(mock)]
    assert sizes == [50, 50, 20]
    found = await openalex.works_by_ids(bot.papers.up.openalex, ids)
    assert set(found) == set(recorded) and len(list_requests(mock)) == 4


async def test_a_list_answering_404_is_a_failure_not_an_empty_list(bot, mock, fixtures_dir):
    html = (fixtures_dir / "openalex/error-404-not-found.html").read_bytes()
    mock.fail("openalex", Canned(404, html, "text/html; charset=utf-8"))
    with pytest.raises(SourceError):
        await openalex.list_works(bot.papers.up.openalex, f"cites:{ELIFE_ID}")


# -- pages that cannot be, caching, failures --------------------------------------------------


@pytest.mark.parametrize("page", [3, 4, MAX_PAGES - 1, MAX_PAGES, -1])
async def test_a_page_the_list_does_not_have_is_no_longer_valid(bot, recorded, page):
    work = replace(await elife(bot), referenced=tuple(recorded), references_count=23)
    with pytest.raises(StaleComponent, match="no longer valid"):
        await bot.neighbours.neighbourhood(work, "references", page)


async def test_pages_are_cached_with_their_list(bot, mock, recorded):
    ids = tuple(recorded)
    work = replace(await elife(bot), referenced=ids, references_count=23)
    pages = [await bot.neighbours.neighbourhood(work, "references", p) for p in (0, 1, 2)]
    asked = len(list_requests(mock))
    assert asked == 3
    again = [await bot.neighbours.neighbourhood(work, "references", p) for p in (1, 0, 2)]
    assert [h.items for h in again] == [pages[1].items, pages[0].items, pages[2].items]
    assert all(h.listed == 23 for h in again) and len(list_requests(mock)) == asked
    with pytest.raises(StaleComponent):  # known from the cache: no request
        await bot.neighbours.neighbourhood(work, "references", 3)
    assert len(list_requests(mock)) == asked
    # the work's list changed (a refreshed record): the cached pages are not its pages
    shorter = replace(work, referenced=ids[:12])
    hood = await bot.neighbours.neighbourhood(shorter, "references", 1)
    assert hood.summary() == "Showing 11–12 of 12 references"
    assert hood.remarks() == ("OpenAlex counts 23 references but lists 12.",)
    assert len(list_requests(mock)) == asked + 1


async def test_no_openalex_id_gets_a_clear_message(bot):
    work = replace(await elife(bot), openalex_id=None)
    with pytest.raises(NoNeighbourhood, match="OpenAlex does not know"):
        await bot.neighbours.neighbourhood(work, "related")


async def test_openalex_down_serves_the_cached_page_with_a_note_or_says_so(
    fixtures_dir, tmp_path, recorded
):
    mock = MockUpstreams(fixtures_dir)
    async with litbot(tmp_path, mock) as bot:
        bot.neighbours.ttl = 0  # every list is stale at once
        work = replace(await elife(bot), related=tuple(recorded)[:15])
        fresh = await bot.neighbours.neighbourhood(work, "related", 1)
        mock.fail("openalex", Canned(503, b"down", "text/plain"))
        stale = await bot.neighbours.neighbourhood(work, "related", 1)
        assert stale.items == fresh.items and stale.summary() == fresh.summary()
        assert "did not answer" in stale.remarks()[-1]
        with pytest.raises(UpstreamError, match="unavailable"):
            await bot.neighbours.neighbourhood(work, "related", 0)  # never fetched
        with pytest.raises(UpstreamError, match="unavailable"):
            await bot.neighbours.neighbourhood(work, "cited-by")


# -- rendering -----------------------------------------------------------------------------


def _item(**values) -> Neighbour:
    base = dict(
        title="Pharmacokinetics, biodistribution and cell uptake of antisense oligonucleotides",
        doi="10.1016/j.addr.2015.01.008",
        openalex_id=ADDR,
        year=2015,
        first_author="Geary",
        authors=4,
        venue="Advanced Drug Delivery Reviews",
        cited_by_count=750,
    )
    return Neighbour(**{**base, **values})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {},
            "**11.** Geary et al., 2015 · *Pharmacokinetics, biodistribution and cell uptake of "
            "antisense oligonucleotides* · Advanced Drug Delivery Reviews · "
            "[doi](https://doi.org/10.1016/j.addr.2015.01.008) · 750 citations",
        ),
        (
            {"authors": 1, "year": None, "venue": None, "cited_by_count": 0},
            "**11.** Geary · *Pharmacokinetics, biodistribution and cell uptake of antisense "
            "oligonucleotides* · [doi](https://doi.org/10.1016/j.addr.2015.01.008)",
        ),
        (  # upstream text is escaped; the DOI link goes through the URL policy
            {
                "title": "**Bold** [x](https://evil.example) @everyone",
                "first_author": "<@1>",
                "doi": "10.1002/(sici)1097-0258(19980815/30)17:15/16<1661::aid-sim968>3.0.co;2-2",
                "venue": "_J_",
            },
            "**11.** \\<@1> et al., 2015 · *\\*\\*Bold\\*\\* \\[x\\](https\\://evil.example) "
            "@\u200beveryone* · \\_J\\_ · [doi](https://doi.org/10.1002/%28sici%291097-0258"
            "%2819980815/30%2917:15/16%3C1661::aid-sim968%3E3.0.co;2-2) · 750 citations",
        ),
        (
            {"found": False, "title": "", "doi": None, "openalex_id": "W1"},
            "**11.** *OpenAlex lists [W1](https://openalex.org/W1) but returned no record for it.*",
        ),
    ],
)
def test_an_entry_line_names_author_year_title_venue_and_doi(values, expected):
    assert neighbour_line(11, _item(**values)) == expected


def test_ten_worst_case_entries_and_every_note_fit_discords_limits():
    item = _item(
        title="*_`[" * 400,
        first_author="@everyone " * 40,
        venue="~|" * 300,
        doi="10.1234/" + "x" * 400,
    )
    hood = Neighbourhood(
        "references",
        998,
        tuple([item] * 9 + [_item(found=False, openalex_id="W" + "1" * 30)]),
        10_000_000,
        99_999_999,
        "2026-11-24T00:00:00+00:00",
        ("OpenAlex did not answer; showing the list fetched 2026-11-24T00:00.",),
    )
    embed = render_neighbourhood(Work(doi="10.1/x", title="T" * 300), hood).to_dict()
    payload = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    assert message_problems(payload) == []
    numbers = re.findall(r"^\*\*([\d,]+)\.\*\*", embed["description"], re.M)
    assert numbers == [f"{n:,}" for n in range(9981, 9991)]  # every entry whole
    assert "Showing 9,981–9,990 of 10,000,000 references" in embed["footer"]["text"]
    assert "OpenAlex pages only the first 10,000 of them." in embed["description"]


# -- on Discord (in process): the buttons --------------------------------------------------


def page_buttons(payload) -> list[dict]:
    return [c for row in payload.get("components") or [] for c in row["components"]]


async def test_references_page_forward_and_back_only_for_the_member_who_opened_them(
    mock, tmp_path, fixtures_dir, recorded
):
    mock.add("openalex", ELIFE, citing_record(fixtures_dir, "elife-01567", [*recorded]))
    async with litbot(tmp_path, mock) as bot:
        await bot.add_cog(PaperCog(bot))
        bot.add_dynamic_items(*DYNAMIC_ITEMS)
        card = (await invoke(bot, slash_payload("paper", query=ELIFE)))[-1].payload
        calls = await invoke(
            bot, component_payload(f"lit:refs:{ELIFE}", components=card["components"])
        )
        assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == 64
        answer = calls[-1].payload
        assert message_problems(answer) == []
        footer = answer["embeds"][0]["footer"]["text"]
        assert footer.startswith("Showing 1–10 of 23 references · page 1 of 3 · via OpenAlex")
        # the recorded eLife record counts 29 references; the synthetic list holds 23
        assert "OpenAlex counts 29 references but lists 23." in answer["embeds"][0]["description"]
        user = USER["id"]
        back, forward = page_buttons(answer)
        assert (back["label"], back["disabled"]) == ("◀ Previous", True)
        assert (forward["label"], forward.get("disabled", False)) == ("Next ▶", False)
        assert forward["custom_id"] == f"lit:nb:r:1:{user}:{ELIFE}"

        shown = []
        for custom_id, first in ((forward["custom_id"], 11), (f"lit:nb:r:2:{user}:{ELIFE}", 21)):
            calls = await invoke(bot, component_payload(custom_id, components=answer["components"]))
            assert calls[0].callback_type == 6  # acknowledged before OpenAlex is asked
            assert calls[-1].method == "PATCH" and "@original" in calls[-1].path
            answer = calls[-1].payload
            assert message_problems(answer) == []
            description = answer["embeds"][0]["description"]
            numbers = [int(n) for n in re.findall(r"^\*\*(\d+)\.\*\*", description, re.M)]
            last = min(first + 9, 23)
            assert numbers == list(range(first, last + 1))
            assert (
                f"Showing {first}–{last} of 23 references" in answer["embeds"][0]["footer"]["text"]
            )
            shown.append(answer)
        back, forward = page_buttons(shown[-1])
        assert forward["disabled"] and back["custom_id"] == f"lit:nb:r:1:{user}:{ELIFE}"

        # someone else's click: said why, nothing edited
        calls = await invoke(
            bot,
            component_payload(back["custom_id"], user=OTHER_USER, components=answer["components"]),
        )
        assert [c.callback_type for c in calls] == [4]
        assert calls[0].payload["data"]["flags"] == 64
        assert "belong to whoever opened this list" in calls[0].payload["data"]["content"]


@pytest.mark.parametrize(
    "custom_id",
    [
        f"lit:nb:r:7:{USER['id']}:{ELIFE}",  # in range for OpenAlex, not for this list
        f"lit:nb:r:99999:{USER['id']}:{ELIFE}",  # past any list
        f"lit:nb:r:1:{'9' * 30}:{ELIFE}",  # a member id no one can have
        f"lit:nb:q:1:{USER['id']}:{ELIFE}",  # no such kind
    ],
)
async def test_a_page_button_that_cannot_be_answers_no_longer_valid(bot, custom_id):
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    calls = await invoke(bot, component_payload(custom_id))
    message = calls[-1].payload.get("content") or calls[-1].payload["data"]["content"]
    assert "no longer valid" in message


async def test_a_long_doi_gets_a_short_handle_that_survives_in_the_page_ids(bot, recorded):
    work = replace(await elife(bot), referenced=tuple(recorded))
    user = int("9" * 19)
    long_doi = "10.1234/" + "x" * 70
    work = replace(work, doi=long_doi)
    await bot.papers.cache.put(work, [], ttl_seconds=60)
    ref = await page_ref(bot, work, long_doi, user)
    assert ref.startswith("h:") and (await bot.papers.by_ref(ref)).doi == long_doi
    hood = await bot.neighbours.neighbourhood(work, "references")
    view = neighbour_view(hood, user, ref)
    assert all(len(item.custom_id) <= 100 for item in view.children)
    assert await page_ref(bot, work, ELIFE, user) == ELIFE


async def test_card_buttons_answer_privately_within_limits(bot):
    await bot.add_cog(PaperCog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    card = (await invoke(bot, slash_payload("paper", query=ELIFE)))[-1].payload
    second_row = [b["custom_id"] for b in card["components"][1]["components"]]
    assert second_row == [
        f"lit:refs:{ELIFE}",
        f"lit:citedby:{ELIFE}",
        f"lit:related:{ELIFE}",
        f"lit:map:{ELIFE}",  # the picture of the same neighbourhood (tests/test_maps.py)
    ]
    for custom_id in second_row[:3]:
        calls = await invoke(bot, component_payload(custom_id, components=card["components"]))
        assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == 64
        answer = calls[-1].payload
        assert message_problems(answer) == []
        embed = answer["embeds"][0]
        assert "via OpenAlex" in embed["footer"]["text"]
        assert embed["title"].split(":")[0] in ("References", "Cited by", "Related works")
