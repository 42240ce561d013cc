"""``litbot paper DOI --json`` as a real process against every fault: bounded, quiet, small.

For each fault of ``tests.fakes.faults``, once with one source faulty (the others replaying
the recorded responses) and once with every source faulty: the process ends within a bound
with exit 0 (the healthy sources' card) or 3 (one line), prints no traceback, and its peak
resident memory stays under 200 MB (read with ``wait4``, not sampled).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SYNTHETIC
from tests.fakes.faults import FAULTS, FaultServer
from tests.fakes.upstreams import FIXTURES, SETTING, UpstreamServer
from tests.upstream_mock import MockUpstreams

REPO = Path(__file__).resolve().parents[1]
DOI = "10.1016/j.addr.2015.01.008"  # Crossref, OpenAlex, Unpaywall and Semantic Scholar know it
CARD_SOURCES = ("openalex", "crossref", "unpaywall", "s2")
RSS_LIMIT_KB = 200 * 1024
WALL_LIMIT = 45.0  # generous for a loaded CI machine; the deadline below is 2 s per attempt


@dataclass
class Run:
    label: str
    code: int
    out: str
    err: str
    rss_kb: int
    seconds: float


# The CLI is started by a small launcher process that reaps it with ``wait4``: a child forked
# (or vforked) straight from pytest would report pytest's own peak RSS, since Linux counts the
# memory a process had before ``exec`` in its ``ru_maxrss``.
LAUNCHER = """
import os, subprocess, sys, time
limit, report, argv = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
proc = subprocess.Popen(argv)
deadline = time.monotonic() + limit
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() > deadline:
        proc.kill()
        pid, status, usage = os.wait4(proc.pid, 0)
        break
    time.sleep(0.05)
with open(report, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


CLI = (sys.executable, "-m", "bot", "paper", DOI, "--json")


def run_cli(label: str, env: dict[str, str], cwd: Path) -> Run:
    """Run the CLI through ``LAUNCHER`` for its peak RSS; killed past ``WALL_LIMIT``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report = Path(tempfile.mkdtemp()) / "report"
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(WALL_LIMIT), str(report), *CLI],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=err,
            timeout=WALL_LIMIT + 30,
            check=False,
        )
        seconds = time.monotonic() - started
        code, rss_kb = (int(v) for v in report.read_text().split())
        out.seek(0)
        err.seek(0)
        return Run(
            label,
            code,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            rss_kb,
            seconds,
        )


@pytest.fixture(scope="module")
def faults():
    server = FaultServer().start_in_thread()
    yield server
    server.stop_thread()


async def test_every_fault_from_outside(faults, tmp_path):
    world = MockUpstreams(FIXTURES)
    world.add("openalex", "10.1186/s12943-023-01737-7", SYNTHETIC / "openalex-seed.json")
    async with UpstreamServer(world) as replay:
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "DISCORD_", "S2_"))
        }
        base.update(
            PYTHONPATH=str(REPO),
            LITBOT_HTTP_TIMEOUT="2",
            LITBOT_HTTP_RETRIES="1",
            LITBOT_MAX_RETRY_WAIT="1",
        )
        jobs = []
        for i, fault in enumerate(sorted(FAULTS)):
            faulty = CARD_SOURCES[i % len(CARD_SOURCES)]
            one = {**base, **replay.env, SETTING[faulty]: faults.url(fault)}
            every = {**base, **{SETTING[s]: faults.url(fault) for s in SETTING}}
            for label, env in ((f"{fault} at {faulty}", one), (f"{fault} everywhere", every)):
                cwd = tmp_path / label.replace(" ", "_")
                cwd.mkdir()
                env = {**env, "LITBOT_DB": str(cwd / "litbot.sqlite3")}
                jobs.append((label, env, cwd, faulty if "everywhere" not in label else None))

        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, run_cli, label, env, cwd)
                    for label, env, cwd, _ in jobs
                )
            )

    problems = []
    for (label, _, _, faulty), run in zip(jobs, runs, strict=True):
        where = f"{label}: exit {run.code}, {run.seconds:.1f} s, {run.rss_kb // 1024} MB"
        print(where)  # shown with -s or on failure
        if "Traceback" in run.err or "Traceback" in run.out:
            problems.append(f"{where}: traceback\n{run.err[-2000:]}")
        if run.rss_kb > RSS_LIMIT_KB:
            problems.append(f"{where}: peak RSS over 200 MB")
        if run.seconds >= WALL_LIMIT:
            problems.append(f"{where}: did not end")
        if faulty is None:
            if run.code != 3 or len(run.err.strip().splitlines()) != 1 or run.out:
                problems.append(f"{where}: expected exit 3 and one line, got {run.err!r}")
            continue
        if run.code != 0:
            problems.append(f"{where}: expected the healthy sources' card\n{run.err[-500:]}")
            continue
        card = json.loads(run.out)
        if card["doi"] != DOI or not card["title"]:
            problems.append(f"{where}: wrong card")
        if faulty in card["provenance"].values():
            problems.append(f"{where}: a field came from the faulty source")
    assert not problems, "\n".join(problems)
