"""A fake Discord on 127.0.0.1: the gateway and the REST routes litbot uses, nothing more.

The real bot process connects to it exactly as it would to Discord (``LITBOT_DISCORD_API_URL``,
``LITBOT_DISCORD_GATEWAY_URL``); tests drive it with ``slash``, ``autocomplete``, ``click`` and
``select``, which send INTERACTION_CREATE over the gateway and return an ``Answer``: the
callback(s), the final message, and how long the first acknowledgement and the final answer
took. The wire details discord.py 2.7 depends on are in ``../shared/research/discord-testing.md``
§3 (exact ``Content-Type``, ``with_response`` bodies, ``attachment_size_limit``, ``Via`` on 429s,
``resume_gateway_url``). A file for a command's attachment option (``Attachment(name, data)``)
is described in ``data.resolved.attachments`` and served from a signed ``ephemeral-attachments``
url on the same server, as Discord's CDN does; ``downloads`` records what the bot fetched.

Discord's rules are enforced, not assumed: message limits (400 / 50035 with Discord's nested
error shape), the 3-second initial response (10062 after it), the 15-minute token (50027),
double acknowledgement (40060), unknown messages and webhooks. Those answers are bot bugs and
are collected in ``rejections``; a route the fake does not model answers 501 and is collected
in ``unmodelled``. Injected trouble (``rate_limit``, ``server_error``, ``close_dms``) is not a
rejection: it is recorded in ``faults_served``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import mimetypes
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import WSMsgType, web

from tests.e2e.discord_rules import (
    EPHEMERAL,
    INTERACTION_FLAGS,
    MESSAGE_FLAGS,
    DiscordError,
    Problems,
    check_choices,
    check_commands,
    check_message,
    invalid,
)

API = "/api/v10"
APP_ID = "900000000000000001"
TOKEN = "fake.litbot.e2e-token"
ACK_DEADLINE = 3.0  # seconds from INTERACTION_CREATE to the initial response
TOKEN_LIFETIME = 15 * 60.0  # followups and edits
ATTACHMENT_LIMIT = 10 * 1024 * 1024  # reported to the bot as attachment_size_limit
HEARTBEAT_INTERVAL_MS = 41250
ALL_PERMISSIONS = 2251799813685247
MANAGE_GUILD = 1 << 5
LOADING = 1 << 7
GUILDS_INTENT = 1 << 0
GUILD_MESSAGES_INTENT = 1 << 9
DIRECT_MESSAGES_INTENT = 1 << 12
MESSAGE_CONTENT_INTENT = 1 << 15  # privileged: granted in the Developer Portal
MESSAGE_COMMAND = 3  # application command type of a message action (context menu)
REPLY = 19  # message type of a reply
CONTENT_TYPES = {  # by extension, whatever this machine's mimetypes table says
    "bib": "text/x-bibtex",
    "ris": "application/x-research-info-systems",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "pdf": "application/pdf",
}

# Interaction types → the callback types Discord accepts for them.
COMMAND, COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
CALLBACKS_ALLOWED = {
    COMMAND: {4, 5, 9},
    COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}

BOT_USER = {
    "id": APP_ID,
    "username": "litbot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
    "public_flags": 0,
    "flags": 0,
    "verified": True,
    "mfa_enabled": False,
}
OWNER = {
    "id": "900000000000000002",
    "username": "lab-admin",
    "discriminator": "0",
    "global_name": "Lab Admin",
    "avatar": None,
    "public_flags": 0,
}
ARRIVED = web.RequestKey("arrived", float)
GLOBAL = "*"  # limited_until's key for a global rate limit
CALL = web.RequestKey("call", "RestCall")
_snowflakes = itertools.count(1_300_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_snowflakes))


def _iso(when: float | None = None) -> str:
    return datetime.fromtimestamp(when or time.time(), UTC).isoformat()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None):
    """discord.py parses a body as JSON only when Content-Type is exactly application/json."""
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# --- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file on a message, or one a test attaches to a command's attachment option:
    ``slash("bib import", file=Attachment("lab.bib", data))``. The fake gives it its ``id`` and
    ``url`` (and, for an option, a content type guessed from the name as Discord does)."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str | None = None
    id: str = ""
    url: str = ""
    ephemeral: bool = False  # a command option's upload (Discord's ephemeral-attachments)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            data["content_type"] = self.content_type
        if self.ephemeral:
            data["ephemeral"] = True
        return data


@dataclass(frozen=True)
class Message:
    """A snapshot of a message as Discord holds it."""

    id: str
    channel_id: str
    guild_id: str | None
    content: str
    embeds: tuple[dict[str, Any], ...]
    components: tuple[dict[str, Any], ...]
    attachments: tuple[Attachment, ...]
    flags: int
    edited: bool
    deleted: bool

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def embed(self) -> dict[str, Any]:
        assert self.embeds, f"message {self.id} has no embed: {self.content!r}"
        return self.embeds[0]

    def field(self, name: str) -> str:
        """The value of the first embed's field called ``name``."""
        for item in self.embed.get("fields") or []:
            if item["name"] == name:
                return item["value"]
        raise KeyError(
            f"no embed field {name!r} in {[f['name'] for f in self.embed.get('fields') or []]}"
        )

    def items(self) -> Iterator[dict[str, Any]]:
        for row in self.components:
            yield from row.get("components") or []

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in self.items() if c.get("custom_id")]

    def component(self, custom_id: str) -> dict[str, Any]:
        for item in self.items():
            if item.get("custom_id") == custom_id:
                return item
        raise LookupError(f"message {self.id} has no component {custom_id!r}: {self.custom_ids}")


@dataclass
class StoredMessage:
    id: str
    channel_id: str
    guild_id: str | None
    flags: int = 0
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    interaction: dict[str, Any] | None = None  # interaction_metadata
    author: dict[str, Any] | None = None  # a member's message (say); None: the bot's
    mentions: list[dict[str, Any]] = field(default_factory=list)
    reference: dict[str, Any] | None = None  # message_reference of a reply
    created: float = field(default_factory=time.time)
    edited: float | None = None
    deleted: bool = False

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    def apply(self, payload: dict[str, Any], attachments: list[Attachment] | None) -> None:
        for key in ("content", "embeds", "components"):
            if key in payload and payload[key] is not None:
                setattr(self, key, payload[key])
        if attachments is not None:
            self.attachments = attachments

    def snapshot(self) -> Message:
        return Message(
            self.id,
            self.channel_id,
            self.guild_id,
            self.content,
            tuple(self.embeds),
            tuple(self.components),
            tuple(self.attachments),
            self.flags,
            self.edited is not None,
            self.deleted,
        )

    @property
    def by_bot(self) -> bool:
        return self.author is None

    def payload(self, referenced: StoredMessage | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "channel_id": self.channel_id,
            "author": self.author or BOT_USER,
            "content": self.content,
            "timestamp": _iso(self.created),
            "edited_timestamp": _iso(self.edited) if self.edited else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": list(self.mentions),
            "mention_roles": [],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": self.embeds,
            "pinned": False,
            "type": 0,
            "flags": self.flags,
            "components": self.components,
        }
        if self.guild_id:
            data["guild_id"] = self.guild_id
        if self.reference is not None:
            data.update(type=REPLY, message_reference=self.reference)
            data["referenced_message"] = referenced.payload() if referenced else None
        if self.interaction is not None:
            data.update(
                type=20 if self.interaction["type"] == COMMAND else 19,
                webhook_id=APP_ID,
                application_id=APP_ID,
                interaction_metadata=self.interaction,
            )
        return data


