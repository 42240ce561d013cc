"""First run: ``cp .env.example .env`` as shipped, then the real CLI process (issue 10, item 5).

Every failure at start-up (a missing token, a bad setting, an unreachable Discord) ends with
one line on stderr and a non-zero exit, never a traceback; the happy path works with the
example file untouched. Environment variables override ``.env``, which is how these tests
point litbot at the fakes on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests.conftest import SYNTHETIC
from tests.e2e.fake_discord import FakeDiscord
from tests.fakes.upstreams import FIXTURES, UpstreamServer
from tests.upstream_mock import MockUpstreams

SEED = "10.1186/s12943-023-01737-7"
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / ".env.example"
LOG_LINE = " INFO    "  # litbot run's own log lines (timestamped) may precede the answer


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A working directory holding ``.env.example`` copied to ``.env``, untouched."""
    shutil.copy(EXAMPLE, tmp_path / ".env")
    return tmp_path


async def litbot(folder: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """``python -m bot ARGS`` in ``folder``: only ``env`` on top of its ``.env``."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LITBOT_", "DISCORD_", "S2_", "OPENALEX_"))
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env={**base, "PYTHONPATH": str(REPO), **env},
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def answer_lines(err: str) -> list[str]:
    """stderr without ``litbot run``'s timestamped INFO log lines."""
    return [line for line in err.splitlines() if LOG_LINE not in line]


def test_the_example_file_lists_empty_values_that_mean_unset(folder, monkeypatch):
    for name in ("DISCORD_TOKEN", "LITBOT_DEV_GUILD", "OPENALEX_API_KEY", "S2_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(folder)
    settings = Settings()
    assert settings.discord_token is None and settings.dev_guild_id is None
    assert settings.openalex_api_key is None and settings.s2_api_key is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LITBOT_HTTP_TIMEOUT", "abc"),
        ("LITBOT_HTTP_TIMEOUT", "0"),
        ("LITBOT_HTTP_TIMEOUT", "nan"),
        ("LITBOT_HTTP_RETRIES", "-1"),
        ("LITBOT_DEV_GUILD", "my-server"),
        ("LITBOT_LOG_LEVEL", "loud"),
        ("LITBOT_DISCORD_GATEWAY_URL", "https://gateway.discord.gg/"),
        ("LITBOT_CROSSREF_URL", "api.crossref.org"),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it(tmp_path, monkeypatch, name, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert name in message and "\n" not in message


def test_secrets_are_never_echoed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LITBOT_HTTP_TIMEOUT", "abc")
    monkeypatch.setenv("DISCORD_TOKEN", "  tok-secret  ")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "tok-secret" not in str(raised.value)
    monkeypatch.setenv("LITBOT_HTTP_TIMEOUT", "3")
    assert load_settings().discord_token.get_secret_value() == "tok-secret"
    monkeypatch.setenv("DISCORD_TOKEN", "   ")
    assert load_settings().discord_token is None  # blank is missing


async def test_paper_works_with_the_example_env_as_shipped(folder):
    world = MockUpstreams(FIXTURES)
    world.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    world.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    async with UpstreamServer(world) as server:
        code, out, err = await litbot(folder, "paper", SEED, "--json", **server.env)
    assert code == 0, err
    assert '"doi": "10.1186/s12943-023-01737-7"' in out and "NK cells are never alone" in out
    assert "Traceback" not in err
    assert (folder / "litbot.sqlite3").exists()  # LITBOT_DB from the example file


async def test_run_with_the_example_env_explains_the_missing_token(folder):
    code, _out, err = await litbot(folder, "run")
    assert code == 2
    assert "DISCORD_TOKEN" in err and "Reset Token" in err
    assert "Traceback" not in err and "logging in" not in err  # no login attempt


async def test_an_invalid_setting_exits_2_with_one_line(folder):
    code, _out, err = await litbot(folder, "paper", SEED, LITBOT_HTTP_TIMEOUT="abc")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("litbot: ") and "LITBOT_HTTP_TIMEOUT" in err


@pytest.mark.parametrize(
    "api", ["http://127.0.0.1:{port}/api/v10", "http://litbot-no-such-host.invalid/api/v10"]
)
async def test_run_against_an_unreachable_discord_api_ends_in_one_line(folder, api):
    code, _out, err = await litbot(
        folder,
        "run",
        DISCORD_TOKEN="fake.token",
        LITBOT_DISCORD_API_URL=api.format(port=closed_port()),
        LITBOT_DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{closed_port()}/",
    )
    assert code == 3, err
    lines = answer_lines(err)
    assert len(lines) == 1 and lines[0].startswith("litbot: cannot reach Discord"), err
    assert "Traceback" not in err and "PyNaCl" not in err and "voice" not in err


async def test_run_against_an_unreachable_gateway_ends_in_one_line(folder):
    async with FakeDiscord() as discord:
        gateway = f"ws://127.0.0.1:{closed_port()}/"
        code, _out, err = await litbot(
            folder, "run", **{**discord.env, "LITBOT_DISCORD_GATEWAY_URL": gateway}
        )
    assert code == 3, err
    lines = answer_lines(err)
    assert len(lines) == 1 and lines[0].startswith("litbot: cannot connect to the Discord"), err
    assert gateway in lines[0]
    assert "Traceback" not in err and "PyNaCl" not in err and "voice" not in err
