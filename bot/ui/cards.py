"""Work → Discord embed (the paper card). No I/O, no business rules: it only displays.

Every string from upstream goes through ``bot.markdown.escape`` and every link through its URL
policy (``safe_url``, ``doi_url``, ``link``); the embed is built within Discord's limits (title
256, description 4096, field 1024, footer 2048, total 6000).
"""

from __future__ import annotations

import textwrap
from collections import OrderedDict
from dataclasses import replace

import discord

from bot.licences import licence_label
from bot.markdown import doi_address, doi_url, escape, link, safe_url, url_text
from bot.merge import SOURCE_LABELS
from bot.models import WORK_TYPES, Update, Work
from bot.placeholders import without_placeholders
from bot.text import plural, truncate
from bot.ui.fields import (
    STATUS_WORDS,
    access_line,
    author_line,
    fetched_text,
    identifier_links,
    provenance_text,
    published_as_line,
    source_name,
    tldr_label,
    update_lines,
    venue_line,
)
from bot.ui.notes import missing_sources_note, reader_notes

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
ABSTRACT_SHOWN = 1200  # the card shows the opening; the full abstract is one click away

COLOURS = {"retracted": 0xD83C3E, "open": 0x2E8B57, "free": 0xC78C2C, "closed": 0x5865F2}


def retraction_warning(work: Work) -> str | None:
    """The line shown above a citation of a retracted work (as Zotero warns before citing one),
    with the retraction notice linked when it is known; ``None`` for other works."""
    if not work.retracted:
        return None
    via = source_name(work.provenance.get("retracted"))
    notice = work.retraction_notice
    line = f"⚠️ **This work has been retracted** (via {via}): check before citing it."
    linked = link("Retraction notice", doi_address(notice)) if notice else None
    return f"{line} {linked}" if linked else line


def work_embed(
    work: Work, title: str | None = None, colour: int = COLOURS["closed"]
) -> discord.Embed:
    """An embed about ``work``: its escaped title (or ``title``), linked to its DOI."""
    return discord.Embed(
        title=title if title is not None else work.rich("title").markdown(TITLE_LIMIT),
        url=doi_url(work.doi),
        colour=colour,
    )


def render_card(work: Work) -> discord.Embed:
    """The paper card. Always within Discord's limits, whatever the record holds."""
    colour = (
        COLOURS["retracted"]
        if work.retracted
        else COLOURS["open"]
        if work.access.url and work.access.licence
        else COLOURS["free"]
        if work.access.url
        else COLOURS["closed"]
    )
    embed = work_embed(work, colour=colour)
    work = without_placeholders(work)

    head: list[str] = []
    if work.retracted:
        address = url_text(doi_address(work.retraction_notice)) if work.retraction_notice else None
        notice = f" Notice: {address}" if address else ""
        via = source_name(work.provenance.get("retracted"))
        head.append(f"⚠️ **This work has been retracted** (via {via}).{notice}")
    for words, notice_doi in update_lines(work):
        address = url_text(doi_address(notice_doi)) if notice_doi else None
        notice = f" Notice: {address}" if address else ""
        mark = "⚠️" if words.startswith("Expression of concern") else "📝"
        head.append(f"{mark} **{escape(words)}**.{notice}")
    head.append(escape(author_line(work.authors)))
    line = escape(venue_line(work))
    # None is "not counted" (DataCite's 0, a source that failed): the card says nothing then.
    if work.cited_by_count is not None:
        src = source_name(work.provenance.get("cited_by_count"))
        line = (
            f"{line} · {work.cited_by_count:,} citations ({src})"
            if line
            else (f"{work.cited_by_count:,} citations ({src})")
        )
    if line:
        head.append(line)
    if published := published_as_line(work, markdown=True):
        head.append(published)
    if work.tldr:
        head.append(f"**{tldr_label(work)}:** {escape(truncate(work.tldr, 400))}")
    header = "\n".join(head)

    if work.abstract:
        room = DESCRIPTION_LIMIT - len(header) - 64
        label = f"**Abstract** ({source_name(work.provenance.get('abstract'))})"
        body = work.rich("abstract").markdown(min(ABSTRACT_SHOWN, max(room, 0)))
        description = f"{header}\n\n{label}\n{body}" if room > 100 else header
    else:
        description = f"{header}\n\n*No abstract available from any source.*"
    embed.description = truncate(description, DESCRIPTION_LIMIT)

    access = work.access
    value = escape(access_line(work))
    # a URL that fails the policy is not linked: the next one is tried, or none is shown
    if read := link("Read the open copy", access.url) or link("Read at source →", access.read_at):
        value += f"\n{read}"
    if access.reason:
        value += f"\n{escape(access.reason)}"
    embed.add_field(name="Access", value=truncate(value, FIELD_LIMIT), inline=False)

    ids = []
    if work.doi:
        ids.append(f"DOI {escape(work.doi)}")
    for label, url in identifier_links(work):  # PubMed, PMC, arXiv: linked when the URL passes
        ids.append(link(label, url) or escape(label))
    if work.arxiv and work.arxiv_category:
        ids[-1] += " " + escape(f"[{work.arxiv_category}]")  # arXiv's form: arXiv:id [cs.DL]
    if ids:
        embed.add_field(
            name="Identifiers", value=truncate(" · ".join(ids), FIELD_LIMIT), inline=False
        )

    if work.notes or work.missing:
        notes = "\n".join(f"• {escape(n)}" for n in reader_notes(work))
        embed.add_field(
            name="Note", value=truncate(notes or "Some sources failed.", FIELD_LIMIT), inline=False
        )

    footer = f"Sources: {provenance_text(work)} · fetched {fetched_text(work.fetched_at)}"
    if work.stale:
        footer += " (cached copy)"
    embed.set_footer(text=truncate(footer, FOOTER_LIMIT))

    # Whatever is left over the 6000 total comes off the description.
    excess = len(embed) - TOTAL_LIMIT
    if excess > 0:
        embed.description = truncate(
            embed.description or "", max(0, len(embed.description or "") - excess - 1)
        )
    return embed


