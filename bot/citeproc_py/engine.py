"""The engine: a parsed CSL style, its lock, and CSL-JSON items → bibliography entries.

``load(path)`` parses a style (bundled or any .csl file) once and caches it; ``render`` formats
a list of CSL-JSON items as ONE bibliography (sorted, numbered and disambiguated together) in
``text``, ``markdown`` or ``html`` (citeproc-js's HTML: ``<i>``, ``<b>``, ``csl-left-margin``
divs…). citeproc-py renders with the corrections of ``bot.citeproc_py.corrections``; rich text
and formatting travel through it as private-use marks (``bot.richtext``) and become the output's
markup at the end, where punctuation is also finished the way citeproc-js finishes it.

citeproc-py keeps rendering state on the parsed style, so each engine is used under its own
lock; the work is CPU-bound (≈2.5 ms per APA entry) and bounded by the input's size.
"""

from __future__ import annotations

import functools
import html
import io
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from citeproc import (
    DATES,
    NAMES,
    VARIABLES,
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
)
from citeproc.source import BibliographySource, Reference, VariableError
from citeproc.source.json import CiteProcJSON

from bot import richtext
from bot.citeproc_py import corrections

corrections.apply()  # before the variable lists below are read

from bot.citeproc_py import disambiguation  # noqa: E402
from bot.citeproc_py.corrections import DISPLAY, PREFIX_MARK  # noqa: E402
from bot.citeproc_py.names import parse_name  # noqa: E402
from bot.citeproc_py.state import STATE  # noqa: E402

Markup = Literal["text", "markdown", "html"]

MAX_ITEMS = 10_000  # a bibliography larger than any reference list; keeps the work bounded
# What citeproc-js prints for an entry that renders to nothing.
NO_PRINTED_FORM = "[CSL STYLE ERROR: reference with no printed form.]"
_PRIVATE = re.compile("[\ue000-\uf8ff]")
_KNOWN = {v.replace("_", "-") for v in VARIABLES} | {"title-short", "container-title-short"}
_DATES = {v.replace("_", "-") for v in DATES}
_NAME_VARIABLES = {v.replace("_", "-") for v in NAMES}


class StyleError(ValueError):
    """The style cannot be used (not CSL, or it has no bibliography)."""


@dataclass(slots=True)
class Engine:
    """A parsed style and what rendering needs to know about it; use it under ``lock``."""

    style: CitationStylesStyle
    elements: list[Any]  # every element of the style and its locales, kept alive (memoisation)
    lock: threading.Lock
    punctuation_in_quote: bool
    quotes: tuple[str, str, str, str]  # open, close, open-inner, close-inner
    locale: str
    options: disambiguation.Options = field(default_factory=disambiguation.Options)


@functools.lru_cache(maxsize=32)
def _load(path: str, locale: str | None, mtime: float) -> Engine:
    return _engine(CitationStylesStyle(path, locale=locale, validate=False), locale)


def load(path: str | os.PathLike[str], locale: str | None = None) -> Engine:
    """The engine for a .csl file (cached per path, locale and modification time)."""
    path = os.fspath(path)
    try:
        mtime = os.stat(path).st_mtime
    except OSError as error:
        raise StyleError(f"cannot read {path}: {error.strerror}") from error
    try:
        return _load(path, locale, mtime)
    except StyleError:
        raise
    except Exception as error:  # lxml.etree.XMLSyntaxError, KeyError in a broken style
        raise StyleError(f"{path} is not a usable CSL style ({error})") from error


