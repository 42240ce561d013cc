import json
import re
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import summaries
from bot.summaries import (
    Summary,
    abstract_sentences,
    compress,
    key_sentences,
    split_sentences,
    tldr,
)
from bot.text import clean_abstract, rebuild_inverted_index
from tests.conftest import FIXTURES

SCITLDR = Path(__file__).resolve().parents[2] / "shared" / "data" / "scitldr"

TITLE = "Adaptive Loss Scaling for Mixed Precision Training"
ABSTRACT = (
    "Mixed precision training (MPT) is becoming a practical technique to improve the speed and "
    "energy efficiency of training deep neural networks. "
    "MPT is typically used in combination with a technique called loss scaling. "
    "Unfortunately, existing methods make this loss scale value a hyperparameter that needs to "
    "be tuned per-model. "
    "In this paper, we propose adaptive loss scaling, which makes mixed precision training "
    "easier by removing the need to tune a model-specific loss scale hyperparameter. "
    "We present experimental results on a variety of networks and tasks."
)


@pytest.mark.parametrize("abstract", [None, "", "   \n\t ", "Abstract not available."])
def test_no_abstract_gives_no_summary(abstract):
    assert tldr("A title", abstract) is None


def test_one_sentence_abstract_is_that_sentence():
    sentence = "We show that sparse attention halves the memory use of long-context transformers."
    assert tldr("Sparse attention", sentence) == Summary(sentence, "first-sentence")


def test_short_abstract_takes_the_first_sentence():
    abstract = "We propose a graph model for protein folding. It beats the baselines on CASP."
    summary = tldr(None, abstract)
    assert summary == Summary("We propose a graph model for protein folding.", "first-sentence")


def test_summary_is_one_tidy_sentence():
    summary = tldr(TITLE, ABSTRACT)
    assert summary is not None
    assert summary.method == "local-extractive"
    assert summary.text.startswith("We propose adaptive loss scaling")  # lead-in dropped
    assert summary.text[0].isupper()
    assert summary.text.endswith(".")
    assert split_sentences(summary.text) == [summary.text]
    assert len(summary.text) <= summaries.MAX_CHARS


def test_very_long_sentence_is_cut_to_a_sentence():
    clause = "and the method improves accuracy on benchmark number {} of the suite"
    long_sentence = "We propose a method " + ", ".join(clause.format(i) for i in range(20)) + "."
    summary = tldr("A method", long_sentence)
    assert summary is not None
    assert len(summary.text) <= summaries.MAX_CHARS
    assert summary.text.endswith(".")
    assert not summary.text.endswith(",.")


def test_structured_abstract_favours_the_conclusion():
    abstract = (
        "BACKGROUND: Malaria remains a leading cause of death in children under five in "
        "sub-Saharan Africa. We propose to study bed nets. "
        "METHODS: We conducted a cluster-randomised trial in 40 villages in Ghana over two "
        "years. "
        "RESULTS: Child mortality fell by 17% (95% CI 8-25%, p < 0.01) in villages given "
        "insecticide-treated bed nets. "
        "CONCLUSIONS: Insecticide-treated bed nets substantially reduce child mortality from "
        "malaria in rural Ghana. "
        "Trial registration: ClinicalTrials.gov NCT00000000."
    )
    summary = tldr("Bed nets and child mortality in Ghana", abstract)
    assert summary is not None
    assert summary.text == (
        "Insecticide-treated bed nets substantially reduce child mortality from malaria in "
        "rural Ghana."
    )


def test_structured_abstract_with_heading_paragraphs():
    abstract = (
        "Background\n\nMalaria kills many children every year in rural areas.\n\n"
        "Methods\n\nWe ran a trial of nets in forty villages.\n\n"
        "Conclusions\n\nBed nets save the lives of children in rural Ghana."
    )
    assert abstract_sentences(abstract) == [
        "Malaria kills many children every year in rural areas.",
        "We ran a trial of nets in forty villages.",
        "Bed nets save the lives of children in rural Ghana.",
    ]
    summary = tldr(None, abstract)
    assert summary is not None
    assert summary.text == "Bed nets save the lives of children in rural Ghana."


