"""Local TL;DRs: sentence splitting, sentence scoring and a one-sentence extractive summary.

Used when Semantic Scholar has no TL;DR for a paper. No network and no downloaded model: the
abstract's sentences are scored by a small linear model (position, length, similarity to the
title and to the rest of the abstract, cue phrases) whose weights are trained offline on
SciTLDR by ``scripts/build_tldr_model.py`` and shipped as ``bot/data/tldr_model.json``; the best
sentence is lightly compressed (discourse lead-ins, citations and acronym definitions go).
``bench/summaries.py`` scores it with ROUGE on the SciTLDR dev split.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources

log = logging.getLogger(__name__)

MODEL_RESOURCE = "tldr_model.json"
# Fewer words than this and the abstract is a stub ("Abstract not available."), not a summary.
MIN_ABSTRACT_WORDS = 6
MAX_CHARS = 300
SHORT_ABSTRACT_SENTENCES = 2
# Gold TL;DRs in SciTLDR are ~20 words; sentences far longer get trimmed at a clause boundary.
TARGET_WORDS = 22

# Features every sentence has; the others are lexical ("lead:we propose", "w:network").
DENSE_FEATURES = frozenset(
    """bias first second last rel_pos len_dev short long title_recall title_prec central we
    first_we our cue lead_in citation contrast anaphor results digits question title_recall_rel
    title_recall_top central_rel central_top""".split()
)
# Hand-set weights, used when the trained model file is missing or unreadable.
FALLBACK_WEIGHTS: dict[str, float] = {
    "bias": 0.0,
    "first": -0.3,
    "last": 0.2,
    "rel_pos": 0.4,
    "len_dev": -1.0,
    "short": -1.0,
    "title_recall": 1.5,
    "central": 1.0,
    "we": 0.5,
    "cue": 1.0,
    "lead_in": 0.5,
    "citation": -1.0,
    "contrast": -0.5,
    "lead:we propose": 1.0,
    "lead:we present": 0.8,
    "lead:we introduce": 0.8,
    "lead:we show": 0.6,
    "lead:this paper": 0.6,
}

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
_CAPS_LABEL = re.compile(r"^\s*([A-Z]{4,}(?:\s+(?:AND|OF|[A-Z]{4,})){0,3})\s+(?=[A-Z][a-z])")
# A label alone on its line or as its own "sentence" ("Results", "Conclusions.").
_LONE_LABEL = re.compile(rf"^\s*({_LABEL_PHRASE})\s*[:.：]?\s*$")
_COPYRIGHT = re.compile(
    r"^(?:©|\(c\)|copyright\b)|all rights reserved|published by elsevier|"
    r"this article is protected by copyright",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Summary:
    """A one-sentence TL;DR and how it was made ("local-extractive", "first-sentence")."""

    text: str
    method: str


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
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return True
    # Dotted abbreviations: "U.S.", "a.k.a." (single letters between dots).
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

_STOPWORDS = frozenset(
    """a an the of to in on for and or but with by from as at is are was were be been being
    this that these those it its we our us they their them which who whom whose what when
    where how why than then there here such can could may might will would should shall do
    does did has have had not no nor so also into onto over under about via per each both
    all any some more most other between while using based use used new show shows""".split()
)
_WORD = re.compile(r"[a-z][a-z0-9\-]*|[0-9]+(?:\.[0-9]+)?")
_CITATION = re.compile(
    r"\bet al\b|\(\s*[A-Z][A-Za-z\-]+[^()]*\d{4}[a-z]?\s*\)|\[\d+(?:[,–-]\s*\d+)*\]"
)
_AUTHOR_SUBJECT = re.compile(
    r"(?:we|this (?:paper|work|study|article|letter|note)|our (?:work|paper|study|approach|"
    r"method|model|framework|algorithm))\b",
    re.IGNORECASE,
)
_ANAPHOR = re.compile(
    r"(?:it|this|these|they|such|those|its|their)\b(?! (?:paper|work|study))", re.I
)
_RESULTS = re.compile(
    r"\b(?:outperform\w*|state-of-the-art|experiments?|experimental|empirical\w*|results?|"
    r"benchmarks?|datasets?|accuracy|improve\w*)\b",
    re.IGNORECASE,
)
_CONTRAST = re.compile(r"^(?:however|but|although|though|while|despite|unfortunately)\b", re.I)
_CUE = re.compile(
    r"\b(?:we (?:propose|present|introduce|show|demonstrate|find|develop|describe|report|"
    r"prove|establish|design|provide|study|investigate|argue|identify)|our (?:results|findings|"
    r"method|approach|model|work|experiments)|this (?:paper|work|study|article)|"
    r"in this (?:paper|work|study)|here we|results (?:show|suggest|indicate|demonstrate))\b",
    re.IGNORECASE,
)
# Discourse lead-ins dropped from the front of the chosen sentence, before a subject.
_LEAD_IN = re.compile(
    r"^(?:(?:in|within) (?:this|the present|our|the current) (?:paper|work|study|article|"
    r"manuscript|letter|note|report|thesis|contribution)|here(?:in)?|in particular|specifically|"
    r"to this end|to that end|to do so|to do this|for this purpose|in addition|additionally|"
    r"moreover|furthermore|further|finally|first(?:ly)?|second(?:ly)?|third(?:ly)?|thus|"
    r"therefore|hence|consequently|as a result|overall|in summary|in conclusion|to conclude|"
    r"taken together|together|in short|in sum|importantly|notably|interestingly|surprisingly|"
    r"crucially|instead|then|next|concretely|in practice|experimentally|empirically|"
    r"theoretically|in this context|in this regard|to address (?:this|these|that|the above|"
    r"both)(?: \w+){0,3}|to (?:tackle|solve|overcome|alleviate|mitigate|remedy|fill) "
    r"(?:this|these|that|the above|both)(?: \w+){0,3}|motivated by (?:this|these)(?: \w+){0,2}|"
    r"inspired by (?:this|these)(?: \w+){0,2}|based on (?:this|these)(?: \w+){0,2}|"
    r"building on (?:this|these)(?: \w+){0,2}|with this in mind)\s*,?\s+",
    re.IGNORECASE,
)
# "In this paper we ..." without a comma, and "Here we ...".
_LEAD_IN_WE = re.compile(
    r"^(?:in (?:this|the present|our) (?:paper|work|study|article)|here(?:in)?)\s+(?=we\b)",
    re.IGNORECASE,
)
_ACRONYM_PAREN = re.compile(r"\s*\((?:[A-Za-z0-9\-]*[A-Z][A-Za-z0-9\-]*s?)\)")
_CITATION_PAREN = re.compile(
    r"\s*\((?:[^()]*\bet al\b[^()]*|[^()]*\b(?:19|20)\d{2}[a-z]?|see [^()]*|e\.g\.[^()]*|"
    r"i\.e\.[^()]*|cf\.[^()]*)\)"
)
_BRACKET_CITATION = re.compile(r"\s*\[[\d,;\s–\-]+\]")
_TRAILING_CLAUSE = re.compile(
    r",\s+(?:which|thereby|thus|where|while|whereas|leading to|resulting in|allowing|enabling|"
    r"making|achieving|outperforming|improving|yielding|providing|compared (?:to|with)|"
    r"in contrast to|as well as|such as|including|especially|particularly)\b"
)


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match "networks"/"network", "learning"/"learned"."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def _content(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1]


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


def sentence_features(title: str | None, sentences: list[str]) -> list[dict[str, float]]:
    """Sparse features of each sentence in its abstract; shared by the bot and the trainer."""
    n = len(sentences)
    title_terms = set(_content(title or ""))
    bags = [Counter(_content(s)) for s in sentences]
    total: Counter[str] = Counter()
    for bag in bags:
        total.update(bag)
    out: list[dict[str, float]] = []
    seen_we = False
    for i, (sentence, bag) in enumerate(zip(sentences, bags, strict=True)):
        lead_free = _drop_lead_in(sentence)
        words = len(compress(sentence).split())
        opens_with_we = bool(_AUTHOR_SUBJECT.match(lead_free))
        f: dict[str, float] = {
            "bias": 1.0,
            "first": float(i == 0),
            "second": float(i == 1),
            "last": float(i == n - 1),
            "rel_pos": i / (n - 1) if n > 1 else 0.0,
            "len_dev": min(abs(words - TARGET_WORDS) / TARGET_WORDS, 2.0),
            "short": float(words < 12),
            "long": float(words > 35),
            "title_recall": len(title_terms & bag.keys()) / len(title_terms) if title_terms else 0,
            "title_prec": len(title_terms & bag.keys()) / len(bag) if bag and title_terms else 0,
            "central": _cosine(bag, total - bag),
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
        for term in bag:
            f["w:" + term] = 1.0
        out.append(f)
    # Relative to the rest of the abstract: the sentence closest to the title, the most central.
    for key in ("title_recall", "central"):
        top = max(f[key] for f in out)
        for f in out:
            f[key + "_rel"] = f[key] / top if top else 0.0
            f[key + "_top"] = float(top > 0 and f[key] == top)
    return out


@cache
def load_model() -> dict[str, float]:
    """Feature weights from ``bot/data/tldr_model.json``, once; hand-set ones without it."""
    try:
        raw = resources.files("bot").joinpath("data", MODEL_RESOURCE).read_text("utf-8")
        data = json.loads(raw)
        weights = {str(k): float(v) for k, v in data["weights"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("TL;DR model unavailable (%s); using hand-set weights", exc)
        return dict(FALLBACK_WEIGHTS)
    return weights


def _score(features: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(k, 0.0) * v for k, v in features.items())


# --- compression ----------------------------------------------------------------------------


def compress(sentence: str) -> str:
    """Drop what a TL;DR does not need: lead-ins, citations, acronym definitions, and the
    trailing clauses of a long sentence."""
    text = _drop_lead_in(sentence.strip())
    text = _CITATION_PAREN.sub("", text)
    text = _BRACKET_CITATION.sub("", text)
    text = _ACRONYM_PAREN.sub("", text)
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    return _trim(text, TARGET_WORDS)


def _drop_lead_in(text: str) -> str:
    """ "In this paper, we propose X." → "we propose X." (capitalised later)."""
    for _ in range(3):  # "Finally, in this paper, we ..."
        m = _LEAD_IN_WE.match(text) or _LEAD_IN.match(text)
        if not m or len(text) - m.end() < 20:
            break
        text = text[m.end() :]
    return text


def _trim(text: str, max_words: int) -> str:
    """Cut a long sentence at the last clause boundary that keeps it near ``max_words``."""
    words = text.split()
    if len(words) <= max_words:
        return text
    best = None
    for m in _TRAILING_CLAUSE.finditer(text):
        kept = len(text[: m.start()].split())
        if kept >= 10:
            best = m.start()
            if kept >= max_words:
                break
    return text[:best] if best else text


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


def _candidates(abstract: str) -> list[_Sentence]:
    """Sentences a TL;DR may come from: no copyright lines or data-availability sections."""
    return [
        s for s in _sentences(abstract) if s.section != "admin" and not _COPYRIGHT.search(s.text)
    ]


def _ranked(title: str | None, sentences: list[_Sentence]) -> list[float]:
    weights = load_model()
    feats = sentence_features(title, [s.text for s in sentences])
    return [_score(f, weights) for f in feats]


def key_sentences(title: str | None, abstract: str | None, n: int = 3) -> list[str]:
    """The ``n`` highest-scoring sentences of ``abstract``, in the abstract's order."""
    if not abstract or not abstract.strip() or n <= 0:
        return []
    sentences = _candidates(abstract)
    scores = _ranked(title, sentences)
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
    scores = _ranked(title, sentences)
    best = max(pool, key=lambda i: (scores[i], -i))
    return Summary(_finish(compress(sentences[best].text)), "local-extractive")
