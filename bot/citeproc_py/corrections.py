"""Corrections to citeproc-py 0.11.1, each named after the CSL 1.0.2 section it implements.

citeproc-py is used by litbot through this package only, so its classes are patched in place,
once (``apply``). Each correction is a function registered with ``@correction(section, what)``;
``CORRECTIONS`` lists them (the README and ``scripts/csl_suite.py`` print it), and the official
CSL test suite (``tests/test_csl_suite.py``) is their test. Where the specification leaves a
choice, citeproc-js (the reference processor, whose output the suite records) decides.
Sections refer to https://docs.citationstyles.org/en/stable/specification.html.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from citeproc import CitationItem, model
from citeproc.string import MixedString, String, join, normalize_seam

from bot import richtext
from bot.citeproc_py import names as csl_names
from bot.citeproc_py import numbers, textcase
from bot.citeproc_py.state import STATE

# Marks the corrections put into rendered text (private-use, never in data: the engine strips
# them from its input). Display marks wrap cs:* display="…" output and the two halves of a
# second-field-align entry; PREFIX_MARK flags punctuation that opens a decorated element's
# prefix (punctuation-in-quote never moves into it).
PREFIX_MARK = "\ue004"
DISPLAY = {
    "block": ("\ue008", "\ue009"),
    "left-margin": ("\ue00a", "\ue00b"),
    "right-inline": ("\ue00c", "\ue00d"),
    "indent": ("\ue00e", "\ue00f"),
}
_UNSET = object()  # (a memo's missing value: None is a value)
_PLAIN = (str, String, MixedString)  # what "" + s + "" gives back unchanged
_DECORATIONS = ("font-style", "font-variant", "font-weight", "text-decoration", "vertical-align")
# variables printed as they are: never rich text, never cased
VERBATIM = frozenset({"URL", "DOI", "ISBN", "ISSN", "PMID", "PMCID", "call-number"})
NUMBER_VARIABLES = frozenset(
    {
        "page", "page-first", "locator", "citation-number", "chapter-number",
        "collection-number", "edition", "issue", "number", "number-of-pages",
        "number-of-volumes", "volume", "first-reference-note-number",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Correction:
    """One correction: the specification section it implements and what it changes."""

    name: str
    section: str
    summary: str
    apply: Callable[[], None]


CORRECTIONS: list[Correction] = []


def correction(section: str, summary: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a correction (applied by ``apply``, in registration order)."""

    def register(fn: Callable[[], None]) -> Callable[[], None]:
        CORRECTIONS.append(Correction(fn.__name__.strip("_"), section, summary, fn))
        return fn

    return register


_APPLIED = False


def apply() -> None:
    """Apply every correction, once per process."""
    global _APPLIED
    if _APPLIED:
        return
    for item in CORRECTIONS:
        item.apply()
    _APPLIED = True


def inherited(element: Any, name: str, context: Any = None) -> str | None:
    """An inheritable option: the element, its citation/bibliography, then the style."""
    if element.get(name) is not None:
        return element.get(name)
    expr = "./ancestor::*[self::cs:citation or self::cs:bibliography][1]"
    parents = (context if context is not None else element).xpath_search(expr)
    for parent in (*parents, element.get_root()):
        if parent.get(name) is not None:
            return parent.get(name)
    return None


def strip_periods(text: str) -> str:
    """citeproc-js's strip-periods: a period before a lower-case letter stays ("e.g")."""
    return re.sub(r"\.([^a-z]|$)", r"\1", text)


def plain(text: Any) -> str:
    """Rendered text without marks (sort keys, ambiguity checks)."""
    return _ALL_MARKS.sub("", str(text))


_ALL_MARKS = re.compile("[\ue000-\uf8ff]")


# ---------------------------------------------------------------------------------------------
# Variables

_CSL_102_NAMES = """chair compiler contributor curator director editor-translator
executive-producer guest host narrator organizer performer producer reviewed-author
script-writer series-creator""".split()
_CSL_102_DATES = ["available-date"]
_CSL_102_NUMBERS = """part-number printing-number supplement-number""".split()
_CSL_102_STANDARD = """archive-collection citation-key division event-title license part-title
reviewed-genre reviewed-title scale volume-title volume-title-short""".split()


@correction(
    "Appendix IV › Variables",
    "the variables CSL 1.0.2 added (event-title, volume-title, part-title, reviewed-title, "
    "editor-translator, available-date…) are read from CSL-JSON",
)
def _variables() -> None:
    import citeproc

    def add(target: list[str], names: list[str]) -> None:
        for name in names:
            key = name.replace("-", "_")
            if key not in target:
                target.append(key)

    add(citeproc.NAMES, _CSL_102_NAMES)
    add(citeproc.DATES, _CSL_102_DATES)
    add(citeproc.NUMBERS, _CSL_102_NUMBERS)
    add(citeproc.VARIABLES, _CSL_102_NAMES + _CSL_102_DATES + _CSL_102_NUMBERS + _CSL_102_STANDARD)


# ---------------------------------------------------------------------------------------------
# Speed (no specification section: memoisation on the parsed style)


@correction("—", "XPath results and calls_variable memoised on the parsed style's elements")
def _memoised_lookups() -> None:
    original_xpath = model.CitationStylesElement.xpath_search

    def xpath_search(self: Any, expression: str) -> Any:
        cache = self.__dict__.setdefault("_xpath", {})
        if expression not in cache:
            cache[expression] = original_xpath(self, expression)
        return cache[expression]

    model.CitationStylesElement.xpath_search = xpath_search

    def memoised(method: Any) -> Any:
        def calls_variable(self: Any) -> bool:
            if "_calls_variable" not in self.__dict__:
                self.__dict__["_calls_variable"] = method(self)
            return self.__dict__["_calls_variable"]

        return calls_variable

    model.Parent.calls_variable = memoised(model.Parent.calls_variable)
    model.Text.calls_variable = memoised(model.Text.calls_variable)

    CitationItem.reference = _Reference()


class _Reference:
    """``CitationItem.reference`` (three dict-backed attribute lookups on every access), read
    once and kept in the item: in its dict as ``_reference`` and in its ``__dict__``, which
    Python reads before this (non-data) descriptor, so later reads call nothing. Whoever
    changes the source takes both out again (engine.render)."""

    def __get__(self, item: Any, owner: Any = None) -> Any:
        if item is None:
            return self
        ref = dict.get(item, "_reference")
        if ref is None:
            ref = item.bibliography.source[item.key]
            dict.__setitem__(item, "_reference", ref)
        item.__dict__["reference"] = ref
        return ref


def children(element: Any) -> tuple[tuple[Any, bool], ...]:
    """An element's children and whether each is a cs:choose, read once per style element
    (the tree never changes after loading; only attribute values are set for a while)."""
    found = element.__dict__.get("_children")
    if found is None:
        found = element.__dict__["_children"] = tuple(
            (child, isinstance(child, model.Choose)) for child in element.iterchildren()
        )
    return found


