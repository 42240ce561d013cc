"""The compact card: at most 12 lines of a desktop client, for every work in the fixtures.

How a line is measured (``desktop_lines``): Discord's desktop client shows an embed at most
about 520 px wide; with its padding, a line of description text (gg sans, 14 px) holds about
60–70 characters and a line of the title (16 px, semibold) about 52–60. This test counts 64
and 56, wraps each description line (and each field's name and value, and the footer) greedily
on words as the client does, and counts what is *shown*: a masked link ``[label](url)`` as its
label, Markdown escapes and emphasis markers as nothing, an emoji as two characters. A blank
line counts as a line. The card is built for narrower lines (60 and 50), so it keeps its
height in a narrower window too.
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
import unicodedata

import pytest

from bot.merge import merge
from bot.models import Access, Author, Update, Work
from bot.sources import crossref, openalex, semanticscholar, unpaywall
from bot.ui.cards import compact_links, render_card, render_compact, render_sources
from bot.ui.notes import reader_note, reader_notes
from tests.conftest import FIXTURES, SYNTHETIC, load
from tests.discord_limits import embed_problems
from tests.inert import payload_problems

DESCRIPTION_WIDTH = 64
TITLE_WIDTH = 56
MAX_LINES = 12
LINKED_HOSTS = {
    "doi.org",
    "orcid.org",
    "pubmed.ncbi.nlm.nih.gov",
    "pmc.ncbi.nlm.nih.gov",
    "arxiv.org",
}

_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_MARKS = re.compile(r"(?<!\\)(?:\*\*|\*|__|~~|\|\|)")


def shown(markdown: str) -> str:
    """The characters a reader sees for a line of Discord Markdown."""
    text = _LINK.sub(lambda m: m[1], markdown)
    text = _MARKS.sub("", text)
    return re.sub(r"\\(.)", r"\1", text)


def width(text: str) -> str:
    """``text`` with each emoji doubled (they take about two characters' room); variation
    selectors and zero-width characters take none."""
    out = []
    for char in text:
        if char in "\ufe0f\u200b\u200d":
            continue
        out.append(char * 2 if unicodedata.category(char) == "So" else char)
    return "".join(out)


def wrapped(markdown: str, columns: int) -> int:
    return sum(
        max(1, len(textwrap.wrap(width(shown(line)), columns, break_on_hyphens=False)))
        for line in markdown.split("\n")
    )


def desktop_lines(embed: dict) -> int:
    """Lines a desktop client uses for the embed's title, description, fields and footer."""
    lines = wrapped(embed.get("title") or "", TITLE_WIDTH) if embed.get("title") else 0
    if embed.get("description"):
        lines += wrapped(embed["description"], DESCRIPTION_WIDTH)
    for field in embed.get("fields") or []:
        lines += wrapped(field["name"], DESCRIPTION_WIDTH) + wrapped(field["value"], 64)
    if (embed.get("footer") or {}).get("text"):
        lines += wrapped(embed["footer"]["text"], DESCRIPTION_WIDTH)
    return lines


def test_the_measure():
    assert shown(r"[Ann Lee](https://orcid.org/0000-0001) · \*not\* **bold**") == (
        "Ann Lee · *not* bold"
    )
    assert wrapped("x" * 64, 64) == 1 and wrapped("x" * 65, 64) == 2
    assert wrapped("a\n\nb", 64) == 3
    assert width("🔓 ok") == "🔓🔓 ok"


def _record(source: str, name: str):
    parsers = {
        "crossref": crossref.parse_work,
        "openalex": openalex.parse_work,
        "unpaywall": unpaywall.parse_work,
        "s2": semanticscholar.parse_paper,
    }
    folder = {"s2": "semanticscholar"}.get(source, source)
    try:
        data = load(f"{folder}/{name}.json")
    except FileNotFoundError:
        return None
    if not isinstance(data, dict) or data.get("message-type", "work") != "work":
        return None
    try:
        return parsers[source](data)
    except Exception:
        return None


def fixture_works() -> list[tuple[str, Work]]:
    """Every recorded work (merged from each source recorded under its name), the seed, the
    crafted record and pathological ones."""
    names = sorted(
        {
            p.stem
            for folder in ("crossref", "openalex")
            if (FIXTURES / folder).is_dir()
            for p in (FIXTURES / folder).glob("*.json")
            if not p.stem.startswith(("error-", "list-", "select-", "agency-"))
        }
    )
    works = []
    for name in names:
        records = {
            s: r for s in ("crossref", "openalex", "unpaywall", "s2") if (r := _record(s, name))
        }
        if records:
            works.append((name, merge(records)))
    seed = {
        "openalex": openalex.parse_work(json.loads((SYNTHETIC / "openalex-seed.json").read_text())),
        "crossref": crossref.parse_work(json.loads((SYNTHETIC / "crossref-seed.json").read_text())),
    }
    works.append(("seed", merge(seed)))
    from tests.synthetic import make_crafted

    crafted = {
        "crossref": crossref.parse_work(make_crafted.crossref()),
        "openalex": openalex.parse_work(make_crafted.openalex()),
        "unpaywall": unpaywall.parse_work(make_crafted.unpaywall()),
    }
    works.append(("crafted", merge(crafted)))
    works.append(("pathological", pathological()))
    works.append(("everything", everything()))
    return works


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
            "gold", "cc-by", "https://example.org/" + "p" * 600, "published", "unpaywall"
        ),
        provenance={f: "crossref" for f in ("title", "authors", "venue", "year", "abstract")},
        notes=tuple("note " * 100 for _ in range(30)),
        missing=("s2", "unpaywall"),
        retracted=True,
        retraction_notice="10.1234/notice",
    )