def from_xml(xml: str | bytes, locale: str | None = None) -> Engine:
    """An engine for a style given as XML (not cached: the CSL test suite's inline styles)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        return _engine(CitationStylesStyle(io.BytesIO(data), locale=locale, validate=False), locale)
    except StyleError:
        raise
    except Exception as error:
        raise StyleError(f"not a usable CSL style ({error})") from error


def _engine(style: CitationStylesStyle, locale: str | None) -> Engine:
    root = style.root
    if root.find("cs:bibliography", root.nsmap) is None:
        raise StyleError("the style has no bibliography")
    root.formatter = _Marks  # (terms are looked up through the formatter)
    piq = str(root.get_locale_option("punctuation-in-quote") or "").lower() == "true"
    quotes = tuple(
        str(root.get_single_term(name) or "") or default
        for name, default in (
            ("open-quote", "“"),
            ("close-quote", "”"),
            ("open-inner-quote", "‘"),
            ("close-inner-quote", "’"),
        )
    )
    # lxml keeps one Python proxy per node only while it is referenced; holding them all lets
    # the memoised XPath results (stored on the proxies) survive between renders.
    elements = [el for tree in (root, *root.locales) for el in tree.iter()]
    lang = locale or root.get("default-locale") or "en-US"
    return Engine(
        style,
        elements,
        threading.Lock(),
        piq,
        quotes,  # type: ignore[arg-type]
        lang,
        disambiguation.Options.of(root),
    )


class _Marks:
    """citeproc-py's formatter: formatting is marks (corrections "Formatting"), text as is."""

    @staticmethod
    def preformat(text: Any) -> str:
        return str(text)


class _Name(dict):
    """A parsed CSL-JSON name, as citeproc-py's sort keys read it."""

    def parts(self) -> tuple[Any, ...]:
        if "literal" in self:
            return (None, self["literal"], None, None, None)
        return (
            self.get("given"),
            self.get("family"),
            self.get("dropping-particle"),
            self.get("non-dropping-particle"),
            self.get("suffix"),
        )


class _Source(BibliographySource):
    pass


class _Reference(Reference):
    """A reference whose variables answer to their CSL names too: citeproc-py looks up name
    variables as written in the style ("container-author"), but stores "container_author",
    so hyphenated name variables never rendered."""

    def _key(self, key: Any) -> Any:
        return key.replace("-", "_") if isinstance(key, str) else key

    # Straight to the dict (a reference is read a few hundred times per entry): what
    # citeproc-py's CustomDict does through three calls, a missing key a VariableError.
    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self._key(key))

    def __getitem__(self, key: Any) -> Any:
        try:
            return dict.__getitem__(self, self._key(key))
        except KeyError:
            raise VariableError from None

    def __getattr__(self, name: str) -> Any:  # (attribute names have no "-")
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            raise VariableError from None

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self._key(key), default)


_DATE_PARSER = CiteProcJSON.__new__(CiteProcJSON)


