"""Train the local TL;DR sentence scorer on SciTLDR-A train and write bot/data/tldr_model.json.

Each training abstract is split with ``bot.summaries.split_sentences``; every sentence is
compressed exactly as the bot would output it and scored with ROUGE-1 F1 (rouge-score,
stemming on) against the paper's gold TL;DRs. A linear model over ``sentence_features`` is fit
with a listwise softmax loss: within an abstract, the predicted distribution over sentences
should match softmax(ROUGE-1 / TEMPERATURE), so the sentence the bot picks is the one whose
compressed form scores best. Plain Python, full-batch Adam, fixed iteration order: the output
is byte-identical run to run. Only train is used for fitting; ``--cv`` prints 5-fold
cross-validated train scores (how the defaults below were chosen), ``--eval dev`` the dev
score of the fitted model. The test split is never read.

    python scripts/build_tldr_model.py [--data ../shared/data/scitldr] [--cv] [--eval dev]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rouge_score import rouge_scorer  # noqa: E402

from bot.summaries import (  # noqa: E402
    DENSE_FEATURES,
    compress,
    sentence_features,
    split_sentences,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "scitldr"
OUTPUT = ROOT / "bot" / "data" / "tldr_model.json"

TEMPERATURE = 0.05  # softness of the ROUGE-1 target distribution within an abstract
L2 = 0.002  # per-weight penalty, scaled by the number of abstracts
MIN_COUNT = 15  # lexical features seen in fewer training sentences are dropped
EPOCHS = 300
LEARNING_RATE = 0.05
KEEP_LEXICAL = 300  # largest-magnitude lexical weights kept in the file
DIGITS = 3

_SCORER = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)


def load(data_dir: Path, split: str) -> list[dict]:
    with (data_dir / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def prepare(papers: list[dict]) -> list[tuple[list[dict[str, float]], list[float]]]:
    """Per abstract: the features of each sentence and its compressed form's ROUGE-1."""
    out = []
    for paper in papers:
        sentences = split_sentences(" ".join(s.strip() for s in paper["source"]))
        if len(sentences) < 2:
            continue
        feats = sentence_features(paper.get("title"), sentences)
        gains = [
            max(_SCORER.score(gold, compress(s))["rouge1"].fmeasure for gold in paper["target"])
            for s in sentences
        ]
        out.append((feats, gains))
    return out


def vocabulary(data: list[tuple[list[dict[str, float]], list[float]]], min_count: int) -> set[str]:
    """Dense features plus lexical ones frequent enough to learn a weight for."""
    counts: Counter[str] = Counter()
    for feats, _ in data:
        for f in feats:
            counts.update(k for k in f if k not in DENSE_FEATURES)
    return set(DENSE_FEATURES) | {k for k, c in counts.items() if c >= min_count}


def fit(
    data: list[tuple[list[dict[str, float]], list[float]]],
    *,
    temperature: float = TEMPERATURE,
    l2: float = L2,
    min_count: int = MIN_COUNT,
    epochs: int = EPOCHS,
    lr: float = LEARNING_RATE,
) -> dict[str, float]:
    """Listwise softmax regression, full-batch Adam; deterministic."""
    vocab = vocabulary(data, min_count)
    rows = [
        ([{k: v for k, v in f.items() if k in vocab} for f in feats], _soft(gains, temperature))
        for feats, gains in data
    ]
    names = sorted(vocab)
    w = dict.fromkeys(names, 0.0)
    m = dict.fromkeys(names, 0.0)
    v = dict.fromkeys(names, 0.0)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n = len(rows)
    for step in range(1, epochs + 1):
        grad = {k: l2 * w[k] for k in names if k != "bias"}
        for feats, target in rows:
            scores = [sum(w[k] * x for k, x in f.items()) for f in feats]
            probs = _softmax(scores)
            for f, p, q in zip(feats, probs, target, strict=True):
                d = (p - q) / n
                if d:
                    for k, x in f.items():
                        if k != "bias":
                            grad[k] += d * x
        for k, g in grad.items():
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g * g
            mhat = m[k] / (1 - beta1**step)
            vhat = v[k] / (1 - beta2**step)
            w[k] -= lr * mhat / (math.sqrt(vhat) + eps)
    return w


def _soft(gains: list[float], temperature: float) -> list[float]:
    return _softmax([g / temperature for g in gains])


def _softmax(xs: list[float]) -> list[float]:
    top = max(xs)
    exps = [math.exp(x - top) for x in xs]
    total = sum(exps)
    return [e / total for e in exps]


def prune(weights: dict[str, float], keep: int = KEEP_LEXICAL) -> dict[str, float]:
    """Dense weights and the ``keep`` strongest lexical ones, rounded, in sorted order."""
    dense = {k: w for k, w in weights.items() if k in DENSE_FEATURES}
    lexical = sorted(
        ((k, w) for k, w in weights.items() if k not in DENSE_FEATURES),
        key=lambda kw: (-abs(kw[1]), kw[0]),
    )[:keep]
    kept = {**dense, **dict(lexical)}
    return {k: round(kept[k], DIGITS) for k in sorted(kept) if round(kept[k], DIGITS) != 0.0}


def selection_score(
    weights: dict[str, float], data: list[tuple[list[dict[str, float]], list[float]]]
) -> float:
    """Mean ROUGE-1 ×100 (vs the gold) of the compressed sentence the weights pick."""
    total = 0.0
    for feats, gains in data:
        scores = [sum(weights.get(k, 0.0) * x for k, x in f.items()) for f in feats]
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        total += gains[best]
    return 100 * total / max(len(data), 1)


def cross_validate(data, folds: int = 5, **params) -> float:
    """Mean held-out selection score over ``folds`` contiguous folds of train."""
    results = []
    size = math.ceil(len(data) / folds)
    for k in range(folds):
        held = data[k * size : (k + 1) * size]
        rest = data[: k * size] + data[(k + 1) * size :]
        results.append(selection_score(prune(fit(rest, **params)), held))
    return sum(results) / len(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--cv", action="store_true", help="print 5-fold CV score on train")
    parser.add_argument("--eval", choices=("dev",), help="also score the model on this split")
    args = parser.parse_args(argv)

    train = prepare(load(args.data, "train"))
    if args.cv:
        print(f"5-fold CV on train: R-1 {cross_validate(train):.2f} (single author TL;DR)")
    weights = prune(fit(train))
    model = {
        "about": "TL;DR sentence scorer for bot.summaries; built by scripts/build_tldr_model.py "
        "from SciTLDR-A train (Apache-2.0).",
        "version": 1,
        "params": {"temperature": TEMPERATURE, "l2": L2, "min_count": MIN_COUNT},
        "weights": weights,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(model, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.output} ({len(weights)} weights, {args.output.stat().st_size} bytes)")
    print(f"train selection R-1: {selection_score(weights, train):.2f}")
    if args.eval:
        held = prepare(load(args.data, args.eval))
        print(f"{args.eval} selection R-1: {selection_score(weights, held):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
