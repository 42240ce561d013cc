"""Composition root: settings → logging → httpx client + database → bot or CLI command.

Resources are opened here with ``async with`` and passed down; nothing else opens them.
Heavy modules are imported by the commands that need them: ``litbot paper`` loads neither
discord nor aiohttp nor citeproc (tests/test_lean_cli.py).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import cli
from bot.log import setup_logging

if TYPE_CHECKING:
    import httpx

    from bot.papers import PaperService
    from bot.services import DomainServices
    from bot.settings import Settings
    from bot.storage.database import Database
    from bot.workers import Workers

log = logging.getLogger("bot")

# Exit codes: 2 for something the operator must fix (settings, token, database path), 3 when
# Discord cannot be reached (as for upstream trouble in the terminal commands).
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
# A terminal command stopped by SIGTERM exits as a shell reports a signal (128 + 15); the bot
# itself (``litbot run``) stops cleanly with 0, as a service manager expects.
EXIT_TERMINATED = 143
# How much of an error's text a one-line start-up failure shows.
_REASON_LIMIT = 200


class StartupError(Exception):
    """litbot cannot start: one line for stderr and an exit code, never a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _reason(error: BaseException) -> str:
    """An exception as a short single line (aiohttp and HTTP errors can span lines)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "…"


@dataclass
class Services:
    settings: Settings
    db: Database
    papers: PaperService
    workers: Workers | None = None  # CPU-heavy work in processes (bot.workers)
    _domain: DomainServices | None = field(default=None, repr=False)

    @property
    def domain(self) -> DomainServices:
        """Citations, bibliographies, neighbourhoods: built (and citeproc imported) on first
        use, so ``litbot paper`` pays for none of them."""
        if self._domain is None:
            from bot.services import build_services

            self._domain = build_services(self.papers, self.db, self.workers)
        return self._domain


def make_client(settings: Settings) -> httpx.AsyncClient:
    """The shared HTTP client (``bot.sources.make_client``; httpx loads when a command needs
    it, not for ``styles``, ``format`` or ``--help``)."""
    from bot.sources import make_client as make

    return make(settings)


def _summariser():
    try:
        from bot.summaries import tldr
    except ImportError:  # pragma: no cover - the summariser ships with the package
        return None
    return tldr


@asynccontextmanager
async def open_services(settings: Settings, *, terminal: bool = False) -> AsyncIterator[Services]:
    """The shared HTTP client and the database, opened once and closed in reverse order.
    ``terminal``: a one-shot terminal command, whose light CPU jobs run in this process
    (``bot.workers``)."""
    import sqlite3

    from bot.papers import PaperService
    from bot.sources import build_upstreams
    from bot.sources._pool import load_network_stack
    from bot.storage.database import open_database
    from bot.storage.works import WorkCache
    from bot.workers import Workers

    async with make_client(settings) as client:
        try:
            db = await open_database(settings.db_path)
        except (OSError, sqlite3.Error) as error:
            message = f"cannot open the database {settings.db_path}: {_reason(error)}"
            raise StartupError(message) from None
        try:
            async with Workers(terminal=terminal) as workers:  # processes start on first use
                upstreams = build_upstreams(settings, client)
                for upstream in upstreams.all():  # big list bodies parse in the workers
                    upstream.cpu = workers.run
                papers = PaperService(
                    upstreams,
                    WorkCache(db),
                    ttl_seconds=settings.cache_ttl_hours * 3600,
                    summarise=_summariser(),
                    cpu=workers.run,  # the local TL;DR in the interactive worker process
                )
                if not terminal:  # a one-shot command imports it at its first request
                    await load_network_stack()
                quiet_collector()
                loop_first()
                try:
                    yield Services(settings, db, papers, workers)
                finally:
                    await papers.close()
        finally:
            await db.close()


# Young-generation collections at most every 10,000 new containers (not 700): a lookup
# builds thousands, and each collection runs on the event loop.
GC_THRESHOLDS = (10_000, 10, 10)


def quiet_collector() -> None:
    """Keep the garbage collector's pauses off the event loop's critical path: what start-up
    built (modules, the style registry, settings) is frozen out of every later collection, and
    young collections run less often. A full collection walks every live object: on a busy
    bot (caches, a 5,000-work re-check) it stalled the loop for 100+ ms (``bench/watch.py``)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# How long another thread of this process may keep the interpreter once the event loop's thread
