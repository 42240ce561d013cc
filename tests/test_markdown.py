"""bot.markdown: the one escaper for Discord Markdown and the one URL policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.markdown import (
    URL_LIMIT,
    code_block,
    doi_url,
    escape,
    escape_message,
    link,
    safe_url,
    url_text,
)
from tests.inert import live, shown

HOSTILE = [
    "@everyone look",
    "@here @Everyone @HERE",
    "<@123> <@!123> <@&456> <#789> </bib add:1> <t:1700000000:R> <:pog:1> <a:pog:2>",
    "[Verify your account](https://evil.example/phish)",
    "[x](<https://evil.example>)",
    "<https://evil.example>",
    "https://evil.example/\\<@&1>",
    "HTTPS://EVIL.EXAMPLE/x",
    "# Heading",
    "## Heading",
    "### Heading",
    "-# subtext",
    "- item",
    "* item",
    "+ item",
    "1. item",
    "  12. indented item",
    "> quote",
    ">>> quote",
    "`code` ```block```",
    "**bold** *it* _it_ __under__ ~~strike~~ ||spoiler||",
    "back\\slash \\*not an escape\\*",
    "first line\n# second line heading\n> third line quote\n- fourth",
    "[[nested](https://a.example)](https://evil.example)",
    "[a](https://b.example) [c](https://d.example) *e* [f](https://g.example)",  # repeats
]


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_renders_nothing_live_and_shows_every_character(text):
    escaped = escape(text)
    assert live(escaped, strict=True) == []
    assert shown(escaped) == text


@pytest.mark.parametrize("text", [t for t in HOSTILE if "not an escape" not in t])
def test_the_checker_sees_each_hostile_text_live_when_unescaped(text):
    assert live(text, strict=True) != []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@everyone", "@\u200beveryone"),
        ("<@&123>", r"\<@&123>"),
        ("[a](https://e.example)", r"\[a\](https\://e.example)"),
        ("# h", r"\# h"),
        ("-# small", r"\-# small"),
        ("1. one", r"1\. one"),
        ("> q", r"\> q"),
        ("a_b*c", r"a\_b\*c"),
        ("NK cells are never alone: crosstalk", "NK cells are never alone: crosstalk"),
        ("", ""),
        (None, ""),
    ],
)
def test_escape_table(text, expected):
    assert escape(text) == expected


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*list("ab1 \n\t.:/@#>-+*_~`|[]()<>\\!&="), "everyone", "here", "https://", "\u200b"]
        ),
        max_size=60,
    ).map("".join)
    | st.text(max_size=60)
)
def test_property_escaped_text_is_inert_and_faithful(text):
    escaped = escape(text)
    assert live(escaped, strict=True) == []
    if "\u200b" not in text:
        assert shown(escaped) == text


def test_escape_message_keeps_the_house_markup_only():
    message = escape_message(
        "Only members with **Manage Server** can do that; “[x](https://evil.example) <@&1>” "
        "(or set a default with `/bib default`)."
    )
    assert "**Manage Server**" in message and "`/bib default`" in message
    assert live(message) == []


def test_code_block_cannot_be_closed_from_inside():
    block = code_block("title = {```` <@&1> ```}", "bibtex")
    assert block.startswith("```bibtex\n") and block.endswith("\n```")
    assert block.count("```") == 2
    assert live(block) == []


# --- the URL policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "link_target"),
    [
        (
            "https://doi.org/10.1186/s12943-023-01737-7",
            "https://doi.org/10.1186/s12943-023-01737-7",
        ),
        ("http://example.org/a?b=c#d", "http://example.org/a?b=c#d"),
        ("HTTPS://Example.ORG/Path", "https://example.org/Path"),
        ("https://example.org/a(b)c", "https://example.org/a%28b%29c"),  # ) ends [x](…)
        ("https://example.org/x'y", "https://example.org/x%27y"),
        (
            'https://example.org/a"b<c>d`e|f{g}^h',
            "https://example.org/a%22b%3Cc%3Ed%60e%7Cf%7Bg%7D%5Eh",
        ),
        ("https://example.org/[x]", "https://example.org/%5Bx%5D"),
        ("https://example.org/100%", "https://example.org/100%25"),
        ("https://example.org/%41ok", "https://example.org/%41ok"),
        ("https://bücher.example/ü", "https://xn--bcher-kva.example/%C3%BC"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("  https://example.org/padded  ", "https://example.org/padded"),
        # refused: not linked at all
        ("https://repo.example/x.pdf) [Verify your account](https://evil.example/phish", None),
        ("javascript:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("ftp://example.org/x", None),
        ("//example.org/x", None),
        ("https:example.org", None),
        ("https://trusted.example@evil.example/", None),
        ("https://user:pw@example.org/", None),
        ("https://example.org\\@evil.example/", None),
        ("https://example.org/a\\b", None),
        ("https://exa mple.org/", None),
        ("https://example.org/a\nb", None),
        ("https://example.org/\u202etxt.exe", None),  # bidi override
        ("https://example.org/\u200bx", None),  # zero-width space
        ("https://[::1]/x", None),
        ("https://example.org:99999/", None),
        ("https://ex_ample.org/", None),
        ("https:///x", None),
        ("https://example.org/" + "p" * URL_LIMIT, None),  # over the cap
        ("", None),
        (None, None),
    ],
)
def test_safe_url_table(url, link_target):
    assert safe_url(url) == link_target
    if link_target is None:
        assert url_text(url) is None
        assert link("label", url) is None
    else:
        assert link("label", url) == f"[label]({link_target})"


@pytest.mark.parametrize(
    ("url", "text"),
    [
        (
            "https://doi.org/10.1016/s0248-8663(03)80579-9",
            "https://doi.org/10.1016/s0248-8663(03)80579-9",
        ),
        ("https://doi.org/10.1/abc(1)", "https://doi.org/10.1/abc(1%29"),  # Discord drops a final )
        ("https://example.org/x.", "https://example.org/x%2E"),
        ("https://example.org/a b", None),
    ],
)
def test_url_text_keeps_parentheses_readable_but_the_link_whole(url, text):
    assert url_text(url) == text


@pytest.mark.parametrize(
    ("doi", "target"),
    [
        ("10.1186/s12943-023-01737-7", "https://doi.org/10.1186/s12943-023-01737-7"),
        ("10.1023/a:1007154515475", "https://doi.org/10.1023/a:1007154515475"),
        (
            "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0",
            "https://doi.org/10.1002/%28SICI%291097-4571%28199806%2949:8%3C693::AID-ASI4%3E3.0.CO;2-0",
        ),
        (
            "10.1/x) [Verify](https://evil.example",
            "https://doi.org/10.1/x%29%20%5BVerify%5D%28https://evil.example",
        ),
        ("10.1/a#b?c%d", "https://doi.org/10.1/a%23b%3Fc%25d"),  # the DOI is the whole path
        (None, None),
    ],
)
def test_doi_url_is_one_unbreakable_link(doi, target):
    assert doi_url(doi) == target
    if target:
        assert live(f"[doi]({target})", hosts={"doi.org"}) == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_property_a_doi_link_never_escapes_its_parentheses(doi):
    target = doi_url(doi)
    if target is not None:
        assert target.startswith("https://doi.org/")
        assert not any(ch in target for ch in "()[]<>\"'` \\|")
        assert live(f"[doi]({target})", hosts={"doi.org"}) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*list("ab:/.@?#%()[]<>\"' \\`|"), "https://", "é", "\u202e", "x.org"]),
        max_size=30,
    ).map("".join)
)
def test_property_policy_output_is_idempotent_and_link_safe(url):
    target = safe_url(url)
    if target is not None:
        assert safe_url(target) == target
        assert len(target) <= URL_LIMIT
        assert not any(ch in target for ch in "()[]<>\"'` \\|")
    text = url_text(url)
    if text is not None:
        assert url_text(text) == text and safe_url(text) is not None


@given(st.text(alphabet=st.sampled_from("aZ09-._~/%?#()'[] é\u200b\x00"), max_size=40))
def test_the_url_checks_fast_paths_agree_with_the_character_by_character_rules(text):
    """_encode and the unsafe-character check skip work for the usual (all-safe, ASCII)
    URL; whatever they skip, the result is what the rule for each character gives."""
    from urllib.parse import quote

    from bot.markdown import _HEX, _LINK_SAFE, _TEXT_SAFE, _encode, _has_unsafe_char, _unsafe_char

    def by_character(part: str, safe: frozenset[str]) -> str:
        return "".join(
            ch
            if ch in safe
            or (
                ch == "%"
                and part[i + 1 : i + 3]
                and set(part[i + 1 : i + 3]) <= _HEX
                and len(part[i + 1 : i + 3]) == 2
            )
            else quote(ch, safe="")
            for i, ch in enumerate(part)
        )

    assert _has_unsafe_char(text) == any(_unsafe_char(ch) for ch in text)
    for safe in (_LINK_SAFE, _TEXT_SAFE):
        assert _encode(text, safe) == by_character(text, safe)
