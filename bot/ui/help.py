"""``/help`` as embeds: what litbot does, every command with an example, how bibliographies
are scoped, links in chat, and the README. The words are ``bot.help``'s (shared with
``litbot --help``); the command list is the bot's own command tree, so it never goes stale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.help import ABOUT, BIBLIOGRAPHIES, LINKS_IN_CHAT, README_URL, example
from bot.markdown import link
from bot.text import truncate
from bot.ui.cards import COLOURS, FIELD_LIMIT


@dataclass(frozen=True, slots=True)
class CommandHelp:
    name: str  # qualified: "bib add"; a message action's own name
    description: str
    action: bool = False  # a message action (context menu), not a slash command


GROUPS = (
    ("Papers", ("paper", "cite", "summary")),
    ("Bibliographies", ("bib",)),
    ("Settings and help", ("settings", "help")),
)


def _line(command: CommandHelp) -> str:
    shown = command.name if command.action else f"/{command.name}"
    line = f"**{shown}**: {command.description}"
    if (sample := example(command.name)) and not command.action:
        line += f"\n  e.g. `{sample}`"
    return line


def _fields(title: str, lines: Sequence[str]) -> list[tuple[str, str]]:
    """Lines as fields of at most 1,024 characters (continued fields named "… (cont.)")."""
    out: list[tuple[str, str]] = []
    chunk: list[str] = []
    for line in lines:
        line = truncate(line, FIELD_LIMIT)
        if chunk and len("\n".join([*chunk, line])) > FIELD_LIMIT:
            out.append((title if not out else f"{title} (cont.)", "\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        out.append((title if not out else f"{title} (cont.)", "\n".join(chunk)))
    return out


def render_help(commands: Sequence[CommandHelp]) -> list[discord.Embed]:
    """Two embeds: what litbot does and its commands; then links in chat, bibliographies and
    the README."""
    first = discord.Embed(title="litbot help", colour=COLOURS["closed"], description=ABOUT)
    placed: set[str] = set()
    for title, roots in GROUPS:
        chosen = [c for c in commands if not c.action and c.name.split()[0] in roots]
        placed |= {c.name for c in chosen}
        for name, value in _fields(title, [_line(c) for c in chosen]):
            first.add_field(name=name, value=value, inline=False)
    others = [c for c in commands if not c.action and c.name not in placed]
    for name, value in _fields("More commands", [_line(c) for c in others]):
        first.add_field(name=name, value=value, inline=False)
    second = discord.Embed(colour=COLOURS["closed"])
    actions = [c for c in commands if c.action]
    chat = LINKS_IN_CHAT
    if actions:
        chat += "\n" + "\n".join(f"• {c.name}" for c in actions)
    second.add_field(name="Papers in conversation", value=truncate(chat, FIELD_LIMIT), inline=False)
    second.add_field(name="Bibliographies", value=BIBLIOGRAPHIES, inline=False)
    readme = link("README", README_URL) or README_URL
    second.add_field(
        name="More",
        value=f"Set-up, every option and how litbot works: {readme}. Terminal: `litbot --help`.",
        inline=False,
    )
    return [first, second]
