"""/summary and `litbot summary`: TL;DR with its origin, key sentences, the full abstract."""

from __future__ import annotations

import pytest

import bot.__main__ as entry
from bot.summaries import tldr
from bot.ui.components import DYNAMIC_ITEMS
from cogs.summary import SummaryCog
from tests.discord_harness import component_payload, invoke, slash_payload
from tests.discord_limits import message_problems
from tests.upstream_mock import BASES, MockUpstreams
from tests.world import litbot

WITH_ABSTRACT = "10.7554/elife.01567"
NO_ABSTRACT = "10.1007/s40278-023-41815-2"  # Reactions Weekly: no source has an abstract
S2_TLDR = "10.1093/mind/lix.236.433"  # Turing 1950: Semantic Scholar has a TL;DR


@pytest.fixture
async def env(fixtures_dir, tmp_path):
    async with litbot(tmp_path, MockUpstreams(fixtures_dir), summarise=tldr, late_grace=5) as bot:
        await bot.add_cog(SummaryCog(bot))
        bot.add_dynamic_items(*DYNAMIC_ITEMS)
        yield bot


async def summary(bot, query: str):
    calls = await invoke(bot, slash_payload("summary", query=query))
    assert calls[0].callback_type == 5  # deferred before any lookup
    payload = calls[-1].payload
    assert message_problems(payload) == []
    return payload


async def test_local_tldr_is_labelled_and_key_sentences_come_in_abstract_order(env):
    payload = await summary(env, WITH_ABSTRACT)
    description = payload["embeds"][0]["description"]
    assert "**TL;DR (generated locally from the abstract):**" in description
    assert "**Key sentences of the abstract** (Crossref)" in description
    bullets = [line[2:] for line in description.splitlines() if line.startswith("• ")]
    assert 1 <= len(bullets) <= 3
    work = await env.papers.lookup(
        __import__("bot.identifiers").identifiers.parse_identifier(WITH_ABSTRACT)
    )
    positions = [work.abstract.find(b.replace("\\", "")[:40]) for b in bullets]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    buttons = payload["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == [
        f"lit:abstract:{WITH_ABSTRACT}",
        f"lit:cite:{WITH_ABSTRACT}",
    ]
    full = await invoke(env, component_payload(f"lit:abstract:{WITH_ABSTRACT}"))
    assert full[0].callback_type == 5 and full[0].payload["data"]["flags"] == 64
    embed = full[-1].payload["embeds"][0]
    assert embed["description"].startswith("Among various advantages")
    assert embed["footer"]["text"] == "Abstract via Crossref"


async def test_no_abstract_means_no_tldr_and_no_abstract_button(env):
    payload = await summary(env, NO_ABSTRACT)
    description = payload["embeds"][0]["description"]
    assert "no TL;DR" in description and "TL;DR (" not in description
    buttons = payload["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == [f"lit:cite:{NO_ABSTRACT}"]


async def test_semantic_scholar_tldr_wins_and_says_so(env):
    payload = await summary(env, S2_TLDR)
    description = payload["embeds"][0]["description"]
    assert "**TL;DR via Semantic Scholar:** If the meaning of the words" in description


def test_cli_summary_prints_the_tldr_and_key_sentences(fixtures_dir, tmp_path, monkeypatch, capsys):
    mock = MockUpstreams(fixtures_dir)
    monkeypatch.setattr(entry, "make_client", lambda settings: mock.client())
    for name, url in BASES.items():
        monkeypatch.setenv(f"LITBOT_{name.upper()}_URL", url)
    monkeypatch.setenv("LITBOT_DB", str(tmp_path / "cli.sqlite3"))
    monkeypatch.chdir(tmp_path)
    assert entry.main(["summary", WITH_ABSTRACT]) == 0
    out = capsys.readouterr().out
    assert "TL;DR (generated locally from the abstract):" in out
    assert "Key sentences of the abstract:" in out and "  • " in out
    assert entry.main(["summary", NO_ABSTRACT]) == 0
    assert "no TL;DR" in capsys.readouterr().out
