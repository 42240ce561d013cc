"""Duplicates beyond the DOI, and a paper's two versions as one entry (issue 14, items 4–5).

Works come from the recorded upstreams (tests/upstream_mock.py): the bioRxiv preprint
10.1101/2024.04.01.587366 whose Crossref record says ``is-preprint-of`` the Cell Genomics
article 10.1016/j.xgen.2025.100814 (both recorded), arXiv 1610.08734 whose Atom entry names its
journal DOI, and the seed paper. Look-alikes (same title, first author and year, no identifier
in common) are written as a lab's own .bib files would have them.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from bot.bibliographies import Actor, BibliographyError
from bot.errors import PermissionDenied
from bot.identifiers import parse_identifier
from bot.storage import duplicates
from bot.storage.bibliographies import NewEntry
from bot.storage.database import MIGRATIONS, open_database
from bot.storage.watch import WatchStore
from bot.watch import Watch
from tests.world import litbot, seeded

GUILD, OTHER_GUILD, CHANNEL = 111, 222, 50
ALICE, BOB, ADMIN = 1, 2, 3
SEED = "10.1186/s12943-023-01737-7"
PREPRINT = "10.1101/2024.04.01.587366"  # bioRxiv; Crossref: is-preprint-of …
PUBLISHED = "10.1016/j.xgen.2025.100814"  # … this article
ARXIV = "1610.08734"  # arXiv names its version of record:
ARXIV_JOURNAL_DOI = "10.1103/PhysRevAccelBeams.20.101301"
RECORDED = ["10.7554/elife.01567", "10.1016/j.addr.2015.01.008", "10.1073/pnas.1414271111"]


def member(user: int = ALICE, *, manage: bool = False, guild: int = GUILD) -> Actor:
    return Actor.in_guild(guild, user, CHANNEL, can_manage=manage)


@pytest.fixture
async def world(fixtures_dir, tmp_path):
    mock = seeded(fixtures_dir)
    async with litbot(tmp_path, mock) as bot:
        yield bot, mock


async def entries(bot, actor: Actor | None = None):
    page = await bot.bibs.page(actor or member())
    return page.entries


async def lookup(bot, query: str):
    return await bot.papers.lookup(parse_identifier(query), settled=True)


# -- identifier keys ----------------------------------------------------------------------------


async def test_the_stored_identifier_keys_are_the_ones_python_computes(world):
    """``entry_ids`` (triggers over the JSON) and ``work_ids`` agree on recorded works."""
    bot, _ = world
    works = [await lookup(bot, q) for q in [SEED, PREPRINT, PUBLISHED, *RECORDED]]
    works.append(await lookup(bot, f"arXiv:{ARXIV}"))
    works.append(dataclasses.replace(works[0], doi=None, pmid="123", pmcid="pmc9", arxiv=None))
    works[-1] = dataclasses.replace(works[-1], title=works[-1].title + " (copy)")
    bib = await bot.bibs.resolve(member(), None)
    await bot.bibs.store.add_many(member().owner, bib.id, [NewEntry(w) for w in works], by=ALICE)
    rows = await bot.db.all(
        "SELECT e.work_key, i.id_key, i.kind FROM entry_ids i JOIN entries e ON e.id = i.entry_id"
    )
    stored: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        stored.setdefault(row[0], set()).add((row[1], row[2]))
    from bot.storage.works import work_key

    for work in works:
        ids = duplicates.work_ids(work)
        expected = {(k, "same") for k in ids.same} | {(k, "published") for k in ids.published}
        expected |= {(k, "preprint") for k in ids.preprint}
        assert stored.get(work_key(work), set()) == expected, work.title
    arxiv = works[-2]
    assert {("arxiv:1610.08734", "same"), ("doi:10.48550/arxiv.1610.08734", "same")} <= stored[
        work_key(arxiv)
    ]
    assert ("doi:" + ARXIV_JOURNAL_DOI.lower(), "published") in stored[work_key(arxiv)]
    assert ("doi:" + PUBLISHED, "published") in stored[PREPRINT]
    assert stored[work_key(works[-1])] == {("pmid:123", "same"), ("pmcid:PMC9", "same")}


async def test_migration_9_indexes_the_entries_saved_before_it(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:8]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 8")
    conn.execute(
        "INSERT INTO bibliographies(scope, owner_id, name, name_key, created_by, created_at) "
        "VALUES ('guild', 1, 'lab', 'lab', 1, 'now')"
    )
    work = {"doi": "10.48550/arXiv.1610.08734", "arxiv": "1610.08734", "pmid": None,
            "published_doi": "10.1103/X", "preprints": ["10.1101/Y"], "authors": []}  # fmt: skip
    conn.execute(
        "INSERT INTO entries(bibliography_id, work_key, work, title, first_author, year, "
        "added_by, added_at, updated_at) VALUES (1, 'k', ?, 't', 'a', 2016, 1, 'now', 'now')",
        (json.dumps(work),),
    )
    conn.commit()
    conn.close()
    db = await open_database(path)
    try:
        rows = {tuple(r) for r in await db.all("SELECT id_key, kind FROM entry_ids")}
    finally:
        await db.close()
    assert rows == {
        ("doi:10.48550/arxiv.1610.08734", "same"),
        ("arxiv:1610.08734", "same"),
        ("doi:10.1103/x", "published"),
        ("doi:10.1101/y", "preprint"),
    }


def test_titles_match_whatever_their_case_accents_punctuation_and_subscripts():
    assert duplicates.title_key("NK cells are never alone: crosstalk.") == duplicates.title_key(
        "{NK} Cells Are Never Alone — Crosstalk"
    )
    assert duplicates.title_key("Uptake of CO₂ by Müller glia") == duplicates.title_key(
        "Uptake of CO2 by Muller glia"
    )
    for short in ("Editorial", "Reply to comment", "Erratum", "Introduction to X"):
        assert duplicates.title_key(short) is None  # too short to name one work


# -- versions ------------------------------------------------------------------------------------


async def test_saving_the_published_version_takes_over_the_saved_preprint(world):
    bot, _ = world
    first = await bot.bibs.add_work(member(), await lookup(bot, PREPRINT), note="for journal club")
    await bot.bibs.add(member(), PREPRINT, tags="genomics")
    before = (await entries(bot))[0]
    saved, _ = await bot.bibs.add(member(BOB), PUBLISHED)
    assert first.created and not saved.created
    assert saved.joined is not None and saved.joined.how == duplicates.PREPRINT
    assert "was its preprint, now this published version" in saved.message()
    [after] = await entries(bot)
    assert after.id == before.id and after.work.doi.lower() == PUBLISHED
    assert after.note == "for journal club" and after.tags == ("genomics",)
    assert after.cite_key == before.cite_key  # a manuscript citing it keeps working


async def test_saving_a_preprint_of_a_saved_article_goes_into_the_article(world):
    bot, _ = world
    await bot.bibs.add(member(), PUBLISHED)
    saved, _ = await bot.bibs.add(member(BOB), PREPRINT, note="the bioRxiv one", tags="preprint")
    assert not saved.created and saved.joined.how == duplicates.PUBLISHED
    assert "its published version" in saved.message()
    [entry] = await entries(bot)
    assert entry.work.doi.lower() == PUBLISHED
    assert entry.note == "the bioRxiv one" and entry.tags == ("preprint",)


async def test_a_preprint_published_since_it_was_saved_joins_when_the_article_is_saved(world):
    """The watch learns the preprint's journal version; saving that version then finds the
    preprint's entry (its identifier rows follow the refreshed JSON)."""
    bot, mock = world
    body = json.loads(mock.files["crossref"][PREPRINT].read_text())
    del body["message"]["relation"]  # saved before Crossref linked the two
    mock.add("crossref", PREPRINT, json.dumps(body))
    await bot.bibs.add(member(), PREPRINT)
    del mock.extra[("crossref", f"doi:{PREPRINT}")]
    await bot.papers.cache.expire(PREPRINT) if hasattr(bot.papers.cache, "expire") else None
    await Watch(WatchStore(bot.db), bot.papers).run_once(force=True)
    saved, _ = await bot.bibs.add(member(), PUBLISHED)
    assert saved.joined is not None and saved.joined.how == duplicates.PREPRINT
    assert [e.work.doi.lower() for e in await entries(bot)] == [PUBLISHED]


