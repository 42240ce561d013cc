"""A crafted record through every reply path of the real process: nothing renders live.

The record (``tests/synthetic/*-crafted.json``, real recordings' shapes with hostile values)
carries @everyone, user/role/channel and slash-command mentions, Markdown of every kind, masked
links and URLs with ``)`` and spaces inside, in its title, authors, venue, abstract, retraction
notice and every URL field. The test drives /paper and each of its buttons, /cite with the style
select, Send to my DMs, /summary and its abstract button, the neighbourhoods, /bib add, list and
show, and error messages that echo hostile input; then it reads every message body the fake
Discord received (``tests/inert.py``): no mention pill, no @everyone, no masked or bare link but
the policy's own to doi.org and the repository, no line-start construct, allowed_mentions off.
Each step also checks that the hostile text did arrive, escaped, so the test cannot pass by
showing nothing.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.markdown import doi_url, escape
from tests.e2e.conftest import CRAFTED
from tests.inert import payload_problems, resolve_escapes, shown
from tests.synthetic.make_crafted import PAREN_URL, PHISH, ROLE

pytestmark = pytest.mark.asyncio(loop_scope="session")

GUILD = "hostile"
HOSTS = {"doi.org", "repo.example"}  # the only hosts a link may point to
CALLBACK = "POST /interactions/{interaction_id}/{token}/callback"
FOLLOWUP = "POST /webhooks/{application_id}/{token}"
EDIT = "PATCH /webhooks/{application_id}/{token}/messages/{message_id}"
CHANNEL_MESSAGE = "POST /channels/{channel_id}/messages"
ESCAPED_ROLE = escape(ROLE)  # \<@&222…>
ESCAPED_PHISH = escape(PHISH)
LIVE_LINE = re.compile(r"(?im)^[ \t]*(#{1,3}|-#|>{1,3}|[-+*]|\d+\.)[ \t]+canary")


def bodies(calls) -> list[tuple[str, dict]]:
    """Every message body the bot sent: initial responses, followups, edits, channel posts."""
    out = []
    for call in calls:
        body = call.json or {}
        if call.key == CALLBACK and body.get("type") in (4, 7):
            out.append((call.key, body.get("data") or {}))
        elif call.key in (FOLLOWUP, EDIT, CHANNEL_MESSAGE):
            out.append((call.key, body))
    return out


async def quiet(discord, still: float = 1.0, within: float = 20.0) -> None:
    """Until the bot has sent nothing for ``still`` seconds (at most ``within``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen, since = len(discord.calls), loop.time()
    while loop.time() < deadline and loop.time() - since < still:
        await asyncio.sleep(0.1)
        if len(discord.calls) != seen:
            seen, since = len(discord.calls), loop.time()


def texts(payload: dict) -> str:
    """Every rendered string of one body, joined (for "did the hostile text arrive")."""
    parts = [payload.get("content") or ""]
    for embed in payload.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f.get("value") or "" for f in embed.get("fields") or []]
    return "\n".join(parts)


class Inspector:
    """Checks each step's bodies as it goes, and remembers what every step sent."""

    def __init__(self, discord) -> None:
        self.discord = discord
        self.mark = len(discord.calls)
        self.seen: dict[str, list[tuple[str, dict]]] = {}
        self.mentions = {f"<@{discord.user('alice')['id']}>"}  # "added by" on /bib show

    def step(self, name: str, *, carries: tuple[str, ...] = (ESCAPED_ROLE,)) -> str:
        sent = bodies(self.discord.calls[self.mark :])
        self.mark = len(self.discord.calls)
        assert sent, f"{name}: the bot sent nothing"
        problems = [
            f"{name}: {key}: {problem}"
            for key, body in sent
            for problem in payload_problems(
                body, hosts=HOSTS, mentions=self.mentions, line_starts=("-# ",)
            )
        ]
        text = "\n".join(texts(body) for _, body in sent)
        if LIVE_LINE.search(resolve_escapes(text)):
            problems.append(f"{name}: a live line-start construct: {text!r}")
        assert not problems, "\n".join(problems)
        for needle in carries:  # the hostile text arrived, escaped: not an empty pass
            assert needle in text, f"{name}: {needle!r} not in {text!r}"
        self.seen[name] = sent
        return text


