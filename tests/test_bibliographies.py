"""Bibliographies: scoping, permissions, duplicates, pages, imports, exports (no Discord)."""

from __future__ import annotations

import asyncio
import dataclasses

import bibtexparser
import bibtexparser.middlewares as mw
import pytest

from bot.bibio import MAX_BYTES, UnsupportedFile, parse_upload
from bot.bibliographies import (
    Actor,
    BibliographyError,
    validate_name,
)
from bot.errors import PermissionDenied
from bot.workers import map_bounded
from tests.world import litbot, seeded

DATA = __import__("pathlib").Path(__file__).parent / "data"
SEED = "10.1186/s12943-023-01737-7"
RECORDED = [
    "10.7554/elife.01567",
    "10.1016/j.addr.2015.01.008",
    "10.1145/3448016.3452841",
    "10.1073/pnas.1414271111",
]
GUILD_A, GUILD_B = 111, 222
ALICE, BOB, ADMIN = 1, 2, 3
CHANNEL = 50


def member(guild: int, user: int, *, manage: bool = False, channel: int = CHANNEL) -> Actor:
    return Actor.in_guild(guild, user, channel, can_manage=manage)


@pytest.fixture
async def bibs(fixtures_dir, tmp_path):
    async with litbot(tmp_path, seeded(fixtures_dir)) as bot:
        yield bot.bibs


# -- which bibliography ------------------------------------------------------------------------


async def test_dm_uses_the_personal_bibliography_and_a_server_gets_one_on_first_use(bibs):
    saved, _ = await bibs.add(Actor.in_dm(ALICE), SEED)
    bib, created = saved.bibliography, saved.created
    assert bib.name == "personal" and bib.owner.scope == "user" and created
    bib = (await bibs.add(member(GUILD_A, ALICE), SEED))[0].bibliography
    assert bib.name == "general" and bib.owner.scope == "guild"


async def test_several_bibliographies_without_a_channel_default_ask_which(bibs):
    admin = member(GUILD_A, ADMIN, manage=True)
    await bibs.create(admin, "journal-club")
    await bibs.create(admin, "methods")
    with pytest.raises(BibliographyError, match="Which bibliography"):
        await bibs.add(member(GUILD_A, ALICE), SEED)
    await bibs.set_default(admin, "methods")
    bib = (await bibs.add(member(GUILD_A, ALICE), SEED))[0].bibliography
    assert bib.name == "methods"
    # another channel of the same server has no default
    with pytest.raises(BibliographyError, match="Which bibliography"):
        await bibs.add(member(GUILD_A, ALICE, channel=51), SEED)
    bib = (await bibs.add(member(GUILD_A, ALICE, channel=51), SEED, "Journal-Club"))[0].bibliography
    assert bib.name == "journal-club"  # names are case-insensitive


# -- scoping -----------------------------------------------------------------------------------


async def test_a_servers_bibliographies_are_invisible_from_another_server_and_from_dms(bibs):
    admin = member(GUILD_A, ADMIN, manage=True)
    club = await bibs.create(admin, "journal-club")
    await bibs.add(member(GUILD_A, ALICE), SEED, "journal-club", note="read for Friday", tags="nk")

    for outsider in (member(GUILD_B, ALICE, manage=True), Actor.in_dm(ALICE)):
        with pytest.raises(BibliographyError, match="no bibliography called"):
            await bibs.page(outsider, "journal-club")
        with pytest.raises(BibliographyError, match="no longer exists"):
            await bibs.page(outsider, bibliography_id=club.id)  # an old button's id
        with pytest.raises(BibliographyError):
            await bibs.export(outsider, "journal-club")
        with pytest.raises(BibliographyError):
            await bibs.show(outsider, SEED, "journal-club")
        with pytest.raises(BibliographyError):
            await bibs.delete(outsider, club.id)
        assert await bibs.name_choices(outsider, "") in ([], ["personal"])
        assert await bibs.tag_choices(outsider, "") == []
        assert not await bibs.store.set_channel_default(outsider.owner, CHANNEL, club.id)
        assert await bibs.store.add_many(outsider.owner, club.id, [], by=ALICE) is None
        assert not await bibs.store.remove(outsider.owner, club.id, SEED)
    page = await bibs.page(member(GUILD_A, BOB), "journal-club")
    assert page.total == 1 and page.entries[0].note == "read for Friday"


