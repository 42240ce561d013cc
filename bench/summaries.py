"""TL;DR benchmark on SciTLDR-A (abstract only): ROUGE of the local summariser vs baselines.

For each paper the abstract (its sentences joined by spaces) and title go to ``bot.summaries``;
the output is scored with Google's rouge-score (stemming on) against every gold TL;DR, and the
gold with the highest ROUGE-1 F1 gives that paper's ROUGE-1/2/L. Scores are averaged ×100.
Baselines: the abstract's first sentence (as SciTLDR splits it, and as ``split_sentences``
does), and the oracle best single sentence (an upper bound for picking one sentence without
rewriting it). Prints a table and ms per abstract.

    python bench/summaries.py --split dev [--limit N] [--data ../shared/data/scitldr]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rouge_score import rouge_scorer  # noqa: E402

from bot.summaries import abstract_sentences, tldr  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "scitldr"
METRICS = ("rouge1", "rouge2", "rougeL")
_SCORER = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)


def load_split(data_dir: Path, split: str, limit: int | None = None) -> list[dict]:
    """The first ``limit`` papers of ``{split}.jsonl`` (fields: source, target, title, …)."""
    papers: list[dict] = []
    with (data_dir / f"{split}.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                papers.append(json.loads(line))
            if limit is not None and len(papers) >= limit:
                break
    return papers


def abstract_of(paper: dict) -> str:
    """The abstract as the bot would see it: one string, sentences joined by spaces."""
    return " ".join(s.strip() for s in paper["source"])


def score(prediction: str, golds: Iterable[str]) -> tuple[float, float, float]:
    """ROUGE-1/2/L F1 against the gold with the highest ROUGE-1 F1 (ties: the first)."""
    best: tuple[float, float, float] = (0.0, 0.0, 0.0)
    for gold in golds:
        s = _SCORER.score(gold, prediction)
        row = (s["rouge1"].fmeasure, s["rouge2"].fmeasure, s["rougeL"].fmeasure)
        if row[0] > best[0]:
            best = row
    return best


def mean_scores(
    papers: list[dict], summarise: Callable[[dict], str]
) -> tuple[tuple[float, float, float], float]:
    """Mean ROUGE-1/2/L ×100 of ``summarise`` over ``papers``, and its ms per paper."""
    total = [0.0, 0.0, 0.0]
    elapsed = 0.0
    for paper in papers:
        start = time.perf_counter()
        prediction = summarise(paper)
        elapsed += time.perf_counter() - start
        for k, value in enumerate(score(prediction, paper["target"])):
            total[k] += value
    n = max(len(papers), 1)
    means = (100 * total[0] / n, 100 * total[1] / n, 100 * total[2] / n)
    return means, 1000 * elapsed / n


def first_sentence(paper: dict) -> str:
    return paper["source"][0]


def first_split_sentence(paper: dict) -> str:
    """The first sentence as the bot's splitter finds it (headings dropped)."""
    sentences = abstract_sentences(abstract_of(paper))
    return sentences[0] if sentences else ""


def method(paper: dict) -> str:
    summary = tldr(paper.get("title"), abstract_of(paper))
    return summary.text if summary else ""


def oracle(paper: dict) -> str:
    """The source sentence with the best ROUGE-1 against the golds (reads the answers)."""
    return max(paper["source"], key=lambda s: score(s, paper["target"])[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("train", "dev"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle row")
    args = parser.parse_args(argv)

    papers = load_split(args.data, args.split, args.limit)
    tldr("warm-up", "We load the model once. It is cached. Then we time the rest of it.")
    rows = [("first sentence", *mean_scores(papers, first_sentence))]
    rows.append(("first sentence (our splitter)", *mean_scores(papers, first_split_sentence)))
    rows.append(("local TL;DR (bot.summaries)", *mean_scores(papers, method)))
    if not args.no_oracle:
        rows.append(("oracle best single sentence", *mean_scores(papers, oracle)))

    print(f"SciTLDR-A {args.split}: {len(papers)} papers, ROUGE F1 ×100 (max over gold TL;DRs)")
    print(f"{'system':<30} {'R-1':>6} {'R-2':>6} {'R-L':>6} {'ms/abstract':>12}")
    for name, (r1, r2, rl), ms in rows:
        timing = f"{ms:12.2f}" if name.startswith("local") else f"{'':>12}"
        print(f"{name:<30} {r1:6.2f} {r2:6.2f} {rl:6.2f} {timing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
