"""/bib through the real CommandTree: scoping across servers and DMs, buttons, files."""

from __future__ import annotations

import pytest

from bot.ui.components import DYNAMIC_ITEMS
from cogs.bib import BibCog, DeleteButton, PageButton
from cogs.paper import PaperCog
from tests.discord_harness import (
    ALL_PERMISSIONS,
    MANAGE_GUILD,
    RestRecorder,
    component_payload,
    invoke,
    slash_payload,
)
from tests.discord_limits import message_problems
from tests.world import litbot, seeded

SEED = "10.1186/s12943-023-01737-7"
EPHEMERAL = 64
OTHER_GUILD = "900000000000000999"
MEMBER = ALL_PERMISSIONS & ~MANAGE_GUILD
BOB = {
    "id": "900000000000000301",
    "username": "bob",
    "discriminator": "0",
    "global_name": "Bob",
    "avatar": None,
    "public_flags": 0,
}


@pytest.fixture
async def env(fixtures_dir, tmp_path):
    async with litbot(tmp_path, seeded(fixtures_dir)) as bot:
        await bot.add_cog(PaperCog(bot))
        await bot.add_cog(BibCog(bot))
        bot.add_dynamic_items(*DYNAMIC_ITEMS, PageButton, DeleteButton)
        bot.http.request = RestRecorder()  # type: ignore[method-assign]
        cdn: dict[str, bytes] = {}

        async def get_from_cdn(url: str) -> bytes:
            return cdn[url]

        bot.http.get_from_cdn = get_from_cdn  # type: ignore[method-assign]
        bot.cdn = cdn  # type: ignore[attr-defined]
        yield bot


def bib(subcommand: str, /, **kwargs):
    return slash_payload("bib", subcommand=subcommand, **kwargs)


def answer(calls):
    payload = calls[-1].payload
    if "data" in payload and calls[-1].callback_type in (4, 7):
        payload = payload["data"]
    assert message_problems(payload) == []
    return payload


async def upload(bot, filename: str, body: bytes, **kwargs):
    bot.cdn[f"https://cdn.test/{filename}"] = body
    return await invoke(bot, bib("import", attachments={"file": (filename, len(body))}, **kwargs))


async def test_add_then_list_in_a_server_and_nothing_leaks_to_another_server_or_dms(env):
    bot = env
    await invoke(bot, bib("create", name="secret-club", channel_default=True))
    added = await invoke(bot, bib("add", query=SEED, note="for Friday", tags="nk"))
    assert added[0].callback_type == 5
    assert "Added to **secret-club**" in answer(added)["content"]

    listed = answer(await invoke(bot, bib("list")))
    assert "Zhou et al. (2023)" in listed["embeds"][0]["description"]

    other = answer(await invoke(bot, bib("list", guild_id=OTHER_GUILD)))
    assert "Zhou" not in str(other["embeds"]) and "Empty" in other["embeds"][0]["description"]
    dm = answer(await invoke(bot, bib("list", dm=True)))
    assert "Zhou" not in str(dm["embeds"])

    for where in ({"guild_id": OTHER_GUILD}, {"dm": True}):
        names = await invoke(bot, bib("list", bibliography="", focused="bibliography", **where))
        assert "secret-club" not in [c["value"] for c in names[0].payload["data"]["choices"]]
        tags = await invoke(bot, bib("list", tag="", focused="tag", **where))
        assert tags[0].payload["data"]["choices"] == []
        shown = await invoke(bot, bib("show", query=SEED, bibliography="secret-club", **where))
        assert shown[0].payload["data"]["flags"] == EPHEMERAL
        assert "no bibliography called" in shown[0].payload["data"]["content"]
    tags = await invoke(bot, bib("list", tag="", focused="tag"))
    assert [c["value"] for c in tags[0].payload["data"]["choices"]] == ["nk"]


