"""Stopping the real ``litbot run`` process: SIGTERM (what a service manager sends) closes it in
order and ends its worker processes; a bot killed outright leaves no worker behind either (each
worker follows its bot out, and the fork server then ends with its last client).

Linux only: the processes below the bot are read from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import SEED, seeded_world
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.process import BotProcess, bot_environment, run_once
from tests.fakes.upstreams import UpstreamServer
from tests.processes import descendants

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

GONE_WITHIN = 30.0  # seconds allowed for processes to exit (a bound, not a measurement)
POLL = 0.1


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


async def gone(pids: set[int]) -> set[int]:
    """Wait until none of ``pids`` runs (at most ``GONE_WITHIN``); those still running, which
    are then killed (they hold the bot's output pipes: a failed test must not hang on them)."""
    left = set(pids)
    for _ in range(round(GONE_WITHIN / POLL)):
        left = {pid for pid in left if alive(pid)}
        if not left:
            break
        await asyncio.sleep(POLL)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left


async def running_bot(fake: FakeDiscord, upstreams: UpstreamServer, folder: Path):
    env = bot_environment(fake, upstreams, folder)
    code, _, err = await run_once(env, folder, "sync")
    assert code == 0, err
    bot = await BotProcess(env, folder).start("run")
    await bot.until_ready(fake)
    answer = await fake.slash("paper", query=SEED)  # its local TL;DR: the interactive worker
    assert answer.message is not None and answer.message.embeds
    assert bot.proc is not None
    workers = descendants(bot.proc.pid)
    assert workers, "the bot runs its CPU work in worker processes"
    return bot, workers


@pytest.mark.asyncio(loop_scope="session")
async def test_sigterm_stops_the_bot_cleanly_with_its_workers(fixtures_dir, tmp_path):
    async with FakeDiscord() as fake, UpstreamServer(seeded_world(fixtures_dir)) as upstreams:
        bot, workers = await running_bot(fake, upstreams, tmp_path)
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(bot.proc.wait(), GONE_WITHIN)
        left = await gone(workers)
        await bot.stop()
        assert code == 0, bot.output()
        assert "SIGTERM: stopping" in bot.output()
        assert "Traceback" not in bot.output()
        assert left == set()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_killed_bot_leaves_no_worker_behind(fixtures_dir, tmp_path):
    async with FakeDiscord() as fake, UpstreamServer(seeded_world(fixtures_dir)) as upstreams:
        bot, workers = await running_bot(fake, upstreams, tmp_path)
        assert bot.proc is not None
        bot.proc.kill()  # SIGKILL: nothing of the bot's own runs any more
        # (not ``proc.wait()``: it also waits for the output pipes, which leaked workers hold)
        assert await gone({bot.proc.pid}) == set()
        left = await gone(workers)
        await bot.stop()
        assert left == set()
