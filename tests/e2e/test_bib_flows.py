"""/bib through the real ``litbot run`` process: every subcommand, its buttons and selects, file
uploads and downloads, autocomplete, and that one server never sees another's data.

Each test works in a guild of its own (see ``conftest.fake_discord``) and DMs as a user of its
own, so the tests do not depend on their order. Every answer is checked on the callback type
Discord received and on the fields the user sees; the session fixture also fails a test when
Discord refused a request or an unmodelled route (or an unsigned attachment url) was used.
"""

from __future__ import annotations

import json
from pathlib import Path

import bibtexparser
import pytest
import rispy

from tests.e2e.conftest import SEED
from tests.e2e.fake_discord import ALL_PERMISSIONS, EPHEMERAL, MANAGE_GUILD, Answer, Attachment
from tests.e2e.test_flows import SEED_TITLE, private_and_short, public

pytestmark = pytest.mark.asyncio(loop_scope="session")

MESSAGE, DEFERRED, UPDATE_DEFERRED, UPDATE_MESSAGE, AUTOCOMPLETE = 4, 5, 6, 7, 8
MEMBER = ALL_PERMISSIONS & ~MANAGE_GUILD  # a member without Manage Server
DATA = Path(__file__).resolve().parents[1] / "data"
PLOS = "10.1371/journal.pone.0000030"  # used by no other e2e test (works are cached)
PLOS_TITLE = "Triose Phosphate Isomerase Deficiency Is Caused by Altered Dimerization"


def generated_bib(count: int, stem: str) -> bytes:
    """``count`` small entries, titled ``{stem} 00`` … (no DOIs: nothing is looked up)."""
    return "\n\n".join(
        f"@article{{{stem.lower()}{i},\n  author = {{Writer, Ann}},\n"
        f"  title = {{{stem} {i:02d}}},\n  journal = {{J}},\n  year = {{{2000 + i}}},\n}}"
        for i in range(count)
    ).encode()


def refused(answer: Answer, *needles: str) -> str:
    """A refusal answered at once: one ephemeral type-4 callback, nothing deferred."""
    assert answer.callback_types == [MESSAGE], answer
    assert answer.callbacks[0]["data"]["flags"] == EPHEMERAL
    content = private_and_short(answer, limit=600)
    for needle in needles:
        assert needle in content, content
    return content


def refused_after_defer(answer: Answer, *needles: str, ephemeral_defer: bool = False) -> str:
    """A refusal after a defer: the "thinking…" message becomes (or is replaced by) a private
    note; no public message is left behind."""
    assert answer.callback_types == [DEFERRED], answer
    flags = answer.callbacks[0].get("data", {}).get("flags") or 0
    assert flags == (EPHEMERAL if ephemeral_defer else 0)
    content = private_and_short(answer, limit=600)
    for needle in needles:
        assert needle in content, content
    return content


def said(answer: Answer, *, ephemeral: bool = False) -> str:
    """A reply sent at once (type 4), public in a server, private in DMs."""
    assert answer.callback_types == [MESSAGE], answer
    assert (answer.callbacks[0]["data"].get("flags") or 0) == (EPHEMERAL if ephemeral else 0)
    assert answer.message is not None and answer.message.ephemeral == ephemeral
    assert answer.messages == [answer.message]
    return answer.content


def done_after_defer(answer: Answer, *, ephemeral: bool = False) -> str:
    assert answer.callback_types == [DEFERRED], answer
    assert (answer.callbacks[0].get("data", {}).get("flags") or 0) == (
        EPHEMERAL if ephemeral else 0
    )
    assert answer.message is not None and answer.message.ephemeral == ephemeral
    assert len(answer.messages) == 1  # the thinking message became the answer
    return answer.content


def footer(answer: Answer) -> str:
    assert answer.message is not None
    return answer.message.embed["footer"]["text"]


def lines(answer: Answer) -> list[str]:
    assert answer.message is not None
    return answer.message.embed["description"].splitlines()


def values(answer: Answer) -> list[str]:
    assert answer.callback_types == [AUTOCOMPLETE], answer  # in Discord's 3 s (the fake's rule)
    return [c["value"] for c in answer.choices]


def uploaded_id(answer: Answer) -> str:
    (attachment_id,) = answer.interaction["data"]["resolved"]["attachments"]
    return attachment_id


