"""In-process interaction harness (layer L2 of research/discord-testing.md).

Real ``discord.Interaction`` objects are built from the payloads Discord sends and run
through the bot's real ``CommandTree``; what the bot answers is captured by a recording
webhook adapter at discord.py's HTTP seam. No Discord objects are mocked.
"""

from __future__ import annotations

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


@dataclass
class Call:
    method: str
    path: str
    payload: dict[str, Any] | None

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
        path = (
            route.path.format_map(
                {k: v for k, v in vars(route).items() if isinstance(v, (str, int))}
            )
            if "{" in route.path
            else route.path
        )
        self.calls.append(Call(route.method, path, payload))
        if self.log is not None:
            self.log.append(f"discord {route.method} {route.path}")
        message = {
            "id": str(next(_ids)),
            "channel_id": CHANNEL_ID,
            "author": USER,
            "content": "",
            "timestamp": "2026-11-24T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": (payload or {}).get("embeds", []),
            "pinned": False,
            "type": 0,
            "flags": (payload or {}).get("flags", 0),
            "components": [],
        }
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


def slash_payload(name: str, *, dm: bool = False, **options: str) -> dict[str, Any]:
    """The INTERACTION_CREATE data for ``/name option=value`` (guild channel or DM)."""
    data: dict[str, Any] = {
        "id": str(next(_ids)),
        "application_id": APP_ID,
        "type": 2,
        "token": f"itok-{next(_ids)}",
        "version": 1,
        "locale": "en-US",
        "data": {
            "id": "1",
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
        },
        "app_permissions": "2251799813685247",
        "entitlements": [],
        "attachment_size_limit": 10485760,
    }
    if dm:
        data.update(
            channel_id="900000000000000400",
            channel={"id": "900000000000000400", "type": 1, "recipients": [USER]},
            user=USER,
            context=1,
            authorizing_integration_owners={"1": USER["id"]},
        )
    else:
        data.update(
            guild_id=GUILD_ID,
            channel_id=CHANNEL_ID,
            channel={
                "id": CHANNEL_ID,
                "type": 0,
                "guild_id": GUILD_ID,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
            },
            member={
                "user": USER,
                "roles": [],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "nick": None,
                "pending": False,
                "permissions": "2251799813685247",
            },
            guild={"id": GUILD_ID, "locale": "en-US", "features": []},
            guild_locale="en-US",
            context=0,
            authorizing_integration_owners={"0": GUILD_ID},
        )
    return data


async def invoke(
    bot: discord.Client, payload: dict[str, Any], log: list[str] | None = None
) -> list[Call]:
    """Run one interaction through the bot's tree; return every response it made."""
    if bot._connection.user is None:  # what READY would have set
        bot._connection.user = discord.ClientUser(state=bot._connection, data=BOT_USER)
    adapter = RecordingAdapter(log=log)
    token = async_context.set(adapter)
    try:
        interaction = discord.Interaction(data=payload, state=bot._connection)
        await bot.tree._call(interaction)
    finally:
        async_context.reset(token)
    return adapter.calls
