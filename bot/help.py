"""What litbot says about itself: ``/help`` in Discord and ``litbot --help`` in a terminal
share these words, so the two never disagree. Plain text and Discord Markdown only; no discord.
"""

from __future__ import annotations

import textwrap

README_URL = "https://github.com/litbot/litbot#readme"
EXAMPLE_DOI = "10.1186/s12943-023-01737-7"

ABOUT = (
    "litbot is a literature assistant for a research lab: it looks papers up (DOI, doi.org or "
    "publisher link, arXiv id, PubMed id or link, PMCID, or a title), cites them in any of "
    "~2,800 citation styles or as BibTeX/RIS/CSL-JSON, summarises them, keeps the lab's "
    "bibliographies and shows a paper's research neighbourhood, with where every field came "
    "from."
)

BIBLIOGRAPHIES = (
    "Bibliographies belong to a server or to you. In a server, a command without a "
    "bibliography uses the channel's default (/bib default), else the server's only one; "
    "with several and no default it asks. In DMs it is your personal bibliography. Anyone may "
    "add and list; members remove their own entries; Manage Server removes any entry and "
    "creates, renames and deletes bibliographies. A server's lists are invisible from other "
    "servers and from DMs."
)

LINKS_IN_CHAT = (
    "Paste a paper link or DOI in a DM with litbot, or mention @litbot with it (or reply to "
    "litbot), and it answers with a card. Admins can turn that on for every message of a "
    "channel with /settings unfurl. Code blocks, spoilers and <links> are left alone. "
    "Right-click (or long-press) any message → Apps to cite, save or summarise every paper in it."
)

# One example per command, by qualified name (tests check every command has one).
EXAMPLES = {
    "paper": f"/paper query:{EXAMPLE_DOI}",
    "cite": f"/cite query:{EXAMPLE_DOI} style:vancouver",
    "summary": "/summary query:https://arxiv.org/abs/2004.15011",
    "help": "/help",
    "settings style": "/settings style style:ieee",
    "settings unfurl": "/settings unfurl enabled:True",
    "settings alerts": "/settings alerts channel:#journal-club dms:True",
    "bib add": f"/bib add query:{EXAMPLE_DOI} tags:nk-cells",
    "bib remove": f"/bib remove query:{EXAMPLE_DOI}",
    "bib search": "/bib search query:hypocotyl vascular",
    "bib list": "/bib list sort:year",
    "bib show": f"/bib show query:{EXAMPLE_DOI}",
    "bib export": "/bib export format:bibtex",
    "bib import": "/bib import file:lab.bib",
    "bib create": "/bib create name:journal-club channel_default:True",
    "bib rename": "/bib rename bibliography:journal-club new_name:jc-2026",
    "bib delete": "/bib delete bibliography:jc-2026",
    "bib default": "/bib default bibliography:journal-club",
    "bib bibliographies": "/bib bibliographies",
    "bib duplicates": "/bib duplicates bibliography:journal-club",
    "Cite papers in this message": "right-click a message → Apps → Cite papers in this message",
    "Save papers in this message": "right-click a message → Apps → Save papers in this message",
    "Summarise paper in this message": (
        "right-click a message → Apps → Summarise paper in this message"
    ),
}

TERMINAL_EXAMPLES = (
    f"litbot paper {EXAMPLE_DOI}",
    "litbot paper https://arxiv.org/abs/2311.16162 --json",
    f"litbot cite {EXAMPLE_DOI} --style apa        (or vancouver, bibtex, ris, …)",
    f"litbot summary {EXAMPLE_DOI}",
    f"litbot neighbours {EXAMPLE_DOI} --kind cited-by",
    f"litbot neighbours {EXAMPLE_DOI} --png map.png",
    "litbot bib export --guild 123456789012345678 --format bibtex --out lab.bib",
    "litbot bib duplicates --guild 123456789012345678",
)


def terminal_epilog() -> str:
    """The end of ``litbot --help``: examples, how bibliographies are scoped, the README."""
    examples = "\n".join(f"  {line}" for line in TERMINAL_EXAMPLES)
    scopes = textwrap.fill(BIBLIOGRAPHIES, 78)
    return f"examples:\n{examples}\n\n{scopes}\n\nMore: {README_URL}"


def example(qualified_name: str) -> str | None:
    return EXAMPLES.get(qualified_name)
