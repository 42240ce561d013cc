"""Command-line interface: argument parsing and terminal output. Services come from __main__.

Imports are lean: each command imports what it needs when it runs, so ``litbot paper`` loads
neither discord nor citeproc (tests/test_lean_cli.py, bench/startup.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import LitError
from bot.help import ABOUT, TERMINAL_EXAMPLES, terminal_epilog

if TYPE_CHECKING:
    from bot.bibliographies import Actor, BibliographyService
    from bot.citing import CiteService
    from bot.neighbours import NeighbourService
    from bot.papers import PaperService

TOKEN_HELP = (
    """\
litbot needs a Discord bot token to connect to Discord.

  1. Open https://discord.com/developers/applications, create an application,
     open "Bot" and press "Reset Token"; copy the token.
  2. Put it in a file named .env in this folder:   DISCORD_TOKEN=your-token
     (cp .env.example .env lists every other setting.)
  3. Invite the bot with the OAuth2 URL generator (scopes: bot, applications.commands),
     publish the slash commands once with `litbot sync`, then run `litbot run`.

Without a token, the same lookups work in the terminal, for example:

"""
    + "\n".join(f"  {line}" for line in TERMINAL_EXAMPLES[:5])
    + "\n"
)


def _owner_options(command: argparse.ArgumentParser, *, name: bool) -> None:
    """Whose bibliography a ``litbot bib`` subcommand works on: a server's or a user's (one of
    the two is required), and with ``name`` which of their bibliographies."""
    owner = command.add_mutually_exclusive_group(required=True)
    owner.add_argument("--guild", type=int, help="the server's id")
    owner.add_argument("--user", type=int, help="a user's id (their personal bibliographies)")
    if name:
        command.add_argument("--name", help="the bibliography (default: the only one / personal)")


def build_parser() -> argparse.ArgumentParser:
    import textwrap

    # /help in Discord says the same (bot/help.py)
    parser = argparse.ArgumentParser(
        prog="litbot",
        description=textwrap.fill(ABOUT, 78),
        epilog=terminal_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    cite = sub.add_parser(
        "cite",
        help="print a citation",
        description="Print a paper's citation in a CSL style (apa, vancouver, ieee, …; any of "
        "the ~2,800 bundled styles) or as bibtex, ris or csl-json.",
    )
    cite.add_argument("query", nargs="+", help="DOI, URL, arXiv id, PMID, PMCID or title")
    cite.add_argument("--style", "-s", default="apa", help="style id or format (default: apa)")
    bib = sub.add_parser(
        "bib",
        help="export or import a bibliography straight from the database (backups, admins)",
    )
    bib_sub = bib.add_subparsers(dest="bib_command", required=True)
    for name, text in (("export", "write a bibliography to a file"), ("import", "import a file")):
        _owner_options(bib_sub.add_parser(name, help=text), name=True)
    export = bib_sub.choices["export"]
    export.add_argument(
        "--format", default="bibtex", help="bibtex, ris, csl-json or a citation style"
    )
    export.add_argument("--markdown", action="store_true", help="styles: Markdown, not text")
    export.add_argument("--out", help="file to write (default: stdout)")
    bib_sub.choices["import"].add_argument("file", help=".bib, .ris or .txt of identifiers")
    dupes = bib_sub.add_parser(
        "duplicates",
        help="find entries that are one paper and number the merges offered",
        description="Pairs of entries sharing an identifier, a preprint beside its published "
        "version, or the same title, first author and year; merge them with `litbot bib "
        "merge` and the number printed.",
    )
    _owner_options(dupes, name=True)
    merge = bib_sub.add_parser(
        "merge",
        help="merge (or keep apart) the look-alike entries an import or a save found",
        description="An import's report numbers the merges it offers (same title, first "
        "author and year, no identifier in common); merge them into one entry each (the entry "
        "there first keeps its key, tags and notes are joined, the version of record's "
        "metadata wins), or keep them apart for good.",
    )
    _owner_options(merge, name=False)
    merge.add_argument("offer", type=int, help="the offer's number, from the report")
    merge.add_argument("--keep-both", action="store_true", help="keep them apart instead")
    watch = bib_sub.add_parser(
        "watch",
        help="re-check saved works for retractions, corrections and published versions",
        description="Re-check every saved work that is due (all of them with --all) against "
        "Crossref, OpenAlex and arXiv, print what changed, and plan the alerts the running bot "
        "delivers (each notice once per channel or member).",
    )
    watch.add_argument("--all", action="store_true", help="re-check every saved work now")
    watch.add_argument("--limit", type=int, help="re-check at most this many works")

    hood = sub.add_parser(
        "neighbours", help="a paper's references, citing works or related works (OpenAlex)"
    )
    hood.add_argument("query", nargs="+", help="DOI, URL, arXiv id, PMID, PMCID or title")
    hood.add_argument("--kind", choices=("references", "cited-by", "related"), default="references")
    hood.add_argument(
        "--png",
        metavar="FILE",
        help="draw the neighbourhood map (references, citing and related works) to a PNG file",
    )

    summary = sub.add_parser("summary", help="print a paper's TL;DR and key sentences")
    summary.add_argument("query", nargs="+", help="DOI, URL, arXiv id, PMID, PMCID or title")

    fmt = sub.add_parser(
        "format",
        help="format a file of CSL-JSON items as one bibliography",
        description="Format CSL-JSON items (a list, as Zotero and Crossref export them) as one "
        "bibliography: sorted, numbered and disambiguated together. STYLE is a bundled style "
        "(apa, vancouver, …: see `litbot styles`) or the path to any .csl file.",
    )
    fmt.add_argument("items", help="a CSL-JSON file (a list of items)")
    fmt.add_argument("--style", "-s", default="apa", help="style id or .csl file (default: apa)")
    fmt.add_argument(
        "--output",
        "-o",
        choices=("text", "markdown", "html"),
        default="text",
        help="text (default), Discord Markdown, or citeproc-js's HTML",
    )

    styles_cmd = sub.add_parser(
        "styles",
        help="list or search the bundled citation styles",
        description="Without a query, list the ~2,850 bundled CSL styles (id and title); with "
        "one, the best matches by id, alias or title, ranked as /cite's autocomplete ranks them. "
        "Any id printed works with `litbot cite --style`.",
    )
    styles_cmd.add_argument("query", nargs="*", help="part of a name: apa, vancouver, a journal…")
    styles_cmd.add_argument(
        "--all", action="store_true", help="list the ~8,000 journal (dependent) styles too"
    )
    styles_cmd.add_argument(
        "--limit", type=int, default=25, help="matches to print for a query (default 25)"
    )
    return parser


def fail(error: LitError) -> int:
    """One line on stderr; exit 2 for bad or unknown input, 3 for upstream trouble."""
    # an unknown style's Discord message points at autocomplete; its terminal_message, at
    # `litbot styles` (bot.styles.UnknownStyle, not imported here: bot.styles is not lean)
    message = getattr(error, "terminal_message", None) or error.user_message
    print(f"litbot: {message}", file=sys.stderr)
    return error.exit_code


def styles(query: str, *, dependent: bool = False, limit: int = 25) -> int:
    """Style ids and titles, one per line: the bundled styles (journal styles too with
    ``dependent``), or the best matches for ``query``, journals included. A journal's
    (dependent) style names the style it uses."""
    from bot.styles import list_styles, search_styles

    query = " ".join(query.split())
    found = search_styles(query, max(1, limit)) if query else list_styles(dependent=dependent)
    if not found:
        print(f"litbot: no bundled style matches “{query}”.", file=sys.stderr)
        return 2
    width = min(40, max(len(s.id) for s in found))
    for style in found:
        uses = f"  (journal style; uses {style.parent})" if style.parent else ""
        print(f"{style.id:<{width}}  {style.title}{uses}")
    return 0


MAX_ITEMS_BYTES = 50_000_000  # far beyond any reference list


def format_file(path: str, style: str, output: str = "text") -> int:
    """``litbot format``: the items of a CSL-JSON file as one bibliography on stdout.

    One entry per line (``text``, ``markdown``), or citeproc-js's HTML document
    (``<div class="csl-bib-body">``). Exit 2 for an unreadable file, bad JSON or an unusable
    style.
    """
    from bot import citeproc_py
    from bot.citations import format_items
    from bot.sources._http import parse_json

    try:
        with open(path, "rb") as f:
            body = f.read(MAX_ITEMS_BYTES + 1)
    except OSError as error:
        print(f"litbot: cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        if len(body) > MAX_ITEMS_BYTES:
            raise ValueError(f"larger than {MAX_ITEMS_BYTES:,} bytes")
        items = parse_json(body)
    except (ValueError, UnicodeDecodeError) as error:
        print(f"litbot: {path} is not CSL-JSON: {error}", file=sys.stderr)
        return 2
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        print(f"litbot: {path} is not CSL-JSON: expected a list of items", file=sys.stderr)
        return 2
    try:
        entries = format_items(items, style, markup=output)  # type: ignore[arg-type]
    except LitError as error:
        return fail(error)
    except (citeproc_py.StyleError, ValueError) as error:
        print(f"litbot: {error}", file=sys.stderr)
        return 2
    if output == "html":
        body_html = "".join(f'  <div class="csl-entry">{entry}</div>\n' for entry in entries)
        sys.stdout.write(f'<div class="csl-bib-body">\n{body_html}</div>\n')
    else:
        sys.stdout.write("".join(entry + "\n" for entry in entries))
    return 0


async def paper(papers: PaperService, query: str, *, as_json: bool) -> int:
    import json

    from bot.identifiers import parse_identifier
    from bot.ui.terminal import render_text

    try:
        work = await papers.lookup(parse_identifier(query), settled=True)
    except LitError as error:
        return fail(error)
    if as_json:
        print(json.dumps(work.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(work))
    return 0


async def cite(cites: CiteService, query: str, style: str) -> int:
    """Plain text (no Markdown) on stdout, ready to paste."""
    from bot.identifiers import parse_identifier

    try:
        _, formatted = await cites.cite(parse_identifier(query), style, markup="text")
    except LitError as error:
        return fail(error)
    print(formatted.text)
    return 0


async def summary(papers: PaperService, query: str) -> int:
    from bot.identifiers import parse_identifier
    from bot.summaries import key_sentences
    from bot.ui.terminal import render_summary_text

    try:
        work = await papers.lookup(parse_identifier(query), settled=True)
    except LitError as error:
        return fail(error)
    sentences = key_sentences(work.title, work.abstract, 3) if work.abstract else []
    print(render_summary_text(work, sentences))
    return 0


def _actor(args) -> Actor:
    from bot.bibliographies import Actor
    from bot.storage.bibliographies import Owner

    # The CLI is run by whoever holds the database file: an administrator, not rate-limited.
    owner = Owner.guild(args.guild) if args.guild is not None else Owner.user(args.user)
    return Actor.administrator(owner)


def _copy_out(file, out: str | None) -> None:
    """An export's file to ``out``, or to stdout as text."""
    import io
    import shutil

    if out:
        with open(out, "wb") as target:
            shutil.copyfileobj(file, target)
    else:
        shutil.copyfileobj(io.TextIOWrapper(file, encoding="utf-8", newline=""), sys.stdout)