# asks for it back: 1 ms, not CPython's 5 (see loop_first).
SWITCH_INTERVAL = 0.001


def loop_first() -> None:
    """Give the event loop the interpreter back sooner. Helper threads hold it while they work
    in Python: aiosqlite's (binding rows), and the process pool's feeder and result threads
    (pickling a 500-work citation, unpickling an import's parsed entries). The loop lets go of
    it at every socket send, selector change and connect, and then waits up to the switch
    interval for each; during a burst those waits added up to tens of milliseconds of stall in
    one pass (``bench/load.py``). The threads' own work is not urgent: it only switches more."""
    sys.setswitchinterval(SWITCH_INTERVAL)


async def run_bot(settings: Settings, *, sync_only: bool = False) -> int:
    import aiohttp
    import discord

    from bot.bot import DiscordUnreachable, LitBot, apply_discord_urls

    if settings.discord_token is None:  # unset or empty in .env: never a login attempt
        print(cli.TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
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
                return EXIT_CONFIG
            except DiscordUnreachable as error:
                raise StartupError(
                    f"cannot connect to the Discord gateway at {settings.discord_gateway_url}: "
                    f"{error}",
                    EXIT_UNREACHABLE,
                ) from None
            except (
                aiohttp.ClientError,  # includes DNS failures and refused connections
                OSError,
                TimeoutError,
                discord.HTTPException,  # Discord answered, but with an error (5xx…)
                discord.GatewayNotFound,
                discord.ConnectionClosed,  # a close code that cannot be resumed
            ) as error:
                raise StartupError(
                    f"cannot reach Discord at {settings.discord_api_url}: {_reason(error)}",
                    EXIT_UNREACHABLE,
                ) from None
    return 0


async def run_cli(args, settings: Settings) -> int:
    if args.command in ("run", "sync"):
        return await run_bot(settings, sync_only=args.command == "sync")
    if args.command == "styles":  # the bundled files only: no database, no network
        return cli.styles(" ".join(args.query), dependent=args.all, limit=args.limit)
    if args.command == "format":  # a local file and a style: no database, no network
        return cli.format_file(args.items, args.style, args.output)
    async with open_services(settings, terminal=True) as services:
        if args.command == "paper":
            return await cli.paper(services.papers, " ".join(args.query), as_json=args.json)
        if args.command == "neighbours":
            return await cli.neighbours(
                services.papers,
                services.domain.neighbours,
                " ".join(args.query),
                args.kind,
                png=args.png,
            )
        if args.command == "bib":
            return await cli.bib(services.domain.bibs, args)
        if args.command == "summary":
            return await cli.summary(services.papers, " ".join(args.query))
        if args.command == "cite":
            return await cli.cite(services.domain.cites, " ".join(args.query), args.style)
    return 2


async def _until_terminated(command: Awaitable[int], name: str) -> int:
    """Run ``command``; SIGTERM (a service manager stopping the bot, ``kill``) cancels it, so
    everything closes in order as it unwinds: the Discord session, the worker processes, the
    HTTP client, the database. Without this, SIGTERM ends the process at once."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        if not terminated:
            terminated = True
            log.info("SIGTERM: stopping")
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError):  # no signal handlers here (Windows)
        return await command
    try:
        return await command
    except asyncio.CancelledError:
        if not terminated:
            raise
        return 0 if name in ("run", "sync") else EXIT_TERMINATED
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)  # --help and usage errors exit here, lean
    import asyncio

    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"litbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    # Terminal commands keep stderr to the one-line answer; the card already names failed
    # sources. --verbose shows the upstream warnings behind it.
    if args.command == "run":
        setup_logging(settings.log_level)
    else:
        setup_logging("INFO" if args.verbose else "ERROR")
    try:
        return asyncio.run(_until_terminated(run_cli(args, settings), args.command))
    except StartupError as error:
        print(f"litbot: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
