"""bot/styles.py: the bundled CSL styles — lookup without a scan, one scan off the event loop,
names, suggestions and the autocomplete ranking."""

from __future__ import annotations

import pytest

from bot import styles
from bot.citations import format_citation
from bot.errors import LitError
from bot.styles import (
    StyleInfo,
    UnknownStyle,
    is_numeric,
    list_styles,
    lookup,
    resolve_style,
    search_styles,
    style_title,
)
from scripts.make_goldens import seed_work
from tests.processes import fresh_python


def test_list_styles_is_the_bundle():
    styles = list_styles()
    assert 2500 < len(styles) < 3500
    ids = {s.id for s in styles}
    assert {
        "apa",
        "ieee",
        "nature",
        "harvard-cite-them-right",
        "modern-language-association",
    } <= ids
    assert next(s for s in styles if s.id == "apa").title.startswith("APA")
    assert all(isinstance(s, StyleInfo) and s.title and s.parent is None for s in styles)
    journals = list_styles(dependent=True)
    assert len(journals) > len(styles)
    assert next(s for s in journals if s.id == "molecular-cancer").title == "Molecular Cancer"
    assert list_styles() == styles  # built once, cached


@pytest.mark.parametrize(
    ("name", "style"),
    [
        ("apa", "apa"),
        ("APA", "apa"),
        (" Apa ", "apa"),
        ("vancouver", "nlm-citation-sequence"),
        ("Vancouver", "nlm-citation-sequence"),
        ("harvard", "harvard-cite-them-right"),
        ("mla", "modern-language-association"),
        ("chicago", "chicago-author-date"),
        ("Chicago author date", "chicago-author-date"),
        ("ama", "american-medical-association"),
        ("ieee", "ieee"),
        ("nature.csl", "nature"),
        ("IEEE Reference Guide version 11.29.2023", "ieee"),
        ("molecular-cancer", "molecular-cancer"),
    ],
)
def test_resolve_style(name, style):
    assert resolve_style(name) == style


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("apa7", "apa"), ("vancuver", "vancouver"), ("chicgo", "chicago"), ("ieeee", "ieee")],
)
def test_unknown_style_suggests_close_matches(name, suggested):
    with pytest.raises(UnknownStyle) as raised:
        resolve_style(name)
    error = raised.value
    assert isinstance(error, LitError)
    assert error.suggestions[0] == suggested and len(error.suggestions) <= 5
    assert name in error.user_message and suggested in error.user_message
    assert all(resolve_style(s) for s in error.suggestions)


def test_unknown_style_without_suggestions():
    with pytest.raises(UnknownStyle) as raised:
        format_citation(seed_work(), "zzqx wobble")
    assert raised.value.suggestions == ()
    assert "zzqx wobble" in raised.value.user_message


def test_search_styles_puts_common_styles_first():
    empty = [s.id for s in search_styles("")]
    assert empty[:6] == list(styles.COMMON_STYLES[:6])
    assert len(search_styles("", limit=3)) == 3
    assert search_styles("apa")[0].id == "apa"
    assert search_styles("vanc")[0].id == "nlm-citation-sequence"
    assert search_styles("harvard")[0].id == "harvard-cite-them-right"
    assert search_styles("MLA")[0].id == "modern-language-association"
    assert search_styles("molecular cancer")[0].id == "molecular-cancer"


@pytest.mark.parametrize("query", ["", "a", "e", "journal", "harvard", "ieee trans", "vancuver"])
def test_search_styles_limit(query):
    found = search_styles(query)
    assert 0 < len(found) <= 25
    assert len({s.id for s in found}) == len(found)
    assert len(search_styles(query, limit=5)) <= 5


