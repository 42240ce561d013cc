"""Untrusted text and links bound for Discord: the one escaper and the one URL policy (pure).

Every string from upstream or from a user that lands in Discord Markdown (message content,
embed titles, descriptions and field values) goes through ``escape``; every link (masked links,
link buttons, embed urls, URLs printed in citations) goes through ``safe_url`` or
``url_text``, which apply one policy. Neither imports discord: citations (pure) use them too.

``escape`` keeps every character visible: Discord renders ``\\*`` as ``*``, ``\\<@1>`` as the
literal ``<@1>``, ``@\u200beveryone`` as ``@everyone`` (with an invisible zero-width space, as
discord.py's ``escape_mentions`` does). It escapes character by character, never by matching
whole constructs: discord.utils.escape_markdown matches constructs and misses repeated
patterns (one greedy masked-link match can swallow a title and leave the emphasis inside it
live).
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from urllib.parse import quote, urlsplit

URL_LIMIT = 512  # Discord link buttons refuse longer URLs; no scholarly link needs more

# Characters that start Discord Markdown anywhere: escapes, emphasis, strike, spoilers, code,
# masked links ([…](…)), and ``<`` which opens every mention, channel, role, slash-command,
# timestamp, custom emoji and <url> autolink.
_INLINE = re.compile(r"([\\*_~`|\[\]<])")
# ``scheme://`` autolinks: the colon is escaped, so Discord shows the URL as text. (A live bare
# URL would also swallow the backslash that guards a following ``<``: ``https://x/\<@&1>``.)
_AUTOLINK = re.compile(r":(?=//)")
# @everyone / @here render as a highlighted pill even when nobody is pinged.
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
# What counts only at the start of a line: headings (#, ##, ###), subtext (-#), lists (-, +, *,
# "1."), block quotes (>, >>>).
_LINE_START = re.compile(r"(?m)^([ \t]*)([#>+-])")
_NUMBERED = re.compile(r"(?m)^([ \t]*\d+)\.(?=[ \t]|$)")
# The house's own markup in known-error messages (bot/errors.py LitError.user_message):
# **Manage Server** and `/bib default`, letters and command words only.
_HOUSE_MARKUP = re.compile(r"\*\*[A-Za-z][A-Za-z ]{0,40}\*\*|`[/a-z0-9][a-z0-9 /_-]{0,60}`")
_BACKTICK_RUN = re.compile(r"`(?=`)")


def escape(text: str | None) -> str:
    """``text`` made inert for Discord Markdown, every character still shown.

    Neutralised: mentions (@everyone, @here, <@…>, <@&…>, <#…>, </cmd:…>, <t:…>), masked
    links and <url> or bare autolinks, headings and subtext, lists, block quotes, code,
    emphasis, strike-through, spoilers and backslash escapes. Apply it to data only, once,
    before adding your own markup around it.
    """
    if not text:
        return ""
    text = _INLINE.sub(r"\\\1", text)
    text = _AUTOLINK.sub(r"\\:", text)
    text = _MASS_MENTION.sub("@\u200b\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _NUMBERED.sub(r"\1\\.", text)


def escape_message(message: str) -> str:
    """A known error's message (``LitError.user_message``) for Discord.

    Such messages are our sentences with user input or upstream text inside (“No paper matches
    the title …”, a bibliography's name): everything is escaped except the house's own bold
    words and command names, whose characters cannot form a link or a mention.
    """
    out, last = [], 0
    for match in _HOUSE_MARKUP.finditer(message):
        out.append(escape(message[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(escape(message[last:]))
    return "".join(out)


def code_block(text: str, language: str = "") -> str:
    """``text`` in a fenced code block it cannot close: backtick runs are broken with a
    zero-width space (inside a code block nothing else renders)."""
    body = _BACKTICK_RUN.sub("`\u200b", text)
    return f"```{language}\n{body}\n```"


# --- the URL policy ---------------------------------------------------------------------------

# Kept as they are in a link target: RFC 3986 unreserved characters, the delimiters http(s)
# URLs use (: / ? # [ ] are handled by the split), and the sub-delimiters that cannot end
# Markdown link syntax. Everything else in the path, query and fragment is percent-encoded.
# Parentheses and the apostrophe are encoded too: ``)`` would close ``[label](url)`` early,
# and they delimit nothing in http(s) URLs, so servers read %28 %29 %27 as the same resource
# (doi.org, repositories and publishers all do). A URL is never rejected for them.
_LINK_SAFE = frozenset(string.ascii_letters + string.digits + "-._~" + "!$&*+,;=:@/")
# In a URL shown as text (bare, Discord autolinks it; e.g. in a citation, which people copy)
# parentheses stay readable: no link syntax surrounds it, and DOIs such as
# 10.1016/s0248-8663(03)80579-9 are printed as their registrants wrote them.
_TEXT_SAFE = _LINK_SAFE | frozenset("()'")
# Discord's autolink leaves these off the end of a bare URL; encoded there, the link is whole.
_TRAILING = frozenset(".,:;'\")")
_HEX = frozenset("0123456789abcdefABCDEF")
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})?(?:\.[a-z0-9](?:[a-z0-9-]{0,62})?)*\.?")
# Characters a DOI keeps when it is put in a doi.org URL; % # ? and the rest are encoded so the
# DOI is the whole path (doi.org decodes it).
_DOI_SAFE = "/:;=,@!$&*+()'"


@functools.cache
def _outside(safe: frozenset[str]) -> re.Pattern[str]:
    """A character not in ``safe`` (one pattern per safe set, built once)."""
    return re.compile("[^" + "".join(re.escape(ch) for ch in sorted(safe)) + "]")


def _encode(part: str, safe: frozenset[str]) -> str:
    if not _outside(safe).search(part):  # the usual case: nothing to encode
        return part
    out = []
    for i, ch in enumerate(part):
        if ch in safe:
            out.append(ch)
        elif ch == "%" and len(part) > i + 2 and part[i + 1] in _HEX and part[i + 2] in _HEX:
            out.append(ch)  # an existing escape stays as it is
        else:
            out.append(quote(ch, safe=""))
    return "".join(out)


def _unsafe_char(ch: str) -> bool:
    """Whitespace, controls and invisible format characters (bidi overrides, zero-width …)."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


# The ASCII characters ``_unsafe_char`` refuses: controls, space and DEL (``isspace`` adds no
# other ASCII character, and ASCII has no format or unassigned ones).
_UNSAFE_ASCII = re.compile(r"[\x00-\x20\x7f]")


def _has_unsafe_char(url: str) -> bool:
    if url.isascii():  # the usual case, without a call per character
        return _UNSAFE_ASCII.search(url) is not None
    return any(_unsafe_char(ch) for ch in url)


def _checked(url: str | None, safe: frozenset[str]) -> tuple[str, str] | None:
    """(scheme://host[:port], encoded rest) for a URL that passes the policy, else None."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if len(url) > 4 * URL_LIMIT or _has_unsafe_char(url) or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in range
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None  # only http(s); no user@host (https://trusted.example@evil.example)
    host = parts.hostname or ""
    if not host or "[" in parts.netloc or "]" in parts.netloc:
        return None  # no IPv6 literals: no scholarly link uses one
    try:
        host = host.encode("idna").decode("ascii").lower()  # IDNs as punycode
    except UnicodeError:
        return None
    if not _HOST.fullmatch(host):
        return None
    head = f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"
    rest = _encode(parts.path, safe)
    if parts.query:
        rest += "?" + _encode(parts.query, safe | {"/", "?"})
    if parts.fragment:
        rest += "#" + _encode(parts.fragment, safe | {"/", "?"})
    return head, rest


def safe_url(url: str | None) -> str | None:
    """The link target for ``url``, or ``None`` when it must not be linked.

    Policy: http or https only; a host name (IDNs converted to punycode, no IPv6 literal, no
    ``user@`` part); no whitespace, control or invisible characters and no backslash anywhere;
    characters that could end Markdown link syntax (``) ] > " ' `` backtick …) and any other
    character outside RFC 3986's safe set percent-encoded; at most 512 characters after that
    (the limit of a Discord link button). The result is safe inside ``[label](…)``, as a link
    button's url and as an embed's url.
    """
    checked = _checked(url, _LINK_SAFE)
    if checked is None:
        return None
    out = "".join(checked)
    return out if len(out) <= URL_LIMIT else None


def url_text(url: str | None) -> str | None:
    """``url`` to print as text, which Discord autolinks; ``None`` when it fails the policy.

    The same policy as ``safe_url``; only parentheses and apostrophes stay readable (no link
    syntax surrounds a bare URL), except at the very end, where Discord would leave them (and
    a final ``.`` ``,`` ``:`` ``;``) out of the link: there they are percent-encoded.
    """
    checked = _checked(url, _TEXT_SAFE)
    if checked is None:
        return None
    head, rest = checked
    end = len(rest)
    while end and rest[end - 1] in _TRAILING:
        end -= 1
    tail = "".join("%2E" if ch == "." else quote(ch, safe="") for ch in rest[end:])
    out = head + rest[:end] + tail
    return out if len(out) <= URL_LIMIT else None


def doi_address(doi: str, resolver: str = "https://doi.org/") -> str:
    """``https://doi.org/<doi>`` with the DOI percent-encoded as one path (not yet checked)."""
    return resolver + quote(doi.strip(), safe=_DOI_SAFE)


def doi_url(doi: str | None) -> str | None:
    """The doi.org link target for ``doi`` under the URL policy (``(`` ``)`` encoded, so a
    DOI such as 10.1002/(sici)… stays one working link inside ``[doi](…)``)."""
    return safe_url(doi_address(doi)) if doi else None


def link(label: str, url: str | None) -> str | None:
    """``[label](url)`` with the label escaped and the URL through the policy; ``None`` when
    the URL fails it (show the label unlinked, or nothing)."""
    target = safe_url(url)
    return f"[{escape(label)}]({target})" if target else None