def card_links(work: Work) -> list[tuple[str, str]]:
    """(label, url) pairs for link buttons: the open copy or the source, and the DOI."""
    links: list[tuple[str, str]] = []
    if copy := safe_url(work.access.url):
        version = f" ({work.access.version})" if work.access.version else ""
        links.append((f"Open copy{version}"[:80], copy))  # button labels are plain text
    if publisher := doi_url(work.doi):
        label = "Read at source" if not copy else "Publisher page"
        links.append((label, publisher))
    return links


def render_summary(work: Work, key_sentences: list[str]) -> discord.Embed:
    """``/summary``: the TL;DR (labelled with its origin) and the abstract's key sentences."""
    embed = work_embed(work)
    parts = [escape(author_line(work.authors))]
    if work.tldr:
        parts.append(f"**{tldr_label(work)}:** {escape(truncate(work.tldr, 600))}")
    elif work.abstract:
        parts.append("*No TL;DR could be made from this abstract.*")
    else:
        parts.append("*No abstract is available from any source, so there is no TL;DR.*")
    if key_sentences:
        source = source_name(work.provenance.get("abstract"))
        bullets = "\n".join(f"• {escape(truncate(s, 700))}" for s in key_sentences)
        parts.append(f"**Key sentences of the abstract** ({source})\n{bullets}")
    embed.description = truncate("\n\n".join(p for p in parts if p), DESCRIPTION_LIMIT)
    embed.set_footer(
        text=truncate(
            f"Sources: {provenance_text(work)} · fetched {fetched_text(work.fetched_at)}",
            FOOTER_LIMIT,
        )
    )
    return embed


def render_abstract(work: Work) -> discord.Embed:
    """The full abstract, for the summary's button (as much as an embed holds)."""
    source = source_name(work.provenance.get("abstract"))
    embed = discord.Embed(title=work.rich("title").markdown(TITLE_LIMIT), colour=COLOURS["closed"])
    body = work.rich("abstract").markdown() if work.abstract else "*No abstract available.*"
    footer = f"Abstract via {source}"
    if len(body) > DESCRIPTION_LIMIT:
        footer += " · shortened to fit; the full text is at the source"
        body = work.rich("abstract").markdown(DESCRIPTION_LIMIT)
    embed.description = body
    embed.set_footer(text=footer)
    return embed


