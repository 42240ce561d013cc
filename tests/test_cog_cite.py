"""/cite, /settings style and the card's Cite / Send-to-DMs buttons, through the real tree."""

from __future__ import annotations

import json

import pytest

from bot.citations import resolve_style
from bot.ui.components import DYNAMIC_ITEMS
from cogs.cite import CiteCog
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
APA_SEED = (
    "Zhou, Y., Lu, C., Liu, L., & Li, X. (2023). NK cells are never alone: crosstalk and "
    "communication in tumour microenvironments. *Molecular Cancer*, *22*(1), 34. "
    "https://doi.org/10.1186/s12943-023-01737-7"
)
OTHER_USER = {
    "id": "900000000000000301",
    "username": "bob",
    "discriminator": "0",
    "global_name": "Bob",
    "avatar": None,
    "public_flags": 0,
}


@pytest.fixture
async def env(fixtures_dir, tmp_path):
    mock = seeded(fixtures_dir)
    async with litbot(tmp_path, mock) as bot:
        await bot.add_cog(PaperCog(bot))
        await bot.add_cog(CiteCog(bot))
        bot.add_dynamic_items(*DYNAMIC_ITEMS)
        bot.http.request = RestRecorder()  # type: ignore[method-assign]
        yield bot, mock


def final(calls):
    answer = calls[-1].payload
    assert message_problems(answer) == []
    return answer


async def test_cite_in_a_guild_defers_then_answers_in_apa(env):
    bot, _ = env
    calls = await invoke(bot, slash_payload("cite", query=SEED))
    assert calls[0].callback_type == 5 and not calls[0].payload.get("data", {}).get("flags")
    content = final(calls)["content"]
    assert content.splitlines()[0] == APA_SEED
    assert content.splitlines()[-1] == "-# APA Style 7th edition"
    assert "<" not in content and "&amp;" not in content


async def test_cite_in_a_dm_with_a_style_and_privately(env):
    bot, _ = env
    calls = await invoke(
        bot, slash_payload("cite", dm=True, query=SEED, style="bibtex", private=True)
    )
    assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == EPHEMERAL
    answer = final(calls)
    assert answer["flags"] & EPHEMERAL
    assert answer["content"].startswith("```bibtex\n@article{zhou2023nk,")


async def test_unknown_style_is_refused_before_any_lookup_with_close_matches(env):
    bot, mock = env
    calls = await invoke(bot, slash_payload("cite", query=SEED, style="vancuver"))
    assert len(calls) == 1 and calls[0].callback_type == 4
    data = calls[0].payload["data"]
    assert data["flags"] == EPHEMERAL
    assert "vancuver" in data["content"] and "vancouver" in data["content"]
    assert sum(mock.calls.values()) == 0


async def test_long_output_goes_as_a_file(env):
    bot, _ = env
    calls = await invoke(bot, slash_payload("cite", query=SEED, style="csl-json"))
    answer = final(calls)
    if calls[-1].files:  # CSL-JSON of the seed may fit; RIS+abstract style outputs do not
        name, body = calls[-1].files[0]
        assert name.endswith(".json") and json.loads(body)[0]["DOI"] == SEED
    else:
        assert json.loads(answer["content"].split("\n", 1)[1].rsplit("```", 1)[0])[0]["DOI"] == SEED


async def test_autocomplete_offers_at_most_25_styles_common_first(env):
    bot, _ = env
    calls = await invoke(bot, slash_payload("cite", query=SEED, style="", focused="style"))
    choices = calls[0].payload["data"]["choices"]
    assert calls[0].callback_type == 8 and 0 < len(choices) <= 25
    assert choices[0]["value"] == "apa"
    calls = await invoke(bot, slash_payload("cite", query=SEED, style="vanc", focused="style"))
    values = [c["value"] for c in calls[0].payload["data"]["choices"]]
    assert values[0] == resolve_style("vancouver") and len(values) <= 25
    assert sum("vancouver" in v for v in values) >= 3
    calls = await invoke(bot, slash_payload("cite", query=SEED, style="bib", focused="style"))
    assert calls[0].payload["data"]["choices"][0]["value"] == "bibtex"


async def test_settings_style_needs_manage_server_and_sets_the_guild_default(env):
    bot, _ = env
    denied = await invoke(
        bot,
        slash_payload(
            "settings",
            subcommand="style",
            style="ieee",
            permissions=ALL_PERMISSIONS & ~MANAGE_GUILD,
        ),
    )
    assert denied[0].payload["data"]["flags"] == EPHEMERAL
    assert "Manage Server" in denied[0].payload["data"]["content"]

    calls = await invoke(bot, slash_payload("settings", subcommand="style", style="ieee"))
    assert "IEEE" in calls[0].payload["data"]["content"]
    cited = final(await invoke(bot, slash_payload("cite", query=SEED)))["content"]
    assert cited.startswith("[1]") and "Zhou" in cited

    # another server, and DMs, keep APA
    elsewhere = final(
        await invoke(bot, slash_payload("cite", query=SEED, guild_id="900000000000000999"))
    )
    assert elsewhere["content"].startswith("Zhou, Y.")
    in_dm = final(await invoke(bot, slash_payload("cite", dm=True, query=SEED)))
    assert in_dm["content"].startswith("Zhou, Y.")


