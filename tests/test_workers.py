"""bot/workers.py: CPU work in other processes, one heavy job per server, crashes survived.

The thread mode (what the rest of the suite runs on) and the real process path (one pool for
the session) are both tested; gates are files, so the same job functions work in both. No test
times anything: "not queued behind" is shown by one job finishing while another still waits.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from bot.errors import Cooldown, LitError
from bot.workers import Busy, WorkerCrashed, WorkerError, Workers, pool_sizes, server_key

GATE_TIMEOUT = 60  # seconds a gated job waits for its gate before failing the test


# -- jobs (module-level: pickled by reference into the workers) -------------------------------


def pid() -> int:
    return os.getpid()


def add(a: int, b: int) -> int:
    return a + b


def wait_for(gate: str, mark: str | None = None) -> int:
    """Write ``mark`` (the job has started), then wait until ``gate`` exists."""
    if mark:
        Path(mark).write_text(str(os.getpid()))
    deadline = time.monotonic() + GATE_TIMEOUT
    while not Path(gate).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(gate)
        time.sleep(0.01)
    return os.getpid()


def log_run(log: str, name: str, gate: str) -> str:
    """Append "start name", wait for ``gate``, append "end name"."""
    with open(log, "a") as f:
        f.write(f"start {name}\n")
    wait_for(gate)
    with open(log, "a") as f:
        f.write(f"end {name}\n")
    return name


def refuse() -> None:
    raise Cooldown("You can make 5 exports per minute.", 12.5)


class Odd(Exception):
    """An exception whose ``__init__`` differs from its ``args``, with unpicklable state."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"odd {a} {b}")
        self.handle = lambda: None  # pickle cannot take a lambda


def odd() -> None:
    raise Odd(1, 2)


def crash() -> None:
    os._exit(3)  # as a segfault or the OOM killer would end it: no exception, no cleanup


async def until(path: Path, text: str | None = None) -> None:
    """Wait (bounded) until a job has written ``path`` (holding ``text``)."""
    for _ in range(GATE_TIMEOUT * 100):
        if _written(path, text):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(path)


def _written(path: Path, text: str | None) -> bool:
    return path.exists() and (text is None or text in path.read_text())


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def processes():
    """Real worker processes (forkserver), shared by the process tests of the session."""
    workers = Workers(interactive=1, bulk=2)
    yield workers
    asyncio.run(workers.close())


@pytest.fixture
async def threads():
    workers = Workers.inline()
    yield workers
    await workers.close()


@pytest.fixture(params=["thread", "process"])
def workers(request, threads, processes):
    return threads if request.param == "thread" else processes


# -- both modes ---------------------------------------------------------------------------------


async def test_jobs_run_and_return_through_pickle(workers):
    assert await workers.run(add, 2, 3) == 5
    assert await workers.run(add, 2, 3, heavy=True) == 5
    assert await workers.run(add, 2, 3, heavy=True, server="guild:1") == 5


async def test_a_litError_comes_back_as_itself_with_its_attributes(workers):
    # Cooldown's __init__ takes two arguments: pickle alone could not rebuild it
    with pytest.raises(Cooldown) as caught:
        await workers.run(refuse, heavy=True)
    assert caught.value.user_message == "You can make 5 exports per minute."
    assert caught.value.retry_after == 12.5 and isinstance(caught.value, LitError)


async def test_an_exception_pickle_cannot_carry_is_named_in_a_worker_error(workers):
    with pytest.raises(WorkerError, match=r"Odd: odd 1 2"):
        await workers.run(odd)


async def test_a_job_that_cannot_be_pickled_is_refused_clearly(workers):
    with pytest.raises(Exception, match=r"pickle|lambda|local object"):
        await workers.run(lambda: 1)


async def test_heavy_jobs_of_one_server_run_one_at_a_time_others_beside_them(workers, tmp_path):
    log, gate = tmp_path / "log", tmp_path / "gate"
    first = asyncio.create_task(
        workers.run(log_run, str(log), "a1", str(gate), heavy=True, server="guild:1")
    )
    await until(log)
    second = asyncio.create_task(
        workers.run(log_run, str(log), "a2", str(gate), heavy=True, server="guild:1")
    )
    # another server's heavy job starts while guild 1's second one waits for its first
    other = asyncio.create_task(
        workers.run(log_run, str(log), "b", str(gate), heavy=True, server="guild:2")
    )
    await until(log, "start b")
    assert workers.busy("guild:1") and "start a2" not in log.read_text()
    gate.touch()
    assert await asyncio.gather(first, second, other) == ["a1", "a2", "b"]
    lines = log.read_text().splitlines()
    assert lines.index("start a2") > lines.index("end a1")
    assert not workers.busy("guild:1") and not workers.busy("guild:2")


async def test_a_second_heavy_job_may_be_refused_instead_of_waiting(workers, tmp_path):
    gate = tmp_path / "gate"
    server = server_key("guild", 7)
    first = asyncio.create_task(workers.run(wait_for, str(gate), heavy=True, server=server))
    await asyncio.sleep(0)
    assert workers.busy(server)
    with pytest.raises(Busy, match="already has an export or import running"):
        await workers.run(add, 1, 1, heavy=True, server=server, wait=False)
    gate.touch()
    await first
    assert await workers.run(add, 1, 1, heavy=True, server=server, wait=False) == 2


