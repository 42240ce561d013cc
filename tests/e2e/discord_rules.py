"""Discord's rules for what a bot sends, as the fake Discord enforces them.

Limits are those of the API docs (discord/discord-api-docs, cited in
``../shared/research/discord-testing.md`` §4); errors come back in Discord's shape, so the bot's
own error handling sees what it would see in production: ``400 {"code": 50035, "message":
"Invalid Form Body", "errors": {"embeds": {"0": {"title": {"_errors": [{"code", "message"}]}}}}}``.
"""

from __future__ import annotations

import json
from typing import Any

EPHEMERAL = 1 << 6
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
COMPONENTS_V2 = 1 << 15
MESSAGE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | COMPONENTS_V2
INTERACTION_FLAGS = MESSAGE_FLAGS | EPHEMERAL
CONTENT_LIMIT = 2000
EMBEDS_LIMIT = 10
EMBED_TOTAL_LIMIT = 6000
CHOICES_LIMIT = 25


class DiscordError(Exception):
    """An error answer in Discord's shape: ``{"code", "message", "errors"?}``."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class Problems:
    """Collects Discord's nested form errors: ``{"embeds": {"0": {"title": {"_errors": […]}}}}``."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.errors
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def too_long(self, path: tuple[str | int, ...], value: Any, limit: int) -> None:
        if isinstance(value, str | list) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def raise_if_any(self) -> None:
        if self.errors:
            raise DiscordError(400, 50035, "Invalid Form Body", self.errors)


def invalid(path: tuple[str | int, ...], code: str, message: str) -> DiscordError:
    """A 50035 with a single problem at ``path``."""
    problems = Problems()
    problems.add(path, code, message)
    return DiscordError(400, 50035, "Invalid Form Body", problems.errors)


