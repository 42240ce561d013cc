"""Logs never carry tokens or keys."""

from __future__ import annotations

import logging

from bot.log import setup_logging
from bot.models import Identifier, IdKind
from bot.papers import PaperService
from bot.sources import build_upstreams
from bot.storage.database import open_database
from bot.storage.works import WorkCache
from tests.upstream_mock import Canned, MockUpstreams, make_settings

SECRET = "sk-openalex-SECRET-123"


async def test_api_keys_stay_out_of_logs(fixtures_dir, tmp_path, capsys):
    setup_logging("DEBUG")
    try:
        mock = MockUpstreams(fixtures_dir)
        mock.fail("openalex", Canned(500, b"err", "text/plain"))
        settings = make_settings(tmp_path, OPENALEX_API_KEY=SECRET, S2_API_KEY=SECRET)

        async def no_sleep(_):
            return None

        db = await open_database(settings.db_path)
        async with mock.client() as client:
            service = PaperService(build_upstreams(settings, client, sleep=no_sleep), WorkCache(db))
            await service.lookup(Identifier(IdKind.DOI, "10.7554/elife.01567"))
        await db.close()
        logging.getLogger("test").warning("url https://x/works?api_key=%s&mailto=a@b", SECRET)
        assert any(
            SECRET in str(r.url) or r.headers.get("x-api-key") == SECRET for r in mock.requests
        )  # the key is sent…
        err = capsys.readouterr().err
        assert "openalex" in err  # …failures are logged…
        assert SECRET not in err  # …but never the key
    finally:
        setup_logging("WARNING")