def the_file(answer: Answer) -> tuple[str, bytes]:
    assert answer.message is not None
    (file,) = answer.message.attachments
    return file.filename, file.data


# -- add, show, remove -------------------------------------------------------------------------


async def test_bib_add_then_again_updates_note_and_tags_and_show(discord, seed_card):
    g = "bib-add"
    added = await discord.slash(
        "bib add", guild=g, query=SEED, note="for Friday", tags="nk, review"
    )
    assert done_after_defer(added).startswith(f"Added to **general**: {SEED_TITLE}")
    public(added)

    shown = await discord.slash("bib show", guild=g, query=SEED)
    said(shown)
    embed = shown.message.embed
    assert embed["title"] == SEED_TITLE and embed["url"] == f"https://doi.org/{SEED}"
    assert "Zhou" in embed["description"]
    assert shown.message.field("Note") == "for Friday"
    assert shown.message.field("Tags") == "#nk #review"
    assert shown.message.field("Added").startswith(f"by <@{discord.user('alice')['id']}> on 20")
    assert embed["footer"]["text"] == "In “general”"

    again = await discord.slash(
        "bib add", guild=g, query=f"https://doi.org/{SEED}", note="journal club", tags="#JC"
    )
    assert done_after_defer(again).startswith(
        f"Already in; note and tags updated in **general**: {SEED_TITLE}"
    )
    shown = await discord.slash("bib show", guild=g, query=f"doi:{SEED}")
    assert shown.message.field("Note") == "journal club"
    assert shown.message.field("Tags") == "#jc"

    listed = await discord.slash("bib list", guild=g)
    said(listed)
    assert footer(listed).startswith("Page 1 of 1 · 1 entry")  # updated, not added twice
    assert len(lines(listed)) == 1 and "`#jc`" in lines(listed)[0]
    assert listed.message.components == ()  # one page: no buttons
    by_tag = await discord.slash("bib list", guild=g, tag="#jc")
    assert "Zhou et al. (2023)" in by_tag.message.embed["description"]
    assert by_tag.message.embed["title"] == "📚 general · #jc"
    old_tag = await discord.slash("bib list", guild=g, tag="nk")
    assert old_tag.message.embed["description"] == "*No entries with that tag.*"

    bad = await discord.slash("bib add", guild=g, query=SEED, tags="no/slashes")
    refused_after_defer(bad, "is not a tag")
    missing = await discord.slash("bib show", guild=g, query=PLOS)
    refused(missing, PLOS, "is not in “general”")

    in_dm = await discord.slash("bib add", dm=True, user="nina", query=SEED)
    assert done_after_defer(in_dm, ephemeral=True).startswith("Added to **personal**")
    shown = await discord.slash("bib show", dm=True, user="nina", query=SEED)
    said(shown, ephemeral=True)
    assert shown.message.embed["footer"]["text"] == "In “personal”"


async def test_bib_remove_own_entries_only_unless_manage_server(discord, seed_card):
    g = "bib-remove"
    for query in (SEED, PLOS):
        added = await discord.slash("bib add", guild=g, user="bob", permissions=MEMBER, query=query)
        assert done_after_defer(added).startswith("Added to **general**")

    denied = await discord.slash(
        "bib remove", guild=g, user="carol", permissions=MEMBER, query=SEED
    )
    refused(denied, "You can remove the entries you added", "Manage Server")
    still = await discord.slash("bib list", guild=g)
    assert footer(still).startswith("Page 1 of 1 · 2 entries")

    by_manager = await discord.slash("bib remove", guild=g, user="carol", query=SEED)
    assert said(by_manager) == f"Removed {SEED_TITLE}."
    own = await discord.slash("bib remove", guild=g, user="bob", permissions=MEMBER, query=PLOS)
    assert said(own).startswith(f"Removed {PLOS_TITLE}")

    gone = await discord.slash("bib remove", guild=g, user="bob", permissions=MEMBER, query=SEED)
    refused(gone, "is not in “general”")
    empty = await discord.slash("bib list", guild=g)
    assert footer(empty).startswith("Page 1 of 1 · 0 entries")
    assert empty.message.embed["description"] == "*Empty. Add papers with `/bib add`.*"


# -- list and its buttons ------------------------------------------------------------------------


