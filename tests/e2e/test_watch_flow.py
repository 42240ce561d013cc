"""The living library end to end: the real ``litbot run`` process, the fake Discord, the fake
upstreams, and ``litbot bib watch`` in another process on the same database.

A member saves a work; the upstream then reports its retraction (the recorded Crossref record
with the ``updated-by`` entry apis.md §2.4 documents — no recorded retracted record exists);
the watch runs; exactly one alert reaches the channel and one the member's DMs; after a restart
and another run nothing is sent again; ``/bib list`` marks the entry and ``/cite`` warns.

This module runs its own bot (alerts delivered every 3 s) and its own upstream world, so the
retraction it injects is seen by no other test.
"""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from tests.e2e.conftest import seeded_world
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.process import BotProcess, bot_environment, run_once
from tests.fakes.upstreams import UpstreamServer
from tests.upstream_mock import with_retraction

PLOS = "10.1371/journal.pone.0000030"
NOTICE = "10.1371/journal.pone.9999999"


def retracted(fixtures_dir) -> str:
    recorded = (fixtures_dir / "crossref/plos-one-tpi-deficiency.json").read_bytes()
    return with_retraction(recorded, NOTICE, (2026, 11, 20))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lab(fixtures_dir, tmp_path_factory):
    async with (
        FakeDiscord(guilds=("lab",)) as fake,
        UpstreamServer(seeded_world(fixtures_dir)) as upstreams,
    ):
        folder = tmp_path_factory.mktemp("watch")
        env = bot_environment(fake, upstreams, folder, LITBOT_WATCH_POLL_MINUTES="0.05")
        code, _, err = await run_once(env, folder, "sync")
        assert code == 0, err
        running = {"bot": await BotProcess(env, folder).start("run")}
        try:
            await running["bot"].until_ready(fake)
            yield fake, upstreams, env, folder, running
        finally:
            await running["bot"].stop()  # the one running now (the test restarts it)


def alerts_in(fake: FakeDiscord, channel: str) -> list:
    return [m for m in fake.channel_messages(channel) if "Library alert" in m.content]


async def until(check, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.2)


@pytest.mark.asyncio(loop_scope="session")
async def test_a_retraction_is_alerted_once_and_shows_everywhere(lab, fixtures_dir):
    fake, upstreams, env, folder, running = lab
    process = running["bot"]
    guild = fake.guild("lab")
    added = await fake.slash("bib add", guild="lab", user="alice", query=PLOS)
    assert "Added" in added.content

    upstreams.world.add("crossref", PLOS, retracted(fixtures_dir))
    code, out, err = await run_once(env, folder, "bib", "watch")
    assert code == 0, err
    assert f"{PLOS}: Retraction 2026-11-20 (notice: doi:{NOTICE})" in out
    assert "2 alert(s) planned" in out

    dm = fake.dm_channel(fake.user("alice"))
    try:
        await until(lambda: alerts_in(fake, guild.channel_id) and alerts_in(fake, dm))
    except AssertionError:
        raise AssertionError(
            f"no alerts: {fake.channel_messages(guild.channel_id)} {fake.channel_messages(dm)}\n"
            + "\n".join(process.lines[-40:])
        ) from None
    await asyncio.sleep(4)  # another delivery round: nothing more
    (in_channel,) = alerts_in(fake, guild.channel_id)
    (in_dms,) = alerts_in(fake, dm)
    for message in (in_channel, in_dms):
        assert "⚠️ **Retraction** 2026-11-20" in message.content
        links = [c for row in message.components for c in row.get("components", ())]
        assert [b.get("url") for b in links] == [f"https://doi.org/{NOTICE}"]

    # a restart, and the watch again: no second alert
    await process.stop()
    restarted = running["bot"] = await BotProcess(env, folder).start("run")
    await restarted.until_ready(fake)
    code, out, _ = await run_once(env, folder, "bib", "watch", "--all")
    assert code == 0 and "Nothing new." in out
    await asyncio.sleep(6)  # two delivery rounds of the restarted bot
    assert len(alerts_in(fake, guild.channel_id)) == 1 and len(alerts_in(fake, dm)) == 1

    listed = await fake.slash("bib list", guild="lab", user="alice")
    assert "⚠️ **Retracted**" in listed.message.embed["description"]
    cited = await fake.slash("cite", guild="lab", user="alice", query=PLOS)
    assert "This work has been retracted" in cited.content
    assert not fake.rejections and not fake.unmodelled and not upstreams.unmodelled