async def bib(bibs: BibliographyService, args) -> int:
    import asyncio

    try:
        if args.bib_command == "watch":
            return await watch(bibs, args)
        if args.bib_command == "duplicates":
            found = await bibs.find_duplicates(_actor(args), args.name)
            print(found.text(markdown=False))
            if found.pairs:
                owner = f"--guild {args.guild}" if args.guild is not None else f"--user {args.user}"
                print(f"Merge them all: litbot bib merge {owner} {found.batch}")
            return 0
        if args.bib_command == "merge":
            settled = await bibs.settle_offers(_actor(args), args.offer, merge=not args.keep_both)
            print(settled.text(markdown=False))
            return 0
        if args.bib_command == "export":
            exported = await bibs.export(
                _actor(args), args.name, args.format, markdown=args.markdown
            )
            try:  # copied from its spooled file in pieces: a big export is never whole in memory
                await asyncio.to_thread(_copy_out, exported.open(), args.out)
            finally:
                exported.close()
            if args.out:
                print(f"{exported.count} entries written to {args.out}", file=sys.stderr)
            return 0
        path = Path(args.file)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as error:
            print(f"litbot: cannot read {path}: {error.strerror}", file=sys.stderr)
            return 2
        report = await bibs.import_file(_actor(args), path.name, data, args.name)
        print(report.text(), end="")
        return 0
    except LitError as error:
        return fail(error)


