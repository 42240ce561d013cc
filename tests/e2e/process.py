"""The real litbot process (``python -m bot run`` / ``sync``) against the fakes on 127.0.0.1.

Nothing is patched inside the process: it reads its settings from the environment like any
deployment, with Discord and every upstream API pointed at loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

from tests.e2e.fake_discord import FakeDiscord
from tests.fakes.upstreams import UpstreamServer

REPO = Path(__file__).resolve().parents[2]


def bot_environment(
    discord: FakeDiscord, upstreams: UpstreamServer, folder: Path, **extra: str
) -> dict[str, str]:
    """The process environment: no inherited litbot or Discord settings, only the fakes."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LITBOT_", "DISCORD_", "S2_", "OPENALEX_"))
    }
    env.update(discord.env)
    env.update(upstreams.env)
    env.update(
        LITBOT_DB=str(folder / "litbot.sqlite3"),
        LITBOT_HTTP_RETRIES="0",
        LITBOT_HTTP_TIMEOUT="5",
        LITBOT_CONTACT_EMAIL="e2e@example.org",
        LITBOT_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def run_once(
    env: dict[str, str], cwd: Path, *args: str, within: float = 60
) -> tuple[int, str, str]:
    """``python -m bot ARGS`` to completion: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,  # no stray .env is read
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), within)
    return proc.returncode or 0, out.decode(), err.decode()


class BotProcess:
    """``litbot run`` as a child process; its stderr is collected line by line."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._readers: list[asyncio.Task[None]] = []

    async def start(self, *args: str) -> BotProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *(args or ("run",)),
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout and self.proc.stderr
        self._readers = [
            asyncio.ensure_future(self._read(self.proc.stdout, "out")),
            asyncio.ensure_future(self._read(self.proc.stderr, "err")),
        ]
        return self

    async def _read(self, stream: asyncio.StreamReader, name: str) -> None:
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc else None

    def mark(self) -> int:
        return len(self.lines)

    def output(self, since: int = 0) -> str:
        return "\n".join(self.lines[since:])

    async def until_ready(self, discord: FakeDiscord, within: float = 30.0) -> None:
        """Until the bot has IDENTIFYed; fails with its output if it exits first."""
        assert self.proc is not None
        ready = asyncio.ensure_future(discord.wait_ready(within))
        exited = asyncio.ensure_future(self.proc.wait())
        done, _ = await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited in done:
            ready.cancel()
            await asyncio.gather(*self._readers, return_exceptions=True)
            raise RuntimeError(
                f"litbot exited with {self.returncode} before READY:\n{self.output()}"
            )
        exited.cancel()
        await ready

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for reader in self._readers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader, 2)