async def test_a_personal_bibliography_is_invisible_to_other_users(bibs):
    await bibs.add(Actor.in_dm(ALICE), SEED, tags="mine")
    bob = Actor.in_dm(BOB)
    assert (await bibs.page(bob)).total == 0  # Bob's own, new and empty
    with pytest.raises(BibliographyError):
        await bibs.show(bob, SEED)
    assert await bibs.tag_choices(bob, "") == []
    alice_bib = await bibs.resolve(Actor.in_dm(ALICE), None)
    with pytest.raises(BibliographyError):
        await bibs.page(bob, bibliography_id=alice_bib.id)
    # a server with the same id as Alice's user id is still another owner
    with pytest.raises(BibliographyError):
        await bibs.page(member(ALICE, BOB), bibliography_id=alice_bib.id)
    assert await bibs.tag_choices(Actor.in_dm(ALICE), "m") == ["mine"]


# -- permissions -------------------------------------------------------------------------------


async def test_creating_renaming_deleting_needs_manage_server(bibs):
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await bibs.create(member(GUILD_A, ALICE), "mine")
    admin = member(GUILD_A, ADMIN, manage=True)
    await bibs.create(admin, "club")
    with pytest.raises(PermissionDenied):
        await bibs.rename(member(GUILD_A, ALICE), "club", "other")
    with pytest.raises(PermissionDenied):
        await bibs.check_delete(member(GUILD_A, ALICE), "club")
    with pytest.raises(PermissionDenied):
        await bibs.set_default(member(GUILD_A, ALICE), "club")
    renamed = await bibs.rename(admin, "club", "Journal Club")
    assert renamed.name == "Journal Club"
    with pytest.raises(BibliographyError, match="already exists"):
        await bibs.create(admin, "journal club")
    # in DMs, one manages one's own
    await bibs.create(Actor.in_dm(ALICE), "reading list")


async def test_members_remove_their_own_entries_managers_any(bibs):
    await bibs.add(member(GUILD_A, ALICE), SEED)
    await bibs.add(member(GUILD_A, BOB), RECORDED[0])
    with pytest.raises(PermissionDenied, match="entries you added"):
        await bibs.remove(member(GUILD_A, ALICE), RECORDED[0])
    removed = await bibs.remove(member(GUILD_A, ALICE), f"https://doi.org/{SEED}")
    assert removed.work_key == SEED
    await bibs.remove(member(GUILD_A, ADMIN, manage=True), RECORDED[0])
    assert (await bibs.page(member(GUILD_A, ALICE))).total == 0


async def test_delete_takes_the_entries_with_it(bibs):
    admin = member(GUILD_A, ADMIN, manage=True)
    club = await bibs.create(admin, "club", channel_default=True)
    for doi in RECORDED:
        await bibs.add(member(GUILD_A, ALICE), doi, tags="x")
    assert await bibs.delete(admin, club.id) == len(RECORDED)
    assert await bibs.store.list(admin.owner) == []
    assert await bibs.tag_choices(admin, "") == []


# -- entries -----------------------------------------------------------------------------------


async def test_adding_again_updates_note_and_tags_and_says_so(bibs):
    alice = Actor.in_dm(ALICE)
    created = (await bibs.add(alice, SEED, note="first", tags="nk, tumour"))[0].created
    assert created
    created = (await bibs.add(alice, f"doi:{SEED.upper()}", note="second"))[0].created
    assert not created
    entry = await bibs.show(alice, SEED)
    assert entry.note == "second" and entry.tags == ("nk", "tumour")  # tags kept
    await bibs.add(alice, SEED, tags="#Review")
    assert (await bibs.show(alice, SEED)).tags == ("review",)
    assert (await bibs.page(alice)).total == 1


@pytest.mark.parametrize("bad", ["", " ", "a" * 41, "@everyone", "<script>", "-lead", "x/y"])
def test_names_are_validated(bad):
    with pytest.raises(BibliographyError):
        validate_name(bad)


@pytest.mark.parametrize("good", ["journal-club", "Lab 2026", "Müller's picks", "a"])
def test_good_names_pass(good):
    assert validate_name(good) == good