async def test_settings_style_in_dms_is_personal(env):
    bot, _ = env
    await invoke(bot, slash_payload("settings", dm=True, subcommand="style", style="nature"))
    mine = final(await invoke(bot, slash_payload("cite", dm=True, query=SEED)))["content"]
    assert mine.startswith(r"1\. Zhou, Y., Lu, C., Liu, L. & Li, X.")  # Nature, list-escaped
    theirs = final(await invoke(bot, slash_payload("cite", dm=True, query=SEED, user=OTHER_USER)))
    assert theirs["content"].startswith("Zhou, Y., Lu, C.")


async def test_card_cite_button_answers_privately_with_a_style_picker(env):
    bot, _ = env
    await invoke(bot, slash_payload("paper", query=SEED))
    calls = await invoke(bot, component_payload(f"lit:cite:{SEED}"))
    assert calls[0].callback_type == 5 and calls[0].payload["data"]["flags"] == EPHEMERAL
    answer = final(calls)
    assert answer["content"].startswith("Zhou, Y., Lu, C.")
    select = answer["components"][0]["components"][0]
    assert select["custom_id"] == f"lit:style:{SEED}"
    assert {o["value"] for o in select["options"]} >= {"apa", "vancouver", "bibtex"}

    picked = await invoke(
        bot,
        component_payload(f"lit:style:{SEED}", values=["bibtex"], components=answer["components"]),
    )
    assert picked[0].callback_type == 6  # DEFERRED_UPDATE_MESSAGE
    assert picked[-1].method == "PATCH" and "@original" in picked[-1].path
    assert picked[-1].payload["content"].startswith("```bibtex\n@article{zhou2023nk,")


async def test_send_to_dms_button_dms_the_card_and_citation(env):
    bot, _ = env
    calls = await invoke(bot, component_payload(f"lit:dm:{SEED}"))
    rest = bot.http.request.calls
    assert [c.path for c in rest] == ["/users/@me/channels", "/channels/{channel_id}/messages"]
    dm = rest[1].payload
    assert dm["content"].startswith("Zhou, Y., Lu, C.") and dm["embeds"][0]["title"].startswith(
        "NK cells"
    )
    assert dm["allowed_mentions"]["parse"] == []
    assert "Sent to your DMs" in final(calls)["content"]


async def test_send_to_dms_with_closed_dms_says_so(env):
    bot, _ = env
    bot.http.request.dms_closed = True
    calls = await invoke(bot, component_payload(f"lit:dm:{SEED}"))
    answer = final(calls)
    assert answer["flags"] & EPHEMERAL and "DMs are closed" in answer["content"]


async def test_button_for_an_unknown_handle_gets_a_short_message(env):
    bot, _ = env
    calls = await invoke(bot, component_payload("lit:cite:h:00000000000000000000"))
    answer = final(calls)
    assert answer["flags"] & EPHEMERAL and "too old" in answer["content"]


def test_long_citations_become_a_file_and_code_fences_cannot_break_out():
    from bot.citing import Formatted
    from bot.ui.components import citation_message

    long = Formatted("x" * 2500, "apa", "APA Style 7th edition", "md", None)
    content, file = citation_message(long, "zhou2023nk")
    assert file is not None and file.filename == "zhou2023nk.md" and len(content) < 200
    assert file.fp.read() == b"x" * 2500
    fenced = Formatted("@misc{a, title={```@everyone```}}", "bibtex", "BibTeX", "bib", "bibtex")
    content, file = citation_message(fenced, "a")
    assert file is None and content.count("```") == 2  # only the block's own fences
    weird = Formatted("y" * 2500, "ris", "RIS", "ris", "")
    _, file = citation_message(weird, "../../etc/passwd")
    assert file is not None and "/" not in file.filename and file.filename.endswith(".ris")


async def test_picking_an_alias_in_the_style_select_formats_and_labels_the_real_style(env):
    bot, _ = env
    asked = final(await invoke(bot, component_payload(f"lit:cite:{SEED}")))
    picked = await invoke(
        bot,
        component_payload(
            f"lit:style:{SEED}", values=["vancouver"], components=asked["components"]
        ),
    )
    content = picked[-1].payload["content"]
    assert content.startswith(r"1\. Zhou Y, Lu C, Liu L, Li X.")
    assert content.splitlines()[-1] == f"-# {resolve_style_title('vancouver')}"
    options = picked[-1].payload["components"][0]["components"][0]["options"]
    assert [o["value"] for o in options if o.get("default")] == ["vancouver"]
    assert len(options) == len({o["value"] for o in options})  # not listed twice