async def test_bib_list_pages_ten_at_a_time_with_buttons_for_who_asked(discord):
    g = "bib-list"
    imported = await discord.slash(  # by someone else: imports have a per-person cooldown
        "bib import",
        guild=g,
        user="lena",
        file=Attachment("papers.bib", generated_bib(23, "Paper")),
    )
    assert done_after_defer(imported) == "Import into “general”: 23 added, 0 already there."

    listed = await discord.slash("bib list", guild=g, sort="title")
    said(listed)
    assert listed.message.embed["title"] == "📚 general"
    assert footer(listed) == "Page 1 of 3 · 23 entries · by title"
    first = lines(listed)
    assert len(first) == 10
    assert first[0].startswith("**1.** Writer (2000) · *Paper 00*")
    assert first[9].startswith("**10.** Writer (2009) · *Paper 09*")
    previous, following = listed.message.items()
    assert (previous["label"], following["label"]) == ("◀ Previous", "Next ▶")
    assert previous["disabled"] and not following.get("disabled")

    stranger = await discord.click(listed.message, following["custom_id"], user="bob")
    refused(stranger, "These buttons belong to whoever ran the command")
    assert not discord.message(listed.message.id).edited

    second = await discord.click(listed.message, following["custom_id"])  # as alice
    assert second.callback_types == [UPDATE_MESSAGE]
    data = second.callbacks[0]["data"]
    assert data["embeds"][0]["footer"]["text"] == "Page 2 of 3 · 23 entries · by title"
    assert second.message.id == listed.message.id and second.message.edited
    assert not second.message.ephemeral and second.messages == [second.message]
    page = lines(second)
    assert len(page) == 10 and page[0].startswith("**11.**") and "*Paper 10*" in page[0]
    assert "*Paper 19*" in page[9]
    previous, following = second.message.items()
    assert not previous.get("disabled") and not following.get("disabled")

    third = await discord.click(second.message, following["custom_id"])
    assert third.callback_types == [UPDATE_MESSAGE]
    assert footer(third) == "Page 3 of 3 · 23 entries · by title"
    assert [line.split(" ", 1)[0] for line in lines(third)] == ["**21.**", "**22.**", "**23.**"]
    previous, following = third.message.items()
    assert following["disabled"]
    with pytest.raises(LookupError, match="disabled"):
        await discord.click(third.message, following["custom_id"])

    back = await discord.click(third.message, previous["custom_id"])
    assert back.callback_types == [UPDATE_MESSAGE] and back.message.id == listed.message.id
    assert footer(back) == "Page 2 of 3 · 23 entries · by title"

    newest = await discord.slash("bib list", guild=g)  # default order: newest first
    assert footer(newest) == "Page 1 of 3 · 23 entries · newest first"
    in_dm = await discord.slash("bib list", dm=True, user="olga")
    said(in_dm, ephemeral=True)
    assert in_dm.message.embed["title"] == "📚 personal" and footer(in_dm).startswith(
        "Page 1 of 1 · 0 entries"
    )


# -- import and export ---------------------------------------------------------------------------


