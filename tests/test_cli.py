"""`litbot paper` and `litbot run` through main(): output, JSON keys, exit codes."""

from __future__ import annotations

import json

import pytest

import bot.__main__ as entry
from tests.conftest import SYNTHETIC
from tests.upstream_mock import BASES, Canned, MockUpstreams

SEED = "10.1186/s12943-023-01737-7"
REQUIRED = {
    "doi",
    "title",
    "authors",
    "year",
    "venue",
    "type",
    "volume",
    "issue",
    "pages",
    "cited_by_count",
    "abstract",
    "retracted",
    "access",
    "provenance",
    "fetched_at",
}


@pytest.fixture
def mock(fixtures_dir, tmp_path, monkeypatch):
    upstreams = MockUpstreams(fixtures_dir)
    upstreams.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    upstreams.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    monkeypatch.setattr(entry, "make_client", lambda settings: upstreams.client())
    env = {f"LITBOT_{name.upper()}_URL": url for name, url in BASES.items()}
    env["LITBOT_DB"] = str(tmp_path / "cli.sqlite3")
    env["LITBOT_HTTP_RETRIES"] = "0"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return upstreams


def test_paper_json_has_every_documented_key(mock, capsys):
    assert entry.main(["paper", SEED, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert REQUIRED <= set(data)
    assert (
        data["title"]
        == "NK cells are never alone: crosstalk and communication in tumour microenvironments"
    )
    assert [(a["given"], a["family"]) for a in data["authors"]] == [
        ("Yongqiang", "Zhou"),
        ("Cheng", "Lu"),
        ("Lu", "Liu"),
        ("Xun", "Li"),
    ]
    assert set(data["authors"][0]) >= {"given", "family", "name", "orcid"}
    assert (data["year"], data["venue"]) == (2023, "Molecular Cancer")
    assert data["access"]["licence"] == "cc-by"
    assert data["access"]["status"] in {"gold", "green", "hybrid", "bronze", "diamond", "closed"}
    assert set(data["access"]) >= {"status", "licence", "url", "version", "source"}
    assert data["provenance"]["title"] == "crossref"
    assert data["fetched_at"].startswith("20")


@pytest.mark.parametrize(
    "form",
    [
        f"https://doi.org/{SEED}",
        f"doi:{SEED}",
        f"https://link.springer.com/article/{SEED}",
        f"{SEED.upper()}.",
    ],
)
def test_same_json_whichever_doi_form(mock, capsys, form):
    entry.main(["paper", SEED, "--json"])
    first = json.loads(capsys.readouterr().out)
    assert entry.main(["paper", form, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first


def test_paper_text_card(mock, capsys):
    assert entry.main(["paper", "10.1016/j.addr.2015.01.008"]) == 0
    out = capsys.readouterr().out
    assert "Pharmacokinetics, biodistribution and cell uptake" in out
    assert "Richard S. Geary, Daniel Norris, Rosie Yu, C. Frank Bennett" in out
    assert "CC BY-NC-ND" in out


def test_invalid_input_exits_2_with_one_line(mock, capsys):
    assert entry.main(["paper", "https://example.com/paper"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("litbot: ") and "\n" not in err
    assert sum(mock.calls.values()) == 0


def test_unknown_doi_exits_2(mock, capsys):
    assert entry.main(["paper", "10.9999/unknown-thing"]) == 2
    err = capsys.readouterr().err.strip()
    assert "10.9999/unknown-thing" in err and "\n" not in err


def test_upstream_trouble_exits_3(mock, capsys):
    for name in ("openalex", "crossref", "unpaywall", "s2"):
        mock.fail(name, Canned(503, b"busy", "text/plain"))
    assert entry.main(["paper", "10.7554/elife.01567"]) == 3
    assert "did not answer" in capsys.readouterr().err


def test_run_without_token_explains_how_to_get_one(mock, capsys):
    assert entry.main(["run"]) == 2
    err = capsys.readouterr().err
    assert "DISCORD_TOKEN" in err and "litbot paper" in err


def test_cite_prints_plain_apa_for_the_seed_paper(mock, capsys):
    assert entry.main(["cite", SEED, "--style", "apa"]) == 0
    out = capsys.readouterr().out
    assert out == (
        "Zhou, Y., Lu, C., Liu, L., & Li, X. (2023). NK cells are never alone: crosstalk and "
        "communication in tumour microenvironments. Molecular Cancer, 22(1), 34. "
        "https://doi.org/10.1186/s12943-023-01737-7\n"
    )


def test_cite_formats_and_unknown_styles(mock, capsys):
    assert entry.main(["cite", f"https://doi.org/{SEED}", "--style", "bibtex"]) == 0
    assert capsys.readouterr().out.startswith("@article{zhou2023nk,")
    assert entry.main(["cite", SEED, "-s", "ris"]) == 0
    assert "TY  - JOUR" in capsys.readouterr().out
    assert entry.main(["cite", SEED, "--style", "csl-json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["DOI"] == SEED
    assert entry.main(["cite", SEED, "--style", "chicago-autor-date"]) == 2
    err = capsys.readouterr().err
    assert "chicago-author-date" in err and len(err.strip().splitlines()) == 1


def test_bib_import_then_export_from_the_database(mock, capsys, tmp_path):
    from pathlib import Path

    data = Path(__file__).parent / "data" / "lab-export.bib"
    assert entry.main(["bib", "import", "--guild", "42", "--name", "club", str(data)]) == 2
    assert "no bibliography called" in capsys.readouterr().err  # names are not invented
    assert entry.main(["bib", "import", "--guild", "42", str(data)]) == 0  # the server's default
    assert "4 added" in capsys.readouterr().out
    out_file = tmp_path / "backup.bib"
    assert entry.main(["bib", "export", "--guild", "42", "--out", str(out_file)]) == 0
    assert out_file.read_text().count("@") == 4
    assert entry.main(["bib", "export", "--guild", "43"]) == 2  # another server: nothing
    assert entry.main(["bib", "export", "--guild", "42", "--format", "apa"]) == 0
    assert "Müller, A." in capsys.readouterr().out


def test_neighbours_lists_related_works_or_says_why_not(mock, capsys):
    assert entry.main(["neighbours", "10.7554/elife.01567", "--kind", "related"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Related works of:") and "via OpenAlex" in out
    assert entry.main(["neighbours", "10.7554/elife.01567", "--kind", "cited-by"]) == 0
    assert capsys.readouterr().out.startswith("Cited by of:")


def test_bib_merge_settles_the_look_alikes_an_import_reported(mock, capsys, tmp_path):
    seed = tmp_path / "seed.txt"
    seed.write_text(f"{SEED}\n")
    assert entry.main(["bib", "import", "--guild", "42", str(seed)]) == 0
    capsys.readouterr()
    lookalike = tmp_path / "lab.bib"
    lookalike.write_text(
        "@article{nk,\n  title = {{NK} Cells Are Never Alone: Crosstalk and Communication in "
        "Tumour Microenvironments},\n  author = {Zhou, Yongqi},\n  year = {2023},\n}\n"
    )
    assert entry.main(["bib", "import", "--guild", "42", str(lookalike)]) == 0
    report = capsys.readouterr().out
    assert "1 possible duplicates" in report
    offer = int(report.split("litbot bib merge ")[1].split("`")[0])
    assert entry.main(["bib", "merge", "--guild", "43", str(offer)]) == 2  # not that server's
    assert "no longer there" in capsys.readouterr().err
    assert entry.main(["bib", "merge", "--guild", "42", str(offer)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Merged 1 in “general”:") and "`nk` is gone" in out
    assert entry.main(["bib", "export", "--guild", "42"]) == 0
    assert capsys.readouterr().out.count("@article{") == 1


def test_bib_duplicates_numbers_the_merges_it_offers(mock, capsys, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{SEED}\n")
    assert entry.main(["bib", "import", "--guild", "42", str(ids)]) == 0
    lookalike = tmp_path / "lab.bib"
    lookalike.write_text(
        "@article{nk,\n  title = {{NK} Cells Are Never Alone: Crosstalk and Communication in "
        "Tumour Microenvironments},\n  author = {Zhou, Yongqi},\n  year = {2023},\n}\n"
    )
    assert entry.main(["bib", "import", "--guild", "42", str(lookalike)]) == 0
    capsys.readouterr()
    assert entry.main(["bib", "duplicates", "--guild", "42"]) == 0
    out = capsys.readouterr().out
    assert "1 pair(s) in “general” look like one paper" in out
    offer = out.split("litbot bib merge --guild 42 ")[1].split()[0]
    assert entry.main(["bib", "merge", "--guild", "42", offer]) == 0
    assert "Merged 1" in capsys.readouterr().out
    assert entry.main(["bib", "duplicates", "--guild", "42"]) == 0
    assert capsys.readouterr().out.strip() == "No duplicates in “general”."
