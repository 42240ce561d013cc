"""bot/bibio.py's bounds: what pylatexenc sees, field and budget limits, worst-case uploads.

No wall-clock assertions: each bound is shown by what was (not) decoded and what was refused.
bench/imports.py prints the seconds for the same kinds of 2 MiB files.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import bibio
from bot.bibio import (
    LATEX_BUDGET,
    MAX_BYTES,
    MAX_FIELD_CHARS,
    LatexDecoder,
    parse_bibtex,
    parse_upload,
)

LATEX = '{\\"u}ber M{\\"u}ller {{DNA}} --- $x^2$ '


def fill(unit: str, size: int) -> str:
    """Whole copies of ``unit`` (so braces stay balanced) up to ``size`` characters."""
    return unit * (size // len(unit))


class Counting:
    """Stands in for pylatexenc's decoders: counts the characters handed to it."""

    def __init__(self, real):
        self.real, self.calls, self.chars = real, 0, 0

    def latex_to_text(self, text: str) -> str:
        self.calls += 1
        self.chars += len(text)
        return self.real.latex_to_text(text)


@pytest.fixture
def pylatexenc(monkeypatch):
    fields = Counting(bibio._FIELDS_LATEX)
    names = Counting(bibio._NAMES_LATEX)
    monkeypatch.setattr(bibio, "_FIELDS_LATEX", fields)
    monkeypatch.setattr(bibio, "_NAMES_LATEX", names)
    return fields, names


# -- the fast path ---------------------------------------------------------------------------

NO_MARKUP = st.text(
    alphabet=st.characters(blacklist_characters="\\$%&~", blacklist_categories=("Cs",)),
    max_size=40,
).filter(lambda t: not bibio._LATEX_MARKUP.search(t))


@settings(max_examples=400, deadline=None)
@given(NO_MARKUP)
def test_text_without_markup_decodes_as_pylatexenc_would(text):
    """The fast path (unchanged, or braces dropped) is what pylatexenc itself returns."""
    for real, names in ((bibio._FIELDS_LATEX, False), (bibio._NAMES_LATEX, True)):
        latex = LatexDecoder()
        assert latex.decode(text, names=names) == real.latex_to_text(text)
        assert latex.calls == 0


@pytest.mark.parametrize("c", sorted(set(string.printable) - set("\\$%&~{}")))
def test_every_other_printable_character_is_left_alone(c):
    assert bibio._FIELDS_LATEX.latex_to_text(f"a{c}b") == f"a{c}b"


def test_plain_and_braced_entries_never_reach_pylatexenc(pylatexenc):
    text = "\n".join(
        f"@article{{k{i}, author={{Writer{i}, Ann and {{World Health Organization}}}},"
        f" title={{{{DNA}} repair in {{E. coli}} {i}}}, journal={{J}}, year={{2001}},"
        f" abstract={{{fill(LATEX, 500)}}}}}"  # LaTeX, but in a field the import does not keep
        for i in range(200)
    )
    parsed = parse_bibtex(text)
    assert len(parsed.items) == 200 and not parsed.problems
    assert parsed.items[0].work.title == "DNA repair in E. coli 0"
    assert [a.family for a in parsed.items[0].work.authors][1] == "World Health Organization"
    fields, names = pylatexenc
    assert fields.calls == names.calls == 0


def test_latex_is_still_decoded(pylatexenc):
    parsed = parse_bibtex(
        '@article{k, author={M{\\"u}ller, J{\\\'o}n}, title={{\\"U}ber Stra{\\ss}en}, '
        "journal={J}, pages={1--9}}"
    )
    (item,) = parsed.items
    assert item.work.title == "Über Straßen" and item.work.authors[0].family == "Müller"
    assert item.work.pages == "1–9"
    fields, names = pylatexenc
    assert fields.calls == 2 and names.calls == 2  # title, pages; "M{\"u}ller", "J{\'o}n"


# -- limits ----------------------------------------------------------------------------------


def test_a_2_mib_upload_with_one_huge_latex_field_is_refused_without_decoding(pylatexenc):
    huge = fill(LATEX, MAX_BYTES - 300)
    data = (
        "@article{small, title={Kept}, year={2020}}\n"
        f"@article{{huge, title={{{huge}}}}}\n"
        "@article{after, title={Also kept}}\n"
    ).encode()
    assert len(data) <= MAX_BYTES
    parsed = parse_upload("worst.bib", data)
    assert [i.label for i in parsed.items] == ["small", "after"]
    (problem,) = parsed.problems
    assert problem.line == 2
    assert problem.message == (
        "@article{huge}: not imported: its title field is 2.0 MiB; fields are limited to 64 KiB"
    )
    fields, names = pylatexenc
    assert fields.chars + names.chars < 100


def test_a_huge_field_the_import_does_not_keep_is_ignored(pylatexenc):
    data = f"@article{{k, title={{T}}, abstract={{{fill(LATEX, MAX_BYTES - 100)}}}}}".encode()
    parsed = parse_upload("abstract.bib", data)
    assert len(parsed.items) == 1 and not parsed.problems
    assert pylatexenc[0].calls == 0