def everything() -> Work:
    """Every optional line at once: retraction, notices, preprint, identifiers, notes."""
    return Work(
        doi="10.48550/arxiv.2004.15011",
        title="Supercalifragilisticexpialidocious-Antidisestablishmentarianism " * 4,
        authors=tuple(
            Author(f"Wolfeschlegelsteinhausenbergerdorff{i} Hubert", orcid="0000-0002-1825-0097")
            for i in range(3)
        ),
        year=2020,
        venue="Proceedings of an extraordinarily long-named conference on everything " * 3,
        type="preprint",
        cited_by_count=12345,
        tldr="A very long TL;DR sentence that keeps going. " * 20,
        access=Access("green", None, "https://arxiv.org/pdf/2004.15011", "submitted", "openalex"),
        pmid="12345678",
        pmcid="PMC1234567",
        arxiv="2004.15011",
        arxiv_version=3,
        published_doi="10.1103/physrevd.103.0" + "1" * 40,
        journal_ref="Phys. Rev. D 103, " * 10,
        retracted=True,
        retraction_notice="10.1234/notice",
        updates=(
            Update("correction", "10.1234/c1", "2021-02-03", "crossref"),
            Update("expression_of_concern", "10.1234/e1", "2021", "retraction-watch"),
        ),
        provenance={"tldr": "s2", "retracted": "retraction-watch"},
        notes=("Name order of author 2 corrected (given/family swapped).",),
        missing=("crossref",),
    )


WORKS = fixture_works()


@pytest.mark.parametrize(("name", "work"), WORKS, ids=[n for n, _ in WORKS])
def test_compact_card_fits_twelve_desktop_lines(name, work):
    embed = render_compact(work).to_dict()
    assert desktop_lines(embed) <= MAX_LINES, (name, embed)
    assert embed_problems(embed) == []
    payload = {"embeds": [embed], "allowed_mentions": {"parse": []}}
    assert payload_problems(payload, hosts=LINKED_HOSTS) == []
    assert "@everyone" not in json.dumps(embed) and "@here" not in json.dumps(embed)


def test_there_are_many_fixture_works():
    assert len(WORKS) >= 30


def test_compact_card_has_what_a_reader_needs():
    work = next(w for n, w in WORKS if n == "addr-2015")
    embed = render_compact(work).to_dict()
    text = embed["description"]
    assert embed["url"] == f"https://doi.org/{work.doi}"
    assert "Advanced Drug Delivery Reviews · 2015 · 750 citations" in text
    assert "🔓 Open access (hybrid) · CC BY-NC-ND · published version" in text
    assert "Abstract" not in text and "Sources:" not in json.dumps(embed)  # behind buttons
    assert not embed.get("fields") and not embed.get("footer")


def test_orcid_pubmed_and_pmc_are_linked():
    work = everything()
    text = render_compact(work).to_dict()["description"]
    assert "](https://orcid.org/0000-0002-1825-0097)" in text
    assert "[PMID 12345678](https://pubmed.ncbi.nlm.nih.gov/12345678/)" in text
    assert "[PMC1234567](https://pmc.ncbi.nlm.nih.gov/articles/PMC1234567/)" in text


