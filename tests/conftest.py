"""Shared test fixtures. Recorded upstream responses live in ../shared/fixtures (read-only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
SYNTHETIC = Path(__file__).resolve().parent / "synthetic"


def load(relative: str) -> Any:
    """A recorded fixture body, parsed as JSON (``openalex/addr-2015.json``)."""
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not beside the checkout")
    return FIXTURES


@pytest.fixture
async def db(tmp_path):
    """A new SQLite database (every migration applied) in the test's folder."""
    from bot.storage.database import open_database

    database = await open_database(tmp_path / "litbot.sqlite3")
    yield database
    await database.close()


@pytest.fixture
async def store(db):
    """The bibliographies of that database."""
    from bot.storage.bibliographies import BibliographyStore

    return BibliographyStore(db)