def test_copyright_line_is_never_the_summary():
    abstract = ABSTRACT + " © 2020 Elsevier Ltd. All rights reserved."
    summary = tldr(TITLE, abstract)
    assert summary is not None
    assert "Elsevier" not in summary.text
    assert "rights reserved" not in summary.text


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("In this paper, we propose X for Y.", "we propose X for Y."),
        ("In this work we study the loss landscape.", "we study the loss landscape."),
        ("Here, we show that dropout helps.", "we show that dropout helps."),
        ("To address this issue, we introduce a new loss.", "we introduce a new loss."),
        ("Finally, in this paper, we prove a bound.", "we prove a bound."),
        # acronym definitions, citations and asides go; function calls stay
        (
            "We train a recurrent neural network (RNN) as in prior work (Liao et al., 2016).",
            "We train a recurrent neural network as in prior work.",
        ),
        ("The cost drops from O(n^2) to O(n) [3, 4].", "The cost drops from O(n^2) to O(n)."),
        # lead-ins that carry meaning, or leave nothing, stay
        ("Instead of a grid, we search randomly.", "Instead of a grid, we search randomly."),
        ("Thus, it works.", "Thus, it works."),
        ("Together with X, we win.", "Together with X, we win."),
    ],
)
def test_compress(sentence, expected):
    assert compress(sentence) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("First sentence. Second one!", ["First sentence.", "Second one!"]),
        ("Is it? Yes.", ["Is it?", "Yes."]),
        (
            "We use e.g. SGD and i.e. Adam. It works.",
            ["We use e.g. SGD and i.e. Adam.", "It works."],
        ),
        (
            "Models, e.g., Transformers, scale. Good.",
            ["Models, e.g., Transformers, scale.", "Good."],
        ),
        (
            "As Liao et al. (2016) show, it works. See Smith et al. 2019 too.",
            ["As Liao et al. (2016) show, it works.", "See Smith et al. 2019 too."],
        ),
        (
            "It was proposed by Liao et al. We extend it.",
            ["It was proposed by Liao et al.", "We extend it."],
        ),
        ("See Fig. 3 and Eq. 2 for details. Done.", ["See Fig. 3 and Eq. 2 for details.", "Done."]),
        (
            "Ours vs. theirs was 0.95 vs. 0.91. Done.",
            ["Ours vs. theirs was 0.95 vs. 0.91.", "Done."],
        ),
        (
            "The effect was significant (p < 0.05). Next.",
            ["The effect was significant (p < 0.05).", "Next."],
        ),
        (
            "The effect was significant, p < 0.05. Next.",
            ["The effect was significant, p < 0.05.", "Next."],
        ),
        ("The matrix has rank N. We show it.", ["The matrix has rank N.", "We show it."]),
        ("Grown in the U.S. and Europe. Yes.", ["Grown in the U.S. and Europe.", "Yes."]),
        ("Volume No. 5 is out. Yes.", ["Volume No. 5 is out.", "Yes."]),
        ("It was tested on CF. Results follow.", ["It was tested on CF.", "Results follow."]),
        ("Lines\nwrapped in\nthe middle. Next.", ["Lines wrapped in the middle.", "Next."]),
        (
            "One particular conclusion is that: X wins.",
            ["One particular conclusion is that: X wins."],
        ),
        (
            "BACKGROUND: A is common. METHODS: We did B. RESULTS: C rose. CONCLUSIONS: D works.",
            [
                *("BACKGROUND:", "A is common.", "METHODS:", "We did B."),
                *("RESULTS:", "C rose.", "CONCLUSIONS:", "D works."),
            ],
        ),
        (
            "Background: A is common. Materials and methods: We did B. Conclusions. D works.",
            [
                *("Background:", "A is common.", "Materials and methods:", "We did B."),
                *("Conclusions.", "D works."),
            ],
        ),
        (
            "BACKGROUND A is common. CONCLUSION D works.",
            ["BACKGROUND", "A is common.", "CONCLUSION", "D works."],
        ),
        (
            "Results show that X works. Methods fail.",
            ["Results show that X works.", "Methods fail."],
        ),
        ("", []),
        (None, []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_key_sentences_keep_abstract_order():
    sentences = split_sentences(ABSTRACT)
    for n in (1, 2, 3, 10):
        picked = key_sentences(TITLE, ABSTRACT, n)
        assert len(picked) == min(n, len(sentences) - 1)  # all but the TL;DR's sentence
        indices = [sentences.index(s) for s in picked]
        assert indices == sorted(indices)
    assert key_sentences(TITLE, None) == []
    assert key_sentences(TITLE, ABSTRACT, 0) == []


def _words(text):
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _source_of(summary, sentences):
    """The abstract sentence a local TL;DR was made from (it keeps most of its words)."""
    return max(sentences, key=lambda s: len(_words(summary.text) & _words(s)) / len(_words(s)))


@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        (TITLE, ABSTRACT),
        # the TL;DR's sentence again, near-verbatim (OpenAlex sometimes repeats a sentence)
        (
            TITLE,
            ABSTRACT + " We propose adaptive loss scaling, which makes mixed precision training "
            "easier by removing the need to tune a model-specific loss scale hyperparameter!",
        ),
        # short abstracts: the TL;DR is the first sentence, the key sentence the other one
        (None, "We propose a graph model for protein folding. It beats the baselines on CASP."),
    ],
)
def test_key_sentences_do_not_repeat_the_tldr(title, abstract):
    summary = tldr(title, abstract)
    assert summary is not None
    source = _source_of(summary, abstract_sentences(abstract))
    picked = key_sentences(title, abstract, 10)
    assert picked
    assert source not in picked
    for sentence in picked:
        shared = _words(sentence) & _words(summary.text)
        assert len(shared) / len(_words(sentence) | _words(summary.text)) < 0.6, sentence
    for i, a in enumerate(picked):  # nor each other
        for b in picked[i + 1 :]:
            assert len(_words(a) & _words(b)) / len(_words(a) | _words(b)) < 0.6


