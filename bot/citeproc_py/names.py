"""CSL 1.0.2 §Names (cs:name, name-part order, initialisation, particles), as citeproc-js
renders them (``CSL.NameOutput``, ``CSL.Util.Names``, ``CSL.parseParticles``).

citeproc-py initialises word by word ("Jae-sung" → "J.-. sung ."), keeps particles where the
data put them ("André Luiz dos" → "A. L. dos ."), and joins parts with spaces whatever the
script. Here a name is first normalised as citeproc-js reads CSL-JSON (lower-case particles
leave the given and family names, a quoted family name is kept whole, "Jr." after a comma is
a suffix), then its given name is shown at the level the context asks for (none, initials, in
full: CSL 1.0.2 §Disambiguation may raise it) and its parts are put in order (§Name-part
Order): inverted, display, or family-then-given for names in non-Latin scripts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# citeproc-js regular expressions (CSL.ROMANESQUE_REGEXP and friends)
_ROMANESQUE_CHARS = (
    "0-9a-zA-Z\u0e01-\u0e5b\u00c0-\u017f\u0370-\u03ff\u0400-\u052f\u0590-\u05d4\u05d6-\u05ff"
    "\u1f00-\u1fff\u0600-\u06ff\u200c\u200d\u200e\u0218\u0219\u021a\u021b\u202a-\u202e"
)
ROMANESQUE = re.compile(f"[-{_ROMANESQUE_CHARS}]")
STARTS_ROMANESQUE = re.compile(f"^[&{_ROMANESQUE_CHARS[3:]}]")
_NAME_INITIAL = re.compile(
    "^([A-Z\u0e01-\u0e5b\u00c0-\u017f\u0400-\u042f\u0590-\u05d4\u05d6-\u05ff\u0600-\u06ff"
    "\u0370\u0372\u0376\u0386\u0388-\u03ab\u03e2\u03e4\u03e6\u03e8\u03ea\u03ec\u03ee\u03f4"
    "\u03f7\u03fd-\u03ff])([a-zA-Z\u0e01-\u0e5b\u00c0-\u017f\u0400-\u052f\u0600-\u06ff"
    "\u0370-\u03ff\u1f00-\u1fff]*|)(\\.)*"
)
_PARTICLE_GIVEN = re.compile("^([^ ]+(?:\u02bb |\u2019 | |' ) *)(.+)$", re.S)
_PARTICLE_FAMILY = re.compile("^([^ ]+(?:-|\u02bb|\u2019| |') *)(.+)$", re.S)
# nameDoppel: separators between the parts of a given name (tags count too)
_NAME_SPLIT = re.compile(
    r'((?:[-\s]*</*(?:span\s+class="no(?:case|decor)"|i|sc|b|sub|sup)>[-\s]*|[-\s]+))'
)
_TAG_PREFIX = re.compile(r"^(?:<[^>]+>)*")


def _split_particles(value: str, given: bool) -> tuple[str, list[str]]:
    """citeproc-js ``splitParticles``: lower-case words leading a family name or trailing a
    given name → (the name without them, the particles)."""
    original = value
    particles: list[str] = []
    work = value[::-1] if given else value
    rex = _PARTICLE_GIVEN if given else _PARTICLE_FAMILY
    m = rex.match(work)
    while m:
        m1 = m.group(1)[::-1] if given else m.group(1)
        first = re.sub(r"^[-'\u02bb\u2019\s]*(.).*$", r"\1", m1, flags=re.S)
        if not first or first.upper() == first:
            break
        if given:
            particles.append(original[-len(m1) :])
            original = original[: -len(m1)]
        else:
            particles.append(original[: len(m1)])
            original = original[len(m1) :]
        work = m.group(2)
        m = rex.match(work)
    if given:
        name_len = len(work)
        particles.reverse()
        for i in range(1, len(particles)):
            if particles[i][:1] == " ":
                particles[i - 1] += " "
        particles = [p[1:] if p[:1] == " " else p for p in particles]
        return original[:name_len], particles
    return original[len(original) - len(work) :] if work else "", particles


def _trim_last(text: str) -> str:
    last = text[-1:]
    text = text.strip()
    if last == " " and text[-1:] in ("'", "\u2019"):
        text += " "
    return text


def parse_name(name: dict) -> dict:
    """A CSL-JSON name as citeproc-js reads it (``_normalizeNameInput``, ``parseParticles``).

    Returns a new dict; ``literal`` names and names without a given name are left alone, and
    so is a family name in double quotes (its quotes removed) and a name that already has a
    non-dropping particle or ``"parse-names": false``.
    """
    name = {k: v for k, v in name.items() if v not in (None, "")}
    if "literal" in name:
        return name
    family = name.get("family")
    if name.get("isInstitution") and family and not name.get("given"):
        return {"literal": family}
    parse = name.get("parse-names", True) not in (False, 0, "false")
    if family and len(family) > 1 and family[0] == '"' and family[-1] == '"':
        name["family"] = family[1:-1]
        return name
    if not parse or name.get("non-dropping-particle") or not family or not name.get("given"):
        return name
    if name.get("static-particles"):
        return name
    rest, particles = _split_particles(family, given=False)
    name["family"] = rest
    ndp = _trim_last("".join(particles))
    if ndp:
        name["non-dropping-particle"] = ndp
    given = name["given"]
    if "suffix" not in name:
        m = re.search(r"(\s*,!*\s*)", given)
        if m:
            idx = m.start(1)
            suffix = given[idx + len(m.group(1)) :]
            comma = re.sub(r"\s*", "", given[idx : idx + len(m.group(1))])
            if suffix.replace(".", "") == "et al" and not name.get("dropping-particle"):
                name["dropping-particle"] = suffix
                name["comma-dropping-particle"] = ","
            else:
                if len(comma) == 2:
                    name["comma-suffix"] = True
                name["suffix"] = suffix
            given = given[:idx]
    rest, particles = _split_particles(given, given=True)
    name["given"] = rest
    dp = "".join(particles).strip()
    if dp:
        name["dropping-particle"] = dp
    return name


@functools.lru_cache(maxsize=65536)  # pure: a name's initials are asked for again and again
def initialize_with(
    name: str, terminator: str, *, normalize_only: bool = False, hyphen: bool = True
) -> str:
    """citeproc-js ``CSL.Util.Names.initializeWith``: a given name as initials ending in
    ``terminator`` ("Jae-sung" → "J.", "John-Paul" → "J.-P.", "Ph. D." kept as "Ph. D."), or
    with ``normalize_only`` (``initialize="false"``) only its existing initials normalised."""
    if not name:
        return ""
    terminator = terminator or ""
    if name in ("Lord", "Lady") or (
        not STARTS_ROMANESQUE.match(_TAG_PREFIX.sub("", name)) and "%s" not in terminator
    ):
        return name
    if not hyphen:
        name = name.replace("-", " ")
    name = re.sub(r"\s*-\s*", "-", name)
    name = re.sub(r"\s+", " ", name)
    name = re.sub(r"-([a-z])", "\u2013\\1", name)
    chars = name
    for i in range(len(chars) - 2, -1, -1):
        if chars[i] == "." and chars[i + 1 : i + 2] != " ":
            chars = chars[:i] + ". " + chars[i + 1 :]
    name = chars
    parts = _NAME_SPLIT.split(name)
    strings, tags = parts[0::2], parts[1::2]
    names = [strings[0]]
    if not tags:
        m = re.search(r"[^.]+$", names[0])
        if m and len(m.group(0)) == 1 and m.group(0) != m.group(0).lower():
            names[0] += "."
    for i in range(1, len(strings)):
        names.append(tags[i - 1])
        names.append(strings[i])
    out = _normalize(names, terminator) if normalize_only else _initialize(names, terminator)
    return re.sub("\u2013([a-z])", "-\\1", out)


def _notag(text: str) -> str:
    return _TAG_PREFIX.sub("", text)


def _mergetag(tagstr: str, newstr: str) -> str:
    tags = re.findall(r"(?:-*<[^>]+>-*)", tagstr)
    if not tags:
        return newstr
    tagstr = "".join(tags)
    m = re.match(r"^(.*[^\s])*(\s+)$", newstr, re.S)
    if m:
        return (m.group(1) or "") + tagstr + m.group(2)
    return newstr + tagstr


def _tagonly(text: str) -> str:
    m = re.search(r"(?:<[^>]+>)+", text)
    return m.group(0) if m else text


_TRAILING = re.compile("[\t\n\x0b\x0c\r \ufeff\u00a0]+$")


def _tidy(text: str) -> str:
    text = _TRAILING.sub("", text)
    text = re.sub(r"\s*-\s*", "-", text)
    return re.sub("[\t\n\x0b\x0c\r ]+", " ", text)


def _normalize(names: list[str], terminator: str) -> str:
    abbrev = []
    for i, part in enumerate(names):
        if len(_notag(part)) > 1 and _notag(part)[-1:] == ".":
            names[i] = re.sub(r"^(.*)\.(.*)$", r"\1\2", part, flags=re.S)
            abbrev.append(True)
        elif len(part) == 1 and part.upper() == part:
            abbrev.append(True)
        else:
            abbrev.append(False)
    for i in range(0, len(names), 2):
        if abbrev[i]:
            if i < len(names) - 2:
                names[i + 1] = _tagonly(names[i + 1])
                if not abbrev[i + 2]:
                    names[i + 1] = _tagonly(names[i + 1]) + " "
                if len(names[i + 2]) > 1:
                    names[i + 1] = re.sub("\ufeff$", "", terminator) + names[i + 1]
                else:
                    names[i + 1] = _mergetag(names[i + 1], terminator)
            if i == len(names) - 1:
                names[i] = names[i] + terminator
    return _tidy("".join(names))


def _initialize(names: list[str], terminator: str) -> str:
    count = len(names)
    for i in range(0, count, 2):
        n = names[i]
        if not n:
            continue
        m = _NAME_INITIAL.match(n)
        groups: list[str] | None = None
        if m:
            groups = [m.group(1), m.group(2) or "", m.group(3) or ""]
        elif not STARTS_ROMANESQUE.match(n) and len(n) > 1 and "%s" in terminator:
            mm = re.match(r"(.)(.*)", n, re.S)
            groups = [mm.group(1), mm.group(2), ""] if mm else None
        if groups and groups[1] and groups[2]:
            groups[0] = groups[0] + groups[1]
            groups[1] = ""
        if groups and groups[0][:1] == groups[0][:1].upper():
            extra = ""
            if groups[1]:
                caps = ""
                for ch in groups[1]:
                    if ch == ch.upper():
                        caps += ch
                    else:
                        break
                if len(caps) < len(groups[1]):
                    extra = caps.lower()
            names[i] = groups[0] + extra
            if i < count - 1:
                if "%s" in terminator:
                    names[i] = terminator.replace("%s", names[i], 1)
                elif "-" in names[i + 1]:
                    names[i + 1] = _mergetag(names[i + 1].replace("-", "", 1), terminator) + "-"
                else:
                    names[i + 1] = _mergetag(names[i + 1], terminator)
            elif "%s" in terminator:
                names[i] = terminator.replace("%s", names[i], 1)
            else:
                names.append(terminator)
        elif ROMANESQUE.search(n) and (not groups or not groups[2]):
            names[i] = " " + n
    return _tidy("".join(names))


def romanesque(name: dict, language: str | None = None) -> int:
    """0: a name in a non-Latin script (family then given, no space), 1: mixed, 2: Latin."""
    family = (name.get("family") or "").replace('"', "")
    level = 2
    if not ROMANESQUE.search(family):
        level = 0
    if not level and name.get("given") and STARTS_ROMANESQUE.match(name["given"]):
        level = 1
    if level == 2 and (language or "")[:2] in ("ja", "zh"):
        level = 1
    return level


@dataclass
class NameOptions:
    """The options of one cs:name in its context (inherited values resolved)."""

    form: str = "long"
    initialize_with: str | None = None
    initialize: bool = True
    hyphen: bool = True
    name_as_sort_order: str | None = None
    sort_separator: str = ", "
    demote: str = "display-and-sort"
    with_initials: bool = False  # givenname-disambiguation-rule "…-with-initials"
    locale: str = "en-US"


def given_level(options: NameOptions, requested: int = 0) -> int:
    """The given name's level: 0 none, 1 initials, 2 in full (CSL 1.0.2 §Disambiguation,
    "disambiguate-add-givenname": a request above the form's default raises it)."""
    if options.form != "long":
        default = 0
    elif options.initialize_with is not None:
        default = 1
    else:
        default = 2
    return max(default, requested)


