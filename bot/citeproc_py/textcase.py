"""CSL 1.0.2 §Text-case, as citeproc-js applies it (``CSL.Output.Formatters``).

citeproc-py upper-cases word by word and knows neither markup nor quotes; citeproc-js, the
reference, runs one engine over the field with its markup in place: tags, quotation marks and
punctuation split the text into strings, and each case rule capitalises words in those
strings. So ``<span class="nocase">`` and small-caps, superscript and subscript spans keep
their case, a word already holding a capital is left alone, stop words stay lower case (but
not first, last, or after ``:?!``), and a closing quote with no opener ("We’re") restores the
character after it. The strings may hold the raw CSL-JSON markup (a variable as read from the
data) or litbot's marks (text already rendered, ``bot.richtext``): both are tags here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.richtext import (
    _MARKS,
    NOCASE_CLOSE,
    NOCASE_OPEN,
    NODECOR_CLOSE,
    NODECOR_OPEN,
    STYLE_MARKS,
    Style,
)

# citeproc-js CSL.SKIP_WORDS
SKIP_WORDS = [
    *(
        "about above across afore after against al along alongside amid amidst among amongst "
        "anenst apropos apud around as aside astride at athwart atop barring before behind below "
        "beneath beside besides between beyond but by circa despite down during et except for "
        "forenenst from given in inside into lest like modulo near next notwithstanding of off "
        "on onto out over per plus pro qua sans since than through thru throughout thruout till "
        "to toward towards under underneath until unto up upon versus vs. v. vs v via vis-à-vis "
        "with within without"
    ).split(),
    "according to", "ahead of", "apart from", "as for", "as of", "as per", "as regards",
    "aside from", "back to", "because of", "close to", "due to", "except for", "far from",
    "inside of", "instead of", "near to", "next to", "on to", "out from", "out of",
    "outside of", "prior to", "pursuant to", "rather than", "regardless of", "such as",
    "that of", "up to", "where as", "or", "yet", "so", "for", "and", "nor", "a", "an", "the",
    "de", "d'", "von", "van", "c", "ca",
]  # fmt: skip
# the same regular expression as citeproc-js (unescaped: "vs." matches "vsx" there too)
_SKIP = re.compile(r"(?:(?:[?!:]*\s+|-|^)(?:" + "|".join(SKIP_WORDS) + r")(?=[!?:]*\s+|-|$))")
_MARK_TAGS = (
    "".join(ch for pair in (*_MARKS.values(), *STYLE_MARKS.values()) for ch in pair)
    + "\ue000\ue001\ue002\ue003\ue004"
    + NOCASE_OPEN
    + NOCASE_CLOSE
    + NODECOR_OPEN
    + NODECOR_CLOSE
)
_TAGS = re.compile(
    "(\u2018|\u2019|\u201c|\u201d| \"| '|\"|'|[-\u2013\u2014/.,;?!:]|\\[|\\]|\\(|\\)"
    '|<span style="font-variant: small-caps;">|<span class="no(?:case|decor)">|</span>'
    "|</?(?:i|sc|b|sub|sup)>|[" + _MARK_TAGS + "])"
)
_SPACES = re.compile("([\u00a0 \u2000-\u200b\u205f\u3000]+)")
# Tags inside which case is never changed, by opener → closer.
_PROTECTED = {
    '<span style="font-variant: small-caps;">': "</span>",
    '<span class="nocase">': "</span>",
    '<span class="nodecor">': "</span>",
    "<sc>": "</sc>",
    "<sub>": "</sub>",
    "<sup>": "</sup>",
    NOCASE_OPEN: NOCASE_CLOSE,
    NODECOR_OPEN: NODECOR_CLOSE,
    _MARKS[Style.SMALL_CAPS][0]: _MARKS[Style.SMALL_CAPS][1],
    _MARKS[Style.SUP][0]: _MARKS[Style.SUP][1],
    _MARKS[Style.SUB][0]: _MARKS[Style.SUB][1],
}
_QUOTE_PARAMS = {  # opener → (opener allowed inside it, its closer)
    ' "': (" '", '"'),
    " '": (' "', "'"),
    "\u2018": ("\u2018", "\u2019"),
    "\u201c": ("\u201c", "\u201d"),
}
_QUOTE_TAG = re.compile("(^(?:\u2018|\u2019|\u201c|\u201d|\"|')|(?: \"| ')$)")
_NORMALISE_SC = re.compile(r'(<span)\s+(style="font-variant:)\s*(small-caps);?(")[^>]*(>)')
_NORMALISE_CLASS = re.compile(r'(<span)\s+(class="no(?:case|decor)")[^>]*(>)')


def _split(text: str) -> tuple[list[str], list[str]]:
    text = _NORMALISE_CLASS.sub(r"\1 \2\3", _NORMALISE_SC.sub(r"\1 \2 \3;\4\5", text))
    parts = _TAGS.split(text)
    strings, tags = parts[0::2], parts[1::2]
    for i in range(len(tags) - 1, -1, -1):
        if tags[i] == "'" and strings[i + 1]:
            strings[i + 1] = "'" + strings[i + 1]
            tags[i] = ""
    return strings, tags


def _join(strings: list[str], tags: list[str]) -> str:
    return "".join(s + t for s, t in zip(strings, [*tags, ""], strict=True))


def _capitalise(word: str) -> str:
    lead = len(word) - len(word.lstrip())
    if len(word) > lead:
        ch = word[lead]
        if "\u0370" <= ch <= "\u03ff" and len(word) == lead + 1:
            return word  # a lone Greek letter is a symbol
        return word[:lead] + ch.upper() + word[lead + 1 :]
    return word


@dataclass
class _Config:
    capitalise_words: Callable[[_Config, str, int, str | None], str]
    quote_state: list | None = field(default_factory=list)
    after_punct: bool | None = None
    is_first: bool | None = None
    last_word: tuple[int, int] | None = None
    strings: list[str] = field(default_factory=list)


def _engine(config: _Config, text: str) -> str:
    """citeproc-js ``_textcaseEngine``: walk strings and tags, capitalising outside
    protected spans, undoing a change after a quote that closes nothing."""
    if not text:
        return ""
    strings, tags = _split(text)
    original = list(strings)
    config.strings = strings
    tag_state: list[str] = []
    if strings and strings[0].strip():
        strings[0] = config.capitalise_words(config, strings[0], 0, tags[0] if tags else None)
    for i, tag in enumerate(tags):
        before = strings[i + 1]
        if tag in _PROTECTED:
            tag_state.append(_PROTECTED[tag])
        elif tag_state and tag == tag_state[-1]:
            tag_state.pop()
        if config.after_punct is not None and tag and tag[-1] in "!?:":
            config.after_punct = True
        if not tag_state:
            # (citeproc-js passes no following tag here: "-" counts for the first string only)
            strings[i + 1] = config.capitalise_words(config, before, i + 1, None)
        elif strings[i + 1].strip():
            config.last_word = None
        if config.quote_state is not None:
            pos = _quote_fix(config.quote_state, tag, i)
            if pos is not None:
                strings[pos + 1] = original[pos + 1][:1] + strings[pos + 1][1:]
                config.last_word = None
        if config.is_first and before.strip():
            config.is_first = False
        if config.after_punct and before.strip():
            config.after_punct = False
    for state in config.quote_state or ():
        pos = state[2]
        if pos is not None:
            strings[pos + 1] = original[pos + 1][:1] + strings[pos + 1][1:]
    if config.last_word:
        index, j = config.last_word
        words = _SPACES.split(strings[index])
        word = words[j]
        if len(word) > 1 and _SKIP.search(word.lower()):
            words[j] = _capitalise(word)
            strings[index] = "".join(words)
    return _join(strings, tags)


def _quote_fix(state: list, tag: str, pos: int) -> int | None:
    match = _QUOTE_TAG.search(tag)
    if not match:
        return None
    tag = match.group(1)
    if tag in ("\u201c", "\u2018", ' "', " '"):
        if not state or tag == state[-1][0]:
            state.append((*_QUOTE_PARAMS[tag], pos))
            return None
        previous = state.pop()[2]
        state.append((*_QUOTE_PARAMS[tag], None))  # citeproc-js loses the position here
        return previous
    if state and tag == state[-1][1]:
        state.pop()
        return None
    return pos


def _words(text: str) -> list[str]:
    return _SPACES.split(text)


def _title_words(config: _Config, text: str, index: int, following: str | None) -> str:
    if not text.strip():
        return text
    words = _words(text)
    for j in range(0, len(words), 2):
        word = words[j]
        if not word:
            continue
        lower = word.lower()
        capitalise = (
            (len(word) > 1 and not _SKIP.search(lower))
            or (j == len(words) - 1 and following == "-")
            or config.is_first
            or config.after_punct
        )
        if capitalise and word == lower:
            words[j] = _capitalise(word)
        config.after_punct = False
        config.is_first = False
        config.last_word = (index, j)
    return "".join(words)


def _first_words(config: _Config, text: str, index: int, following: str | None) -> str:
    words = _words(text)
    for j in range(0, len(words), 2):
        if words[j] and config.is_first:
            if words[j] == words[j].lower():
                words[j] = _capitalise(words[j])
            config.is_first = False
            break
    return "".join(words)


def _all_words(config: _Config, text: str, index: int, following: str | None) -> str:
    words = _words(text)
    for j in range(0, len(words), 2):
        if words[j] and words[j] == words[j].lower():
            words[j] = _capitalise(words[j])
    return "".join(words)


def _sentence_words(config: _Config, text: str, index: int, following: str | None) -> str:
    words = text.split(" ")
    for j, word in enumerate(words):
        if word:
            if config.is_first:
                words[j] = _capitalise(word)
                config.is_first = False
            else:
                words[j] = word.lower()
    return " ".join(words)


def _lower_words(config: _Config, text: str, index: int, following: str | None) -> str:
    return " ".join(w.lower() if w else w for w in text.split(" "))


def _upper_words(config: _Config, text: str, index: int, following: str | None) -> str:
    return " ".join(w.upper() if w else w for w in text.split(" "))


def title(text: str) -> str:
    """``text-case="title"``."""
    return _engine(_Config(_title_words, [], after_punct=False, is_first=True), text)


def capitalize_first(text: str) -> str:
    """``text-case="capitalize-first"``."""
    return _engine(_Config(_first_words, [], is_first=True), text)


def capitalize_all(text: str) -> str:
    """``text-case="capitalize-all"``."""
    return _engine(_Config(_all_words, []), text)


def sentence(text: str) -> str:
    """``text-case="sentence"`` (CSL 1.0.2 deprecates it; citeproc-js lower-cases all but the
    first word)."""
    return _engine(_Config(_sentence_words, [], is_first=True), text)


def lowercase(text: str) -> str:
    """``text-case="lowercase"``: protected spans keep their case."""
    return _engine(_Config(_lower_words, None), text)


def uppercase(text: str) -> str:
    """``text-case="uppercase"``: protected spans keep their case."""
    return _engine(_Config(_upper_words, None), text)


TEXT_CASES: dict[str, Callable[[str], str]] = {
    "title": title,
    "capitalize-first": capitalize_first,
    "capitalize-all": capitalize_all,
    "sentence": sentence,
    "lowercase": lowercase,
    "uppercase": uppercase,
}