async def test_list_pages_with_buttons_only_for_who_asked(env):
    bot = env
    lines = "\n".join(f"@article{{k{i}, title={{Paper {i:02d}}}, year=2000}}" for i in range(11))
    answer(await upload(bot, "list.bib", lines.encode()))
    first = answer(await invoke(bot, bib("list", sort="title")))
    assert first["embeds"][0]["footer"]["text"].startswith("Page 1 of 2 · 11 entries")
    prev, nxt = first["components"][0]["components"]
    assert prev["disabled"] and not nxt.get("disabled")

    refused = await invoke(
        bot, component_payload(nxt["custom_id"], user=BOB, components=first["components"])
    )
    assert refused[0].callback_type == 4 and refused[0].payload["data"]["flags"] == EPHEMERAL

    second = await invoke(bot, component_payload(nxt["custom_id"], components=first["components"]))
    assert second[0].callback_type == 7  # UPDATE_MESSAGE
    page = second[0].payload["data"]
    assert page["embeds"][0]["footer"]["text"].startswith("Page 2 of 2 · 11 entries")
    assert "Paper 10" in page["embeds"][0]["description"]
    assert page["components"][0]["components"][1]["disabled"]

    # the same button pressed from another server sees nothing of this one
    elsewhere = await invoke(
        bot,
        component_payload(nxt["custom_id"], guild_id=OTHER_GUILD, components=first["components"]),
    )
    assert "no longer exists" in answer(elsewhere)["content"]


async def test_remove_own_entries_only_unless_manage_server(env):
    bot = env
    await invoke(bot, bib("add", query=SEED, user=BOB, permissions=MEMBER))
    denied = await invoke(bot, bib("remove", query=SEED, permissions=MEMBER))
    assert denied[0].payload["data"]["flags"] == EPHEMERAL
    assert "Manage Server" in denied[0].payload["data"]["content"]
    done = await invoke(bot, bib("remove", query=SEED))  # ALL permissions: a manager
    assert done[0].callback_type == 4 and "Removed" in done[0].payload["data"]["content"]


async def test_delete_asks_for_confirmation_from_a_manager(env):
    bot = env
    denied = await invoke(bot, bib("create", name="club", permissions=MEMBER))
    assert "Manage Server" in denied[0].payload["data"]["content"]
    created = await invoke(bot, bib("create", name="club", channel_default=True))
    assert "channel's default" in created[0].payload["data"]["content"]
    await invoke(bot, bib("add", query=SEED))
    asked = answer(await invoke(bot, bib("delete", bibliography="club")))
    assert asked["flags"] == EPHEMERAL and "1 entry" in asked["content"]
    confirm, cancel = asked["components"][0]["components"]
    kept = await invoke(bot, component_payload(cancel["custom_id"], components=asked["components"]))
    assert kept[0].callback_type == 7 and "Kept" in kept[0].payload["data"]["content"]
    gone = await invoke(
        bot, component_payload(confirm["custom_id"], components=asked["components"])
    )
    assert "Deleted, with its 1 entry" in gone[0].payload["data"]["content"]
    listing = answer(await invoke(bot, bib("bibliographies")))
    assert "club" not in listing["content"]


async def test_import_report_and_export_files(env):
    bot = env
    from pathlib import Path

    data = (Path(__file__).parent / "data" / "malformed.bib").read_bytes()
    calls = await upload(bot, "malformed.bib", data)
    report = answer(calls)
    assert "2 added, 0 already there, 2 failed" in report["content"]
    assert "line 8" in report["content"]
    name, body = calls[-1].files[0]
    assert name == "import-report.txt" and b"line 13" in body

    wrong = await upload(bot, "paper.pdf", b"%PDF")
    assert wrong[0].callback_type == 4 and wrong[0].payload["data"]["flags"] == EPHEMERAL

    exported = await invoke(bot, bib("export", format="bibtex"))
    assert exported[0].payload["data"]["flags"] == EPHEMERAL
    name, body = exported[-1].files[0]
    assert name == "general.bib" and body.count(b"@article{") == 2
    styled = await invoke(bot, bib("export", format="apa", markdown=True))
    assert styled[-1].files[0][0] == "general.md"
    unknown = await invoke(bot, bib("export", format="no-such-style"))
    assert len(unknown) == 1 and "Unknown citation style" in unknown[0].payload["data"]["content"]


async def test_card_save_button_uses_the_personal_bibliography_in_dms(env):
    bot = env
    calls = await invoke(bot, component_payload(f"lit:save:{SEED}", dm=True))
    assert calls[0].callback_type == 5 and "Saved to **personal**" in answer(calls)["content"]
    again = await invoke(bot, component_payload(f"lit:save:{SEED}", dm=True))
    assert "Already in **personal**" in answer(again)["content"]
    dm = answer(await invoke(bot, bib("list", dm=True)))
    assert "Zhou et al." in dm["embeds"][0]["description"]