async def test_bad_tags_and_long_notes_are_refused_before_any_lookup(bibs):
    with pytest.raises(BibliographyError, match="not a tag"):
        await bibs.add(Actor.in_dm(ALICE), SEED, tags="ok, <@123>")
    with pytest.raises(BibliographyError, match="500"):
        await bibs.add(Actor.in_dm(ALICE), SEED, note="x" * 501)


@pytest.mark.parametrize("count", [0, 1, 10, 11, 20, 21])
async def test_pages_of_ten_at_the_boundaries(bibs, count):
    alice = Actor.in_dm(ALICE)
    bib = await bibs.resolve(alice, None)
    text = "\n".join(
        f"@article{{k{i}, title={{Paper {i:02d}}}, year={{2000}}}}" for i in range(count)
    )
    if count:
        await bibs.import_file(alice, "many.bib", text.encode())
    pages = max(1, -(-count // 10))
    seen = []
    for number in range(pages):
        page = await bibs.page(alice, bibliography_id=bib.id, page=number, sort="title")
        assert page.total == count and page.pages == pages and page.page == number
        assert len(page.entries) == (min(10, count - 10 * number) if count else 0)
        seen += [e.work.title for e in page.entries]
    assert seen == [f"Paper {i:02d}" for i in range(count)]
    beyond = await bibs.page(alice, bibliography_id=bib.id, page=pages + 3)
    assert beyond.page == pages - 1  # a stale "next" button lands on the last page


# -- import and export -------------------------------------------------------------------------


async def test_import_of_a_real_world_bib_round_trips_accents(bibs):
    alice = Actor.in_dm(ALICE)
    report = await bibs.import_file(alice, "lab-export.bib", (DATA / "lab-export.bib").read_bytes())
    assert len(report.added) == 4 and not report.failed and not report.duplicates
    exported = await bibs.export(alice, None, "bibtex")
    library = bibtexparser.parse_string(
        exported.data.decode(),
        append_middleware=[
            mw.SeparateCoAuthors(),
            mw.SplitNameParts(),
            mw.LatexDecodingMiddleware(),
        ],
    )
    from pylatexenc.latex2text import LatexNodes2Text

    decode = LatexNodes2Text().latex_to_text
    families = {
        decode(" ".join(n.last)) for e in library.entries for n in e.fields_dict["author"].value
    }
    assert {"Müller", "Schönberger", "García-Pérez", "François", "Straße", "Østergaard"} <= families
    titles = {e.fields_dict["title"].value for e in library.entries}
    assert "Naïve Bayes for Århus" in titles or any("Århus" in t for t in titles)
    again = await bibs.import_file(alice, "lab-export.bib", (DATA / "lab-export.bib").read_bytes())
    assert len(again.duplicates) == 4 and not again.added


async def test_malformed_files_are_reported_line_by_line_and_good_entries_kept(bibs):
    alice = Actor.in_dm(ALICE)
    report = await bibs.import_file(alice, "malformed.bib", (DATA / "malformed.bib").read_bytes())
    assert [p.line for p in report.failed] == [8, 13]
    assert len(report.added) == 2
    report = await bibs.import_file(alice, "malformed.ris", (DATA / "malformed.ris").read_bytes())
    assert [p.line for p in report.failed] == [8, 13]
    assert len(report.added) == 1 and len(report.duplicates) == 1  # 10.1234/good.1 twice
    assert "line 8" in report.text() and "line 13" in report.text()


async def test_identifier_lists_are_looked_up_and_failures_reported(bibs):
    alice = Actor.in_dm(ALICE)
    text = f"# lab list\n{SEED}\nhttps://doi.org/{RECORDED[0]}\nnot an identifier at all\n10.1234/unknown-doi\n{SEED}\n"
    report = await bibs.import_file(alice, "ids.txt", text.encode())
    assert len(report.added) == 2
    assert [p.line for p in report.failed] == [4, 5]
    assert len(report.duplicates) == 1  # the seed twice in the file


async def test_oversized_too_many_and_wrong_type_files_are_refused(bibs):
    alice = Actor.in_dm(ALICE)
    with pytest.raises(UnsupportedFile, match="2 MiB"):
        await bibs.import_file(alice, "big.bib", b"%" * (MAX_BYTES + 1))
    with pytest.raises(UnsupportedFile, match=r"\.bib, \.ris or \.txt"):
        await bibs.import_file(alice, "paper.pdf", b"%PDF-1.7")
    many = "\n".join(f"10.1234/x{i}" for i in range(5001)).encode()
    with pytest.raises(UnsupportedFile, match="5,000"):
        parse_upload("many.txt", many)
    assert (await bibs.page(alice)).total == 0  # nothing half-applied


async def test_exports_in_every_format(bibs):
    # six exports in a row: more than a member may make per minute (tests/test_cooldowns.py)
    alice = dataclasses.replace(Actor.in_dm(ALICE), limited=False)
    for doi in [SEED, *RECORDED]:
        await bibs.add(alice, doi, tags="lab")
    bib = await bibs.export(alice, None, "bibtex")
    assert bib.filename == "personal.bib" and bib.count == 5 and b"@article{zhou2023nk," in bib.data
    ris = await bibs.export(alice, None, "ris")
    assert ris.filename.endswith(".ris") and ris.data.count(b"ER  -") == 5
    csl = await bibs.export(alice, None, "csl-json")
    assert csl.filename.endswith(".json") and b'"DOI": "10.1186/s12943-023-01737-7"' in csl.data
    apa = await bibs.export(alice, None, "apa")
    lines = apa.data.decode().strip().splitlines()
    assert apa.filename.endswith(".txt") and len(lines) == 5
    assert lines == sorted(lines, key=str.casefold)  # author order, as APA lists them
    md = await bibs.export(alice, None, "apa", markdown=True)
    assert md.filename.endswith(".md") and b"*" in md.data
    vancouver = await bibs.export(alice, None, "vancouver")
    assert [line.split(".")[0] for line in vancouver.data.decode().splitlines()] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]


def test_ris_names_without_a_comma_keep_given_and_family_apart():
    ris = "TY  - JOUR\nAU  - Jane Smith\nAU  - Müller, Anna\nTI  - A title\nPY  - 2020\nER  - \n"
    (item,) = parse_upload("names.ris", ris.encode()).items
    assert [(a.given, a.family) for a in item.work.authors] == [
        ("Jane", "Smith"),
        ("Anna", "Müller"),
    ]


# -- refusals write nothing; cooldowns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "refusal"),
    [
        ("many.txt", "\n".join(f"10.1234/x{i}" for i in range(5001)).encode(), "5,000"),
        (
            "many.bib",
            "\n".join(f"@misc{{k{i}, title={{T}}}}" for i in range(5001)).encode(),
            "5,000",
        ),
        ("big.bib", b"%" * (MAX_BYTES + 1), "2 MiB"),
        ("paper.pdf", b"%PDF-1.7", r"\.bib, \.ris or \.txt"),
    ],
)
@pytest.mark.parametrize("where", ["guild", "dm"])
async def test_a_refused_import_writes_nothing_not_even_a_default_bibliography(
    bibs, filename, data, refusal, where
):
    actor = member(GUILD_A, ALICE) if where == "guild" else Actor.in_dm(ALICE)
    with pytest.raises(UnsupportedFile, match=refusal):
        await bibs.import_file(actor, filename, data)
    assert await bibs.store.list(actor.owner) == []


