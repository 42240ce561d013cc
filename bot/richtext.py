"""A small rich-text model between the sources and every output (pure).

Upstream titles and abstracts carry meaning in their markup: ``10<sup>9</sup>`` is ten to the
ninth, ``CO<sub>2</sub>`` is carbon dioxide, ``<i>Escherichia coli</i>`` is a species whose
italics a citation style keeps. Flattening markup to text changes values (``109``); keeping
it raw leaks tags into Discord and BibTeX. So sources parse HTML, JATS and MathML into a
``RichText``: the text with one style per character (italic, bold, superscript, subscript,
small caps, and "label" for the section headings of structured abstracts). Each output has
its own renderer:

=================  ==========================================================================
``linear()``       one-line Unicode text: ``10⁹``, ``CO₂``; ``^(…)``/``_(…)`` where Unicode
                   has no super/subscript; the value ``Work.title`` and the terminal show
``plain()``        the characters without any styling (search and sort keys: ``CO2``)
``markdown()``     Discord Markdown, escaped by ``bot.markdown.escape``: ``*E. coli*``, ``10⁹``
``csl()``          CSL-JSON's own markup (``<i>``, ``<b>``, ``<sup>``, ``<sub>``, small-caps
                   span) so citeproc styles render it
``latex()``        BibTeX: ``\\textit{}``, ``\\textsuperscript{}``, …, capitals protected
``to_markup()``    the stored form (a tiny escaped HTML subset), read back by ``from_markup``
=================  ==========================================================================

No renderer adds or drops a character of the source's text, apart from markup (and the space
that publishers' pipelines lost around an italic word or a formula: ``of<i>Leishmania</i>is``).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntFlag
from html.parser import HTMLParser


class Style(IntFlag):
    NONE = 0
    ITALIC = 1
    BOLD = 2
    SUP = 4
    SUB = 8
    SMALL_CAPS = 16
    LABEL = 32  # a section heading of a structured abstract ("Background", "Methods")


INLINE_STYLES = Style.ITALIC | Style.BOLD | Style.SUP | Style.SUB | Style.SMALL_CAPS

# Tags → style. JATS (``jats:italic``) and HTML spellings, namespaces stripped.
_STYLE_TAGS: dict[str, Style] = {
    "i": Style.ITALIC,
    "em": Style.ITALIC,
    "italic": Style.ITALIC,
    "var": Style.ITALIC,
    "b": Style.BOLD,
    "strong": Style.BOLD,
    "bold": Style.BOLD,
    "sup": Style.SUP,
    "sub": Style.SUB,
    "sc": Style.SMALL_CAPS,
    "scp": Style.SMALL_CAPS,
    "smallcaps": Style.SMALL_CAPS,
}
# Inline tags without a style of their own whose boundary may stand for a lost word break.
_PLAIN_INLINE = {"u", "underline", "tt", "monospace", "span", "styled-content", "named-content"}
# Italic and bold runs of two letters or more glued to letters on both sides lost their
# spaces in the publisher's pipeline ("of<i>Leishmania</i>is"); a one-letter run is part of
# the word ("1<i>H</i>-indole", "p<i>K</i><sub>a</sub>"). Small caps runs glued on their
# left are words ("an<scp>R</scp>package"); at the start of a word they are its first letter
# ("<scp>T</scp>reebase").
_WORDLIKE = {Style.ITALIC, Style.BOLD}
# Tags that end a block: a paragraph break in abstracts, a space in one-line text.
_BLOCK = {
    "p",
    "div",
    "sec",
    "br",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "list",
    "list-item",
    "label",
    "abstract",
    "trans-abstract",
    "caption",
    "disp-quote",
}
_HEADING = {"title", "h1", "h2", "h3", "h4", "h5", "h6"}
# Content never shown: MathML annotations repeat the formula as TeX or MathML.
_SKIP = {"annotation", "annotation-xml", "script", "style", "mphantom", "none"}
_MATH = "math"

# Unicode super- and subscripts. A run is mapped only when every character has a form.
_SUPERSCRIPTS = dict(
    zip(
        "0123456789+-−=()niabcdefghjklmoprstuvwxyzABDEGHIJKLMNOPRTUVWαβγδεθιφχ",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂᵅᵝᵞᵟᵋᶿᶥᵠᵡ",
        strict=True,
    )
)
_SUBSCRIPTS = dict(
    zip(
        "0123456789+-−=()aehijklmnoprstuvxβγρφχ",
        "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ",
        strict=True,
    )
)
# Marks that are superscript by nature: written as they are ("Birdsbesafe<sup>®</sup>").
_SELF_RAISED = set("®™*†‡§°′″‴'’,.·")

# What html.parser reads as a tag: a letter after "<" or "</", then anything up to ">".
_TAG = re.compile(r"</?[A-Za-z][^\s/<>\x00]*(?:[\s/][^<>]*)?>")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
_MARKUP_CHARS = re.compile("[<>&]")
_DOTLESS_I_MARK = re.compile("\u0131([\u0300-\u036f])")
_BRACKET_SPACE = (
    re.compile(r"(?<=[(\[{])[ ]+"),
    re.compile(r"[ ]+(?=[)\]}])"),
    re.compile(r"[ ]+(?=[,.;:!?](?:\s|$))"),
)
# A soft word break: where a tag boundary may stand for a space the source lost (see
# _WORDLIKE). Private-use code points are dropped from upstream data before parsing, so these
# cannot be forged.
_SPACES = re.compile(r"\s+")
# Text that parsing leaves as it is: printable ASCII without markup characters (``<``, ``>``,
# ``&``), words separated by single spaces, nothing to trim (most names, venues, keywords and
# many titles). ``parse`` returns it as one plain run without the rounds (tests hold it to them).
_PLAIN = re.compile(r"[!-%'-;=?-~]+(?: [!-%'-;=?-~]+)*")
_BLANK_LINE = re.compile(r"\s*\n\s*\n\s*")
_SOFT = "\ue000"
_NEVER, _LETTERS, _FORMULA = 0, 1, 2  # what a soft break may become (see _resolve_soft)
_PARA = "\n\n"

MAX_TEXT_CHARS = 200_000
# Rounds of parsing: each peels one level of markup or escaping (``&amp;lt;i&amp;gt;``);
# text still changing after MAX_ROUNDS is nested deeper than any publisher's.
MAX_ROUNDS = 6
_SETTLE_ROUNDS = 4
# MathML nesting deeper than this is flattened (real formulas nest a dozen levels); so is
# markup nested deeper than MAX_TAG_DEPTH.
MAX_MATH_DEPTH = 48
MAX_TAG_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    style: Style = Style.NONE


@dataclass(frozen=True, slots=True)
class RichText:
    """Text with one ``Style`` per character, kept as maximal runs (never empty runs)."""

    runs: tuple[Run, ...] = ()

    # -- construction -------------------------------------------------------------------
    @classmethod
    def of(cls, text: str | None, style: Style = Style.NONE) -> RichText:
        return cls((Run(text, style),) if text else ())

    @classmethod
    def join(cls, parts: Iterable[RichText | str], sep: str = "") -> RichText:
        runs: list[Run] = []
        for i, part in enumerate(parts):
            if i and sep:
                runs.append(Run(sep))
            runs.extend(part.runs if isinstance(part, RichText) else (Run(part),))
        return cls(_merge(runs))

    @classmethod
    def from_markup(cls, markup: str | None) -> RichText:
        """Read the stored form written by ``to_markup`` (trusted: our own output)."""
        if not markup:
            return cls()
        builder = _MarkupReader()
        builder.feed(markup)
        builder.close()
        return cls(_merge(builder.runs))

    # -- queries ------------------------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(self.runs)

    @property
    def styled(self) -> bool:
        """Whether any character carries a style (else ``plain()`` says everything)."""
        return any(r.style for r in self.runs)

    def map_text(self, fn: Callable[[str], str]) -> RichText:
        return RichText(_merge(Run(fn(r.text), r.style) for r in self.runs))

    # -- renderers ----------------------------------------------------------------------
    def plain(self) -> str:
        """The characters, unstyled: search keys, sort keys, comparisons."""
        return "".join(r.text for r in self.runs)

    def linear(self) -> str:
        """Unicode text for one-line and terminal outputs: ``10⁹``, ``CO₂``, ``x^(q)``.

        Headings of structured abstracts lead their paragraph: ``Background: …``.
        """
        return _labels_inline("".join(_linear_run(r) for r in self.runs), self)

    def truncated(self, limit: int, ellipsis: str = "…") -> RichText:
        """At most ``limit`` characters of text, cut on a word boundary near the end when
        there is one, with ``ellipsis``; styles kept."""
        plain = self.plain()
        if len(plain) <= limit:
            return self
        keep = max(0, limit - len(ellipsis))
        space = plain.rfind(" ", 0, keep + 1)
        if space > keep * 0.6:
            keep = space
        while keep and plain[keep - 1] in " ,;:-–\n":
            keep -= 1
        runs, pos = [], 0
        for run in self.runs:
            if pos >= keep:
                break
            runs.append(Run(run.text[: keep - pos], run.style))
            pos += len(run.text)
        return RichText(_merge([*runs, Run(ellipsis)]))

    def markdown(self, limit: int | None = None) -> str:
        """Discord Markdown: data escaped, italics ``*…*``, bold ``**…**``, sup/sub as Unicode,
        headings bold; with ``limit``, cut (on a word, with "…") so the Markdown fits."""
        text = self._markdown()
        if limit is None or len(text) <= limit:
            return text
        size = min(limit, len(self.plain()))
        while size > 0:
            text = self.truncated(size)._markdown()
            if len(text) <= limit:
                return text
            size -= max(1, len(text) - limit)
        return ""

    def _markdown(self) -> str:
        from bot.markdown import escape

        marks = {Style.ITALIC: ("\ue001", "\ue002"), Style.BOLD: ("\ue003", "\ue004")}
        pieces = []
        for run in _label_runs(self.runs):
            text = _linear_run(run)
            style = run.style & (Style.ITALIC | Style.BOLD)
            if run.style & Style.LABEL:
                style |= Style.BOLD
            pieces.append(_wrap_edges(text, style, marks))
        text = escape("".join(pieces))
        # "@" + an emphasis mark + "everyone" would ping once the mark becomes "*".
        text = re.sub(r"@((?:[\ue001-\ue004])+)(everyone|here)", "@\u200b\\1\\2", text, flags=re.I)
        return text.translate({0xE001: "*", 0xE002: "*", 0xE003: "**", 0xE004: "**"})

    def csl(self) -> str:
        """CSL-JSON rich text (the markup citeproc-js and Zotero read in titles)."""
        tags = (
            (Style.ITALIC, "<i>", "</i>"),
            (Style.BOLD, "<b>", "</b>"),
            (Style.SUP, "<sup>", "</sup>"),
            (Style.SUB, "<sub>", "</sub>"),
            (Style.SMALL_CAPS, '<span style="font-variant:small-caps;">', "</span>"),
        )
        out = []
        for run in _label_runs(self.runs):
            text = _csl_escape(run.text)
            style = run.style | (Style.BOLD if run.style & Style.LABEL else Style.NONE)
            for flag, open_, close in tags:
                if style & flag:
                    text = open_ + text + close
            out.append(text)
        return "".join(out)

    def latex(self, escape: Callable[[str], str], protect: Callable[[str], str]) -> str:
        """BibTeX/LaTeX: ``escape`` makes plain text safe (special characters, accents);
        ``protect`` wraps words whose case must survive a style's sentence-casing. Styled
        runs are braced as a whole: a species name keeps its capital and its italics."""
        commands = (
            (Style.ITALIC, "\\textit"),
            (Style.BOLD, "\\textbf"),
            (Style.SUP, "\\textsuperscript"),
            (Style.SUB, "\\textsubscript"),
            (Style.SMALL_CAPS, "\\textsc"),
        )
        out = []
        for run in _label_runs(self.runs):
            style = run.style | (Style.BOLD if run.style & Style.LABEL else Style.NONE)
            if not style & INLINE_STYLES:
                out.append(protect(run.text))
                continue
            lead = run.text[: len(run.text) - len(run.text.lstrip())]
            trail = run.text[len(run.text.rstrip()) :]
            body = escape(run.text.strip())
            for flag, command in commands:
                if style & flag:
                    body = f"{command}{{{body}}}"
            out.append(f"{escape(lead)}{{{body}}}{escape(trail)}")
        return "".join(out)

    def to_markup(self) -> str:
        """The stored form: HTML-escaped text in ``<i>``, ``<b>``, ``<sup>``, ``<sub>``,
        ``<sc>`` and ``<h>`` (label) tags."""
        out = []
        for run in self.runs:
            text = html.escape(run.text, quote=False)
            for flag, tag in _STORE_TAGS:
                if run.style & flag:
                    text = f"<{tag}>{text}</{tag}>"
            out.append(text)
        return "".join(out)


_STORE_TAGS = (
    (Style.ITALIC, "i"),
    (Style.BOLD, "b"),
    (Style.SUP, "sup"),
    (Style.SUB, "sub"),
    (Style.SMALL_CAPS, "sc"),
    (Style.LABEL, "h"),
)
_STORE_STYLES = {tag: flag for flag, tag in _STORE_TAGS}


class _MarkupReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[Run] = []
        self._style = Style.NONE

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style |= _STORE_STYLES.get(tag, Style.NONE)

    def handle_endtag(self, tag: str) -> None:
        self._style &= ~_STORE_STYLES.get(tag, Style.NONE)

    def handle_data(self, data: str) -> None:
        if data:
            self.runs.append(Run(data, self._style))


def _merge(runs: Iterable[Run]) -> tuple[Run, ...]:
    out: list[Run] = []
    for run in runs:
        if not run.text:
            continue
        if out and out[-1].style == run.style:
            out[-1] = Run(out[-1].text + run.text, run.style)
        else:
            out.append(run)
    return tuple(out)


def _script(text: str, table: dict[str, str], sign: str) -> str:
    if all(ch in table for ch in text):
        return "".join(table[ch] for ch in text)
    if all(ch in _SELF_RAISED or ch.isspace() for ch in text):
        return text
    return f"{sign}({text})"


def _linear_run(run: Run) -> str:
    if run.style & Style.SUP and not run.style & Style.SUB:
        return _script(run.text, _SUPERSCRIPTS, "^")
    if run.style & Style.SUB and not run.style & Style.SUP:
        return _script(run.text, _SUBSCRIPTS, "_")
    return run.text


def _label_runs(runs: tuple[Run, ...]) -> list[Run]:
    """Runs with each heading paragraph joined to the paragraph it heads (``Label: text``)."""
    out: list[Run] = []
    i = 0
    while i < len(runs):
        run = runs[i]
        nxt = runs[i + 1] if i + 1 < len(runs) else None
        starts_paragraph = not out or out[-1].text.endswith("\n")
        if (
            run.style & Style.LABEL
            and starts_paragraph
            and nxt is not None
            and nxt.text.startswith(_PARA)
            and nxt.text.strip()
        ):
            label = run.text.rstrip()
            sep = " " if label.endswith((":", ".", "?", "!")) else ": "
            out.append(Run(label, run.style))
            out.append(Run(sep + nxt.text[len(_PARA) :], nxt.style))
            i += 2
            continue
        out.append(run)
        i += 1
    return out


def _labels_inline(text: str, rich: RichText) -> str:
    if not any(r.style & Style.LABEL for r in rich.runs):
        return text
    return "".join(_linear_run(r) for r in _label_runs(rich.runs))


def _wrap_edges(text: str, style: Style, marks: dict[Style, tuple[str, str]]) -> str:
    core = text.strip()
    if not core or not style:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    for flag in (Style.BOLD, Style.ITALIC):
        if style & flag:
            core = marks[flag][0] + core + marks[flag][1]
    return lead + core + trail


def _csl_escape(text: str) -> str:
    # citeproc-js reads only its own tags (<i>, <b>, <sup>, <sub>, <span style=…>,
    # <span class="nocase">) as markup and prints every other character as it is; parsed text
    # holds no tag (parsing runs to a fixed point), so "p < 0.05" and "AT&T" stay literal.
    return text


# ---------------------------------------------------------------------------------------------
# Parsing untrusted markup


def _local(tag: str) -> str:
    """``jats:italic`` → ``italic``, ``mml:msup`` → ``msup``."""
    return tag.rsplit(":", 1)[-1].lower()


@dataclass(slots=True)
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str]


class _Parser(HTMLParser):
    """HTML/JATS/MathML → (text, one style per character), with soft word breaks."""

    def __init__(self, base: Style) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.styles: list[Style] = []
        self.soft_ok: list[int] = []  # per soft break, in order: _NEVER, _LETTERS, _FORMULA
        # open elements: tag, style added, soft-break index, style inside, letters before it
        self._stack: list[tuple[str, Style, int | None, Style, int]] = []
        self._base = base
        self._skip = 0
        self._math: list[_Node] = []  # open MathML elements while inside <math>
        self._letters = 0  # letters emitted so far (tells a word-like run in O(1))

    @property
    def style(self) -> Style:
        return self._stack[-1][3] if self._stack else self._base

    def _open(self, name: str, added: Style, soft: int | None = None) -> None:
        # Styles are flags: nesting deeper than any real markup adds nothing, and a bounded
        # stack keeps every end tag's search bounded.
        if len(self._stack) < MAX_TAG_DEPTH:
            self._stack.append((name, added, soft, self.style | added, self._letters))

    def _emit(self, text: str, style: Style | None = None) -> None:
        if text:
            self.text.append(text)
            self.styles.append(self.style if style is None else style)
            if text != _SOFT and text != _PARA:
                self._letters += sum(ch.isalpha() for ch in text)

    def _soft(self, kind: int = _NEVER) -> int:
        self.soft_ok.append(kind)
        self._emit(_SOFT, Style.NONE)
        return len(self.soft_ok) - 1

    def _last_char(self) -> str:
        for chunk in reversed(self.text):
            if chunk:
                return chunk[-1]
        return ""

    # -- events -------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = _local(tag)
        if self._math:
            if len(self._math) < MAX_MATH_DEPTH:
                node = _Node(name, {k: v or "" for k, v in attrs}, [])
                self._math[-1].children.append(node)
                self._math.append(node)
            else:
                self._math.append(self._math[-1])  # flatten: keep adding to the deep node
            return
        if name in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if name == _MATH:
            self._math.append(_Node(_MATH, {}, []))
            return
        if name in _BLOCK:
            self._emit(_PARA, Style.NONE)
            self._open(name, Style.NONE)
        elif name in _HEADING:
            self._emit(_PARA, Style.NONE)
            self._open(name, Style.LABEL)
        elif name in _STYLE_TAGS:
            style = _STYLE_TAGS[name]
            soft = None
            if len(self._stack) >= MAX_TAG_DEPTH:
                pass
            elif style in _WORDLIKE:
                soft = self._soft()
            elif style is Style.SMALL_CAPS:
                soft = self._soft(_LETTERS if self._last_char().isalpha() else _NEVER)
            self._open(name, style, soft)
        elif name in _PLAIN_INLINE:
            self._open(name, Style.NONE)
        # unknown tags: their text is kept, the tag dropped

    def handle_endtag(self, tag: str) -> None:
        name = _local(tag)
        if self._math:
            closed = self._math.pop()
            if not self._math:
                self._emit_math(closed)
            return
        if name in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        # close up to the matching open tag (tolerates unclosed inner tags)
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == name:
                for open_name, style, soft, _inside, letters in reversed(self._stack[i:]):
                    self._close(open_name, style, soft, letters)
                    self._stack.pop()
                break
        else:
            if name in _BLOCK or name in _HEADING:
                self._emit(_PARA, Style.NONE)

    def _close(self, name: str, style: Style, soft: int | None, letters: int) -> None:
        if name in _BLOCK or name in _HEADING:
            self._emit(_PARA, Style.NONE)
        elif soft is not None:
            if style in _WORDLIKE:  # word-like when it holds two letters or more
                word = self._letters - letters >= 2
                self.soft_ok[soft] = _LETTERS if word else _NEVER
            self.soft_ok.append(self.soft_ok[soft])
            self._emit(_SOFT, Style.NONE)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = _local(tag)
        if self._math:
            if name == "mspace":
                self._math[-1].children.append(" ")
            return
        if self._skip:
            return
        if name in _BLOCK:
            self._emit(_PARA, Style.NONE)

    def handle_data(self, data: str) -> None:
        if not data:
            return
        if self._math:
            self._math[-1].children.append(data)
            return
        if self._skip:
            return
        self._emit(data)

    def close(self) -> None:
        super().close()
        while self._math:
            closed = self._math.pop()
            if not self._math:
                self._emit_math(closed)

    # -- MathML -------------------------------------------------------------------------
    def _emit_math(self, node: _Node) -> None:
        runs = _math_runs(node, self.style, 0)
        text = "".join(t for t, _ in runs).strip()
        if not text:
            return
        # Formulas in Hindawi titles lost the spaces around them ("Dominant<math>M</math>-").
        self._soft(_FORMULA)
        for t, s in runs:
            self._emit(t, s)
        self.soft_ok.append(_FORMULA)
        self._emit(_SOFT, Style.NONE)


def _math_text(node: _Node | str) -> str:
    if isinstance(node, str):
        return node
    return "".join(_math_text(c) for c in node.children)


_ACCENTS = {"¯": "\u0304", "^": "\u0302", "ˆ": "\u0302", "~": "\u0303", "˜": "\u0303",
            "˙": "\u0307", "¨": "\u0308", "→": "\u20d7", "⃗": "\u20d7", "ˇ": "\u030c",
            "´": "\u0301", "`": "\u0300", "‾": "\u0305", "_": "\u0332"}  # fmt: skip


def _math_runs(node: _Node | str, style: Style, depth: int) -> list[tuple[str, Style]]:
    if isinstance(node, str):
        return [(node.strip() if not node.isspace() else "", style)] if node else []
    if depth > MAX_MATH_DEPTH:
        return [(_math_text(node), style)]
    kids = [c for c in node.children if not (isinstance(c, str) and not c.strip())]
    tag = node.tag

    def sub(child: _Node | str, extra: Style = Style.NONE) -> list[tuple[str, Style]]:
        return _math_runs(child, style | extra, depth + 1)

    def seq(children: list[_Node | str]) -> list[tuple[str, Style]]:
        return [piece for child in children for piece in sub(child)]

    if tag in _SKIP:
        return []
    if tag == "semantics":
        return sub(kids[0]) if kids else []
    if tag in ("msup", "msub", "msubsup", "mover", "munder", "munderover") and kids:
        base = sub(kids[0])
        rest = kids[1:]
        if tag in ("mover", "munder") and rest:
            accent = _math_text(rest[0]).strip()
            if (accent in _ACCENTS and tag == "mover") or (tag == "munder" and accent == "_"):
                return [*base, (_ACCENTS[accent], style)]
        if tag in ("msup", "mover"):
            return [*base, *(sub(rest[0], Style.SUP) if rest else [])]
        if tag in ("msub", "munder"):
            return [*base, *(sub(rest[0], Style.SUB) if rest else [])]
        lower = sub(rest[0], Style.SUB) if rest else []
        upper = sub(rest[1], Style.SUP) if len(rest) > 1 else []
        return [*base, *lower, *upper]
    if tag == "mfrac" and len(kids) >= 2:
        num, den = (_grouped(sub(k)) for k in kids[:2])
        return [*num, ("/", style), *den]
    if tag == "msqrt":
        return [("√", style), *_grouped(seq(kids))]
    if tag == "mroot" and kids:
        index = sub(kids[1], Style.SUP) if len(kids) > 1 else []
        return [*index, ("√", style), *_grouped(sub(kids[0]))]
    if tag == "mfenced":
        open_ = node.attrs.get("open", "(")
        close = node.attrs.get("close", ")")
        seps = node.attrs.get("separators", ",").strip() or ","
        out: list[tuple[str, Style]] = [(open_, style)]
        for i, kid in enumerate(kids):
            if i:
                out.append((seps[min(i - 1, len(seps) - 1)], style))
            out.extend(sub(kid))
        return [*out, (close, style)]
    if tag in ("mtable",):
        rows = [seq([k]) for k in kids]
        out = []
        for i, row in enumerate(rows):
            if i:
                out.append(("; ", style))
            out.extend(row)
        return out
    if tag in ("mtr", "mlabeledtr"):
        out = []
        for i, kid in enumerate(kids):
            if i:
                out.append((", ", style))
            out.extend(sub(kid))
        return out
    if tag == "mspace":
        return [(" ", style)]
    if tag == "mtext":
        return [(_math_text(node), style)]
    return seq(kids)


def _grouped(runs: list[tuple[str, Style]]) -> list[tuple[str, Style]]:
    """Parentheses around a fraction's part or a root's radicand of more than one token."""
    text = "".join(t for t, _ in runs)
    if len(text) <= 1 or text.isalnum() or (text.startswith("(") and text.endswith(")")):
        return runs
    style = runs[0][1] if runs else Style.NONE
    return [("(", style), *runs, (")", style)]


# ---------------------------------------------------------------------------------------------
# Normalisation on (text, styles)


# Distinct code points whose verdict ``_INVISIBLE`` remembers: far more than any real text
# holds (a CJK abstract uses a few thousand), few enough (~1 MB) that hostile text cannot grow
# the table; past it a verdict is computed again each time, still in one pass.
_INVISIBLE_MEMO = 16_384
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


class _InvisibleTable(dict):
    """``str.translate`` table of ``_drop_invisible``: code point → ``None`` (drop) or itself.

    Filled on first sight of each code point from ``unicodedata.category``, so nothing is
    computed at import (a table of all 1.1 million code points costs ~0.4 s to build)."""

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        if char in "\n\t":
            verdict: int | None = code
        elif char == "\ufffd":
            verdict = None
        else:
            category = unicodedata.category(char)
            dropped = category in _DROPPED_CATEGORIES or (
                category == "Cf" and char not in "\u200d\u200c"
            )
            verdict = None if dropped else code
        if len(self) < _INVISIBLE_MEMO:
            self[code] = verdict
        return verdict


_INVISIBLE = _InvisibleTable()


def _drop_invisible(text: str) -> str:
    """Replacement characters, controls, private-use and format characters removed (newlines,
    tabs, ZWJ and ZWNJ kept). One ``str.translate`` pass in C over a table of the code points
    seen so far (``_InvisibleTable``)."""
    if "\ufffd" not in text and text.replace("\n", " ").replace("\t", " ").isprintable():
        return text  # the usual case, checked in C
    return text.translate(_INVISIBLE)


def _resolve_soft(
    texts: list[str], styles: list[Style], soft_ok: list[int]
) -> list[tuple[str, Style]]:
    """The parser's chunks with each soft break made a space or dropped.

    A soft break becomes a space only where it falls between two letters (``_LETTERS``) or,
    beside a formula (``_FORMULA``), between a letter and a letter or digit.
    """
    # the first character after each chunk, past soft marks (one backward pass)
    following = [""] * len(texts)
    nxt = ""
    for k in range(len(texts) - 1, -1, -1):
        following[k] = nxt
        if texts[k] != _SOFT:
            nxt = texts[k][:1]
    out: list[tuple[str, Style]] = []
    marks = 0
    for k, text in enumerate(texts):
        if text != _SOFT:
            out.append((text, styles[k]))
            continue
        kind = soft_ok[marks] if marks < len(soft_ok) else _NEVER
        marks += 1
        if kind == _NEVER:
            continue
        prev = next((t[-1] for t, _ in reversed(out) if t and t != " "), "")
        if out and out[-1][0] == " ":
            continue  # already a space
        nxt = following[k]
        if kind == _LETTERS:
            glued = prev.isalpha() and nxt.isalpha()
        else:
            glued = (prev.isalpha() and nxt.isalnum()) or (prev.isalnum() and nxt.isalpha())
        if glued:
            out.append((" ", Style.NONE))
    return out


def _normalise(chunks: list[tuple[str, Style]], multiline: bool) -> list[Run]:
    """Whitespace collapsed across runs, NFC per run, bracket spacing tidied, paragraphs kept
    (multiline) or made spaces."""
    # 1. per-run character clean-up
    cleaned: list[tuple[str, Style]] = []
    for text, style in chunks:
        # NFC first: it orders the marks, so that a dotless i's accent follows it directly
        text = unicodedata.normalize("NFC", _drop_invisible(text))
        if "\u0131" in text:
            text = unicodedata.normalize("NFC", _DOTLESS_I_MARK.sub(r"i\1", text))
        if text:
            cleaned.append((text, style))
    # 2. whitespace: runs of whitespace become one space, or a paragraph break when they hold
    # a blank line (multiline); leading and trailing whitespace dropped. Chunk by chunk with
    # regular expressions (no per-word objects: a 200 kB field stays a few strings).
    out: list[tuple[str, Style]] = []
    pending = ""  # "", " " or "\n\n": whitespace waiting for the next visible character

    def gap(space: str) -> str:
        return _PARA if multiline and space.count("\n") >= 2 else " "

    for text, style in cleaned:
        core = text.strip()
        if not core:
            pending = _PARA if _PARA in (pending, gap(text)) else " "
            continue
        lead = text[: len(text) - len(text.lstrip())]
        if lead:
            pending = _PARA if _PARA in (pending, gap(lead)) else " "
        if pending and out:
            out.append((pending, out[-1][1] & style if pending == " " else Style.NONE))
        if multiline:
            core = _PARA.join(_SPACES.sub(" ", p) for p in _BLANK_LINE.split(core))
        else:
            core = _SPACES.sub(" ", core)
        out.append((core, style))
        trail = text[len(text.rstrip()) :]
        pending = gap(trail) if trail else ""
    # NFC again on the merged runs: a combining mark may have come in a chunk of its own
    runs = [
        Run(unicodedata.normalize("NFC", r.text), r.style)
        for r in _merge(Run(t, s) for t, s in out)
    ]
    # 3. spaces just inside brackets and before punctuation ("( PIK3CA )" → "(PIK3CA)")
    runs = _tidy_brackets(runs)
    return runs


def _tidy_brackets(runs: list[Run]) -> list[Run]:
    flat = "".join(r.text for r in runs)
    if not any(ch in flat for ch in "([{)]},.;:!?"):
        return runs
    drop: set[int] = set()
    for pattern in _BRACKET_SPACE:
        for m in pattern.finditer(flat):
            drop.update(range(m.start(), m.end()))
    if not drop:
        return runs
    out: list[Run] = []
    pos = 0
    for run in runs:
        kept = "".join(ch for i, ch in enumerate(run.text, pos) if i not in drop)
        pos += len(run.text)
        out.append(Run(kept, run.style))
    return list(_merge(out))


def _parse_round(runs: list[Run], multiline: bool) -> list[Run]:
    chunks: list[tuple[str, Style]] = []
    for run in runs:
        text = run.text
        if _TAG.search(text):
            parser = _Parser(run.style)
            try:
                parser.feed(text)
                parser.close()
            except AssertionError:
                # html.parser asserts on some malformed declarations ("<![foo["): drop tags.
                chunks.append((html.unescape(_TAG.sub(" ", text)), run.style))
                continue
            if "".join(parser.text).replace(_SOFT, "") == text:
                # the parser kept tag-like text as text (after an unterminated "<!--")
                chunks.append((html.unescape(_TAG.sub(" ", text)), run.style))
                continue
            chunks.extend(_resolve_soft(parser.text, parser.styles, parser.soft_ok))
        elif _ENTITY.search(text):
            chunks.append((html.unescape(text), run.style))
        else:
            chunks.append((text, run.style))
    return _normalise(chunks, multiline)


def parse(raw: object, *, multiline: bool = False) -> RichText | None:
    """Untrusted upstream text (HTML, JATS, MathML, entities) → ``RichText``; ``None`` if empty.

    Entities are decoded, including the multiply escaped ``&amp;amp;lt;i&amp;amp;gt;`` some
    publishers deposit; replacement, control and private-use characters dropped; Unicode NFC;
    whitespace collapsed (paragraphs kept with ``multiline``). The result is a fixed point:
    parsing ``to_markup`` of it, or its own text, gives it back. Each round is linear in the
    text and the rounds are bounded, so the work is bounded whatever the input.
    """
    if raw is None:
        return None
    text = str(raw)[:MAX_TEXT_CHARS]
    if _PLAIN.fullmatch(text) and not (" " in text and _spaced_brackets(text)):
        return RichText((Run(text),))
    return _parse_rounds(text, multiline)


def _spaced_brackets(text: str) -> bool:
    return any(pattern.search(text) for pattern in _BRACKET_SPACE)


def _parse_rounds(text: str, multiline: bool) -> RichText | None:
    """``parse`` by its rounds (what the plain fast path is held to)."""
    runs = [Run(text)] if text else []
    for rounds in range(MAX_ROUNDS + _SETTLE_ROUNDS):
        new = _parse_round(runs, multiline)
        # Settled when nothing changed, or when no markup is left (the next round would only
        # normalise again, and normalising is idempotent).
        if new == runs or not any(_TAG.search(r.text) or _ENTITY.search(r.text) for r in new):
            flat = "".join(r.text for r in new)
            if len(new) < 2 or not (_TAG.search(flat) or _ENTITY.search(flat)):
                runs = new
                break
            # Markup split across runs ("<" + bold "b>…"): junk, not a publisher's styling;
            # read the text again as a whole, without its styles.
            new = [Run(flat)]
        if rounds >= MAX_ROUNDS:
            new = [Run(_MARKUP_CHARS.sub("", r.text), r.style) for r in new]
            new = _normalise([(r.text, r.style) for r in new], multiline)
        runs = new
    rich = RichText(_merge(runs))
    return rich or None


# ---------------------------------------------------------------------------------------------
# Marks: rich text carried through a formatter that knows only plain strings (citeproc-py)

# Private-use code points (never in parsed data: ``parse`` drops them, and so does
# bot.citeproc_py for CSL-JSON it is given). Styled text is wrapped in an open and a close mark;
# ``unmark`` turns them into the target's markup after formatting. Data marks come from the
# data (``mark``, ``read_csl``) and flip against what encloses them, as CSL processors do
# ("flip-flop": italics in an italic title become roman); style marks come from a citation
# style's own formatting and simply apply.
_MARKS = {
    Style.ITALIC: ("\ue020", "\ue021"),
    Style.BOLD: ("\ue022", "\ue023"),
    Style.SUP: ("\ue024", "\ue025"),
    Style.SUB: ("\ue026", "\ue027"),
    Style.SMALL_CAPS: ("\ue028", "\ue029"),
}
STYLE_ITALIC_OPEN, STYLE_ITALIC_CLOSE = "\ue02a", "\ue02b"
_OPEN, _CLOSE = "\ue02c", "\ue02d"  # italics starting or ending (markdown, before spacing)
# CSL-JSON's <span class="nocase"> (text-case leaves it alone) and <span class="nodecor">
# (font style, weight and variant reset to normal), from ``read_csl``.
NOCASE_OPEN, NOCASE_CLOSE = "\ue02e", "\ue02f"
NODECOR_OPEN, NODECOR_CLOSE = "\ue030", "\ue031"
_BOLD_ON, _BOLD_OFF = "\ue032", "\ue033"  # bold starting or ending (markdown, before spacing)
# Quotation marks, resolved to the locale's marks where their nesting is known (outer, inner
# alternate): OUTER/INNER say which marks a quotation takes when nothing encloses it.
QUOTE_OUTER_OPEN, QUOTE_OUTER_CLOSE = "\ue000", "\ue001"
QUOTE_INNER_OPEN, QUOTE_INNER_CLOSE = "\ue002", "\ue003"
# A citation style's formatting (CSL "Formatting" attributes): attribute, value.
STYLE_MARKS: dict[tuple[str, str], tuple[str, str]] = {
    ("font-style", "italic"): (STYLE_ITALIC_OPEN, STYLE_ITALIC_CLOSE),
    ("font-style", "oblique"): ("\ue034", "\ue035"),
    ("font-style", "normal"): ("\ue036", "\ue037"),
    ("font-weight", "bold"): ("\ue038", "\ue039"),
    ("font-weight", "normal"): ("\ue03a", "\ue03b"),
    ("font-weight", "light"): ("\ue03c", "\ue03d"),
    ("font-variant", "small-caps"): ("\ue03e", "\ue03f"),
    ("font-variant", "normal"): ("\ue040", "\ue041"),
    ("text-decoration", "underline"): ("\ue042", "\ue043"),
    ("text-decoration", "none"): ("\ue044", "\ue045"),
    ("vertical-align", "sup"): ("\ue046", "\ue047"),
    ("vertical-align", "sub"): ("\ue048", "\ue049"),
    ("vertical-align", "baseline"): ("\ue04a", "\ue04b"),
}
MARK_CHARS = re.compile("[\ue000-\ue004\ue020-\ue04f]")
_INLINE_MARK = re.compile("([\ue020-\ue02b\ue02e-\ue031\ue034-\ue04b])")
# a superscript or subscript run (data or style) holding no other mark
_SCRIPT_MARKED = re.compile(
    "([\ue024\ue026\ue046\ue048])([^\ue000-\ue004\ue020-\ue04f]*)[\ue025\ue027\ue047\ue049]"
)
_SUP_OPENERS = ("\ue024", "\ue046")
# data marks: opener → (attribute, value when nothing encloses it, flip-flop)
_DATA = {
    "\ue020": ("font-style", "italic", True),
    "\ue022": ("font-weight", "bold", True),
    "\ue024": ("vertical-align", "sup", False),
    "\ue026": ("vertical-align", "sub", False),
    "\ue028": ("font-variant", "small-caps", True),
}
_CLOSERS = {
    **{o: c for o, c in _MARKS.values()},
    **{o: c for o, c in STYLE_MARKS.values()},
    NOCASE_OPEN: NOCASE_CLOSE,
    NODECOR_OPEN: NODECOR_CLOSE,
}
_STYLE_OPENERS = {o: key for key, (o, _) in STYLE_MARKS.items()}
# citeproc-js's HTML for each decoration (CSL.Output.Formats.html); light has none
_HTML = {
    ("font-style", "italic"): ("<i>", "</i>"),
    ("font-style", "oblique"): ("<em>", "</em>"),
    ("font-style", "normal"): ('<span style="font-style:normal;">', "</span>"),
    ("font-weight", "bold"): ("<b>", "</b>"),
    ("font-weight", "normal"): ('<span style="font-weight:normal;">', "</span>"),
    ("font-variant", "small-caps"): ('<span style="font-variant:small-caps;">', "</span>"),
    ("font-variant", "normal"): ('<span style="font-variant:normal;">', "</span>"),
    ("text-decoration", "underline"): ('<span style="text-decoration:underline;">', "</span>"),
    ("text-decoration", "none"): ('<span style="text-decoration:none;">', "</span>"),
    ("vertical-align", "sup"): ("<sup>", "</sup>"),
    ("vertical-align", "sub"): ("<sub>", "</sub>"),
    ("vertical-align", "baseline"): ('<span style="baseline">', "</span>"),
}
_NORMAL = {"font-style": "normal", "font-weight": "normal", "font-variant": "normal"}
_FLIP = {"font-style": "italic", "font-weight": "bold", "font-variant": "small-caps"}


def mark(rich: RichText) -> str:
    """The text with each styled run wrapped in marks (labels count as bold)."""
    out = []
    for run in _label_runs(rich.runs):
        text = run.text
        style = run.style | (Style.BOLD if run.style & Style.LABEL else Style.NONE)
        for flag in (Style.SMALL_CAPS, Style.SUB, Style.SUP, Style.BOLD, Style.ITALIC):
            if style & flag:
                text = _MARKS[flag][0] + text + _MARKS[flag][1]
        out.append(text)
    return "".join(out)


def unmark(text: str, target: str) -> str:
    """Marks → ``target`` markup: ``text`` (Unicode super/subscripts, no styling),
    ``markdown`` (``*``/``**``) or ``html`` (citeproc-js's tags: ``<i>``, ``<b>``, ``<sup>``,
    small-caps spans; a data style inside the same style flips to ``…:normal`` spans).

    Quote marks are left for the caller (their glyphs depend on the locale)."""
    if not _INLINE_MARK.search(text):
        return text
    if target != "html":
        text = _SCRIPT_MARKED.sub(
            lambda m: (
                _script(m.group(2), _SUPERSCRIPTS, "^")
                if m.group(1) in _SUP_OPENERS
                else _script(m.group(2), _SUBSCRIPTS, "_")
            ),
            text,
        )
    if target == "text":
        return _INLINE_MARK.sub("", text)
    out: list[str] = []
    # open marks: (closing mark, decorations it set: attribute → value, HTML closers)
    stack: list[tuple[str, dict[str, str], list[str]]] = []
    shown = {"font-style": "normal", "font-weight": "normal"}  # markdown state
    order: list[str] = []  # markdown emphasis in the order it opened

    def current(attr: str) -> str:
        for _, decor, _ in reversed(stack):
            if attr in decor:
                return decor[attr]
        return "normal" if attr in _NORMAL else ""

    for token in _INLINE_MARK.split(text):
        if not token:
            continue
        if token in _CLOSERS or token in _STYLE_OPENERS:
            decor: dict[str, str] = {}
            if token in _DATA:
                attr, value, flips = _DATA[token]
                if flips and current(attr) == value:
                    value = "normal"
                decor[attr] = value
            elif token == NODECOR_OPEN:
                decor = {a: "normal" for a in _NORMAL if current(a) not in ("normal", "")}
            elif token in _STYLE_OPENERS:
                attr, value = _STYLE_OPENERS[token]
                # a style's "normal" applies only where something sets that attribute
                if value != "normal" or current(attr) not in ("normal", ""):
                    decor[attr] = value
            closers = []
            if target == "html":
                for key in decor.items():
                    if key in _HTML:
                        out.append(_HTML[key][0])
                        closers.append(_HTML[key][1])
            stack.append((_CLOSERS[token], decor, closers))
        elif stack and any(token == entry[0] for entry in stack):
            while stack:
                closer, _, closers = stack.pop()
                if target == "html":
                    out.extend(reversed(closers))
                if closer == token:
                    break
        elif token in _CLOSERS.values():
            continue  # a close mark without its opener
        else:
            out.append(token)
            continue
        if target == "markdown":
            _markdown_transitions(out, shown, order, current)
    if target == "html":
        for _, _, closers in reversed(stack):
            out.extend(reversed(closers))
        return "".join(out)
    stack.clear()
    _markdown_transitions(out, shown, order, current)
    return _markdown_emphasis(out)


def _markdown_transitions(out: list[str], shown: dict, order: list[str], current) -> None:
    """Append the emphasis changes between what is shown and what the stack now says."""
    want = {
        "font-style": "italic" if current("font-style") in ("italic", "oblique") else "normal",
        "font-weight": "bold" if current("font-weight") == "bold" else "normal",
    }
    for attr in reversed(list(order)):  # close, innermost first
        if want[attr] == "normal":
            out.append(_CLOSE if attr == "font-style" else _BOLD_OFF)
            order.remove(attr)
            shown[attr] = "normal"
    for attr in ("font-weight", "font-style"):  # open: bold outside italics
        if want[attr] != "normal" and shown[attr] == "normal":
            out.append(_OPEN if attr == "font-style" else _BOLD_ON)
            order.append(attr)
            shown[attr] = want[attr]


def _markdown_emphasis(pieces: list[str]) -> str:
    """``*``/``**`` for each italic/bold start and end, moved past the spaces beside it:
    Discord reads ``*a *`` as no emphasis (a closing ``*`` after a space does not close)."""
    text = "".join(pieces)
    for on, off in ((_OPEN, _CLOSE), (_BOLD_ON, _BOLD_OFF)):
        text = re.sub(f"(\\s+){off}", f"{off}\\1", text)
        text = re.sub(f"{on}(\\s+)", f"\\1{on}", text)
        text = re.sub(f"{on}{off}|{off}{on}", "", text)  # nothing between: no emphasis
    return (
        text.replace(_OPEN, "*")
        .replace(_CLOSE, "*")
        .replace(_BOLD_ON, "**")
        .replace(_BOLD_OFF, "**")
    )


# ---------------------------------------------------------------------------------------------
# CSL-JSON rich text: citeproc-js's reading of a field's markup and quotation marks

# citeproc-js CSL.ROMANESQUE_REGEXP: letters between which ’ is an apostrophe
_ROMANESQUE = (
    "-0-9a-zA-Z\u0e01-\u0e5b\u00c0-\u017f\u0370-\u03ff\u0400-\u052f\u0590-\u05d4\u05d6-\u05ff"
    "\u1f00-\u1fff\u0600-\u06ff\u200c\u200d\u200e\u0218\u0219\u021a\u021b\u202a-\u202e"
)
_APOSTROPHE = re.compile(f"([{_ROMANESQUE}])\u2019([{_ROMANESQUE}])")
_SMALL_CAPS_SPAN = re.compile(r'(<span)\s+(style="font-variant:)\s*(small-caps);?"[^>]*(>)')
_CLASS_SPAN = re.compile(r'(<span)\s+(class="no(?:case|decor)")[^>]*(>)')
# (kind, closer, value when not nested) for each opener, in citeproc-js's order
_CSL_OPENERS: dict[str, tuple[str, str, str]] = {
    '<span class="nocase">': ("nocase", "</span>", ""),
    '<span class="nodecor">': ("nodecor", "</span>", ""),
    '<span style="font-variant:small-caps;">': ("sc", "</span>", ""),
    "<sc>": ("sc", "</sc>", ""),
    "<i>": ("i", "</i>", ""),
    "<b>": ("b", "</b>", ""),
    "<sup>": ("sup", "</sup>", ""),
    "<sub>": ("sub", "</sub>", ""),
    ' "': ("quote", '"', "outer"),
    " '": ("quote", "'", "inner"),
    '("': ("quote", '"', "outer"),
    "('": ("quote", "'", "inner"),
}
_CSL_MARKS = {
    "nocase": (NOCASE_OPEN, NOCASE_CLOSE),
    "nodecor": (NODECOR_OPEN, NODECOR_CLOSE),
    "sc": _MARKS[Style.SMALL_CAPS],
    "i": _MARKS[Style.ITALIC],
    "b": _MARKS[Style.BOLD],
    "sup": _MARKS[Style.SUP],
    "sub": _MARKS[Style.SUB],
}
_STRAIGHT = (' "', " '", '"', "'")


class CslReader:
    """Reads CSL-JSON rich text the way citeproc-js does (``CSL.Util.FlipFlopper``).

    A field may hold ``<i>``, ``<b>``, ``<sup>``, ``<sub>``, ``<sc>``, small-caps spans,
    ``<span class="nocase">`` and ``<span class="nodecor">``, and quotation marks: straight
    ones (the first kind seen in a field is the outer quotation) and the locale's own. Pairs
    become marks; a tag or quote without its partner stays literal text, an unpaired ``'`` an
    apostrophe (’). One reader per locale (the locale's quotes are markup too).
    """

    def __init__(self, quotes: tuple[str, str, str, str] = ("“", "”", "‘", "’")) -> None:
        self.openers = dict(_CSL_OPENERS)
        open_q, close_q, open_inner, close_inner = quotes
        if open_q and close_q and open_q not in _STRAIGHT:
            self.openers[open_q] = ("quote", close_q, "outer")
        if open_inner and close_inner and open_inner not in _STRAIGHT:
            self.openers[open_inner] = ("quote", close_inner, "inner")
        closers = list(dict.fromkeys(closer for _, closer, _ in self.openers.values()))
        self.closers = set(closers)
        alternatives = "|".join(re.escape(t) for t in [*self.openers, *closers])
        self.tags = re.compile(f"({alternatives})")

    def __call__(self, text: str, escape: Callable[[str], str] | None = None) -> str:
        """``text`` with its markup and quotation marks as marks; ``escape`` is applied to the
        text between them."""
        esc = escape or (lambda s: s)
        if not text:
            return text
        leading_space = text.startswith(" ") and not re.match(r"^\s+['\"]", text)
        work = " " + _APOSTROPHE.sub("\\1'\\2", text)
        work = _CLASS_SPAN.sub(r"\1 \2\3", _SMALL_CAPS_SPAN.sub(r'\1 \2\3;"\4', work))
        parts = self.tags.split(work)
        strings, tags = parts[0::2], parts[1::2]
        if not tags:
            return esc(text)
        forced: list[bool] = []
        for i in range(len(tags) - 1):
            if tags[i] in self.openers:
                if strings[i + 1] == "" and tags[i + 1] in ('"', "'"):
                    tags[i + 1] = " " + tags[i + 1]
                    forced.append(True)
                else:
                    forced.append(False)
        self._pair(strings, tags, forced)
        # neutralised tags dropped, their strings merged
        for i in range(len(tags) - 1, -1, -1):
            if not tags[i]:
                strings[i : i + 2] = [strings[i] + strings[i + 1]]
                del tags[i]
        # the first straight quotation mark seen is the outer one; openers give back what
        # they took from the string before them (" " or "(")
        values = {' "': "outer", " '": "inner"}
        seen = False
        for i, tag in enumerate(tags):
            if tag in (' "', " '", '("', "('"):
                if not seen:
                    straight = tag[1]
                    values = {
                        straight: "outer",
                        "'" if straight == '"' else '"': "inner",
                    }
                    seen = True
                if not (forced[i - 1] if 0 <= i - 1 < len(forced) else False):
                    strings[i] += tag[0]
        out: list[str] = []
        first = strings[0]
        if leading_space:
            first = " " + first
        for _ in range(2):
            if first.startswith(" "):
                first = first[1:]
        out.append(esc(first))
        stack: list[str] = []
        for i, tag in enumerate(tags):
            if tag in self.openers:
                kind, _, value = self.openers[tag]
                if kind == "quote":
                    if tag[-1] in "\"'":
                        value = values.get(tag[-1], value)
                    close = QUOTE_OUTER_CLOSE if value == "outer" else QUOTE_INNER_CLOSE
                    out.append(QUOTE_OUTER_OPEN if value == "outer" else QUOTE_INNER_OPEN)
                    stack.append(close)
                else:
                    out.append(_CSL_MARKS[kind][0])
                    stack.append(_CSL_MARKS[kind][1])
            elif stack:
                out.append(stack.pop())
            out.append(esc(strings[i + 1]))
        out.extend(reversed(stack))
        return "".join(out)

    def _pair(self, strings: list[str], tags: list[str], forced: list[bool]) -> None:
        """Match openers with closers (citeproc-js's nesting state); what does not pair is
        made literal text, in place (``tags[i] = ""``)."""
        nesting: list[tuple[str, str, int]] = []  # (kind, closer, position)
        for i, tag in enumerate(list(tags)):
            tag = tags[i]
            after = strings[i + 1]
            if tag == "'" and after and not re.match(r"[,.?:; ]", after[0]):
                strings[i + 1] = "\u2019" + after
                tags[i] = ""
                continue
            if tag == " '" and after and after[0] == " ":
                strings[i + 1] = " \u2019" + after
                tags[i] = ""
                continue
            info: dict | None = None
            while True:
                info = self._push(nesting, tag, i)
                if info is None:
                    break
                if "fixtag" in info:
                    if tag in self.closers and tag == "'":
                        strings[i + 1] = "\u2019" + strings[i + 1]
                        tags[i] = ""
                    else:
                        fix = info["fixtag"]
                        failed = tags[fix]
                        if 0 <= fix - 1 < len(forced) and forced[fix - 1]:
                            failed = failed[1:]
                        strings[fix + 1] = failed + strings[fix + 1]
                        tags[fix] = ""
                    if nesting and tag != "'":
                        nesting.pop()
                        continue
                    break
                if "nocase" in info:
                    break
                break
            if info and "fixtag" in info:
                strings[i + 1] = tags[i] + strings[i + 1]
                tags[i] = ""
        for _, _, pos in reversed(nesting):  # openers never closed
            if tags[pos] in (" '", "'"):
                strings[pos + 1] = " \u2019" + strings[pos + 1]
            else:
                strings[pos + 1] = tags[pos] + strings[pos + 1]
            tags[pos] = ""

    def _push(self, nesting: list, tag: str, pos: int) -> dict | None:
        if tag in self.openers:
            kind, closer, _ = self.openers[tag]
            nesting.append((kind, closer, pos))
            return None
        if nesting and tag == nesting[-1][1]:
            nesting.pop()
            return None
        return {"fixtag": nesting[-1][2] if nesting else pos}


@functools.lru_cache(maxsize=64)
def csl_reader(quotes: tuple[str, str, str, str] = ("“", "”", "‘", "’")) -> CslReader:
    """The reader for a locale's quotation marks (open, close, open inner, close inner)."""
    return CslReader(quotes)


def read_csl(
    text: str,
    quotes: tuple[str, str, str, str] = ("“", "”", "‘", "’"),
    escape: Callable[[str], str] | None = None,
) -> str:
    """A CSL-JSON field → marked text (see ``CslReader``)."""
    return csl_reader(quotes)(text, escape)


def strip_csl(text: str) -> str:
    """A CSL-JSON field without its markup tags (sort keys)."""
    return _CSL_TAG.sub("", text)


_CSL_TAG = re.compile(
    r'<span\s+class="no(?:case|decor)"[^>]*>|<span\s+style="font-variant:\s*small-caps;?"[^>]*>'
    r"|</span>|</?(?:i|b|sc|sup|sub)>"
)