# --- autocomplete ranking -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first", "absent"),
    [
        # an alias the query starts, before titles that merely hold the letters
        ("vanc", "nlm-citation-sequence", "advanced-science"),
        ("vancouver", "nlm-citation-sequence", "advanced-science"),
        ("ama", "american-medical-association", None),
        ("acs", "american-chemical-society", None),
        ("apa", "apa", None),
        ("APA", "apa", None),
        ("ieee", "ieee", None),
        ("nature", "nature", None),
        ("harvard", "harvard-cite-them-right", None),
        ("mla", "modern-language-association", None),
        ("chicago", "chicago-author-date", None),
        ("molecular cancer", "molecular-cancer", None),
        ("molecular-cancer", "molecular-cancer", None),
        ("Molecular Cancer", "molecular-cancer", None),
        ("advanced sci", "advanced-science", None),
        # letters inside a word count when nothing starts like the query
        ("dvanced scienc", "advanced-science", None),
        # a typo: difflib's close matches
        ("vancuver", "nlm-citation-sequence", None),
    ],
)
def test_autocomplete_ranks_exact_ids_and_aliases_first(query, first, absent):
    found = [s.id for s in search_styles(query)]
    assert found[0] == first
    if absent:
        assert absent not in found


def test_word_starts_rank_before_letters_inside_words():
    found = [s.id for s in search_styles("cell", limit=25)]
    assert found and all(
        any(
            word.startswith("cell")
            for word in f"{s} {style_title(s).casefold()}".replace("-", " ").split()
        )
        for s in found
    )


def test_common_styles_lead_among_equal_matches():
    assert [s.id for s in search_styles("a", limit=4)] == [
        "apa",
        "american-medical-association",
        "american-chemical-society",
        "american-sociological-association",
    ]


# --- unknown names ---------------------------------------------------------------------------


def test_unknown_style_speaks_of_autocomplete_in_discord_and_of_the_cli_in_the_terminal():
    with pytest.raises(UnknownStyle) as raised:
        resolve_style("zzqx wobble")
    assert "Start typing" in raised.value.user_message
    assert "litbot styles" not in raised.value.user_message
    assert "litbot styles QUERY" in raised.value.terminal_message
    assert "Start typing" not in raised.value.terminal_message
    with pytest.raises(UnknownStyle) as raised:
        resolve_style("chicgo")
    assert "Did you mean: chicago" in raised.value.terminal_message


# --- lookups without a scan; one scan off the loop --------------------------------------------


@pytest.mark.parametrize(
    ("style", "numeric", "title"),
    [
        ("apa", False, "APA Style 7th edition"),
        ("ieee", True, "IEEE"),
        ("nature", True, "Nature"),
        ("molecular-cancer", True, "Molecular Cancer"),  # a journal: numbered by its parent
        ("chicago-author-date", False, "Chicago Manual of Style 18th edition (author-date)"),
    ],
)
def test_lookup_names_and_numbering(style, numeric, title):
    info = lookup(style)
    assert info is not None and info.id == style
    assert is_numeric(style) is numeric
    assert style_title(style).startswith(title)
    assert lookup("no-such-style") is None and lookup("../apa") is None
    assert not is_numeric("no-such-style") and style_title("no-such-style") == "no-such-style"


def test_citing_needs_no_scan_of_every_style():
    # what /cite does before answering: resolve an id or alias, title it, ask if it numbers
    out = fresh_python(
        """
        from bot import styles
        for name in ("apa", "vancouver", "IEEE", "molecular-cancer", "nature.csl"):
            style = styles.resolve_style(name)
            styles.style_title(style), styles.is_numeric(style)
        print(styles.loaded())
        """
    )
    assert out.split() == ["False"]


def test_load_scans_once_in_a_worker_thread_whoever_asks():
    out = fresh_python(
        """
        import asyncio, threading
        from bot import styles

        threads = []
        read = styles._info
        def spy(path):
            threads.append(threading.get_ident())
            return read(path)
        styles._info = spy

        async def main():
            await asyncio.gather(styles.load(), styles.load(), styles.load())
            await styles.load()
            return threading.get_ident()

        loop_thread = asyncio.run(main())
        print(styles.loaded(), len(threads) == len(styles.registry()), loop_thread in threads)
        """
    )
    assert out.split() == ["True", "True", "False"]
