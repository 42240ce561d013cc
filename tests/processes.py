"""Processes for tests and benchmarks: those below a process, read from /proc (Linux), which
follow a bot's worker processes (tests/e2e/test_shutdown.py, bench/bib.py); and a fresh
interpreter for what changes process-wide state (imports, the collector, the switch interval).
Standard library only, so a benchmark's measured process loads nothing more for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fresh_python(code: str, *args: str) -> str:
    """What ``code`` prints, run in a new interpreter at the repository's root with ``args``;
    the test fails with its stderr when it does not exit with 0."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux, from /proc): the fork server and its workers."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out
