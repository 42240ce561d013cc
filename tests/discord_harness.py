"""In-process interaction harness (layer L2 of research/discord-testing.md).

Real ``discord.Interaction`` objects are built from the payloads Discord sends and run
through the bot's real ``CommandTree``; what the bot answers is captured by a recording
webhook adapter at discord.py's HTTP seam. No Discord objects are mocked.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

APP_ID = "900000000000000001"
GUILD_ID = "900000000000000100"
CHANNEL_ID = "900000000000000200"
USER = {
    "id": "900000000000000300",
    "username": "alice",
    "discriminator": "0",
    "global_name": "Alice",
    "avatar": None,
    "public_flags": 0,
}
BOT_USER = {
    "id": APP_ID,
    "username": "litbot",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "global_name": None,
    "public_flags": 0,
}
_ids = itertools.count(1574912171408621582)


def message_data(
    channel_id: str,
    author: dict[str, Any],
    *,
    content: str = "",
    embeds: list[dict[str, Any]] | None = None,
    flags: int = 0,
    components: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A message object as Discord returns it."""
    return {
        "id": str(next(_ids)),
        "channel_id": channel_id,
        "author": author,
        "content": content,
        "timestamp": "2026-11-24T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "pinned": False,
        "type": 0,
        "flags": flags,
        "components": components or [],
    }


@dataclass
class Call:
    method: str
    path: str
    payload: dict[str, Any] | None
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def callback_type(self) -> int | None:
        return self.payload.get("type") if self.payload and "/callback" in self.path else None


@dataclass
class RecordingAdapter(AsyncWebhookAdapter):
    """Records every interaction-response request instead of sending it."""

    calls: list[Call] = field(default_factory=list)
    log: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__()

    async def request(
        self, route, session, *, payload=None, multipart=None, files=None, **kwargs
    ) -> Any:
        if multipart:
            import json

            part = next((p for p in multipart if p.get("name") == "payload_json"), None)
            payload = json.loads(part["value"]) if part else {}
        # discord.py's webhook routes keep only the formatted URL for other parameters
        path = route.url.removeprefix(route.BASE).split("?")[0]
        attached = [(f.filename, f.fp.read()) for f in files or ()]
        self.calls.append(Call(route.method, path, payload, attached))
        if self.log is not None:
            self.log.append(f"discord {route.method} {route.path}")
        message = message_data(
            CHANNEL_ID,
            USER,
            embeds=(payload or {}).get("embeds", []),
            flags=(payload or {}).get("flags", 0),
        )
        if route.path.endswith("/callback"):
            return {
                "interaction": {
                    "id": "1",
                    "type": 2,
                    "response_message_id": message["id"],
                    "response_message_loading": False,
                    "response_message_ephemeral": False,
                },
                "resource": {"type": (payload or {}).get("type", 4), "message": message},
            }
        if route.method == "DELETE":
            return None
        return message


OPTION_TYPES = {str: 3, int: 4, bool: 5}
MANAGE_GUILD = 1 << 5
ALL_PERMISSIONS = 2251799813685247


def slash_payload(
    name: str,
    /,
    *,
    dm: bool = False,
    subcommand: str | None = None,
    focused: str | None = None,
    permissions: int = ALL_PERMISSIONS,
    user: dict[str, Any] | None = None,
    guild_id: str = GUILD_ID,
    attachments: dict[str, tuple[str, int]] | None = None,
    **options: str | bool | int,
) -> dict[str, Any]:
    """The INTERACTION_CREATE data for ``/name [subcommand] option=value`` (guild or DM).

    ``focused`` names the option being typed: the payload is then an autocomplete (type 4).
    ``attachments`` maps an option to an uploaded (filename, size), resolved as Discord does;
    its URL is ``https://cdn.test/<filename>``.
    """
    resolved: dict[str, Any] = {}
    attachment_opts = []
    for option, (filename, size) in (attachments or {}).items():
        snowflake = str(next(_ids))
        resolved.setdefault("attachments", {})[snowflake] = {
            "id": snowflake,
            "filename": filename,
            "size": size,
            "url": f"https://cdn.test/{filename}",
            "proxy_url": f"https://cdn.test/{filename}",
            "content_type": "text/plain",
        }
        attachment_opts.append({"name": option, "type": 11, "value": snowflake})
    opts: list[dict[str, Any]] = attachment_opts + [
        {
            "name": k,
            "type": OPTION_TYPES[type(v)],
            "value": v,
            **({"focused": True} if k == focused else {}),
        }
        for k, v in options.items()
    ]
    if subcommand is not None:
        opts = [{"name": subcommand, "type": 1, "options": opts}]
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": APP_ID,
        "type": 4 if focused else 2,
        "token": f"itok-{next(_ids)}",
        "version": 1,
        "locale": "en-US",
        "data": {"id": "1", "name": name, "type": 1, "options": opts},
    }
    if resolved:
        data["data"]["resolved"] = resolved
    return _with_context(data, dm=dm, permissions=permissions, user=user, guild_id=guild_id)