def test_a_one_sentence_abstract_has_no_key_sentence_besides_its_tldr():
    sentence = "We show that sparse attention halves the memory use of long-context transformers."
    assert key_sentences(None, sentence) == []
    assert key_sentences(None, "Too short to summarise.") == ["Too short to summarise."]


def test_deterministic():
    first = tldr(TITLE, ABSTRACT)
    summaries.load_model.cache_clear()
    assert tldr(TITLE, ABSTRACT) == first
    assert key_sentences(TITLE, ABSTRACT) == key_sentences(TITLE, ABSTRACT)


def test_model_file_ships_and_loads():
    path = resources.files("bot").joinpath("data", summaries.MODEL_RESOURCE)
    data = json.loads(path.read_text("utf-8"))
    assert {"word_weights", "sentence_weights"} <= data.keys()
    summaries.load_model.cache_clear()
    model = summaries.load_model()
    assert model.sentences == data["sentence_weights"]
    assert model.words == data["word_weights"]
    assert model.sentences != summaries.FALLBACK_SENTENCE_WEIGHTS


def test_word_priors_reach_beyond_common_words():
    """Priors for every word seen in a few training abstracts, not only the 250 strongest:
    held-out word log-loss 0.3164 → 0.3103 (train CV), 0.4520 → 0.4395 (dev)."""
    summaries.load_model.cache_clear()
    words = summaries.load_model().words
    priors = {k: w for k, w in words.items() if k.startswith("p:")}
    assert len(priors) > 1000
    assert priors["p:propose"] > 0 > priors["p:however"]
    assert all(k in words for k in ("bias", "title", "df", "tf"))


def test_missing_model_falls_back_to_hand_set_weights(monkeypatch):
    monkeypatch.setattr(summaries, "MODEL_RESOURCE", "no-such-model.json")
    summaries.load_model.cache_clear()
    try:
        assert summaries.load_model() == summaries.Model()
        assert tldr(TITLE, ABSTRACT) is not None
    finally:
        monkeypatch.undo()
        summaries.load_model.cache_clear()


# ROUGE-1 ×100 of the local TL;DR on all of SciTLDR-A dev (``bench/summaries.py``): 42.6 with
# the old splitter and with this one, 42.7 with the wider word priors; a change that loses more
# than noise fails here.
DEV_ROUGE1_FLOOR = 42.5


def test_rouge_on_scitldr_dev_holds_with_the_splitter():
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    dev = SCITLDR / "dev.jsonl"
    if not dev.exists():
        pytest.skip("SciTLDR data not present")
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)

    def r1(prediction, golds):
        return max(scorer.score(gold, prediction)["rouge1"].fmeasure for gold in golds)

    with dev.open(encoding="utf-8") as fh:
        papers = [json.loads(line) for line in fh if line.strip()]
    method = baseline = 0.0
    for paper in papers:
        summary = tldr(paper["title"], " ".join(s.strip() for s in paper["source"]))
        assert summary is not None
        method += r1(summary.text, paper["target"])
        baseline += r1(paper["source"][0], paper["target"])
    assert 100 * method / len(papers) >= DEV_ROUGE1_FLOOR
    assert method / len(papers) > baseline / len(papers) + 0.10  # first sentence: 30.1


def test_sentence_features_include_interactions():
    sentences = split_sentences(ABSTRACT)
    feats = summaries.sentence_features(TITLE, sentences, summaries.load_model().words)
    assert len(feats) == len(sentences)
    for f in feats:
        assert f["exp_f1_rel^2"] == pytest.approx(f["exp_f1_rel"] ** 2)
        assert f["len_dev^2"] == pytest.approx(f["len_dev"] ** 2)
        if f["exp_f1"] and f["we"]:
            assert f["exp_f1*we"] == pytest.approx(f["exp_f1"] * f["we"])
        else:
            assert "exp_f1*we" not in f
        assert {k for k in f if "*" in k or "^" in k} <= summaries.DENSE_FEATURES
    # the shipped model uses them
    assert any("*" in k for k in summaries.load_model().sentences)