async def test_an_import_into_an_unknown_bibliography_is_refused_before_parsing(bibs, monkeypatch):
    parsed = []
    monkeypatch.setattr(
        "bot.bibio.parse_upload", lambda *args: parsed.append(args) or pytest.fail("parsed")
    )
    with pytest.raises(BibliographyError, match="no bibliography called"):
        await bibs.import_file(member(GUILD_A, ALICE), "x.bib", b"@misc{k, title={T}}", "nope")
    assert parsed == [] and await bibs.store.list(Actor.in_dm(ALICE).owner) == []
    assert await bibs.store.list(member(GUILD_A, ALICE).owner) == []


async def test_imports_and_exports_are_rate_limited_per_member_but_not_for_the_cli(bibs):
    from bot.cli import _actor
    from bot.errors import Cooldown

    alice, bob = member(GUILD_A, ALICE), member(GUILD_A, BOB)
    entry = b"@misc{k, title={A title}}"
    for _ in range(3):
        await bibs.import_file(alice, "a.bib", entry)
    bibs.check_cooldown(bob, "import")  # someone else may
    with pytest.raises(Cooldown, match=r"3 imports per minute; try again in \d+ s"):
        bibs.check_cooldown(alice, "import")
    with pytest.raises(Cooldown):
        await bibs.import_file(alice, "a.bib", entry)
    await bibs.import_file(bob, "a.bib", entry)

    for _ in range(5):
        await bibs.export(alice, None, "bibtex")
    with pytest.raises(Cooldown, match="5 exports per minute"):
        await bibs.export(alice, None, "ris")

    admin = _actor(type("Args", (), {"guild": GUILD_A, "user": None})())
    assert admin == Actor.administrator(alice.owner) and not admin.limited
    for _ in range(10):
        await bibs.import_file(admin, "a.bib", entry)
        await bibs.export(admin, None, "bibtex")


