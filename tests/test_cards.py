"""The paper card: content, escaping and Discord's limits, on real and pathological records."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.merge import merge
from bot.models import Access, Author, Work
from bot.sources import crossref, openalex, semanticscholar, unpaywall
from bot.ui.cards import author_line, card_links, render_card
from bot.ui.terminal import render_text
from tests.conftest import load
from tests.discord_limits import embed_problems


def real_work(name: str) -> Work:
    records = {
        "openalex": openalex.parse_work(load(f"openalex/{name}.json")),
        "crossref": crossref.parse_work(load(f"crossref/{name}.json")),
    }
    try:
        records["unpaywall"] = unpaywall.parse_work(load(f"unpaywall/{name}.json"))
        records["s2"] = semanticscholar.parse_paper(load(f"semanticscholar/{name}.json"))
    except FileNotFoundError:
        pass
    return merge(records)


def pathological() -> Work:
    title = ("**Bold** _claim_ @everyone <@123> [click](https://evil.example) `code` " * 6)[:300]
    authors = tuple(
        Author(name=f"Given{i} Family{i}", family=f"Family{i}", given=f"Given{i}")
        for i in range(500)
    )
    return Work(
        doi="10.1234/" + "x" * 300,
        title=title,
        authors=authors,
        year=2024,
        venue="Journal of *Everything* " * 20,
        type="article",
        cited_by_count=10**9,
        abstract=("Abstract sentence with @here and ||spoilers||. " * 250)[:10_000],
        tldr="T" * 1000,
        access=Access(
            "gold",
            "cc-by",
            "https://example.org/" + "p" * 600,
            "published",
            "unpaywall",
            reason="r" * 2000,
            read_at="https://doi.org/10.1234/x",
        ),
        provenance={f: "crossref" for f in ("title", "authors", "venue", "year", "abstract")},
        notes=tuple("note " * 100 for _ in range(30)),
        missing=("s2",),
        retracted=True,
        retraction_notice="10.1234/notice",
    )


def test_pathological_record_fits_every_discord_limit():
    embed = render_card(pathological()).to_dict()
    assert embed_problems(embed) == []
    assert "@everyone" not in json.dumps(embed)  # neutralised even though mentions are off
    assert "**Bold**" not in embed["title"] and "\\*\\*Bold\\*\\*" in embed["title"]
    assert "et al. (500 authors)" in embed["description"]
    assert "retracted" in embed["description"]


def test_link_buttons_skip_urls_discord_would_refuse():
    links = card_links(pathological())
    assert all(len(url) <= 512 for _, url in links)


@pytest.mark.parametrize(
    "name",
    [
        "addr-2015",
        "plos-one-tpi-deficiency",
        "elife-01567",
        "reactions-weekly-2023",
        "acm-sigmod-2021",
        "cambridge-book",
    ],
)
def test_real_records_render_within_limits(name):
    work = real_work(name)
    embed = render_card(work).to_dict()
    assert embed_problems(embed) == []
    assert embed["url"] == f"https://doi.org/{work.doi}"
    assert "Sources:" in embed["footer"]["text"] and "fetched" in embed["footer"]["text"]
    access = next(f for f in embed["fields"] if f["name"] == "Access")
    assert ("open copy" in access["value"]) == bool(work.access.url)
    assert "Read at source" in access["value"] or work.access.url
    assert "<" not in embed["title"] and "&amp;" not in embed["description"]


def test_card_shows_licence_source_and_citations_with_their_source():
    work = real_work("addr-2015")
    embed = render_card(work).to_dict()
    access = next(f for f in embed["fields"] if f["name"] == "Access")["value"]
    assert "Open access (hybrid) · CC BY-NC-ND · published version · via Unpaywall" in access
    assert "750 citations (OpenAlex)" in embed["description"]
    assert "title, authors" in embed["footer"]["text"] and "Crossref" in embed["footer"]["text"]


def test_closed_work_says_citation_only_and_links_the_doi():
    work = real_work("kluwer-1999-a1007154515475")
    embed = render_card(work).to_dict()
    access = next(f for f in embed["fields"] if f["name"] == "Access")["value"]
    assert access.startswith("Citation only")
    assert "[Read at source →](https://doi.org/10.1023/a:1007154515475)" in access


def test_work_without_authors_or_abstract():
    work = real_work("reactions-weekly-2023")
    embed = render_card(work).to_dict()
    assert "No authors listed" in embed["description"]
    assert "No abstract available" in embed["description"]


def test_tldr_label_names_its_origin():
    work = dataclasses.replace(
        real_work("addr-2015"), tldr="A short summary.", provenance={"tldr": "s2"}
    )
    assert "TL;DR via Semantic Scholar" in render_card(work).description
    local = dataclasses.replace(work, provenance={"tldr": "local"})
    assert "generated locally from the abstract" in render_card(local).description


def test_author_line():
    people = tuple(Author(name=f"A{i}") for i in range(8))
    assert author_line(people[:3]) == "A0, A1, A2"
    assert author_line(people) == "A0, A1, A2, A3, A4, … A7 et al. (8 authors)"


def test_terminal_card_is_readable():
    text = render_text(real_work("plos-one-tpi-deficiency"))
    assert "Triose Phosphate Isomerase Deficiency" in text
    assert "https://doi.org/10.1371/journal.pone.0000030" in text
    assert "sources:" in text and "fetched:" in text


def test_crafted_record_card_is_inert_and_links_only_through_the_policy():
    from bot.sources import crossref as cr
    from bot.sources import openalex as oa
    from bot.sources import unpaywall as up
    from tests.inert import payload_problems
    from tests.synthetic import make_crafted

    work = merge(
        {
            "crossref": cr.parse_work(make_crafted.crossref()),
            "openalex": oa.parse_work(make_crafted.openalex()),
            "unpaywall": up.parse_work(make_crafted.unpaywall()),
        }
    )
    embed = render_card(work).to_dict()
    payload = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    assert payload_problems(payload, hosts={"doi.org", "repo.example"}) == []
    assert "\\<@&222222222222222222>" in embed["description"]
    assert embed["url"] == "https://doi.org/10.5555/crafted_%281%29x"
    assert dict(card_links(work)) == {
        "Open copy (published)": "https://repo.example/files/crafted%281%29.pdf?v=%3C@&222222222222222222%3E%29",
        "Publisher page": "https://doi.org/10.5555/crafted_%281%29x",
    }


def test_access_link_with_a_planted_masked_link_is_not_linked():
    planted = "https://repo.example/x.pdf) [Verify your account](https://evil.example/phish"
    work = dataclasses.replace(
        real_work("addr-2015"),
        access=Access("green", "cc-by", planted, "accepted", "unpaywall", read_at=planted),
    )
    access = next(f for f in render_card(work).to_dict()["fields"] if f["name"] == "Access")
    assert "evil.example" not in access["value"] and "](" not in access["value"]
    assert all("evil.example" not in url for _, url in card_links(work))