def _check_embeds(embeds: Any, problems: Problems) -> None:
    if not isinstance(embeds, list):
        problems.add(("embeds",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
        return
    problems.too_long(("embeds",), embeds, EMBEDS_LIMIT)
    total = 0
    for i, embed in enumerate(embeds):
        at = ("embeds", i)
        problems.too_long((*at, "title"), embed.get("title"), 256)
        problems.too_long((*at, "description"), embed.get("description"), 4096)
        url = embed.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            problems.add((*at, "url"), "URL_TYPE_INVALID_URL", "Not a well formed URL.")
        fields = embed.get("fields") or []
        problems.too_long((*at, "fields"), fields, 25)
        for j, item in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = item.get(key)
                if not value:
                    problems.add(
                        (*at, "fields", j, key), "BASE_TYPE_REQUIRED", "This field is required"
                    )
                problems.too_long((*at, "fields", j, key), value, limit)
                total += len(value or "")
        footer = embed.get("footer")
        if footer is not None:
            if not footer.get("text"):
                problems.add(
                    (*at, "footer", "text"), "BASE_TYPE_REQUIRED", "This field is required"
                )
            problems.too_long((*at, "footer", "text"), footer.get("text"), 2048)
        author = embed.get("author")
        if author is not None:
            problems.too_long((*at, "author", "name"), author.get("name"), 256)
        colour = embed.get("color")
        if colour is not None and not 0 <= colour <= 0xFFFFFF:
            problems.add((*at, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215.")
        total += sum(
            len(x or "")
            for x in (
                embed.get("title"),
                embed.get("description"),
                (footer or {}).get("text"),
                (author or {}).get("name"),
            )
        )
    if total > EMBED_TOTAL_LIMIT:
        problems.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


def _check_components(rows: Any, problems: Problems) -> None:
    if not isinstance(rows, list):
        problems.add(
            ("components",), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType."
        )
        return
    problems.too_long(("components",), rows, 5)
    seen: set[str] = set()
    for i, row in enumerate(rows):
        at = ("components", i)
        if row.get("type") != 1:
            problems.add((*at, "type"), "UNION_TYPE_CHOICES", 'Value of field "type" must be 1.')
            continue
        items = row.get("components") or []
        if not items:
            problems.add((*at, "components"), "BASE_TYPE_REQUIRED", "This field is required")
        selects = [c for c in items if c.get("type") in (3, 5, 6, 7, 8)]
        if (selects and len(items) > 1) or len(items) > 5:
            problems.add(
                (*at, "components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for j, item in enumerate(items):
            here = (*at, "components", j)
            custom_id = item.get("custom_id")
            if item.get("type") == 2 and item.get("style") == 5:
                if not item.get("url") or custom_id is not None:
                    problems.add(
                        here,
                        "BUTTON_COMPONENT_INVALID_URL",
                        "Link buttons need a url and no custom_id",
                    )
                problems.too_long((*here, "url"), item.get("url"), 512)
            elif not custom_id:
                problems.add((*here, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
            if custom_id is not None:
                problems.too_long((*here, "custom_id"), custom_id, 100)
                if custom_id in seen:
                    problems.add(
                        (*here, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)
            problems.too_long((*here, "label"), item.get("label"), 80)
            if item.get("type") == 3:
                options = item.get("options") or []
                if not 1 <= len(options) <= 25:
                    problems.add(
                        (*here, "options"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    )
                problems.too_long((*here, "placeholder"), item.get("placeholder"), 150)
                for k, option in enumerate(options):
                    for key in ("label", "value", "description"):
                        problems.too_long((*here, "options", k, key), option.get(key), 100)
                for key in ("min_values", "max_values"):
                    if (item.get(key) or 1) > 25:
                        problems.add((*here, key), "NUMBER_TYPE_MAX", "int value should be <= 25.")


def check_message(
    payload: dict[str, Any],
    *,
    allowed_flags: int,
    require_allowed_mentions: bool,
    must_have_body: bool = True,
) -> None:
    """Discord's checks on a message body; raises ``DiscordError`` (50035 / 50006)."""
    problems = Problems()
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        problems.add(("content",), "BASE_TYPE_STRING", "Must be a string.")
    problems.too_long(("content",), content, CONTENT_LIMIT)
    if payload.get("embeds") is not None:
        _check_embeds(payload["embeds"], problems)
    if payload.get("components") is not None:
        _check_components(payload["components"], problems)
    flags = payload.get("flags") or 0
    if flags & ~allowed_flags:
        problems.add(("flags",), "MESSAGE_FLAGS_INVALID", f"Invalid flags {flags & ~allowed_flags}")
    if flags & COMPONENTS_V2 and (content or payload.get("embeds")):
        problems.add(
            ("content",),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "Cannot use content or embeds",
        )
    mentions = payload.get("allowed_mentions")
    if mentions is not None:
        parse = mentions.get("parse", [])
        if not isinstance(parse, list) or set(parse) - {"users", "roles", "everyone"}:
            problems.add(
                ("allowed_mentions", "parse"),
                "ENUM_TYPE_COERCE",
                "Value is not a valid enum value.",
            )
    elif require_allowed_mentions and (content or payload.get("embeds")):
        # Not Discord's rule but litbot's: upstream text is printed, so nothing may ping.
        problems.add(
            ("allowed_mentions",),
            "LITBOT_ALLOWED_MENTIONS_MISSING",
            "litbot sends allowed_mentions with every message (fake Discord policy)",
        )
    problems.raise_if_any()
    if must_have_body and not (
        content or payload.get("embeds") or payload.get("attachments") or payload.get("components")
    ):
        raise DiscordError(400, 50006, "Cannot send an empty message")


def check_choices(data: dict[str, Any]) -> None:
    """An autocomplete answer: at most 25 choices, names 1–100 characters, values ≤ 100."""
    problems = Problems()
    choices = data.get("choices")
    if not isinstance(choices, list):
        problems.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
        problems.raise_if_any()
    problems.too_long(("data", "choices"), choices, CHOICES_LIMIT)
    for i, choice in enumerate(choices or []):
        name = choice.get("name")
        if not name or len(name) > 100:
            problems.add(
                ("data", "choices", i, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        problems.too_long(("data", "choices", i, "value"), choice.get("value"), 100)
    problems.raise_if_any()


def check_commands(body: Any) -> None:
    """A bulk overwrite of application commands: names, descriptions, options, 8000 bytes."""
    if not isinstance(body, list):
        raise invalid((), "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.")
    problems = Problems()
    # Names are unique per command type; message and user commands (types 3 and 2) may be
    # mixed case and hold spaces (application-commands.mdx, "Application Command Naming").
    names = [(c.get("type", 1), c.get("name")) for c in body]
    for i, command in enumerate(body):
        name = command.get("name") or ""
        chat = command.get("type", 1) == 1
        if not 1 <= len(name) <= 32 or (chat and (name != name.lower() or " " in name)):
            problems.add((i, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if names.count((command.get("type", 1), name)) > 1:
            problems.add(
                (i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Command names must be unique"
            )
        if command.get("type", 1) == 1 and not 1 <= len(command.get("description") or "") <= 100:
            problems.add(
                (i, "description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        problems.too_long((i, "options"), command.get("options") or [], 25)
        if len(json.dumps(command)) > 8000:
            problems.add((i,), "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size")
    problems.raise_if_any()
