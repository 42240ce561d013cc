"""Local TL;DRs: sentence splitting, sentence scoring and a one-sentence extractive summary.

Used when Semantic Scholar has no TL;DR for a paper; needs no network and no downloaded model.
Two small linear models, trained offline on SciTLDR by ``scripts/build_tldr_model.py`` and
shipped as ``bot/data/tldr_model.json``, pick the sentence:

* a word model estimates, for each word of the abstract, the chance that a TL;DR uses it (in
  the title? in many sentences? early? plus a prior for each word seen in a few training
  abstracts: "propose" yes, "however" no); a sentence's expected ROUGE-1 F1 against an
  unseen TL;DR follows from those chances and its length;
* a sentence model combines that estimate with position, similarity to the title and to the
  rest of the abstract, and cue phrases ("we propose", "our results"), trained so the chosen
  sentence is the one whose compressed form best matches the gold TL;DRs.

Sentences come from ``split_sentences``: never inside brackets ("[Mater. Sci. Eng., R 74,
255]"), after an abbreviation or in a number; the headings of structured abstracts
("Background", "METHODS:", "Significance\n\n") are labels, never (part of) a sentence.
The chosen sentence is lightly compressed (discourse lead-ins, parentheticals and citations go).
Structured abstracts use their conclusion. Key sentences leave out the TL;DR's sentence and
near-duplicates. ``bench/summaries.py`` prints the ROUGE scores.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import accumulate

log = logging.getLogger(__name__)

MODEL_RESOURCE = "tldr_model.json"
# Fewer words than this and the abstract is a stub ("Abstract not available."), not a summary.
MIN_ABSTRACT_WORDS = 6
MAX_CHARS = 300
SHORT_ABSTRACT_SENTENCES = 2
# Tokens in a typical gold TL;DR (SciTLDR: ~22 words); sets the length trade-off of ROUGE F1.
TLDR_TOKENS = 22
# Sentences longer than this lose a trailing ", which ..." clause if this many words remain.
LONG_SENTENCE_WORDS = 30
MIN_KEPT_WORDS = 12
# A lead-in is dropped only if this much sentence remains ("Thus, it works." stays).
MIN_LEFT_CHARS = 12

# Features every sentence has; the others are lexical ("lead:we propose").
DENSE_FEATURES = frozenset(
    """bias first second last rel_pos len_dev short long title_recall title_prec central we
    first_we our cue lead_in citation contrast anaphor results digits question title_recall_rel
    title_recall_top central_rel central_top exp_f1 exp_f1_rel exp_f1_top""".split()
)
# Pairwise products of these features (and squares of the graded ones) let the linear
# sentence model bend: a long sentence with a high estimate is not worth the sum of the two.
# 5-fold CV within SciTLDR dev (model trained on train): +0.2 ROUGE-1, 4 of 5 folds up.
_INTERACTING = (
    "exp_f1 exp_f1_rel title_recall_rel central_rel rel_pos first len_dev we first_we cue "
    "results".split()
)
_SQUARED = ("exp_f1_rel", "title_recall_rel", "central_rel", "rel_pos", "len_dev")
DENSE_FEATURES = DENSE_FEATURES | frozenset(
    [f"{a}*{b}" for i, a in enumerate(_INTERACTING) for b in _INTERACTING[i + 1 :]]
    + [f"{a}^2" for a in _SQUARED]
)
# Hand-set weights, used when the trained model file is missing or unreadable.
FALLBACK_SENTENCE_WEIGHTS: dict[str, float] = {
    "exp_f1": 1.0,
    "exp_f1_rel": 1.0,
    "title_recall_rel": 0.4,
    "cue": 0.3,
    "first_we": 0.3,
    "we": 0.2,
    "central_rel": 0.2,
    "contrast": -0.2,
    "lead:we propose": 0.2,
}
FALLBACK_WORD_WEIGHTS: dict[str, float] = {
    "bias": -3.0,
    "title": 2.0,
    "title_stop": -1.0,
    "df": 1.4,
    "tf": 0.4,
    "first": -0.5,
    "cue": 0.5,
    "we": 0.5,
    "num": -0.6,
    "p:however": -3.0,
    "p:propose": 1.0,
}


@dataclass(frozen=True)
class Summary:
    """A one-sentence TL;DR and how it was made ("local-extractive", "first-sentence")."""

    text: str
    method: str


@dataclass(frozen=True)
class Model:
    """Weights of the word model and of the sentence model (feature name → weight)."""

    words: dict[str, float] = field(default_factory=lambda: dict(FALLBACK_WORD_WEIGHTS))
    sentences: dict[str, float] = field(default_factory=lambda: dict(FALLBACK_SENTENCE_WEIGHTS))


# --- sentence splitting -------------------------------------------------------------------

# Every abbreviation the splitter knows, in this one table: the token before the period,
# lower-case and without it, and how it behaves.
#   always  never ends a sentence: "e.g.", "i.e.", "Fig. 3", "Ref. 12", "Streptomyces sp.";
#   title   never ends one when capitalised: "Dr.", "St. Louis", "Phys. Rev. Lett.", "Proc.
#           Natl. Acad. Sci." (journal names); lower-case "ms." (milliseconds), "med." may;
#   number  only before a number: "No. 5", "Vol. 3", "pp. 12", "Sec. 4"; "the answer was No."
#           and "after 2 sec." end sentences;
#   final   ends one before a capitalised word: "A, B, etc. Real-world ...", "proposed by
#           Liao et al. We extend it", but not "Liao et al. (2016)" or "et al. 2019";
#   name    ends one only before a word that usually opens a sentence (``_STARTERS``):
#           "Elsevier Ltd. All rights reserved", but "Sigma Chemical Co. St. Louis";
#   lower   never ends one in lower case only: "cf.", "ca." (not "Cf", "Ca": elements).
# General rules in ``_abbreviation_kind`` cover what a list cannot: initials ("J. A. Smith",
# "C. elegans") and capitalised dotted abbreviations ("U.S.", "U.K.") behave as ``name``,
# lower-case dotted ones ("a.k.a.") as ``always``; short capitalised tokens without vowels
# ("Natl.", "Govt.") as ``name``; a capitalised token followed by a journal abbreviation
# ("Adv. Mater.") as ``always``. Tokens in capitals ("CF.", "CO.", "NO.") are acronyms and
# end sentences. A single capital ends one only before a usual opener: "of size N. We show"
# splits, "models T. Current attacks" does not (an initial cannot be told from a variable).
ABBREVIATIONS: dict[str, str] = {
    **dict.fromkeys(
        """e.g i.e viz a.k.a fig figs eq eqs eqn eqns ref refs suppl approx dept univ resp esp
        incl vs sp spp subsp ssp var cv aff""".split(),
        "always",
    ),
    **dict.fromkeys(
        """dr prof mr mrs ms st eng sci phys rev lett chem biol med proc int natl acad mater appl
        res soc exp mol clin nucl mech comput technol environ geophys astrophys biochem ecol
        evol genet microbiol neurosci pharmacol physiol psychol immunol""".split(),
        "title",
    ),
    **dict.fromkeys("no nos vol vols pp p art ch chap sec secs sect tab tabs".split(), "number"),
    **dict.fromkeys("etc al nov".split(), "final"),
    **dict.fromkeys("inc ltd co corp jr sr".split(), "name"),
    **dict.fromkeys("cf ca".split(), "lower"),
}
# Words that usually open a sentence: after a ``name`` abbreviation they mean it ended.
_STARTERS = frozenset(
    """a all also although among an another as at based because before both but by
    collectively compared consequently despite during each finally first for from further
    furthermore given he hence here however if importantly in indeed instead interestingly
    it its many moreover most nevertheless no nonetheless notably of on one only other our
    overall previous recent results second several she similarly since some specifically such
    taken that the their then there therefore these they this those though thus to together
    two under unlike using we what when where whereas which while with within yet""".split()
)
_OPENING_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSING_BRACKETS = {v: k for k, v in _OPENING_BRACKETS.items()}
_BRACKET = re.compile(r"[()\[\]{}]")
# A candidate sentence end: terminal punctuation, any closing quotes or brackets, whitespace.
# One character, then runs bounded by the next different character: linear on any input.
_CANDIDATE = re.compile(r"[.!?][\"'”’»)\]}]*\s+")
_OPENING_QUOTES = "\"'“‘«¿¡"
# Characters that start a token when looking back from a period: "(Fig." → "Fig".
_TOKEN_STOP = '([{"“‘«'
_LOOK = 40  # characters looked at either side of a candidate end: tokens longer are words
_VOWELS = frozenset("aeiouyAEIOUY")
_LETTERS = re.compile(r"[^\W\d_]+")
_INITIAL = re.compile(r"[^\W\d_]\.")
_PREFIX = re.compile(r"^[^\W\d_]+-(?=[^\W\d_]\.)")  # "non-" of "non-i.i.d."
# Lower-case words after which a capital and a period are an initial: "by J. Smith".
_BEFORE_NAMES = frozenset("by and & with from of on in to for at as".split())
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")

# Section labels of structured abstracts, grouped by the part of the abstract they open.
_SECTION_WORDS: dict[str, str] = {
    **dict.fromkeys(
        "background backgrounds introduction context motivation objective objectives aim aims "
        "purpose purposes rationale importance problem overview hypothesis hypotheses question "
        "questions".split(),
        "background",
    ),
    **dict.fromkeys(
        "method methods methodology materials design setting settings participants patients "
        "subjects interventions intervention measurements measures approach procedures "
        "exposure exposures data analysis sources selection extraction synthesis case "
        "presentation".split(),
        "methods",
    ),
    **dict.fromkeys("results result findings outcome outcomes".split(), "results"),
    **dict.fromkeys(
        "conclusion conclusions interpretation significance implications relevance discussion "
        "summary limitations".split(),
        "conclusion",
    ),
    **dict.fromkeys(
        "availability implementation contact supplementary registration funding keywords "
        "trial".split(),
        "admin",
    ),
    "abstract": "",  # "Graphical abstract", "Video abstract": a label opening no section
}
# Words that are headings even with nothing after them but the sentence they label
# ("Background Sorafenib is ..."): a prose sentence starting "Design Science ..." keeps its
# first word; "Design/methodology/approach This study ..." loses its label (it has a strong
# word).
_STRONG_LABELS = frozenset(
    """background introduction context objective objectives aim aims purpose rationale
    importance method methods methodology materials results findings conclusion conclusions
    significance discussion interpretation funding keywords availability registration""".split()
)
_LABEL_CONNECTORS = frozenset({"and", "of", "or", "the"})
_LABEL_MODIFIERS = frozenset(
    "main principal study data clinical general key primary secondary specific brief major "
    "research patient our new their policy practical management".split()
)
_LABEL_WORD = re.compile(r"([A-Za-z]{1,20})(?:\([sS]\))?")  # "Objective(s)"
_LABEL_SEPARATOR = re.compile(r"[ \t]*[/&,][ \t]*|[ \t]+")
_LABEL_END = re.compile(r"[ \t]*(?:([:：]|[—–]|-(?=\s))|(\.)|(\n))?\s*")
_COPYRIGHT = re.compile(
    r"^(?:©|\(c\)|copyright\b)|all rights reserved|published by elsevier|"
    r"this article is protected by copyright",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Sentence:
    text: str
    section: str | None  # background / methods / results / conclusion / admin, or None


def _bracket_depths(text: str) -> list[int]:
    """For each position, how many bracket pairs enclose it (``depth[i] > 0``: inside one).

    Brackets pair like a stack: a closer pairs with the innermost open bracket if that is of
    its kind, and is ignored otherwise. Openers never closed are stray characters ("a)",
    ":-(", a truncated abstract), not brackets: one of them must not make the rest of the
    text one sentence. Linear: each opener is pushed and popped at most once.
    """
    changes = [0] * (len(text) + 1)
    stack: list[tuple[str, int]] = []
    for m in _BRACKET.finditer(text):
        ch, i = m.group(), m.start()
        if ch in _OPENING_BRACKETS:
            stack.append((ch, i))
        elif stack and stack[-1][0] == _CLOSING_BRACKETS[ch]:
            changes[stack.pop()[1] + 1] += 1  # positions after the opener ...
            changes[i + 1] -= 1  # ... up to and including the closer are inside
    return list(accumulate(changes))


def _is_greek(ch: str) -> bool:
    return "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff"


def _opens_sentence(text: str, i: int) -> bool:
    """Whether ``text[i:]`` can open a sentence: a capital, digit, quote, bracket, Greek
    letter, caseless script, or a lower-case gene-like name ("p53", "iPSCs", "mRNA")."""
    ch = text[i]
    if ch in _OPENING_QUOTES or ch in _OPENING_BRACKETS:
        return not text[i + 1 : i + 2].isspace()  # not a closing quote set apart: "X. " Y
    if ch.isupper() or ch.isdigit():
        return True
    if not ch.isalpha():
        return False
    if not ch.islower() or _is_greek(ch):
        return True
    token = text[i : i + _LOOK].split(maxsplit=1)[0]
    return any(c.isupper() or c.isdigit() for c in token[1:])


def _token_before(text: str, end: int) -> str:
    """The token that ends at ``text[end]`` (exclusive), back to a space or opening bracket."""
    start = end
    limit = max(0, end - _LOOK)
    while start > limit and not text[start - 1].isspace() and text[start - 1] not in _TOKEN_STOP:
        start -= 1
    return text[start:end]


def _abbreviation_kind(token: str, previous: str, following: str) -> str | None:
    """How the abbreviation ``token`` (no final period) behaves, or None if it is a word.
    ``previous``: the text just before the token; ``following``: the text after the space."""
    if not token or not token[-1].isalpha():
        return None  # "255]", "(2013)", "3.5"
    if len(token) >= 2 and token.isalpha() and token.isupper():
        return None  # an acronym: "CF.", "NO."
    kind = ABBREVIATIONS.get(token.lower())
    if kind == "title":
        return kind if token[0].isupper() and token[1:].islower() else None
    if kind == "lower":
        return kind if token.islower() else None
    if kind:
        return kind
    if "." in token:  # "U.S", "e.g", "a.k.a", "Ph.D", "J.-P", "non-i.i.d"
        parts = [p.strip("-") for p in _PREFIX.sub("", token).split(".")]
        if all(0 < len(p) <= 2 and p.isalpha() for p in parts):
            return "name" if token[0].isupper() else "always"
        return None
    if len(token) == 1:
        if not token.isupper():
            return None
        # An initial follows a name, a comma or "by" ("J. A. Smith", "president, B. Obama");
        # after another word it is a variable or a letter: "of size N.", "native C."
        word = previous.rstrip().rsplit(maxsplit=1)[-1] if previous.strip() else ""
        name = not word or not word[0].islower() or word in _BEFORE_NAMES
        return "name" if name else "final"
    if not (token.isalpha() and token[0].isupper() and token[1:].islower()):
        return None
    if len(token) <= 5 and not _VOWELS & set(token):
        return "name"  # "Natl", "Govt", "Mgmt"
    nxt = following.split(maxsplit=1)[0].rstrip(",;:") if following.strip() else ""
    if nxt.endswith(".") and ABBREVIATIONS.get(nxt[:-1].lower()) in ("title", "always"):
        return "always"  # a journal abbreviation continues: "Adv. Mater.", "Nano. Lett."
    return None


def _ends_sentence(text: str, dot: int, nxt: int, sentence_start: int) -> bool:
    """Whether the period at ``text[dot]`` ends a sentence; the next one would open at
    ``text[nxt]``. Looks at most ``_LOOK`` characters either way."""
    if dot > 0 and text[dot - 1] in ".…":
        return False  # an ellipsis: "A, B... and C"
    token = _token_before(text, dot)
    previous = text[max(sentence_start, dot - len(token) - _LOOK) : dot - len(token)]
    following = text[nxt : nxt + _LOOK]
    if token.isdigit() and len(token) <= 2:
        before = previous.rstrip()
        if not before or before[-1] in ":;":
            return False  # an enumeration: "as follows: 1. Homes, 2. ..."
    kind = _abbreviation_kind(token, previous, following)
    if kind is None:
        return True
    if kind == "number":
        return not following[:1].isdigit()
    word = _LETTERS.match(following)
    if kind == "final":
        return bool(word) and following[0].isupper()
    if kind == "name":
        if _INITIAL.match(following):
            return False  # another initial: "J. A. Smith"
        return bool(word) and following[0].isupper() and word.group().lower() in _STARTERS
    return False


def _opens_section(text: str, i: int) -> bool:
    """Whether a heading starts at ``text[i]`` though its case does not open a sentence:
    "... mice. methods: we ..."."""
    word = _LABEL_WORD.match(text, i)
    if not word or word.group(1).lower() not in _SECTION_WORDS:
        return False  # the usual case, decided without slicing
    return _heading(text[i : i + _LOOK])[1] is not None


def _split_run(text: str) -> Iterator[str]:
    """The sentences of one paragraph, stripped, whitespace inside kept as it is.

    Candidate ends come from one regex pass; each is checked in constant time (bracket
    depths are precomputed, tokens are looked at through a bounded window), so the work is
    linear in the text; a caller that needs only the first sentences stops early.
    """
    depths = _bracket_depths(text)
    start = 0
    for m in _CANDIDATE.finditer(text):
        nxt = m.end()
        if nxt >= len(text) or depths[nxt] > 0:
            continue
        if not _opens_sentence(text, nxt) and not _opens_section(text, nxt):
            continue
        if text[m.start()] == "." and not _ends_sentence(text, m.start(), nxt, start):
            continue
        if sentence := text[start:nxt].strip():
            yield sentence
        start = nxt
    if sentence := text[start:].strip():
        yield sentence


def _section_of(words: list[str], *, titled_ok: bool) -> str | None:
    """The section a label phrase names ("" for a label opening none), or None for prose.

    Every word must be a label word, a connector or a usual modifier ("Main outcome
    measures"), unless ``titled_ok`` and the phrase is in title case or capitals
    ("Methodology/Principal Findings:"); so "One particular conclusion is that:" stays prose.
    """
    low = [w.lower() for w in words]
    if not low or len(low) > 5 or low[0] in _LABEL_CONNECTORS or low[-1] in _LABEL_CONNECTORS:
        return None
    titled = all(w[0].isupper() or w in _LABEL_CONNECTORS for w in words)
    if not (titled and titled_ok) and any(
        w not in _SECTION_WORDS and w not in _LABEL_CONNECTORS and w not in _LABEL_MODIFIERS
        for w in low
    ):
        return None
    kinds = [_SECTION_WORDS[w] for w in low if w in _SECTION_WORDS]
    if not kinds:
        return None
    # Several kinds ("Conclusions/Significance", "Methodology/Principal Findings"): the last
    # one says where the section ends up, except that admin wins ("Availability and ...").
    for kind in ("admin", "conclusion", "results", "methods", "background"):
        if kind in kinds:
            return kind
    return ""  # only "abstract"


def _one_style(words: list[str]) -> bool:
    """A label's words share one style: capitals, title case, sentence case or lower case."""
    content = [w for w in words if w.lower() not in _LABEL_CONNECTORS]
    if all(w.isupper() for w in content) or all(w.islower() for w in content):
        return True
    return words[0][0].isupper() and (
        all(w[0].isupper() for w in content) or all(w.islower() for w in content[1:])
    )


def _heading(sentence: str, *, opens_paragraph: bool = False) -> tuple[int, str | None]:
    """The length of the structured-abstract heading opening ``sentence`` (0 if none), and
    the section it opens ("" for a label opening none).

    Headings are labels, in any case, alone or before their text: "Results", "CONCLUSIONS:",
    "Materials and methods.", "Methods\\nWe ...", "Background Sorafenib is ..." (no
    punctuation: only a strong label word, in one style, before something that opens a
    sentence, so "Findings indicate that ..." and "Results show ..." stay prose). Opening a
    paragraph, any short capitalised phrase before a colon is one too ("Time Period: ...").
    """
    head = sentence[:120]  # labels are short; the rest is never looked at
    words: list[str] = []
    ends: list[int] = []
    pos = len(head) - len(head.lstrip())
    while len(words) < 6:
        m = _LABEL_WORD.match(head, pos)
        if not m or (m.end() < len(head) and head[m.end()].isalnum()):
            break  # not a plain word ("p53", "Cu2O", a 20+ letter run)
        words.append(m.group(1))
        ends.append(m.end())
        sep = _LABEL_SEPARATOR.match(head, m.end())
        if not sep:
            break
        pos = sep.end()
    for k in range(len(words), 0, -1):
        phrase = words[:k]
        end = _LABEL_END.match(sentence, ends[k - 1])
        assert end is not None  # every group is optional
        colon, period, newline = end.groups()
        rest = end.end()
        alone = rest >= len(sentence)
        if alone or colon:
            kind = _section_of(phrase, titled_ok=phrase[0][0].isupper())
            if kind is None and colon and opens_paragraph and k <= 4:
                # Any capitalised phrase and a colon opening a paragraph: "Time Period: ..."
                kind = "" if all(w[0].isupper() or w in _LABEL_CONNECTORS for w in phrase) else None
        elif period or newline:
            kind = _section_of(phrase, titled_ok=False)
        else:
            # Label words only ("Our method (DPP) relies ..." is prose), one of them strong.
            low = [w.lower() for w in phrase]
            plain = all(w in _SECTION_WORDS or w in ("and", "of", "or") for w in low)
            strong = any(w in _STRONG_LABELS for w in low)
            opens = (
                rest > ends[k - 1]
                and sentence[rest] not in _OPENING_BRACKETS
                and _opens_sentence(sentence, rest)
            )
            label = plain and strong and opens and _one_style(phrase)
            kind = _section_of(phrase, titled_ok=False) if label else None
        if kind is not None:
            return rest, kind
    return 0, None


def _heading_paragraph(paragraph: str) -> bool:
    """A short capitalised paragraph without sentence punctuation, such as GEB's "Location"
    or "Major Taxa Studied": a heading even when its words are not known labels."""
    words = paragraph.split()
    return (
        0 < len(words) <= 5
        and len(paragraph) <= 60
        and paragraph[0].isupper()
        and paragraph.rstrip()[-1] not in ".!?;,"
    )


def _pieces(text: str) -> Iterator[tuple[str, str | None]]:
    """Sentences and headings, in order: (text, None) for a sentence, (text, section) for a
    heading, section "" when it names none. Every non-space character is kept."""
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        for number, sentence in enumerate(_split_run(paragraph)):
            cut, kind = _heading(sentence, opens_paragraph=number == 0)
            if kind is not None:
                yield " ".join(sentence[:cut].split()), kind
                sentence = sentence[cut:]
            elif index < len(paragraphs) - 1 and sentence == paragraph.strip():
                if _heading_paragraph(sentence):
                    yield " ".join(sentence.split()), ""
                    continue
            if sentence := " ".join(sentence.split()):
                yield sentence, None


def split_sentences(text: str | None) -> list[str]:
    """The sentences of ``text``, in order; every non-space character is kept.

    Sentences end at ".", "!" or "?" (and any closing quotes or brackets after it) before
    something that can open a sentence: a capital, a digit, a quote or bracket, a Greek
    letter, a caseless script or a gene-like lower-case name ("p53 is ...", "iPSCs were
    ..."). They never end inside a bracket pair ("[Mater. Sci. Eng., R 74, 255]"), after an
    abbreviation (``ABBREVIATIONS``, initials, "U.S."), in a number ("3.5", "v2.0.1"), at an
    ellipsis or an enumeration ("as follows: 1. ..."). Paragraphs (separated by a blank line)
    always end a sentence. Headings of structured abstracts ("Background", "METHODS:",
    "Results.") come out as items of their own; ``abstract_sentences`` drops them. Whitespace
    inside a sentence is collapsed to single spaces. Linear in the length of ``text``.
    """
    if not text:
        return []
    return [piece for piece, _ in _pieces(text)]


def _sentences(text: str, limit: int | None = None) -> list[_Sentence]:
    """Sentences with the structured-abstract section each belongs to; headings removed.
    ``limit``: at most that many sentences (the first ones)."""
    out: list[_Sentence] = []
    section: str | None = None
    for piece, heading in _pieces(text):
        if heading is not None:
            section = heading or None
        elif sum(ch.isalpha() for ch in piece[:_LOOK]) >= 2:  # not "1.", "\\n", "©"
            out.append(_Sentence(piece, section))
            if limit is not None and len(out) >= limit:
                break
    return out


def abstract_sentences(text: str | None) -> list[str]:
    """The sentences of an abstract without its headings: what TL;DRs and key sentences are
    chosen from (``split_sentences`` keeps the headings as items of their own)."""
    if not text:
        return []
    return [s.text for s in _sentences(text)]


# --- features -------------------------------------------------------------------------------

# Words ignored when comparing a sentence with the title or with the rest of the abstract.
_STOPWORDS = frozenset(
    """a an the of to in on for and or but with by from as at is are was were be been being
    this that these those it its we our us they their them which who whom whose what when
    where how why than then there here such can could may might will would should shall do
    does did has have had not no nor so also into onto over under about via per each both
    all any some more most other between while using based use used new show shows""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9\-]*|[0-9]+(?:\.[0-9]+)?")
# ROUGE's own tokenisation: lower-case runs of letters and digits.
_TOKEN = re.compile(r"[a-z0-9]+")
_CITATION = re.compile(
    r"\bet al\b|\(\s*[A-Z][A-Za-z\-]+[^()]*\d{4}[a-z]?\s*\)|\[\d+(?:[,–-]\s*\d+)*\]"
)
# The authors as subject: the sentence says what the paper does.
_AUTHOR_SUBJECT = re.compile(
    r"(?:we|this (?:paper|work|study|article|letter|note)|our (?:work|paper|study|approach|"
    r"method|model|framework|algorithm))\b",
    re.IGNORECASE,
)
_ANAPHOR = re.compile(
    r"(?:it|this|these|they|such|those|its|their)\b(?! (?:paper|work|study))", re.IGNORECASE
)
_RESULTS = re.compile(
    r"\b(?:outperform\w*|state-of-the-art|experiments?|experimental|empirical\w*|results?|"
    r"benchmarks?|datasets?|accuracy|improve\w*)\b",
    re.IGNORECASE,
)
_CONTRAST = re.compile(
    r"(?:however|but|although|though|while|despite|unfortunately|yet)\b", re.IGNORECASE
)
_CUE = re.compile(
    r"\b(?:we (?:propose|present|introduce|show|demonstrate|find|develop|describe|report|"
    r"prove|establish|design|provide|study|investigate|argue|identify)|our (?:results|findings|"
    r"method|approach|model|work|experiments)|this (?:paper|work|study|article)|"
    r"in this (?:paper|work|study)|here we|results (?:show|suggest|indicate|demonstrate))\b",
    re.IGNORECASE,
)


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match "networks"/"network", "learning"/"learned"."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def _content(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1]


def rouge_tokens(text: str) -> list[str]:
    """Stemmed lower-case tokens, as ROUGE counts them (function words included)."""
    return [_stem(t) for t in _TOKEN.findall(text.lower())]


def word_features(title: str | None, sentences: list[str]) -> dict[str, dict[str, float]]:
    """Features of each distinct word of an abstract (its sentences, as ROUGE tokens)."""
    token_lists = [rouge_tokens(s) for s in sentences]
    n = len(token_lists)
    title_tokens = set(rouge_tokens(title or ""))
    tf: Counter[str] = Counter()
    df: Counter[str] = Counter()
    first: dict[str, int] = {}
    in_we: set[str] = set()
    in_cue: set[str] = set()
    for i, (sentence, tokens) in enumerate(zip(sentences, token_lists, strict=True)):
        tf.update(tokens)
        df.update(set(tokens))
        for token in tokens:
            first.setdefault(token, i)
        if _AUTHOR_SUBJECT.match(_drop_lead_in(sentence)):
            in_we.update(tokens)
        if _CUE.search(sentence):
            in_cue.update(tokens)
    out: dict[str, dict[str, float]] = {}
    for word in tf:
        in_title = float(word in title_tokens)
        function = float(word in _STOPWORDS)
        out[word] = {
            "bias": 1.0,
            "title": in_title,
            "tf": math.log1p(tf[word]),
            "df": df[word] / n,
            "first": first[word] / (n - 1) if n > 1 else 0.0,
            "stop": function,
            "title_stop": in_title * function,
            "num": float(word.isdigit()),
            "we": float(word in in_we),
            "cue": float(word in in_cue),
            "p:" + word: 1.0,
        }
    return out


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def _expected_f1(tokens: list[str], probs: dict[str, float]) -> float:
    """Expected ROUGE-1 F1 of ``tokens`` against a TL;DR of ``TLDR_TOKENS`` tokens."""
    overlap = sum(probs.get(t, 0.0) for t in dict.fromkeys(tokens))  # fixed order: deterministic
    return 2 * overlap / (len(tokens) + TLDR_TOKENS) if tokens else 0.0


def _lead_words(text: str) -> str:
    """The first two words after any lead-in, lower-case: "we propose", "this paper"."""
    words = re.findall(r"[a-z]+", _drop_lead_in(text).lower())
    return " ".join(words[:2])


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb)


def sentence_features(
    title: str | None, sentences: list[str], word_weights: dict[str, float]
) -> list[dict[str, float]]:
    """Sparse features of each sentence in its abstract; shared by the bot and the trainer."""
    n = len(sentences)
    compressed = [compress(s) for s in sentences]
    tokens = [rouge_tokens(c) for c in compressed]
    probs = {
        word: _sigmoid(_score(f, word_weights))
        for word, f in word_features(title, sentences).items()
    }
    title_terms = set(_content(title or ""))
    bags = [Counter(_content(s)) for s in sentences]
    total: Counter[str] = Counter()
    for bag in bags:
        total.update(bag)
    out: list[dict[str, float]] = []
    seen_we = False
    for i, (sentence, bag) in enumerate(zip(sentences, bags, strict=True)):
        lead_free = _drop_lead_in(sentence)
        words = len(compressed[i].split())
        opens_with_we = bool(_AUTHOR_SUBJECT.match(lead_free))
        shared = len(title_terms & bag.keys())
        f: dict[str, float] = {
            "bias": 1.0,
            "first": float(i == 0),
            "second": float(i == 1),
            "last": float(i == n - 1),
            "rel_pos": i / (n - 1) if n > 1 else 0.0,
            "len_dev": min(abs(words - TLDR_TOKENS) / TLDR_TOKENS, 2.0),
            "short": float(words < 12),
            "long": float(words > 35),
            "title_recall": shared / len(title_terms) if title_terms else 0.0,
            "title_prec": shared / len(bag) if bag and title_terms else 0.0,
            "central": _cosine(bag, total - bag),
            "exp_f1": 3 * _expected_f1(tokens[i], probs),  # ×3: a scale like the others
            "we": float(opens_with_we),
            "first_we": float(opens_with_we and not seen_we),
            "our": float(bool(re.search(r"\bour\b", sentence, re.IGNORECASE))),
            "cue": float(bool(_CUE.search(sentence))),
            "lead_in": float(lead_free != sentence.strip()),
            "citation": float(bool(_CITATION.search(sentence))),
            "contrast": float(bool(_CONTRAST.match(sentence))),
            "anaphor": float(bool(_ANAPHOR.match(lead_free))),
            "results": float(bool(_RESULTS.search(sentence))),
            "digits": float(bool(re.search(r"\d", sentence))),
            "question": float(sentence.rstrip().endswith("?")),
        }
        seen_we = seen_we or opens_with_we
        f["lead:" + _lead_words(sentence)] = 1.0
        out.append(f)
    # Relative to the rest of the abstract: closest to the title, most central, best estimate.
    for key in ("title_recall", "central", "exp_f1"):
        top = max(f[key] for f in out)
        for f in out:
            f[key + "_rel"] = f[key] / top if top else 0.0
            f[key + "_top"] = float(top > 0 and f[key] == top)
    for f in out:
        for i, a in enumerate(_INTERACTING):
            for b in _INTERACTING[i + 1 :]:
                if f[a] and f[b]:
                    f[f"{a}*{b}"] = f[a] * f[b]
        for a in _SQUARED:
            f[f"{a}^2"] = f[a] ** 2
    return out


def _score(features: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(k, 0.0) * v for k, v in features.items())


@cache
def load_model() -> Model:
    """The trained weights from ``bot/data/tldr_model.json``, read once; hand-set without it."""
    try:
        raw = resources.files("bot").joinpath("data", MODEL_RESOURCE).read_text("utf-8")
        data = json.loads(raw)
        return Model(
            words={str(k): float(v) for k, v in data["word_weights"].items()},
            sentences={str(k): float(v) for k, v in data["sentence_weights"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("TL;DR model unavailable (%s); using hand-set weights", exc)
        return Model()


# --- compression ----------------------------------------------------------------------------

# Discourse lead-ins dropped from the front of the chosen sentence: followed by a comma, or
# directly by "we" ("In this paper we propose", "Here we show").
_LEAD_IN = re.compile(
    r"^(?:(?:in|within) (?:this|the present|our|the current) (?:paper|work|study|article|"
    r"manuscript|letter|note|report|thesis|contribution)|here(?:in)?|in particular|specifically|"
    r"to this end|to that end|to do so|to do this|for this purpose|in addition|additionally|"
    r"moreover|furthermore|further|finally|first(?:ly)?|second(?:ly)?|third(?:ly)?|thus|"
    r"therefore|hence|consequently|as a result|overall|in summary|in conclusion|to conclude|"
    r"taken together|in short|in sum|importantly|notably|interestingly|surprisingly|"
    r"crucially|instead|then|next|concretely|in practice|experimentally|empirically|"
    r"theoretically|in this context|in this regard|to address (?:this|these|that|the above|"
    r"both)(?: [\w-]+){0,3}|to (?:tackle|solve|overcome|alleviate|mitigate|remedy|fill) "
    r"(?:this|these|that|the above|both)(?: [\w-]+){0,3}|(?:motivated|inspired) by "
    r"(?:this|these)(?: [\w-]+){0,2}|based on (?:this|these)(?: [\w-]+){0,2}|building on "
    r"(?:this|these)(?: [\w-]+){0,2}|with this in mind)(?:\s*,\s*|\s+(?=we\b))",
    re.IGNORECASE,
)
# Parentheticals: acronym definitions, citations, asides ("(e.g., ...)"). Only after a space,
# so "O(n^2)" and "f(x)" stay.
_PARENTHETICAL = re.compile(r"\s+\([^()]*\)")
# Square brackets holding numbers only ("[3, 4]", "[12–15]") or an author and year ("[Liang
# et al., Mater. Sci. Eng., R 74, 255 (2013)]") are citations. Found in two linear steps: the
# innermost brackets, then what is inside (one regex for both backtracks on "[2019 2019 ...").
_SQUARE_BRACKETS = re.compile(r"\s*\[([^\[\]]*)\]")
_NUMBERS_ONLY = re.compile(r"[\d,;\s–\-]+")
_AUTHOR_YEAR = re.compile(r"\bet al\b|\b(?:1[89]|20)\d\d[a-z]?\b")
# ", which ..." and the like end a long sentence early: SciTLDR dev and train both gain a
# little ROUGE-1 and the TL;DR reads better; cutting at "by"/"using" or at commas loses.
_RELATIVE_CLAUSE = re.compile(r",\s+(?:which|where|whereas|while)\b")


def _drop_lead_in(text: str) -> str:
    """ "In this paper, we propose X." → "we propose X." (capitalised by ``_finish``)."""
    text = text.strip()
    for _ in range(3):  # "Finally, in this paper, we ..."
        m = _LEAD_IN.match(text)
        if not m or len(text) - m.end() < MIN_LEFT_CHARS:
            break
        text = text[m.end() :]
    return text


def _drop_citation(m: re.Match[str]) -> str:
    inside = m.group(1)
    if _NUMBERS_ONLY.fullmatch(inside) or _AUTHOR_YEAR.search(inside):
        return ""
    return m.group()


def compress(sentence: str) -> str:
    """Drop what a TL;DR does not need: lead-ins, parentheticals, bracketed citations, and
    the trailing relative clause of a long sentence."""
    # Whitespace collapsed first: the patterns below start with "\s*", which would rescan a
    # long run of spaces from each of its positions.
    text = _drop_lead_in(" ".join(sentence.split()))
    text = _SQUARE_BRACKETS.sub(_drop_citation, text)
    text = _PARENTHETICAL.sub("", text)
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    if len(text.split()) > LONG_SENTENCE_WORDS:
        words, counted = 0, 0  # words before each clause, counted once: linear in the text
        for m in _RELATIVE_CLAUSE.finditer(text):
            words += len(text[counted : m.start()].split())
            counted = m.start()
            if words >= MIN_KEPT_WORDS:
                return text[: m.start()] + "."
    return text


def _finish(text: str) -> str:
    """One tidy sentence: capitalised, ending in a period, at most ``MAX_CHARS``."""
    text = text.strip().rstrip(",;: ")
    if len(text) > MAX_CHARS:
        cut = max(text.rfind(", ", 0, MAX_CHARS - 1), text.rfind("; ", 0, MAX_CHARS - 1))
        if cut < MAX_CHARS // 2:
            cut = text.rfind(" ", 0, MAX_CHARS - 1)
        text = text[:cut].rstrip(",;: ")
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    if not text.endswith((".", "?", "!")):
        text = text.rstrip(".") + "."
    return text


# --- public API -----------------------------------------------------------------------------


# Real abstracts have a few dozen sentences; scoring compares each with the rest, so a hostile
# "abstract" of thousands of sentences is cut to this many (the first ones) before scoring.
MAX_SENTENCES = 120
# Key sentences do not repeat the TL;DR or each other: two sentences are near-duplicates when
# their content words overlap this much (Jaccard), or the shorter's are this much inside the
# longer's ("We propose X." in "In this paper, we propose X, a new Y.").
NEAR_DUPLICATE_JACCARD = 0.6
NEAR_DUPLICATE_CONTAINMENT = 0.8


def _candidates(abstract: str) -> list[_Sentence]:
    """Sentences a TL;DR may come from: no copyright lines or data-availability sections."""
    return [
        s
        for s in _sentences(abstract, MAX_SENTENCES)
        if s.section != "admin" and not _COPYRIGHT.search(s.text)
    ]


def _scores(title: str | None, sentences: list[_Sentence]) -> list[float]:
    model = load_model()
    feats = sentence_features(title, [s.text for s in sentences], model.words)
    return [_score(f, model.sentences) for f in feats]


def _summarisable(abstract: str | None) -> bool:
    return bool(abstract) and len(re.findall(r"\w+", abstract or "")) >= MIN_ABSTRACT_WORDS


def _tldr_index(sentences: list[_Sentence], scores: list[float]) -> int:
    """The sentence the TL;DR is made from (``len(sentences) > SHORT_ABSTRACT_SENTENCES``)."""
    # Structured abstracts: the conclusion says what the paper found.
    pool = [i for i, s in enumerate(sentences) if s.section == "conclusion"]
    pool = pool or list(range(len(sentences)))
    return max(pool, key=lambda i: (scores[i], -i))


def _near_duplicate(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return a == b
    shared = len(a & b)
    return (
        shared / len(a | b) >= NEAR_DUPLICATE_JACCARD
        or shared / min(len(a), len(b)) >= NEAR_DUPLICATE_CONTAINMENT
    )


def key_sentences(title: str | None, abstract: str | None, n: int = 3) -> list[str]:
    """The ``n`` highest-scoring sentences of ``abstract``, in the abstract's order.

    They complement the local TL;DR: the sentence ``tldr`` is made from is left out, and so
    is any near-duplicate of it or of a sentence already picked.
    """
    if not abstract or not abstract.strip() or n <= 0:
        return []
    sentences = _candidates(abstract)
    if not sentences:
        return []
    scores = _scores(title, sentences)
    bags = [set(_content(s.text)) for s in sentences]
    taken: list[set[str]] = []
    if _summarisable(abstract):
        short = len(sentences) <= SHORT_ABSTRACT_SENTENCES
        source = sentences[0 if short else _tldr_index(sentences, scores)].text
        taken.append(set(_content(source)))
        taken.append(set(_content(_finish(source if short else compress(source)))))
    picked: list[int] = []
    for i in sorted(range(len(sentences)), key=lambda i: (-scores[i], i)):
        if len(picked) == n:
            break
        if any(_near_duplicate(bags[i], bag) for bag in taken):
            continue
        picked.append(i)
        taken.append(bags[i])
    return [sentences[i].text for i in sorted(picked)]


def tldr(title: str | None, abstract: str | None) -> Summary | None:
    """A one-sentence TL;DR of ``abstract``, or None when there is nothing to summarise."""
    if not _summarisable(abstract):
        return None
    sentences = _candidates(abstract or "")
    if not sentences:
        return None
    if len(sentences) <= SHORT_ABSTRACT_SENTENCES:
        return Summary(_finish(sentences[0].text), "first-sentence")
    best = _tldr_index(sentences, _scores(title, sentences))
    return Summary(_finish(compress(sentences[best].text)), "local-extractive")
