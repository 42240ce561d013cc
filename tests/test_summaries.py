import json
from importlib import resources
from pathlib import Path

import pytest

from bot import summaries
from bot.summaries import Summary, compress, key_sentences, split_sentences, tldr

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
    assert split_sentences(abstract) == [
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
            ["A is common.", "We did B.", "C rose.", "D works."],
        ),
        (
            "Background: A is common. Materials and methods: We did B. Conclusions. D works.",
            ["A is common.", "We did B.", "D works."],
        ),
        ("BACKGROUND A is common. CONCLUSION D works.", ["A is common.", "D works."]),
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
        assert len(picked) == min(n, len(sentences))
        indices = [sentences.index(s) for s in picked]
        assert indices == sorted(indices)
    assert key_sentences(TITLE, None) == []
    assert key_sentences(TITLE, ABSTRACT, 0) == []


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


def test_missing_model_falls_back_to_hand_set_weights(monkeypatch):
    monkeypatch.setattr(summaries, "MODEL_RESOURCE", "no-such-model.json")
    summaries.load_model.cache_clear()
    try:
        assert summaries.load_model() == summaries.Model()
        assert tldr(TITLE, ABSTRACT) is not None
    finally:
        monkeypatch.undo()
        summaries.load_model.cache_clear()


def test_beats_first_sentence_on_scitldr_dev():
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    dev = SCITLDR / "dev.jsonl"
    if not dev.exists():
        pytest.skip("SciTLDR data not present")
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)

    def r1(prediction, golds):
        return max(scorer.score(gold, prediction)["rouge1"].fmeasure for gold in golds)

    with dev.open(encoding="utf-8") as fh:
        papers = [json.loads(line) for _, line in zip(range(50), fh, strict=False)]
    method = baseline = 0.0
    for paper in papers:
        summary = tldr(paper["title"], " ".join(paper["source"]))
        assert summary is not None
        method += r1(summary.text, paper["target"])
        baseline += r1(paper["source"][0], paper["target"])
    assert method / len(papers) > baseline / len(papers) + 0.05


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
