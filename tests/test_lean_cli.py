"""The terminal path stays lean: `litbot paper` imports no Discord, aiohttp or citation stack.

Each check runs in a fresh interpreter (this test process has imported everything) and lists
the heavy packages that ended up in ``sys.modules``. Timing is bench/startup.py's job, never
a test's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# discord and aiohttp belong to the bot; citeproc, bibtexparser and rispy to cite/bib/format.
HEAVY = ("discord", "aiohttp", "citeproc", "bibtexparser", "rispy")
UPSTREAMS = ("OPENALEX", "CROSSREF", "UNPAYWALL", "S2", "DATACITE", "ARXIV", "NCBI")
REPORT = (
    "import json, sys; print(json.dumps(sorted(m for m in sys.modules "
    f"if m.split('.')[0] in {set(HEAVY)!r})))"
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def heavy_modules(code: str, tmp_path: Path) -> list[str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter, offline: every
    upstream at a closed local port, the database in ``tmp_path``, no ``.env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "DISCORD_"))}
    env["PYTHONPATH"] = str(ROOT)
    env["LITBOT_DB"] = str(tmp_path / "litbot.sqlite3")
    env["LITBOT_HTTP_RETRIES"] = "0"
    dead = f"http://127.0.0.1:{closed_port()}"
    env.update({f"LITBOT_{name}_URL": dead for name in UPSTREAMS})
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import bot.cli", id="import-cli"),
        pytest.param("import bot.__main__", id="import-entry-point"),
        pytest.param(
            "import bot.__main__ as m; m.cli.build_parser().parse_args(['paper', 'x', '--json'])",
            id="parse-paper",
        ),
        pytest.param("import bot.ui.terminal, bot.ui.fields", id="terminal-rendering"),
    ],
)
def test_terminal_modules_import_nothing_heavy(code, tmp_path):
    assert heavy_modules(code, tmp_path) == []


def test_litbot_paper_runs_without_discord_or_citeproc(tmp_path):
    """The whole `litbot paper … --json` path: settings, database, every source tried (all
    refused at once), the failure reported; exit 3, and still nothing heavy imported."""
    code = (
        "import bot.__main__ as m\n"
        "rc = m.main(['paper', '10.1186/s12943-023-01737-7', '--json'])\n"
        "assert rc == 3, rc"
    )
    assert heavy_modules(code, tmp_path) == []


def test_the_check_sees_heavy_modules(tmp_path):
    """The report is not vacuous: the Discord card module does load discord."""
    assert "discord" in heavy_modules("import bot.ui.cards", tmp_path)