@correction("—", "children, roots, macros, terms and child elements looked up once per element")
def _memoised_tree() -> None:
    """citeproc-py walks the style tree for every entry, asking lxml again for each element's
    children, root, macros (an XPath built per call), terms (one per locale) and named child
    elements (``self.layout``: a path compiled per call). The style never changes after it
    is loaded, so each answer is kept on the element (the engine holds every element, so
    their proxies and these caches live as long as the style); the walks are citeproc-py's,
    unchanged."""
    join_ = model.join
    VariableError = model.VariableError

    def render_children(self: Any, item: Any, delimiter: str = "", **kwargs: Any) -> Any:
        output = []
        for child, choose in children(self):
            try:
                if choose:
                    text = child.render(item, delimiter=delimiter, **kwargs)
                else:
                    text = child.render(item, **kwargs)
                if text is not None:
                    output.append(text)
            except VariableError:
                pass
        if output:
            return join_(output, delimiter)
        return None

    model.Parent.render_children = render_children

    ConditionFailed = model.ConditionFailed

    def choose(self: Any, item: Any, context: Any = None, delimiter: str = "", **kwargs: Any):
        if _renders_nothing(self, item):  # (every branch renders nothing: see _absent_plan)
            return None
        for child, _ in children(self):
            try:
                return child.render(item, context=context, delimiter=delimiter, **kwargs)
            except ConditionFailed:
                continue
        return None

    model.Choose.render = choose

    def calls(element: Any) -> bool:
        found = element.__dict__.get("_calls")
        if found is None:
            found = element.__dict__["_calls"] = bool(element.calls_variable())
        return found

    def group(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        output = []
        variable_called = False
        variable_rendered = False
        delimiter = self.get("delimiter", "")
        for child, is_choose in children(self):
            variable_called = variable_called or calls(child)
            try:
                if is_choose:
                    child_text = child.render(item, context=context, delimiter=delimiter, **kwargs)
                else:
                    child_text = child.render(item, context=context, **kwargs)
                if child_text is not None:
                    output.append(child_text)
                    variable_rendered = variable_rendered or calls(child)
            except VariableError:
                pass
        success = not variable_called or (variable_called and variable_rendered)
        if output and success:
            return self.join(output)
        raise VariableError

    model.Group.process = group

    def get_root(self: Any) -> Any:
        root = self.__dict__.get("_root")
        if root is None:
            root = self.__dict__["_root"] = self.getroottree().getroot()
        return root

    model.CitationStylesElement.get_root = get_root

    original_macro = model.CitationStylesElement.get_macro

    def get_macro(self: Any, name: str) -> Any:
        macros = self.get_root().__dict__.setdefault("_macros", {})
        macro = macros.get(name)
        if macro is None:
            macro = macros[name] = original_macro(self, name)
        return macro

    model.CitationStylesElement.get_macro = get_macro

    original_term = model.Locale.get_term
    missing = object()

    def get_term(self: Any, name: str, form: Any = None, zero_padded: bool = False) -> Any:
        terms = self.__dict__.setdefault("_terms", {})
        key = (name, form, zero_padded)
        term = terms.get(key)
        if term is None:
            try:
                term = original_term(self, name, form, zero_padded)
            except IndexError:
                term = missing
            terms[key] = term
        if term is missing:
            raise IndexError
        return term

    model.Locale.get_term = get_term

    original_getattr = model.SomewhatObjectifiedElement.__getattr__

    def getattr_(self: Any, name: str) -> Any:  # self.layout, self.terms, self.name…
        found = original_getattr(self, name)
        if found is not None and not name.startswith("__"):
            # (next time: no call). A missing child is looked up again: citeproc-py inserts a
            # cs:name into a cs:names that has none (on every render: it never finds it).
            self.__dict__[name] = found
        return found

    model.SomewhatObjectifiedElement.__getattr__ = getattr_


def _if_tests(self: Any) -> tuple[Any, ...]:
    spec = self.__dict__.get("_tests")
    if spec is None:
        attrib = self.attrib
        types = tuple(t.lower() for t in self.get("type").split()) if "type" in attrib else None
        variables = (
            tuple(v.replace("-", "_") for v in self.get("variable").split())
            if "variable" in attrib
            else None
        )
        others = tuple(
            name
            for name in ("is-numeric", "is-uncertain-date", "locator", "position")
            if name in attrib
        )
        spec = self.__dict__["_tests"] = (types, variables, others, self.get("match"))
    return spec


@correction("—", "a condition's tests are read from its attributes once per style element")
def _conditions() -> None:
    """``cs:if``/``cs:else-if`` as citeproc-py evaluates them (the same tests, in the same
    order, with the same ``match``), without re-reading and re-splitting the attributes on
    every entry: an APA entry evaluates about a hundred conditions."""

    tests = _if_tests

    def holds(self: Any, item: Any, context: Any) -> bool:
        spec = self.__dict__.get("_tests")
        types, variables, others, match = spec if spec is not None else tests(self)
        if not others:  # type and variable tests only (no side effects: answered early)
            reference = item.reference
            if match == "any" or match == "none":
                found = (types is not None and reference.type in types) or (
                    variables is not None
                    and any(
                        ("locator" in item) if v == "locator" else dict.__contains__(reference, v)
                        for v in variables
                    )
                )
                return found if match == "any" else not found
            if types is not None and any(t != reference.type for t in types):
                return False
            return variables is None or all(
                ("locator" in item) if v == "locator" else dict.__contains__(reference, v)
                for v in variables
            )
        results: list[Any] = []
        if types is not None:
            kind = item.reference.type
            results += [t == kind for t in types]
        if variables is not None:
            reference = item.reference
            results += [
                ("locator" in item) if v == "locator" else (v in reference) for v in variables
            ]
        for name in others:
            if name == "is-numeric":
                results += self._is_numeric(item)
            elif name == "is-uncertain-date":
                results += self._is_uncertain_date(item)
            elif name == "locator":
                results += self._locator(item)
            else:
                results += self._position(item, context)
        if match == "any":
            return any(results)
        if match == "none":
            return not any(results)
        return all(results)

    def render(self: Any, item: Any, context: Any = None, delimiter: str = "", **kwargs: Any):
        if not holds(self, item, context):
            raise model.ConditionFailed
        return self.render_children(item, context=context, delimiter=delimiter, **kwargs)

    model.If.holds = holds
    model.If.render = render


class RegisteredKeys(list):
    """citeproc-py's list of a bibliography's keys (``CitationStylesBibliography.keys``) with
    ``in`` and ``index`` by a dict: ``register`` tests every key with ``in``, and every
    citation number (``CitationItem.number``) and every citation's order is ``index``, so a
    whole-list numbered bibliography of n entries cost n² comparisons."""

    def __init__(self, keys: Any = ()) -> None:
        super().__init__(keys)
        self._reindex()

    def _reindex(self) -> None:
        self._at: dict[Any, int] = {}
        for i, key in enumerate(self):
            self._at.setdefault(key, i)

    def append(self, key: Any) -> None:
        self._at.setdefault(key, len(self))
        super().append(key)

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def index(self, key: Any, *bounds: Any) -> int:
        if bounds or key not in self._at:
            return super().index(key, *bounds)  # (ValueError as a list raises it)
        return self._at[key]

    def _changed(method: Any) -> Any:  # type: ignore[misc]
        def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
            out = method(self, *args, **kwargs)
            self._reindex()
            return out

        return changed

    extend = _changed(list.extend)
    insert = _changed(list.insert)
    remove = _changed(list.remove)
    pop = _changed(list.pop)
    clear = _changed(list.clear)
    sort = _changed(list.sort)
    reverse = _changed(list.reverse)
    __setitem__ = _changed(list.__setitem__)
    __delitem__ = _changed(list.__delitem__)
    __iadd__ = _changed(list.__iadd__)
    del _changed


@correction("—", "a bibliography's registered keys are looked up by a dict, not a list scan")
def _registered_keys() -> None:
    from citeproc import frontend

    bibliography = frontend.CitationStylesBibliography
    original_init, original_sort = bibliography.__init__, bibliography.sort

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.keys = RegisteredKeys(self.keys)

    def sort(self: Any) -> None:
        original_sort(self)
        self.keys = RegisteredKeys(self.keys)

    bibliography.__init__ = init
    bibliography.sort = sort


# ---------------------------------------------------------------------------------------------
# Rendering elements


def _text_spec(self: Any) -> tuple[str | None, bool, str, str | None]:
    """(variable, strip-periods, kind of text, what process renders), read once."""
    found = self.__dict__.get("_text")
    if found is None:
        attrib = self.attrib
        variable = self.get("variable")
        if variable is None or "macro" in attrib:
            kind = "macro" if "macro" in attrib else "term"
        elif variable in VERBATIM:
            kind = "verbatim"
        elif variable in NUMBER_VARIABLES and variable != "citation-number":
            kind = "number"
        else:
            kind = "data"
        source = next((a for a in ("variable", "macro", "term", "value") if a in attrib), None)
        strip = self.get("strip-periods", "false").lower() == "true"
        found = self.__dict__["_text"] = (variable, strip, kind, source)
    return found


@correction(
    "Rendering Elements › Text; rich text in CSL-JSON fields (citeproc-js's markup)",
    "variables are cased on their markup, then read as rich text (<i>, <b>, <sup>, <sub>, "
    "small caps, nocase, nodecor, quotes, apostrophes); strip-periods keeps “e.g”",
)
def _text_variables() -> None:
    spec = _text_spec

    def render(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        text, language = self.process(item, *args, **kwargs)
        if text is None or text == "":
            return None
        variable, strip, kind, _ = spec(self)
        text = str(text)
        if strip:
            text = strip_periods(text)
        text = str(self.case(text, language))
        if kind == "data":
            text = STATE.read(text)
        elif kind == "term":
            text = _term_text(text, _quotes(self))
        elif kind == "verbatim" and STATE.verbatim is not None:
            text = STATE.verbatim(variable, text)
        elif kind == "verbatim":
            text = STATE.escape(text)
        elif kind == "number" and not variable.startswith("page") and variable != "locator":
            text = STATE.escape(_number_text(self, text, variable))  # (pages: _process did it)
        text = self.format(text)
        return self.wrap(self.quote(text))

    model.Text.render = render
    model.Text.markup = lambda self, text, language=None: text  # (render does it all)

    original_process = model.Text.process

    def process(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        # citeproc-py's Text.process (the same lookups), and the item's language as read here
        source = spec(self)[3]
        if source is None:  # (citeproc-py fails as it always did)
            return original_process(self, item, context, **kwargs)
        if context is None:
            context = self
        value = dict.get(item.reference, "language")  # (what reference.language reads)
        if value is None:
            default = self.get_root().get("default-locale")
            language = (default if default is not None else "en")[:2]
            lang = (default or "en")[:2].lower()
        else:
            language = value[:2]
            lang = str(value)[:2].lower()
        if source == "variable":
            text = self._variable(item, context)
        elif source == "macro":
            text = self.get_macro(self.get("macro")).render(item, context)
        elif source == "term":
            text = self._term(item)
        else:
            text = String(self.preformat(self.get("value")))
        return text, lang or language

    model.Text.process = process


@functools.lru_cache(maxsize=4096)
def _term_text(text: str, quotes: tuple[str, str, str, str]) -> str:
    """A term as rich text (pure: a style prints the same few terms on every entry)."""
    return richtext.read_csl(text, quotes)


@functools.lru_cache(maxsize=8192)
def _cased(text_case: str, text: str) -> str:
    """``textcase`` (pure): the same titles and terms are cased for sort keys and entries."""
    return textcase.TEXT_CASES[text_case](text)


def _number_text(element: Any, value: str, variable: str) -> str:
    """A number variable printed by cs:text: ranges as citeproc-js prints them."""
    delimiter = str(element.get_single_term("page-range-delimiter") or "") or "\u2013"
    return numbers.render(value, variable, delimiter=delimiter)


def _quotes(element: Any) -> tuple[str, str, str, str]:
    root = element.get_root()
    cached = root.__dict__.get("_quote_marks")
    if cached is None:
        cached = tuple(
            str(root.get_single_term(name) or "") or default
            for name, default in (
                ("open-quote", "“"),
                ("close-quote", "”"),
                ("open-inner-quote", "‘"),
                ("close-inner-quote", "’"),
            )
        )
        root.__dict__["_quote_marks"] = cached
    return cached


@correction(
    "Formatting › Text-case",
    "citeproc-js's case engine: markup and quotes split words; nocase, small caps, sup and "
    "sub keep their case; stop words; words holding capitals left alone; title case only "
    "for English",
)
def _text_case() -> None:
    original_case = model.TextCased.case

    def case(self: Any, text: Any, language: str | None = None) -> Any:
        text_case = self.__dict__.get("_text_case", _UNSET)
        if text_case is _UNSET:
            text_case = self.__dict__["_text_case"] = self.get("text-case")
        if text_case is None:  # (citeproc-py's case leaves the text as it is)
            return text
        if text_case in textcase.TEXT_CASES:
            if text_case == "title" and language and language != "en":
                return text
            return String(_cased(text_case, str(text)))
        return original_case(self, text, language)

    model.TextCased.case = case


@correction(
    "Formatting; Display",
    "formatting as marks (font-style, -variant, -weight, text-decoration, vertical-align, "
    "including the “normal” values), resolved per output with flip-flop; display="
    "block/left-margin/right-inline/indent kept",
)
def _formatting() -> None:
    def format(self: Any, string: Any) -> Any:
        if isinstance(string, (int, float)):
            string = str(string)
        if string is None:
            return None
        text = str(string)
        marks = self.__dict__.get("_marks")
        if marks is None:
            marks = self.__dict__["_marks"] = tuple(
                richtext.STYLE_MARKS[(attribute, value)]
                for attribute in _DECORATIONS
                if (value := self.get(attribute)) and (attribute, value) in richtext.STYLE_MARKS
            )
        for open_, close in marks:
            text = open_ + text + close
        return String(text)

    model.Formatted.format = format


@correction(
    "Formatting › Quotes; Localized punctuation-in-quote",
    'quotes="true" become quote marks resolved at the end, where nesting is known '
    "(outer and inner alternate)",
)
def _quotes_marks() -> None:
    def quote(self: Any, string: Any) -> Any:
        quoted = self.__dict__.get("_quoted")
        if quoted is None:
            quoted = self.__dict__["_quoted"] = self.get("quotes", "false").lower() == "true"
        if quoted:
            return richtext.QUOTE_OUTER_OPEN + str(string) + richtext.QUOTE_OUTER_CLOSE
        return string

    model.Quoted.quote = quote


@correction(
    "Affixes",
    "the prefix of a decorated element is marked: punctuation-in-quote never moves into it "
    "(“Title”, in *Book*)",
)
def _affixes() -> None:
    def affixes(self: Any) -> tuple[str, str, Any]:
        """(prefix as wrapped, suffix, display marks), read once per style element."""
        found = self.__dict__.get("_affixes")
        if found is None:
            prefix = self.get("prefix")
            if (
                prefix
                and prefix[0] in ".,"
                and any(
                    self.get(a, "normal") not in ("normal", "none", "baseline")
                    for a in _DECORATIONS
                )
            ):
                prefix = prefix[0] + PREFIX_MARK + prefix[1:]
            found = self.__dict__["_affixes"] = (
                prefix or "",
                self.get("suffix", ""),
                DISPLAY.get(self.get("display")),  # type: ignore[arg-type]
            )
        return found

    def wrap(self: Any, string: Any) -> Any:
        if string is None:
            return None
        prefix, suffix, display = affixes(self)
        if not prefix and not suffix and type(string) in _PLAIN:
            text = string  # (what citeproc-py's wrap gives: "" + s + "" is s, of its type)
        else:  # citeproc-py's Affixed.wrap
            string = normalize_seam(prefix, string)
            text = prefix + string
            text = text + normalize_seam(text, suffix)
        if text is not None and display is not None:  # (Display: the affixes go inside)
            text = String(display[0] + str(text) + display[1])
        return text

    model.Affixed.wrap = wrap


@correction(
    "Rendering Elements › Date › Localized Date Formats",
    "localized dates join their parts with the locale's delimiters (“2009 Jun”)",
)
def _localized_dates() -> None:
    def render_single_date(self: Any, date: Any, show_parts: Any = None, context: Any = None):
        if context != self:
            parts = self.parts(date, show_parts, context)
        else:
            parts = self.parts(date, show_parts)
        return self.join(parts) if parts else None

    model.Date.render_single_date = render_single_date


@correction(
    "Rendering Elements › Number; Range Delimiters; Appendix V › Page Range Formats",
    "ranges of plain numbers in page, locator, issue, volume, edition and number take the "
    "en dash; page-range-format as citeproc-js applies it; ranges it cannot read stay as typed",
)
def _number_ranges() -> None:
    def process_number(self: Any, value: Any, variable: str) -> Any:
        root = self.get_root()
        delimiter = str(self.get_single_term("page-range-delimiter") or "") or "\u2013"
        if variable == "page-first":
            first = numbers.split(str(value), "page")[0].text
            return STATE.escape(self.format_number(first))
        name = "page" if variable.startswith("page") else variable
        text = numbers.render(
            str(value),
            name,
            delimiter=delimiter,
            range_format=root.get_option("page-range-format") if name == "page" else None,
            number=lambda n: str(self.format_number(n)),
            ampersand="&",
        )
        return STATE.escape(text)

    model.FormatNumber._process = process_number

    def number_markup(self: Any, text: Any) -> Any:
        if text:
            text = str(text)
            if self.get("strip-periods", "false").lower() == "true":
                text = strip_periods(text)
            return self.wrap(self.format(self.case(text)))
        return None

    model.Number.markup = number_markup


@correction(
    "Choose › is-numeric",
    "numbers with prefixes and suffixes, ranges and lists (“155-158”, “2, 4”, “S12”) are "
    "numeric (CSL 1.0.1)",
)
def _is_numeric() -> None:
    model.If.re_numeric = re.compile(r"^[a-z]*\d+[a-z]*(?:\s*[-–,&]\s*[a-z]*\d+[a-z]*)*$", re.I)


@correction(
    "Choose › disambiguate",
    'disambiguate="true" holds for items that disambiguation could not tell apart otherwise',
)
def _disambiguate_condition() -> None:
    holds = model.If.holds

    def render(self: Any, item: Any, context: Any = None, delimiter: str = "", **kwargs: Any):
        plain_if = self.__dict__.get("_plain_if")
        if plain_if is None:
            plain_if = self.__dict__["_plain_if"] = "disambiguate" not in self.attrib
        if plain_if:
            if not holds(self, item, context):
                raise model.ConditionFailed
            return self.render_children(item, context=context, delimiter=delimiter, **kwargs)
        wanted = self.get("disambiguate").lower() == "true"
        held = bool(STATE.request and STATE.request.disambiguate)
        others = {k: v for k, v in self.attrib.items() if k not in ("disambiguate", "match")}
        if not others:
            if held != wanted:
                raise model.ConditionFailed
            return self.render_children(item, context=context, delimiter=delimiter, **kwargs)
        match = self.get("match", "all")
        if holds(self, item, context):  # (the other tests' children render, as they did)
            self.render_children(item, context=context, delimiter="", **kwargs)
            rest = True
        else:
            rest = False
        results = [held == wanted, rest]
        ok = {"any": any(results), "none": not any(results)}.get(match, all(results))
        if not ok:
            raise model.ConditionFailed
        return self.render_children(item, context=context, delimiter=delimiter, **kwargs)

    model.If.render = render
    model.Else_If.render = render


@correction(
    "Rendering Elements › Label",
    "no label for an empty variable; plural only when the value holds several numbers",
)
def _labels() -> None:
    original_label = model.Label.process

    def label(self: Any, item: Any, variable: Any = None, plural: Any = None, *args: Any, **kw):
        if STATE.area == "sort" and self.getparent().tag.endswith("}names"):
            return None  # (Sorting: a name list sorts without its label, as in citeproc-js)
        if variable is None:
            name = self.get("variable") or ""
            value = item.reference.get(name.replace("-", "_"))
            if name != "locator" and value in (None, ""):
                return None
            if plural is None and name != "locator" and value is not None:
                if name.startswith("number-of-"):
                    try:
                        plural = int(str(value)) > 1
                    except ValueError:
                        plural = numbers.is_plural(str(value), name)
                else:
                    plural = numbers.is_plural(str(value), name)
        return original_label(self, item, variable, plural, *args, **kw)

    model.Label.process = label


def _counted(process: Any, variable_of: Any) -> Any:
    def wrapper(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        variable = variable_of(self)
        counts = variable not in (None, "year-suffix")
        tally = STATE.tally
        if counts:
            tally.called += 1
        text = process(self, item, *args, **kwargs)
        if counts and text not in (None, ""):
            tally.rendered += 1
            if tally.substituting and tally.layout is not None and variable != "?":
                # Substitute: what renders in place of the names is not rendered again
                repressed = tally.layout.repressed
                for name in variable.split():
                    for tag in (model.Names, model.Text):
                        key = "{http://purl.org/net/xbiblio/csl}" + tag.__name__.lower()
                        repressed.setdefault(key, [])
                        if name not in repressed[key]:
                            repressed[key].append(name)
        return text

    wrapper.__wrapped__ = process  # type: ignore[attr-defined]
    return wrapper


@correction(
    "Rendering Elements › Group",
    "a group is suppressed when it calls variables and all are empty, wherever they are "
    "called (inside cs:choose or a macro); a macro whose variables are all empty renders "
    "nothing",
)
def _group_suppression() -> None:
    model.Text._variable = _counted(model.Text._variable, lambda el: el.get("variable"))
    for cls in (model.Number, model.Date, model.Names):
        cls.process = _counted(cls.process, lambda el: el.get("variable") or "?")

    original_group = model.Group.process

    def group(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        if _renders_nothing(self, item):  # (none of its variables: see _absent_plan)
            raise model.VariableError
        tally = STATE.tally
        called, rendered = tally.called, tally.rendered
        text = original_group(self, item, *args, **kwargs)  # raises VariableError when empty
        if tally.called > called and tally.rendered == rendered:
            raise model.VariableError
        if text not in (None, ""):  # what renders counts for the enclosing group
            tally.called += 1
            tally.rendered += 1
        return text

    model.Group.process = group

    original_macro = model.Macro.render

    def macro(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        if _renders_nothing(self, item):  # (as for a group)
            return None
        tally = STATE.tally
        called, rendered = tally.called, tally.rendered
        text = original_macro(self, item, *args, **kwargs)
        if tally.called > called and tally.rendered == rendered:
            return None
        if text not in (None, ""):
            tally.called += 1
            tally.rendered += 1
        return text

    model.Macro.render = macro


# ---------------------------------------------------------------------------------------------
# Names


# Variables a cs:text, cs:number, cs:date or cs:label prints that do not come from the item.
_NOT_DATA = frozenset(
    {"citation-number", "locator", "first-reference-note-number", "citation-label"}
)


NEVER, MAYBE, ALWAYS = 0, 1, 2  # whether rendering calls a counted variable (_plan)


def _renders_nothing(element: Any, item: Any) -> bool:
    """Whether ``element`` (a cs:group, cs:macro or cs:choose) renders nothing for ``item``
    because the item has none of the variables it would read (``_absent_plan``); if so, what
    rendering it would have counted is counted."""
    plans = element.__dict__.get("_absent")
    if plans is None:
        tested = _tested_variables(element)
        plans = element.__dict__["_absent"] = [tested, {}, 0] if tested is not None else False
    if plans is False:
        return False
    reference = item.reference
    have = dict.keys(reference)
    tested, known, misses = plans
    kind = dict.get(reference, "type")
    present = tuple(map(have.__contains__, tested))
    plan = known.get((kind, present))
    if plan is None:
        if len(known) >= _MAX_PLANS:  # (kept bounded, whatever the data)
            element.__dict__["_absent"] = False
            return False
        plan = known[kind, present] = _absent_plan(
            element, kind, dict(zip(tested, present, strict=True))
        )
    if plan is not False:
        if plan[0].isdisjoint(have):
            if plan[1]:
                STATE.tally.called += 1
            plans[2] = 0
            return True
    if misses >= _GIVE_UP:  # (an element that never renders nothing is rendered at once)
        element.__dict__["_absent"] = False
    plans[2] = misses + 1
    return False


_GIVE_UP = 400  # renders in a row that could not be skipped, before an element stops trying
_MAX_PLANS = 256  # plans (type and tested variables present) kept per element
_MAX_TESTED = 24  # variables tested in conditions, beyond which an element is not planned


def _tested_variables(element: Any) -> tuple[str, ...] | None:
    """The variables the conditions inside ``element`` test (through its macros), in order,
    as a reference stores them; ``None`` when there are too many to key plans on."""
    found: dict[str, None] = {}
    seen: set[int] = set()

    def walk(el: Any) -> None:
        if isinstance(el, model.If):
            for test in ("variable", "is-numeric", "is-uncertain-date"):
                for variable in (el.get(test) or "").split():
                    found[variable.replace("-", "_")] = None
        if isinstance(el, model.Text) and "macro" in el.attrib:
            try:
                macro = el.get_macro(el.get("macro"))
            except IndexError:
                return
            if id(macro) not in seen:
                seen.add(id(macro))
                walk(macro)
            return
        for child, _ in children(el):
            walk(child)

    walk(element)
    return tuple(found) if len(found) <= _MAX_TESTED else None


def _absent_plan(
    element: Any, kind: Any, present: dict[str, bool]
) -> tuple[frozenset[str], bool] | bool:
    """For a cs:group, cs:macro or cs:choose that renders nothing for an item of type ``kind``
    that has none of the variables it reads: those variables (as a reference stores them) and
    whether rendering it calls a counted variable; ``False`` otherwise.

    Read from the style once per type, by walking the element as citeproc-py would for such
    an item: a condition on the type is decided, one on a variable is false (the variable is
    read, so it joins the set), and only the branch taken is followed. Every cs:text,
    cs:number, cs:date and cs:label with a variable then renders nothing, and a group that
    calls variables and renders none is suppressed (citeproc-py's rule), so the element
    renders nothing. Skipping it must leave the counts that the enclosing group's and
    macro's suppression read as they would have been: whether a counted variable is called
    is known on the one path. A cs:names without its variables renders no name (so none is
    counted by position); one with a cs:substitute is never planned, nor are variables that
    are not the item's (locator, citation-number) or conditions that are not on the item's
    data (position, disambiguate, locator)."""
    variables: set[str] = set()
    if isinstance(element, model.Macro):  # (its children, rendered one by one)
        plan = _sequence(element, variables, set(), kind, present)
    else:
        plan = _plan(element, variables, set(), kind, present)
    if plan is None or not plan[0] or plan[1] == MAYBE:
        return False
    return frozenset(variables), plan[1] == ALWAYS


def _sequence(
    parent: Any, variables: set[str], visiting: set[int], kind: Any, present: dict[str, bool]
) -> tuple[bool, int] | None:
    """_plan of children rendered one after the other (a macro, a branch of cs:choose)."""
    plans = [_plan(child, variables, visiting, kind, present) for child, _ in children(parent)]
    if any(p is None for p in plans):
        return None
    visits = [p[1] for p in plans]  # type: ignore[index]
    calls = ALWAYS if ALWAYS in visits else MAYBE if MAYBE in visits else NEVER
    return all(p[0] for p in plans), calls  # type: ignore[index]


def _branch_holds(
    branch: Any, variables: set[str], kind: Any, present: dict[str, bool]
) -> bool | None:
    """Whether a cs:if / cs:else-if holds for an item of type ``kind`` that has the tested
    variables ``present`` says; ``None`` when that cannot be told without their values."""
    attrib = branch.attrib
    if any(a in attrib for a in ("disambiguate", "position", "locator")):
        return None
    results: list[bool] = []
    if "type" in attrib:
        results += [t.lower() == kind for t in branch.get("type").split()]
    for test in ("variable", "is-numeric", "is-uncertain-date"):
        if test in attrib:
            for variable in branch.get(test).split():
                stored = variable.replace("-", "_")
                if variable == "locator" or stored not in present:
                    return None
                if present[stored]:
                    if test != "variable":
                        return None  # (numeric, uncertain: the value decides)
                    results.append(True)
                else:
                    results.append(False)  # (absent: not there, not numeric, not uncertain)
    match = branch.get("match")
    if match == "any":
        return any(results)
    if match == "none":
        return not any(results)
    return all(results)


def _plan(
    element: Any, variables: set[str], visiting: set[int], kind: Any, present: dict[str, bool]
) -> tuple[bool, int] | None:
    """(renders nothing for an item of type ``kind`` with the tested variables ``present``
    says and without ``variables``, whether it calls a counted variable: NEVER or ALWAYS),
    collecting the variables; ``None`` for what cannot be planned."""
    there = False  # a variable it prints is present: it may print something

    def add(variable: str) -> None:
        nonlocal there
        stored = variable.replace("-", "_")
        if present.get(stored):
            there = True
        else:
            variables.add(stored)

    if isinstance(element, model.Text):
        attrib = element.attrib
        if "variable" in attrib:
            variable = element.get("variable")
            if variable in _NOT_DATA:
                return None
            add(variable)
            if element.get("form") == "short":
                add(variable + "-short")
            if variable.startswith("page"):
                add("page")
            return not there, NEVER if variable == "year-suffix" else ALWAYS
        if "macro" in attrib:
            try:
                macro = element.get_macro(element.get("macro"))
            except IndexError:
                return None
            if id(macro) in visiting:
                return None
            visiting.add(id(macro))
            try:
                return _sequence(macro, variables, visiting, kind, present)
            finally:
                visiting.discard(id(macro))
        if "term" in attrib or "value" in attrib:
            return False, NEVER  # (a term may print nothing: "not empty" is only cautious)
        return None
    if isinstance(element, (model.Number, model.Date)):
        variable = element.get("variable")
        if not variable or variable in _NOT_DATA:
            return None
        add(variable)
        if variable.startswith("page"):
            add("page")
        return not there, ALWAYS
    if isinstance(element, model.Label):
        variable = element.get("variable")
        if not variable or variable in _NOT_DATA:
            return None
        add(variable)
        return not there, NEVER
    if isinstance(element, model.Names):
        # without any of its variables a cs:names renders no name (none is counted by
        # position) and fails, unless it has a cs:substitute
        if element.find("cs:substitute", element.nsmap) is not None:
            return None
        roles = (element.get("variable") or "").split()
        if not roles:
            return None
        for role in roles:
            add(role)
        if there:  # (a name list renders: never planned, it is counted by position)
            return None
        return True, ALWAYS
    if isinstance(element, model.Group):
        plans = [_plan(child, variables, visiting, kind, present) for child, _ in children(element)]
        if any(p is None for p in plans):
            return None
        every = all(p[0] for p in plans)  # type: ignore[index]
        calling = [
            p
            for (child, _), p in zip(children(element), plans, strict=True)
            if child.calls_variable()
        ]
        empty = every or bool(calling and all(p[0] for p in calling))  # type: ignore[index]
        visits = [p[1] for p in plans]  # type: ignore[index]
        return empty, ALWAYS if ALWAYS in visits else MAYBE if MAYBE in visits else NEVER
    if isinstance(element, model.Choose):
        for branch, _ in children(element):
            if isinstance(branch, model.Else):
                return _sequence(branch, variables, visiting, kind, present)
            if not isinstance(branch, model.If):
                return None
            holds = _branch_holds(branch, variables, kind, present)
            if holds is None:
                return None
            if holds:
                return _sequence(branch, variables, visiting, kind, present)
        return True, NEVER  # (no branch taken)
    return None


@correction(
    "Rendering Elements › Names › Name (delimiter-precedes-et-al, delimiter-precedes-last)",
    "“after-inverted-name” (CSL 1.0.1) is understood",
)
def _after_inverted_name() -> None:
    original_name_option = model.Name.get_option

    def name_option(self: Any, name: str, context: Any = None, sort_options: Any = None) -> Any:
        value = original_name_option(self, name, context, sort_options)
        if value == "after-inverted-name":
            order = original_name_option(self, "name-as-sort-order", context, sort_options)
            if name == "delimiter-precedes-et-al":
                first = original_name_option(self, "et-al-use-first", context, sort_options)
                inverted = order == "all" or (order == "first" and int(first) == 1)
            else:  # delimiter-precedes-last: the name before the last is inverted
                inverted = order == "all"
            value = "always" if inverted else "never"
        return value

    model.Name.get_option = name_option


@correction(
    "Rendering Elements › Names › Name; Name-part Order; Name Particles; "
    "Disambiguation (add-names, add-givenname)",
    "names read as citeproc-js reads CSL-JSON (particles out of given and family names, "
    "suffixes); citeproc-js's initialisation (“Jae-sung” → “J.”, “Th.” kept); parts ordered "
    "by script; "
    "et-al with use-first 0 and use-last; the names and given-name levels disambiguation "
    "asks for, in citations and in the bibliography",
)
def _names() -> None:
    model.Name.process = _name_process


def _name_options(self: Any, opt: Callable[[str], Any], context: Any) -> csl_names.NameOptions:
    citation = self.get_root().find("cs:citation", self.nsmap)
    rule = citation.get("givenname-disambiguation-rule") if citation is not None else None
    return csl_names.NameOptions(
        form=opt("form"),
        initialize_with=opt("initialize-with"),
        initialize=(inherited(self, "initialize", context) or "true") != "false",
        hyphen=opt("initialize-with-hyphen"),
        name_as_sort_order=opt("name-as-sort-order"),
        sort_separator=opt("sort-separator"),
        demote=self.get_root().get("demote-non-dropping-particle", "display-and-sort"),
        with_initials=bool(rule and rule.endswith("-with-initials")),
        locale=STATE.locale,
    )


def _part(element: Any, text: str | None) -> str | None:
    """A name part read as data, cased and formatted by its cs:name-part (affixes apart)."""
    if not text:
        return text
    text = STATE.tally.read(text)
    if element is not None:
        text = str(element.format(element.case(text)))
    return text


def _name_process(
    self: Any, item: Any, variable: str, context: Any = None, sort_options: Any = None, **kw: Any
) -> Any:
    st = STATE.tally  # (this thread's fields: see state.Fields)
    # The options are the element's, inherited from its context, or the sort key's: read
    # once per (element, context, sort options) and kept on the element.
    memos = self.__dict__.setdefault("_name_memo", {})
    memo_key = (context, tuple(sorted(sort_options.items())) if sort_options else None)
    memo = memos.get(memo_key)
    if memo is None:
        memo = memos[memo_key] = {}

    def opt(name: str) -> Any:
        found = memo.get(name, _UNSET)
        if found is _UNSET:
            found = memo[name] = self.get_option(name, context, sort_options)
        return found

    def inherit(name: str) -> Any:
        key = ("inherited", name)
        found = memo.get(key, _UNSET)
        if found is _UNSET:
            found = memo[key] = inherited(self, name, context)
        return found

    et_al_min, use_first = opt("et-al-min"), opt("et-al-use-first")
    if inherit("et-al-use-first") is None and not (sort_options or {}).get("et-al-use-first"):
        et_al_min = 0  # citeproc-js: no et-al-use-first anywhere, no truncation
    if st.area == "citation" and st.position == "subsequent":
        sub_min = inherit("et-al-subsequent-min")
        sub_first = inherit("et-al-subsequent-use-first")
        et_al_min = int(sub_min) if sub_min is not None else et_al_min
        use_first = int(sub_first) if sub_first is not None else use_first
    use_last = opt("et-al-use-last")
    options = memo.get(("options", st.locale))
    if options is None:
        options = memo[("options", st.locale)] = _name_options(self, opt, context)
    names = item.reference.get(variable, []) or []
    pos = st.nameset
    st.nameset += 1
    count = len(names)
    request = st.request if st.area != "sort" else None
    shown = count
    if et_al_min and count >= et_al_min:
        shown = use_first
    asked = request.names[pos] if request and pos < len(request.names) else 0
    if st.area == "citation" and asked:
        shown = asked
    elif st.area == "bibliography" and st.add_names and asked > use_first:
        shown = count if count < et_al_min else asked
    if use_last and et_al_min and shown > et_al_min - 2 and count >= et_al_min:
        shown = et_al_min - 2
    shown = min(shown, count)
    truncated = count > shown and (et_al_min >= use_first or not et_al_min)
    if shown <= 0:
        return None
    if st.capture is not None and st.maxvals is not None:
        while len(st.capture.names) <= pos:
            st.capture.names.append(0)
            st.capture.givens.append([])
            st.maxvals.append(0)
        st.capture.names[pos] = shown
        st.maxvals[pos] = count
    if options.form == "count":
        return shown if truncated else count

    name_parts = self.__dict__.get("_name_parts")
    if name_parts is None:
        parts = {p.get("name"): p for p in self.findall("cs:name-part", self.nsmap)}
        given_el, family_el = parts.get("given"), parts.get("family")
        affixes = {
            key: ((el.get("prefix") or ""), (el.get("suffix") or ""))
            if el is not None
            else ("", "")
            for key, el in (("given", given_el), ("family", family_el))
        }
        name_parts = self.__dict__["_name_parts"] = (given_el, family_el, affixes)
    given_el, family_el, affixes = name_parts
    language = str(item.reference.get("language") or "")
    selected = list(names[:shown])
    if truncated and use_last:
        selected.append(names[-1])
    output = []
    inverted = []
    for i, name in enumerate(selected):
        index = i if not (truncated and use_last and i == len(selected) - 1) else count - 1
        output.append(
            _render_name(self, name, options, pos, index, language, given_el, family_el, affixes)
        )
        order = options.name_as_sort_order
        inverted.append(
            "literal" not in name
            and options.form == "long"
            and (order == "all" or (order == "first" and index == 0))
        )
    if st.area == "sort":  # citeproc-js: names only, no "and", no "et al."
        return " ".join(output)
    if st.collecting is not None:
        first = not st.collecting
        output = _substitute_names(output)
        if (
            first
            and st.substitute_rule == "complete-all"
            and st.previous_entry
            and st.collecting == st.previous_entry
        ):
            return String(st.substitute)  # the names, "and" and "et al." (not the label)
    and_ = opt("and")
    delimiter = opt("delimiter")
    if truncated and use_last:
        ellipsis = self.unicode_character("horizontal ellipsis")
        return join(output[:-1], delimiter) + delimiter + ellipsis + " " + output[-1]
    if truncated:
        et_al = self.et_al()
        if not et_al:
            return join(output, delimiter)
        precedes = opt("delimiter-precedes-et-al")
        if inherit("delimiter-precedes-et-al") == "after-inverted-name":
            precedes = "always" if inverted[-1] else "never"
        if precedes == "always" or (precedes == "contextual" and len(output) >= 2):
            return join([*output, et_al], delimiter)
        return join(output, delimiter) + " " + et_al
    if and_ is not None and len(output) > 1:
        and_term = self.get_single_term("and") if and_ == "text" else "&"
        precedes = opt("delimiter-precedes-last")
        if inherit("delimiter-precedes-last") == "after-inverted-name":
            precedes = "always" if inverted[-2] else "never"
        text = join(output[:-1], delimiter)
        if precedes == "always" or (precedes == "contextual" and len(output) > 2):
            text = text + delimiter
        else:
            text = text + " "
        return text + f"{and_term} " + output[-1]
    return join(output, delimiter)


def _substitute_names(output: list[str]) -> list[str]:
    """Reference Grouping: record the names an entry's first cs:names renders and, for the
    rules that substitute name by name, replace those matching the previous entry's."""
    assert STATE.collecting is not None
    STATE.collecting.extend(plain(n) for n in output)
    previous = STATE.previous_entry or []
    rule = STATE.substitute_rule
    if not previous or STATE.substitute is None:
        return output
    names = [plain(n) for n in output]
    if rule == "complete-all":
        return output  # (decided by the caller: the whole list or nothing)
    if rule == "complete-each":
        return [STATE.substitute] * len(output) if names == previous else output
    out = list(output)
    for i, name in enumerate(names):
        if i >= len(previous) or name != previous[i] or (rule == "partial-first" and i > 0):
            break
        out[i] = STATE.substitute
    return out


def _sortable(particle: str | None) -> str | None:
    """citeproc-js drops an apostrophe from a particle in sort keys ("'t Hooft" → "t")."""
    if particle and STATE.tally.area == "sort":
        return re.sub("['\u2019]", "", particle, count=1)
    return particle


def _render_name(
    self: Any,
    name: Any,
    options: csl_names.NameOptions,
    pos: int,
    index: int,
    language: str,
    given_el: Any,
    family_el: Any,
    affixes: dict[str, tuple[str, str]],
) -> str:
    st = STATE.tally  # (this thread's fields: see state.Fields)
    if "literal" in name:
        text = _part(family_el, name["literal"]) or ""
        return affixes["family"][0] + text + affixes["family"][1] if text else text
    requested = 0
    request = st.request if st.area != "sort" else None
    if request and pos < len(request.givens) and index < len(request.givens[pos]):
        if st.area == "citation" or st.add_givenname:
            requested = request.givens[pos][index]
    if st.area == "citation" and st.evalname is not None:
        requested = st.evalname(st.item_key, name, index, requested, options)
    level = csl_names.given_level(options, requested)
    if st.capture is not None and st.area == "citation":
        while len(st.capture.givens) <= pos:
            st.capture.givens.append([])
        givens = st.capture.givens[pos]
        while len(givens) <= index:
            givens.append(0)
        givens[index] = requested if requested else csl_names.given_level(options, 0)
    given = csl_names.shown_given(name, options, level)
    if options.form != "long" and level == 0:
        given = None
    parts = csl_names.NameParts(
        given=_part(given_el, given),
        family=_part(family_el, name.get("family") or "") or "",
        dropping=_part(given_el, name.get("dropping-particle")),
        non_dropping=_part(family_el, _sortable(name.get("non-dropping-particle"))),
        suffix=st.read(csl_names.shown_suffix(name, options) or "") or None,
        comma_suffix=bool(name.get("comma-suffix")),
        comma_dropping=name.get("comma-dropping-particle", ""),
    )
    if options.form != "long":
        family = csl_names._join([parts.non_dropping, parts.family], " ")
        if given and level > 0:
            return csl_names.order(
                parts,
                options,
                inverted=False,
                script=csl_names.romanesque(name, language),
                given_affixes=affixes["given"],
                family_affixes=affixes["family"],
            )
        return affixes["family"][0] + family + affixes["family"][1] if family else family
    order = options.name_as_sort_order
    inverted = st.area == "sort" or order == "all" or (order == "first" and index == 0)
    return csl_names.order(
        parts,
        options,
        inverted=inverted,
        script=csl_names.romanesque(name, language),
        given_affixes=affixes["given"],
        family_affixes=affixes["family"],
        sort=st.area == "sort",
    )


# ---------------------------------------------------------------------------------------------
# Bibliography


@correction(
    "Bibliography-specific Options › Whitespace (second-field-align); Reference Grouping "
    "(subsequent-author-substitute); Disambiguation (year-suffix)",
    "second-field-align splits the entry into left-margin and right-inline; "
    "subsequent-author-substitute replaces repeated names (complete-all, complete-each, "
    "partial-each, partial-first); an implicit year-suffix follows the first year",
)
def _bibliography_layout() -> None:
    original_names = model.Names.render

    def names(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            STATE.tally.seen
            or STATE.substitute is None
            or STATE.area != "bibliography"
            or STATE.collecting is not None  # a cs:names inside cs:substitute
        ):
            return original_names(self, item, *args, **kwargs)
        STATE.collecting = []
        STATE.substituted = False
        try:
            text = original_names(self, item, *args, **kwargs)
        finally:
            rendered, STATE.collecting = STATE.collecting, None
        if text is None and not rendered:
            return text
        STATE.seen = True
        STATE.previous = rendered or [plain(text)]  # a substituted title counts as names
        if text is None:  # (its names were replaced by an empty subsequent-author-substitute)
            return text
        if (  # a substituted title (no names) is replaced whole, whatever the rule
            not rendered
            and STATE.substituted
            and STATE.previous_entry is not None
            and STATE.previous == STATE.previous_entry
        ):
            return String(STATE.substitute)
        return text

    model.Names.render = names

    original_date_part = model.Date_Part.process

    def date_part(self: Any, date: Any, context: Any = None) -> Any:
        text = original_date_part(self, date, context)
        if STATE.year_suffix and self.get("name") == "year" and text:
            text, STATE.year_suffix = f"{text}{STATE.year_suffix}", None
        return text

    model.Date_Part.process = date_part

    def render_bibliography(self: Any, citation_items: Any) -> list[Any]:
        bibliography = self.getparent()
        align = bibliography.get("second-field-align")
        STATE.layout = self
        STATE.substitute = bibliography.get("subsequent-author-substitute")
        STATE.substitute_rule = bibliography.get(
            "subsequent-author-substitute-rule", "complete-all"
        )
        implicit_suffix = not self.get_root().xpath_search(".//cs:text[@variable='year-suffix']")
        STATE.previous = None
        output = []
        try:
            for item in citation_items:
                self.repressed = {}
                STATE.previous_entry, STATE.previous = STATE.previous, None
                STATE.seen = False
                STATE.nameset = 0
                STATE.item_key = item.key
                STATE.request = STATE.configs.get(item.key) if STATE.configs else None
                STATE.year_suffix = item.reference.get("year_suffix") if implicit_suffix else None
                children = list(self.iterchildren())
                delimiter = self.get("delimiter", "")
                if align and len(children) > 1:
                    first = _render_children(children[:1], item, delimiter)
                    rest = _render_children(children[1:], item, delimiter)
                    if first is not None and rest is not None:
                        prefix, suffix = self.get("prefix", ""), self.get("suffix", "")
                        first = prefix + str(first)
                        rest = str(rest) + normalize(str(rest), suffix)
                        trailing = rest[len(rest.rstrip(" ")) :]  # citeproc-js: after the div
                        rest = rest[: len(rest) - len(trailing)]
                        left, right = DISPLAY["left-margin"], DISPLAY["right-inline"]
                        body = left[0] + first + left[1] + right[0] + rest + right[1] + trailing
                        text = self.format(body)
                    else:
                        body = first if first is not None else rest
                        text = self.format(self.wrap(body)) if body is not None else None
                else:
                    body = self.render_children(item, delimiter)
                    text = self.format(self.wrap(body)) if body is not None else None
                output.append((item, text))
        finally:
            STATE.substitute = STATE.year_suffix = STATE.request = STATE.layout = None
            STATE.seen = True
        return output

    model.Layout.render_bibliography = render_bibliography


def normalize(left: str, suffix: str) -> str:
    """citeproc-py's seam rule: a suffix's first mark is dropped after the same mark."""
    from citeproc.string import normalize_seam

    return str(normalize_seam(left, suffix))


def _render_children(children: list[Any], item: Any, delimiter: str) -> Any:
    out = []
    for child in children:
        try:
            if isinstance(child, model.Choose):
                text = child.render(item, delimiter=delimiter)
            else:
                text = child.render(item)
        except model.VariableError:
            continue
        if text is not None:
            out.append(text)
    return join(out, delimiter) if out else None


# ---------------------------------------------------------------------------------------------
# Sorting


@correction(
    "Sorting",
    "sort keys as citeproc-js compares them: names without “et al.”, “and” or their label, "
    "spaces before letters (“Dale” < “Dalebout”), punctuation ignored, accents folded "
    "(“Pánek” < “Pascal”), numbers by value",
)
def _sort_keys() -> None:
    original_keys = model.Key.sort_keys

    def sort_keys(self: Any, items: Any, context: Any) -> list[Any]:
        area = STATE.area
        STATE.area = "sort"
        try:
            keys = original_keys(self, items, context)
        finally:
            STATE.area = area
        return [sort_key(k) if k is not None and not isinstance(k, int) else k for k in keys]

    model.Key.sort_keys = sort_keys


@correction("—", "a sort key is rendered only for items whose earlier keys tie")
def _lazy_sort_keys() -> None:
    """citeproc-py renders every cs:key of every item before it sorts (ten macros per APA
    entry, a third of them titles); the comparison below is citeproc-py's own (the same
    tests in the same order, so ``sorted`` makes the same comparisons and returns the same
    order), but it renders an item's key the first time a comparison reaches it: most
    entries differ by their first key."""

    def sort(self: Any, items: Any, context: Any) -> list[Any]:
        keys = self.__dict__.get("_keys")
        if keys is None:
            keys = self.__dict__["_keys"] = tuple(self.findall("cs:key", self.nsmap))
        items = list(items)
        if len(items) < 2 or not keys:
            return items
        descending = [key.get("sort", "ascending").lower() == "descending" for key in keys]
        table = [[_UNSET] * len(items) for _ in keys]
        key_of = model.Key.sort_keys

        def value(k: int, i: int) -> Any:
            got = table[k][i]
            if got is _UNSET:
                got = table[k][i] = key_of(keys[k], [items[i]], context)[0]
            return got

        comparers = list(enumerate(descending))

        def compare(left: int, right: int) -> int:  # citeproc-py's Sort.sort.mycmp
            for k, desc in comparers:
                left_key, right_key = value(k, left), value(k, right)
                if left_key is not None and right_key is not None:
                    try:
                        left_key = str(left_key.lower())
                        right_key = str(right_key.lower())
                    except AttributeError:
                        pass
                    try:
                        left_key, right_key = (int(str(left_key)), int(str(right_key)))
                    except ValueError:
                        pass
                    result = (left_key > right_key) - (left_key < right_key)
                    if result:
                        return -1 * result if desc else result
                elif left_key is not None:
                    return -1
                elif right_key is not None:
                    return 1
            return 0

        order = sorted(range(len(items)), key=functools.cmp_to_key(compare))
        return [items[i] for i in order]

    model.Sort.sort = sort


def sort_key(key: Any) -> str:
    """citeproc-js compares keys with localeCompare (base sensitivity, punctuation and spaces
    ignored, numbers by value): accents folded, case folded, punctuation and spaces dropped,
    digit runs padded."""
    text = unicodedata.normalize("NFKD", plain(key)).casefold()
    text = _SPACES.sub("\x01", text.strip())  # citeproc-js: "|", which sorts before letters
    text = "".join(
        ch
        for ch in text
        if not unicodedata.combining(ch) and unicodedata.category(ch)[0] not in "PZ"
    )
    return _DIGITS.sub(lambda m: m.group(0).rjust(12, "0"), text)


_SPACES = re.compile(r"\s+")


_DIGITS = re.compile(r"\d+")


# ---------------------------------------------------------------------------------------------
# Substitution


@correction(
    "Rendering Elements › Names › Substitute",
    "a name variable used as a substitute is suppressed in the rest of the entry (“Ed. by” "
    "no longer repeats the editor that replaced the author); layouts are found from macros "
    "called by macros",
)
def _substitute() -> None:
    original_get_layout = model.CitationStylesElement.get_layout

    def get_layout(self: Any) -> Any:
        found = self.xpath_search("./ancestor-or-self::cs:layout[1]")
        if found:
            return found[0]
        if STATE.layout is not None:
            return STATE.layout
        return original_get_layout(self)

    model.CitationStylesElement.get_layout = get_layout

    original_names_process = model.Names.process

    def names_process(self: Any, item: Any, names_context: Any = None, context: Any = None, **kw):
        # citeproc-py gives a cs:names without a cs:name a default one, inserted without the
        # CSL namespace, so never found again: one more element on every render, and a
        # worker's parsed style grows for as long as it lives. It is taken out once rendered.
        holder = names_context if names_context is not None else self
        before = len(holder)
        try:
            return _names_process(self, item, names_context, context, **kw)
        finally:
            for child in list(holder)[: len(holder) - before]:
                if child.tag == "Name":  # (the CSL namespace is on every element of a style)
                    holder.remove(child)

    def _names_process(self: Any, item: Any, names_context: Any, context: Any, **kw: Any):
        layout = STATE.tally.layout
        repressed = getattr(layout, "repressed", None) if layout is not None else None
        variables = (self.get("variable") or "").split()
        if repressed and repressed.get(self.tag):
            kept = [v for v in variables if v not in repressed[self.tag]]
            if len(kept) < len(variables):
                if not kept:
                    substitute = self.substitute()
                    if substitute is None:
                        raise model.VariableError
                    return substitute.render(item, context=context or self, **kw)
                self.set("variable", " ".join(kept))
                try:
                    return original_names_process(self, item, names_context, context, **kw)
                finally:
                    self.set("variable", " ".join(variables))
        return original_names_process(self, item, names_context, context, **kw)

    model.Names.process = names_process

    def substitute(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        STATE.tally.substituting += 1
        try:
            for child in self.getchildren():
                try:
                    if isinstance(child, model.Names) and child.name is None:
                        names = self.xpath_search("./parent::cs:names[1]")[0]
                        text = child.render(item, names_context=names, context=context, **kwargs)
                    else:
                        text = child.render(item, context=context, **kwargs)
                except model.VariableError:
                    continue
                if text:
                    self.add_to_repressed_list(child, context)
                    # citeproc-js repeats the substitute only for a variable rendered directly
                    # (<text variable="title"/>), not for one inside a macro (MLA's title)
                    STATE.substituted = isinstance(child, model.Names) or (
                        isinstance(child, model.Text) and "variable" in child.attrib
                    )
                    return text
            return None
        finally:
            STATE.tally.substituting -= 1

    model.Substitute.render = substitute


# ---------------------------------------------------------------------------------------------
# Speed (no specification section: the hot render paths without their layers)


# The methods the one-call renders replaced: (class, name) → method.
LAYERED: dict[tuple[type, str], Any] = {}


def _calls(element: Any) -> bool:
    """``element.calls_variable()``, read once per style element (pure: the tree is fixed)."""
    found = element.__dict__.get("_calls")
    if found is None:
        found = element.__dict__["_calls"] = bool(element.calls_variable())
    return found


@correction("—", "cs:group, cs:macro, cs:choose and cs:text render in one call each")
def _one_call_renders() -> None:
    """The corrections above stack on citeproc-py's methods: a cs:group renders through
    ``render`` → ``process`` (group suppression) → ``process`` (the children) → ``markup``,
    a cs:macro through two ``render``\\ s and ``render_children``, a cs:if raises to say it
    fails, a cs:text variable goes through ``process``, the counting wrapper and
    ``_variable``. An APA entry renders a few hundred such elements (its citation and sort
    keys too), so each is done here in one call: the same steps, in the same order, with the
    same state read and written; only the calls between them are gone. What they replace is
    kept in ``LAYERED`` (the tests render with it too)."""
    for cls, name in ((model.Group, "render"), (model.Macro, "render"), (model.Choose, "render")):
        LAYERED[cls, name] = getattr(cls, name)
    join_ = model.join
    delimited_join = model.Delimited.join
    VariableError = model.VariableError
    ConditionFailed = model.ConditionFailed
    holds = model.If.holds
    plain_render = model.If.render  # (the disambiguate-aware cs:if / cs:else-if)

    def group(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        # CitationStylesElement.render → _group_suppression.group → _memoised_tree.group,
        # then Group.markup
        if self.__dict__.get("_absent") is not False and _renders_nothing(self, item):
            raise VariableError  # (_renders_nothing is False once _absent is: not asked)
        state = STATE.tally
        called, rendered = state.called, state.rendered
        output = []
        variable_called = False
        variable_rendered = False
        delimiter = self.__dict__.get("_delimiter")
        if delimiter is None:  # (never set after loading: read once)
            delimiter = self.__dict__["_delimiter"] = self.get("delimiter", "")
        kids = self.__dict__.get("_children")  # (children(self), memoised)
        for child, is_choose in kids if kids is not None else children(self):
            calling = child.__dict__.get("_calls")  # (_calls(child), memoised)
            if calling is None:
                calling = _calls(child)
            variable_called = variable_called or calling
            try:
                if is_choose:
                    child_text = child.render(item, context=context, delimiter=delimiter, **kwargs)
                else:
                    child_text = child.render(item, context=context, **kwargs)
                if child_text is not None:
                    output.append(child_text)
                    variable_rendered = variable_rendered or calling
            except VariableError:
                pass
        if not output or (variable_called and not variable_rendered):
            raise VariableError
        if type(self).join is delimited_join:  # Delimited.join, without its lookups
            try:
                text = join_(output, delimiter)  # (output holds no None)
            except Exception:
                text = String("")
        else:
            text = self.join(output)
        if state.called > called and state.rendered == rendered:
            raise VariableError
        if text not in (None, ""):
            state.called += 1
            state.rendered += 1
        if text:
            plain_ = self.__dict__.get("_bare")  # (bare(self), memoised)
            if plain_ is None:
                plain_ = bare(self)
            return String(str(text)) if plain_ else self.wrap(self.format(text))
        return None

    model.Group.render = group

    def macro(self: Any, item: Any, context: Any = None, sort_options: Any = None) -> Any:
        # _group_suppression.macro → Macro.render → Parent.render_children (delimiter "")
        if self.__dict__.get("_absent") is not False and _renders_nothing(self, item):
            return None
        state = STATE.tally
        called, rendered = state.called, state.rendered
        output = []
        kids = self.__dict__.get("_children")  # (children(self), memoised)
        for child, is_choose in kids if kids is not None else children(self):
            try:
                if is_choose:
                    text = child.render(
                        item, delimiter="", context=context, sort_options=sort_options
                    )
                else:
                    text = child.render(item, context=context, sort_options=sort_options)
                if text is not None:
                    output.append(text)
            except VariableError:
                pass
        text = join_(output, "") if output else None
        if state.called > called and state.rendered == rendered:
            return None
        if text not in (None, ""):
            state.called += 1
            state.rendered += 1
        return text

    model.Macro.render = macro

    def branch_kind(branch: Any) -> bool:
        """Whether a cs:choose branch is a cs:if / cs:else-if without ``disambiguate``."""
        found = branch.__dict__.get("_plain_branch")
        if found is None:
            found = branch.__dict__["_plain_branch"] = (
                isinstance(branch, model.If)
                and type(branch).render is plain_render
                and "disambiguate" not in branch.attrib
            )
        return found

    def plain_tests(branch: Any) -> tuple[Any, Any, Any] | bool:
        """A plain cs:if's (types, variables, match) when it tests only those (what
        _conditions.holds answers early), else False."""
        if not branch_kind(branch) or type(branch).holds is not holds:
            return False
        types, variables, others, match = branch.__dict__.get("_tests") or _if_tests(branch)
        return False if others else (types, variables, match)

    def choose(self: Any, item: Any, context: Any = None, delimiter: str = "", **kwargs: Any):
        # _memoised_tree.choose; a plain cs:if that fails is skipped without raising
        if self.__dict__.get("_absent") is not False and _renders_nothing(self, item):
            return None
        reference = None
        kids = self.__dict__.get("_children")  # (children(self), memoised)
        for child, _ in kids if kids is not None else children(self):
            tests = child.__dict__.get("_plain_tests")
            if tests is None:
                tests = child.__dict__["_plain_tests"] = plain_tests(child)
            if tests is not False:
                types, variables, match = tests
                if reference is None:
                    reference = item.reference
                # _conditions.holds without position, locator, is-numeric or uncertain dates
                if match == "any" or match == "none":
                    found = (types is not None and reference.type in types) or (
                        variables is not None
                        and any(
                            ("locator" in item)
                            if v == "locator"
                            else dict.__contains__(reference, v)
                            for v in variables
                        )
                    )
                    held = found if match == "any" else not found
                elif types is not None and any(t != reference.type for t in types):
                    held = False
                else:
                    held = variables is None or all(
                        ("locator" in item) if v == "locator" else dict.__contains__(reference, v)
                        for v in variables
                    )
                if held:
                    return child.render_children(
                        item, context=context, delimiter=delimiter, **kwargs
                    )
                continue
            if branch_kind(child):
                if holds(child, item, context):
                    return child.render_children(
                        item, context=context, delimiter=delimiter, **kwargs
                    )
                continue
            try:
                return child.render(item, context=context, delimiter=delimiter, **kwargs)
            except ConditionFailed:
                continue
        return None

    model.Choose.render = choose

    LAYERED[model.Text, "render"] = layered_text = model.Text.render
    text_case = model.TextCased.case  # (_text_case's)
    text_variable = model.Text._variable
    variable_of = getattr(text_variable, "__wrapped__", None)  # (without _counted's wrapper)
    names_key = "{http://purl.org/net/xbiblio/csl}names"
    text_key = "{http://purl.org/net/xbiblio/csl}text"

    def text(self: Any, item: Any, context: Any = None, **kwargs: Any) -> Any:
        # _text_variables.render → .process → (_counted → Text._variable), then case, read,
        # format, quote and wrap
        found = self.__dict__.get("_text")
        variable, strip, kind, source = found if found is not None else _text_spec(self)
        if source is None or variable_of is None:
            return layered_text(self, item, context, **kwargs)
        if context is None:
            context = self
        if source == "variable":
            state = STATE.tally
            counts = variable != "year-suffix"
            if counts:
                state.called += 1
            text = variable_of(self, item, context)
            if counts and text not in (None, ""):
                state.rendered += 1
                if state.substituting and state.layout is not None and variable != "?":
                    repressed = state.layout.repressed  # (as _counted records it)
                    for name in variable.split():
                        for key in (names_key, text_key):
                            repressed.setdefault(key, [])
                            if name not in repressed[key]:
                                repressed[key].append(name)
        elif source == "macro":
            macro = self.__dict__.get("_macro")
            if macro is None:
                macro = self.__dict__["_macro"] = self.get_macro(self.get("macro"))
            text = macro.render(item, context)
        elif source == "term":
            text = self._term(item)
        else:
            text = String(self.preformat(self.get("value")))
        if text is None or text == "":
            return None
        text = str(text)
        if strip:
            text = strip_periods(text)
        if type(self).case is not text_case or self.__dict__.get("_text_case", 0) is not None:
            # (the language matters only to a text-case: without one, case gives text back)
            value = dict.get(item.reference, "language")  # (what reference.language reads)
            if value is None:
                root = self.get_root()
                lang = root.__dict__.get("_default_language")
                if lang is None:
                    default = root.get("default-locale")
                    language = (default if default is not None else "en")[:2]
                    lang = root.__dict__["_default_language"] = (default or "en")[
                        :2
                    ].lower() or language
            else:
                lang = str(value)[:2].lower() or value[:2]
            text = self.case(text, lang)
        text = str(text)
        if kind == "data":
            text = STATE.tally.read(text)
        elif kind == "term":
            text = _term_text(text, _quotes(self))
        elif kind == "verbatim":
            fields = STATE.tally
            verbatim = fields.verbatim
            text = fields.escape(text) if verbatim is None else verbatim(variable, text)
        elif kind == "number" and not variable.startswith("page") and variable != "locator":
            # (pages: _process did it)
            text = STATE.tally.escape(_number_text(self, text, variable))
        plain_ = self.__dict__.get("_bare")  # (bare(self), memoised)
        if plain_ is None:
            plain_ = bare(self)
        if plain_:
            return String(text)  # (what format, quote and wrap give without their attributes)
        return self.wrap(self.quote(self.format(text)))

    model.Text.render = text

    def bare(element: Any) -> bool:
        """Whether an element has no formatting, quotes, affixes or display: ``format`` then
        gives String(text), ``quote`` and ``wrap`` give it back."""
        found = element.__dict__.get("_bare")
        if found is None:
            element.format("")  # (each reads its attributes once, as on any render)
            element.wrap(String(""))
            quoted = isinstance(element, model.Quoted) and element.quote(String("")) != ""
            found = element.__dict__["_bare"] = (
                not element.__dict__["_marks"]
                and not quoted
                and element.__dict__["_affixes"] == ("", "", None)
            )
        return found

    # A missing child element is missing for good: the tree never changes after loading
    # (citeproc-py's default cs:name goes in without the CSL namespace, so a lookup never
    # finds it, and _substitute takes it out again).
    LAYERED[model.SomewhatObjectifiedElement, "__getattr__"] = found_child = (
        model.SomewhatObjectifiedElement.__getattr__
    )

    def child_element(self: Any, name: str) -> Any:
        found = found_child(self, name)
        if found is None and not name.startswith("__"):
            self.__dict__[name] = None
        return found

    model.SomewhatObjectifiedElement.__getattr__ = child_element

    LAYERED[model.Term, "single"] = single = model.Term.single

    def single_term(self: Any) -> Any:  # (find and preformat, once per formatter)
        formatter = self.get_formatter()
        known = self.__dict__.setdefault("_single", {})
        text = known.get(formatter)
        if text is None:
            text = known[formatter] = single.fget(self)
        return text

    model.Term.single = property(single_term)