async def watch(bibs: BibliographyService, args) -> int:
    """``litbot bib watch``: one re-check, and what it found."""
    from bot.storage.watch import WatchStore
    from bot.watch import Watch

    store = WatchStore(bibs.store.db)
    watcher = Watch(store, bibs.papers)
    report = await watcher.run_once(force=args.all, limit=args.limit)
    print(
        f"Re-checked {report.checked} saved work(s)"
        + (f", {report.failed} unreachable (tried again next run)" if report.failed else "")
        + (f", {report.unknown} no longer known to any source" if report.unknown else "")
        + "."
    )
    for key in report.changed:
        for event in await store.events(key):
            when = f" {event.date}" if event.date else ""
            notice = f" (notice: doi:{event.notice})" if event.notice else ""
            print(f"  {key}: {event.words}{when}{notice}")
    if report.alerts:
        print(f"{report.alerts} alert(s) planned; the running bot delivers them.")
    else:
        print("Nothing new.")
    return 0


async def neighbours(
    papers: PaperService, hoods: NeighbourService, query: str, kind, png: str | None = None
) -> int:
    from bot.identifiers import parse_identifier
    from bot.ui.terminal import render_neighbourhood_text

    try:
        work = await papers.lookup(parse_identifier(query), settled=True)
        if png:
            return await _map(hoods, work, png)
        hood = await hoods.neighbourhood(work, kind)
    except LitError as error:
        return fail(error)
    print(render_neighbourhood_text(work, hood))
    return 0


async def _map(hoods: NeighbourService, work, path: str) -> int:
    """``--png FILE``: the map drawn (off the event loop) to FILE, its legend on stdout."""
    import asyncio

    from bot.maps import map_legend, render_map_png

    data = await hoods.neighbour_map(work)
    image = await asyncio.to_thread(render_map_png, data)
    try:
        await asyncio.to_thread(Path(path).write_bytes, image)
    except OSError as error:
        print(f"litbot: cannot write {path}: {error.strerror}", file=sys.stderr)
        return 2
    print(map_legend(data))
    print(f"map written to {path}", file=sys.stderr)
    return 0
