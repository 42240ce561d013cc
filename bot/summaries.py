"""Local TL;DRs: sentence splitting, sentence scoring and a one-sentence extractive summary.

Used when Semantic Scholar has no TL;DR for a paper; needs no network and no downloaded model.
Two small linear models, trained offline on SciTLDR by ``scripts/build_tldr_model.py`` and
shipped as ``bot/data/tldr_model.json``, pick the sentence:

* a word model estimates, for each word of the abstract, the chance that a TL;DR uses it (in
  the title? in many sentences? early? plus priors for common words: "propose" yes, "however"
  no); a sentence's expected ROUGE-1 F1 against an unseen TL;DR follows from those chances and
  its length;
* a sentence model combines that estimate with position, similarity to the title and to the
  rest of the abstract, and cue phrases ("we propose", "our results"), trained so the chosen
  sentence is the one whose compressed form best matches the gold TL;DRs.

The chosen sentence is lightly compressed (discourse lead-ins, parentheticals and citations go).
Structured abstracts use their conclusion. ``bench/summaries.py`` prints the ROUGE scores.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

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

# Tokens that end with a period without ending a sentence (compared lower-case, no final dot).
_ABBREVIATIONS = frozenset(
    """e.g i.e al fig figs eq eqs eqn ref refs sec secs sect tab tabs dr mr mrs ms prof jr sr
    inc ltd corp dept univ a.k.a ch chap suppl spp subsp""".split()
)
# Lower-case only: "cf." abbreviates, "CF." is an acronym ending a sentence.
_LOWER_ABBREVIATIONS = frozenset("cf vs ca resp viz approx esp incl var ext st co".split())
# Abbreviations only before a number: "No. 5", "Vol. 3", "pp. 12".
_NUMBER_ABBREVIATIONS = frozenset("no nos vol vols pp p art".split())
# Candidate boundary: terminal punctuation (and closing quotes/brackets), whitespace, then
# something that can start a sentence.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")

# Section labels of structured abstracts, grouped by the part of the abstract they open.
_SECTION_WORDS: dict[str, str] = {
    **dict.fromkeys(
        "background backgrounds introduction context motivation objective objectives aim aims "
        "purpose purposes rationale importance problem overview".split(),
        "background",
    ),
    **dict.fromkeys(
        "method methods methodology materials design setting settings participants patients "
        "subjects interventions intervention measurements measures approach procedures "
        "exposure exposures data analysis sources selection extraction synthesis".split(),
        "methods",
    ),
    **dict.fromkeys("results result findings outcome outcomes".split(), "results"),
    **dict.fromkeys(
        "conclusion conclusions interpretation significance implications relevance discussion "
        "summary".split(),
        "conclusion",
    ),
    **dict.fromkeys(
        "availability implementation contact supplementary registration funding keywords "
        "trial".split(),
        "admin",
    ),
}
_LABEL_CONNECTORS = frozenset({"and", "of", "or", "the"})
_LABEL_MODIFIERS = frozenset(
    "main principal study data clinical general key primary secondary specific brief major "
    "research patient our new their".split()
)
_LABEL_WORD = r"[A-Za-z]+"
_LABEL_PHRASE = rf"{_LABEL_WORD}(?:(?:\s*[/&,]\s*|\s+(?:and|of|or)\s+|\s+){_LABEL_WORD}){{0,4}}"
# "BACKGROUND:", "Materials and methods:", "Methodology/Principal Findings:" (colon form).
_INLINE_LABEL = re.compile(rf"^\s*({_LABEL_PHRASE})\s*[:：]\s*")
# "BACKGROUND Malaria ..." (capitals, no colon) — only when the next word is capitalised.
_CAPS_LABEL = re.compile(r"^\s*([A-Z]{4,}(?:\s+(?:AND|OF|[A-Z]{4,})){0,3})\s+(?=[A-Z0-9])")
# A label alone on its line or as its own "sentence" ("Results", "Conclusions.").
_LONE_LABEL = re.compile(rf"^\s*({_LABEL_PHRASE})\s*[:.：]?\s*$")
_COPYRIGHT = re.compile(
    r"^(?:©|\(c\)|copyright\b)|all rights reserved|published by elsevier|"
    r"this article is protected by copyright",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Sentence:
    text: str
    section: str | None  # background / methods / results / conclusion / admin, or None


def _section_of(label: str) -> str | None:
    """The section a label phrase names, or None when it is not a section label.

    Every word must be a label word, a connector or a usual modifier ("Main outcome
    measures"), unless the phrase is in title case or capitals ("Methodology/Principal
    Findings"); so "One particular conclusion is that:" stays prose.
    """
    raw = re.findall(r"[A-Za-z]+", label)
    words = [w.lower() for w in raw]
    if not words or len(words) > 5:
        return None
    titled = all(w[0].isupper() or w in _LABEL_CONNECTORS for w in raw)
    if not titled and any(
        w not in _SECTION_WORDS and w not in _LABEL_CONNECTORS and w not in _LABEL_MODIFIERS
        for w in words
    ):
        return None
    kinds = [_SECTION_WORDS.get(w) for w in words]
    kinds = [k for k in kinds if k]
    if not kinds:
        return None
    # Several kinds ("Conclusions/Significance", "Methodology/Principal Findings"): the last
    # one says where the section ends up, except that admin wins ("Availability and ...").
    if "admin" in kinds:
        return "admin"
    for kind in ("conclusion", "results", "methods", "background"):
        if kind in kinds:
            return kind
    return None  # pragma: no cover - kinds only holds the values above


def _label_only(line: str) -> str | None:
    """The section of a line that is nothing but a label ("Results", "CONCLUSIONS:")."""
    m = _LONE_LABEL.match(line)
    if not m:
        return None
    phrase = m.group(1)
    words = phrase.split()
    # Title case or capitals only: "results." inside prose is not a heading.
    if not all(w[0].isupper() or w.lower() in {"and", "of", "or"} for w in words):
        return None
    return _section_of(phrase)


def _strip_label(sentence: str) -> tuple[str | None, str]:
    """Split a leading section label off a sentence: ("conclusion", "We found ...")."""
    m = _INLINE_LABEL.match(sentence)
    if m and m.group(1)[0].isupper():
        kind = _section_of(m.group(1))
        if kind:
            return kind, sentence[m.end() :]
    m = _CAPS_LABEL.match(sentence)
    if m:
        kind = _section_of(m.group(1))
        if kind:
            return kind, sentence[m.end() :]
    return None, sentence


def _is_abbreviation(text: str, end: int) -> bool:
    """Whether the period at ``text[end]`` closes an abbreviation rather than a sentence."""
    start = end
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "([{":
        start -= 1
    token = text[start:end]
    low = token.lower()
    after = text[end + 1 :].lstrip()[:1]
    if low == "al":  # "et al. (2016)" continues; "et al. We show" ends a sentence
        return not after.isalpha()
    if low in _ABBREVIATIONS or token in _LOWER_ABBREVIATIONS:
        return True
    if low in _NUMBER_ABBREVIATIONS:
        return after.isdigit()
    # Dotted abbreviations: "U.S.", "a.k.a." (single letters between dots). A lone capital
    # ends a sentence: in abstracts "of size N. We show" is far more common than "J. Smith".
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", token))


def _split_run(text: str) -> list[str]:
    """Split one run of prose (no paragraph breaks) into sentences."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if text[m.start()] == "." and _is_abbreviation(text, m.start()):
            continue
        if text[m.start()] == "." and text[m.start() - 1 : m.start()] == ".":
            continue  # an ellipsis
        piece = text[start : m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _sentences(text: str) -> list[_Sentence]:
    """Sentences with the structured-abstract section each belongs to; labels removed."""
    out: list[_Sentence] = []
    section: str | None = None
    for paragraph in re.split(r"\n\s*\n", text):
        run: list[str] = []
        lines = [ln.strip() for ln in paragraph.splitlines() if ln.strip()]
        blocks: list[tuple[str | None, str]] = []
        for line in lines:
            kind = _label_only(line)
            if kind and len(line) < 60:
                if run:
                    blocks.append((section, " ".join(run)))
                    run = []
                section = kind
                blocks.append((kind, ""))
            else:
                run.append(line)
        if run:
            blocks.append((section, " ".join(run)))
        for block_section, block in blocks:
            section = block_section
            for piece in _split_run(re.sub(r"\s+", " ", block)):
                kind = _label_only(piece)
                if kind:
                    section = kind
                    continue
                kind, rest = _strip_label(piece)
                if kind:
                    section = kind
                rest = rest.strip()
                if rest and re.search(r"[A-Za-z]", rest):
                    out.append(_Sentence(rest, section))
    return out


def split_sentences(text: str | None) -> list[str]:
    """The sentences of ``text``: abbreviation-safe, structured-abstract labels removed."""
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
_BRACKET_CITATION = re.compile(r"\s*\[[\d,;\s–\-]+\]")
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


def compress(sentence: str) -> str:
    """Drop what a TL;DR does not need: lead-ins, parentheticals, bracketed citations, and
    the trailing relative clause of a long sentence."""
    text = _drop_lead_in(sentence)
    text = _PARENTHETICAL.sub("", text)
    text = _BRACKET_CITATION.sub("", text)
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    if len(text.split()) > LONG_SENTENCE_WORDS:
        for m in _RELATIVE_CLAUSE.finditer(text):
            if len(text[: m.start()].split()) >= MIN_KEPT_WORDS:
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


def _candidates(abstract: str) -> list[_Sentence]:
    """Sentences a TL;DR may come from: no copyright lines or data-availability sections."""
    return [
        s
        for s in _sentences(abstract)[:MAX_SENTENCES]
        if s.section != "admin" and not _COPYRIGHT.search(s.text)
    ]


def _scores(title: str | None, sentences: list[_Sentence]) -> list[float]:
    model = load_model()
    feats = sentence_features(title, [s.text for s in sentences], model.words)
    return [_score(f, model.sentences) for f in feats]


def key_sentences(title: str | None, abstract: str | None, n: int = 3) -> list[str]:
    """The ``n`` highest-scoring sentences of ``abstract``, in the abstract's order."""
    if not abstract or not abstract.strip() or n <= 0:
        return []
    sentences = _candidates(abstract)
    if not sentences:
        return []
    scores = _scores(title, sentences)
    top = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))[:n]
    return [sentences[i].text for i in sorted(top)]


def tldr(title: str | None, abstract: str | None) -> Summary | None:
    """A one-sentence TL;DR of ``abstract``, or None when there is nothing to summarise."""
    if not abstract or len(re.findall(r"\w+", abstract)) < MIN_ABSTRACT_WORDS:
        return None
    sentences = _candidates(abstract)
    if not sentences:
        return None
    if len(sentences) <= SHORT_ABSTRACT_SENTENCES:
        return Summary(_finish(sentences[0].text), "first-sentence")
    # Structured abstracts: the conclusion says what the paper found.
    pool = [i for i, s in enumerate(sentences) if s.section == "conclusion"]
    pool = pool or list(range(len(sentences)))
    scores = _scores(title, sentences)
    best = max(pool, key=lambda i: (scores[i], -i))
    return Summary(_finish(compress(sentences[best].text)), "local-extractive")
