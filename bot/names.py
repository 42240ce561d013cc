"""Personal names: split display names into given/family, compare names across sources.

OpenAlex and Semantic Scholar give one display string per author; Crossref and DataCite give
given/family. Citations need family names right, particles and East Asian order included.
"""

from __future__ import annotations

import re
import unicodedata

# Lower-case particles that belong to the family name ("van Gulik", "de Vries", "della Porta").
PARTICLES = frozenset(
    {
        "van", "von", "de", "der", "den", "del", "della", "delle", "degli", "di", "da", "das",
        "dos", "du", "des", "la", "le", "lo", "ten", "ter", "zu", "zur", "vom", "af", "av",
        "bin", "ibn", "al", "el", "y", "st.", "mc",
    }
)  # fmt: skip
SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def split_name(display: str) -> tuple[str | None, str | None]:
    """A display name → ``(given, family)``; ``(None, name)`` when it cannot be split.

    "Yongqiang Zhou" → ("Yongqiang", "Zhou"); "Jan van Gulik" → ("Jan", "van Gulik");
    "Geary, Richard S." → ("Richard S.", "Geary"); "宮地 元彦" → ("元彦", "宮地") (family first in
    CJK script); "Martin Luther King Jr." → ("Martin Luther", "King").
    """
    name = " ".join(display.split())
    if not name:
        return None, None
    if "," in name:
        family, _, given = name.partition(",")
        given = given.strip()
        if given.lower().strip(".") not in {s.strip(".") for s in SUFFIXES}:
            return (given or None), family.strip() or None
    tokens = name.split(" ")
    if is_cjk(name):
        if len(tokens) == 1:
            return None, name
        return " ".join(tokens[1:]), tokens[0]
    while len(tokens) > 1 and tokens[-1].lower().rstrip(",") in SUFFIXES:
        tokens.pop()
    if len(tokens) == 1:
        return None, tokens[0]
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1].lower() in PARTICLES:
        start -= 1
    return " ".join(tokens[:start]), " ".join(tokens[start:])


def fold(text: str | None) -> str:
    """Case- and accent-insensitive comparison key: "Müller" and "Muller" fold alike."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", " ", bare.casefold()).strip()


def initials(given: str | None) -> str:
    return "".join(part[0] for part in fold(given).split() if part)
