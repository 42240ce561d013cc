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
