"""CiteService: default styles per scope, the citation cache, and batch-dependent entries."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot import citations, citing
from bot.citing import CiteService, resolve_target
from bot.merge import merge
from bot.sources.crossref import parse_work
from bot.storage.citations import CitationCache
from bot.storage.preferences import Preferences
from tests.conftest import FIXTURES, SYNTHETIC


def crossref_work(path: Path):
    return merge({"crossref": parse_work(json.loads(path.read_text()))})


@pytest.fixture
def works():
    paths = sorted((FIXTURES / "crossref-corpus").glob("*.json"))[:40]
    out, firsts = [], set()
    for work in map(crossref_work, paths):  # distinct first authors: entries stand alone
        if work.authors and work.title and work.authors[0].family not in firsts:
            firsts.add(work.authors[0].family)
            out.append(work)
    return out[:20]


@pytest.fixture
def counter(monkeypatch):
    calls: list[int] = []
    real = citations.format_bibliography

    def counting(works, style, **kwargs):
        calls.append(len(works))
        return real(works, style, **kwargs)

    monkeypatch.setattr(citations, "format_bibliography", counting)
    return calls


def service(db) -> CiteService:
    return CiteService(None, CitationCache(db), Preferences(db))  # type: ignore[arg-type]


def test_targets_resolve_formats_aliases_and_refuse_unknown_names():
    assert resolve_target("BibTeX") == "bibtex"
    assert resolve_target("json") == "csl-json"
    assert resolve_target("RIS") == "ris"
    assert resolve_target(None) == "apa"
    assert resolve_target("APA") == "apa"
    with pytest.raises(citations.UnknownStyle) as caught:
        resolve_target("chicago autor date")
    assert "chicago-author-date" in caught.value.user_message


async def test_entries_are_cached_per_work_and_style_and_survive_a_restart(db, works, counter):
    cites = service(db)
    first = await cites.entries(works, "apa")
    assert len(first) == len(works) and all(first)
    formatted_first = sum(counter)
    assert formatted_first == len(works)
    again = await cites.entries(works, "apa")
    assert again == first and sum(counter) == formatted_first  # nothing formatted again
    restarted = service(db)  # empty memory: rows come from SQLite
    assert await restarted.entries(works, "apa") == first
    assert sum(counter) == formatted_first
    # another style or markup is another cache entry
    await cites.entries(works[:1], "apa", markup="text")
    assert sum(counter) == formatted_first + 1


async def test_a_changed_work_is_formatted_again(db, works, counter):
    cites = service(db)
    before = await cites.entries(works[:1], "apa")
    changed = replace(works[0], title="A corrected title")
    after = await cites.entries([changed], "apa")
    assert len(counter) == 2 and after != before and "A corrected title" in after[0]


async def test_same_author_same_year_is_disambiguated_within_one_list(db, works):
    a = works[0]
    b = replace(a, doi="10.5555/other", title="Another paper by the same people")
    entries = await service(db).entries([a, b], "apa", markup="text")
    year = str(a.year)
    # APA orders same-author-same-year works by title: "Another…" before "Sleep…"
    assert f"({year}b)" in entries[0] and f"({year}a)" in entries[1]
    # alone, each is plain again
    alone = await service(db).entries([b], "apa", markup="text")
    assert f"({year})" in alone[0]


async def test_numbered_styles_number_entries_by_position(db, works):
    style = resolve_target("vancouver")
    assert citing.is_numeric(style) and not citing.is_numeric("apa")
    entries = await service(db).entries(works[:3], style, markup="text")
    assert [e.split(".")[0] for e in entries] == ["1", "2", "3"]


async def test_default_style_is_per_server_and_per_user_and_never_crosses(db):
    cites = service(db)
    await cites.set_default_style("ieee", guild_id=1, user_id=10)
    await cites.set_default_style("nature", guild_id=None, user_id=10)
    assert await cites.default_style(guild_id=1, user_id=10) == "ieee"
    assert await cites.default_style(guild_id=2, user_id=10) == "apa"
    assert await cites.default_style(guild_id=None, user_id=10) == "nature"
    assert await cites.default_style(guild_id=None, user_id=11) == "apa"
    # a user id equal to a guild id is still another scope
    assert await cites.default_style(guild_id=None, user_id=1) == "apa"
    await cites.set_default_style(None, guild_id=1, user_id=10)
    assert await cites.default_style(guild_id=1, user_id=10) == "apa"


async def test_formats_come_back_with_labels_and_extensions(db):
    seed = merge(
        {
            "crossref": parse_work(json.loads((SYNTHETIC / "crossref-seed.json").read_text())),
        }
    )
    cites = service(db)
    bib = await cites.format([seed], "bibtex")
    assert (bib.label, bib.extension, bib.code_language) == ("BibTeX", "bib", "bibtex")
    assert bib.text.startswith("@article{zhou2023nk,")
    apa = await cites.format([seed], "apa")
    assert apa.is_style and apa.extension == "md" and "*Molecular Cancer*" in apa.text
    text = await cites.format([seed], "apa", markup="text")
    assert text.extension == "txt" and "*" not in text.text


async def test_entries_in_chunks_are_what_one_bibliography_of_all_of_them_prints(
    db, works, monkeypatch
):
    # the same first author three times, scattered through the list: chunks keep them together
    a, b, c = works[0], works[5], works[9]
    twins = [
        replace(a, doi=f"10.5555/twin.{n}", title=f"Twin study {n}", year=a.year) for n in range(3)
    ]
    given = replace(b, doi="10.5555/given", authors=(replace(b.authors[0], given="Zed"),))
    listed = [*works[:4], twins[0], *works[4:8], twins[1], given, *works[8:], twins[2], c]
    monkeypatch.setattr(citing, "CHUNK", 3)  # many chunks, each of whole author groups
    whole = citations.format_bibliography(listed, "apa", markup="markdown")
    assert await service(db).entries(listed, "apa") == whole
    assert await service(db).entries(listed, "apa") == whole  # from the cache


@pytest.mark.parametrize(
    "name",
    ["APA", "vancouver", "bibtex", "BibLaTeX", "json", "json.csl", "nature.csl", " IEEE ",
     "chicago author date", "molecular-cancer", None, ""],
)  # fmt: skip
def test_the_quick_path_resolves_as_the_search_does_or_leaves_it_to_the_search(name):
    quick = citing.quick_target(name)
    try:
        searched = resolve_target(name)
    except citations.UnknownStyle:
        searched = None
    assert quick is None or quick == searched


def test_a_title_or_a_typo_is_left_to_the_search_in_a_worker():
    assert citing.quick_target("Chicago Manual of Style 17th edition (author-date)") is None
    assert citing.quick_target("chicago autor date") is None
