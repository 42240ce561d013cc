"""Placeholders: strings that stand where a value is missing ("null", "n/a", "-", "[s.n.]") (pure).

Deposits and exports fill empty fields with words that mean "no value": Crossref has
``"volume": "null"`` (10.21326/ksdt.2008..18.018, shown as "Forum null(18)") and an author whose
family name is "-" (10.21831/imaji.v4i1.6702); Wiley's Early View records say "n/a"; R and pandas
exports write NA and NaN; library catalogues write "[s.n.]" (sine nomine) and "[s.l.]" (sine
loco); DataCite has its own codes ("(:unav)", "(:tba)"). A placeholder is never a value: every
source reads its strings through ``bot.sources._common.as_str``, which drops them, and the
exports and the card drop any that a stored work still holds (``without_placeholders``).

Only whole fields are compared, after removing whitespace, case and one pair of enclosing
brackets: "None of the above" is a title, "None" is not a volume. A value with no letter or
digit at all ("-", "--", "—", "?", "…", "*") is a placeholder in every field.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.models import Author, Work

PLACEHOLDERS = frozenset(
    {
        "null", "none", "nil", "nan", "na", "n/a", "#n/a", "n.a.", "undefined", "unknown",
        "s.n.", "s.l.", "n.p.", "n.pag.",
        # DataCite's "standard values for unknown information" ("(:unav)" once its brackets go):
        # unaccessible, unallowed, not applicable, unassigned, unavailable, unknown, none,
        # null, to be assigned, too numerous to list.
        ":unac", ":unal", ":unap", ":unas", ":unav", ":unkn", ":none", ":null", ":tba", ":etal",
    }
)  # fmt: skip
# Words that are placeholders elsewhere but real values in these kinds of field: Na, Nil and
# Nan are given and family names (Na Lei, 10.1016/j.eng.2019.09.010; Nil Göle; Nan Jiang), and
# "na" is the ISO 639-1 code of Nauruan. "NA" in a volume, issue, page or venue is R's missing
# value: no journal numbers a volume or an issue "NA".
REAL_VALUES: dict[str, frozenset[str]] = {
    "name": frozenset({"na", "nil", "nan"}),
    "language": frozenset({"na"}),
}
# Placeholders of one kind of field only: ISO 639-2 "und" is "undetermined language".
KIND_PLACEHOLDERS: dict[str, frozenset[str]] = {"language": frozenset({"und"})}
_ENCLOSED = re.compile(r"^[\[(<{](.*)[\])>}]$")
_ISO_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
# The scalar fields of a Work and the placeholder rules each follows.
WORK_FIELDS = (
    ("venue", "text"),
    ("volume", "text"),
    ("issue", "text"),
    ("pages", "text"),
    ("publisher", "text"),
    ("language", "language"),
)


def is_placeholder(text: str, kind: str = "text") -> bool:
    """Whether ``text``, as a whole field of ``kind``, means "no value".

    ``kind`` is ``"text"`` (venue, publisher, volume, issue, pages, identifiers…), ``"name"``
    (parts of a person's name) or ``"language"``; see ``PLACEHOLDERS`` and ``REAL_VALUES``.
    """
    key = "".join(text.split()).casefold()
    if m := _ENCLOSED.match(key):
        key = m.group(1)
    if not any(ch.isalnum() for ch in key):
        return True
    if key in REAL_VALUES.get(kind, ()):
        return False
    return key in PLACEHOLDERS or key in KIND_PLACEHOLDERS.get(kind, ())


def _part(value: str | None) -> str | None:
    return None if value is None or is_placeholder(value, "name") else value


def _author(author: Author) -> Author | None:
    """The author without placeholder name parts; ``None`` when nothing is left."""
    if author.is_organisation:
        return None if is_placeholder(author.name, "name") else author
    given, family = _part(author.given), _part(author.family)
    if (given, family) == (author.given, author.family):
        return author
    if not family and not given:
        return None
    if not family:  # as bot.sources._common.author_from_parts: a single name
        return Author(name=given or "", family=given, given=None, orcid=author.orcid)
    name = f"{given} {family}" if given else family
    return Author(name=name, family=family, given=given, orcid=author.orcid)


def without_placeholders(work: Work) -> Work:
    """``work`` with placeholder values dropped: the exports' and the card's last defence.

    Works stored before sources dropped placeholders (bibliography snapshots, the cache), or
    built by other code, must still never print "null" as a volume. The title is left alone.
    """
    changes: dict[str, Any] = {
        name: None
        for name, kind in WORK_FIELDS
        if (value := getattr(work, name)) is not None and is_placeholder(value, kind)
    }
    for name in ("issn", "isbn"):
        values = getattr(work, name)
        if any(is_placeholder(v) for v in values):
            changes[name] = tuple(v for v in values if not is_placeholder(v))
    authors = tuple(a for a in map(_author, work.authors) if a)
    if authors != work.authors:
        changes["authors"] = authors
    if work.published and not _ISO_DATE.match(work.published):
        changes["published"] = None
    return replace(work, **changes) if changes else work