def test_a_hostile_abstract_of_thousands_of_sentences_is_cut_before_scoring():
    """Scoring compares each sentence with the rest: 12,000 sentences once took minutes."""
    from bot.summaries import MAX_SENTENCES, _candidates, tldr

    abstract = " ".join(f"Word{i} term{i} thing{i}." for i in range(12_000))
    assert len(_candidates(abstract)) == MAX_SENTENCES
    assert tldr("A title", abstract) is not None


# --- the splitter: brackets, abbreviations, numbers, quotes, Unicode -------------------------

COPPER_CITATION = (
    "Newly developed charge-optimized many body [Liang et al., Mater. Sci. Eng., R 74, 255 "
    "(2013)] potentials are used to perform fully reactive molecular dynamics simulations."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # never inside a bracket pair: citations, figure references, asides
        (f"{COPPER_CITATION} Next.", [COPPER_CITATION, "Next."]),
        (
            "See [J. Phys. Chem. B 12, 5. Ibid.] here. Next.",
            ["See [J. Phys. Chem. B 12, 5. Ibid.] here.", "Next."],
        ),
        ("See (Fig. 3. It shows X.) Next.", ["See (Fig. 3. It shows X.)", "Next."]),
        ("A {set. With} braces. Next.", ["A {set. With} braces.", "Next."]),
        # ... but a bracket never closed is a stray character, not a bracket
        ("The smiley :-( is sad. Next one.", ["The smiley :-( is sad.", "Next one."]),
        ("Items a) first. B) second.", ["Items a) first.", "B) second."]),
        # sentences ending in a closing bracket or quote
        ("(This was tested.) Next.", ["(This was tested.)", "Next."]),
        ("He called it “deep.” We agree.", ["He called it “deep.”", "We agree."]),
        ('It is "big." We agree.', ['It is "big."', "We agree."]),
        ("Was it? (Yes!) Then.", ["Was it?", "(Yes!)", "Then."]),
        # abbreviations from the list
        (
            "Smith et al. (2019) and Liao et al. 2016 agree. Next.",
            ["Smith et al. (2019) and Liao et al. 2016 agree.", "Next."],
        ),
        (
            "We use e.g. SGD, i.e. Adam, cf. Table 2, vs. Adam. Next.",
            ["We use e.g. SGD, i.e. Adam, cf. Table 2, vs. Adam.", "Next."],
        ),
        (
            "As in Fig. 2, Figs. 3a, Eq. 4, Eqs. 5 and Refs. 6. Next.",
            ["As in Fig. 2, Figs. 3a, Eq. 4, Eqs. 5 and Refs. 6.", "Next."],
        ),
        ("See Ref. 12 and Ref. [13] too. Next.", ["See Ref. 12 and Ref. [13] too.", "Next."]),
        (
            "It costs approx. 5 or ca. 6 dollars. Next.",
            ["It costs approx. 5 or ca. 6 dollars.", "Next."],
        ),
        ("See No. 5, Vol. 3, pp. 12-19. Next.", ["See No. 5, Vol. 3, pp. 12-19.", "Next."]),
        ("The answer was No. We disagree.", ["The answer was No.", "We disagree."]),
        ("In Mater. Sci. Eng. R 74 it is. Next.", ["In Mater. Sci. Eng. R 74 it is.", "Next."]),
        (
            "In Phys. Rev. Lett. 12 and J. Chem. Phys. 3 too. Next.",
            ["In Phys. Rev. Lett. 12 and J. Chem. Phys. 3 too.", "Next."],
        ),
        (
            "In Biol. Med. Int. J. 4 and Proc. Natl. Acad. Sci. U.S.A. 110. Next.",
            ["In Biol. Med. Int. J. 4 and Proc. Natl. Acad. Sci. U.S.A. 110.", "Next."],
        ),
        ("In Adv. Mater. 12 it is. Next.", ["In Adv. Mater. 12 it is.", "Next."]),
        (
            "Dr. Smith and Prof. Jones of St. Louis agree. Next.",
            ["Dr. Smith and Prof. Jones of St. Louis agree.", "Next."],
        ),
        (
            "From Acme Inc. and Foo Co. Ltd. Berlin, it came. Next.",
            ["From Acme Inc. and Foo Co. Ltd. Berlin, it came.", "Next."],
        ),
        (
            "© 2020 Elsevier Ltd. All rights reserved.",
            ["© 2020 Elsevier Ltd.", "All rights reserved."],
        ),
        (
            "Data from the U.S. Census and the U.K. Biobank. Next.",
            ["Data from the U.S. Census and the U.K. Biobank.", "Next."],
        ),
        ("We found it in the U.S. The end.", ["We found it in the U.S.", "The end."]),
        ("Cats, dogs, etc. Other animals too.", ["Cats, dogs, etc.", "Other animals too."]),
        (
            "It was proposed by Liao et al. We extend it.",
            ["It was proposed by Liao et al.", "We extend it."],
        ),
        # initials and single capitals
        (
            "Written by J. A. Smith and B. Jones. We agree.",
            ["Written by J. A. Smith and B. Jones.", "We agree."],
        ),
        ("The matrix has rank N. We show it.", ["The matrix has rank N.", "We show it."]),
        (
            "It attacks models T. Current attacks need more.",
            ["It attacks models T.", "Current attacks need more."],
        ),
        ("Grown in E. coli and C. elegans. Next.", ["Grown in E. coli and C. elegans.", "Next."]),
        # capitals are acronyms, not abbreviations
        ("It was tested on CF. Results follow.", ["It was tested on CF.", "Results follow."]),
        ("It releases NO. The effect is fast.", ["It releases NO.", "The effect is fast."]),
        # numbers: decimals, p-values, powers, versions
        ("It rose by 3.5 (p < 0.05). Next.", ["It rose by 3.5 (p < 0.05).", "Next."]),
        ("It rose, p < 0.05. Next.", ["It rose, p < 0.05.", "Next."]),
        ("It grew 1.2×10⁹ cells. Next.", ["It grew 1.2×10⁹ cells.", "Next."]),
        ("We used v2.0.1 and Python 3.11. Next.", ["We used v2.0.1 and Python 3.11.", "Next."]),
        ("It rose 5. 12 patients died.", ["It rose 5.", "12 patients died."]),
        (
            "The kinds are: 1. Homes are smart. 2. Cars drive.",
            ["The kinds are: 1. Homes are smart.", "2. Cars drive."],
        ),
        # ellipses
        ("We saw A, B... and others. Next.", ["We saw A, B... and others.", "Next."]),
        ("It grows… Then it stops.", ["It grows… Then it stops."]),
        # Unicode sentence starts: digits, Greek, gene names, quotes, caseless scripts
        (
            "It binds p53. p53 is a tumour suppressor.",
            ["It binds p53.", "p53 is a tumour suppressor."],
        ),
        (
            "We derive iPSCs. iPSCs were grown. mRNA rose.",
            ["We derive iPSCs.", "iPSCs were grown.", "mRNA rose."],
        ),
        (
            "The α level rose. β-cells die. Δ is small.",
            ["The α level rose.", "β-cells die.", "Δ is small."],
        ),
        (
            "It ends. “Quoted” starts. 'Single' too.",
            ["It ends.", "“Quoted” starts.", "'Single' too."],
        ),
        ("It ends. 机器行为者 starts.", ["It ends.", "机器行为者 starts."]),
        (
            "Lower case. words do not start sentences.",
            ["Lower case. words do not start sentences."],
        ),
        # paragraphs always end a sentence
        ("A heading-less paragraph\n\nAnother one.", ["A heading-less paragraph", "Another one."]),
    ],
)
def test_splitter_cases(text, expected):
    assert split_sentences(text) == expected