_NOTE_FIELD = re.compile(r"^\s*([a-z][-a-z]*):\s*(.*)$")
_ISO_DATE = re.compile(r"^(-?\d{1,4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


def note_fields(item: dict[str, Any]) -> dict[str, Any]:
    """Variables carried in ``note`` as "name: value" lines (the convention Zotero and
    citeproc-js share for variables a reference manager lacks): set when the item has none,
    dates as "2020-05-01", names as "Family || Given"."""
    note = item.get("note")
    if not isinstance(note, str) or ":" not in note:
        return item
    item = dict(item)
    lines = note.split("\n")
    names: dict[str, list[dict[str, str]]] = {}
    for i, line in enumerate(lines):
        m = _NOTE_FIELD.match(line)
        if not line.strip():
            continue
        if not m:
            if i == 0:
                continue
            break
        key, value = m.group(1), m.group(2).strip()
        if key in _DATES:
            if key not in item and (d := _ISO_DATE.match(value)):
                item[key] = {"date-parts": [[int(p) for p in d.groups() if p]]}
            lines[i] = ""
        elif key in _NAME_VARIABLES and key not in item:
            parts = re.split(r"\s*\|\|\s*", value)
            name = (
                {"literal": parts[0]}
                if len(parts) == 1
                else {"family": parts[0], "given": parts[1]}
            )
            names.setdefault(key, []).append(name)
            lines[i] = ""
        elif key in _KNOWN and key not in item:
            item[key] = value
            lines[i] = ""
    item.update(names)
    rest = "\n".join(lines).strip()
    if rest:
        item["note"] = rest
    else:
        item.pop("note", None)
    return item


def _references(key: str, item: dict[str, Any]) -> tuple[Reference, Reference]:
    """The item as citeproc-py reads it, twice: for sorting (rich text stripped) and for
    rendering; names are parsed once for both."""
    data: dict[str, Any] = {}
    sort_data: dict[str, Any] = {}
    item = note_fields(item)
    for name, value in item.items():
        if name in ("id", "type") or value is None or value == "":
            continue
        if name == "shortTitle":
            name = "title-short"
        elif name == "journalAbbreviation":
            name = "container-title-short"
            if "container-title-short" in item:
                continue
        name = name.replace("_", "-") if name.replace("_", "-") in _KNOWN else name
        if name not in _KNOWN:
            continue
        stored = name.replace("-", "_")
        if name in _NAME_VARIABLES:
            if isinstance(value, list):
                parsed = [parse_name(n) for n in value if isinstance(n, dict)]
                parsed = [n for n in parsed if n]
                if parsed:
                    sort_data[stored] = [_Name(n) for n in parsed]
                    data[stored] = [_Name(n) for n in parsed]
            continue
        if name in _DATES:
            if isinstance(value, dict):
                for target in (sort_data, data):
                    try:
                        date = _DATE_PARSER.parse_date(value)
                    except (TypeError, ValueError, KeyError, IndexError):
                        date = None
                    if date is not None:
                        target[stored] = date
            continue
        text = _PRIVATE.sub("", str(value))
        data[stored] = text
        sort_data[stored] = text if name in corrections.VERBATIM else richtext.strip_csl(text)
    kind = str(item.get("type") or "")
    return _Reference(key, kind, **sort_data), _Reference(key, kind, **data)


def render(
    engine: Engine,
    items: Sequence[dict[str, Any]],
    markup: Markup = "text",
    *,
    escape: Callable[[str], str] | None = None,
    verbatim: Callable[[str, str], str] | None = None,
) -> list[tuple[int, str | None]]:
    """``items`` as one bibliography: (index in ``items``, entry) in the style's order.

    An entry is ``None`` when the item renders to nothing. ``escape`` makes data inert for
    ``markdown`` (the Markdown formatter marks only the style's own emphasis); ``html`` output
    is escaped as citeproc-js escapes it (``&#38;``). ``verbatim(variable, value)`` gives the
    text of DOI, URL, ISBN… (never rich text) instead of ``escape(value)``.
    """
    if not items:
        return []
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} items in one bibliography")
    keys = [f"i{i}" for i in range(len(items))]
    sort_source, render_source = _Source(), _Source()
    for key, item in zip(keys, items, strict=True):
        sorting, rendering = _references(key, item)
        sort_source.add(sorting)
        render_source.add(rendering)
    reader = _Memoised(richtext.csl_reader(engine.quotes))
    data_escape = escape if markup == "markdown" and escape else None
    with engine.lock:
        style = engine.style
        STATE.locale = engine.locale
        STATE.read = reader
        STATE.escape = _identity
        STATE.configs = None
        STATE.request = None
        try:
            bib = CitationStylesBibliography(style, sort_source, _Marks)
            bib.register(Citation([CitationItem(k) for k in keys]))
            bib.sort()
            bib.source = render_source
            for cite in bib.items:
                dict.pop(cite, "_reference", None)
                cite.__dict__.pop("reference", None)  # (see corrections._Reference)
            STATE.read = (
                reader
                if data_escape is None
                else _Memoised(functools.partial(reader.read, escape=data_escape))
            )
            STATE.escape = data_escape or _identity
            STATE.verbatim = verbatim
            configs = disambiguation.run(engine, bib)
            STATE.configs = configs
            STATE.area = "bibliography"
            STATE.add_names = engine.options.add_names
            STATE.add_givenname = engine.options.add_givenname
            rendered = style.root.bibliography.layout.render_bibliography(bib.items)
        finally:
            STATE.read = STATE.escape = _identity
            STATE.verbatim = STATE.configs = STATE.request = None
            STATE.area = "bibliography"
    out = []
    for item, text in rendered:
        index = int(item.key[1:])
        out.append((index, finish(str(text), engine, markup) if text is not None else None))
    return out


def _identity(text: str) -> str:
    return text


