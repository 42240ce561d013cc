"""CSL 1.0.2 §Disambiguation for one bibliography, as citeproc-js runs it.

citeproc-py does no disambiguation. Here every item's citation is rendered (as a subsequent
cite, as citeproc-js does), items whose citations read the same are ambiguous, and each
ambiguous set goes through the style's methods in citeproc-js's order
(``CSL.Disambiguation``): names hidden by et-al are added (``disambiguate-add-names``), given
names are expanded to initials then in full (``disambiguate-add-givenname``, by cite or by the
global ``givenname-disambiguation-rule``), then year-suffixes are assigned in bibliography order
(``disambiguate-add-year-suffix``) and ``disambiguate="true"`` conditions are turned on.

What disambiguation settles is used in the bibliography too, as citeproc-js does: names added
to a citation appear in the entry when its et-al setting would hide them, given names raised
above the entry's own form are shown, and year-suffixes follow the year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from citeproc import model

from bot.citeproc_py.corrections import plain
from bot.citeproc_py.names import NameOptions, initialize_with
from bot.citeproc_py.state import STATE, AmbigConfig


@dataclass
class Options:
    """A style's disambiguation options (cs:citation)."""

    has_citation: bool = False
    add_names: bool = False
    add_givenname: bool = False
    rule: str = "by-cite"
    year_suffix: bool = False
    has_disambiguate: bool = False
    demote_never: bool = False

    @classmethod
    def of(cls, root: Any) -> Options:
        citation = root.find("cs:citation", root.nsmap)
        if citation is None or citation.find("cs:layout", root.nsmap) is None:
            return cls()

        def flag(name: str) -> bool:
            return (citation.get(name) or "").lower() == "true"

        return cls(
            has_citation=True,
            add_names=flag("disambiguate-add-names"),
            add_givenname=flag("disambiguate-add-givenname"),
            rule=citation.get("givenname-disambiguation-rule") or "by-cite",
            year_suffix=flag("disambiguate-add-year-suffix"),
            has_disambiguate=bool(
                root.xpath_search(".//cs:if[@disambiguate] | .//cs:else-if[@disambiguate]")
            ),
            demote_never=root.get("demote-non-dropping-particle") == "never",
        )

    @property
    def active(self) -> bool:
        return self.has_citation and (
            self.add_names or self.add_givenname or self.year_suffix or self.has_disambiguate
        )


def suffix(n: int) -> str:
    """0 → a, 25 → z, 26 → aa (citeproc-js's sequence)."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


MAX_ASKS_PER_ITEM = 200


class _Dummy:
    """A cite after the item in the citation's history: the item reads as a subsequent cite,
    never as ibid."""

    key = ""
    citation = None
    has_locator = False
    locator = None


class NameRegistry:
    """citeproc-js ``CSL.Registry.NameReg``: which names share a family name (and initials)
    across the bibliography, for the global given-name rules."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.names: dict[str, dict[str, set[str]]] = {}  # family → initials → given names

    def _keys(self, item_key: str, name: dict) -> tuple[str, str, str]:
        def strip(text: str | None) -> str:
            return re.sub(r"\s+$", "", re.sub(r"\s+", " ", (text or "").replace(".", " ")))

        pkey = strip(name.get("family"))
        if self.options.demote_never and name.get("non-dropping-particle") and name.get("family"):
            pkey = f"{pkey} {name['non-dropping-particle']}"
        skey = strip(name.get("given"))
        m = re.search(r"[,!]* ([^,]+)$", skey)
        if m and m.group(1) == m.group(1).lower():
            skey = re.sub(r"[,!]* [^,]+$", "", skey)
        ikey = initialize_with(skey, "%s")
        if self.options.rule == "by-cite":
            pkey = item_key + pkey
        return pkey, ikey, skey

    def add(
        self, item_key: str, name: dict, index: int, requested: int, options: NameOptions
    ) -> int:
        """Register a name as rendered in a citation (first pass)."""
        if "literal" in name or not (name.get("given") or name.get("family")):
            return requested
        if self.options.rule.startswith("primary-") and index != 0:
            return requested
        pkey, ikey, skey = self._keys(item_key, name)
        if pkey:
            initials = self.names.setdefault(pkey, {})
            if ikey:
                fulls = initials.setdefault(ikey, set())
                if skey:
                    fulls.add(skey)
        return requested

    def evalname(
        self, item_key: str, name: dict, index: int, requested: int, options: NameOptions
    ) -> int:
        """The given-name level a citation shows for this name (``evalname``)."""
        if "literal" in name:
            return 2
        opts = self.options
        if (
            requested == 1
            and opts.rule == "by-cite"
            and (options.initialize_with is None or not name.get("given"))
        ):
            requested = 2
        if not (opts.add_givenname and name.get("given")) and STATE.request is not None:
            return requested
        param = 2
        if options.form == "short":
            param = 0
        elif options.initialize_with is not None:
            param = 1
        pkey, ikey, _ = self._keys(item_key, name)
        if pkey not in self.names or ikey not in self.names[pkey]:
            return param
        if opts.rule == "by-cite" and param <= requested:
            return requested
        if not opts.add_givenname:
            return param
        rule = "all-names" if opts.rule == "by-cite" else opts.rule
        if rule.startswith("primary-name") and index > 0:
            return param
        entry = self.names[pkey]
        if rule in ("all-names", "primary-name"):
            if len(entry) > 1:
                param = 1
            if len(entry[ikey]) > 1 or (len(entry) > 1 and options.initialize_with is None):
                param = 2
        elif rule in ("all-names-with-initials", "primary-name-with-initials"):
            param = 1 if len(entry) > 1 else 0
        return param