async def test_an_arxiv_id_in_a_bib_file_is_the_same_work_as_the_arxiv_record(world):
    bot, _ = world
    bib = (
        "@article{li2017beam,\n"
        "  title = {High quality electron beam generation in a proton-driven hollow plasma\n"
        "           wakefield accelerator},\n"
        "  author = {Li, Y. and Xia, G.},\n  year = {2017},\n"
        f"  eprint = {{{ARXIV}v3}},\n  archivePrefix = {{arXiv}},\n"
        "}\n"
    )
    report = await bot.bibs.import_file(member(), "lab.bib", bib.encode())
    assert len(report.added) == 1
    saved, work = await bot.bibs.add(member(), f"https://arxiv.org/abs/{ARXIV}v2", tags="pwfa")
    assert work.arxiv == ARXIV and not saved.created
    assert saved.joined.how == duplicates.SAME and saved.joined.cite_key == "li2017beam"
    [entry] = await entries(bot)
    assert entry.tags == ("pwfa",) and entry.cite_key == "li2017beam"


# -- look-alikes -----------------------------------------------------------------------------------

LOOKALIKE = (
    "@article{zhou2023nk,\n"
    "  title = {{NK} Cells Are Never Alone: Crosstalk and Communication in Tumour\n"
    "           Microenvironments},\n"
    "  author = {Zhou, Yongqi and Cheng, Lu},\n  year = {2023},\n"
    "  journal = {Molecular Cancer},\n  note = {our copy},\n"
    "}\n"
)


