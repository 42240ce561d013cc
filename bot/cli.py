"""Command-line interface: argument parsing and terminal output. Services come from __main__."""

from __future__ import annotations

import argparse
import json
import sys

from bot.errors import LitError
from bot.identifiers import parse_identifier
from bot.papers import PaperService
from bot.ui.terminal import render_text

TOKEN_HELP = """\
litbot needs a Discord bot token to connect to Discord.

  1. Open https://discord.com/developers/applications, create an application,
     open "Bot" and press "Reset Token"; copy the token.
  2. Put it in a file named .env in this folder:   DISCORD_TOKEN=your-token
     (cp .env.example .env lists every other setting.)
  3. Invite the bot with the OAuth2 URL generator (scopes: bot, applications.commands),
     publish the slash commands once with `litbot sync`, then run `litbot run`.

Without a token, the same lookups work in the terminal, for example:

  litbot paper 10.1186/s12943-023-01737-7
  litbot paper https://arxiv.org/abs/2311.16162 --json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litbot", description="A literature assistant for a research lab's Discord."
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log upstream warnings to stderr (terminal commands are quiet by default)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start the Discord bot (DISCORD_TOKEN in .env)")
    sub.add_parser("sync", help="publish the slash commands to Discord")
    paper = sub.add_parser("paper", help="look up a paper and print its card")
    paper.add_argument("query", nargs="+", help="DOI, URL, arXiv id, PMID, PMCID or title")
    paper.add_argument("--json", action="store_true", help="print the merged work as JSON")
    return parser


def fail(error: LitError) -> int:
    """One line on stderr; exit 2 for bad or unknown input, 3 for upstream trouble."""
    print(f"litbot: {error.user_message}", file=sys.stderr)
    return error.exit_code


async def paper(papers: PaperService, query: str, *, as_json: bool) -> int:
    try:
        work = await papers.lookup(parse_identifier(query))
    except LitError as error:
        return fail(error)
    if as_json:
        print(json.dumps(work.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(work))
    return 0
