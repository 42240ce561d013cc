"""The neighbourhood map: data from recorded OpenAlex lists, drawn by matplotlib in a worker.

The recorded works do not cite one another, so the lists are synthetic and made of recorded
records only (``tests/synthetic/neighbours.py``): eLife 01567 referencing recorded works, and
recorded works, in the recorded list envelope, citing it and some of those references (so the
map has edges between neighbours, as a real neighbourhood has clusters).
"""

from __future__ import annotations

import io
import struct
from dataclasses import replace

import pytest

from bot.identifiers import parse_identifier
from bot.maps import layout, map_legend, render_map_png
from bot.neighbours import MAP_REFERENCES, NoNeighbourhood
from bot.ui.components import DYNAMIC_ITEMS
from bot.workers import Workers
from cogs.paper import PaperCog
from tests.discord_harness import component_payload, invoke
from tests.discord_limits import message_problems
from tests.synthetic.neighbours import citing_record, list_envelope, recorded_works, short_id
from tests.upstream_mock import Canned, MockUpstreams
from tests.world import litbot

ELIFE = "10.7554/elife.01567"
ELIFE_ID = "W2121398592"
OPENALEX = "https://openalex.org/"


@pytest.fixture
def records(fixtures_dir):
    return [r for r in recorded_works(fixtures_dir) if short_id(r) != ELIFE_ID]


@pytest.fixture
async def hood(fixtures_dir, tmp_path, records):
    """eLife 01567 citing the first 12 recorded works, with three related ones, and five
    recorded works (most cited first) citing it and two of its references."""
    mock = MockUpstreams(fixtures_dir)
    refs = [short_id(r) for r in records[:12]]
    mock.add("openalex", ELIFE, citing_record(fixtures_dir, "elife-01567", refs))
    citing = sorted(records[12:17], key=lambda r: -(r.get("cited_by_count") or 0))
    citing = [
        {**r, "referenced_works": [OPENALEX + ELIFE_ID, OPENALEX + refs[0], OPENALEX + refs[1]]}
        for r in citing
    ]
    async with litbot(tmp_path, mock) as bot:
        work = await bot.papers.lookup(parse_identifier(ELIFE), settled=True)
        work = replace(work, related=tuple(short_id(r) for r in records[17:20]))
        # the batch of references and related works answers as recorded; then the citing list
        mock.fail(
            "openalex",
            "ok",
            Canned(200, list_envelope(fixtures_dir, citing, count=45, page=1, per_page=10)),
        )
        yield bot, work, refs, citing, mock


async def test_map_data_from_the_reference_lists(hood):
    bot, work, refs, citing, _ = hood
    data = await bot.neighbours.neighbour_map(work)
    roles = {role: [n.key for n in data.of(role)] for role in ("reference", "citing", "related")}
    assert data.seed.key == ELIFE_ID and data.nodes[0] is data.seed
    assert roles["reference"] == refs[:MAP_REFERENCES]
    assert roles["citing"] == [short_id(r) for r in citing]
    assert len(roles["related"]) == 3
    edges = set(data.edges)
    assert {(ELIFE_ID, r) for r in refs} <= edges  # the work cites its references
    assert {(c, ELIFE_ID) for c in roles["citing"]} <= edges  # citing works cite it
    assert {(c, refs[0]) for c in roles["citing"]} <= edges  # and, here, two references too
    assert data.listed == {"reference": 12, "citing": 45, "related": 3}
    first = data.nodes[1]
    assert first.label.endswith(str(first.year)) and first.cited_by >= 0


async def test_the_map_is_a_png_with_a_legend(hood):
    bot, work, *_ = hood
    data = await bot.neighbours.neighbour_map(work)
    async with Workers(mode="process", interactive=1, bulk=1) as workers:  # as the bot runs it
        png = await workers.run(render_map_png, data)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert (width, height) == (1000, 750)
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200  # nodes, edges, labels and the year scale: not a blank image
    legend = map_legend(data)
    assert legend.startswith("★ ")
    assert "● 12 references" in legend and "■ the 5 most cited of 45 citing works" in legend
    assert "Size: citations; colour: year" in legend and "Most cited: " in legend


def test_layout_is_deterministic_and_keeps_the_work_in_the_middle():
    from bot.neighbours import MapNode, NeighbourMap

    seed = MapNode("W0", "Seed 2020", "t", 2020, 5, "seed")
    nodes = (seed, *(MapNode(f"W{i}", f"A{i}", "t", 2000 + i, i, "reference") for i in range(1, 8)))
    data = NeighbourMap(seed, nodes, tuple(("W0", n.key) for n in nodes[1:]), {}, "now")
    first, second = layout(data), layout(data)
    assert first == second and first["W0"] == (0.0, 0.0)
    assert all(-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0 for x, y in first.values())


async def test_a_work_openalex_does_not_know_has_no_map(hood):
    bot, work, *_ = hood
    with pytest.raises(NoNeighbourhood):
        await bot.neighbours.neighbour_map(replace(work, openalex_id=None))


async def test_the_map_button_answers_privately_with_the_picture(hood):
    bot, *_ = hood
    await bot.add_cog(PaperCog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
    calls = await invoke(bot, component_payload(f"lit:map:{ELIFE}"))
    assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == 64
    answer = calls[-1]
    assert message_problems(answer.payload) == []
    ((name, data),) = answer.files
    assert name == "neighbourhood.png" and data.startswith(b"\x89PNG")
    assert "Size: citations" in answer.payload["content"]
