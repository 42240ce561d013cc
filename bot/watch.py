"""The living library: every saved work re-checked on a schedule, and alerts planned for what
changed (retractions, withdrawals, corrections, expressions of concern, a preprint's version of
record).

``Watch.run_once`` pages through the saved works not re-checked within ``interval`` (keyset on
the work key, so a run survives a restart: it resumes where ``watched`` says), re-fetches each
from the sources that carry notices (``PaperService.recheck``) as **bulk work** — every
member's interactive lookup goes first, and lookups of a batch share OpenAlex's, Crossref's and
arXiv's list requests (``bot.sources.batching``) — and records what it found
(``WatchStore.observe``: the entries' signal fields, each notice once, one alert per notice and
destination). Delivering the alerts is Discord's part (``cogs/alerts.py``); the terminal's is
``litbot bib watch``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from bot.errors import LitError
from bot.papers import PaperService
from bot.sources.fairness import bulk_work
from bot.storage.watch import WatchStore

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 24 * 3600  # each saved work is re-checked about once a day
BATCH = 50  # works re-checked together (one list request at OpenAlex and Crossref)


@dataclass
class WatchReport:
    """What one run did."""

    checked: int = 0
    unknown: int = 0  # no source knows the work any more
    failed: int = 0  # no source answered: tried again next run
    alerts: int = 0  # alerts planned (one per notice and destination)
    changed: list[str] = field(default_factory=list)  # work keys with a new notice


class Watch:
    def __init__(
        self,
        store: WatchStore,
        papers: PaperService,
        *,
        interval: float = INTERVAL_SECONDS,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.papers = papers
        self.interval = interval
        self.batch = batch
        self._running = asyncio.Lock()

    async def run_once(self, *, force: bool = False, limit: int | None = None) -> WatchReport:
        """Re-check the saved works that are due (all of them with ``force``), at most
        ``limit``. One run at a time; a second caller waits for the first and then finds
        nothing due."""
        async with self._running:
            return await self._run(force=force, limit=limit)

    async def _run(self, *, force: bool, limit: int | None) -> WatchReport:
        report = WatchReport()
        started = time.time()
        before = started if force else started - self.interval
        after = ""
        with bulk_work():
            while limit is None or report.checked + report.failed < limit:
                size = self.batch if limit is None else min(self.batch, limit - report.checked)
                keys = await self.store.due(before=before, after=after, limit=size)
                if not keys:
                    break
                after = keys[-1]
                results = await asyncio.gather(
                    *(self._recheck(key) for key in keys), return_exceptions=True
                )
                for key, result in zip(keys, results, strict=True):
                    if isinstance(result, BaseException):
                        report.failed += 1
                        await self.store.failed(key)
                        continue
                    report.checked += 1
                    if result is None:
                        report.unknown += 1
                        continue
                    planned = await self.store.observe(key, result, at=time.time())
                    if planned:
                        await self.papers.cache.expire(key)  # cards show the notice next
                        report.alerts += planned
                        report.changed.append(key)
        log.info(
            "watch: %d checked, %d unknown, %d failed, %d alerts planned in %.1f s",
            report.checked, report.unknown, report.failed, report.alerts, time.time() - started,
        )  # fmt: skip
        return report

    async def _recheck(self, key: str):
        if "/" not in key or not key.startswith("10."):
            return None  # saved without a DOI: nothing to re-check it against
        try:
            return await self.papers.recheck(key)
        except LitError:
            raise
        except Exception:
            log.warning("watch: re-checking %s failed", key, exc_info=True)
            raise
