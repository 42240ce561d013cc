"""Cleaning of untrusted upstream text: markup to plain text, entities decoded, Unicode NFC.

Crossref titles carry HTML (``<i>``, ``<sub>``) and MathML; Crossref abstracts are JATS XML;
OpenAlex display names sometimes hold stray code points (the seed paper's "Xun\\ufffd Li").
Everything shown to a user or written to a citation passes through ``clean_text`` first.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

# Tags whose boundary, between two letters, stands for a word break ("of<i>Leishmania</i>is").
_SPACED_INLINE = {"i", "em", "b", "strong", "u", "italic", "bold", "math", "tt"}
# Small caps often cover part of a word ("<scp>T</scp>reebase"): their closing boundary is a
# word break only when the opening one was glued to a word too ("an<scp>R</scp>package").
_SMALL_CAPS = {"scp", "sc", "smallcaps"}
# Tags that end a block: a paragraph break in abstracts, a space in one-line text.
_BLOCK = {"p", "div", "sec", "title", "br", "li", "ul", "ol", "table", "tr", "list-item", "label"}
# Content never shown: MathML annotations duplicate the formula as TeX or MathML.
_SKIP = {"annotation", "annotation-xml", "script", "style", "mml:annotation"}
_HEADINGS = re.compile(r"^(abstract|summary|graphical abstract)\s*[:.]?\s*", re.IGNORECASE)
# PDF-extracted names spell "í" as dotless i + combining acute (OpenAlex: "Martı́n").
_DOTLESS_I_MARK = re.compile("\u0131([\u0300-\u036f])")
# Rounds of clean_text: each peels one level of markup or escaping ("&amp;amp;lt;b&amp;amp;gt;"
# needs four); real records need at most three. Later rounds only let normalisation settle.
MAX_CLEAN_ROUNDS = 6
_SETTLE_ROUNDS = 4
_MARKUP_CHARS = re.compile("[<>&]")
_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
_BRACKET_SPACE = (
    (re.compile(r"([(\[{])\s+"), r"\1"),
    (re.compile(r"\s+([)\]}])"), r"\1"),
    (re.compile(r"\s+([,.;:!?](?:\s|$))"), r"\1"),
)


def _local(tag: str) -> str:
    """``jats:p`` → ``p``, ``mml:math`` → ``math``."""
    return tag.rsplit(":", 1)[-1].lower()


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pending_space = False
        self._glued: list[bool] = []

    def _boundary(self) -> None:
        self._pending_space = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = _local(tag)
        if tag.lower() in _SKIP or name in _SKIP:
            self._skip += 1
        elif name in _BLOCK:
            self.parts.append("\n\n")
        elif name in _SPACED_INLINE:
            self._boundary()
        elif name in _SMALL_CAPS:
            glued = bool(self.parts) and self.parts[-1][-1:].isalnum()
            self._glued.append(glued)
            if glued:
                self._boundary()

    def handle_endtag(self, tag: str) -> None:
        name = _local(tag)
        if tag.lower() in _SKIP or name in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif name in _BLOCK:
            self.parts.append("\n\n")
        elif name in _SPACED_INLINE:
            self._boundary()
        elif name in _SMALL_CAPS and self._glued and self._glued.pop():
            self._boundary()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if _local(tag) in _BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip or not data:
            return
        if self._pending_space and self.parts:
            prev = self.parts[-1][-1:] if self.parts[-1] else ""
            if prev.isalnum() and data[:1].isalnum():
                self.parts.append(" ")
        self._pending_space = False
        self.parts.append(data)


def _strip_markup(text: str) -> str:
    if "<" not in text:
        return html.unescape(text)
    parser = _Extractor()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError:
        # html.parser asserts on some malformed declarations ("<![foo[" is "unknown status
        # keyword"): drop the tags by pattern instead.
        return html.unescape(_TAG.sub(" ", text))
    stripped = "".join(parser.parts)
    if stripped == text:
        # The parser kept what looks like tags as text (after an unterminated "<!--" it
        # passes the rest through): drop them by pattern, so no tag survives cleaning.
        return html.unescape(_TAG.sub(" ", text))
    return stripped


def _drop_invisible(text: str) -> str:
    """Remove replacement characters, controls and format characters (keep newlines, tabs)."""
    if "\ufffd" not in text and text.replace("\n", " ").replace("\t", " ").isprintable():
        return text  # the usual case, checked in C: no Cc/Cf/Cs/Co/Cn (nor Zl/Zp/Zs) at all
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
            continue
        if ch == "\ufffd":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn"):
            continue
        if cat == "Cf" and ch not in "\u200d\u200c":  # keep ZWJ/ZWNJ (needed in some scripts)
            continue
        out.append(ch)
    return "".join(out)


MAX_TEXT_CHARS = 200_000


def clean_text(text: str | None, *, multiline: bool = False) -> str | None:
    """Untrusted upstream text → plain, NFC-normalised text; ``None`` when nothing is left.

    Tags (HTML, JATS, MathML) become text; entities are decoded, including the multiply
    escaped ``&amp;amp;lt;i&amp;amp;gt;`` some publishers deposit; replacement and control
    characters are dropped; whitespace is collapsed. With ``multiline`` paragraph breaks
    survive as a blank line, otherwise the result is one line.

    The result is a fixed point: ``clean_text(clean_text(x)) == clean_text(x)``. Each round
    peels one level of markup or escaping; text still changing after ``MAX_CLEAN_ROUNDS``
    rounds is nested deeper than any publisher's and so hostile: the characters that build
    tags and entities (``< > &``) are dropped from it, which ends the rounds. Every round is
    linear in the text, so the work is bounded whatever the input.
    """
    if text is None:
        return None
    # The longest real abstracts (JATS with MathML) are tens of kilobytes; a longer field is
    # junk or an attack, and cleaning it whole would hold the event loop for seconds.
    value = str(text)[:MAX_TEXT_CHARS]
    for rounds in range(MAX_CLEAN_ROUNDS + _SETTLE_ROUNDS):
        cleaned = _clean_round(value, multiline)
        if cleaned == value:
            break
        value = cleaned if rounds < MAX_CLEAN_ROUNDS else _MARKUP_CHARS.sub("", cleaned)
    return value or None


def _clean_round(value: str, multiline: bool) -> str:
    """One round of ``clean_text``: one level of markup or entities, then normalisation."""
    if _TAG.search(value):
        value = _strip_markup(value)  # decodes the entities in the text between tags too
    elif _ENTITY.search(value):
        value = html.unescape(value)
    value = _DOTLESS_I_MARK.sub(r"i\1", _drop_invisible(value))
    value = unicodedata.normalize("NFC", value)
    if multiline:
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", value)]
        value = "\n\n".join(p for p in paragraphs if p)
    else:
        value = " ".join(value.split())
    for pattern, repl in _BRACKET_SPACE:
        value = pattern.sub(repl, value)
    return value


def clean_abstract(text: str | None) -> str | None:
    """Clean an abstract and drop a leading "Abstract" heading that JATS and publishers add."""
    value = clean_text(text, multiline=True)
    if not value:
        return None
    value = _HEADINGS.sub("", value, count=1).strip()
    return value or None


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