async def test_bib_import_good_malformed_and_refused_files(discord, seed_card):
    g = "bib-import"
    upload = Attachment("lab-export.bib", (DATA / "lab-export.bib").read_bytes())
    good = await discord.slash("bib import", guild=g, file=upload)
    assert done_after_defer(good) == "Import into “general”: 4 added, 0 already there."
    public(good)
    assert good.message.attachments == ()  # a short report stays inline
    assert discord.downloads.count(uploaded_id(good)) == 1  # read from the signed url
    option = good.interaction["data"]["options"][0]["options"][0]
    assert option["type"] == 11 and option["value"] == uploaded_id(good)

    # Other members import the rest: one person may import 3 files a minute.
    again = await discord.slash("bib import", guild=g, user="bob", file=upload)
    assert done_after_defer(again) == "Import into “general”: 0 added, 4 already there."

    bad_bib = Attachment("malformed.bib", (DATA / "malformed.bib").read_bytes())
    malformed = await discord.slash("bib import", guild=g, user="bob", file=bad_bib)
    content = done_after_defer(malformed)
    assert content.startswith("Import into “general”: 2 added, 0 already there, 2 failed.")
    assert "\nFirst problem: line 8: " in content
    name, report = the_file(malformed)
    assert name == "import-report.txt"
    text = report.decode()
    assert "Failed:\n  line 8: " in text and "\n  line 13: " in text
    assert "Added:\n" in text

    bad_ris = Attachment("malformed.ris", (DATA / "malformed.ris").read_bytes())
    ris = await discord.slash("bib import", guild=g, user="carol", file=bad_ris)
    content = done_after_defer(ris)
    assert content.startswith("Import into “general”: 1 added, 1 already there, 2 failed.")
    assert "line 8" in content and "line 13" in the_file(ris)[1].decode()

    ids = Attachment("dois.txt", f"{SEED}\n10.9999/in-no-bibliography\n".encode())
    looked_up = await discord.slash("bib import", guild=g, user="carol", file=ids)
    content = done_after_defer(looked_up)
    assert content.startswith("Import into “general”: 1 added, 0 already there, 1 failed.")
    assert "First problem: line 2: " in content and "10.9999/in-no-bibliography" in content

    wrong = await discord.slash("bib import", guild=g, file=Attachment("paper.pdf", b"%PDF-1.7"))
    refused(wrong, "I can import .bib, .ris or .txt", "paper.pdf")
    assert uploaded_id(wrong) not in discord.downloads  # refused before downloading
    huge = Attachment("huge.bib", b"%" * (2 * 1024 * 1024 + 1))
    too_big = await discord.slash("bib import", guild=g, file=huge)
    refused(too_big, "limited to 2 MiB")
    assert uploaded_id(too_big) not in discord.downloads

    third = await discord.slash("bib import", guild=g, user="carol", file=upload)
    assert done_after_defer(third) == "Import into “general”: 0 added, 4 already there."
    busy = await discord.slash("bib import", guild=g, user="carol", file=upload)
    refused(busy, "You can make 3 imports per minute; try again in ")
    assert uploaded_id(busy) not in discord.downloads  # refused before downloading

    in_dm = await discord.slash("bib import", dm=True, user="pete", file=upload)
    assert done_after_defer(in_dm, ephemeral=True) == (
        "Import into “personal”: 4 added, 0 already there."
    )
    total = await discord.slash("bib list", guild=g)
    assert footer(total).startswith("Page 1 of 1 · 8 entries")


async def test_bib_export_as_bibtex_ris_csl_json_and_a_style(discord):
    g = "bib-export"
    empty = await discord.slash("bib export", guild=g)
    refused_after_defer(empty, "“general” has no entries to export.", ephemeral_defer=True)
    upload = Attachment("lab-export.bib", (DATA / "lab-export.bib").read_bytes())
    imported = await discord.slash("bib import", guild=g, user="erik", file=upload)
    assert "4 added" in done_after_defer(imported)

    bibtex = await discord.slash("bib export", guild=g, format="bibtex")
    assert done_after_defer(bibtex, ephemeral=True) == "4 entries as BibTeX."
    name, data = the_file(bibtex)
    assert name == "general.bib"
    library = bibtexparser.parse_string(data.decode())
    assert len(library.entries) == 4 and not library.failed_blocks
    titles = " ".join(e.fields_dict["title"].value for e in library.entries)
    assert "Zellbiologie" in titles and "Bayes" in titles

    ris = await discord.slash("bib export", guild=g, format="ris")
    assert done_after_defer(ris, ephemeral=True) == "4 entries as RIS."
    name, data = the_file(ris)
    records = rispy.loads(data.decode())
    assert name == "general.ris" and len(records) == 4
    assert {r["type_of_reference"] for r in records} >= {"JOUR", "BOOK"}

    csl = await discord.slash("bib export", guild=g, format="csl-json")
    assert done_after_defer(csl, ephemeral=True) == "4 entries as CSL-JSON."
    name, data = the_file(csl)
    items = json.loads(data)
    assert name == "general.json" and len(items) == 4
    assert all(item["title"] and item["type"] for item in items)
    assert any(a.get("family") == "Müller" for item in items for a in item.get("author", []))

    # one person may export 5 times a minute: the styles are someone else's
    apa = await discord.slash("bib export", guild=g, user="erik", format="apa")
    assert done_after_defer(apa, ephemeral=True) == "4 entries as APA Style 7th edition."
    name, data = the_file(apa)
    text = data.decode()
    assert name == "general.txt" and text.endswith("\n")
    assert (
        "Müller, A." in text
        and "Straße, H.-J. (2001). Gründlagen der Zellbiologie. Springer." in text
    )
    assert len([p for p in text.split("\n") if p.strip()]) == 4
    markdown = await discord.slash(
        "bib export", guild=g, user="erik", format="vancouver", markdown=True
    )
    assert the_file(markdown)[0] == "general.md"

    unknown = await discord.slash("bib export", guild=g, format="no-such-style")
    refused(unknown, "no-such-style")
    formats = await discord.autocomplete("bib export", "format", "ri")
    assert "ris" in values(formats)


