"""The services built on PaperService and the database, wired in one place.

The composition root (``bot/__main__.py``) and ``LitBot`` (for tests that build a bot around
their own PaperService) both get them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.bibliographies import BibliographyService
from bot.citing import CiteService
from bot.cooldowns import Cooldowns
from bot.neighbours import NeighbourService
from bot.papers import PaperService
from bot.storage.bibliographies import BibliographyStore
from bot.storage.citations import CitationCache
from bot.storage.database import Database
from bot.storage.neighbourhoods import NeighbourhoodCache
from bot.storage.preferences import Preferences
from bot.workers import Workers


@dataclass(frozen=True, slots=True)
class DomainServices:
    cites: CiteService
    bibs: BibliographyService
    neighbours: NeighbourService


def build_services(
    papers: PaperService, db: Database, workers: Workers | None = None
) -> DomainServices:
    """``workers``: the composition root's worker processes; ``None`` runs the same jobs in
    threads of this process (tests, scripts: ``Workers.inline``)."""
    workers = workers or Workers.inline()
    store = BibliographyStore(db, workers)  # CiteService reads saved entries' BibTeX keys
    cites = CiteService(
        papers, CitationCache(db), Preferences(db), bibliographies=store, workers=workers
    )
    return DomainServices(
        cites=cites,
        bibs=BibliographyService(store, papers, cites, Cooldowns(), workers),
        neighbours=NeighbourService(
            papers.up, NeighbourhoodCache(db), ttl_seconds=papers.ttl_seconds
        ),
    )