async def test_an_import_reports_look_alikes_and_offers_their_merge(world):
    bot, _ = world
    await bot.bibs.add(member(), SEED, note="seminal", tags="nk")
    report = await bot.bibs.import_file(member(BOB), "lab.bib", LOOKALIKE.encode())
    assert len(report.added) == 1 and report.offers is not None
    assert "1 possible duplicates" in report.summary()
    assert "line 1: zhou2023nk looks like " in report.text()
    assert len(await entries(bot)) == 2
    # another member, without Manage Server, may not merge what Bob imported
    with pytest.raises(PermissionDenied):
        await bot.bibs.settle_offers(member(ALICE), report.offers, merge=True)
    # another server does not see the offer at all
    with pytest.raises(BibliographyError):
        await bot.bibs.settle_offers(member(BOB, guild=OTHER_GUILD), report.offers, merge=True)
    text = (await bot.bibs.settle_offers(member(BOB), report.offers, merge=True)).text()
    # Bob's entry got a key of its own (the seed had the file's): that key is what goes
    assert "Merged 1" in text and "`zhou2023nk` kept (`zhou2023nka` is gone)" in text
    [entry] = await entries(bot)
    assert entry.work.doi == SEED and entry.tags == ("nk",) and entry.note == "seminal"
    with pytest.raises(BibliographyError, match="no longer there"):  # clicked twice
        await bot.bibs.settle_offers(member(BOB), report.offers, merge=True)


async def test_look_alikes_kept_apart_are_not_offered_again(world):
    bot, _ = world
    await bot.bibs.add(member(), SEED)
    first = await bot.bibs.import_file(member(), "lab.bib", LOOKALIKE.encode())
    kept = (await bot.bibs.settle_offers(member(), first.offers, merge=False)).text()
    assert "Kept apart" in kept and len(await entries(bot)) == 2
    second = await bot.bibs.import_file(member(), "lab.bib", LOOKALIKE.encode())
    assert second.offers is None and not second.possible  # the same entry: already there


async def test_saving_a_look_alike_offers_the_merge_in_its_reply(world):
    bot, _ = world
    report = await bot.bibs.import_file(member(), "lab.bib", LOOKALIKE.encode())
    assert report.added and report.offers is None
    saved, _ = await bot.bibs.add(member(), SEED, tags="nk", note="read first")
    assert saved.created and saved.possible is not None and saved.offers is not None
    assert "It looks like `zhou2023nk` there" in saved.message()
    await bot.bibs.settle_offers(member(), saved.offers, merge=True)
    [entry] = await entries(bot)
    # the existing entry stays (its key), the version with a DOI gives the metadata
    assert entry.cite_key == "zhou2023nk" and entry.work.doi == SEED
    assert entry.note == "read first" and entry.tags == ("nk",)


async def test_one_file_with_both_versions_and_a_look_alike(world):
    bot, _ = world
    vor, pre = await lookup(bot, PUBLISHED), await lookup(bot, PREPRINT)
    family = vor.authors[0].family
    bib = (
        f"@article{{pre,\n  title = {{{pre.title}}},\n  doi = {{{PREPRINT}}},\n}}\n"
        f"@article{{vor,\n  title = {{{vor.title}}},\n  doi = {{{PUBLISHED}}},\n"
        f"  author = {{{family}, A.}},\n  year = {{{vor.year}}},\n}}\n"
        f"@misc{{copy,\n  title = {{{vor.title.upper()}}},\n  author = {{{family}, A.}},\n"
        f"  year = {{{vor.year}}},\n}}\n"
    )
    report = await bot.bibs.import_file(member(), "both.bib", bib.encode())
    keys = sorted(e.cite_key for e in await entries(bot))
    assert keys == ["copy", "vor"], report.text()
    assert any("line 1: pre → line 5: vor (its published version)" in j for j in report.joined)
    assert [p.split(": ", 1)[1] for p in report.possible] == ["copy looks like line 5: vor"]
    assert report.offers is not None