class _Memoised:
    """A data reader (``richtext.CslReader``: pure) that reads each text once per render: the
    same names and fields are read for sort keys, citations and the bibliography."""

    __slots__ = ("cache", "read")

    def __init__(self, read: Callable[..., str]) -> None:
        self.read = read
        self.cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self.cache.get(text)
        if found is None:
            found = self.cache[text] = self.read(text)
        return found


# ---------------------------------------------------------------------------------------------
# Finishing: punctuation, quotes, display, markup

_OPENERS = {richtext.QUOTE_OUTER_OPEN: "outer", richtext.QUOTE_INNER_OPEN: "inner"}
_QUOTE_CLOSERS = {richtext.QUOTE_OUTER_CLOSE, richtext.QUOTE_INNER_CLOSE}
_QUOTE_MARKS = re.compile("[\ue000-\ue003]")
# every mark that closes formatting (data, style, display)
_CLOSE_MARKS = "".join(
    sorted(
        {c for _, c in richtext._MARKS.values()}
        | {c for _, c in richtext.STYLE_MARKS.values()}
        | {richtext.NOCASE_CLOSE, richtext.NODECOR_CLOSE}
        | {c for _, c in DISPLAY.values()}
    )
)
_CLOSING = f"[{_CLOSE_MARKS}]"
# citeproc-js's punctuation merging (CSL.Output.Queue.adjust): pairs that collapse into one
# mark where two pieces of output meet ("Different?" + "." → "Different?").
_PUNCT_MERGE = {"!.": "!", "!:": "!", "?.": "?", "?:": "?", ";.": ";"}
_MERGE = re.compile(f"([!?;])((?:[\ue001\ue003]|{_CLOSING})*)([.:])")
_URL = re.compile(r"https?://[^\s\ue000-\ue00f]+")
# a mark repeated across closing formatting (citeproc-py dedupes only adjacent marks)
_DOUBLED = re.compile(f"([.,;:!?])({_CLOSING}+)\\1")
# closing quotes (and formatting closing with them), then a period or comma not opening a prefix
_PIQ = re.compile(f"([\ue001\ue003]+)({_CLOSING}*)([.,])(?!{PREFIX_MARK})")
_HTML_DISPLAY = {
    "block": ('\n\n    <div class="csl-block">', "</div>\n"),
    "left-margin": ('\n    <div class="csl-left-margin">', "</div>"),
    "right-inline": ('<div class="csl-right-inline">', "</div>\n  "),
    "indent": ('<div class="csl-indent">', "</div>\n  "),
}


def finish(text: str, engine: Engine, markup: Markup) -> str:
    """A rendered entry finished the way citeproc-js finishes it, in ``markup``."""
    if markup != "html":  # one line: the data's own spaces stay, as in citeproc-js
        text = _LINES.sub(" ", text).strip()
    if engine.punctuation_in_quote:  # American style: “Title.” not “Title”.
        text = _PIQ.sub(_into_quote, text)
    text = text.replace(PREFIX_MARK, "")
    text = _DOUBLED.sub(r"\1\2", text)  # "*et al.*." → "*et al.*", as in plain text
    text = merge_punctuation(text)
    text = resolve_quotes(text, engine.quotes)
    if markup == "html":
        text = html.escape(text, quote=False).replace("&amp;", "&#38;")
        text = text.replace("&lt;", "&#60;").replace("&gt;", "&#62;")
        text = _SUPERSCRIPT.sub(lambda m: f"<sup>{_SUPERSCRIPTS[m.group(0)]}</sup>", text)
    text = _DISPLAY_SUFFIX.sub(r"\2\1", text)  # a layout suffix closes inside the last div
    text = richtext.unmark(text, markup)
    text = _display(text, markup)
    return text.strip() if markup != "html" else text


_DISPLAY_SUFFIX = re.compile(f"([{DISPLAY['right-inline'][1]}{DISPLAY['indent'][1]}])([.,;:!?]+)$")