# --- structured abstracts: headings are labels, not sentences --------------------------------


@pytest.mark.parametrize(
    ("abstract", "sentences"),
    [
        ("Background Sorafenib is a kinase inhibitor. Methods We gave it to mice.", None),
        ("Background. Sorafenib is a kinase inhibitor. Methods. We gave it to mice.", None),
        ("BACKGROUND: Sorafenib is a kinase inhibitor. METHODS: We gave it to mice.", None),
        ("Background: Sorafenib is a kinase inhibitor.\n\nMethods: We gave it to mice.", None),
        ("Background\n\nSorafenib is a kinase inhibitor.\n\nMethods\n\nWe gave it to mice.", None),
        ("Background\nSorafenib is a kinase inhibitor.\nMethods\nWe gave it to mice.", None),
        ("background: Sorafenib is a kinase inhibitor. methods: We gave it to mice.", None),
        ("BACKGROUND Sorafenib is a kinase inhibitor. METHODS We gave it to mice.", None),
        ("Background — Sorafenib is a kinase inhibitor. Methods - We gave it to mice.", None),
        (
            "Significance\n\nPhosphoinositide 3-kinase is mutated. Here we model it.",
            ["Phosphoinositide 3-kinase is mutated.", "Here we model it."],
        ),
        (
            "Objective(s): To test nets. Conclusion(s): Nets work.",
            ["To test nets.", "Nets work."],
        ),
        ("Objectives To test nets. Conclusions Nets work.", ["To test nets.", "Nets work."]),
        ("Objective. To test nets. Conclusion. Nets work.", ["To test nets.", "Nets work."]),
        ("Purpose To test nets. Findings Nets work.", ["To test nets.", "Nets work."]),
        ("Aims\n\nTo test nets.\n\nResults\n\nNets work.", ["To test nets.", "Nets work."]),
        ("Introduction In 2019 we tested nets. Results 17% fewer died.", None),
        (
            "Introduction In 2019 we tested nets. Results 17% fewer died.",
            ["In 2019 we tested nets.", "17% fewer died."],
        ),
        (
            "Materials and methods We tested nets. Results and discussion “Nets” work.",
            ["We tested nets.", "“Nets” work."],
        ),
        (
            "Design/methodology/approach We tested nets. Findings p53 rose.",
            ["We tested nets.", "p53 rose."],
        ),
        (
            "Methodology/Principal Findings: We tested nets. Main outcome measures: Deaths.",
            ["We tested nets.", "Deaths."],
        ),
        ("Results\n\nConclusions\n\nNets work.", ["Nets work."]),  # a section left empty
        # a heading-only paragraph that no list knows (Global Ecology and Biogeography)
        (
            "Aim\n\nWe test nets.\n\nLocation\n\nGlobal, with a focus on Ghana.\n\nTime Period"
            "\n\n1923–2014.\n\nMajor Taxa Studied\n\nMammals, Birds.",
            [
                "We test nets.",
                "Global, with a focus on Ghana.",
                "Mammals, Birds.",
            ],  # no "1923–2014."
        ),
        # the same, as rich text's plain form gives it: "Heading: text" paragraphs
        (
            "Aim: We test nets.\n\nLocation: Global, with a focus on Ghana.\n\nTime Period: "
            "1923–2014.\n\nMajor Taxa Studied: Mammals, Birds.",
            ["We test nets.", "Global, with a focus on Ghana.", "Mammals, Birds."],
        ),
        # prose that starts with a heading word stays whole
        ("Findings indicate that nets work. Results show fewer deaths.", "same"),
        ("Methods that work are rare. Background subtraction is hard.", "same"),
        ("Conclusions are drawn on nets. Data were collected in Ghana.", "same"),
        ("Our method (NetNet) relies on nets. Design Science Research is a paradigm.", "same"),
        ("Results of this study show that nets work. Discussion of nets follows.", "same"),
        ("One particular conclusion is that: X wins. Results suggest: Y loses.", "same"),
    ],
)
def test_headings_are_labels(abstract, sentences):
    if sentences is None:
        sentences = ["Sorafenib is a kinase inhibitor.", "We gave it to mice."]
        if abstract.startswith("Introduction"):
            sentences = ["In 2019 we tested nets.", "17% fewer died."]
    if sentences == "same":
        sentences = split_sentences(abstract)
        assert len(sentences) == 2
    assert abstract_sentences(abstract) == sentences
    # split_sentences keeps the headings as items of their own, never glued to a sentence
    assert [s for s in split_sentences(abstract) if s in sentences] == sentences
    summary = tldr(None, abstract)
    if summary:
        assert summary.text in {summaries._finish(s) for s in sentences} | {
            summaries._finish(compress(s)) for s in sentences
        }
    for sentence in key_sentences(None, abstract, 5):
        assert sentence in sentences