class _Context:
    """One bibliography's citations, rendered on demand with a disambiguation request."""

    def __init__(self, engine: Any, bib: Any) -> None:
        self.engine = engine
        self.options: Options = engine.options
        self.bib = bib
        root = engine.style.root
        self.citation = root.find("cs:citation", root.nsmap)
        self.layout = self.citation.find("cs:layout", root.nsmap)
        self.items = {item.key: item for item in bib.items}
        self.order = {item.key: i for i, item in enumerate(bib.items)}  # bibliography order
        self.registry: dict[str, AmbigConfig] = {}
        self.maxvals: dict[str, list[int]] = {}
        self.memo: dict[Any, tuple[str, AmbigConfig, list[int]]] = {}
        self.asks = 0
        # CPU bound: beyond this many citation lookups the remaining sets stay as they are
        self.budget = MAX_ASKS_PER_ITEM * len(self.items) + 10_000

    def cite(self, key: str, request: AmbigConfig | None) -> tuple[str, AmbigConfig, list[int]]:
        """The item's citation as plain text, the settings it rendered with, names per list.

        Renders are memoised per (item, settings): the ambiguous-set loop asks for the same
        ones again and again, and a set of n items costs up to n² asks."""
        self.asks += 1
        memo = (
            key,
            (tuple(request.names), tuple(map(tuple, request.givens)), request.year_suffix,
             request.disambiguate) if request is not None else None,
        )  # fmt: skip
        if memo not in self.memo:
            text, config, maxvals = self._render(key, request)
            self.memo[memo] = (text, config, maxvals)
        text, config, maxvals = self.memo[memo]
        return text, config.copy(), list(maxvals)

    def _render(self, key: str, request: AmbigConfig | None) -> tuple[str, AmbigConfig, list[int]]:
        item = self.items[key]
        STATE.area, STATE.position = "citation", "subsequent"
        STATE.request = request
        STATE.capture = AmbigConfig(
            year_suffix=request.year_suffix if request else None,
            disambiguate=request.disambiguate if request else 0,
        )
        STATE.maxvals = []
        STATE.nameset = 0
        STATE.item_key = key
        self.citation.cites = [item, _Dummy()]
        self.layout.repressed = {}
        STATE.layout = self.layout
        try:
            text = self.layout.render_children(item)
        except model.VariableError:
            text = None
        finally:
            capture, maxvals = STATE.capture, STATE.maxvals
            STATE.capture = STATE.maxvals = STATE.layout = None
        return plain(text or ""), capture, maxvals


def run(engine: Any, bib: Any) -> dict[str, AmbigConfig]:
    """Every item's disambiguation settings, by key; year-suffixes set on the references."""
    options: Options = engine.options
    if not options.active or len(bib.items) < 2:
        return {}
    ctx = _Context(engine, bib)
    names = NameRegistry(options)
    try:
        STATE.evalname = names.add
        for key in ctx.items:
            ctx.cite(key, None)
        STATE.evalname = names.evalname
        akeys: dict[str, list[str]] = {}
        for key in sorted(ctx.items, key=lambda k: int(k[1:])):  # submission order
            text, config, maxvals = ctx.cite(key, None)
            ctx.registry[key] = config
            ctx.maxvals[key] = maxvals
            akeys.setdefault(text, []).append(key)
        for ids in akeys.values():
            if len(ids) > 1:
                _Disambiguation(ctx).run(ids)
    finally:
        STATE.evalname = None
        STATE.request = None
        STATE.area = "bibliography"
        ctx.citation.cites = []
    for key, config in ctx.registry.items():
        if config.year_suffix is not None:
            ctx.items[key].reference["year_suffix"] = suffix(config.year_suffix)
    return ctx.registry


