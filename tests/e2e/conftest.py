"""End-to-end fixtures: the fake Discord and the upstream replay server run in the test
session's event loop; the real ``litbot run`` process talks to both over 127.0.0.1.

One bot process serves the whole session (it takes about a second to start). Each test gets a
clean slate of injected trouble, and afterwards the fixture checks what a test cannot see from
its answers: no unmodelled Discord or upstream route was hit, Discord refused nothing, and the
process is still alive. When a test fails, the bot's log lines from that test are printed.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import SYNTHETIC
from tests.e2e.fake_discord import Answer, FakeDiscord
from tests.e2e.process import BotProcess, bot_environment, run_once
from tests.fakes.upstreams import UpstreamServer
from tests.upstream_mock import MockUpstreams

SEED = "10.1186/s12943-023-01737-7"
# tests/synthetic/make_crafted.py: a record whose every field is hostile (test_hostile_record)
CRAFTED = "10.5555/crafted_(1)x"
CRAFTED_SOURCES = ("crossref", "openalex", "unpaywall")
# test_bib_flows: a guild per test, so no test depends on another's bibliographies
BIB_GUILDS = (
    "bib-add",
    "bib-remove",
    "bib-list",
    "bib-import",
    "bib-export",
    "bib-manage",
    "bib-default",
    "bib-save",
    "bib-save-b",
    "bib-iso-a",
    "bib-iso-b",
)
# test_conversation: links pasted in chat, message actions (a guild per test)
TALK_GUILDS = ("talk", "talk-more", "talk-list", "talk-actions")
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def seeded_world(fixtures: Path) -> MockUpstreams:
    """The recorded responses plus the synthetic records of the seed paper and the crafted one."""
    world = MockUpstreams(fixtures)
    world.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    world.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    # indexed like a recording, so OpenAlex list filters (its neighbourhood) find it too
    for source in CRAFTED_SOURCES:
        world.files[source][CRAFTED] = SYNTHETIC / f"{source}-crafted.json"
    return world


@dataclass
class Litbot:
    process: BotProcess
    sync: tuple[int, str, str]  # `litbot sync`: exit code, stdout, stderr
    folder: Path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def upstream_server(fixtures_dir):
    async with UpstreamServer(seeded_world(fixtures_dir)) as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fake_discord():
    async with FakeDiscord(
        guilds=(
            "home",
            "style-a",
            "style-b",
            "bib-a",
            "bib-b",
            *BIB_GUILDS,
            "hostile",
            *TALK_GUILDS,
        )
    ) as discord:
        yield discord


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def litbot_session(fake_discord, upstream_server, tmp_path_factory):
    """``litbot sync`` once (the fake learns the commands), then ``litbot run`` until the end."""
    folder = tmp_path_factory.mktemp("litbot")
    # The session's bot has the message-content intent (test_conversation.py starts one
    # without it)
    env = bot_environment(fake_discord, upstream_server, folder, LITBOT_MESSAGE_CONTENT="true")
    sync = await run_once(env, folder, "sync")
    assert sync[0] == 0, f"litbot sync failed:\n{sync[2]}"
    process = await BotProcess(env, folder).start("run")
    try:
        await process.until_ready(fake_discord)
        yield Litbot(process, sync, folder)
    finally:
        await process.stop()


@pytest.fixture
def litbot(request, litbot_session, fake_discord, upstream_server):
    """The running bot, with per-test checks and the bot's log on failure."""
    world = upstream_server.world
    fake_discord.reset()
    world.failures.clear()
    world.latency.clear()
    process = litbot_session.process
    mark = process.mark()
    unmodelled, upstream_unmodelled = len(fake_discord.unmodelled), len(upstream_server.unmodelled)
    yield litbot_session
    reports = request.node.stash.get(REPORTS, {})
    problems = []
    if fake_discord.rejections:
        problems.append(f"Discord refused the bot's requests: {fake_discord.take_rejections()}")
    if len(fake_discord.unmodelled) > unmodelled:
        problems.append(f"unmodelled Discord routes: {fake_discord.unmodelled[unmodelled:]}")
    if len(upstream_server.unmodelled) > upstream_unmodelled:
        problems.append(
            f"unmodelled upstream routes: {upstream_server.unmodelled[upstream_unmodelled:]}"
        )
    if process.returncode is not None:
        problems.append(f"litbot exited with {process.returncode}")
    if problems or any(r.failed for r in reports.values()):
        sys.stderr.write(
            f"--- litbot output during {request.node.name} ---\n{process.output(mark)}\n"
        )
    fake_discord.reset()
    world.failures.clear()
    world.latency.clear()
    assert not problems, "\n".join(problems)


@pytest.fixture
def discord(litbot, fake_discord) -> FakeDiscord:
    return fake_discord


@pytest.fixture
def world(litbot, upstream_server) -> MockUpstreams:
    return upstream_server.world


async def acknowledged_while_held(
    discord: FakeDiscord, world: MockUpstreams, call: Awaitable[Answer]
) -> tuple[Answer, bool]:
    """Run ``call`` (a command or a click) with every upstream answer held until the bot has
    acknowledged the interaction, then let them go and wait for the final answer. Beside the
    answer: whether the acknowledgement came while no upstream had answered (the bot did not
    wait for one first). A bot that waits would not acknowledge within Discord's 3 s, and
    ``call`` fails with ``NoAnswer``; no clock of the test's decides."""
    known = set(discord.interactions)
    world.hold()
    task = asyncio.ensure_future(call)
    acked = False
    try:
        while not acked and not task.done():
            new = [i for token, i in discord.interactions.items() if token not in known]
            acked = any(inter.acked is not None for inter in new)
            if not acked:
                await asyncio.sleep(0.005)
    finally:
        world.release()
    return await task, acked


@dataclass
class SeedCard:
    answer: Answer
    upstream_calls: Counter[str]
    acked_while_held: bool  # acknowledged before any upstream answered


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def seed_card(litbot_session, fake_discord, upstream_server) -> SeedCard:
    """The first /paper for the seed in this process (so it is cold, whatever runs first).
    Every test that uses the seed asks for this fixture before it does."""
    world = upstream_server.world
    before, mark = world.calls.copy(), litbot_session.process.mark()
    try:
        answer, held = await acknowledged_while_held(
            fake_discord,
            world,
            fake_discord.slash("paper", query=SEED, full=True),  # every field
        )
    except AssertionError as error:
        raise AssertionError(f"{error}\nlitbot:\n{litbot_session.process.output(mark)}") from None
    assert not fake_discord.rejections, fake_discord.rejections
    return SeedCard(answer, world.calls - before, held)