# -- bibliographies: create, rename, delete, default --------------------------------------------


async def test_bib_create_rename_and_delete_with_confirmation(discord, seed_card):
    g = "bib-manage"
    refused(
        await discord.slash("bib create", guild=g, permissions=MEMBER, name="Reading list"),
        "Only members with **Manage Server** can create bibliographies.",
    )
    assert said(await discord.slash("bib create", guild=g, name="Reading list")) == (
        "Created **Reading list**."
    )
    refused(await discord.slash("bib create", guild=g, name="reading  list"), "already exists")
    refused(await discord.slash("bib create", guild=g, name="!bad"), "1–40 characters")

    refused(
        await discord.slash(
            "bib rename", guild=g, permissions=MEMBER, bibliography="Reading list", new_name="x"
        ),
        "Manage Server",
    )
    renamed = await discord.slash(
        "bib rename", guild=g, bibliography="Reading list", new_name="Journal club"
    )
    assert said(renamed) == "Renamed to **Journal club**."
    added = await discord.slash("bib add", guild=g, query=SEED, bibliography="Journal club")
    assert done_after_defer(added).startswith("Added to **Journal club**")
    listing = await discord.slash("bib bibliographies", guild=g)
    assert said(listing) == "• **Journal club** — 1 entry"

    refused(
        await discord.slash("bib delete", guild=g, permissions=MEMBER, bibliography="Journal club"),
        "Only members with **Manage Server** can delete bibliographies.",
    )
    asked = await discord.slash("bib delete", guild=g, bibliography="Journal club")
    assert said(asked, ephemeral=True) == (
        "Delete **Journal club** and its 1 entry? This cannot be undone."
    )
    confirm, cancel = asked.message.items()
    assert (confirm["label"], confirm["style"]) == ("Delete it", 4)
    assert (cancel["label"], cancel["style"]) == ("Cancel", 2)
    kept = await discord.click(asked.message, cancel["custom_id"])
    assert kept.callback_types == [UPDATE_MESSAGE]
    assert kept.callbacks[0]["data"]["components"] == []
    assert kept.message.id == asked.message.id and kept.content == "Kept; nothing deleted."
    assert kept.message.components == () and kept.message.ephemeral
    assert "Journal club" in said(await discord.slash("bib bibliographies", guild=g))

    asked = await discord.slash("bib delete", guild=g, bibliography="journal CLUB")
    confirm, _ = asked.message.items()
    deleted = await discord.click(asked.message, confirm["custom_id"])
    assert deleted.callback_types == [UPDATE_MESSAGE]
    assert deleted.content == "Deleted, with its 1 entry." and deleted.message.components == ()
    listing = await discord.slash("bib bibliographies", guild=g)
    assert said(listing) == "No bibliographies yet: `/bib add` starts one."
    refused(
        await discord.slash("bib show", guild=g, query=SEED, bibliography="Journal club"),
        "There is no bibliography called “Journal club” here.",
    )


async def test_bib_channel_default_decides_where_add_and_save_go(discord, seed_card):
    g = "bib-default"
    for name in ("alpha", "beta"):
        said(await discord.slash("bib create", guild=g, name=name))
    which = await discord.slash("bib add", guild=g, query=SEED)
    refused_after_defer(which, "Which bibliography?", "“alpha”, “beta”", "/bib default")

    refused(
        await discord.slash("bib default", guild=g, permissions=MEMBER, bibliography="beta"),
        "Manage Server",
    )
    made = await discord.slash("bib default", guild=g, bibliography="beta")
    assert said(made) == "This channel's default bibliography is now **beta**."
    added = await discord.slash("bib add", guild=g, user="quinn", permissions=MEMBER, query=SEED)
    assert done_after_defer(added).startswith(f"Added to **beta**: {SEED_TITLE}")
    listing = await discord.slash("bib bibliographies", guild=g)
    assert said(listing) == (
        "• **alpha** — 0 entries\n• **beta** — 1 entry (this channel's default)"
    )

    card = await discord.slash("paper", guild=g, query=SEED)
    saved = await discord.click(card.message, f"lit:save:{SEED}", user="quinn", permissions=MEMBER)
    assert done_after_defer(saved, ephemeral=True) == "Already in **beta**; nothing changed."

    cleared = await discord.slash("bib default", guild=g)
    assert said(cleared) == "This channel has no default bibliography now."
    refused_after_defer(await discord.slash("bib add", guild=g, query=PLOS), "Which bibliography?")
    created = await discord.slash("bib create", guild=g, name="gamma", channel_default=True)
    assert said(created) == "Created **gamma**. It is this channel's default."
    added = await discord.slash("bib add", guild=g, query=SEED)
    assert done_after_defer(added).startswith("Added to **gamma**")

    in_dm = await discord.slash("bib default", dm=True, user="quinn", bibliography="personal")
    refused(in_dm, "Channel defaults exist in servers")