async def test_short_titles_and_other_years_are_not_look_alikes(world):
    bot, _ = world
    seed = await lookup(bot, SEED)
    bib = await bot.bibs.resolve(member(), None)
    items = [
        NewEntry(dataclasses.replace(seed, doi="10.9/a", title="Editorial")),
        NewEntry(dataclasses.replace(seed, doi="10.9/b", title="Editorial")),
        NewEntry(dataclasses.replace(seed, doi="10.9/c", year=(seed.year or 0) + 1)),
    ]
    await bot.bibs.store.add_many(member().owner, bib.id, items[:1], by=ALICE)
    from bot.storage.bibliographies import AddDetails

    details = AddDetails()
    await bot.bibs.store.add_many(member().owner, bib.id, items[1:], by=ALICE, details=details)
    assert details.possible == {} and details.offered is None


# -- a scan of what is there ---------------------------------------------------------------------


async def test_a_scan_finds_what_was_saved_before_duplicates_were_caught(world):
    """Entries that went in together (one batch is not matched against itself) or before
    migration 9: a preprint beside its article, an arXiv record beside the same paper imported
    with its arXiv id, a look-alike. Listing is for everyone; merging needs Manage Server."""
    bot, _ = world
    pre, vor = await lookup(bot, PREPRINT), await lookup(bot, PUBLISHED)
    seed = await lookup(bot, SEED)
    arxiv = await lookup(bot, f"arXiv:{ARXIV}")
    twin = dataclasses.replace(arxiv, doi=None, type="article-journal")
    lookalike = dataclasses.replace(seed, doi=None, title=seed.title.upper(), pmid=None, pmcid=None)
    bib = await bot.bibs.resolve(member(), None)
    items = [NewEntry(w) for w in (pre, vor, seed, arxiv, twin, lookalike)]
    await bot.bibs.store.add_many(member().owner, bib.id, items, by=ALICE)
    assert len(await entries(bot)) == 6

    found = await bot.bibs.find_duplicates(member(BOB))
    hows = sorted(how for _, how in found.pairs)
    assert hows == sorted([duplicates.PREPRINT, duplicates.SAME, duplicates.TITLE])
    text = found.text()
    assert "3 pair(s) in **general** look like one paper" in text
    assert "a preprint and its published version" in text
    with pytest.raises(PermissionDenied):  # a member may list, not merge everyone's entries
        await bot.bibs.settle_offers(member(BOB), found.batch, merge=True)
    again = await bot.bibs.find_duplicates(member())
    assert len(again.pairs) == 3  # still open: listed again, in the new batch
    settled = await bot.bibs.settle_offers(member(ADMIN, manage=True), again.batch, merge=True)
    assert len(settled.merged) == 3
    left = await entries(bot)
    assert len(left) == 3
    assert PUBLISHED in {(e.work.doi or "").lower() for e in left}  # the version of record
    assert (await bot.bibs.find_duplicates(member())).pairs == []


async def test_a_scan_leaves_out_pairs_kept_apart_and_other_servers_entries(world):
    bot, _ = world
    seed = await lookup(bot, SEED)
    lookalike = dataclasses.replace(seed, doi="10.9/other", title=seed.title + ".")
    for guild in (GUILD, OTHER_GUILD):
        bib = await bot.bibs.resolve(member(guild=guild), None)
        items = [NewEntry(seed), NewEntry(lookalike)]
        await bot.bibs.store.add_many(member(guild=guild).owner, bib.id, items, by=ALICE)
    found = await bot.bibs.find_duplicates(member(manage=True))
    assert len(found.pairs) == 1
    await bot.bibs.settle_offers(member(manage=True), found.batch, merge=False)
    assert (await bot.bibs.find_duplicates(member(manage=True))).pairs == []
    other = await bot.bibs.find_duplicates(member(guild=OTHER_GUILD, manage=True))
    assert len(other.pairs) == 1  # the other server's pair is its own