async def test_only_a_few_heavy_jobs_of_one_server_may_wait(tmp_path):
    async with Workers(mode="thread", max_waiting=2) as workers:
        gate = tmp_path / "gate"
        running = [
            asyncio.create_task(workers.run(wait_for, str(gate), heavy=True, server="guild:1"))
            for _ in range(3)  # one runs, two wait
        ]
        await asyncio.sleep(0)
        with pytest.raises(Busy):
            await workers.run(add, 1, 1, heavy=True, server="guild:1")
        gate.touch()
        await asyncio.gather(*running)


async def test_the_slot_is_re_entrant_within_a_job(workers):
    async with workers.slot("guild:3"):
        # the export holding the slot runs its chunks as heavy jobs of the same server
        assert await workers.run(add, 1, 2, heavy=True, server="guild:3", wait=False) == 3
    assert not workers.busy("guild:3")


async def test_light_jobs_are_never_queued_behind_heavy_ones(workers, tmp_path):
    gate = tmp_path / "gate"
    bulk = workers.bulk_size
    heavy = [
        asyncio.create_task(workers.run(wait_for, str(gate), str(tmp_path / f"h{i}"), heavy=True))
        for i in range(bulk + 2)  # every bulk worker busy, and more queued behind them
    ]
    for i in range(bulk):
        await until(tmp_path / f"h{i}")
    assert await workers.run(add, 20, 22) == 42  # answered while the bulk pool is full
    assert not any(task.done() for task in heavy)
    gate.touch()
    await asyncio.gather(*heavy)


async def test_map_keeps_order_and_a_bounded_number_in_flight(workers):
    results = [r async for r in workers.map(add, ((i, i) for i in range(10)), heavy=True)]
    assert results == [2 * i for i in range(10)]


def test_pool_sizes_follow_the_cores():
    assert pool_sizes(2) == (1, 2)
    assert pool_sizes(1) == (1, 1)
    assert pool_sizes(16) == (4, 16)


# -- the process path ---------------------------------------------------------------------------


async def test_jobs_really_run_in_other_processes(processes):
    mine = os.getpid()
    light = await processes.run(pid)
    heavy = {await processes.run(pid, heavy=True) for _ in range(4)}
    assert light != mine and mine not in heavy and light not in heavy


async def test_a_job_gets_the_remote_traceback(processes):
    with pytest.raises(Cooldown) as caught:
        await processes.run(refuse)
    assert "refuse" in str(caught.value.__cause__)  # the worker's traceback, as text


async def test_a_crashed_worker_fails_its_job_and_the_pool_recovers(processes):
    before = await processes.run(pid, heavy=True)
    with pytest.raises(WorkerCrashed, match="stopped unexpectedly") as caught:
        await processes.run(crash, heavy=True)
    assert isinstance(caught.value, LitError)  # users see a short message, not a traceback
    after = await processes.run(pid, heavy=True)  # a new pool: new processes
    assert after != before and await processes.run(add, 1, 1, heavy=True) == 2
    assert await processes.run(add, 1, 1) == 2  # the interactive pool was never touched


async def test_warm_starts_the_workers(tmp_path):
    async with Workers(interactive=1, bulk=1) as workers:
        pids = await workers.warm()
        assert len(pids) == 2 and os.getpid() not in pids


async def test_closed_workers_refuse_new_jobs():
    workers = Workers.inline()
    await workers.close()
    with pytest.raises(RuntimeError, match="closed"):
        await workers.run(add, 1, 1)


async def test_a_terminal_command_runs_light_jobs_here_and_heavy_ones_in_processes():
    # litbot paper's one TL;DR: no fork server, no worker start-up for milliseconds of work
    mine = os.getpid()
    async with Workers(terminal=True, interactive=1, bulk=1) as workers:
        assert await workers.run(pid) == mine
        assert [n async for n in workers.map(add, [(1, 2), (3, 4)], heavy=False)] == [3, 7]
        with pytest.raises(Cooldown):  # a light job's error is raised as it is
            await workers.run(refuse)
        assert workers._interactive._executor is None  # no interactive worker was started
        assert await workers.run(pid, heavy=True) != mine


async def test_starting_a_worker_process_never_blocks_the_event_loop(monkeypatch):
    # ProcessPoolExecutor.submit starts a worker on demand and waits for the fork server to
    # fork it (the first time, for the fork server to import PRELOAD: most of a second)
    import threading
    from concurrent.futures import ProcessPoolExecutor

    threads: list[bool] = []
    original = ProcessPoolExecutor.submit

    def submit(self, fn, /, *args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return original(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    async with Workers(interactive=1, bulk=2) as workers:
        first = await workers.run(pid)
        assert threads == [False]  # the pool started from a thread
        assert await workers.run(pid) == first
        assert threads == [False, True]  # started: jobs go straight to the running worker
        await asyncio.gather(workers.run(pid, heavy=True), workers.run(pid, heavy=True))
        assert threads[2:] == [False, False]