async def test_card_save_button_asks_which_when_the_channel_has_no_default(env):
    bot = env
    await invoke(bot, bib("create", name="club"))
    await invoke(bot, bib("create", name="methods"))
    asked = answer(await invoke(bot, component_payload(f"lit:save:{SEED}")))
    select = asked["components"][0]["components"][0]
    assert {o["label"] for o in select["options"]} == {"club", "methods"}
    methods = next(o["value"] for o in select["options"] if o["label"] == "methods")
    saved = await invoke(
        bot,
        component_payload(select["custom_id"], values=[methods], components=asked["components"]),
    )
    assert "Saved to **methods**" in saved[-1].payload["content"]
    # a forged bibliography id from another server is refused
    forged = await invoke(
        bot,
        component_payload(
            select["custom_id"],
            values=[methods],
            guild_id=OTHER_GUILD,
            components=asked["components"],
        ),
    )
    assert "no longer exists" in answer(forged)["content"]


HUGE = str(2**63)  # one past SQLite's largest integer
STALE = "This button or menu is no longer valid; run the command again."


@pytest.mark.parametrize(
    "custom_id",
    [
        f"lit:bp:{HUGE}:0:a:900000000000000300:",
        f"lit:bp:1:{HUGE}:a:900000000000000300:",
        "lit:bp:1:99999999999:a:900000000000000300:",  # a page no bibliography has
        f"lit:bp:1:0:a:{HUGE}:",
        f"lit:bp:{'9' * 80}:0:a:900000000000000300:",
        f"lit:bibdel:{HUGE}:900000000000000300:y",
        f"lit:bibdel:1:{'9' * 90}:n",
    ],
)
async def test_buttons_with_numbers_nothing_can_have_say_they_are_stale(env, custom_id):
    calls = await invoke(env, component_payload(custom_id))
    assert len(calls) == 1 and calls[0].callback_type == 4  # not "Something went wrong"
    assert answer(calls)["content"] == STALE and answer(calls)["flags"] == EPHEMERAL


@pytest.mark.parametrize("value", [HUGE, "-1", "12abc", "９"])
async def test_the_save_to_menu_refuses_values_nothing_can_have(env, value):
    calls = await invoke(env, component_payload(f"lit:saveto:{SEED}", values=[value]))
    assert calls[0].callback_type == 6  # deferred, then a private note
    assert answer(calls)["content"] == STALE and answer(calls)["flags"] == EPHEMERAL


async def test_a_member_importing_too_often_is_told_when_to_try_again_before_any_download(env):
    bot = env
    body = b"@misc{k, title={A title}}"
    for i in range(3):
        assert "Import into “general”" in answer(await upload(bot, f"f{i}.bib", body))["content"]
    downloaded = []
    get_from_cdn = bot.http.get_from_cdn

    async def recording(url: str) -> bytes:
        downloaded.append(url)
        return await get_from_cdn(url)

    bot.http.get_from_cdn = recording  # type: ignore[method-assign]
    refused = await upload(bot, "again.bib", body)
    assert len(refused) == 1 and refused[0].callback_type == 4
    data = refused[0].payload["data"]
    assert data["flags"] == EPHEMERAL and downloaded == []
    assert data["content"].startswith("You can make 3 imports per minute; try again in ")
    other = await upload(bot, "bob.bib", body, user=BOB)  # another member is not held up
    assert "0 added, 1 already there" in answer(other)["content"]
    assert downloaded == ["https://cdn.test/bob.bib"]