async def test_a_crafted_record_renders_inert_through_every_reply(discord):
    check = Inspector(discord)
    ref = CRAFTED  # a DOI that fits a custom id is its own handle (PaperService.ref)

    card = await discord.slash("paper", guild=GUILD, query=CRAFTED, full=True)
    text = check.step("/paper", carries=(ESCAPED_ROLE, ESCAPED_PHISH, "@\u200beveryone"))
    embed = card.message.embed
    assert embed["url"] == doi_url(CRAFTED) == "https://doi.org/10.5555/crafted_%281%29x"
    assert "retracted" in text and r"\# canary-heading" in text  # notice and abstract arrived
    links = {c["label"]: c["url"] for c in card.message.items() if c.get("style") == 5}
    assert links["Publisher page"] == "https://doi.org/10.5555/crafted_%281%29x"
    assert links["Open copy (published)"].startswith("https://repo.example/files/crafted%281%29")
    assert "evil.example" not in "".join(links.values())
    assert f"[Read the open copy]({links['Open copy (published)']})" in card.message.field("Access")
    assert PAREN_URL not in text  # the raw URL is never printed

    # A card shown before its slower sources (and the local TL;DR) answered is edited when
    # they do (cogs/paper.refresh_card): wait for that, and check the edit is inert too.
    await quiet(discord)
    if bodies(discord.calls[check.mark :]):
        check.step("card edit", carries=())

    cited = await discord.click(card.message, f"lit:cite:{ref}", user="alice")
    check.step("Cite button")
    assert cited.message.ephemeral and f"lit:style:{ref}" in cited.message.custom_ids
    for style in ("modern-language-association", "vancouver", "ieee", "bibtex"):
        await discord.select(cited.message, f"lit:style:{ref}", [style], user="alice")
        # BibTeX: raw, but inside a code block, where nothing renders
        carries = ("<@111111111111111111>",) if style == "bibtex" else (ESCAPED_ROLE,)
        picked = check.step(f"style select {style}", carries=carries)
        # the record is retracted: a warning line comes first (its notice through the URL policy)
        warning, _, citation = picked.partition("\n")
        assert warning.startswith("⚠️ **This work has been retracted**")
        if style == "bibtex":
            assert citation.startswith("```bibtex\n")

    dm = await discord.click(card.message, f"lit:dm:{ref}", user="alice")
    check.step("Send to my DMs")
    (post,) = dm.channel_messages
    assert post.embeds and ESCAPED_ROLE in post.content

    for action in ("refs", "citedby", "related"):
        await discord.click(card.message, f"lit:{action}:{ref}", user="alice")
        # references and related list the record itself; nothing cites it
        carries = (
            ()
            if action == "citedby"
            else (ESCAPED_ROLE, "[doi](https://doi.org/10.5555/crafted_%281%29x)")
        )
        check.step(f"{action} button", carries=carries)

    compact = await discord.slash("paper", guild=GUILD, query=CRAFTED)  # the default card
    check.step("/paper compact", carries=(ESCAPED_ROLE, "@\u200beveryone"))
    for action in ("sources", "card"):
        if f"lit:{action}:{ref}" in compact.message.custom_ids:
            await discord.click(compact.message, f"lit:{action}:{ref}", user="alice")
            check.step(f"{action} button", carries=("@\u200beveryone",))

    for style in ("apa", "nature"):
        await discord.slash("cite", guild=GUILD, query=CRAFTED, style=style)
        check.step(f"/cite {style}")

    summary = await discord.slash("summary", guild=GUILD, query=CRAFTED)
    check.step("/summary")
    await discord.click(summary.message, f"lit:abstract:{ref}", user="alice")
    check.step("abstract button", carries=(ESCAPED_ROLE, r"\> canary-quote"))

    note = f"Note {ROLE} {PHISH} @everyone ||canary-spoiler||"
    await discord.slash("bib add", guild=GUILD, query=CRAFTED, note=note, tags="hostile")
    check.step("/bib add")
    await discord.slash("bib list", guild=GUILD)
    check.step(
        "/bib list", carries=(ESCAPED_ROLE, "[doi](https://doi.org/10.5555/crafted_%281%29x)")
    )
    await discord.slash("bib show", guild=GUILD, query=CRAFTED)
    check.step("/bib show", carries=(ESCAPED_ROLE, ESCAPED_PHISH))


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("paper", {"query": f"Unheard-of xyzzy plugh frobnicate quux {PHISH} {ROLE} @everyone"}),
        ("cite", {"query": CRAFTED, "style": f"{ROLE} {PHISH}"}),
        ("bib add", {"query": CRAFTED, "tags": f"{ROLE} {PHISH}"}),
        ("bib show", {"query": f"{PHISH} {ROLE}"}),
    ],
    ids=["paper", "cite-style", "bib-tags", "bib-show"],
)
async def test_error_messages_echo_hostile_input_inert(discord, command, options):
    check = Inspector(discord)
    answer = await discord.slash(command, guild=GUILD, **options)
    assert answer.message is not None and answer.message.ephemeral
    echoed = check.step(f"/{command} error", carries=())
    assert "Traceback" not in echoed
    # the input is echoed (escaped), or not at all; never live
    assert ESCAPED_ROLE in echoed or ROLE not in shown(echoed)
