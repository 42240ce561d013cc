"""`litbot styles [QUERY]`, and the terminal's word on unknown styles."""

from __future__ import annotations

import pytest

import bot.__main__ as entry
from tests.upstream_mock import BASES, MockUpstreams

SEED = "10.1186/s12943-023-01737-7"


@pytest.fixture
def terminal(fixtures_dir, tmp_path, monkeypatch):
    upstreams = MockUpstreams(fixtures_dir)
    monkeypatch.setattr(entry, "make_client", lambda settings: upstreams.client())
    for name, url in BASES.items():
        monkeypatch.setenv(f"LITBOT_{name.upper()}_URL", url)
    monkeypatch.setenv("LITBOT_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return upstreams


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("query", "first", "absent"),
    [
        (["vanc"], "nlm-citation-sequence", "advanced-science"),
        (["apa"], "apa", None),
        (["molecular", "cancer"], "molecular-cancer", None),
        (["MLA"], "modern-language-association", None),
    ],
)
def test_styles_searches_as_autocomplete_ranks(terminal, capsys, query, first, absent):
    assert entry.main(["styles", *query]) == 0
    out = lines(capsys)
    assert 0 < len(out) <= 25 and out[0].split()[0] == first
    assert absent is None or all(line.split()[0] != absent for line in out)


def test_styles_lists_the_bundle_and_names_a_journals_parent(terminal, capsys):
    assert entry.main(["styles"]) == 0
    independent = lines(capsys)
    assert 2500 < len(independent) < 3500
    assert any(line.split()[0] == "apa" and "APA Style 7th edition" in line for line in independent)
    assert entry.main(["styles", "--all"]) == 0
    every = lines(capsys)
    assert len(every) > 10_000
    journal = next(line for line in every if line.split()[0] == "molecular-cancer")
    assert "uses springer-vancouver-brackets" in journal
    assert entry.main(["styles", "ieee", "--limit", "3"]) == 0
    assert len(lines(capsys)) == 3


def test_styles_without_a_match_says_so(terminal, capsys):
    assert entry.main(["styles", "zzqxw"]) == 2
    assert "no bundled style matches" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["cite", SEED, "--style", "zzqx wobble"],
        ["cite", SEED, "--style", "chicgo"],
        ["bib", "export", "--guild", "1", "--format", "zzqx"],
    ],
)
def test_an_unknown_style_in_the_terminal_points_at_litbot_styles(terminal, capsys, args):
    assert entry.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "litbot styles QUERY" in err and "Start typing" not in err
    assert sum(terminal.calls.values()) == 0  # refused before any lookup
