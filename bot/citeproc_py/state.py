"""Per-thread state while one bibliography renders (the corrected citeproc-py reads it).

citeproc-py keeps rendering state on the parsed style, so each engine is used under its lock
(bot.citeproc_py.engine); what the corrections add lives here, one copy per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AmbigConfig:
    """CSL 1.0.2 §Disambiguation for one item (citeproc-js ``CSL.AmbigConfig``): names shown
    per name list ("nameset"), the given-name level of each name (0 none, 1 initials, 2 full),
    the year-suffix and whether ``disambiguate="true"`` holds."""

    names: list[int] = field(default_factory=list)
    givens: list[list[int]] = field(default_factory=list)
    year_suffix: int | None = None
    disambiguate: int = 0

    def copy(self) -> AmbigConfig:
        return AmbigConfig(
            list(self.names), [list(g) for g in self.givens], self.year_suffix, self.disambiguate
        )


def _identity(text: str) -> str:
    return text


class Fields:
    """What the corrections need while rendering, for one thread, in a plain object: an
    attribute of a ``threading.local`` costs several times a plain one (the thread's dict is
    looked up on each access), and an APA entry makes some six hundred such accesses. The
    hot paths fetch ``STATE.tally`` (this thread's Fields) once and use it; everywhere else
    ``STATE.<field>`` reads and writes the same value (a property)."""

    called: int = 0  # variables looked up so far (for cs:group suppression)
    rendered: int = 0  # …and those that were not empty
    area: str = "bibliography"  # "citation" (disambiguation), "sort" or "bibliography"
    position: str = "first"
    read: Callable[[str], str] = staticmethod(_identity)  # a data field → marked, escaped text
    escape: Callable[[str], str] = staticmethod(_identity)  # data that is never markup
    verbatim: Callable[[str, str], str] | None = None  # (variable, value) → text: DOI, URL…
    request: AmbigConfig | None = None  # the item's disambiguation settings
    configs: dict[str, AmbigConfig] | None = None  # every item's, by key (bibliography)
    capture: AmbigConfig | None = None  # filled while a citation renders
    maxvals: list[int] | None = None  # names in each name list (while a citation renders)
    nameset: int = 0
    layout: Any = None  # the cs:layout rendering (macros find it here)
    substituting: int = 0  # inside cs:substitute
    substituted: bool = False  # the first cs:names printed a substitute that may repeat
    add_names: bool = False  # the style's disambiguate-add-names / -add-givenname
    add_givenname: bool = False
    evalname: Callable[..., int] | None = None  # the name registry (disambiguation)
    item_key: str | None = None
    substitute: str | None = None  # subsequent-author-substitute text
    substitute_rule: str = "complete-all"
    collecting: list[str] | None = None  # names of the first cs:names, while it renders
    previous: Any = None  # names of the entry being rendered
    previous_entry: Any = None  # names of the entry before it
    seen: bool = True  # this entry's first cs:names has rendered
    year_suffix: str | None = None  # "a", to append to the entry's first rendered year
    locale: str = "en-US"


def _field(name: str) -> Any:
    def get(self: RenderState) -> Any:
        return getattr(self.tally, name)

    def set_(self: RenderState, value: Any) -> None:
        setattr(self.tally, name, value)

    return property(get, set_)


class RenderState(threading.local):
    """Per thread: ``tally``, the thread's Fields, and each field as a property."""

    tally: Fields

    def __init__(self) -> None:
        self.tally = Fields()  # (threading.local runs this once in each thread)


for _name in Fields.__annotations__:
    setattr(RenderState, _name, _field(_name))
del _name


STATE = RenderState()
