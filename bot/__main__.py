"""Composition root: settings → logging → httpx client + database → bot or CLI command.

Resources are opened here with ``async with`` and passed down; nothing else opens them.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot import cli
from bot.log import setup_logging
from bot.papers import PaperService
from bot.services import DomainServices, build_services
from bot.settings import Settings
from bot.sources import build_upstreams, make_client
from bot.storage.database import Database, open_database
from bot.storage.works import WorkCache

log = logging.getLogger("bot")


@dataclass
class Services:
    settings: Settings
    db: Database
    papers: PaperService
    domain: DomainServices  # citations, bibliographies, neighbourhoods


def _summariser():
    try:
        from bot.summaries import tldr
    except ImportError:  # pragma: no cover - the summariser ships with the package
        return None
    return tldr


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The shared HTTP client and the database, opened once and closed in reverse order."""
    async with make_client(settings) as client:
        db = await open_database(settings.db_path)
        try:
            papers = PaperService(
                build_upstreams(settings, client),
                WorkCache(db),
                ttl_seconds=settings.cache_ttl_hours * 3600,
                summarise=_summariser(),
            )
            yield Services(settings, db, papers, build_services(papers, db))
        finally:
            await db.close()


async def run_bot(settings: Settings, *, sync_only: bool = False) -> int:
    import discord

    from bot.bot import LitBot, apply_discord_urls

    if settings.discord_token is None:
        print(cli.TOKEN_HELP, file=sys.stderr)
        return 2
    apply_discord_urls(settings)
    async with open_services(settings) as services:
        bot = LitBot(
            settings=settings,
            papers=services.papers,
            db=services.db,
            services=services.domain,
        )
        async with bot:
            token = settings.discord_token.get_secret_value()
            try:
                if sync_only:
                    await bot.login(token)
                    synced = await bot.sync_commands()
                    print(f"synced {len(synced)} commands")
                    return 0
                await bot.start(token)
            except discord.LoginFailure:
                print("litbot: Discord rejected the token (DISCORD_TOKEN).", file=sys.stderr)
                return 2
    return 0


async def run_cli(args, settings: Settings) -> int:
    if args.command in ("run", "sync"):
        return await run_bot(settings, sync_only=args.command == "sync")
    async with open_services(settings) as services:
        if args.command == "paper":
            return await cli.paper(services.papers, " ".join(args.query), as_json=args.json)
        if args.command == "neighbours":
            return await cli.neighbours(
                services.papers, services.domain.neighbours, " ".join(args.query), args.kind
            )
        if args.command == "bib":
            return await cli.bib(services.domain.bibs, args)
        if args.command == "summary":
            return await cli.summary(services.papers, " ".join(args.query))
        if args.command == "cite":
            return await cli.cite(services.domain.cites, " ".join(args.query), args.style)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)
    settings = Settings()
    # Terminal commands keep stderr to the one-line answer; the card already names failed
    # sources. --verbose shows the upstream warnings behind it.
    if args.command == "run":
        setup_logging(settings.log_level)
    else:
        setup_logging("INFO" if args.verbose else "ERROR")
    try:
        return asyncio.run(run_cli(args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
