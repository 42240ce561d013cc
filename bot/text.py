"""Cleaning of untrusted upstream text: markup to plain text, entities decoded, Unicode NFC.

Crossref titles carry HTML (``<i>``, ``<sub>``) and MathML; Crossref abstracts are JATS XML;
OpenAlex display names sometimes hold stray code points (the seed paper's "Xun\\ufffd Li").
Everything shown to a user or written to a citation passes through ``clean_text`` first.
"""

from __future__ import annotations

import re

from bot import richtext
from bot.placeholders import is_placeholder
from bot.richtext import RichText, Run, Style

_HEADINGS = re.compile(r"^(abstract|summary|graphical abstract)\s*[:.]?\s*", re.IGNORECASE)
MAX_TEXT_CHARS = richtext.MAX_TEXT_CHARS
MAX_CLEAN_ROUNDS = richtext.MAX_ROUNDS


def rich_text(text: object, *, multiline: bool = False) -> RichText | None:
    """Untrusted upstream text → ``RichText`` (see ``bot.richtext.parse``); ``None`` if empty."""
    return richtext.parse(text, multiline=multiline)


def rich_title(text: object) -> RichText | None:
    """A title as rich text; ``None`` when empty or an upstream placeholder ("null", "n/a")."""
    rich = richtext.parse(text)
    return None if rich is None or is_placeholder(rich.plain()) else rich


def clean_text(text: object, *, multiline: bool = False) -> str | None:
    """Untrusted upstream text → plain, NFC-normalised text; ``None`` when nothing is left.

    Tags (HTML, JATS, MathML) become text with their meaning kept: super- and subscripts as
    Unicode (``10<sup>9</sup>`` → ``10⁹``, ``^(…)`` where Unicode has none), no space inserted
    inside a word (``c<sub>p</sub>``, ``1<i>H</i>-indole``). Entities are decoded, including
    the multiply escaped ``&amp;amp;lt;i&amp;amp;gt;`` some publishers deposit; replacement and
    control characters are dropped; whitespace is collapsed. With ``multiline`` paragraph
    breaks survive as a blank line, otherwise the result is one line.

    The result is a fixed point: ``clean_text(clean_text(x)) == clean_text(x)``; the work is
    linear in the text and bounded in rounds (``bot.richtext.parse``).
    """
    rich = richtext.parse(text, multiline=multiline)
    return (rich.linear() or None) if rich else None


def rich_abstract(text: object) -> RichText | None:
    """An abstract as rich text, without the leading "Abstract" heading JATS and publishers
    add; the headings of structured abstracts stay, as labels."""
    rich = richtext.parse(text, multiline=True)
    if not rich:
        return None
    runs = list(rich.runs)
    first = runs[0]
    if first.style & Style.LABEL and _HEADINGS.fullmatch(first.text.strip() + " "):
        runs.pop(0)
        if runs and not runs[0].style:
            runs[0] = Run(runs[0].text.lstrip(), runs[0].style)
    elif not first.style:
        runs[0] = Run(_HEADINGS.sub("", first.text, count=1), first.style)
    out = RichText(tuple(r for r in runs if r.text))
    return out if out.plain().strip() else None


def clean_abstract(text: object) -> str | None:
    """Clean an abstract and drop a leading "Abstract" heading that JATS and publishers add."""
    rich = rich_abstract(text)
    return (rich.linear().strip() or None) if rich else None


def rebuild_inverted_index(index: dict[str, list[int]] | None) -> str | None:
    """OpenAlex ``abstract_inverted_index`` → the abstract: each word at each of its positions."""
    if not index:
        return None
    slots: dict[int, str] = {}
    for word, positions in index.items():
        for pos in positions or ():
            if isinstance(pos, int) and pos >= 0:
                slots[pos] = word
    if not slots:
        return None
    return " ".join(slots[i] for i in sorted(slots))


def truncate(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, on a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–") + ellipsis


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 entry``, ``2 entries``, ``0 entries``."""
    if n == 1:
        return f"{n} {singular}"
    return f"{n:,} {plural_form or singular + 's'}"
