"""A bibliography write acknowledged to a user survives kill -9 of the bot process."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from bot.models import Author, Work
    from bot.storage.bibliographies import BibliographyStore, NewEntry, Owner
    from bot.storage.database import open_database

    async def main(path):
        db = await open_database(path)
        store = BibliographyStore(db)
        owner = Owner.guild(42)
        bib = await store.create(owner, "crash-test", by=1)
        i = 0
        while True:
            work = Work(doi=f"10.5555/crash.{i}", title=f"Entry {i}",
                        authors=(Author("Ada Lovelace", "Lovelace", "Ada"),), year=2026)
            await store.add_many(owner, bib.id, [NewEntry(work, note="n", tags=("t",))], by=1)
            print(f"ack {i}", flush=True)  # what the bot would now tell the user
            i += 1

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_kill_9_during_heavy_writes_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "crash.sqlite3"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(path),
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
    )
    acked: list[int] = []
    assert proc.stdout is not None
    while len(acked) < 300:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, "the writer stopped early"
        acked.append(int(line.split()[1]))
    proc.send_signal(signal.SIGKILL)  # mid-write: it never stops between adds
    await proc.wait()
    acked += [int(line.split()[1]) for line in (await proc.stdout.read()).splitlines() if line]

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = {row[0] for row in conn.execute("SELECT work_key FROM entries")}
        tagged = conn.execute("SELECT COUNT(*) FROM entry_tags").fetchone()[0]
    missing = {f"10.5555/crash.{i}" for i in acked} - stored
    assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
    assert tagged == len(stored)  # entry and its tags were one transaction