def short_citation(work) -> str:
    """``Zhou et al. (2023) · NK cells are never alone…`` for list lines (escaped). ``work``: a
    ``Work``, or what a list reads of one (``bot.storage.bibliographies.ListLine``)."""
    if isinstance(work, Work):
        names = [a.family or a.name for a in work.authors[:2]]
        count = len(work.authors)
    else:
        names, count = list(work.names), work.authors
    if not count:
        who = "Anon."
    else:
        who = names[0]
        if count == 2:
            who += f" & {names[1]}"
        elif count > 2:
            who += " et al."
    year = f" ({work.year})" if work.year else ""
    return f"{escape(who)}{year} · *{escape(truncate(work.title, 90))}*"


def list_line(number: int, entry) -> str:
    """One entry of a list (``/bib list``, ``/bib search``): number, notice mark, short
    citation, DOI link, tags. Reads only ``entry.line``, never the whole work."""
    line = entry.line
    doi = link("doi", doi_url(line.doi))
    doi = f" · {doi}" if doi else ""
    tags = f" `{' '.join('#' + t for t in entry.tags)}`" if entry.tags else ""
    return f"**{number}.** {notice_mark(line)}{short_citation(line)}{doi}{tags}"


def render_page(page) -> discord.Embed:
    """One page of a bibliography (``bot.bibliographies.Page``): ten short citations."""
    bib = page.bibliography
    title = f"📚 {bib.name}"
    if page.tag:
        title += f" · #{page.tag}"
    embed = discord.Embed(title=truncate(escape(title), TITLE_LIMIT), colour=COLOURS["closed"])
    if not page.entries:
        embed.description = (
            "*No entries with that tag.*" if page.tag else "*Empty. Add papers with `/bib add`.*"
        )
    else:
        lines = [
            list_line(number, entry)
            for number, entry in enumerate(page.entries, page.page * 10 + 1)
        ]
        embed.description = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    sort = {"added": "newest first", "author": "by author", "year": "by year", "title": "by title"}
    embed.set_footer(
        text=f"Page {page.page + 1} of {page.pages} · {plural(page.total, 'entry', 'entries')} · "
        f"{sort.get(page.sort, page.sort)}"
    )
    return embed


def render_search(bib, query: str, entries) -> discord.Embed:
    """The entries of ``bib`` that match ``query``, best first."""
    title = f"🔎 {bib.name} · {query}"
    embed = discord.Embed(title=truncate(escape(title), TITLE_LIMIT), colour=COLOURS["closed"])
    if not entries:
        embed.description = "*No entry matches every word.*"
        return embed
    lines = [list_line(number, entry) for number, entry in enumerate(entries, 1)]
    embed.description = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    embed.set_footer(text="Best matches first · `/bib show` for one entry")
    return embed


def notice_mark(work) -> str:
    """A list line's mark: retracted, corrected (or concern), published since saved. ``work``:
    a ``Work``, or a ``ListLine`` (its ``updates`` are the notices' kinds)."""
    if work.retracted:
        return "⚠️ **Retracted** · "
    notices = (u if isinstance(u, Update) else Update(u) for u in work.updates)
    kinds = {u.kind for u in notices if not u.retracting}
    if "expression_of_concern" in kinds:
        return "⚠️ *Expression of concern* · "
    if kinds:
        return "📝 *Corrected* · "
    if work.published_doi and work.type == "preprint":
        return "📄 *Published since* · "
    return ""


def render_entry(entry, bibliography_name: str) -> discord.Embed:
    """One bibliography entry with its note, tags, who added it, and what notices say."""
    work = entry.work
    embed = work_embed(work, colour=COLOURS["retracted"] if work.retracted else COLOURS["closed"])
    lines = []
    if warning := retraction_warning(work):
        lines.append(warning)
    for words, notice_doi in update_lines(work):
        address = url_text(doi_address(notice_doi)) if notice_doi else None
        lines.append(f"📝 **{escape(words)}**." + (f" Notice: {address}" if address else ""))
    if work.published_doi and work.type == "preprint":
        lines.append(f"📄 Published as doi:{escape(work.published_doi)}")
    lines.append(escape(author_line(work.authors)))
    if venue := venue_line(work):
        lines.append(escape(venue))
    embed.description = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    if entry.note:
        embed.add_field(name="Note", value=truncate(escape(entry.note), FIELD_LIMIT), inline=False)
    if entry.tags:
        embed.add_field(
            name="Tags", value=truncate(" ".join(f"#{escape(t)}" for t in entry.tags), FIELD_LIMIT)
        )
    embed.add_field(name="Added", value=f"by <@{entry.added_by}> on {entry.added_at[:10]}")
    embed.set_footer(text=truncate(f"In “{bibliography_name}”", FOOTER_LIMIT))
    return embed