def test_retraction_and_notices_come_first():
    lines = render_compact(everything()).to_dict()["description"].splitlines()
    assert lines[0] == (
        "⚠️ **Retracted** · via Retraction Watch (via Crossref) · "
        "[notice](https://doi.org/10.1234/notice)"
    )
    assert lines[1].startswith("⚠️ **Expression of concern** · ")
    assert "[notice](https://doi.org/10.1234/e1)" in lines[1]
    assert lines[1].endswith(" · +1 more under Sources")


def test_closed_access_says_so_once_and_links_the_source_once():
    work = next(w for n, w in WORKS if n == "kluwer-1999-a1007154515475")
    text = json.dumps(render_compact(work).to_dict())
    assert text.count("not openly licensed") == 1
    assert compact_links(work) == [("Read at source", "https://doi.org/10.1023/a:1007154515475")]


def test_gold_open_access_has_one_button_for_one_place():
    work = next(w for n, w in WORKS if n == "plos-one-tpi-deficiency")
    assert work.access.host_type == "publisher"
    labels = [label for label, _ in compact_links(work)]
    assert labels == [labels[0]] and labels[0].startswith("Open copy")


def test_a_copy_elsewhere_keeps_the_publisher_button():
    work = dataclasses.replace(
        everything(),
        access=Access(
            "green",
            "cc-by",
            "https://repo.example/x.pdf",
            "accepted",
            "unpaywall",
            host_type="repository",
        ),
    )
    assert [label for label, _ in compact_links(work)] == ["Open copy (accepted)", "Publisher page"]


@pytest.mark.parametrize(
    ("note", "reads"),
    [
        (
            "Name order of author 2 corrected (given/family swapped).",
            "The second author's first and last names were swapped in one database; "
            "corrected here.",
        ),
        (
            "Crossref did not answer (HTTP 503).",
            "Crossref did not respond, so some details may be missing.",
        ),
        (
            "Semantic Scholar is slow; its fields will show on the next lookup.",
            "Still waiting for Semantic Scholar; the card fills in when they answer.",
        ),
        (
            "Sources unreachable; showing the copy cached 2026-01-02 03:04 UTC.",
            "The databases cannot be reached right now; this is the copy litbot saved on "
            "2026-01-02 03:04 UTC.",
        ),
        ("Something new.", "Something new."),
    ],
)
def test_notes_in_the_readers_words(note, reads):
    assert reader_note(note) == reads


def test_failed_sources_are_named_once_on_the_compact_card():
    work = dataclasses.replace(
        everything(),
        notes=("Crossref did not answer (HTTP 503).", "Unpaywall did not answer (timed out)."),
        missing=("crossref", "unpaywall"),
    )
    text = render_compact(work).to_dict()["description"]
    assert text.count("did not respond") == 1
    assert "Crossref and Unpaywall did not respond" in text
    assert len(reader_notes(work)) == 2


def test_full_card_keeps_its_fields_and_reads_notes_in_plain_words():
    work = next(w for n, w in WORKS if n == "addr-2015")
    work = dataclasses.replace(
        work, notes=("Name order of author 2 corrected (given/family swapped).",)
    )
    embed = render_card(work).to_dict()
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Access", "Identifiers", "Note"]
    assert "Abstract" in embed["description"] and "Sources:" in embed["footer"]["text"]
    assert "second author" in embed["fields"][2]["value"]


def test_sources_view_keeps_the_record():
    work = everything()
    embed = render_sources(work).to_dict()
    assert embed_problems(embed) == []
    notes = next(f for f in embed["fields"] if f["name"] == "Notes (as recorded)")["value"]
    assert "Name order of author 2" in notes
    assert "Correction" in next(f for f in embed["fields"] if f["name"] == "Notices")["value"]
    assert embed_problems(render_sources(pathological()).to_dict()) == []


def test_a_work_shown_again_gets_its_card_from_memory_each_caller_its_own_copy():
    work = everything()
    first, again = render_compact(work), render_compact(work)
    assert first is not again and first.to_dict() == again.to_dict()
    first.title = "changed by one caller"
    assert render_compact(work).title == again.title  # the kept card is untouched
    newer = dataclasses.replace(work, title="A newer title")  # a late source changed it
    assert render_compact(newer).title.startswith("A newer title")
    assert render_compact(work, 2).title.startswith("2️⃣")  # numbered cards kept apart
    assert not render_compact(work).title.startswith("2️⃣")
