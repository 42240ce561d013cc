"""LitBot: the discord.py client that holds the services, and the one error path to users."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from collections.abc import Coroutine
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.errors import LitError
from bot.markdown import escape_message
from bot.papers import PaperService
from bot.services import DomainServices, build_services
from bot.settings import Settings
from bot.sources.fairness import REQUESTER, Requester
from bot.storage.database import Database
from bot.ui.cycles import let_go_when_done, release_view

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.paper",
    "cogs.cite",
    "cogs.summary",
    "cogs.bib",
    "cogs.alerts",
    "cogs.unfurl",  # after cogs.cite: /settings unfurl joins its /settings group
    "cogs.actions",
    "cogs.help",
)
NO_MENTIONS = discord.AllowedMentions.none()


class DiscordUnreachable(Exception):
    """The first connection to Discord's gateway failed; ``str()`` says why, on one line."""


def apply_discord_urls(settings: Settings) -> None:
    """Point discord.py's REST and gateway at ``settings`` (Discord itself by default).

    These two class attributes are discord.py's only seams for its base URLs; setting them
    before login lets the real bot talk to any Discord-compatible server.
    """
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def lit_error(error: BaseException) -> LitError | None:
    """The ``LitError`` behind discord.py's wrappers (CommandInvokeError, TransformerError)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, LitError):
            return current
        seen.add(id(current))
        current = getattr(current, "original", None) or current.__cause__
    return None


async def reply_privately(interaction: discord.Interaction, message: str) -> None:
    """Answer ephemerally whether or not the interaction was already acknowledged."""
    if not interaction.response.is_done():
        await interaction.response.send_message(
            message, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return
    try:
        # A public "thinking…" placeholder is replaced by a private note, not left behind.
        await interaction.delete_original_response()
    except discord.HTTPException:
        pass
    await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)


def requester_for(payload: dict) -> Requester:
    """Who an INTERACTION_CREATE is for: its server (or the user's DMs) and its user."""
    user = (payload.get("member") or {}).get("user") or payload.get("user") or {}
    user_id = str(user.get("id") or "unknown")
    guild_id = payload.get("guild_id")
    return Requester(f"g{guild_id}" if guild_id else f"dm{user_id}", user_id)


def attribute_interactions(client: discord.Client) -> None:
    """Make every task an interaction starts count against its server and user.

    discord.py parses INTERACTION_CREATE synchronously and starts the command's (or the
    component's) task from inside that parser; a context variable set around the parser is
    copied into those tasks, so the fair upstream limiters know whom each request serves.
    """
    parsers = client._connection.parsers
    original = parsers.get("INTERACTION_CREATE")
    if original is None:  # pragma: no cover - discord.py changed its internals
        log.warning("cannot attribute interactions to servers: upstream shares are not fair")
        return

    def parse(data: dict) -> None:
        token = REQUESTER.set(requester_for(data))
        try:
            original(data)
        finally:
            REQUESTER.reset(token)

    parsers["INTERACTION_CREATE"] = parse


def release_sent_views(client: discord.Client) -> None:
    """Release every fully dynamic view once discord.py has sent and registered it.

    discord.py hands each view it sent (an interaction response, a follow-up, an edit, a
    channel message) to ``ConnectionState.store_view``; after the original has read it (the
    dynamic item classes, a stateful view's dispatch table), ``release_view`` drops it.
    """
    state = client._connection
    original = getattr(state, "store_view", None)
    if original is None:  # pragma: no cover - discord.py changed its internals
        log.warning("sent views are left to the garbage collector")
        return

    def store_view(view: Any, message_id: int | None = None, *args: Any, **kwargs: Any) -> None:
        original(view, message_id, *args, **kwargs)
        release_view(view)

    state.store_view = store_view


class LitTree(app_commands.CommandTree):
    """Turns known failures into short ephemeral replies; logs the rest with a reference id."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Runs first in the task discord.py starts for the command; once that task (command,
        # error handler and all) is done, the interaction is let go (``forget_response``).
        let_go_when_done(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        known = lit_error(error)
        if known is not None:
            message = escape_message(known.user_message)  # it may echo the user's input
        elif isinstance(error, app_commands.CheckFailure):
            message = "You can't use this command here."
        else:
            ref = secrets.token_hex(4)
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("unhandled error in /%s (ref %s)", command, ref, exc_info=error)
            message = f"Something went wrong on our side (reference `{ref}`). It has been logged."
        try:
            await reply_privately(interaction, message)
        except discord.HTTPException:
            log.warning("could not deliver an error message for interaction %s", interaction.id)


class LitBot(commands.Bot):
    """The bot process: services in, cogs loaded, no sync on start (``litbot sync`` does it)."""

    def __init__(
        self,
        *,
        settings: Settings,
        papers: PaperService,
        db: Database,
        services: DomainServices | None = None,
    ) -> None:
        # litbot never joins voice: discord.py's warnings that PyNaCl and davey (voice
        # encryption) are missing are noise at every start. The client checks these class
        # flags in Client.__init__, so they are cleared before it runs.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True
        # Messages reach the bot (for unfurling pasted links); without the privileged
        # message-content intent their text is empty except in DMs, in messages that mention
        # the bot and in replies to it (../shared/research/message-content.md).
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = settings.message_content
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=LitTree,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            chunk_guilds_at_startup=False,
        )
        attribute_interactions(self)
        release_sent_views(self)
        self.settings = settings
        self.papers = papers
        self.db = db
        services = services or build_services(papers, db)
        self.cites = services.cites
        self.bibs = services.bibs
        self.neighbours = services.neighbours
        from bot.storage.watch import WatchStore
        from bot.watch import Watch

        self.watch = Watch(WatchStore(db), papers, interval=settings.watch_hours * 3600)
        self._background: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` after the interaction that started it (a card's later edits); it is
        logged if it fails and cancelled when the bot closes."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a background task failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait for the background tasks (tests; before closing)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await super().close()

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # discord.py's Client.connect() retries a failed connection forever, logging a
        # traceback each time, and its retry reads the previous websocket, which for the very
        # first connection does not exist (self.ws is None: AttributeError). It dispatches
        # "disconnect" first thing in that handler, so a disconnect before any websocket
        # existed means the gateway is unreachable at start-up: a configuration or network
        # fault to report in one line, not to retry. Once connected, reconnects are untouched.
        if event_name == "disconnect" and self.ws is None:
            cause = sys.exception()  # the error discord.py is handling
            reason = " ".join(str(cause).split()) or type(cause).__name__
            raise DiscordUnreachable(reason) from cause
        super().dispatch(event_name, *args, **kwargs)

    @property
    def reads_messages(self) -> bool:
        """Whether the bot has the message-content intent (asked for, and granted)."""
        return self._connection._intents.message_content

    async def connect(self, *, reconnect: bool = True) -> None:
        # Asked for the message-content intent, but the Developer Portal does not grant it:
        # Discord closes the gateway (4014). Everything but channel-wide unfurling works
        # without it, so the bot says so once and connects again without it.
        try:
            await super().connect(reconnect=reconnect)
        except discord.PrivilegedIntentsRequired:
            if not self.reads_messages:
                raise
            log.warning(
                "Discord refused the message-content intent (LITBOT_MESSAGE_CONTENT=true): "
                "enable it under Bot → Privileged Gateway Intents in the Developer Portal. "
                "Running without it: links unfurl in DMs, when litbot is mentioned and in "
                "replies to it, not channel-wide."
            )
            self._connection._intents.message_content = False
            await super().connect(reconnect=reconnect)

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: messages are read by the unfurl cog's listener only."""

    async def setup_hook(self) -> None:
        from bot.ui.alerts import UpgradeButton
        from bot.ui.components import DYNAMIC_ITEMS
        from bot.ui.merges import MergeButton

        self.add_dynamic_items(*DYNAMIC_ITEMS, UpgradeButton, MergeButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Publish the command tree (globally, or to ``LITBOT_DEV_GUILD`` for quick testing)."""
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            return await self.tree.sync(guild=guild)
        return await self.tree.sync()