@dataclass
class NameParts:
    """A personal name's rendered parts (each already formatted by its cs:name-part)."""

    given: str | None
    family: str
    dropping: str | None
    non_dropping: str | None
    suffix: str | None
    comma_suffix: bool = False
    comma_dropping: str = ""


def shown_given(name: dict, options: NameOptions, level: int) -> str | None:
    """The given name at ``level`` (``None`` when not shown)."""
    given = name.get("given") or ""
    if level == 0:
        return None
    if level == 1 and name.get("family"):
        if options.initialize_with is not None or options.with_initials:
            return initialize_with(
                given,
                options.initialize_with or "",
                normalize_only=not options.initialize,
                hyphen=options.hyphen,
            )
    return given or None


def shown_suffix(name: dict, options: NameOptions) -> str | None:
    suffix = name.get("suffix")
    if suffix and options.initialize_with is not None:
        suffix = initialize_with(suffix, options.initialize_with, normalize_only=True)
    return suffix or None


def _join(parts: list[str | None], delimiter: str) -> str:
    return delimiter.join(p for p in parts if p)


def _ends_joining(text: str | None) -> bool:
    return bool(text) and text[-1] in ("\u2019", "'", "-", " ")


def order(
    parts: NameParts,
    options: NameOptions,
    *,
    inverted: bool,
    script: int,
    given_affixes: tuple[str, str] = ("", ""),
    family_affixes: tuple[str, str] = ("", ""),
    sort: bool = False,
) -> str:
    """citeproc-js ``_renderOnePersonalName``: the parts in CSL 1.0.2 §Name-part Order
    (``sort``: for a sort key, where a particle is always a word of its own)."""
    given, family = parts.given, parts.family
    dp, ndp, suffix = parts.dropping, parts.non_dropping, parts.suffix
    if given is None:
        dp = suffix = None
    nbsp = "\u00a0" if options.locale[:2] in ("fr", "ru", "cs") else " "
    sort_sep = options.sort_separator or ""
    hyphenated = _ends_joining(ndp)
    if script == 0:
        return _join([ndp, family, given], "")
    if script == 1:
        return _join([_join([ndp, family], nbsp), given], " ")
    if inverted:
        if given in ("Lord", "Lady"):
            sort_sep = ", "
        if options.demote in ("always", "display-and-sort"):
            second = _join([given, dp], parts.comma_dropping + " ")
            second = _join([second, ndp], " ")
            first = family
        else:
            first = _join([ndp, family], "" if hyphenated and not sort else nbsp)
            second = _join([given, dp], parts.comma_dropping + " ")
        if second:
            second = given_affixes[0] + second + given_affixes[1]
        if first:
            first = family_affixes[0] + first + family_affixes[1]
        return _join([_join([first, second], sort_sep), suffix], sort_sep)
    comma_dropping = parts.comma_dropping
    if dp and family and not ndp and dp[-1:] in ("'", "\u02bc", "\u2019", "-") and dp[:-1] != "de":
        family = dp + family
        dp = None
    if hyphenated:
        second = _join([dp, _join([ndp, family], "")], nbsp)
    else:
        second = _join([dp, ndp, family], nbsp)
    second = _join([second, suffix], ", " if parts.comma_suffix else " ")
    if second and family_affixes != ("", ""):
        second = family_affixes[0] + second + family_affixes[1]
        comma_dropping = ""
    if given:
        given = given_affixes[0] + given + given_affixes[1]
    space = " "
    if options.initialize_with and re.search("[\u00a0\ufeff]", options.initialize_with):
        space = nbsp
    return _join([given, second], comma_dropping + space)
