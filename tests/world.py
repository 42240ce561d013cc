"""A litbot world for in-process tests: recorded upstreams, a temporary database, the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.bot import LitBot
from bot.papers import PaperService
from bot.sources import build_upstreams
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.conftest import SYNTHETIC
from tests.upstream_mock import MockUpstreams, make_settings

SEED = "10.1186/s12943-023-01737-7"


def seeded(fixtures: Path) -> MockUpstreams:
    """Recorded upstreams plus the seed paper's synthetic OpenAlex and Crossref records."""
    mock = MockUpstreams(fixtures)
    mock.add("openalex", SEED, SYNTHETIC / "openalex-seed.json")
    mock.add("crossref", SEED, SYNTHETIC / "crossref-seed.json")
    return mock


@asynccontextmanager
async def litbot(tmp_path: Path, mock: MockUpstreams, **papers: Any) -> AsyncIterator[LitBot]:
    """A LitBot (not connected) whose services run on ``mock``: ``bot.papers``, ``bot.cites``,
    ``bot.bibs``. Cogs are added by the test."""
    settings = make_settings(tmp_path)
    db = await open_database(settings.db_path)
    try:
        async with mock.client() as client:
            service = PaperService(build_upstreams(settings, client), WorkCache(db), **papers)
            try:
                yield LitBot(settings=settings, papers=service, db=db)
            finally:
                await service.drain()  # cards settle (and are cached) in the background
    finally:
        await db.close()