# -- the card's Save button ----------------------------------------------------------------------


async def test_card_save_button_personal_in_dms_and_asks_which_in_a_server(discord, seed_card):
    card = await discord.slash("paper", dm=True, user="ivan", query=SEED)
    assert card.callback_types in ([DEFERRED], [MESSAGE]) and not card.message.ephemeral
    save = card.message.component(f"lit:save:{SEED}")
    assert save["label"] == "Save" and save["style"] == 3
    saved = await discord.click(card.message, f"lit:save:{SEED}")
    assert done_after_defer(saved, ephemeral=True) == "Saved to **personal** 📚"
    again = await discord.click(card.message, f"lit:save:{SEED}")
    assert done_after_defer(again, ephemeral=True) == "Already in **personal**; nothing changed."
    mine = await discord.slash("bib list", dm=True, user="ivan")
    assert said(mine, ephemeral=True) == ""
    assert "Zhou et al. (2023)" in mine.message.embed["description"]

    g = "bib-save"
    for name in ("club", "methods"):
        said(await discord.slash("bib create", guild=g, name=name))
    card = await discord.slash("paper", guild=g, query=SEED)
    asked = await discord.click(card.message, f"lit:save:{SEED}", user="judy", permissions=MEMBER)
    assert done_after_defer(asked, ephemeral=True) == (
        "This channel has no default bibliography. Save to which one?"
    )
    select = asked.message.component(f"lit:saveto:{SEED}")
    assert select["type"] == 3
    options = {o["label"]: o["value"] for o in select["options"]}
    assert set(options) == {"club", "methods"}

    # The select's values are bibliography ids: one picked from another server is refused.
    forged = await discord.select(
        asked.message, f"lit:saveto:{SEED}", [options["club"]], guild="bib-save-b"
    )
    assert forged.callback_types == [UPDATE_DEFERRED]
    assert forged.message.id != asked.message.id and forged.message.ephemeral
    assert forged.content == "That bibliography no longer exists here."
    assert discord.message(asked.message.id).content == asked.content
    nothing = await discord.slash("bib bibliographies", guild="bib-save-b")
    assert said(nothing) == "No bibliographies yet: `/bib add` starts one."

    picked = await discord.select(
        asked.message, f"lit:saveto:{SEED}", [options["methods"]], permissions=MEMBER
    )
    assert picked.callback_types == [UPDATE_DEFERRED]
    assert picked.message.id == asked.message.id and picked.message.ephemeral
    assert picked.content == "Saved to **methods** 📚" and picked.message.components == ()
    methods = await discord.slash("bib list", guild=g, bibliography="methods")
    assert "Zhou et al. (2023)" in methods.message.embed["description"]
    club = await discord.slash("bib list", guild=g, bibliography="club")
    assert footer(club).startswith("Page 1 of 1 · 0 entries")


# -- one server never sees another's ------------------------------------------------------------