async def test_exporting_a_long_bibliography_costs_more(bibs):
    from bot.errors import Cooldown

    alice = member(GUILD_A, ALICE)
    text = "\n".join(f"@misc{{k{i}, title={{Paper {i}}}}}" for i in range(2500))
    await bibs.import_file(alice, "long.bib", text.encode())
    await bibs.export(alice, None, "bibtex")  # 2,500 entries: three uses of five
    with pytest.raises(Cooldown):
        await bibs.export(alice, None, "apa")


# -- BibTeX keys and DOI checks ----------------------------------------------------------------


def _keys(data: bytes) -> list[str]:
    return [e.key for e in bibtexparser.parse_string(data.decode()).entries]


async def test_an_imported_bib_keeps_its_keys_and_page_ranges_on_export(bibs):
    alice = Actor.in_dm(ALICE)
    await bibs.import_file(alice, "lab-export.bib", (DATA / "lab-export.bib").read_bytes())
    exported = await bibs.export(alice, None, "bibtex")
    library = bibtexparser.parse_string(exported.data.decode())
    assert sorted(e.key for e in library.entries) == [
        "dupont2021",
        "lopez2020",
        "muller2019",
        "strasse2001",
    ]
    pages = {
        e.key: e.fields_dict["pages"].value for e in library.entries if "pages" in e.fields_dict
    }
    assert pages == {"muller2019": "100--105", "lopez2020": "1--10"}  # not 100----105


@pytest.mark.parametrize(
    ("first", "second", "keys", "check"),
    [
        # the same key for another work: the later one gets a suffix, and the report says so
        (
            "@article{smith2020, title={One paper}, author={Smith, Ann}, year={2020}}",
            "@article{smith2020, title={Another paper}, author={Smith, Bob}, year={2020}}",
            ["smith2020", "smith2020a"],
            "the key “smith2020” is another entry's key in this bibliography: this entry's key "
            "is “smith2020a”",
        ),
        # keys compare without case (BibTeX does)
        (
            "@article{Smith2020, title={One paper}, year={2020}}",
            "@article{smith2020, title={Another paper}, year={2020}}",
            ["Smith2020", "smith2020a"],
            "is “smith2020a”",
        ),
        # a user's own style of key is kept as it is
        (
            "@article{Smith:2020:one, title={One paper}, year={2020}}",
            "@article{smith_2020-two, title={Another paper}, year={2020}}",
            ["Smith:2020:one", "smith_2020-two"],
            None,
        ),
        # a re-import gives an entry the key the user chose when it is free
        (
            "TY  - JOUR\nTI  - One paper\nAU  - Smith, Ann\nPY  - 2020\nER  - \n",
            "@article{mine, title={One paper}, author={Smith, Ann}, year={2020}}",
            ["mine"],
            None,
        ),
    ],
)
async def test_imported_keys_collide_with_suffixes_and_say_so(bibs, first, second, keys, check):
    alice = Actor.in_dm(ALICE)
    name = "a.ris" if first.startswith("TY") else "a.bib"
    await bibs.import_file(alice, name, first.encode())
    report = await bibs.import_file(alice, "b.bib", second.encode())
    exported = await bibs.export(alice, None, "bibtex")
    assert sorted(_keys(exported.data)) == sorted(keys)
    messages = [p.message for p in report.check]
    if check:
        assert any(check in m for m in messages) and "to check" in report.summary()
        assert "Imported, but check:" in report.text()
    else:
        assert not messages


