"""litbot vs citeproc-js on real Crossref records: how many entries are identical, per style.

    .venv/bin/python scripts/compare_citeproc_js.py --node-modules /tmp/cjs/node_modules
    .venv/bin/python scripts/compare_citeproc_js.py --node-modules … --style apa --diff
    .venv/bin/python scripts/compare_citeproc_js.py --node-modules … --folder crossref --html

Every record of ``../shared/fixtures/crossref-corpus`` (records litbot's goldens do not use are
"unseen") is built into a Work as the bot builds it (Crossref parser → ``bot.merge.merge``),
and all of them are formatted as ONE export per style: by litbot (``format_bibliography``,
plain text) and by citeproc-js (``scripts/citeproc_js_goldens.mjs``, the golden maker) on the
CSL-JSON items litbot gives it (``to_csl``). Prints, per style, entries identical / total, and
with ``--diff`` every differing pair; ``--html`` compares citeproc-js's HTML (italics in titles,
small caps, flip-flop) instead of plain text; ``--folder crossref`` takes the other recorded
records (single records and the items of work lists). Needs Node.js and citeproc-js
(``npm install citeproc``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.citations import format_bibliography, to_csl  # noqa: E402
from bot.merge import merge  # noqa: E402
from bot.sources import crossref  # noqa: E402
from scripts.make_goldens import (  # noqa: E402
    FIXTURES,
    STYLES,
    _frozen,
    citeproc_js,
    record_work,
)


def corpus_works(folder: str = "crossref-corpus") -> dict[str, object]:
    """Item id → Work, for every work record in ``folder`` that has a title: single records
    (id: the file's stem) and the items of work lists (id: stem-n)."""
    works = {}
    for path in sorted((FIXTURES / folder).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            continue
        if data.get("message-type") == "work":
            work = record_work(f"{folder}/{path.name}")
            if work.title:
                works[path.stem] = work
        elif data.get("message-type") == "work-list":
            for n, message in enumerate(data["message"].get("items") or []):
                work = _frozen(merge({"crossref": crossref.parse_work({"message": message})}))
                if work.title:
                    works[f"{path.stem}-{n}"] = work
    return works


def compare(
    style: str, works: dict, node_modules: Path, markup: str = "text"
) -> list[tuple[str, str, str]]:
    """(item id, litbot, citeproc-js) for every entry of ``style``."""
    items = [to_csl(work, item_id=key) for key, work in works.items()]
    reference = citeproc_js(items, style, node_modules, markup)
    ours = format_bibliography(list(works.values()), style, markup=markup)
    return [(key, mine, reference.get(key, "")) for key, mine in zip(works, ours, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--node-modules", type=Path, required=True)
    parser.add_argument("--style", action="append", help="only these styles")
    parser.add_argument("--folder", default="crossref-corpus", help="under ../shared/fixtures")
    parser.add_argument("--diff", action="store_true", help="print every differing pair")
    parser.add_argument("--html", action="store_true", help="compare HTML (italics, small caps)")
    args = parser.parse_args()

    works = corpus_works(args.folder)
    total_same = total = 0
    for style in args.style or STYLES:
        markup = "html" if args.html else "text"
        rows = compare(style, works, args.node_modules.resolve(), markup)
        same = sum(mine == theirs for _, mine, theirs in rows)
        total_same, total = total_same + same, total + len(rows)
        print(f"{style:32} {same:4d}/{len(rows)}  {100 * same / len(rows):6.2f}%")
        if args.diff:
            for key, mine, theirs in rows:
                if mine != theirs:
                    print(f"  {key}\n    litbot: {mine}\n    cjs:    {theirs}")
    print(f"{'all':32} {total_same:4d}/{total}  {100 * total_same / max(total, 1):6.2f}%")


if __name__ == "__main__":
    main()
