"""CSL 1.0.2 §Number, §Range Delimiters and Appendix V (Page Range Formats), as citeproc-js
reads number variables (``CSL.Engine.prototype.processNumber``, ``CSL.Util.PageRangeMangler``).

A number variable holds numbers joined by ranges ("4-6"), lists ("2, 4") or "&". A range of
two plain numbers gets the locale's range delimiter (an en dash) in ``page``, ``locator``,
``issue``, ``volume``, ``edition`` and ``number`` (citeproc-py did this for pages only), and a
page range is shortened by the style's ``page-range-format``. A range citeproc-js cannot read
as numbers ("1308-1309.e1", "604.4-604") is printed as typed; a label is plural only when the
value holds several numbers ("pp. 1308-1309.e1" but "p. 604.4-604", as citeproc-js decides).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

RANGE_VARIABLES = frozenset({"page", "locator", "issue", "volume", "edition", "number"})
_JOINERS = re.compile(r"(\s*&\s*|,\s+and\s+|\s+and\s+|;\s+|,\s+|\s*\\*[-\u2013]+\s*)")
_NUMERIC = re.compile(r"^([0-9]*[a-zA-Z]+0*)?([0-9]+(?:[a-zA-Z]*|[-,a-zA-Z]+))$")
_PLAIN = re.compile(r"^([0-9]+|[ivxlcmIVXLCM]+)$")
_MASTER = re.compile(r"^(?:[0-9]+|[ixv]+)([-,:a-zA-Z]*|-[-0-9]+)$")
_PAGE = re.compile(r"([0-9]*[a-zA-Z]+0*)?([0-9]+)")


@dataclass
class Value:
    """One number of a number variable, with the joiner that follows it."""

    text: str
    joiner: str = ""

    @property
    def particle(self) -> str:
        m = _NUMERIC.match(self.text)
        return (m.group(1) or "") if m else ""

    @property
    def number(self) -> str:
        m = _NUMERIC.match(self.text)
        return m.group(2) if m else self.text


def split(value: str, variable: str) -> list[Value]:
    """The numbers of a field and the joiners between them."""
    text = str(value).strip()
    if variable == "page":
        text = text.replace("\u2013", "-")
    parts = _JOINERS.split(text)
    values = [
        Value(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)
    ]
    for v in values:
        if re.fullmatch(r"\s*\\*[-\u2013]+\s*", v.joiner):
            v.joiner = "-"
    return values


def _collapsible(values: list[Value]) -> bool:
    """citeproc-js ``fixNumericAndCount``: the first number decides."""
    if not values or not _MASTER.match(values[0].number):
        return False
    return all(re.match(r"^\d", v.number) or _PLAIN.match(v.text) for v in values)


def is_plural(value: str, variable: str) -> bool:
    """Whether a label for this value takes its plural form (several numbers)."""
    values = split(value, variable)
    return len(values) > 1 and _collapsible(values)


def render(
    value: str,
    variable: str,
    *,
    delimiter: str = "\u2013",
    range_format: str | None = None,
    number: Callable[[str], str] = str,
    ampersand: str = "&",
) -> str:
    """The value as citeproc-js prints it: ranges of plain numbers with ``delimiter`` (pages
    shortened by ``range_format``), every other joiner as typed; ``number`` formats each
    plain number (ordinal, roman…)."""
    values = split(value, variable)
    if len(values) == 1:
        return number(values[0].text) if _PLAIN.match(values[0].text) else values[0].text
    out: list[str] = []
    i = 0
    while i < len(values):
        v = values[i]
        nxt = values[i + 1] if i + 1 < len(values) else None
        if v.joiner == "-" and nxt is not None:
            out.append(_range(v.text, nxt.text, variable, delimiter, range_format, number))
            joiner = nxt.joiner
            i += 2
        else:
            out.append(number(v.text) if _PLAIN.match(v.text) else v.text)
            joiner = v.joiner
            i += 1
        if joiner and i < len(values):
            out.append(f" {ampersand} " if joiner.strip() == "&" else joiner)
    return "".join(out)


def _range(
    first: str,
    last: str,
    variable: str,
    delimiter: str,
    range_format: str | None,
    number: Callable[[str], str],
) -> str:
    if variable == "page":
        m1, m2 = _PAGE.fullmatch(first), _PAGE.fullmatch(last)
        if not m1 or not m2 or (m2.group(1) and m2.group(1) != m1.group(1)):
            return f"{first}-{last}"  # not a range citeproc-js can read: as typed
        if range_format is None and not m1.group(1) and int(first) > int(last):
            return f"{first}{delimiter}{last}"  # "604-23": no format, no expansion
        return f"{first}{delimiter}{page_range_end(first, last, range_format)}"
    if variable in RANGE_VARIABLES and _PLAIN.match(first) and _PLAIN.match(last):
        return f"{number(first)}{delimiter}{number(last)}"
    if variable in RANGE_VARIABLES:
        m1, m2 = _NUMERIC.match(first), _NUMERIC.match(last)
        if m1 and m2 and (m1.group(1) or "") == (m2.group(1) or ""):
            return f"{first}{delimiter}{last}"
    return f"{first}-{last}"


def page_range_end(first: str, last: str, range_format: str | None) -> str:
    """The end of a page range as citeproc-js prints it (``CSL.Util.PageRangeMangler``)."""
    m1, m2 = _PAGE.fullmatch(first), _PAGE.fullmatch(last)
    if not m1 or not m2 or (m2.group(1) and m2.group(1) != m1.group(1)):
        return last
    begin, end = m1.group(2), m2.group(2)
    if len(end) < len(begin):  # "321-28" → 321–328 before any shortening
        end = begin[: len(begin) - len(end)] + end
    if int(begin) >= int(end):
        return last
    if range_format not in ("minimal", "minimal-two", "chicago", "chicago-15", "chicago-16"):
        return (m1.group(1) or "") + end  # expanded: "e01–e09", "321–328"
    # the shortening formats drop a repeated prefix too: "S12–15"
    if range_format in ("minimal", "minimal-two"):
        minchars = 2 if range_format == "minimal-two" else 0
        if len(begin) == len(end):
            keep = len(end)
            for b, e in zip(begin, end, strict=True):
                if b == e and keep > minchars:
                    keep -= 1
                else:
                    break
            end = end[len(end) - keep :]
    elif range_format in ("chicago", "chicago-15"):
        b, e = int(begin), int(end)
        if b > 100 and b % 100 and b // 100 == e // 100:
            end = str(e % 100)
        elif b >= 10000:
            end = str(e % 1000)
    elif range_format == "chicago-16":
        b, e = int(begin), int(end)
        if b > 100 and b % 100:
            for i in range(2, len(end)):
                if b // 10**i == e // 10**i:
                    end = str(e % 10**i)
                    break
    return end
