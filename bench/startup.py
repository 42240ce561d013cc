"""Start-up benchmark (offline): what `litbot paper … --json` costs to start, with no network.

Runs the real command in a fresh interpreter, N times after a warm-up, with every upstream at a
closed port on 127.0.0.1 (refused at once, no retries), a database in a temporary folder and no
``.env``: the process imports everything the command imports, opens the database, tries each
source once and exits. Prints min / median / max of

* imports: the ``-X importtime`` total (the top-level imports' cumulative times, summed),
* cpu: the process's user + system CPU seconds (steadier than wall on a busy machine),
* wall: the whole process, start to exit,

for that command, for ``litbot paper --help`` (parsing only), and for a real lookup: ``litbot
paper --json`` of a recorded DOI against the replaying fake upstreams (``tests.fakes.upstreams``
in a process of its own, answering at once), a DOI not asked before in each run (recorded by
both OpenAlex and Crossref), so the cold card and its local TL;DR are in it. Beside each, the
heavy packages it loaded: discord, aiohttp, citeproc, bibtexparser and rispy must not be among
them (tests/test_lean_cli.py); lxml and pylatexenc are listed for information (arXiv's LaTeX
decoder is imported when an arXiv title first needs it).

Bytecode is cached as an installed package's would be (``PYTHONDONTWRITEBYTECODE`` is dropped
for the child; the warm-up run writes it).

``--python`` measures another install's interpreter: a lab's is the README's first command
(``pip install -e .``, no dev tools). The dev venv (``.[dev]``) costs more, and not for litbot:
pytest brings Pygments and rouge-score brings click (through nltk), so ``import httpx`` also
tries to load its command-line client (``httpx._main``: click and Pygments, then rich, which
is missing: ~15 ms).

    python bench/startup.py [-n 9] [--python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from lookup import FIXTURES, ServerProcess, known_dois  # noqa: E402

from tests.upstream_mock import MockUpstreams  # noqa: E402

QUERY = "10.1186/s12943-023-01737-7"
UPSTREAMS = ("OPENALEX", "CROSSREF", "UNPAYWALL", "S2", "DATACITE", "ARXIV", "NCBI")
# Packages the terminal paper path must not load (Discord, the test server, citations), and
# two more worth seeing (citeproc's XML parser; arXiv's LaTeX decoder).
HEAVY = ("discord", "aiohttp", "citeproc", "bibtexparser", "rispy", "lxml", "pylatexenc")
_IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(folder: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    env["LITBOT_DB"] = str(Path(folder) / "litbot.sqlite3")
    env["LITBOT_HTTP_RETRIES"] = "0"
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in UPSTREAMS:
        env[f"LITBOT_{name}_URL"] = dead
    return env


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    python: str, args: list[str], env: dict[str, str], cwd: str
) -> tuple[float, float, float, set]:
    """(import seconds, CPU seconds, wall seconds, top-level packages imported) of one run."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu  # runs are sequential: the children's total grew by this one
    total, packages = 0, set()
    for line in done.stderr.splitlines():
        if match := _IMPORT_LINE.match(line):
            packages.add(match.group(3).split(".")[0])
            if not match.group(2):  # top level: its cumulative time includes its children
                total += int(match.group(1))
    return total / 1e6, cpu, wall, packages


def spread(values: list[float]) -> str:
    return f"min {min(values):.3f}  median {statistics.median(values):.3f}  max {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=9, help="counted runs (default 9)")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter of the install to measure (default: this one; the README's "
        "plain install has no dev tools: see the module docstring)",
    )
    options = parser.parse_args()
    runs = max(1, options.runs)
    python = os.path.abspath(options.python)  # absolute, not resolved: a venv's python is a link
    recorded = iter(known_dois(MockUpstreams(FIXTURES))[0])
    commands = {
        "paper --json": lambda: ["paper", QUERY, "--json"],
        "paper --help": lambda: ["paper", "--help"],
        "paper --json (a real lookup)": lambda: ["paper", next(recorded), "--json"],
    }
    with tempfile.TemporaryDirectory() as folder, ServerProcess(0.0) as server:
        print(f"{runs} runs each after a warm-up; seconds; {python}")
        for label, args in commands.items():
            env = child_env(folder)
            if "real" in label:
                env.update(server.env)
            run_once(python, args(), env, folder)  # warm-up: writes bytecode, creates the database
            results = [run_once(python, args(), env, folder) for _ in range(runs)]
            print(f"litbot {label}")
            print(f"  imports  {spread([r[0] for r in results])}")
            print(f"  cpu      {spread([r[1] for r in results])}")
            print(f"  wall     {spread([r[2] for r in results])}")
            heavy = sorted(set().union(*(r[3] for r in results)) & set(HEAVY))
            print(f"  heavy packages loaded: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
