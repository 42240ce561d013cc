"""Is this Discord payload inert? What Discord would render live in text litbot sent.

``live(text)`` reads Markdown the way Discord does where it matters for safety: a backslash
escapes the next character, code blocks and code spans render nothing inside them, and then
it reports every mention pill (@everyone, @here, <@…>, <@&…>, <#…>, </cmd:…>, <t:…>, custom
emoji), masked link, bare or <…> autolink, spoiler, strike-through, underline and line-start
construct (heading, subtext, list, quote) that is not explicitly expected. ``payload_problems``
applies it to a whole message body (content, embeds, link buttons, allowed_mentions).

Used by the unit tests of ``bot.markdown`` and by the end-to-end test that sends a crafted
record through every reply path.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import urlsplit

from bot.markdown import safe_url, url_text

_FENCE = re.compile(r"```.*?```", re.DOTALL)
_SPAN = re.compile(r"`[^`]*`")
HIDDEN = "\x00"  # stands for an escaped character once escapes are resolved
_PILL = re.compile(r"<(?:@[!&]?\d+|#\d+|/[^<>\s]+:\d+|t:-?\d+(?::\w)?|a?:\w+:\d+)>")
_ANGLE_LINK = re.compile(r"<[a-z][a-z0-9+.-]*:[^<>\s]*>", re.IGNORECASE)
_MASS = re.compile(r"@(everyone|here)", re.IGNORECASE)
_MASKED = re.compile(r"\[([^\[\]]*)\]\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?\s*\)")
_BARE = re.compile(r"(?<![\w\x00])([a-z][a-z0-9+.-]*)://[^\s<]*[^\s<.,:;\"')\]]", re.IGNORECASE)
_DOUBLES = re.compile(r"\|\||~~|__")
_LINE = re.compile(r"(?m)^[ \t]*(#{1,3}[ \t]|-#[ \t]|>|[-+*][ \t]|\d+\.[ \t])")


def resolve_escapes(text: str) -> str:
    """``text`` with every backslash-escaped character replaced by ``HIDDEN``."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and not text[i + 1].isalnum():
            if not text[i + 1].isspace():
                out.append(HIDDEN)
                i += 2
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def shown(text: str) -> str:
    """What Discord displays for escaped text: escapes resolved, discord.py's and litbot's
    zero-width space after ``@`` in @everyone/@here gone."""
    text = re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text)
    return re.sub(r"@\u200b(everyone|here)", r"@\1", text, flags=re.IGNORECASE)


def _good_url(url: str, hosts: Collection[str]) -> bool:
    host = urlsplit(url).hostname or ""
    return host in hosts and url in (safe_url(url), url_text(url))


def live(
    text: str,
    *,
    hosts: Collection[str] = (),
    mentions: Collection[str] = (),
    line_starts: Collection[str] = (),
    strict: bool = False,
) -> list[str]:
    """Everything in ``text`` Discord would render live that is not expected: links count as
    expected when their host is in ``hosts`` and they are what the URL policy produces;
    ``mentions`` are exact pills (``<@123>``), ``line_starts`` exact line openings (``-# ``).
    ``strict``: ``text`` is escaped data alone, so any unescaped emphasis or code is a problem
    too (otherwise code is skipped: nothing renders inside it)."""
    problems: list[str] = []
    text = resolve_escapes(text)
    if not strict:
        text = _SPAN.sub(" ", _FENCE.sub(" ", text))
    for match in _PILL.finditer(text):
        if match.group(0) not in mentions:
            problems.append(f"pill {match.group(0)!r}")
    for match in _ANGLE_LINK.finditer(text):
        problems.append(f"<autolink> {match.group(0)!r}")
    for match in _MASS.finditer(text):
        problems.append(f"mass mention {match.group(0)!r}")
    rest = text
    for match in _MASKED.finditer(text):
        url = match.group(2)
        if not _good_url(url, hosts) or "://" in match.group(1):
            problems.append(f"masked link {match.group(0)!r}")
        rest = rest.replace(match.group(0), " ", 1)
    if "](" in rest:  # "[1] Zhou" (IEEE's numbers) is text; "[x](" would be a link
        problems.append(f"unmatched masked link in {rest!r}")
    for match in _BARE.finditer(rest):
        if not _good_url(match.group(0), hosts):
            problems.append(f"bare link {match.group(0)!r}")
    for match in _DOUBLES.finditer(rest):
        problems.append(f"unescaped {match.group(0)!r}")
    if strict and re.search(r"[*_~|<`\[\]]", rest):
        problems.append(f"unescaped markup in {rest!r}")
    for match in _LINE.finditer(rest):
        line = rest[match.start() :].split("\n", 1)[0]
        if not any(line.lstrip().startswith(start) for start in line_starts):
            problems.append(f"line start {line[:60]!r}")
    return problems


def _texts(payload: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(where, text) for every Markdown-rendered string of a message body. Footers, author
    names, button and option labels are plain text in Discord, so they are not listed."""
    if payload.get("content"):
        yield "content", payload["content"]
    for n, embed in enumerate(payload.get("embeds") or []):
        for key in ("title", "description"):
            if embed.get(key):
                yield f"embeds[{n}].{key}", embed[key]
        for m, item in enumerate(embed.get("fields") or []):
            yield f"embeds[{n}].fields[{m}].name", item.get("name") or ""
            yield f"embeds[{n}].fields[{m}].value", item.get("value") or ""


def _urls(payload: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for n, embed in enumerate(payload.get("embeds") or []):
        if embed.get("url"):
            yield f"embeds[{n}].url", embed["url"]
    for row in payload.get("components") or []:
        for item in row.get("components") or []:
            if item.get("url"):
                yield f"button {item.get('label')!r}", item["url"]


def payload_problems(
    payload: dict[str, Any],
    *,
    hosts: Collection[str],
    mentions: Collection[str] = (),
    line_starts: Collection[str] = (),
) -> list[str]:
    """Everything live in one message body that should not be, and mentions not turned off."""
    problems = [
        f"{where}: {problem}"
        for where, text in _texts(payload)
        for problem in live(text, hosts=hosts, mentions=mentions, line_starts=line_starts)
    ]
    for where, url in _urls(payload):
        if not _good_url(url, hosts):
            problems.append(f"{where}: link {url!r}")
    if any(k in payload for k in ("content", "embeds")):
        allowed = payload.get("allowed_mentions")
        if (
            allowed is None
            or allowed.get("parse")
            or allowed.get("users")
            or allowed.get("roles")
            or allowed.get("replied_user")
        ):
            problems.append(f"allowed_mentions {allowed!r} can ping")
    return problems