def resolve_style_title(name: str) -> str:
    from bot.citations import style_title

    return style_title(resolve_style(name))


# --- retractions, saved keys, autocomplete off the loop ----------------------------------------


def retracted_seed(mock) -> None:
    """The seed paper's Crossref record with a retraction notice (apis.md §2.4's shape)."""
    from tests.conftest import SYNTHETIC

    body = json.loads((SYNTHETIC / "crossref-seed.json").read_text(encoding="utf-8"))
    body["message"]["updated-by"] = [
        {
            "DOI": "10.1234/retraction-notice",
            "type": "retraction",
            "label": "Retraction",
            "source": "retraction-watch",
            "updated": {"date-parts": [[2024, 1, 2]]},
        }
    ]
    mock.add("crossref", SEED, json.dumps(body))


WARNING = "⚠️ **This work has been retracted** (via Crossref): check before citing it."
NOTICE = "[Retraction notice](https://doi.org/10.1234/retraction-notice)"


@pytest.mark.parametrize("style", [None, "bibtex"])
async def test_cite_warns_above_the_citation_of_a_retracted_work(env, style):
    bot, mock = env
    retracted_seed(mock)
    options = {"style": style} if style else {}
    content = final(await invoke(bot, slash_payload("cite", query=SEED, **options)))["content"]
    first, second = content.split("\n", 2)[:2]
    assert first == f"{WARNING} {NOTICE}"
    assert second.startswith("```bibtex" if style else "Zhou, Y., Lu, C.")


async def test_the_cards_cite_button_warns_of_a_retraction_too(env):
    bot, mock = env
    retracted_seed(mock)
    await invoke(bot, slash_payload("paper", query=SEED))
    asked = final(await invoke(bot, component_payload(f"lit:cite:{SEED}")))
    assert asked["content"].startswith(f"{WARNING} {NOTICE}\nZhou, Y.")
    picked = await invoke(
        bot, component_payload(f"lit:style:{SEED}", values=["ieee"], components=asked["components"])
    )
    assert picked[-1].payload["content"].startswith(f"{WARNING} {NOTICE}\n")


def test_a_long_citation_of_a_retracted_work_keeps_the_warning_above_its_file():
    from bot.citing import Formatted
    from bot.ui.components import citation_message

    long = Formatted("x" * 2500, "apa", "APA Style 7th edition", "md", None)
    content, file = citation_message(long, "zhou2023nk", warning=WARNING)
    assert file is not None and content.startswith(WARNING + "\n") and len(content) <= 2000
    short = Formatted("x" * (2000 - len(WARNING) - 10), "apa", "APA", "md", None)
    content, file = citation_message(short, "k", warning=WARNING)
    assert len(content) <= 2000 and (file is None or content.startswith(WARNING))


async def test_cite_bibtex_of_a_saved_entry_keeps_the_key_it_was_imported_with(env):
    from bot.bibliographies import Actor
    from tests.discord_harness import CHANNEL_ID, GUILD_ID, USER

    bot, _ = env
    lab = Actor.in_guild(int(GUILD_ID), int(USER["id"]), int(CHANNEL_ID), can_manage=True)
    entry = f"@article{{Zhou:NK2023, title={{NK cells are never alone}}, author={{Zhou, Y.}}, year={{2023}}, doi={{{SEED}}}}}"
    report = await bot.bibs.import_file(lab, "thesis.bib", entry.encode())
    assert len(report.added) == 1
    here = final(await invoke(bot, slash_payload("cite", query=SEED, style="bibtex")))
    assert here["content"].startswith("```bibtex\n@article{Zhou:NK2023,")
    # another server has not saved it: a key of its own
    elsewhere = final(
        await invoke(
            bot, slash_payload("cite", query=SEED, style="bibtex", guild_id="900000000000000999")
        )
    )
    assert elsewhere["content"].startswith("```bibtex\n@article{zhou2023nk,")


async def test_autocomplete_searches_off_the_event_loop_and_offers_no_lookalikes(env, monkeypatch):
    import threading

    from bot import styles

    bot, _ = env
    threads = []
    search = styles.search_styles

    def spy(query, limit=25):
        threads.append(threading.get_ident())
        return search(query, limit)

    monkeypatch.setattr(styles, "search_styles", spy)
    calls = await invoke(bot, slash_payload("cite", query=SEED, style="vanc", focused="style"))
    values = [c["value"] for c in calls[0].payload["data"]["choices"]]
    assert values[0] == "nlm-citation-sequence" and "advanced-science" not in values
    assert threads and threading.get_ident() not in threads
