"""The official CSL processor test suite, bibliography mode: litbot vs unpatched citeproc-py.

    .venv/bin/python scripts/csl_suite.py               # pass rates, and what changed
    .venv/bin/python scripts/csl_suite.py --failures    # litbot's failures, with diffs
    .venv/bin/python scripts/csl_suite.py --only name_  # fixtures whose name contains name_
    .venv/bin/python scripts/csl_suite.py --corrections # the corrections and their sections

The fixtures are ``../shared/data/csl-test-suite/humans`` (see its README): each holds a
style, CSL-JSON items and citeproc-js's HTML bibliography. litbot formats each one through
``litbot format ITEMS.json --style STYLE.csl --output html`` (``bot.cli.format_file``, run in
this process); unpatched citeproc-py 0.11.1 runs in a subprocess that never imports
``bot.citeproc_py`` (its corrections patch citeproc-py in place). A fixture passes when the
HTML is identical to citeproc-js's. ``tests/csl_suite_expected_failures.txt`` lists litbot's
failures with their reasons; ``tests/test_csl_suite.py`` keeps both in step.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SUITE = REPO.parent / "shared" / "data" / "csl-test-suite" / "humans"
EXPECTED_FAILURES = REPO / "tests" / "csl_suite_expected_failures.txt"
_SECTION = re.compile(r">>=+ ([A-Z0-9-]+) =+>>\n(.*?)\n<<=+ \1 =+<<", re.S)


def parse(path: Path) -> dict[str, str]:
    """A fixture's sections (MODE, RESULT, CSL, INPUT, CITATIONS…)."""
    return {m.group(1): m.group(2) for m in _SECTION.finditer(path.read_text(encoding="utf-8"))}


def fixtures(suite: Path = SUITE) -> list[Path]:
    """The bibliography-mode fixtures (the top level of ``humans/``), by name."""
    return [p for p in sorted(suite.glob("*.txt")) if parse(p).get("MODE") == "bibliography"]


def items_of(fixture: dict[str, str]) -> list[dict]:
    """The items in the bibliography: all of INPUT, or those the CITATIONS finally cite (in
    the order they were first cited), as citeproc-js's test runner registers them."""
    items = json.loads(fixture["INPUT"])
    if "CITATIONS" not in fixture:
        return items
    final: dict[str, list[str]] = {}
    for citation in json.loads(fixture["CITATIONS"]):
        final[citation[0]["citationID"]] = [str(i["id"]) for i in citation[0]["citationItems"]]
    order = list(dict.fromkeys(i for ids in final.values() for i in ids))
    by_id = {str(item["id"]): item for item in items}
    return [by_id[i] for i in order if i in by_id]


def expected_failures(path: Path = EXPECTED_FAILURES) -> dict[str, str]:
    """Fixture name → why litbot's output differs (``name: reason`` lines, ``#`` comments)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, reason = line.partition(":")
            out[name.strip()] = reason.strip()
    return out


def render_litbot(fixture: dict[str, str]) -> str:
    """The fixture through ``litbot format … --output html`` (in this process)."""
    from bot import cli

    with tempfile.TemporaryDirectory() as tmp:
        style = Path(tmp) / "style.csl"
        items = Path(tmp) / "items.json"
        style.write_text(fixture["CSL"], encoding="utf-8")
        items.write_text(json.dumps(items_of(fixture), ensure_ascii=False), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.format_file(str(items), str(style), "html")
    if code:
        raise RuntimeError(err.getvalue().strip() or f"exit {code}")
    return out.getvalue().removesuffix("\n")


def _unpatched_worker(paths: list[str]) -> None:
    """(subprocess) Plain citeproc-py 0.11.1 on each fixture: name → HTML or the error."""
    import warnings

    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
    )
    from citeproc.formatter import html
    from citeproc.source.json import CiteProcJSON

    warnings.simplefilter("ignore")
    results = {}
    for path in paths:
        fixture = parse(Path(path))
        try:
            style = CitationStylesStyle(io.BytesIO(fixture["CSL"].encode()), validate=False)
            items = items_of(fixture)
            bib = CitationStylesBibliography(style, CiteProcJSON(items), html)
            bib.register(Citation([CitationItem(str(item["id"])) for item in items]))
            bib.sort()
            body = "".join(f'  <div class="csl-entry">{e}</div>\n' for e in bib.bibliography())
            results[Path(path).name] = f'<div class="csl-bib-body">\n{body}</div>'
        except Exception as error:
            results[Path(path).name] = f"error: {type(error).__name__}: {error}"
    print(json.dumps(results))


def run_unpatched(paths: list[Path]) -> dict[str, str]:
    """Unpatched citeproc-py's output for each fixture (in a subprocess)."""
    out = subprocess.run(
        [sys.executable, __file__, "--unpatched-worker", *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def run_litbot(paths: list[Path]) -> dict[str, str]:
    results = {}
    for path in paths:
        try:
            results[path.name] = render_litbot(parse(path))
        except Exception as error:
            results[path.name] = f"error: {type(error).__name__}: {error}"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--failures", action="store_true", help="print litbot's failures")
    parser.add_argument("--only", action="append", help="fixtures whose name contains this")
    parser.add_argument(
        "--corrections", action="store_true", help="list bot.citeproc_py's corrections"
    )
    parser.add_argument("--unpatched-worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.unpatched_worker is not None:
        _unpatched_worker(args.unpatched_worker)
        return

    if args.corrections:
        from bot.citeproc_py import CORRECTIONS

        for item in CORRECTIONS:
            print(f"{item.name}\n  CSL 1.0.2 § {item.section}\n  {item.summary}")
        return
    paths = [p for p in fixtures() if not args.only or any(o in p.name for o in args.only)]
    expected = {p.name: parse(p)["RESULT"] for p in paths}
    ours, theirs = run_litbot(paths), run_unpatched(paths)
    ok = {name for name in expected if ours[name] == expected[name]}
    base = {name for name in expected if theirs[name] == expected[name]}
    total = len(expected)
    crashes = [name for name, text in ours.items() if text.startswith("error: ")]
    print(f"CSL test suite, bibliography mode: {total} fixtures ({SUITE})")
    for label, passed in (
        ("litbot (citeproc-py 0.11.1 + bot.citeproc_py)", ok),
        ("citeproc-py 0.11.1 unpatched", base),
    ):
        print(f"  {label:46} {len(passed):4d}  {100 * len(passed) / total:5.1f}%")
    print(f"  litbot crashes: {len(crashes)}; fixed by the corrections: {len(ok - base)}; "
          f"passing unpatched but failing in litbot: {len(base - ok)}")  # fmt: skip
    listed = expected_failures()
    unlisted = sorted(set(expected) - ok - set(listed))
    stale = sorted(name for name in listed if name in ok)
    if unlisted:
        print("  failing but not in the expected failures:", ", ".join(unlisted))
    if stale:
        print("  passing but listed as expected failures:", ", ".join(stale))
    if args.failures:
        for name in sorted(set(expected) - ok):
            print(f"\n=== {name}: {listed.get(name, '(not listed)')}")
            diff = difflib.unified_diff(
                expected[name].splitlines(), ours[name].splitlines(), "citeproc-js", "litbot", n=0
            )
            print("\n".join(line for line in diff if not line.startswith("@@")))


if __name__ == "__main__":
    main()