# citeproc-js's HTML writes superscript characters as <sup> (CSL.SUPERSCRIPTS): ™ → <sup>TM</sup>
_SUPERSCRIPTS = {
    **dict(
        zip(
            "ª²³¹ºʰʱʲʳʴʵʶʷʸˠˡˢˣˤᴬᴭᴮᴰᴱᴲᴳᴴᴵᴶᴷᴸᴹᴺᴼᴽᴾᴿᵀᵁᵂᵃᵄᵅᵆᵇᵈᵉᵊᵋᵌᵍᵏᵐᵑᵒᵓᵔᵕᵖᵗᵘᵙᵚᵛᵜᵝᵞᵟᵠᵡ⁰ⁱ⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ㆒㆓㆔㆕㆖㆗㆘㆙㆚㆛㆜㆝㆞㆟ˀˁۥۦ",
            "a231ohɦjrɹɻʁwyɣlsxʕAÆBDEƎGHIJKLMNOȢPRTUWaɐɑᴂbdeəɛɜgkmŋoɔᴖᴗptuᴝɯvᴥβγδφχ0i456789+−=()n一二三四上中下甲乙丙丁天地人ʔʕوي",
            strict=True,
        )
    ),
    "\u2120": "SM",
    "\u2122": "TM",
}
_SUPERSCRIPT = re.compile("[" + "".join(_SUPERSCRIPTS) + "]")


def _into_quote(m: re.Match[str]) -> str:
    quotes, closing, mark = m.group(1), m.group(2), m.group(3)
    before = m.string[m.start() - 1] if m.start() else ""
    if mark == "." and before in ".!?":  # “…PET.” not “…PET..”
        return quotes + closing
    return mark + quotes + closing


def _display(text: str, markup: Markup) -> str:
    """Display marks → citeproc-js's divs (HTML), or one line: a margin, a block or an indent
    is set apart by one space (litbot's text and Markdown; citeproc-js's text output uses
    newlines and may double the space after a citation number)."""
    if markup == "html":
        for kind, (open_, close) in DISPLAY.items():
            if open_ in text:
                text = text.replace(open_, _HTML_DISPLAY[kind][0])
                text = text.replace(close, _HTML_DISPLAY[kind][1])
        return text

    def apart(m: re.Match[str]) -> str:
        marks = m.group(2)
        if DISPLAY["left-margin"][1] in marks:  # one space after the margin; the entry's own
            return " " + m.group(3)  # leading spaces stay, as in citeproc-js ("[26]  v p")
        if any(ch in marks for ch in _APART):
            return " "
        return " " if m.group(1) or m.group(3) else ""

    return _DISPLAY_RUN.sub(apart, text)


_DISPLAY_RUN = re.compile("( *)([\ue008-\ue00f]+)( *)")
# a left margin ends, a block or an indent starts or ends: a space between
_APART = {
    DISPLAY["left-margin"][1],
    *DISPLAY["block"],
    *DISPLAY["indent"],
}
_LINES = re.compile(r"[\t\r\n]+")


def merge_punctuation(text: str) -> str:
    """Pairs of marks that citeproc-js merges, outside URLs."""

    def merge(m: re.Match[str]) -> str:
        pair = m.group(1) + m.group(3)
        if pair in _PUNCT_MERGE:
            return _PUNCT_MERGE[pair] + m.group(2)
        return m.group(0)

    pieces = []
    last = 0
    for url in _URL.finditer(text):
        pieces.append(_MERGE.sub(merge, text[last : url.start()]))
        pieces.append(url.group(0))
        last = url.end()
    pieces.append(_MERGE.sub(merge, text[last:]))
    return "".join(pieces)


def resolve_quotes(text: str, marks: tuple[str, str, str, str]) -> str:
    """Quote marks → the locale's glyphs, outer and inner alternating as quotes nest."""
    if not _QUOTE_MARKS.search(text):
        return text
    out: list[str] = []
    stack: list[str] = []
    for ch in text:
        if ch in _OPENERS:
            kind = _OPENERS[ch]
            if stack:
                kind = "inner" if stack[-1] == "outer" else "outer"
            stack.append(kind)
            out.append(marks[0] if kind == "outer" else marks[2])
        elif ch in _QUOTE_CLOSERS:
            kind = stack.pop() if stack else "outer"
            out.append(marks[1] if kind == "outer" else marks[3])
        else:
            out.append(ch)
    return "".join(out)