def test_structured_abstract_tldr_comes_from_the_conclusion_whatever_the_heading_style():
    for heading in ("Conclusions", "CONCLUSIONS:", "Conclusion.", "Conclusions\n\n"):
        abstract = (
            "Background Malaria kills many children in rural Ghana every year. "
            "Methods We ran a trial of insecticide-treated nets in forty villages. "
            f"{heading} Insecticide-treated nets save the lives of children in Ghana."
        )
        summary = tldr("Nets and malaria", abstract)
        assert summary is not None
        assert summary.text == "Insecticide-treated nets save the lives of children in Ghana."
        assert not any(
            k.startswith(("Background", "Methods")) for k in key_sentences(None, abstract)
        )


# --- real abstracts from the recorded fixtures ----------------------------------------------


def _fixture(relative):
    path = FIXTURES / relative
    if not path.exists():
        pytest.skip("../shared/fixtures is not beside the checkout")
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("message", data) if isinstance(data, dict) else data


def _crossref_abstract(relative):
    record = _fixture(relative)
    return record["title"][0], clean_abstract(record["abstract"])


def _openalex_abstract(relative):
    record = _fixture(relative)
    index = record["abstract_inverted_index"]
    return record["title"], clean_abstract(rebuild_inverted_index(index))


HEADING_START = re.compile(
    r"^(?i:background|introduction|objectives?|aims?|purpose|methods?|methodology|results|"
    r"findings|conclusions?|significance|importance|discussion)\b(?:\s*[:.]|\s+[A-Z0-9“\"])"
)