@dataclass
class Guild:
    id: str
    name: str
    channel_id: str
    other_channel_id: str = ""  # a second text channel, "reading"

    @property
    def channel_ids(self) -> tuple[str, ...]:
        return tuple(c for c in (self.channel_id, self.other_channel_id) if c)

    def channel(self, channel_id: str | None = None) -> dict[str, Any]:
        channel_id = channel_id or self.channel_id
        return {
            "id": channel_id,
            "type": 0,
            "guild_id": self.id,
            "name": "general" if channel_id == self.channel_id else "reading",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "flags": 0,
        }

    def create_event(self) -> dict[str, Any]:
        """GUILD_CREATE's ``d``: the keys discord.py requires, @everyone and the bot as member."""
        everyone = {"id": self.id, "name": "@everyone", "position": 0, "color": 0}
        everyone["permissions"] = str(ALL_PERMISSIONS & ~MANAGE_GUILD)
        me = {"user": BOT_USER, "roles": [], "joined_at": _iso(), "flags": 0}
        me.update(deaf=False, mute=False, nick=None, pending=False)
        empty = ("emojis", "stickers", "features", "voice_states", "presences", "threads")
        return {
            **{key: [] for key in empty},
            "id": self.id,
            "name": self.name,
            "owner_id": OWNER["id"],
            "joined_at": _iso(),
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "roles": [everyone],
            "members": [me],
            "channels": [self.channel(c) for c in self.channel_ids],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "preferred_locale": "en-US",
        }


@dataclass
class RestCall:
    """One REST request the bot made, as the fake saw it."""

    key: str  # "POST /interactions/{interaction_id}/{token}/callback"
    path: str
    at: float
    json: Any = None
    files: list[tuple[str, bytes]] = field(default_factory=list)
    status: int = 0


@dataclass
class Rejection:
    """An error the fake answered because the bot broke one of Discord's rules."""

    key: str
    path: str
    status: int
    code: int
    message: str
    errors: dict[str, Any] | None
    token: str | None


@dataclass
class Fault:
    key: str
    status: int
    times: int
    retry_after: float
    is_global: bool
    via: bool


@dataclass
class Interaction:
    id: str
    token: str
    type: int
    payload: dict[str, Any]
    user: dict[str, Any]
    dispatched_at: float
    acked: int | None = None
    acked_at: float | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    last_message_id: str | None = None
    last_write_at: float | None = None
    last_activity: float = 0.0
    rejections: list[Rejection] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self, now: float) -> None:
        self.last_activity = now
        self.changed.set()


@dataclass
class Answer:
    """What the bot did with one interaction."""

    description: str
    interaction: dict[str, Any]
    callbacks: list[dict[str, Any]]
    messages: list[Message]  # the visible original response and followups, oldest first
    message: Message | None  # the last message written (the answer the user ends up with)
    channel_messages: list[Message]  # channel messages (DMs) the bot posted meanwhile
    first_ack: float  # seconds from INTERACTION_CREATE to the accepted initial response
    final: float | None  # … to the last message write
    rejections: list[Rejection]

    @property
    def callback_types(self) -> list[int]:
        return [c["type"] for c in self.callbacks]

    @property
    def callback_type(self) -> int:
        return self.callbacks[0]["type"]

    @property
    def choices(self) -> list[dict[str, Any]]:
        assert self.callback_type == 8, f"not an autocomplete answer: {self.callback_types}"
        return self.callbacks[0]["data"]["choices"]

    @property
    def content(self) -> str:
        assert self.message is not None, f"{self.description}: no message"
        return self.message.content


class NoAnswer(AssertionError):
    """The bot did not acknowledge (or did not finish) an interaction as Discord requires."""


@dataclass
class Connection:
    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)


# --- the server ----------------------------------------------------------------------------