async def test_page_buttons_name_the_entry_next_to_their_page_and_old_buttons_still_work(env):
    bot = env
    lines = "\n".join(f"@article{{k{i}, title={{Paper {i:02d}}}, year=2000}}" for i in range(25))
    answer(await upload(bot, "list.bib", lines.encode()))
    first = answer(await invoke(bot, bib("list", sort="title")))
    _, nxt = first["components"][0]["components"]
    assert nxt["custom_id"].rsplit(":", 1)[1].startswith("a")  # ▶: the page after an entry
    second = answer(
        await invoke(bot, component_payload(nxt["custom_id"], components=first["components"]))
    )
    assert "Paper 10" in second["embeds"][0]["description"]
    prev, _ = second["components"][0]["components"]
    assert prev["custom_id"].rsplit(":", 1)[1].startswith("b")  # ◀: the page before one
    back = answer(
        await invoke(bot, component_payload(prev["custom_id"], components=second["components"]))
    )
    assert back["embeds"][0]["footer"]["text"].startswith("Page 1 of 3")
    assert "Paper 00" in back["embeds"][0]["description"]
    # a button made before buttons named entries: its page number still leads there
    legacy = nxt["custom_id"].rsplit(":", 1)[0].replace(":1:t:", ":2:t:")
    row = [{**nxt, "custom_id": legacy}]
    old = [{"type": 1, "components": row}]
    third = answer(await invoke(bot, component_payload(legacy, components=old)))
    assert third["embeds"][0]["footer"]["text"].startswith("Page 3 of 3")
    assert "Paper 24" in third["embeds"][0]["description"]


LOOKALIKE = (
    b"@article{zhou2023nk,\n  title = {{NK} Cells Are Never Alone: Crosstalk and Communication"
    b" in Tumour Microenvironments},\n  author = {Zhou, Yongqi and Cheng, Lu},\n"
    b"  year = {2023},\n}\n"
)


async def test_look_alikes_get_merge_buttons_that_only_their_importer_or_a_manager_may_use(env):
    """An import that finds a look-alike of a saved entry says so and offers Merge / Keep
    both; a member who did not import it is refused, the importer merges."""
    from bot.ui.merges import MergeButton

    bot = env
    bot.add_dynamic_items(MergeButton)
    await invoke(bot, bib("add", query=SEED, tags="nk"))
    imported = answer(await upload(bot, "lab.bib", LOOKALIKE, user=BOB, permissions=MEMBER))
    assert "1 possible duplicates" in imported["content"]
    row = imported["components"][0]["components"]
    assert [b["label"] for b in row] == ["Merge into one entry", "Keep both"]
    merge = row[0]["custom_id"]
    refused = answer(await invoke(bot, component_payload(merge, permissions=MEMBER)))
    assert "Only who saved these entries" in refused["content"]
    merged = answer(await invoke(bot, component_payload(merge, user=BOB, permissions=MEMBER)))
    assert merged["flags"] == EPHEMERAL and "Merged 1 in **general**" in merged["content"]
    listing = answer(await invoke(bot, bib("list")))
    assert "1 entr" in listing["embeds"][0]["footer"]["text"]
    again = answer(await invoke(bot, component_payload(merge, user=BOB, permissions=MEMBER)))
    assert "no longer there" in again["content"]


async def test_saving_a_look_alike_from_the_card_offers_the_merge(env):
    from bot.ui.merges import MergeButton

    bot = env
    bot.add_dynamic_items(MergeButton)
    await upload(bot, "lab.bib", LOOKALIKE)
    saved = answer(await invoke(bot, component_payload(f"lit:save:{SEED}")))
    assert "It looks like `zhou2023nk` there" in saved["content"]
    keep = saved["components"][0]["components"][1]["custom_id"]
    kept = answer(await invoke(bot, component_payload(keep)))
    assert "Kept apart" in kept["content"]


async def test_bib_duplicates_lists_for_members_and_merges_for_managers(env):
    from bot.ui.merges import MergeButton

    bot = env
    bot.add_dynamic_items(MergeButton)
    await invoke(bot, bib("add", query=SEED))
    await upload(bot, "lab.bib", LOOKALIKE)  # offered at import; the scan lists it again
    found = answer(await invoke(bot, bib("duplicates", permissions=MEMBER)))
    assert "1 pair(s) in **general** look like one paper" in found["content"]
    assert "`zhou2023nk` ↔ `zhou2023nka`" in found["content"]
    merge = found["components"][0]["components"][0]["custom_id"]
    refused = answer(await invoke(bot, component_payload(merge, permissions=MEMBER)))
    assert "Manage Server" in refused["content"]
    merged = answer(await invoke(bot, component_payload(merge)))  # ALL_PERMISSIONS: a manager
    assert "Merged 1" in merged["content"]
    none = answer(await invoke(bot, bib("duplicates")))
    assert none["content"] == "No duplicates in **general**." and not none.get("components")