def test_many_latex_fields_stop_at_the_files_budget(pylatexenc):
    """2 MiB of distinct LaTeX titles: pylatexenc sees at most LATEX_BUDGET characters; the
    entries past it are reported, line by line, and the ones before are kept."""
    size = MAX_FIELD_CHARS - 100
    entries = [
        f"@article{{k{i}, title={{{i} {fill(LATEX, size)}}}}}" for i in range(MAX_BYTES // size)
    ]
    data = "\n".join(entries).encode()
    assert MAX_BYTES - 2 * size < len(data) <= MAX_BYTES
    parsed = parse_upload("many.bib", data)
    fields, _ = pylatexenc
    assert fields.chars <= LATEX_BUDGET
    title = len(fill(LATEX, size)) + 3  # "NN " before it
    kept = LATEX_BUDGET // title
    assert len(parsed.items) == kept and len(parsed.problems) == len(entries) - kept
    assert parsed.problems[0].line == kept + 1
    assert "more LaTeX than one import decodes (512 KiB)" in parsed.problems[0].message


def test_a_string_abbreviation_repeated_thousands_of_times_is_bounded(pylatexenc):
    """One 60 KiB @string used by 5,000 entries expands to 300 MB; the expanded size is capped
    (and the decoded value is remembered, so pylatexenc sees it once)."""
    names = " and ".join(f"M{{\\\"u}}ller{i}, J{{\\'o}}n" for i in range(4000))[:60000]
    text = f'@string{{s = "{names}"}}\n' + "\n".join(
        f"@article{{k{i}, title={{T{i}}}, author = s}}" for i in range(5000)
    )
    parsed = parse_upload("strings.bib", text.encode())
    assert 0 < len(parsed.items) <= bibio.MAX_EXPANDED_CHARS // 60000
    assert len(parsed.items) + len(parsed.problems) == 5000
    assert "@string abbreviations expanded" in parsed.problems[0].message
    assert pylatexenc[1].chars < 2 * 60000


def test_ris_fields_over_the_limit_refuse_their_record():
    ris = (
        "TY  - JOUR\nTI  - Fine\nER  - \n"
        f"TY  - JOUR\nTI  - {'x' * (MAX_FIELD_CHARS + 1)}\nER  - \n"
        "TY  - JOUR\nTI  - Also fine\nAB  - " + "long abstract " * 10000 + "\nER  - \n"
    )
    parsed = parse_upload("big.ris", ris.encode())
    assert [i.label for i in parsed.items] == ["Fine", "Also fine"]
    (problem,) = parsed.problems
    assert problem.line == 4 and "fields are limited to 64 KiB" in problem.message


# -- keys and DOI checks ------------------------------------------------------------------------


def test_bib_entries_carry_their_own_keys():
    parsed = parse_bibtex(
        "@article{Smith:2020, title={A}}\n@book{smith_2020-b, title={B}}\n@misc{k1, title={C}}"
    )
    assert [item.key for item in parsed.items] == ["Smith:2020", "smith_2020-b", "k1"]
    ris = bibio.parse_ris("TY  - JOUR\nID  - 12\nTI  - T\nER  - \n")
    assert [item.key for item in ris.items] == [None]  # RIS IDs are record numbers, not keys


def _record(title: str, family: str | None, doi: str = "10.1/x"):
    from bot.models import Author, Work

    authors = (Author(f"A {family}", family, "A"),) if family else ()
    return Work(doi=doi, title=title, authors=authors)


@pytest.mark.parametrize(
    ("mine", "found", "differs"),
    [
        (("Sleep apnea in fragile X premutation carriers", "Hamlin"),
         ("Sleep apnea in fragile X premutation carriers with and without FXTAS", "Hamlin"), None),
        (("Microplastic contamination in canned fish sold in Turkiye", "Gundogdu"),
         ("Microplastic contamination in canned fish sold in Türkiye", "Gündoğdu"), None),
        (("Trophic ecology of Mexican Pacific harbor seal colonies", "Rodríguez"),
         ("Trophic ecology of Mexican Pacific harbor seal colonies", "Juárez-Rodríguez"), None),
        (("Embodied AI: a foundation for intelligent manufacturing", "Zhang"),
         ("Embodied AI: A Foundation for Intelligent and Autonomous Manufacturing", "Zhang"), None),
        (("CO2 capture in amine solutions", "Li"), ("CO₂ capture in amine solutions", "Li"), None),
        (("A Geometric Understanding of Deep Learning", "Lei"),
         ("A Survey of Accelerator Architectures for Deep Neural Networks", "Lei"), "title"),
        (("A Geometric Understanding of Deep Learning", "Chen"),
         ("A Geometric Understanding of Deep Learning", "Lei"), "first author"),
        (("A Geometric Understanding of Deep Learning", None),
         ("A Geometric Understanding of Deep Learning", "Lei"), None),  # nothing to compare
    ],
)  # fmt: skip
def test_doi_disagreement_compares_folded_titles_and_first_authors(mine, found, differs):
    reason = bibio.doi_disagreement(_record(*mine), _record(*found))
    if differs is None:
        assert reason is None
    else:
        assert reason is not None and f"not this entry's {differs}." in reason