async def test_a_second_guild_and_dms_see_none_of_the_first_guilds_data(discord, seed_card):
    a, b = "bib-iso-a", "bib-iso-b"
    # Guild A: a named default bibliography, 12 entries, a tag and a note.
    created = await discord.slash("bib create", guild=a, name="Secret lab", channel_default=True)
    assert said(created) == "Created **Secret lab**. It is this channel's default."
    bulk = Attachment("secret.bib", generated_bib(11, "Hidden"))
    assert "11 added" in done_after_defer(await discord.slash("bib import", guild=a, file=bulk))
    added = await discord.slash(
        "bib add", guild=a, query=SEED, note="top secret note", tags="secret-tag"
    )
    assert done_after_defer(added).startswith("Added to **Secret lab**")
    names = await discord.autocomplete("bib add", "bibliography", "sec", guild=a, query=SEED)
    assert values(names) == ["Secret lab"]
    tags = await discord.autocomplete("bib list", "tag", "sec", guild=a)
    assert tags.choices == [{"name": "#secret-tag", "value": "secret-tag"}]
    tags = await discord.autocomplete("bib export", "tag", "", guild=a)
    assert values(tags) == ["secret-tag"]
    listed = await discord.slash("bib list", guild=a)
    assert footer(listed).startswith("Page 1 of 2 · 12 entries")
    _, following = listed.message.items()
    asked = await discord.slash("bib delete", guild=a, bibliography="Secret lab")
    assert said(asked, ephemeral=True).startswith("Delete **Secret lab** and its 12 entries?")
    confirm, cancel = asked.message.items()

    # Guild B sees nothing of it, whatever it asks.
    nothing = await discord.slash("bib bibliographies", guild=b)
    assert said(nothing) == "No bibliographies yet: `/bib add` starts one."
    own = await discord.slash("bib list", guild=b)
    said(own)
    assert own.message.embed["title"] == "📚 general"
    assert footer(own).startswith("Page 1 of 1 · 0 entries") and own.message.components == ()
    for command, options in (
        ("bib list", {}),
        ("bib show", {"query": SEED}),
        ("bib remove", {"query": SEED}),
        ("bib rename", {"new_name": "Mine now"}),
        ("bib delete", {}),
        ("bib default", {}),
    ):
        answer = await discord.slash(command, guild=b, bibliography="Secret lab", **options)
        content = refused(answer, "There is no bibliography called “Secret lab” here.")
        assert "Secret lab" not in content.replace("called “Secret lab”", "")
    refused(await discord.slash("bib show", guild=b, query=SEED), "is not in “general”")
    export = await discord.slash("bib export", guild=b)
    refused_after_defer(export, "“general” has no entries to export.", ephemeral_defer=True)
    export = await discord.slash("bib export", guild=b, bibliography="Secret lab")
    refused(export, "no bibliography called “Secret lab”")  # before any defer
    assert values(await discord.autocomplete("bib list", "bibliography", "", guild=b)) == [
        "general"
    ]
    assert (
        values(await discord.autocomplete("bib show", "bibliography", "s", guild=b, query=SEED))
        == []
    )
    assert values(await discord.autocomplete("bib list", "tag", "", guild=b)) == []
    assert values(await discord.autocomplete("bib export", "tag", "sec", guild=b)) == []

    # A's list button, pressed from B (its custom id names A's bibliography): refused.
    pressed = await discord.click(listed.message, following["custom_id"], guild=b)
    content = refused(pressed, "That bibliography no longer exists here.")
    assert "Hidden" not in content and "Zhou" not in content
    assert not discord.message(listed.message.id).edited
    # So is A's delete confirmation (its custom id names A's bibliography).
    forged = await discord.click(asked.message, confirm["custom_id"], guild=b)
    refused(forged, "That bibliography no longer exists.")
    kept = await discord.click(asked.message, cancel["custom_id"])
    assert kept.callback_types == [UPDATE_MESSAGE] and kept.content == "Kept; nothing deleted."

    # Nor do DMs.
    assert values(
        await discord.autocomplete("bib list", "bibliography", "", dm=True, user="mallory")
    ) == ["personal"]
    assert values(await discord.autocomplete("bib list", "tag", "", dm=True, user="mallory")) == []
    mine = await discord.slash("bib list", dm=True, user="mallory")
    assert said(mine, ephemeral=True) == "" and footer(mine).startswith("Page 1 of 1 · 0 entries")
    refused(
        await discord.slash("bib show", dm=True, user="mallory", query=SEED),
        "is not in “personal”",
    )
    refused(
        await discord.slash("bib list", dm=True, user="mallory", bibliography="Secret lab"),
        "There is no bibliography called “Secret lab” in your personal bibliographies.",
    )

    # A is intact.
    after = await discord.slash("bib list", guild=a)
    assert footer(after).startswith("Page 1 of 2 · 12 entries")
    assert after.message.embed["title"] == "📚 Secret lab"
    shown = await discord.slash("bib show", guild=a, query=SEED)
    assert shown.message.field("Note") == "top secret note"