def _assert_clean(title, abstract):
    """No TL;DR or key sentence starts mid-citation or with a heading."""
    sentences = abstract_sentences(abstract)
    summary = tldr(title, abstract)
    assert summary is not None
    for text in [summary.text, *key_sentences(title, abstract, 5), *sentences]:
        assert not HEADING_START.match(text), text
        assert not re.match(r"^[^(\[]*[)\]]", text), (
            text
        )  # no closing bracket before an opening one
    return sentences, summary


def test_citation_in_brackets_is_not_split_copper_oxide_abstract():
    """Crossref: "[Liang et al., Mater. Sci. Eng., R 74, 255 (2013)]" once gave the TL;DR
    "Eng., R 74, 255] potentials are used ..."."""
    title, abstract = _crossref_abstract("crossref/aip-jap-2015-copper-oxide.json")
    sentences, summary = _assert_clean(title, abstract)
    assert COPPER_CITATION[:-1] in " ".join(sentences)
    assert any(s.startswith("Newly developed charge-optimized") for s in sentences)
    assert "Findings indicate that copper-thin film" in " ".join(sentences)  # prose, not a label
    assert "]" not in summary.text and not summary.text.startswith("Eng.")


def test_openalex_inverted_index_abstract_with_inline_significance_heading():
    """OpenAlex loses the paragraph break: "Significance The inadequate mechanical ..."."""
    title, abstract = _openalex_abstract("openalex/pnas-2014-1414271111.json")
    assert abstract.startswith("Significance The inadequate")
    sentences, _ = _assert_clean(title, abstract)
    assert sentences[0].startswith("The inadequate mechanical properties")
    assert split_sentences(abstract)[0] == "Significance"


@pytest.mark.parametrize(
    ("relative", "first", "conclusion"),
    [
        (
            "crossref-corpus/10_7717_peerj_11816.json",  # JATS: Background/Methods/Results/...
            "Polychlorinated biphenyls (PCBs) are persistent pollutants",
            "This study firstly reported",
        ),
        (
            "crossref-corpus/10_1111_geb_13950.json",  # Aim/Location/Time Period/Major Taxa...
            "Despite unprecedented environmental change",
            None,
        ),
        (
            "crossref/list-query-title-paperqa.json",  # Objective/Materials and Methods/...
            "To automate scientific claim verification",
            "CliVER demonstrates its early potential",
        ),
    ],
)
def test_jats_structured_abstracts(relative, first, conclusion):
    record = _fixture(relative)
    if "items" in record:
        record = next(i for i in record["items"] if "<jats:sec" in i.get("abstract", ""))
    title, abstract = record["title"][0], clean_abstract(record["abstract"])
    assert "<jats:title>" in record["abstract"] or "<jats:sec>" in record["abstract"]
    sentences, summary = _assert_clean(title, abstract)
    assert sentences[0].startswith(first)
    labels = ("Location", "Time Period", "Major Taxa Studied", "Aim")
    assert not [s for s in sentences if s.startswith(labels)]
    if conclusion:
        assert summary.text.startswith(conclusion)


def _fixture_abstracts():
    """Every abstract in the recorded Crossref, OpenAlex and Semantic Scholar fixtures."""
    if not FIXTURES.is_dir():
        return []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("abstract"), str):
                yield clean_abstract(node["abstract"])
            if isinstance(node.get("abstract_inverted_index"), dict):
                yield clean_abstract(rebuild_inverted_index(node["abstract_inverted_index"]))
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    out = []
    for folder in ("crossref", "crossref-corpus", "openalex", "semanticscholar"):
        for path in sorted((FIXTURES / folder).glob("*.json")):
            try:
                out += [a for a in walk(json.loads(path.read_text(encoding="utf-8"))) if a]
            except ValueError:
                continue
    return out


def test_every_fixture_abstract_splits_losslessly_without_heading_sentences():
    abstracts = _fixture_abstracts()
    if not abstracts:
        pytest.skip("../shared/fixtures is not beside the checkout")
    assert len(abstracts) > 500
    for abstract in abstracts:
        assert "".join(split_sentences(abstract)).replace(" ", "") == "".join(abstract.split())
        for sentence in abstract_sentences(abstract):
            assert not HEADING_START.match(sentence), sentence
            assert not sentence.startswith(("Eng.,", "Sci.", "Phys.")), sentence