class _Disambiguation:
    """citeproc-js ``CSL.Disambiguation`` for one set of items whose citations read the same."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        opts = ctx.options
        self.modes: list[str] = []
        if opts.add_names or (opts.add_givenname and opts.rule == "by-cite"):
            self.modes.append("names")
        if opts.year_suffix:
            self.modes.append("years")
        if opts.has_disambiguate:
            self.modes.append("extra")

    # -- set-up ---------------------------------------------------------------------------
    def run(self, ids: list[str]) -> None:
        if not self.modes:
            return
        self.base: AmbigConfig | None = None
        self.better: AmbigConfig | None = None
        self.max_names: dict[str, list[int]] = {}
        self.namesets_max = 0
        self.cite_data(ids[0])
        bundles = [(self.max_names[ids[0]], ids[0])]
        for key in ids[1:]:
            self.cite_data(key, self.base)
            bundles.append((self.max_names[key], key))
        # citeproc-js sorts by the max names (compared as strings), then by id
        bundles.sort(key=lambda b: (",".join(map(str, b[0])), b[1]))
        assert self.base is not None and self.better is not None
        self.lists: list[list[Any]] = [[self.base, [k for _, k in bundles]]]
        self.mode = 0
        first = self.lists[0][1][0]
        self.names_max = self.max_names[first][0] if self.max_names[first] else 0
        self._pad(self.base)
        self._pad(self.better)
        self.base.year_suffix = self.better.year_suffix = None
        self.base.disambiguate = self.better.disambiguate = 0
        opts = self.ctx.options
        self.givens_max = 2 if opts.rule == "by-cite" and opts.add_givenname else None
        self.extra_done = False
        self._loop()

    def cite_data(self, key: str, base: AmbigConfig | None = None) -> None:
        if key in self.max_names:
            return
        _, config, maxvals = self.ctx.cite(key, base or self.ctx.registry[key])
        self.max_names[key] = maxvals
        self.ctx.registry[key].givens = [list(g) for g in config.givens]
        self.namesets_max = len(self.ctx.registry[key].names) - 1
        if self.base is None:
            self.base = config.copy()
            self.better = config.copy()
        if len(config.names) < len(self.base.names):
            self.base = config.copy()
        for i in range(len(config.names)):
            if i < len(self.base.names) and config.names[i] > self.base.names[i]:
                self.base.givens[i] = list(config.givens[i]) if i < len(config.givens) else []
                self.base.names[i] = config.names[i]
                self.better.names = list(self.base.names)
                self.better.givens = [list(g) for g in self.base.givens]
                self._pad(self.base)
                self._pad(self.better)
        self.better.givens = [list(g) for g in self.base.givens]

    @staticmethod
    def _pad(config: AmbigConfig) -> None:
        for i, count in enumerate(config.names):
            while len(config.givens) <= i:
                config.givens.append([])
            while len(config.givens[i]) < count:
                config.givens[i].append(0)

    # -- the loop -------------------------------------------------------------------------
    def _loop(self) -> None:
        self.init_givens = True
        while self.lists:
            self.gnameset = 0
            self.gname = 0
            self.clashes = [1, 0]
            while self.lists and self.lists[0][1]:
                if self.ctx.asks > self.ctx.budget:  # (citeproc-js can even loop forever)
                    return
                self.listpos = 0
                if self.base is None:
                    self.base = self.lists[0][0]
                maxed = self._increment()
                self._scan(self.lists[0])
                self._evaluate(maxed)
            self.lists = self.lists[1:]

    def _scan(self, entry: list[Any]) -> None:
        keys = entry[1]
        first = keys[0]
        cite = self.ctx.cite(first, self.base)[0]
        self.partners = [first]
        self.nonpartners = []
        clashes = 0
        for other in keys[1:]:
            if self.ctx.cite(other, self.base)[0] == cite:
                clashes += 1
                self.partners.append(other)
            else:
                self.nonpartners.append(other)
        self.clashes = [self.clashes[1], clashes]

    def _evaluate(self, maxed: bool) -> None:
        mode = self.modes[self.mode]
        {"names": self._names, "years": self._years, "extra": self._extra}[mode](maxed)
        if maxed:
            if self.mode < len(self.modes) - 1:
                self.mode += 1
            else:
                self._set_list(self.listpos + 1, [self.base, []])

    def _set_list(self, pos: int, value: list[Any]) -> None:
        while len(self.lists) <= pos:
            self.lists.append([self.base, []])
        self.lists[pos] = value

    def _register(self, key: str, config: AmbigConfig) -> None:
        self.ctx.registry[key] = config.copy()

    def _names(self, maxed: bool) -> None:
        better = self.better
        assert better is not None
        if self.clashes[1] == 0 and len(self.nonpartners) == 1:
            self._capture()
            self._register(self.nonpartners[0], better)
            self._register(self.partners[0], better)
            self.lists[self.listpos] = [better, []]
        elif self.clashes[1] == 0:
            self._capture()
            self._register(self.partners[0], better)
            self.lists[self.listpos] = [better, self.nonpartners]
            if self.nonpartners:
                self.init_givens = True
        elif len(self.nonpartners) == 1:
            self._capture()
            self._register(self.nonpartners[0], better)
            self.lists[self.listpos] = [better, self.partners]
        elif self.clashes[1] < self.clashes[0]:
            self._capture()
            self.lists[self.listpos] = [better, self.partners]
            self.lists.append([better, self.nonpartners])
        elif maxed:
            self.lists[self.listpos] = [better, self.nonpartners]
            self.lists.append([better, self.partners])
            if self.mode == len(self.modes) - 1:
                for key in self.partners:
                    self._register(key, better)
                self.lists[self.listpos] = [better, []]

    def _capture(self) -> None:
        base, better = self.base, self.better
        assert base is not None and better is not None
        if self.ctx.options.rule == "by-cite" and base.givens:
            if self.gnameset < len(base.givens) and self.gname < len(base.givens[self.gnameset]):
                if len(better.givens) < len(base.givens):
                    better.givens = [list(g) for g in base.givens]
                while len(better.givens[self.gnameset]) <= self.gname:
                    better.givens[self.gnameset].append(0)
                better.givens[self.gnameset][self.gname] = base.givens[self.gnameset][self.gname]
        while len(better.names) <= self.gnameset:
            better.names.append(0)
        if self.gnameset < len(base.names):
            better.names[self.gnameset] = base.names[self.gnameset]

    def _years(self, maxed: bool) -> None:
        base = self.lists[self.listpos][0]
        keys = list(self.lists[self.listpos][1]) if self.clashes[1] else []
        keys.sort(key=lambda k: (self.ctx.order[k], int(k[1:])))
        for n, key in enumerate(keys):
            config = base.copy()
            config.year_suffix = n
            config.disambiguate = self.ctx.registry[key].disambiguate or base.disambiguate
            self._register(key, config)
        self.lists[self.listpos] = [self.better, []]

    def _extra(self, maxed: bool) -> None:
        base = self.base
        assert base is not None
        done = self.clashes[1] == 0 and len(self.nonpartners) < 2
        if not done and not self.extra_done:
            self.extra_done = True
            self.mode = 0
            base.disambiguate = 1
            if self.better is not None:
                self.better.disambiguate = 1
            self.init_givens = True
            return
        current = self.lists[self.listpos][0]
        if done or self.mode == len(self.modes) - 1:
            for key in self.lists[self.listpos][1]:
                config = current.copy()
                config.disambiguate = base.disambiguate
                self._register(key, config)
            self.lists[self.listpos] = [self.better, []]
        else:
            self.mode = len(self.modes) - 1
            current.disambiguate = 1
            for key in self.lists[self.listpos][1]:
                self._register(key, current)

    def _increment(self) -> bool:
        if self.init_givens:
            self.init_givens = False
            return False
        base = self.base
        assert base is not None
        maxed = False
        mode = self.modes[self.mode]
        if mode == "names":
            increment_names = self.givens_max is None
            increment_namesets = False
            if self.givens_max is not None:
                givens = base.givens
                if (
                    givens
                    and self.gnameset < len(givens)
                    and self.gname < len(givens[self.gnameset])
                    and givens[self.gnameset][self.gname] < self.givens_max
                ):
                    givens[self.gnameset][self.gname] += 1
                else:
                    increment_names = True
            if increment_names:
                if self.ctx.options.add_names:
                    if self.gname < self.names_max:
                        while len(base.names) <= self.gnameset:
                            base.names.append(0)
                        base.names[self.gnameset] += 1
                        self.gname += 1
                    else:
                        increment_namesets = True
                else:
                    increment_namesets = True
            if increment_namesets and self.gnameset < self.namesets_max:
                self.gnameset += 1
                while len(base.names) <= self.gnameset:
                    base.names.append(0)
                base.names[self.gnameset] = 1
                self.gname = 0
            self._pad(base)
            givens_done = (
                self.givens_max is None
                or self.gnameset >= len(base.givens)
                or self.gname >= len(base.givens[self.gnameset])
                or base.givens[self.gnameset][self.gname] == self.givens_max
            )
            if (
                (self.namesets_max == -1 or self.gnameset == self.namesets_max)
                and (not self.ctx.options.add_names or self.gname == self.names_max)
                and givens_done
            ):
                maxed = True
        elif mode == "extra":
            base.disambiguate += 1
            if self.better is not None:
                self.better.disambiguate += 1
        return maxed
