"""A work's notes in the words of the people reading the card.

``bot.merge`` and ``bot.papers`` write notes for the record (``Name order of author 2 corrected
(given/family swapped).``, ``Crossref did not answer (HTTP 503).``); a researcher reading a card
wants to know what it means for them. ``reader_note`` rewrites the notes it knows and keeps any
other note as it is (they are already sentences); the Sources view shows the originals.

Plain text, no Discord: the cards escape what they show.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.models import Work

_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")


def _ordinal(number: str) -> str:
    n = int(number)
    return f"the {_ORDINALS[n - 1]} author" if 1 <= n <= len(_ORDINALS) else f"author {n}"


def _name_order(m: re.Match[str]) -> str:
    return (
        f"{_ordinal(m['n']).capitalize()}'s first and last names were swapped in one "
        "database; corrected here."
    )


def _silent(m: re.Match[str]) -> str:
    return f"{m['source']} did not respond, so some details may be missing."


def _slow(m: re.Match[str]) -> str:
    return f"Still waiting for {m['names']}; the card fills in when they answer."


def _cached(m: re.Match[str]) -> str:
    return (
        f"The databases cannot be reached right now; this is the copy litbot saved on {m['when']}."
    )


def _no_title(m: re.Match[str]) -> str:
    return "None of the databases gives this work a title."


def _best_match(m: re.Match[str]) -> str:
    return f"No identifier given: this is the closest title match for “{m['title']}”."


# (pattern over the whole note, rewrite); the first that matches wins.
_REWRITES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"Name order of author (?P<n>\d+) corrected \(given/family swapped\)\."),
        _name_order,
    ),
    (re.compile(r"(?P<source>.+?) did not answer \(.*\)\.", re.DOTALL), _silent),
    (re.compile(r"(?P<names>.+?) (?:is|are) slow; (?:its|their) fields will show .*"), _slow),
    (re.compile(r"Sources unreachable; showing the copy cached (?P<when>.+)\."), _cached),
    (re.compile(r"No source gives a title\."), _no_title),
    (re.compile(r"Best match for the title (?P<title>.+?)\.(?: .*)?", re.DOTALL), _best_match),
)


def reader_note(note: str) -> str:
    """``note`` as a researcher would say it; unknown notes unchanged."""
    for pattern, rewrite in _REWRITES:
        match = pattern.fullmatch(note)
        if match:
            return rewrite(match)
    return note


def reader_notes(work: Work) -> list[str]:
    """Every note of ``work`` in readers' words, in order, without repeats; "some sources
    failed" when a source failed without a note of its own."""
    out = list(dict.fromkeys(reader_note(n) for n in work.notes))
    if not out and work.missing:
        out.append("Some databases did not respond, so some details may be missing.")
    return out


def missing_sources_note(work: Work, labels: dict[str, str]) -> str | None:
    """One line for a compact card: which databases did not respond (``None``: all did)."""
    if not work.missing:
        return None
    names = [labels.get(s, s) for s in work.missing]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{listed} did not respond, so some details may be missing."