class FakeDiscord:
    """``async with FakeDiscord() as discord:`` → ``discord.env`` for the bot process."""

    def __init__(
        self,
        guilds: tuple[str, ...] = ("home", "a", "b"),
        *,
        token: str = TOKEN,
        require_allowed_mentions: bool = True,
        ack_deadline: float = ACK_DEADLINE,
        message_content_granted: bool = True,
    ) -> None:
        self.token = token
        self.ack_deadline = ack_deadline
        self.require_allowed_mentions = require_allowed_mentions
        self.port = 0
        self.guilds = {
            name: Guild(
                str(900000000000000100 + i),
                name,
                str(900000000000000200 + i),
                str(900000000000000500 + i),
            )
            for i, name in enumerate(guilds)
        }
        # The Developer Portal's switch: IDENTIFY asking for message content without it is
        # closed with 4014 (disallowed intents), as Discord does.
        self.message_content_granted = message_content_granted
        self.intents = 0  # what the live session asked for
        self._posted = asyncio.Condition()  # a channel message was posted
        self._tasks: set[asyncio.Task[Any]] = set()
        self.users: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, dict[str, Any]] = {}  # global, by name
        self.guild_commands: dict[str, dict[str, dict[str, Any]]] = {}
        self.command_puts: list[tuple[str, list[dict[str, Any]]]] = []  # (route, body)
        self.interactions: dict[str, Interaction] = {}  # by token
        self.messages: dict[str, StoredMessage] = {}
        self.dm_channels: dict[str, str] = {}  # user id → channel id
        self.channel_posts: list[tuple[float, str]] = []  # (time, message id), channel messages
        self.dms_closed: set[str] = set()
        self.uploads: dict[str, Attachment] = {}  # files attached to command options, by id
        self.downloads: list[str] = []  # ids of attachments the bot fetched from the "CDN"
        self.calls: list[RestCall] = []
        self.rejections: list[Rejection] = []
        self.unmodelled: list[str] = []
        self.faults: list[Fault] = []
        self.faults_served: list[tuple[str, int]] = []
        # After a 429, the route (or, for a global one, every route) answers 429 again until
        # its Retry-After has passed, as Discord does: a client that retries early is seen.
        self.limited_until: dict[str, float] = {}
        # gateway
        self.connections: list[Connection] = []
        self.live: Connection | None = None
        self.session_id: str | None = None
        self.seq = 0
        self.events: list[dict[str, Any]] = []  # this session's dispatches, for RESUME replay
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.settled = False  # the bot answered a heartbeat request sent after GUILD_CREATE
        self._state_changed = asyncio.Condition()
        self._send_lock = asyncio.Lock()
        self._offset = 0.0
        self._runner: web.AppRunner | None = None

    # -- clock and addresses

    def now(self) -> float:
        return time.perf_counter() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (interaction deadlines and token lifetimes)."""
        self._offset += seconds

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base + API

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume"

    @property
    def env(self) -> dict[str, str]:
        return {
            "DISCORD_TOKEN": self.token,
            "LITBOT_DISCORD_API_URL": self.api_url,
            "LITBOT_DISCORD_GATEWAY_URL": self.gateway_url,
        }

    # -- people and places

    def user(self, name: str | dict[str, Any] = "alice") -> dict[str, Any]:
        if isinstance(name, dict):
            return name
        if name not in self.users:
            self.users[name] = {
                "id": str(900000000000000300 + len(self.users)),
                "username": name,
                "discriminator": "0",
                "global_name": name.title(),
                "avatar": None,
                "public_flags": 0,
            }
        return self.users[name]

    def guild(self, which: str | None = None) -> Guild:
        if which is None:
            return next(iter(self.guilds.values()))
        for guild in self.guilds.values():
            if which in (guild.name, guild.id):
                return guild
        raise LookupError(f"no guild {which!r}; configured: {list(self.guilds)}")

    def dm_channel(self, user: dict[str, Any]) -> str:
        return self.dm_channels.setdefault(
            user["id"], str(900000000000000400 + len(self.dm_channels))
        )

    def channel_messages(self, channel_id: str) -> list[Message]:
        return [
            self.messages[mid].snapshot()
            for _, mid in self.channel_posts
            if self.messages[mid].channel_id == channel_id
        ]

    def close_dms(self, user: str | dict[str, Any]) -> None:
        """Messages to this user's DMs answer 403 / 50007, as when they closed their DMs."""
        self.dms_closed.add(self.user(user)["id"])

    # -- injected trouble

    def rate_limit(
        self, route: str, *, times: int = 1, retry_after: float = 0.25, is_global: bool = False
    ) -> None:
        """The next ``times`` requests to ``route`` ("POST /channels/{channel_id}/messages")
        answer 429 with Retry-After, X-RateLimit-* and ``Via`` (without it discord.py takes
        the 429 for a Cloudflare ban and does not retry)."""
        self._add_fault(Fault(route, 429, times, retry_after, is_global, via=True))

    def server_error(self, route: str, *, status: int = 500, times: int = 1) -> None:
        self._add_fault(Fault(route, status, times, 0.0, False, via=True))

    def _add_fault(self, fault: Fault) -> None:
        known = {f"{r.method} {r.resource.canonical.removeprefix(API)}" for r in self._app_routes()}
        if fault.key not in known:
            raise ValueError(f"{fault.key!r} is not a modelled route: {sorted(known)}")
        self.faults.append(fault)

    def reset(self) -> None:
        """Forget injected trouble (between tests)."""
        self.faults.clear()
        self.faults_served.clear()
        self.limited_until.clear()
        self.dms_closed.clear()

    def take_rejections(self) -> list[Rejection]:
        taken, self.rejections = self.rejections, []
        return taken

    def requests(self, key: str) -> list[RestCall]:
        return [c for c in self.calls if c.key == key]

    # -- lifecycle

    def _app_routes(self) -> list[web.AbstractRoute]:
        return [
            r
            for r in self._app.router.routes()
            if r.resource and r.resource.canonical.startswith(API)
        ]

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_get("/", self._gateway)
        r.add_get("/resume", self._gateway)
        r.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        r.add_get(
            "/ephemeral-attachments/{channel_id}/{attachment_id}/{filename}", self._upload_file
        )
        r.add_get(f"{API}/gateway", self._get_gateway)
        r.add_get(f"{API}/gateway/bot", self._get_gateway_bot)
        r.add_get(f"{API}/users/@me", self._me)
        r.add_get(f"{API}/oauth2/applications/@me", self._application)
        r.add_get(f"{API}/applications/{{application_id}}/commands", self._get_commands)
        r.add_put(f"{API}/applications/{{application_id}}/commands", self._put_commands)
        r.add_get(
            f"{API}/applications/{{application_id}}/guilds/{{guild_id}}/commands",
            self._get_commands,
        )
        r.add_put(
            f"{API}/applications/{{application_id}}/guilds/{{guild_id}}/commands",
            self._put_commands,
        )
        r.add_post(f"{API}/interactions/{{interaction_id}}/{{token}}/callback", self._callback)
        r.add_post(f"{API}/webhooks/{{application_id}}/{{token}}", self._followup)
        for method in ("GET", "PATCH", "DELETE"):
            r.add_route(
                method,
                f"{API}/webhooks/{{application_id}}/{{token}}/messages/{{message_id}}",
                self._webhook_message,
            )
        r.add_post(f"{API}/users/@me/channels", self._create_dm)
        r.add_post(f"{API}/channels/{{channel_id}}/messages", self._channel_message)
        r.add_get(
            f"{API}/channels/{{channel_id}}/messages/{{message_id}}", self._get_channel_message
        )
        r.add_patch(
            f"{API}/channels/{{channel_id}}/messages/{{message_id}}", self._edit_channel_message
        )
        r.add_route("*", "/{tail:.*}", self._unmodelled)
        self._app = app
        return app

    async def start(self) -> FakeDiscord:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for conn in self.connections:
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- REST plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        arrived = self.now()
        request[ARRIVED] = arrived
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else request.path
        if not canonical.startswith(API) or canonical == "/{tail}":
            return await handler(request)
        call = RestCall(f"{request.method} {canonical.removeprefix(API)}", request.path_qs, arrived)
        request[CALL] = call
        self.calls.append(call)
        until = max(self.limited_until.get(call.key, 0.0), self.limited_until.get(GLOBAL, 0.0))
        fault = next((f for f in self.faults if f.key == call.key and f.times > 0), None)
        if fault is not None:
            fault.times -= 1
        elif arrived < until:  # retried inside the window of a 429: another 429
            is_global = self.limited_until.get(GLOBAL, 0.0) > arrived
            fault = Fault(call.key, 429, 0, until - arrived, is_global, True)
        if fault is not None:
            if fault.status == 429:  # (less a millisecond: the client's clock may round apart)
                key = GLOBAL if fault.is_global else call.key
                self.limited_until[key] = arrived + fault.retry_after - 0.001
            self.faults_served.append((call.key, fault.status))
            call.status = fault.status
            return self._fault_response(fault, call.key)
        try:
            if not self._authorised(request, call.key):
                raise DiscordError(401, 0, "401: Unauthorized")
            response = await handler(request)
        except DiscordError as error:
            token = request.match_info.get("token")
            rejection = Rejection(
                call.key, request.path, error.status, error.code, error.message, error.errors, token
            )
            self.rejections.append(rejection)
            if token in self.interactions:
                self.interactions[token].rejections.append(rejection)
                self.interactions[token].touch(self.now())
            response = json_response(error.body(), error.status)
        call.status = response.status
        return response

    def _authorised(self, request: web.Request, key: str) -> bool:
        if key.split(" ", 1)[1].startswith(("/interactions/", "/webhooks/")):
            return True  # interaction webhooks are authorised by the token in the path
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _fault_response(self, fault: Fault, key: str) -> web.Response:
        if fault.status != 429:
            return json_response(
                {"message": f"{fault.status}: Internal Server Error", "code": 0}, fault.status
            )
        bucket = hashlib.sha1(key.encode()).hexdigest()[:16]
        headers = {
            "Retry-After": str(math.ceil(fault.retry_after)),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
            "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        if fault.via:
            headers["Via"] = "1.1 google"
        body = {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
        }
        return json_response(body, 429, headers)

    async def _body(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[int, tuple[str, bytes, str | None]]]:
        """The JSON body, or a multipart body's ``payload_json`` and ``files[n]`` parts."""
        files: dict[int, tuple[str, bytes, str | None]] = {}
        payload: dict[str, Any] = {}
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                name = part.name or ""
                data = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    payload = json.loads(data)
                elif name.startswith("files[") and name.endswith("]"):
                    content_type = part.headers.get("Content-Type")  # type: ignore[union-attr]
                    files[int(name[6:-1])] = (part.filename or "file", bytes(data), content_type)
                else:
                    raise invalid((name,), "UNKNOWN_FIELD", "Unknown multipart field")
        elif request.can_read_body:
            if request.content_type != "application/json":
                raise DiscordError(400, 50109, "The request body contains invalid JSON.")
            payload = await request.json()
        call: RestCall | None = request.get(CALL)
        if call is not None:
            call.json = payload
            call.files = [(name, data) for name, data, _ in files.values()]
        return payload, files

    def _attachments(
        self,
        payload: dict[str, Any],
        files: dict[int, tuple[str, bytes, str | None]],
        channel_id: str,
        existing: list[Attachment],
    ) -> list[Attachment] | None:
        """The message's attachments after this request (``None``: leave them as they are)."""
        if "attachments" not in payload and not files:
            return None
        keep = {a.id: a for a in existing}
        out: list[Attachment] = []
        listed = payload.get("attachments")
        if listed is None:
            listed = [{"id": i} for i in files]
        for entry in listed:
            ref = entry.get("id")
            if str(ref) in keep:
                out.append(keep[str(ref)])
                continue
            if (not isinstance(ref, int) and not str(ref).isdigit()) or int(ref) not in files:
                raise invalid(
                    ("attachments",), "ATTACHMENT_NOT_FOUND", f"No file for attachment {ref}"
                )
            name, data, content_type = files[int(ref)]
            if len(data) > ATTACHMENT_LIMIT:
                raise DiscordError(413, 40005, "Request entity too large")
            aid = snowflake()
            filename = entry.get("filename") or name
            url = f"{self.base}/attachments/{channel_id}/{aid}/{quote(filename)}"
            out.append(Attachment(filename, data, content_type, aid, url))
        return out

    def _signature(self, attachment_id: str, expires: str) -> str:
        return hashlib.sha256(f"{self.token}:{attachment_id}:{expires}".encode()).hexdigest()

    def upload(self, item: Attachment, channel_id: str) -> Attachment:
        """A file a user attaches to a command option, as Discord stores it: an ephemeral
        attachment with a signed, expiring CDN url (``?ex=&is=&hm=``), served on loopback."""
        if len(item.data) > ATTACHMENT_LIMIT:
            raise ValueError(f"{item.filename}: Discord's client refuses files over the limit")
        aid = snowflake()
        content_type = item.content_type
        if content_type is None:
            suffix = item.filename.rpartition(".")[2].lower()
            guessed = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(item.filename)[0]
            if guessed and guessed.startswith("text/"):
                guessed += "; charset=utf-8"
            content_type = guessed
        issued = int(time.time())
        expires = f"{issued + 86400:x}"
        query = f"ex={expires}&is={issued:x}&hm={self._signature(aid, expires)}&"
        url = f"{self.base}/ephemeral-attachments/{channel_id}/{aid}/{quote(item.filename)}"
        stored = Attachment(item.filename, item.data, content_type, aid, f"{url}?{query}", True)
        self.uploads[aid] = stored
        return stored

    # -- REST: login, gateway discovery, commands

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url.rstrip("/")})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        return json_response(
            {"url": self.gateway_url.rstrip("/"), "shards": 1, "session_start_limit": limit}
        )

    async def _me(self, request: web.Request) -> web.Response:
        return json_response(BOT_USER)

    async def _application(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "id": APP_ID,
                "name": "litbot",
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": OWNER,
                "team": None,
                "flags": 0,
                "interactions_endpoint_url": None,
                "bot": BOT_USER,
            }
        )

    def _check_app(self, request: web.Request) -> None:
        if request.match_info["application_id"] != APP_ID:
            raise DiscordError(403, 50001, "Missing Access")

    async def _get_commands(self, request: web.Request) -> web.Response:
        self._check_app(request)
        guild_id = request.match_info.get("guild_id")
        table = self.guild_commands.get(guild_id, {}) if guild_id else self.commands
        return json_response(list(table.values()))

    async def _put_commands(self, request: web.Request) -> web.Response:
        self._check_app(request)
        body, _ = await self._body(request)
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None:
            self.guild(guild_id)
        check_commands(body)
        self.command_puts.append((request.path, body))
        table: dict[str, dict[str, Any]] = {}
        for command in body:
            stored = {
                **command,
                "id": snowflake(),
                "application_id": APP_ID,
                "version": snowflake(),
                "default_member_permissions": command.get("default_member_permissions"),
                "type": command.get("type", 1),
                # Discord answers "" for a message or user command, which has none
                "description": command.get("description", ""),
            }
            if guild_id:
                stored["guild_id"] = guild_id
            table[command["name"]] = stored
        if guild_id:
            self.guild_commands[guild_id] = table
        else:
            self.commands = table
        return json_response(list(table.values()))

    # -- REST: interaction responses

    def _interaction(self, request: web.Request) -> Interaction:
        """The interaction behind a webhook route (token lifetime and acknowledgement checked)."""
        if request.match_info["application_id"] != APP_ID:
            raise DiscordError(404, 10015, "Unknown Webhook")
        inter = self.interactions.get(request.match_info["token"])
        if inter is None or inter.acked is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if self.now() - inter.dispatched_at > TOKEN_LIFETIME:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        inter.touch(self.now())
        return inter

    def _new_message(
        self,
        inter: Interaction,
        flags: int,
        payload: dict[str, Any],
        attachments: list[Attachment] | None,
    ) -> StoredMessage:
        channel = inter.payload.get("channel_id") or ""
        message = StoredMessage(
            snowflake(),
            channel,
            inter.payload.get("guild_id"),
            flags=flags,
            interaction={
                "id": inter.id,
                "type": inter.type,
                "user": inter.user,
                "authorizing_integration_owners": inter.payload.get(
                    "authorizing_integration_owners", {}
                ),
            },
        )
        message.apply(payload, attachments)
        self.messages[message.id] = message
        return message

    def _check(self, payload: dict[str, Any], flags: int = INTERACTION_FLAGS, **how: Any) -> None:
        check_message(
            payload,
            allowed_flags=flags,
            require_allowed_mentions=self.require_allowed_mentions,
            **how,
        )

    def _wrote(self, inter: Interaction, message: StoredMessage, at: float) -> None:
        inter.last_message_id = message.id
        inter.last_write_at = at
        inter.touch(at)

    async def _callback(self, request: web.Request) -> web.Response:
        arrived = request[ARRIVED]
        inter = self.interactions.get(request.match_info["token"])
        payload, files = await self._body(request)
        if inter is None or inter.id != request.match_info["interaction_id"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        inter.touch(arrived)
        if arrived - inter.dispatched_at > self.ack_deadline:
            raise DiscordError(404, 10062, "Unknown interaction")  # Discord has invalidated it
        if inter.acked is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        kind = payload.get("type")
        if kind not in CALLBACKS_ALLOWED[inter.type]:
            raise invalid(
                ("type",), "INTERACTION_RESPONSE_TYPE_INVALID", f"Callback {kind} not valid here"
            )
        data = payload.get("data") or {}
        message: StoredMessage | None = None
        if kind == 4:
            self._check(data)
            attachments = self._attachments(data, files, inter.payload["channel_id"], [])
            message = self._new_message(inter, data.get("flags") or 0, data, attachments)
        elif kind == 5:
            flags = data.get("flags") or 0
            if flags & ~EPHEMERAL:
                raise invalid(
                    ("data", "flags"), "MESSAGE_FLAGS_INVALID", "Only EPHEMERAL when deferring"
                )
            message = self._new_message(inter, LOADING | flags, {}, None)
        elif kind in (6, 7):
            if "message" not in inter.payload:
                raise invalid(
                    ("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "No message to update"
                )
            message = self.messages[inter.payload["message"]["id"]]
            if kind == 7:
                self._check({**data, "content": data.get("content", message.content)})
                message.apply(
                    data, self._attachments(data, files, message.channel_id, message.attachments)
                )
                message.edited = time.time()
        elif kind == 8:
            check_choices(data)
        elif kind == 9:
            problems = Problems()
            problems.too_long(("data", "custom_id"), data.get("custom_id"), 100)
            problems.too_long(("data", "title"), data.get("title"), 45)
            if not 1 <= len(data.get("components") or []) <= 5:
                problems.add(
                    ("data", "components"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 5 in length.",
                )
            problems.raise_if_any()
        inter.acked, inter.acked_at = kind, arrived
        inter.callbacks.append(payload)
        if message is not None:
            inter.original_id = message.id
        if kind in (4, 7, 8, 9):
            inter.last_write_at = arrived
            inter.last_message_id = message.id if message is not None else None
        inter.touch(arrived)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        body: dict[str, Any] = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_id": message.id if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.flags & EPHEMERAL),
            },
            "resource": {"type": kind},
        }
        if message is not None and kind in (4, 5, 7):
            body["resource"]["message"] = message.payload()
        return json_response(body)

    async def _followup(self, request: web.Request) -> web.StreamResponse:
        payload, files = await self._body(request)
        inter = self._interaction(request)
        original = self.messages.get(inter.original_id or "")
        self._check(payload)
        if original is not None and original.loading and not original.deleted:
            # After a defer, the first followup edits the "thinking…" message; its flags stay
            # those of the defer (Discord ignores the followup's ephemeral flag here).
            original.apply(payload, self._attachments(payload, files, original.channel_id, []))
            original.flags &= ~LOADING
            original.edited = time.time()
            message = original
        else:
            attachments = self._attachments(payload, files, inter.payload["channel_id"], [])
            message = self._new_message(inter, payload.get("flags") or 0, payload, attachments)
            inter.followup_ids.append(message.id)
        self._wrote(inter, message, request[ARRIVED])
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(message.payload())
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.StreamResponse:
        payload, files = await self._body(request) if request.method == "PATCH" else ({}, {})
        inter = self._interaction(request)
        mid = request.match_info["message_id"]
        if mid == "@original":
            mid = inter.original_id or ""
        elif mid not in inter.followup_ids and mid != inter.original_id:
            raise DiscordError(404, 10008, "Unknown Message")
        message = self.messages.get(mid)
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        if request.method == "GET":
            return json_response(message.payload())
        if request.method == "DELETE":
            message.deleted = True
            inter.touch(request[ARRIVED])
            return web.Response(status=204)
        attachments = self._attachments(payload, files, message.channel_id, message.attachments)
        merged = {
            "content": payload.get("content", message.content),
            "embeds": payload.get("embeds", message.embeds),
            "components": payload.get("components", message.components),
            "allowed_mentions": payload.get("allowed_mentions"),
            "attachments": message.attachments if attachments is None else attachments,
        }
        self._check(merged)
        message.apply(payload, attachments)
        message.flags &= ~LOADING
        message.edited = time.time()
        self._wrote(inter, message, request[ARRIVED])
        return json_response(message.payload())

    # -- REST: DMs and channel messages

    async def _create_dm(self, request: web.Request) -> web.Response:
        payload, _ = await self._body(request)
        recipient = str(payload.get("recipient_id"))
        user = next((u for u in self.users.values() if u["id"] == recipient), None)
        if user is None:
            raise invalid(("recipient_id",), "USER_UNKNOWN", "Unknown user")
        return json_response(
            {
                "id": self.dm_channel(user),
                "type": 1,
                "recipients": [user],
                "last_message_id": None,
                "flags": 0,
            }
        )

    async def _channel_message(self, request: web.Request) -> web.Response:
        payload, files = await self._body(request)
        channel_id = request.match_info["channel_id"]
        guild = next((g for g in self.guilds.values() if channel_id in g.channel_ids), None)
        recipient = next((uid for uid, cid in self.dm_channels.items() if cid == channel_id), None)
        if guild is None and recipient is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        self._check(payload, MESSAGE_FLAGS)
        reference = payload.get("message_reference")
        if reference is not None:
            replied = self.messages.get(str(reference.get("message_id")))
            if replied is None or replied.channel_id != channel_id or replied.deleted:
                raise invalid(("message_reference",), "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
        if recipient in self.dms_closed:
            self.faults_served.append((request[CALL].key, 403))
            return json_response(
                {"code": 50007, "message": "Cannot send messages to this user"}, 403
            )
        message = StoredMessage(
            snowflake(), channel_id, guild.id if guild else None, flags=payload.get("flags") or 0
        )
        message.apply(payload, self._attachments(payload, files, channel_id, []))
        if reference is not None:
            message.reference = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": channel_id,
                **({"guild_id": guild.id} if guild else {}),
            }
        self.messages[message.id] = message
        self.channel_posts.append((request[ARRIVED], message.id))
        async with self._posted:
            self._posted.notify_all()
        # Discord sends the app a MESSAGE_CREATE for its own messages too
        self._spawn(self._dispatch_message(message))
        return json_response(self._message_payload(message))

    async def _attachment(self, request: web.Request) -> web.Response:
        for message in self.messages.values():
            for item in message.attachments:
                if item.id == request.match_info["attachment_id"]:
                    return web.Response(
                        body=item.data, content_type=item.content_type or "application/octet-stream"
                    )
        return web.Response(status=404)

    async def _upload_file(self, request: web.Request) -> web.Response:
        """The CDN for command-option uploads: the url exactly as given, signature included."""
        info = request.match_info
        item = self.uploads.get(info["attachment_id"])
        expires = request.query.get("ex", "")
        good = (
            item is not None
            and item.url.split("?")[0].endswith(
                f"/{info['channel_id']}/{item.id}/{quote(info['filename'])}"
            )
            and request.query.get("hm") == self._signature(item.id, expires)
            and expires.isalnum()
            and int(expires, 16) > time.time()
        )
        if item is None or not good:
            self.rejections.append(
                Rejection(
                    "GET /ephemeral-attachments/{channel_id}/{attachment_id}/{filename}",
                    request.path_qs,
                    404,
                    0,
                    "This content is no longer available.",
                    None,
                    None,
                )
            )
            return web.Response(status=404, text="This content is no longer available.")
        self.downloads.append(item.id)
        return web.Response(
            body=item.data,
            headers={"Content-Type": item.content_type or "application/octet-stream"},
        )

    async def _unmodelled(self, request: web.Request) -> web.Response:
        what = f"{request.method} {request.path_qs}"
        self.unmodelled.append(what)
        return json_response({"code": 0, "message": f"fake Discord does not model {what}"}, 501)

    # -- gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request.path, dict(request.query))
        self.connections.append(conn)
        await ws.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        )
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                conn.received.append(frame)
                op = frame.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                    if conn is self.live and not self.settled:
                        self.settled = True  # it read everything up to our heartbeat request
                        async with self._state_changed:
                            self._state_changed.notify_all()
                elif op == 2:
                    await self._identify(conn, frame["d"])
                elif op == 6:
                    await self._resume(conn, frame["d"])
                elif op == 3:
                    pass  # presence update: nothing to model
                else:
                    self.unmodelled.append(f"gateway op {op}")
                    await ws.close(code=4001, message=b"Unknown opcode")
        finally:
            if self.live is conn:
                self.live = None
        return ws

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        if intents & MESSAGE_CONTENT_INTENT and not self.message_content_granted:
            self.identifies.append(data)
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.intents = intents
        async with self._send_lock:
            self.session_id = snowflake()
            self.seq = 0
            self.events = []
            self.live = conn
        self.identifies.append(data)
        ready = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": g.id, "unavailable": True} for g in self.guilds.values()],
            "session_id": self.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "application": {"id": APP_ID, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
        }
        if data.get("shard"):
            ready["shard"] = data["shard"]
        await self._dispatch("READY", ready)
        for guild in self.guilds.values():
            await self._dispatch("GUILD_CREATE", guild.create_event())
        # Ask for a heartbeat: the answer shows the client parsed READY and GUILD_CREATE.
        self.settled = False
        await conn.ws.send_str(json.dumps({"op": 1, "d": None}))
        async with self._state_changed:
            self._state_changed.notify_all()

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.token or data.get("session_id") != self.session_id:
            await conn.ws.send_str(json.dumps({"op": 9, "d": False}))
            return
        async with self._send_lock:
            missed = [e for e in self.events if e["s"] > (data.get("seq") or 0)]
            for event in missed:
                await conn.ws.send_str(json.dumps(event))
            self.live = conn
        self.resumes.append({**data, "replayed": len(missed), "path": conn.path})
        await self._dispatch("RESUMED", {})
        async with self._state_changed:
            self._state_changed.notify_all()

    async def _dispatch(self, event: str, data: dict[str, Any]) -> float:
        """Send a dispatch on the live session (or keep it for the RESUME replay)."""
        async with self._send_lock:
            self.seq += 1
            frame = {"op": 0, "t": event, "s": self.seq, "d": data}
            self.events.append(frame)
            sent = self.now()
            if self.live is not None and not self.live.ws.closed:
                await self.live.ws.send_str(json.dumps(frame))
            return sent

    async def _wait_state(self, predicate: Any, within: float, what: str) -> None:
        async with self._state_changed:
            try:
                await asyncio.wait_for(self._state_changed.wait_for(predicate), within)
            except TimeoutError:
                raise NoAnswer(f"timed out after {within} s waiting for {what}") from None

    async def wait_ready(self, within: float = 20.0) -> None:
        """Until a session has IDENTIFYed and the bot has read READY and its GUILD_CREATEs."""
        await self._wait_state(lambda: self.settled, within, "READY to be read")

    async def reconnect(self, *, wait: bool = True, within: float = 10.0) -> None:
        """Send op 7 RECONNECT; the bot must come back and RESUME on ``resume_gateway_url``.
        Dispatches sent meanwhile are replayed on RESUME."""
        conn, before = self.live, len(self.resumes)
        assert conn is not None, "no live gateway session"
        async with self._send_lock:
            self.live = None
            await conn.ws.send_str(json.dumps({"op": 7, "d": None}))
        if wait:
            await self._wait_state(lambda: len(self.resumes) > before, within, "RESUME after op 7")

    async def invalidate_session(self, *, resumable: bool = False, within: float = 15.0) -> None:
        """Send op 9 INVALID_SESSION; the bot must IDENTIFY anew (or RESUME if resumable)."""
        conn = self.live
        assert conn is not None, "no live gateway session"
        identifies, resumes = len(self.identifies), len(self.resumes)
        async with self._send_lock:
            self.live = None
            await conn.ws.send_str(json.dumps({"op": 9, "d": resumable}))
        if resumable:
            await self._wait_state(lambda: len(self.resumes) > resumes, within, "RESUME after op 9")
        else:
            await self._wait_state(
                lambda: len(self.identifies) > identifies, within, "IDENTIFY after op 9"
            )

    # -- the test driver

    def context(
        self,
        *,
        user: dict[str, Any],
        guild: str | None,
        dm: bool,
        permissions: int,
        channel_id: str | None = None,
        private: bool = False,
    ) -> dict[str, Any]:
        """Where an interaction comes from: a guild channel (``channel_id`` one of the guild's
        channels), the user's DM with the bot, or (``private``) a DM or group DM between
        members where only the user's own install of the app is present (context 2)."""
        data: dict[str, Any] = {
            "app_permissions": str(ALL_PERMISSIONS),
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_LIMIT,
            "locale": "en-US",
        }
        if private:
            channel = channel_id or snowflake()
            data.update(
                channel_id=channel,
                channel={"id": channel, "type": 3, "recipients": [user, OWNER], "flags": 0},
                user=user,
                context=2,
                authorizing_integration_owners={"1": user["id"]},
            )
            return data
        if dm:
            channel = channel_id or self.dm_channel(user)
            data.update(
                channel_id=channel,
                channel={"id": channel, "type": 1, "recipients": [user], "flags": 0},
                user=user,
                context=1,
                authorizing_integration_owners={"1": user["id"]},
            )
            return data
        place = self.guild(guild)
        channel_id = channel_id if channel_id in place.channel_ids else place.channel_id
        data.update(
            guild_id=place.id,
            channel_id=channel_id,
            channel=place.channel(channel_id),
            member={
                "user": user,
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "nick": None,
                "pending": False,
                "permissions": str(permissions),
            },
            guild={"id": place.id, "locale": "en-US", "features": []},
            guild_locale="en-US",
            context=0,
            authorizing_integration_owners={"0": place.id},
        )
        return data

    def _command_data(
        self,
        name: str,
        options: dict[str, Any],
        guild_id: str | None,
        focused: str | None,
        channel_id: str | None = None,
    ) -> dict[str, Any]:
        """``data`` for ``/name [group] [subcommand] option=value``, typed by the synced schema.
        An attachment option (type 11) takes an ``Attachment``: it is uploaded to the fake's
        CDN and described in ``data.resolved.attachments``, the option's value being its id."""
        words = name.removeprefix("/").split()
        table = {**self.commands, **self.guild_commands.get(guild_id or "", {})}
        command = table.get(words[0])
        if command is None:
            raise LookupError(
                f"/{words[0]} is not registered (did `litbot sync` run?): {sorted(table)}"
            )
        schema = command.get("options") or []
        leaf: list[dict[str, Any]] = []
        top = leaf
        for word in words[1:]:
            sub = next((o for o in schema if o["name"] == word and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{name}: no subcommand {word!r}")
            nested: list[dict[str, Any]] = []
            leaf.append({"name": word, "type": sub["type"], "options": nested})
            leaf, schema = nested, sub.get("options") or []
        resolved: dict[str, dict[str, Any]] = {}
        for key, value in options.items():
            spec = next((o for o in schema if o["name"] == key), None)
            if spec is None:
                raise LookupError(f"/{name} has no option {key!r}: {[o['name'] for o in schema]}")
            if (spec["type"] == 11) != isinstance(value, Attachment):
                raise LookupError(f"/{name} {key}: type {spec['type']} does not take {value!r}")
            if isinstance(value, Attachment):
                if focused is not None or channel_id is None:
                    raise LookupError(f"/{name} {key}: files are attached to commands only")
                uploaded = self.upload(value, channel_id)
                resolved.setdefault("attachments", {})[uploaded.id] = uploaded.payload()
                value = uploaded.id
            option = {"name": key, "type": spec["type"], "value": value}
            if key == focused:
                option["focused"] = True
            leaf.append(option)
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in options]
        if missing and focused is None:
            raise LookupError(f"/{name}: required options missing: {missing}")
        data: dict[str, Any] = {"id": command["id"], "name": words[0], "type": 1, "options": top}
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    async def _send(
        self,
        itype: int,
        data: dict[str, Any],
        context: dict[str, Any],
        description: str,
        *,
        extra: dict[str, Any] | None = None,
        within: float,
        settle: float,
    ) -> Answer:
        inter = await self.open_interaction(itype, data, context, extra)
        return await self._answer(inter, description, within=within, settle=settle)

    async def open_interaction(
        self,
        itype: int,
        data: dict[str, Any],
        context: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Interaction:
        """Dispatch INTERACTION_CREATE and return its state without waiting for the bot."""
        user = context.get("user") or context["member"]["user"]
        payload = {
            "id": snowflake(),
            "application_id": APP_ID,
            "type": itype,
            "token": f"itok-{snowflake()}",
            "version": 1,
            "data": data,
            **context,
            **(extra or {}),
        }
        inter = Interaction(payload["id"], payload["token"], itype, payload, user, self.now())
        self.interactions[inter.token] = inter
        inter.dispatched_at = await self._dispatch("INTERACTION_CREATE", payload)
        inter.last_activity = inter.dispatched_at
        return inter

    async def _answer(
        self, inter: Interaction, description: str, *, within: float, settle: float
    ) -> Answer:
        async def until(predicate: Any, deadline: float) -> bool:
            while not predicate():
                left = deadline - self.now()
                if left <= 0:
                    return False
                inter.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(inter.changed.wait(), left)
            return True

        start = inter.dispatched_at
        if not await until(
            lambda: inter.acked is not None or inter.rejections, start + self.ack_deadline + 0.25
        ):
            raise NoAnswer(
                f"{description}: the bot did not acknowledge within {self.ack_deadline:g} s"
            )
        if inter.acked is None:
            raise NoAnswer(f"{description}: the initial response was refused: {inter.rejections}")
        if inter.acked in (5, 6) and not await until(
            lambda: inter.last_write_at is not None, start + within
        ):
            raise NoAnswer(
                f"{description}: deferred (type {inter.acked}) but no answer within {within} s"
            )
        while settle > 0:  # let error paths (delete, then a followup) and extra followups land
            quiet_until = inter.last_activity + settle
            if self.now() >= quiet_until:
                break
            await asyncio.sleep(quiet_until - self.now())
        messages = [
            self.messages[mid].snapshot()
            for mid in [inter.original_id, *inter.followup_ids]
            if mid and not self.messages[mid].deleted and not self.messages[mid].loading
        ]
        final_id = inter.last_message_id
        posts = [self.messages[mid].snapshot() for at, mid in self.channel_posts if at >= start]
        assert inter.acked_at is not None
        return Answer(
            description=description,
            interaction=inter.payload,
            callbacks=list(inter.callbacks),
            messages=messages,
            message=self.messages[final_id].snapshot() if final_id else None,
            channel_messages=posts,
            first_ack=inter.acked_at - start,
            final=(inter.last_write_at - start) if inter.last_write_at is not None else None,
            rejections=list(inter.rejections),
        )

    async def slash(
        self,
        name: str,
        /,
        *,
        user: str | dict[str, Any] = "alice",
        guild: str | None = None,
        dm: bool = False,
        private_channel: bool = False,
        permissions: int = ALL_PERMISSIONS,
        within: float = 15.0,
        settle: float = 0.15,
        **options: Any,
    ) -> Answer:
        """``/name option=value`` (``name`` may be ``"settings style"``) in a guild or a DM (or,
        ``private_channel``, a DM or group DM between members, through a user install);
        ``permissions`` are the member's (``ALL_PERMISSIONS & ~MANAGE_GUILD``: a plain member),
        an attachment option takes an ``Attachment``. ``name`` is positional-only, so a command
        may have an option called ``name`` (``/bib create name=…``)."""
        person = self.user(user)
        context = self.context(
            user=person, guild=guild, dm=dm, permissions=permissions, private=private_channel
        )
        data = self._command_data(
            name, options, context.get("guild_id"), None, context["channel_id"]
        )
        described = " ".join(f"{k}={v!r}" for k, v in options.items())
        return await self._send(
            COMMAND, data, context, f"/{name} {described}", within=within, settle=settle
        )

    async def autocomplete(
        self,
        name: str,
        option: str,
        value: str,
        /,
        *,
        user: str | dict[str, Any] = "alice",
        guild: str | None = None,
        dm: bool = False,
        **options: Any,
    ) -> Answer:
        """The user is typing ``value`` into ``option`` of ``/name``; other options as given."""
        person = self.user(user)
        context = self.context(user=person, guild=guild, dm=dm, permissions=ALL_PERMISSIONS)
        data = self._command_data(name, {**options, option: value}, context.get("guild_id"), option)
        return await self._send(
            AUTOCOMPLETE,
            data,
            context,
            f"autocomplete /{name} {option}={value!r}",
            within=self.ack_deadline,
            settle=0,
        )

    async def _component(
        self,
        message: Message | str,
        custom_id: str,
        values: list[str] | None,
        *,
        user: str | dict[str, Any] | None,
        permissions: int,
        guild: str | None,
        within: float,
        settle: float,
    ) -> Answer:
        stored = self.messages[message if isinstance(message, str) else message.id]
        if stored.deleted:
            raise LookupError(f"message {stored.id} was deleted")
        item = stored.snapshot().component(custom_id)
        if item.get("disabled"):
            raise LookupError(f"{custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": item["type"]}
        if values is not None:
            if item["type"] != 3:
                raise LookupError(f"{custom_id!r} is not a select")
            offered = {o["value"] for o in item.get("options") or []}
            if set(values) - offered or not (item.get("min_values") or 1) <= len(values) <= (
                item.get("max_values") or 1
            ):
                raise LookupError(f"{values} cannot be picked from {sorted(offered)}")
            data["values"] = values
        elif item["type"] != 2:
            raise LookupError(f"{custom_id!r} is not a button")
        origin = stored.interaction or {}
        person = self.user(user) if user is not None else origin.get("user") or self.user()
        if guild is None:
            guild = next((g.name for g in self.guilds.values() if g.id == stored.guild_id), None)
        context = self.context(
            user=person,
            guild=guild,
            dm=guild is None,
            permissions=permissions,
            channel_id=None if guild else stored.channel_id,
        )
        what = f"{'select' if values is not None else 'click'} {custom_id}"
        return await self._send(
            COMPONENT,
            data,
            context,
            what,
            extra={"message": stored.payload()},
            within=within,
            settle=settle,
        )

    async def click(
        self,
        message: Message | str,
        custom_id: str,
        *,
        user: str | dict[str, Any] | None = None,
        permissions: int = ALL_PERMISSIONS,
        guild: str | None = None,
        within: float = 15.0,
        settle: float = 0.15,
    ) -> Answer:
        """Press the button ``custom_id`` on ``message`` (by default as whoever it answered).
        ``guild`` sends the interaction from another guild than the message's: Discord never
        would, but custom ids are client-visible state and the bot must not trust them."""
        return await self._component(
            message,
            custom_id,
            None,
            user=user,
            permissions=permissions,
            guild=guild,
            within=within,
            settle=settle,
        )

    async def select(
        self,
        message: Message | str,
        custom_id: str,
        values: list[str],
        *,
        user: str | dict[str, Any] | None = None,
        permissions: int = ALL_PERMISSIONS,
        guild: str | None = None,
        within: float = 15.0,
        settle: float = 0.15,
    ) -> Answer:
        """Pick ``values`` in the select ``custom_id`` on ``message``."""
        return await self._component(
            message,
            custom_id,
            values,
            user=user,
            permissions=permissions,
            guild=guild,
            within=within,
            settle=settle,
        )

    def message(self, message_id: str) -> Message:
        """The current state of a message (after later edits)."""
        return self.messages[message_id].snapshot()

    # -- members' messages: MESSAGE_CREATE, replies, message actions

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _readable(self, message: StoredMessage) -> bool:
        """Whether the app gets this message's text: with the message-content intent, or its
        own message, a DM with it, or a message that mentions it (a reply that pings it
        included) — ../shared/research/message-content.md."""
        return (
            bool(self.intents & MESSAGE_CONTENT_INTENT)
            or message.by_bot
            or message.guild_id is None
            or any(u["id"] == APP_ID for u in message.mentions)
        )

    def _message_payload(self, message: StoredMessage) -> dict[str, Any]:
        """A message as the app receives it (over the gateway or REST): content, embeds,
        attachments and components empty when it may not read them."""
        referenced = self.messages.get((message.reference or {}).get("message_id", ""))
        data = message.payload(referenced)
        if data.get("referenced_message") and referenced and not self._readable(referenced):
            data["referenced_message"].update(content="", embeds=[], attachments=[], components=[])
        if not self._readable(message):
            data.update(content="", embeds=[], attachments=[], components=[])
        return data

    async def _dispatch_message(self, message: StoredMessage) -> None:
        """MESSAGE_CREATE, if the session's intents ask for messages of that kind."""
        wanted = GUILD_MESSAGES_INTENT if message.guild_id else DIRECT_MESSAGES_INTENT
        if not self.intents & wanted:
            return
        data = self._message_payload(message)
        if message.guild_id:
            data["member"] = {
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "nick": None,
            }
        await self._dispatch("MESSAGE_CREATE", data)

    def post(
        self,
        text: str,
        /,
        *,
        user: str | dict[str, Any] = "alice",
        guild: str | None = None,
        dm: bool = False,
        channel_id: str | None = None,
        mention: bool = False,
        reply_to: Message | str | None = None,
        ping: bool = True,
        flags: int = 0,
    ) -> StoredMessage:
        """A member's message, stored (not yet dispatched). ``mention`` writes ``@litbot``
        first; ``reply_to`` makes it a reply (``ping``: the reply pings its author, Discord's
        default). ``channel_id`` without ``guild`` or ``dm``: a channel the bot is not in (a
        DM or group DM between members)."""
        person = self.user(user)
        guild_id: str | None = None
        if dm:
            channel = self.dm_channel(person)
        elif guild is not None or channel_id is None:
            place = self.guild(guild)
            channel = channel_id if channel_id in place.channel_ids else place.channel_id
            guild_id = place.id
        else:
            channel = channel_id
        mentions = [BOT_USER] if mention else []
        if mention:
            text = f"<@{APP_ID}> {text}"
        message = StoredMessage(
            snowflake(), channel, guild_id, flags=flags, content=text, author=person
        )
        if reply_to is not None:
            replied = self.messages[reply_to if isinstance(reply_to, str) else reply_to.id]
            message.reference = {"type": 0, "message_id": replied.id, "channel_id": channel}
            if guild_id:
                message.reference["guild_id"] = guild_id
            if ping and replied.by_bot and not mention:
                mentions.append(BOT_USER)
        message.mentions = mentions
        self.messages[message.id] = message
        return message

    async def say(
        self,
        text: str,
        /,
        *,
        within: float = 15.0,
        settle: float = 0.5,
        expect: bool = True,
        **where: Any,
    ) -> tuple[Message, list[Message]]:
        """A member sends ``text`` (``post``'s options say where); the fake dispatches
        MESSAGE_CREATE as Discord would (text emptied where the app may not read it) and
        returns the message and the bot's replies to it. ``expect``: wait up to ``within``
        for a first reply, then until ``settle`` seconds pass without another; without it,
        wait ``settle`` seconds and return whatever came (a test that expects silence)."""
        message = self.post(text, **where)
        posted = len(self.channel_posts)
        await self._dispatch_message(message)
        loop = asyncio.get_running_loop()

        def replies() -> list[Message]:
            return [
                self.messages[mid].snapshot()
                for _, mid in self.channel_posts[posted:]
                if (self.messages[mid].reference or {}).get("message_id") == message.id
            ]

        deadline = loop.time() + (within if expect else settle)
        while not replies() and loop.time() < deadline:
            async with self._posted:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._posted.wait(), deadline - loop.time())
        count = -1
        while expect and len(replies()) != count:  # until no further reply for ``settle``
            count = len(replies())
            await asyncio.sleep(settle)
        return message.snapshot(), replies()

    async def _get_channel_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        known = any(channel_id in g.channel_ids for g in self.guilds.values())
        if not known and channel_id not in self.dm_channels.values():
            raise DiscordError(403, 50001, "Missing Access")
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message.deleted or message.channel_id != channel_id:
            raise DiscordError(404, 10008, "Unknown Message")
        return json_response(self._message_payload(message))

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        """Edit one of the bot's own channel messages (another's: 403 50005, as Discord)."""
        payload, files = await self._body(request)
        channel_id = request.match_info["channel_id"]
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message.deleted or message.channel_id != channel_id:
            raise DiscordError(404, 10008, "Unknown Message")
        if not message.by_bot or message.interaction is not None:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        merged = {
            "content": payload.get("content", message.content),
            "embeds": payload.get("embeds", message.embeds),
            "components": payload.get("components", message.components),
            "allowed_mentions": payload.get("allowed_mentions"),
        }
        self._check(merged, MESSAGE_FLAGS)
        attachments = self._attachments(payload, files, channel_id, message.attachments)
        message.apply(payload, attachments)
        message.edited = time.time()
        return json_response(self._message_payload(message))

    async def message_action(
        self,
        name: str,
        message: Message | StoredMessage | str,
        /,
        *,
        user: str | dict[str, Any] = "alice",
        permissions: int = ALL_PERMISSIONS,
        private_channel: bool = False,
        within: float = 15.0,
        settle: float = 0.15,
    ) -> Answer:
        """The message action ``name`` (right-click → Apps) on ``message``, by ``user``, where
        the message is (``private_channel``: a DM or group DM where only the user's install
        is). The
        target message comes whole in ``data.resolved``: message actions need no intent."""
        command = self.commands.get(name)
        if command is None or command.get("type") != MESSAGE_COMMAND:
            raise LookupError(f"no message action {name!r} is registered")
        stored = self.messages[message if isinstance(message, str) else message.id]
        person = self.user(user)
        guild = next((g.name for g in self.guilds.values() if g.id == stored.guild_id), None)
        context = self.context(
            user=person,
            guild=guild,
            dm=guild is None and not private_channel,
            permissions=permissions,
            channel_id=stored.channel_id,
            private=private_channel,
        )
        data = {
            "id": command["id"],
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": stored.id,
            "resolved": {"messages": {stored.id: stored.payload()}},
        }
        return await self._send(
            COMMAND, data, context, f"message action {name!r}", within=within, settle=settle
        )