def component_payload(
    custom_id: str,
    *,
    values: list[str] | None = None,
    dm: bool = False,
    permissions: int = ALL_PERMISSIONS,
    user: dict[str, Any] | None = None,
    guild_id: str = GUILD_ID,
    components: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A button click (or, with ``values``, a select) on a message the bot sent earlier.

    ``components`` are that message's rows as the bot sent them (Discord echoes them back);
    by default a row holding just the clicked component.
    """
    if components is None:
        if values is None:
            clicked = {"type": 2, "style": 1, "label": "x", "custom_id": custom_id}
        else:
            clicked = {
                "type": 3,
                "custom_id": custom_id,
                "options": [{"label": v, "value": v} for v in values],
            }
        components = [{"type": 1, "components": [clicked]}]
    component: dict[str, Any] = {"custom_id": custom_id, "component_type": 3 if values else 2}
    if values is not None:
        component["values"] = values
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": APP_ID,
        "type": 3,
        "token": f"itok-{next(_ids)}",
        "version": 1,
        "locale": "en-US",
        "data": component,
        "message": message_data(CHANNEL_ID, BOT_USER, components=components),
    }
    return _with_context(data, dm=dm, permissions=permissions, user=user, guild_id=guild_id)


def _with_context(
    data: dict[str, Any],
    *,
    dm: bool,
    permissions: int,
    user: dict[str, Any] | None,
    guild_id: str,
) -> dict[str, Any]:
    user = user or USER
    data.update(
        app_permissions=str(ALL_PERMISSIONS),
        entitlements=[],
        attachment_size_limit=10485760,
    )
    if dm:
        data.update(
            channel_id="900000000000000400",
            channel={"id": "900000000000000400", "type": 1, "recipients": [user]},
            user=user,
            context=1,
            authorizing_integration_owners={"1": user["id"]},
        )
    else:
        data.update(
            guild_id=guild_id,
            channel_id=CHANNEL_ID,
            channel={
                "id": CHANNEL_ID,
                "type": 0,
                "guild_id": guild_id,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            },
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
            guild={"id": guild_id, "locale": "en-US", "features": []},
            guild_locale="en-US",
            context=0,
            authorizing_integration_owners={"0": guild_id},
        )
    return data


async def invoke(
    bot: discord.Client, payload: dict[str, Any], log: list[str] | None = None
) -> list[Call]:
    """Run one interaction (command, autocomplete or component) as discord.py would on
    INTERACTION_CREATE; return every response it made, once all its tasks have finished."""
    if bot._connection.user is None:  # what READY would have set
        bot._connection.user = discord.ClientUser(state=bot._connection, data=BOT_USER)
    adapter = RecordingAdapter(log=log)
    token = async_context.set(adapter)
    try:
        interaction = discord.Interaction(data=payload, state=bot._connection)
        if payload["type"] in (2, 4):
            await bot.tree._call(interaction)
        else:
            before = asyncio.all_tasks()
            data = payload["data"]
            bot._connection._view_store.dispatch_view(
                data["component_type"], data["custom_id"], interaction
            )
            # Dynamic items run in tasks that start further tasks: wait for discord.py's
            # component tasks until none is left.
            while pending := {
                t for t in asyncio.all_tasks() - before if t.get_name().startswith("discord-ui-")
            }:
                await asyncio.wait(pending, timeout=10)
                before |= pending
    finally:
        async_context.reset(token)
    return adapter.calls


@dataclass
class RestRecorder:
    """Stands in for ``bot.http.request`` (REST outside interaction webhooks: DMs).

    ``dms_closed`` answers DM sends with Discord's 403 / 50007.
    """

    calls: list[Call] = field(default_factory=list)
    dms_closed: bool = False

    async def __call__(
        self, route: Any, *, files: Any = None, form: Any = None, **kwargs: Any
    ) -> Any:
        import json

        payload = kwargs.get("json")
        if form:
            part = next((p for p in form if p.get("name") == "payload_json"), None)
            payload = json.loads(part["value"]) if part else {}
        self.calls.append(Call(route.method, route.path, payload))
        if route.path == "/users/@me/channels":
            return {"id": "900000000000000400", "type": 1, "recipients": [USER]}
        if route.path.endswith("/messages") and route.method == "POST":
            if self.dms_closed:
                raise discord.Forbidden(
                    _Response(403, "Forbidden"),
                    {"code": 50007, "message": "Cannot send messages to this user"},
                )
            return message_data(
                "900000000000000400",
                BOT_USER,
                content=(payload or {}).get("content") or "",
                embeds=(payload or {}).get("embeds", []),
            )
        raise AssertionError(f"unexpected REST call {route.method} {route.path}")


@dataclass
class _Response:
    status: int
    reason: str
