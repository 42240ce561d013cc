"""Import benchmark (offline): what the worst 2 MiB uploads cost to parse.

Each case is a file of (nearly) 2 MiB, the upload limit, built to be as expensive as possible
for one part of bot/bibio.py; it is parsed here, in this process, with what parse_upload runs
(/bib import runs it as a heavy job in a bulk worker process: this is that job's CPU time).
Prints, per case: seconds, entries kept, entries refused, and the characters pylatexenc saw.

    python bench/imports.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import bibio  # noqa: E402

LIMIT = bibio.MAX_BYTES
LATEX = '{\\"u}ber M{\\"u}ller {{DNA}} --- $x^2$ '  # accents, groups, a ligature, math


def fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def entries(make: Callable[[int], str]) -> str:
    """As many entries from ``make(i)`` as fit in the upload limit (and the entry limit)."""
    out, size = [], 0
    for i in range(bibio.MAX_ENTRIES):
        entry = make(i)
        if size + len(entry) + 1 > LIMIT:
            break
        out.append(entry)
        size += len(entry) + 1
    return "\n".join(out)


def cases() -> dict[str, str]:
    huge = LIMIT - 200
    return {
        "one 2 MiB title full of LaTeX": f"@article{{k, title={{{fill(LATEX, huge)}}}}}",
        "one 2 MiB abstract full of LaTeX": (
            f"@article{{k, title={{T}}, abstract={{{fill(LATEX, huge)}}}}}"
        ),
        "one 2 MiB plain title": f"@article{{k, title={{{fill('plain words ', huge)}}}}}",
        "32 titles of 64 KiB of LaTeX": entries(
            lambda i: f"@article{{k{i}, title={{{i} {fill(LATEX, bibio.MAX_FIELD_CHARS - 100)}}}}}"
        ),
        "5,000 entries, LaTeX in every field": entries(
            lambda i: (
                f"@article{{k{i}, author={{M{{\\\"u}}ller{i}, J{{\\'o}}n and Sm{{\\o}}rgrav, "
                f"{{\\AA}}se}}, title={{{fill(LATEX, 200)} {i}}}, journal={{J. {{\\'E}}t. {i}}}, "
                f"year={{2001}}, pages={{1--{i}}}}}"
            )
        ),
        "5,000 plain entries with braces": entries(
            lambda i: (
                f"@article{{k{i}, author={{Writer{i}, Ann and Other, Bob}}, "
                f"title={{{{DNA}} repair in {{E. coli}} {fill('word ', 250)} {i}}}, "
                f"journal={{Journal {i}}}, year={{2001}}}}"
            )
        ),
        "2 MiB of two-letter authors": entries(
            lambda i: (
                f"@article{{k{i}, title={{T{i}}}, author={{"
                + " and ".join(f"A{j}, B" for j in range(6000))[: bibio.MAX_FIELD_CHARS - 10]
                + "}}"
            )
        ),
        "@string of 64 KiB of LaTeX names, used 5,000 times": (
            '@string{s = "'
            + " and ".join(f"M{{\\\"u}}ller{i}, J{{\\'o}}n" for i in range(4000))[:60000]
            + '"}\n'
            + entries(lambda i: f"@article{{k{i}, title={{T{i}}}, author = s}}")[: LIMIT - 61000]
        ),
    }


def main() -> None:
    print(f"{'case':<52} {'seconds':>8} {'kept':>6} {'refused':>8} {'pylatexenc':>12}")
    for name, text in cases().items():
        data = text.encode()
        assert len(data) <= LIMIT, (name, len(data))
        latex = bibio.LatexDecoder()
        t0 = time.perf_counter()
        parsed = bibio.parse_bibtex(bibio.decode(data), latex)
        seconds = time.perf_counter() - t0
        chars = bibio.LATEX_BUDGET - latex.left
        print(
            f"{name:<52} {seconds:8.2f} {len(parsed.items):6d} {len(parsed.problems):8d}"
            f" {chars / 1024:8.0f} KiB"
        )


if __name__ == "__main__":
    main()