NEIGHBOUR_LINE = 340  # ten entries and the notes fit a description (4096) whatever they hold
NEIGHBOUR_NOTES = 600
NEIGHBOUR_LINK = 160  # a longer doi.org link would crowd out the entry: the DOI is shown as text


def _fit(raw: str | None, limit: int) -> str:
    """``raw`` escaped, cut so that the escaped text is at most ``limit`` characters."""
    text = escape(truncate(raw or "", limit))
    if len(text) > limit:  # escaping at most doubles a character (``\*``)
        text = escape(truncate(raw or "", limit // 2))
    return text


def neighbour_line(number: int, item) -> str:
    """``**11.** Geary et al., 2015 · *Title* · Venue · [doi](…) · 750 citations``: first
    author, year, title, venue, DOI link (escaped, linked through the URL policy), within
    ``NEIGHBOUR_LINE`` characters. An id OpenAlex returned no record for says so."""
    head = f"**{number:,}.** "
    if not item.found:
        ident = escape(item.openalex_id or "")
        target = link(ident, f"https://openalex.org/{item.openalex_id}") or ident
        return f"{head}*OpenAlex lists {target} but returned no record for it.*"
    who = _fit(item.first_author or "Anon.", 60) + (" et al." if item.authors > 1 else "")
    who += f", {item.year}" if item.year else ""
    url = doi_url(item.doi)
    doi = ""
    if url and len(url) <= NEIGHBOUR_LINK:
        doi = f" · [doi]({url})"
    elif item.doi:
        doi = f" · DOI {_fit(item.doi, 80)}"
    cited = f" · {plural(item.cited_by_count, 'citation')}" if item.cited_by_count else ""
    venue = f" · {_fit(item.venue, 80)}" if item.venue else ""
    room = NEIGHBOUR_LINE - len(head) - len(who) - len(doi) - len(cited) - len(venue) - 5
    title = _fit(item.title, max(20, min(room, 200)))
    line = f"{head}{who} · *{title}*{venue}{doi}{cited}"
    return line if len(line) <= NEIGHBOUR_LINE else f"{head}{who} · *{title}*{doi}"


def render_neighbourhood(work: Work, hood) -> discord.Embed:
    """One page of references / citing works / related works of ``work`` (``bot.neighbours``):
    ten entries numbered in the whole list, and a footer whose count is the list's
    (``Showing 11–20 of 29 references``). Notes say what OpenAlex counts when it differs."""
    from bot.neighbours import LABELS, NOUNS

    label = LABELS.get(hood.kind, hood.kind)
    embed = work_embed(work, truncate(f"{label}: {escape(work.title)}", TITLE_LIMIT))
    lines = [neighbour_line(n, item) for n, item in enumerate(hood.items, hood.start + 1)]
    if not lines:
        nouns = NOUNS.get(hood.kind, ("", hood.kind))[1]
        lines.append(f"*OpenAlex lists no {nouns} for this work.*")
    notes = "\n".join(escape(note) for note in hood.remarks())
    description = "\n".join(lines)
    if notes:
        description += "\n\n" + truncate(notes, NEIGHBOUR_NOTES)
    embed.description = truncate(description, DESCRIPTION_LIMIT)
    parts = [hood.summary()]
    if hood.pages > 1:
        parts.append(f"page {hood.page + 1} of {hood.pages}")
    parts.append("via OpenAlex")
    if hood.kind == "cited-by":
        parts.append("most cited first")
    parts.append(f"fetched {hood.fetched_at[:10]}")
    embed.set_footer(text=" · ".join(parts))
    return embed


# --- the compact card -------------------------------------------------------------------------
#
# What a lab member sees when a paper comes up in conversation: at most 12 lines of a desktop
# client (tests/test_compact_card.py measures it). Every part is fitted to a line budget by
# greedy word wrap at widths narrower than a desktop embed's (~64 characters of description
# text, ~56 of the larger title font), so the card keeps its height on narrower windows too.
# The abstract, provenance and the original notes are one click away (Abstract, Sources).

COMPACT_WIDTH = 60  # characters of description text a line is fitted to
COMPACT_TITLE_WIDTH = 50  # the title's larger, bold font
COMPACT_TITLE_LINES = 2
COMPACT_LINES = 12  # title included
TLDR_LINES = 3
NOTE_LINES = 2
# Shorter than the full card's words: the compact access line is one line.
COMPACT_STATUS = {
    "gold": "Open access (gold)",
    "diamond": "Open access (diamond)",
    "hybrid": "Open access (hybrid)",
    "bronze": "Free to read (bronze)",
    "green": "Green open access",
}
ORCID_URL = "https://orcid.org/{}"
ACCESS_MARKS = {"open": "🔓", "free": "📖", "closed": "🔒"}


def _wrapped(text: str, width: int) -> int:
    """Lines ``text`` takes when wrapped greedily at ``width`` (at least one)."""
    return max(1, len(textwrap.wrap(text, width, break_on_hyphens=False)))


def _fit_text(text: str, lines: int, width: int = COMPACT_WIDTH) -> str:
    """The longest cut of ``text`` (on a word, with "…") that wraps to ``lines`` or fewer."""
    text = " ".join(text.split())
    if _wrapped(text, width) <= lines:
        return text
    size = lines * width
    while size > 1:
        cut = truncate(text, size)
        if _wrapped(cut, width) <= lines:
            return cut
        size -= max(1, size // 20)
    return "…"


def _fit_rich(rich, lines: int, width: int, limit: int) -> str:
    """Rich text (a title) as Markdown whose visible text wraps to ``lines`` or fewer."""
    plain = rich.plain()
    size = len(plain)
    while size > 1:
        cut = rich.truncated(size)
        if _wrapped(cut.plain(), width) <= lines:
            return cut.markdown(limit)
        size -= max(1, size // 20)
    return "…"


def _author(author) -> str:
    """An author's name, escaped, linked to their ORCID record when it is known."""
    if author.orcid:
        linked = link(author.name, ORCID_URL.format(author.orcid))
        if linked:
            return linked
    return escape(author.name)


def compact_authors(authors: tuple, width: int = COMPACT_WIDTH) -> str:
    """One line: as many first authors as fit, then "… Last (N authors)" — the last author is
    often the lab's head. ORCID-linked names (links do not take room on screen)."""
    if not authors:
        return "No authors listed"
    n = len(authors)
    for shown in range(n, 0, -1):
        names = [a.name for a in authors[:shown]]
        parts = list(authors[:shown])
        tail = ""
        if shown < n:
            last = authors[-1]
            if shown < n - 1:
                tail = f", … {last.name} ({n} authors)"
            else:
                names.append(last.name)
                parts.append(last)
        if len(", ".join(names) + tail) <= width:
            line = ", ".join(_author(a) for a in parts)
            if tail:
                line += f", … {_author(authors[-1])} ({n} authors)"
            return line
    first = authors[0]
    more = f" et al. ({n} authors)" if n > 1 else ""
    name = _fit_text(first.name, 1, max(10, width - len(more)))
    return _author(replace(first, name=name) if name != first.name else first) + more


def _meta_line(work: Work, width: int = COMPACT_WIDTH) -> str:
    """ "Molecular Cancer · 2023 · Journal article · 34 citations" on one line; when it does
    not fit, the type goes first, then the venue is shortened."""
    year = str(work.year) if work.year else None
    kind = WORK_TYPES.get(work.type, work.type) if work.type else None
    cited = plural(work.cited_by_count, "citation") if work.cited_by_count is not None else None
    tails = [[p for p in parts if p] for parts in ([year, kind, cited], [year, cited])]
    if not work.venue:
        return escape(_fit_text(" · ".join(tails[0]), 1, width)) if tails[0] else ""
    venue = " ".join(work.venue.split())
    for tail in tails:
        line = " · ".join([venue, *tail])
        if len(line) <= width:
            return escape(line)
    tail = " · ".join(tails[1])
    room = width - len(tail) - 3 if tail else width
    short = _fit_text(venue, 1, max(12, room))
    return escape(_fit_text(" · ".join([short, tail]) if tail else short, 1, width))


def access_kind(work: Work) -> str:
    return (
        "open"
        if work.access.url and work.access.licence
        else ("free" if work.access.url else "closed")
    )


def compact_access(work: Work, width: int = COMPACT_WIDTH) -> str:
    """One access line: status, licence, version ("🔓 Open access (gold) · CC BY · published")
    or "🔒 Citation only: not openly licensed". The links are the card's buttons."""
    access = work.access
    mark = ACCESS_MARKS[access_kind(work)]
    if not access.url:
        return f"{mark} Citation only: not openly licensed"
    status = COMPACT_STATUS.get(access.status) or STATUS_WORDS.get(access.status, access.status)
    licence = licence_label(access.licence) if access.licence else "no reuse licence"
    parts = [status, licence]
    if access.version:
        parts.append(f"{access.version} version")
    return f"{mark} " + escape(_fit_text(" · ".join(parts), 1, width - 3))


def _notice_line(words: str, detail: str, notice: str | None, mark: str, tail: str = "") -> str:
    """ "⚠️ **Retracted** · via Crossref · [notice](…)": the words in bold, the detail cut to
    what the line leaves (the notice's link takes only its label's room), then ``tail``."""
    linked = link("notice", doi_address(notice)) if notice else None
    ends = [e for e in (linked, tail) if e]  # tail: our own words
    used = (
        3
        + len(words)
        + sum(3 + len(shown) for shown in ("notice" if linked else "", tail) if shown)
    )
    line = f"{mark} **{escape(_fit_text(words, 1, COMPACT_WIDTH - 3))}**"
    if detail and COMPACT_WIDTH - used > 12:
        line += f" · {escape(_fit_text(detail, 1, COMPACT_WIDTH - used - 3))}"
    return " · ".join([line, *ends])


def compact_lines(work: Work) -> list[str]:
    """The compact card's description, line by line (each at most one wrapped line, except the
    TL;DR and the note, which get the lines left over)."""
    work = without_placeholders(work)
    lines: list[str] = []
    if work.retracted:
        source = work.provenance.get("retracted")
        via = f"via {source_name(source)}" if source else ""
        lines.append(_notice_line("Retracted", via, work.retraction_notice, "⚠️"))
    notices = [u for u in reversed(work.updates) if not u.retracting]
    if notices:
        first = notices[0]
        mark = "⚠️" if first.kind == "expression_of_concern" else "📝"
        more = f"+{len(notices) - 1} more under Sources" if len(notices) > 1 else ""
        lines.append(_notice_line(first.words, first.date or "", first.notice, mark, more))
    lines.append(compact_authors(work.authors))
    if meta := _meta_line(work):
        lines.append(meta)
    if published := published_as_line(work):
        lines.append(escape(_fit_text(published, 1)))
    lines.append(compact_access(work))
    ids = [link(label, url) for label, url in identifier_links(work)]
    if ids := [i for i in ids if i]:
        lines.append(" · ".join(ids))

    missing = missing_sources_note(work, SOURCE_LABELS)
    notes = [missing] if missing else []
    for note in reader_notes(work):
        if note not in notes and not (missing and "did not respond" in note):
            notes.append(note)  # a failed source is said once, with the others that failed
    budget = COMPACT_LINES - COMPACT_TITLE_LINES - len(lines)
    note_lines = min(NOTE_LINES, len(notes))  # room kept for the first note
    if work.tldr and budget - note_lines > 0:
        label = (
            "TL;DR (Semantic Scholar)"
            if work.provenance.get("tldr") == "s2"
            else "TL;DR (litbot, from the abstract)"
        )
        text = _fit_text(f"{label}: {work.tldr}", min(TLDR_LINES, budget - note_lines))
        body = text[len(label) + 2 :] if text.startswith(f"{label}: ") else ""
        if body:
            lines.append(f"**{escape(label)}:** {escape(body)}")
            budget -= _wrapped(text, COMPACT_WIDTH)
    for number, note in enumerate(notes):
        if budget <= 0:
            break
        left = len(notes) - number - 1
        more = f" (+{left} more under Sources)" if left and budget <= NOTE_LINES else ""
        text = _fit_text(f"ℹ️ {note}", min(NOTE_LINES, budget), COMPACT_WIDTH - len(more))
        lines.append(escape(text) + more)
        budget -= _wrapped(text, COMPACT_WIDTH)
        if more:
            break
    return lines


NUMBERS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")


# Warm cards render the same Work object again and again (a paper passed round the lab): its
# compact card is kept, by the object's identity (a Work is immutable; the entry holds the
# object, so its id is not reused while the entry lives), and each caller gets its own copy.
COMPACT_CACHE = 512
_compact_cards: OrderedDict[tuple[int, int | None], tuple[Work, discord.Embed]] = OrderedDict()


def render_compact(work: Work, number: int | None = None) -> discord.Embed:
    """The compact card (the default): at most ``COMPACT_LINES`` lines of a desktop client.
    ``number`` (1–10): one of several cards in a message, its title led by a keycap that its
    buttons carry too."""
    key = (id(work), number)
    cached = _compact_cards.get(key)
    if cached is not None and cached[0] is work:
        _compact_cards.move_to_end(key)
        return cached[1].copy()
    embed = _render_compact(work, number)
    _compact_cards[key] = (work, embed)
    if len(_compact_cards) > COMPACT_CACHE:
        _compact_cards.popitem(last=False)
    return embed.copy()


def _render_compact(work: Work, number: int | None) -> discord.Embed:
    mark = f"{NUMBERS[number - 1]} " if number and 1 <= number <= len(NUMBERS) else ""
    width = COMPACT_TITLE_WIDTH - (3 if mark else 0)  # a keycap takes about two characters
    title = _fit_rich(work.rich("title"), COMPACT_TITLE_LINES, width, TITLE_LIMIT - len(mark))
    embed = discord.Embed(
        title=mark + title,
        url=doi_url(work.doi),
        colour=COLOURS["retracted"] if work.retracted else COLOURS[access_kind(work)],
    )
    embed.description = truncate("\n".join(compact_lines(work)), DESCRIPTION_LIMIT)
    return embed


def render_sources(work: Work) -> discord.Embed:
    """Where each part of the card comes from, when it was fetched, every notice and every
    note (as written for the record): the Sources button."""
    embed = work_embed(work)
    work = without_placeholders(work)
    lines = [
        f"**Fetched** {fetched_text(work.fetched_at)}" + (" (cached copy)" if work.stale else "")
    ]
    if provenance := provenance_text(work):
        lines.append(f"**Sources** {escape(provenance)}")
    if work.sources:
        lines.append("**Asked** " + escape(", ".join(source_name(s) for s in work.sources)))
    embed.description = truncate("\n".join(lines), DESCRIPTION_LIMIT)
    access = escape(access_line(work))
    if access_reason := work.access.reason:
        access += f"\n{escape(access_reason)}"
    if read := link("Read at source →", work.access.read_at):
        access += f"\n{read}"
    embed.add_field(name="Access", value=truncate(access, FIELD_LIMIT), inline=False)
    notices = []
    if work.retracted:
        notices.append(retraction_warning(work) or "")
    for words, notice_doi in update_lines(work):
        address = link("notice", doi_address(notice_doi)) if notice_doi else None
        notices.append(f"• {escape(words)}" + (f" · {address}" if address else ""))
    if notices:
        embed.add_field(
            name="Notices", value=truncate("\n".join(notices), FIELD_LIMIT), inline=False
        )
    ids = []
    if work.doi:
        ids.append(f"DOI {escape(work.doi)}")
    for label, url in identifier_links(work):
        ids.append(link(label, url) or escape(label))
    if ids:
        embed.add_field(
            name="Identifiers", value=truncate(" · ".join(ids), FIELD_LIMIT), inline=False
        )
    if work.notes:
        raw = "\n".join(f"• {escape(n)}" for n in work.notes)
        embed.add_field(name="Notes (as recorded)", value=truncate(raw, FIELD_LIMIT), inline=False)
    excess = len(embed) - TOTAL_LIMIT
    if excess > 0:
        embed.description = truncate(
            embed.description or "", max(0, len(embed.description or "") - excess - 1)
        )
    return embed


def compact_links(work: Work) -> list[tuple[str, str]]:
    """The compact card's link buttons: one open copy, and the publisher only when it is
    somewhere else (a gold article's open copy is the publisher's page: one button)."""
    links: list[tuple[str, str]] = []
    copy = safe_url(work.access.url)
    if copy:
        version = f" ({work.access.version})" if work.access.version else ""
        links.append((f"Open copy{version}"[:80], copy))
    publisher = doi_url(work.doi)
    if publisher and (not copy or (work.access.host_type != "publisher" and copy != publisher)):
        links.append(("Publisher page" if copy else "Read at source", publisher))
    return links