async def test_keys_are_made_when_entries_are_added_and_never_move(bibs):
    alice = dataclasses.replace(Actor.in_dm(ALICE), limited=False)
    await bibs.add(alice, SEED)
    before = _keys((await bibs.export(alice, None, "bibtex")).data)
    assert before == ["zhou2023nk"]
    # a later work with the same key stem that sorts first: it gets the suffix, not the seed
    ris = "TY  - JOUR\nAU  - Zhou, Aaron\nTI  - NK cells\nPY  - 2023\nER  - \n"
    await bibs.import_file(alice, "later.ris", ris.encode())
    after = (await bibs.export(alice, None, "bibtex")).data.decode()
    assert _keys(after.encode()) == ["zhou2023nka", "zhou2023nk"]  # author order; keys kept
    assert "title = {{NK} cells}" in after


async def test_entries_saved_before_keys_were_stored_keep_the_key_of_their_first_export(bibs):
    alice = dataclasses.replace(Actor.in_dm(ALICE), limited=False)
    for doi in [SEED, *RECORDED[:2]]:
        await bibs.add(alice, doi)
    bib = await bibs.resolve(alice, None)
    await bibs.store.db.conn.execute(
        "UPDATE entries SET cite_key = NULL"
    )  # as migration 5 left them
    first = _keys((await bibs.export(alice, None, "bibtex")).data)
    stored = await bibs.store.cite_keys(alice.owner, bib.id)
    assert sorted(k for k in stored.values() if k) == sorted(first)
    assert _keys((await bibs.export(alice, None, "bibtex")).data) == first


TITLE = "NK cells are never alone: crosstalk and communication in tumour microenvironments"


@pytest.mark.parametrize(
    ("entry", "flagged"),
    [
        (f"title={{{TITLE}}}, author={{Zhou, Yongqiang}}", None),
        ("title={NK cells are never alone}, author={Zhou, Y.}", None),  # no subtitle
        (
            "title={{NK} Cells Are Never Alone: Crosstalk and Communication in Tumour "
            "Microenvironments}, author={Zh{\\'o}u, Yongqiang}",
            None,
        ),  # case, braces, accents
        ("title={Deep learning for protein folding}, author={Zhou, Yongqiang}", "title"),
        (f"title={{{TITLE}}}, author={{Smith, Ann}}", "first author"),
        ("title={Deep learning for protein folding}, author={Smith, Ann}", "title or first author"),
    ],
)
async def test_an_entry_whose_doi_names_another_work_is_flagged(bibs, entry, flagged):
    alice = Actor.in_dm(ALICE)
    text = f"@article{{mine, {entry}, year={{2023}}, doi={{{SEED}}}}}"
    report = await bibs.import_file(alice, "thesis.bib", text.encode())
    assert len(report.added) == 1 and not report.failed  # imported as the file has it
    messages = [p.message for p in report.check]
    if flagged is None:
        assert messages == []
    else:
        (message,) = messages
        assert message.startswith("mine: its DOI 10.1186/s12943-023-01737-7 is “NK cells")
        assert f"not this entry's {flagged}." in message and "by Zhou" in message


async def test_an_entry_whose_doi_no_source_knows_is_imported_unchecked(bibs):
    alice = Actor.in_dm(ALICE)
    text = "@article{ghost, title={A paper}, year={2020}, doi={10.1234/unknown-doi}}"
    report = await bibs.import_file(alice, "ghost.bib", text.encode())
    assert len(report.added) == 1 and not report.check and not report.failed


async def test_map_bounded_keeps_order_and_its_limit_with_that_many_tasks():
    running = peak = 0
    tasks_seen: set[int] = set()

    async def work(n: int) -> int:
        nonlocal running, peak
        tasks_seen.add(id(asyncio.current_task()))
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (n % 3))
        running -= 1
        return n * n

    items = list(range(2000))
    assert await map_bounded(work, items, 8) == [n * n for n in items]
    assert peak == 8
    assert len(tasks_seen) == 8  # eight tasks took turns: not one per item
    assert await map_bounded(work, [], 8) == []