# --- properties ------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\n\n",
        ". ",
        "? ",
        "! ",
        "... ",
        "…",
        ".",
        ",",
        ":",
        ";",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        '"',
        "“",
        "”",
        "'",
        "A",
        "b",
        "The",
        "we",
        "p53",
        "iPSCs",
        "α",
        "Δ",
        "3.5",
        "12",
        "1.",
        "e.g.",
        "et al.",
        "Fig.",
        "No.",
        "J.",
        "U.S.",
        "Eng.,",
        "Background",
        "METHODS:",
        "Results",
        "Conclusion.",
        "机器",
        "—",
        "-",
        "©",
    ]
)
_TEXT = st.lists(_PIECES, max_size=80).map("".join) | st.text(max_size=300)


def _nonspace(text):
    return "".join(text.split())


def _depths(text):
    """Bracket depth at each non-space position: pairs matched like a stack within a paragraph
    (a blank line always ends a sentence), stray brackets ignored."""
    paragraphs = re.split(r"\n\s*\n", text)
    if len(paragraphs) > 1:
        return [d for p in paragraphs for d in _depths(p)[:-1]] + [0]
    text = _nonspace(text)
    pairs = {")": "(", "]": "[", "}": "{"}
    change = [0] * (len(text) + 1)
    stack = []
    for i, ch in enumerate(text):
        if ch in "([{":
            stack.append((ch, i))
        elif ch in pairs and stack and stack[-1][0] == pairs[ch]:
            change[stack.pop()[1] + 1] += 1
            change[i + 1] -= 1
    depth, out = 0, []
    for c in change:
        depth += c
        out.append(depth)
    return out


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_splitting_keeps_every_character_and_never_starts_inside_brackets(text):
    sentences = split_sentences(text)
    assert "".join(sentences).replace(" ", "") == _nonspace(text)
    assert all(s == s.strip() and s and "  " not in s for s in sentences)
    # sentence starts, as offsets into the text without whitespace
    depths = _depths(text)
    offset = 0
    for sentence in sentences:
        assert depths[offset] == 0, (sentence, sentences)
        offset += len(_nonspace(sentence))
    # headings dropped, nothing else: every abstract sentence is a split sentence or its tail
    for sentence in abstract_sentences(text):
        assert any(s.endswith(sentence) for s in sentences)


_BALANCED = st.recursive(
    st.lists(_PIECES.filter(lambda p: p not in "()[]{}"), max_size=6).map("".join),
    lambda inner: st.tuples(st.sampled_from(["()", "[]", "{}"]), st.lists(inner, max_size=4)).map(
        lambda t: t[0][0] + "".join(t[1]) + t[0][1]
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_BALANCED, max_size=6).map(" ".join))
def test_no_sentence_starts_inside_an_open_bracket(text):
    """With well-nested brackets in a paragraph (a blank line always ends a sentence): at every
    sentence start, every bracket opened before it is closed."""
    text = re.sub(r"\n\s*\n", " ", text)
    offset = 0
    flat = _nonspace(text)
    for sentence in split_sentences(text):
        before = flat[:offset]
        for opener, closer in ("()", "[]", "{}"):
            assert before.count(opener) == before.count(closer), (before, sentence)
        offset += len(_nonspace(sentence))


# --- hostile input: linear work -------------------------------------------------------------

HOSTILE = [
    "(" * 100_000 + ". A" * 33_000,
    "[a. B" * 40_000,
    ". " * 100_000,
    "a." * 100_000,
    "e.g. " * 40_000,
    "Background " * 20_000,
    "((((. A))))" * 18_000,
    "J. " * 70_000,
    "\n \n" * 50_000 + "x",
    "[2019 " * 35_000,
    "x, which " * 25_000 + ".",
    "(A) " * 50_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_abstracts_are_handled_in_linear_time(text):
    """200,000 characters of brackets and periods; a quadratic step would take hours (the
    suite's timeout catches it); the line-count test below checks the growth itself."""
    assert len(text) >= 100_000
    sentences = split_sentences(text)
    assert "".join(sentences).replace(" ", "") == _nonspace(text)
    tldr("A title", text)
    key_sentences("A title", text)
    compress(text)


def _lines_run(fn, text):
    """Python lines executed in bot/summaries.py by ``fn(text)``: work, not wall-clock."""
    count = 0
    target = summaries.__file__

    def tracer(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename != target:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn(text)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize("unit", ["[a. B", ". A ", "(x. Y) ", "Background J. A. ", "e.g. "])
def test_splitting_work_grows_linearly(unit):
    small = _lines_run(split_sentences, unit * 2_000)
    large = _lines_run(split_sentences, unit * 8_000)
    assert large < 4.5 * small  # 4× the text, about 4× the work (16× if quadratic)
